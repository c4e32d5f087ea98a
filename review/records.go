package review

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// ragRatings are the ratings as the pages list them: Red, Amber and Green
// as a RAG scale reads, then Blue (parser.RAGRatings, the one list, puts
// Blue first as the most urgent).
var ragRatings = append(parser.RAGRatings()[1:], parser.RAGRatings()[0])

type recordsData struct {
	Records []store.RecordSummary
	RAG     string
	Sort    string
	RAGs    []string
	Sorts   [][2]string
}

var recordSorts = [][2]string{{"updated", "Last changed"}, {"name", "Name"}, {"dob", "Date of birth"}, {"rag", "RAG rating"}}

// records lists the live register, filtered by RAG (?rag=Red) and sorted
// (?sort=name|dob|rag|updated). The listing is audited by the store.
func (s *Server) records(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	d := recordsData{RAGs: ragRatings, Sorts: recordSorts, Sort: "updated"}
	for _, g := range ragRatings {
		if q.Get("rag") == g {
			d.RAG = g
		}
	}
	for _, so := range recordSorts {
		if q.Get("sort") == so[0] {
			d.Sort = so[0]
		}
	}
	recs, err := s.store.ListRecords(r.Context(), store.RecordFilter{Actor: p.user.Name, RAG: d.RAG, Limit: 5000})
	if err != nil {
		s.fail(w, r, p, "read the register", err)
		return
	}
	rank := map[string]int{} // unrated ranks with Blue, the first
	for i, g := range parser.RAGRatings() {
		rank[g] = i
	}
	less := map[string]func(a, b store.RecordSummary) bool{
		"name": func(a, b store.RecordSummary) bool { return strings.ToLower(a.Name) < strings.ToLower(b.Name) },
		"dob":  func(a, b store.RecordSummary) bool { return a.DateOfBirth < b.DateOfBirth },
		"rag":  func(a, b store.RecordSummary) bool { return rank[a.RAG] < rank[b.RAG] },
	}[d.Sort]
	if less != nil {
		sort.SliceStable(recs, func(i, j int) bool { return less(recs[i], recs[j]) })
	}
	d.Records = recs
	s.render(w, r, p, http.StatusOK, "records", page{Title: "The register", Nav: "records", D: d})
}

type findData struct {
	Query string
	Error string
}

var caseRefPattern = regexp.MustCompile(`^DSR-\d{4}-\d{6}$`)

func (s *Server) findPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.render(w, r, p, http.StatusOK, "find", page{Title: "Find a child", Nav: "find", D: findData{}})
}

// find looks a child up by NHS number (exactly, through the blind index) or
// a case up by its reference. It is a POST so the number never appears in
// a URL, a log line or the browser's history.
func (s *Server) find(w http.ResponseWriter, r *http.Request, p *principal) {
	raw := strings.TrimSpace(r.PostForm.Get("q"))
	if len(raw) > 64 {
		raw = raw[:64]
	}
	ctx := r.Context()
	again := func(status int, msg string) {
		s.render(w, r, p, status, "find", page{Title: "Find a child", Nav: "find", D: findData{Query: raw, Error: msg}})
	}
	if ref := strings.ToUpper(raw); caseRefPattern.MatchString(ref) {
		c, err := s.store.CaseByRef(ctx, ref, p.user.Name)
		if err != nil {
			if errIsNotFound(err) {
				again(http.StatusNotFound, "No case has that reference.")
				return
			}
			s.fail(w, r, p, "find the case", err)
			return
		}
		http.Redirect(w, r, "/cases/"+itoa(c.ID), http.StatusSeeOther)
		return
	}
	if !register.ValidNHSNumber(raw) {
		again(http.StatusBadRequest, "Enter a 10-digit NHS number, like 999 123 4567, or a case reference, like DSR-2026-000123.")
		return
	}
	rec, err := s.store.RecordByNHS(ctx, raw, p.user.Name)
	if err != nil {
		if errIsNotFound(err) {
			again(http.StatusNotFound, "No child on the register has that NHS number.")
			return
		}
		s.fail(w, r, p, "find the record", err)
		return
	}
	http.Redirect(w, r, "/records/"+itoa(rec.ID), http.StatusSeeOther)
}
