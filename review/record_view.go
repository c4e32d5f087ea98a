package review

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

func errIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type sharing struct {
	Partner string
	Shared  bool
}

type recordData struct {
	Record    register.Record
	Sharing   []sharing
	Services  []parser.LabelValue
	Needs     []parser.LabelValue
	Plans     []parser.LabelValue
	Referral  []parser.LabelValue
	Consent   []parser.LabelValue
	Dates     []store.RecordDate
	CETR      string
	KeyWorker string
	RAGs      []string
	// The register's actions: their current state and history, what is
	// due, and the record's own history for coordinators.
	Actions actionSummary
	Due     []register.DueAction
	Now     time.Time
	History []store.AuditEntry
	Err     *formError
	// NextAction follows a change of rating: what the new rating asks for.
	NextAction bool
}

// formFields lists a form's filled fields, labelled and in the form's order.
func formFields(specs []parser.FieldSpec, values map[string]string) []parser.LabelValue {
	var out []parser.LabelValue
	for _, f := range specs {
		v, ok := values[f.Name]
		if !ok || v == "" {
			continue
		}
		if f.Type == parser.YesNo {
			v = map[string]string{"true": "Yes", "false": "No"}[v]
		}
		out = append(out, parser.LabelValue{Label: f.Label, Value: v})
	}
	return out
}

// recordView shows everything the DSR holds on a child. The view is
// audited by the store under the coordinator's name.
func (s *Server) recordView(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	s.showRecord(w, r, p, id, http.StatusOK, nil)
}

// showRecord renders the record page, with a form's error when fe is set.
func (s *Server) showRecord(w http.ResponseWriter, r *http.Request, p *principal, id int64, status int, fe *formError) {
	ctx := r.Context()
	rec, err := s.store.Record(ctx, id, p.user.Name)
	if errIsNotFound(err) {
		s.notFoundPage(w, r, p)
		return
	}
	if err != nil {
		s.fail(w, r, p, "read the record", err)
		return
	}
	d := recordData{Record: rec, Services: rec.Section("svc_"), Needs: rec.Section("needs_"), Plans: rec.Section("plan_"),
		Referral: formFields(parser.ReferralFields, rec.Referral), Consent: formFields(parser.ConsentFields, rec.ConsentForm), RAGs: ragRatings}
	for _, pt := range partnerOrder {
		d.Sharing = append(d.Sharing, sharing{Partner: pt, Shared: rec.Consent.Sharing[pt]})
	}
	if d.Dates, err = s.store.RecordDates(ctx, id); err != nil {
		s.fail(w, r, p, "read the record's dates", err)
		return
	}
	for _, dt := range d.Dates {
		switch dt.Kind {
		case store.DateCETR:
			d.CETR = dt.Date
		case store.DateKeyWorker:
			d.KeyWorker = dt.Date
		}
	}
	if err := s.recordExtras(r, p, &d); err != nil {
		s.fail(w, r, p, "read the record's actions", err)
		return
	}
	d.Err = fe
	title := "Record " + itoa(rec.ID)
	if fe != nil {
		title = "Error: " + title
	}
	s.render(w, r, p, status, "record", page{Title: title, Nav: "records", D: d})
}

func redirectRecord(w http.ResponseWriter, r *http.Request, id int64, done string) {
	http.Redirect(w, r, "/records/"+itoa(id)+"?done="+done, http.StatusSeeOther)
}

// recordRAG changes the RAG rating; a reason is required and the change is
// kept in the record's history.
func (s *Server) recordRAG(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	rag, why := r.PostForm.Get("rag"), formText(r, "why")
	valid := false
	for _, g := range ragRatings {
		valid = valid || g == rag
	}
	if !valid {
		s.problem(w, r, p, http.StatusBadRequest, "Choose a RAG rating", "Go back and choose Red, Amber, Green or Blue.")
		return
	}
	if why == "" {
		s.showRecord(w, r, p, id, http.StatusBadRequest, &formError{Form: "rag", Field: "rag-why",
			Message: "Enter why the rating is changing", Values: map[string]string{"rag": rag}})
		return
	}
	if err := s.store.ChangeRAG(r.Context(), id, rag, p.user.Name, why); err != nil {
		s.actionFailed(w, r, p, "change the RAG rating", err)
		return
	}
	redirectRecord(w, r, id, "rag")
}

// recordDate records a C(E)TR or key worker date.
func (s *Server) recordDate(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	kind, date := r.PostForm.Get("kind"), formText(r, "date")
	if kind != store.DateCETR && kind != store.DateKeyWorker {
		s.problem(w, r, p, http.StatusBadRequest, "Choose which date", "Go back and choose C(E)TR or key worker.")
		return
	}
	// The browser's date picker sends YYYY-MM-DD; typed by hand where there
	// is no picker, a British date reads day first.
	d, err := parseDate(date)
	if err != nil {
		d, err = time.Parse("2/1/2006", date)
	}
	if err != nil {
		s.problem(w, r, p, http.StatusBadRequest, "Enter a real date", "Go back and enter the date, for example 25/11/2026.")
		return
	}
	date = d.Format("2006-01-02")
	if err := s.store.SetRecordDate(r.Context(), id, kind, date, p.user.Name); err != nil {
		s.actionFailed(w, r, p, "record the date", err)
		return
	}
	redirectRecord(w, r, id, "date")
}
