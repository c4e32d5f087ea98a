package review

import (
	"net/http"
	"sort"
	"time"

	"dsr-intake/register/store"
)

type queueItem struct {
	store.ReviewItem
	Head        store.CaseHeading
	ChildAge    string // "15", "" when no date of birth was read
	Waited      time.Duration
	Age         string
	Quarantined bool
	LastError   string
	Attempts    int
}

type reasonCount struct {
	Code    string
	Count   int
	Current bool
}

type queueData struct {
	Items      []queueItem
	Reasons    []reasonCount
	Reason     string
	RAG        string // "" any, "Red" ... "none"
	Waited     string // "" any, else days: "7", "28"
	Sort       string // "oldest" (the default), "newest", "rag"
	RAGs       []string
	Total      int
	CanProcess bool
}

// queue lists every open review item, oldest first, with its reasons and
// age; ?reason=CODE keeps the items with that reason. Quarantined messages
// show their error and, for coordinators, a reprocess button.
func (s *Server) queue(w http.ResponseWriter, r *http.Request, p *principal) {
	items, err := s.store.ReviewQueue(r.Context(), store.ReviewFilter{Limit: 1000})
	if err != nil {
		s.fail(w, r, p, "read the review queue", err)
		return
	}
	want := r.URL.Query().Get("reason")
	counts := map[string]int{}
	now := s.now()
	d := queueData{Reason: want, Total: len(items), CanProcess: s.pipeline != nil}
	d.readTriage(r)
	heads, err := s.store.CaseHeadings(r.Context(), caseIDs(items), p.user.Name)
	if err != nil {
		s.fail(w, r, p, "read the review queue", err)
		return
	}
	for _, it := range items {
		has := false
		for _, c := range it.Codes {
			counts[c]++
			has = has || c == want
		}
		if want != "" && !has {
			continue
		}
		q := queueItem{ReviewItem: it, Head: heads[it.CaseID], Waited: now.Sub(it.CreatedAt), Age: age(now, it.CreatedAt)}
		q.ChildAge = childAge(q.Head.DOB, now)
		if !d.keep(q) {
			continue
		}
		for _, c := range it.Codes {
			if c == store.ReasonProcessingFailed {
				q.Quarantined = true
			}
		}
		if q.Quarantined && it.MessageHash != "" {
			st, err := s.store.MessageState(r.Context(), it.MessageHash)
			if err != nil {
				s.fail(w, r, p, "read a quarantined message", err)
				return
			}
			q.LastError, q.Attempts = st.LastError, st.Attempts
		}
		d.Items = append(d.Items, q)
	}
	for c, n := range counts {
		d.Reasons = append(d.Reasons, reasonCount{Code: c, Count: n, Current: c == want})
	}
	sort.Slice(d.Reasons, func(i, j int) bool { return reasonText(d.Reasons[i].Code) < reasonText(d.Reasons[j].Code) })
	d.sortItems()
	s.render(w, r, p, http.StatusOK, "queue", page{Title: "Review queue", Nav: "queue", D: d})
}

// fail logs an unexpected error (without personal data: store errors
// carry none) and shows a page that says so.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *principal, what string, err error) {
	s.log.Error("review page: "+what, "err", err, "path", r.URL.Path)
	s.problem(w, r, p, http.StatusInternalServerError, "Sorry, there is a problem with the service",
		"The page could not "+what+". Try again later; if it keeps happening, tell the DSR's IT support.")
}
