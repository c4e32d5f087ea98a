package review

import (
	"net/http"
	"time"

	"dsr-intake/intake"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

type ragCount struct {
	RAG   string
	Count int
}

type bar struct {
	X, Y, W, H int
	Label      string // the week's Monday, "3 Nov"
	Count      int
	TextY      int
	ShowLabel  bool
}

type chart struct {
	Width, Height, Base int
	Bars                []bar
	Max                 int
	Summary             string
}

type dashboardData struct {
	Stats     store.Dashboard
	RAG       []ragCount
	Unrated   int
	OldestAge string
	Chart     chart
	Health    *intake.HealthSnapshot
	FetchAge  string
	// Due are the register's actions overdue or due soon, overdue first.
	Due     []register.DueAction
	Now     time.Time
	Overdue int
}

// dashboard shows the register's counts, the queue, the queries waiting for
// replies, the referrals per week as a chart drawn on the server (SVG, no
// script), and the intake's health.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, p *principal) {
	now := s.now()
	st, err := s.store.Dashboard(r.Context(), now, 12)
	if err != nil {
		s.fail(w, r, p, "read the figures", err)
		return
	}
	d := dashboardData{Stats: st, Chart: weekChart(st.Weeks), Now: now.In(london)}
	due, err := s.store.DueActions(r.Context(), s.actions.Policy, now.In(london))
	if err != nil {
		s.fail(w, r, p, "read what is due", err)
		return
	}
	for _, a := range due {
		if a.Overdue {
			d.Overdue++
		}
		if a.Overdue || a.Soon {
			d.Due = append(d.Due, a)
		}
	}
	for _, g := range ragRatings {
		d.RAG = append(d.RAG, ragCount{RAG: g, Count: st.ByRAG[g]})
	}
	d.Unrated = st.ByRAG[""]
	if st.OldestQueued != nil {
		d.OldestAge = age(now, *st.OldestQueued)
	}
	if s.health != nil {
		h := s.health()
		d.Health = &h
		if !h.LastFetchOK.IsZero() {
			d.FetchAge = age(now, h.LastFetchOK)
		}
	}
	s.render(w, r, p, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", D: d})
}

// weekChart lays the weekly counts out as bars in a 640×240 drawing.
func weekChart(weeks []store.WeekCount) chart {
	c := chart{Width: 640, Height: 240, Base: 200}
	for _, wk := range weeks {
		c.Max = max(c.Max, wk.Count)
	}
	scale := max(c.Max, 1)
	slot := (c.Width - 20) / max(len(weeks), 1)
	total := 0
	for i, wk := range weeks {
		h := wk.Count * 170 / scale
		x := 10 + i*slot
		c.Bars = append(c.Bars, bar{X: x + 4, Y: c.Base - h, W: slot - 8, H: h, Count: wk.Count, TextY: c.Base - h - 6,
			Label: wk.Start.Format("2 Jan"), ShowLabel: (len(weeks)-1-i)%2 == 0 || len(weeks) <= 6})
		total += wk.Count
	}
	if len(weeks) > 0 {
		c.Summary = pluralReferrals(total) + " in the " + itoa(int64(len(weeks))) + " weeks from " +
			weeks[0].Start.Format("2 January 2006") + "; the most in one week was " + itoa(int64(c.Max)) + "."
	}
	return c
}

func pluralReferrals(n int) string {
	if n == 1 {
		return "1 referral"
	}
	return itoa(int64(n)) + " referrals"
}
