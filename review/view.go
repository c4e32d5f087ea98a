package review

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

// views holds each page's template: the layout and partials parsed once at
// start-up, cloned per page; a render clones again so that per-request
// functions (the CSRF token) never race between requests.
type views struct {
	pages map[string]*template.Template
}

var london = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

var templateFuncs = template.FuncMap{
	"csrf": func() string { return "" }, // replaced per request
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.In(london).Format("2 Jan 2006, 15:04")
	},
	"datetimep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(london).Format("2 Jan 2006, 15:04")
	},
	"isodate": func(t time.Time) string { return t.In(london).Format("2006-01-02") },
	"day":     displayDate,
	"reason":  reasonText,
	"field":   fieldLabel,
	"ragtag":  ragTagClass,
	"yesno": func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	},
	"partner": func(p string) string { return partnerNames[p] },
	"state":   stateText,
	"join":    strings.Join,
	"sub":     func(a, b int) int { return a - b },
	"add":     func(a, b int) int { return a + b },
	"lv": func(title string, items []parser.LabelValue) map[string]any {
		return map[string]any{"Title": title, "Items": items}
	},
	"navItem": func(href, text, key, current string) map[string]any {
		return map[string]any{"Href": href, "Text": text, "Current": key == current}
	},
}

func parseViews() (*views, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).Funcs(wordFuncs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" {
			continue
		}
		t, err := base.Clone()
		if err == nil {
			_, err = t.ParseFS(templateFiles, n)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		v.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return v, nil
}

// page is what every template gets: the page's own data in D, and what the
// layout needs. Title never holds personal data (it shows in browser
// history and tab lists): a case reference or a record number at most.
type page struct {
	Title string
	Nav   string
	User  *store.User
	Done  string // a short notice after an action, by code
	D     any
	// CanExport: the user may export the whole register.
	CanExport bool
}

func (p page) CanAct() bool   { return p.User != nil && can(p.User.Role, store.RoleCoordinator) }
func (p page) CanAdmin() bool { return p.User != nil && can(p.User.Role, store.RoleAdmin) }

// render writes a page; the CSRF token is always injected, so no form can
// be written without it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, p *principal, status int, name string, pg page) {
	base, ok := s.views.pages[name]
	if !ok {
		s.log.Error("no such template", "name", name)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	token := ""
	if p != nil {
		token = p.sess.CSRF
		u := p.user
		pg.User = &u
	} else if c, err := r.Cookie(signinCookie); err == nil {
		token = c.Value
	}
	if pg.Done == "" {
		pg.Done = doneText[r.URL.Query().Get("done")]
	}
	pg.CanExport = p != nil && s.mayExport(p)
	t, err := base.Clone()
	if err != nil {
		s.log.Error("clone template", "name", name, "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	t.Funcs(template.FuncMap{"csrf": func() string { return token }})
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		s.log.Error("render", "template", name, "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// problem shows a page that says what went wrong and how to go on.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, p *principal, status int, title, message string) {
	s.render(w, r, p, status, "problem", page{Title: title, D: map[string]string{"Title": title, "Message": message}})
}

// doneText is the notice after a redirect, by the code in ?done= (codes
// only: nothing personal goes in a URL).
var doneText = map[string]string{
	"registered": "The child has been added to the register.",
	"query":      "The query has been put in the outbox; it will be sent shortly.",
	"closed":     "The case has been closed.",
	"withdrawn":  "The withdrawal has been confirmed and the child's personal data erased.",
	"reprocess":  "The email has been processed again.",
	"rag":        "The RAG rating has been changed.",
	"date":       "The date has been recorded.",
	"action":     "The action has been recorded.",
	"user":       "The account has been saved.",
	// After a confirmation that the rules did not pass: the reasons show.
	"scan_confirmed": "The scanned forms have been confirmed; the rules found what the case now shows.",
}

func parseDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

func displayDate(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("2 January 2006")
}

var partnerNames = map[string]string{
	"health": "Health", "education": "Education", "social_care": "Social care", "select": "SELECT", "psg": "Positive Support Group",
}

var partnerOrder = []string{"health", "education", "social_care", "select", "psg"}

func stateText(s string) string {
	switch s {
	case store.CaseAwaitingInformation:
		return "Awaiting information"
	case store.CaseInReview:
		return "In review"
	case store.CaseRegistered:
		return "Registered"
	case store.CaseClosed:
		return "Closed"
	case store.CaseWithdrawn:
		return "Withdrawn"
	case store.OutboxPending:
		return "Waiting to be sent"
	case store.OutboxSent:
		return "Sent"
	case store.OutboxFailed:
		return "Failed"
	case store.OutboxCancelled:
		return "Cancelled"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func ragTagClass(rag string) string {
	switch rag {
	case "Red":
		return "nhsuk-tag--red"
	case "Amber":
		return "nhsuk-tag--orange"
	case "Green":
		return "nhsuk-tag--green"
	case "Blue":
		return "nhsuk-tag--blue"
	}
	return "nhsuk-tag--grey"
}

// reasonText names a reason code in plain words, from the register's
// reason table.
func reasonText(code string) string {
	r, _ := register.ReasonFor(code)
	return r.Label
}

// fieldLabel is a canonical field's printed label.
func fieldLabel(name string) string { return register.FieldLabel(name) }

// age says how long ago t was, as a person would.
func age(now, t time.Time) string {
	d := now.Sub(t)
	n, unit := int(d.Hours()/24), "day"
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		n, unit = int(d.Minutes()), "minute"
	case d < 48*time.Hour:
		n, unit = int(d.Hours()), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
