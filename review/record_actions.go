package review

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// ActionOptions configure the register's actions on the pages.
type ActionOptions struct {
	// Policy says when actions fall due; zero parts take the national
	// policy's defaults.
	Policy register.DuePolicy
	// ViewersExport lets viewers export the whole register; by default
	// only coordinators and admins may.
	ViewersExport bool
	// NotEligibleHelp is the "where else to turn" paragraph of the notice
	// to a referrer whose referral is closed as not eligible.
	NotEligibleHelp string
}

// dateInput is the NHS.UK date-input pattern's three boxes: what was typed
// and the ISO date they make.
type dateInput struct {
	ID, Name, Legend, Hint string
	Day, Month, Year       string
	Error                  string
}

// readDateInput reads name-day, name-month and name-year. An empty date
// is "" with no error unless required.
func readDateInput(r *http.Request, name string, required bool) (iso string, in dateInput) {
	in = dateInput{Name: name, Day: formText(r, name+"-day"), Month: formText(r, name+"-month"), Year: formText(r, name+"-year")}
	if in.Day == "" && in.Month == "" && in.Year == "" {
		if required {
			in.Error = "Enter the date"
		}
		return "", in
	}
	d, errD := strconv.Atoi(in.Day)
	m, errM := strconv.Atoi(in.Month)
	y, errY := strconv.Atoi(in.Year)
	switch {
	case in.Day == "":
		in.Error = "The date must include a day"
	case in.Month == "":
		in.Error = "The date must include a month"
	case in.Year == "":
		in.Error = "The date must include a year"
	case errD != nil || errM != nil || errY != nil || len(in.Year) != 4:
		in.Error = "The date must be a real date, for example 27 3 2026"
	default:
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if t.Day() != d || int(t.Month()) != m || t.Year() != y {
			in.Error = "The date must be a real date, for example 27 3 2026"
			return "", in
		}
		return t.Format("2006-01-02"), in
	}
	return "", in
}

// actionSummary is a record's current state of each action, for its page.
type actionSummary struct {
	KeyWorker *store.RecordAction
	CETR      *store.RecordAction
	LAEP      *store.RecordAction
	Setting   *store.RecordAction
	Consent   *store.RecordAction
	All       []store.RecordAction // newest first
}

func summarise(acts []store.RecordAction) actionSummary {
	var s actionSummary
	for i := range acts {
		a := &acts[i]
		switch a.Kind {
		case register.ActionKeyWorker:
			s.KeyWorker = a
		case register.ActionCETR:
			s.CETR = a
		case register.ActionLAEP:
			s.LAEP = a
		case register.ActionSetting:
			s.Setting = a
		case register.ActionConsentConfirmed:
			s.Consent = a
		}
	}
	for i := len(acts) - 1; i >= 0; i-- {
		s.All = append(s.All, acts[i])
	}
	return s
}

// recordAction records one of the register's actions on a record; an
// invalid form is shown again with its error and what was typed.
func (s *Server) recordAction(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	kind := r.PostForm.Get("kind")
	a := store.RecordAction{RecordID: id, Kind: kind, Variant: formText(r, "variant"), Name: formText(r, "name"),
		Outcome: formText(r, "outcome"), Actor: p.user.Name}
	fe := &formError{Form: kind, Values: map[string]string{"variant": a.Variant, "name": a.Name, "outcome": a.Outcome},
		Dates: map[string]dateInput{}}
	var in dateInput
	a.On, in = readDateInput(r, "on", true)
	fe.Dates["on"] = in
	if in.Error != "" {
		fe.Field, fe.Message = kind+"-on-day", in.Error
	}
	for _, extra := range []string{"until", "next"} {
		v, in := readDateInput(r, extra, false)
		fe.Dates[extra] = in
		if in.Error != "" && fe.Message == "" {
			fe.Field, fe.Message = kind+"-"+extra+"-day", in.Error
		}
		if extra == "until" {
			a.Until = v
		} else {
			a.Next = v
		}
	}
	if fe.Message == "" {
		_, err := s.store.AddRecordAction(r.Context(), a)
		if err == nil {
			redirectRecord(w, r, id, "action")
			return
		}
		if !errors.Is(err, store.ErrInvalidAction) {
			s.actionFailed(w, r, p, "record the action", err)
			return
		}
		fe.Field, fe.Message = kind+"-on-day", actionErrorText(err)
	}
	s.showRecord(w, r, p, id, http.StatusBadRequest, fe)
}

// actionErrorText is the store's reason in a sentence.
func actionErrorText(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, store.ErrInvalidAction.Error()+": "); i >= 0 {
		msg = msg[i+len(store.ErrInvalidAction.Error())+2:]
	}
	return upperFirst(msg)
}

// dueFor lists the due actions of one record from the register's states.
func (s *Server) dueFor(r *http.Request, recordID int64) ([]register.DueAction, error) {
	states, err := s.store.ActionStates(r.Context())
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.RecordID == recordID {
			return s.actions.Policy.Due(st, s.now().In(london)), nil
		}
	}
	return nil, nil
}

// dueWords says when an action is due, relative to today.
func dueWords(a register.DueAction, now time.Time) string {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	days := int(a.Due.Sub(today).Hours() / 24)
	when := a.Due.Format("2 January 2006")
	switch {
	case days < 0:
		return fmt.Sprintf("Overdue since %s (%d days)", when, -days)
	case days == 0:
		return "Due today"
	}
	return fmt.Sprintf("Due by %s (in %d days)", when, days)
}

// recordExtras reads what the record page shows beside the record: its
// actions, what is due, and (for coordinators) its own history.
func (s *Server) recordExtras(r *http.Request, p *principal, d *recordData) error {
	acts, err := s.store.RecordActions(r.Context(), d.Record.ID)
	if err != nil {
		return err
	}
	d.Actions = summarise(acts)
	if d.Due, err = s.dueFor(r, d.Record.ID); err != nil {
		return err
	}
	d.Now = s.now().In(london)
	d.NextAction = r.URL.Query().Get("done") == "rag"
	if can(p.user.Role, store.RoleCoordinator) {
		hist, err := s.store.Audit(r.Context(), store.AuditFilter{Entity: "record", EntityID: d.Record.ID, Limit: 100})
		if err != nil {
			return err
		}
		d.History = hist
	}
	return nil
}

// dayRoutes are the routes of the coordinators' working day: the
// register's actions and the audit.
func (s *Server) dayRoutes(mux *http.ServeMux) {
	mux.Handle("POST /records/{id}/actions", s.auth(store.RoleCoordinator, s.recordAction))
	mux.Handle("GET /audit", s.auth(store.RoleAdmin, s.auditPage))
	mux.Handle("GET /audit.csv", s.auth(store.RoleAdmin, s.auditCSV))
}
