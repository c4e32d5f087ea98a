package review

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// ragOrder ranks the ratings by urgency for sorting: Red first, then the
// child in hospital, Amber, Green, and a referral that gave none.
var ragOrder = map[string]int{"Red": 0, "Blue": 1, "Amber": 2, "Green": 3}

// readTriage reads the queue's filters and sort from the query string,
// keeping only values it knows.
func (d *queueData) readTriage(r *http.Request) {
	q := r.URL.Query()
	d.RAGs = []string{"Red", "Amber", "Green", "Blue"}
	if v := q.Get("rag"); v == "none" || slices.Contains(d.RAGs, v) {
		d.RAG = v
	}
	if v := q.Get("waited"); v == "7" || v == "28" {
		d.Waited = v
	}
	d.Sort = "oldest"
	if v := q.Get("sort"); v == "newest" || v == "rag" {
		d.Sort = v
	}
}

// keep reports whether an item passes the RAG and waiting filters.
func (d *queueData) keep(q queueItem) bool {
	switch {
	case d.RAG == "none" && q.Head.RAG != "":
		return false
	case d.RAG != "" && d.RAG != "none" && q.Head.RAG != d.RAG:
		return false
	}
	if days, err := strconv.Atoi(d.Waited); err == nil && q.Waited < time.Duration(days)*24*time.Hour {
		return false
	}
	return true
}

func (d *queueData) sortItems() {
	rank := func(rag string) int {
		if n, ok := ragOrder[rag]; ok {
			return n
		}
		return len(ragOrder)
	}
	slices.SortStableFunc(d.Items, func(a, b queueItem) int {
		switch d.Sort {
		case "newest":
			return b.CreatedAt.Compare(a.CreatedAt)
		case "rag":
			if c := rank(a.Head.RAG) - rank(b.Head.RAG); c != 0 {
				return c
			}
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
}

func caseIDs(items []store.ReviewItem) []int64 {
	var ids []int64
	for _, it := range items {
		if it.CaseID != 0 {
			ids = append(ids, it.CaseID)
		}
	}
	return ids
}

// childAge is the child's age today from an ISO date of birth.
func childAge(dob string, now time.Time) string {
	t, err := time.Parse("2006-01-02", dob)
	if err != nil {
		return ""
	}
	return strconv.Itoa(register.AgeOn(t, now.In(london)))
}
