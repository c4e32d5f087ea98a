package review

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"dsr-intake/register/store"
)

// auditPageSize is how many entries one page of the audit shows.
const auditPageSize = 50

type auditData struct {
	Entries  []store.AuditEntry
	Person   string
	Ref      string // a case reference (DSR-...) or a record number
	From, To dateInput
	Page     int
	Prev     string // query strings of the neighbouring pages, "" when none
	Next     string
	CSV      string
	Err      string
}

// auditFilter reads the audit page's filters: person, case reference or
// record number, and a range of dates (the NHS.UK date input).
func (s *Server) auditFilter(r *http.Request) (store.AuditFilter, auditData, string) {
	q := r.URL.Query()
	d := auditData{Person: strings.TrimSpace(q.Get("person")), Ref: strings.TrimSpace(q.Get("ref"))}
	f := store.AuditFilter{Actor: d.Person}
	if d.Ref != "" {
		if n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(d.Ref), "record "), 10, 64); err == nil && n > 0 {
			f.Entity, f.EntityID = "record", n
		} else {
			f.CaseRef = strings.ToUpper(d.Ref)
		}
	}
	// Read the dates through the same parser as the forms.
	r.PostForm = url.Values{}
	for k, v := range q {
		r.PostForm[k] = v
	}
	from, fromIn := readDateInput(r, "from", false)
	to, toIn := readDateInput(r, "to", false)
	fromIn.ID, fromIn.Legend, toIn.ID, toIn.Legend = "from", "From", "to", "To (inclusive)"
	d.From, d.To = fromIn, toIn
	if fromIn.Error != "" {
		d.Err = "From: " + fromIn.Error
	} else if toIn.Error != "" {
		d.Err = "To: " + toIn.Error
	}
	if t, err := time.ParseInLocation("2006-01-02", from, london); err == nil {
		f.Since = t
	}
	if t, err := time.ParseInLocation("2006-01-02", to, london); err == nil {
		f.Until = t.AddDate(0, 0, 1)
	}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	keep := url.Values{}
	for _, k := range []string{"person", "ref", "from-day", "from-month", "from-year", "to-day", "to-month", "to-year"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	return f, d, keep.Encode()
}

// auditPage shows the audit to admins: every view, change, export and
// sign-in, newest first, filtered and paged.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *principal) {
	f, d, keep := s.auditFilter(r)
	status := http.StatusOK
	if d.Err != "" {
		status = http.StatusBadRequest
	} else {
		f.Limit, f.Offset = auditPageSize+1, (d.Page-1)*auditPageSize
		entries, err := s.store.Audit(r.Context(), f)
		if err != nil {
			s.fail(w, r, p, "read the audit", err)
			return
		}
		if len(entries) > auditPageSize {
			entries = entries[:auditPageSize]
			d.Next = pageQuery(keep, d.Page+1)
		}
		if d.Page > 1 {
			d.Prev = pageQuery(keep, d.Page-1)
		}
		d.Entries = entries
	}
	d.CSV = "/audit.csv"
	if keep != "" {
		d.CSV += "?" + keep
	}
	title := "Audit"
	if d.Err != "" {
		title = "Error: " + title
	}
	s.render(w, r, p, status, "audit", page{Title: title, Nav: "audit", D: d})
}

func pageQuery(keep string, n int) string {
	q := "page=" + strconv.Itoa(n)
	if keep != "" {
		q = keep + "&" + q
	}
	return "?" + q
}

// auditCSV exports the filtered audit (up to 100,000 entries) as CSV, with
// a byte-order mark and the formula guard.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, p *principal) {
	f, d, _ := s.auditFilter(r)
	if d.Err != "" {
		http.Redirect(w, r, "/audit?"+r.URL.RawQuery, http.StatusSeeOther)
		return
	}
	f.Limit = 100000
	entries, err := s.store.Audit(r.Context(), f)
	if err != nil {
		s.fail(w, r, p, "export the audit", err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"When", "Who", "What", "Action", "Entity", "Entity id", "Case reference", "Detail"})
	for _, e := range entries {
		row := []string{e.At.In(london).Format("2006-01-02 15:04:05"), e.Actor, historyText(e), e.Action, e.Entity,
			strconv.FormatInt(e.EntityID, 10), e.CaseRef, e.Detail}
		for i := range row {
			row[i] = safeCell(row[i])
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.fail(w, r, p, "export the audit", err)
		return
	}
	if err := s.store.Note(r.Context(), store.AuditEntry{Actor: p.user.Name, Action: "audit.export", Entity: "audit",
		Detail: "rows=" + strconv.Itoa(len(entries))}); err != nil {
		s.fail(w, r, p, "export the audit", err)
		return
	}
	download(w, "text/csv; charset=utf-8", "dsr-audit-"+s.now().In(london).Format("2006-01-02")+".csv", buf.Bytes())
}
