package register

import (
	"sort"
	"time"
)

// The register's actions, as the national DSR and C(E)TR policy (NHS
// England, 2023) asks a register to drive them for each child: each is
// recorded dated, with its history.
const (
	ActionKeyWorker        = "key_worker"        // key worker allocated: name, date
	ActionCETR             = "cetr"              // a C(E)TR held: community or inpatient, date, outcome
	ActionLAEP             = "laep"              // a Local Area Emergency Protocol meeting: date, outcome
	ActionSetting          = "setting"           // where the child lives now, from a date
	ActionConsentConfirmed = "consent_confirmed" // consent confirmed again: date
)

// ActionKinds lists the kinds in the order a record page shows them.
func ActionKinds() []string {
	return []string{ActionKeyWorker, ActionCETR, ActionLAEP, ActionSetting, ActionConsentConfirmed}
}

// C(E)TR variants and settings.
const (
	CETRCommunity = "community"
	CETRInpatient = "inpatient"

	SettingHome              = "home"
	SettingResidentialSchool = "residential_school"
	SettingHospital          = "hospital"
)

// ActionWords names a kind or a variant in a coordinator's words.
func ActionWords(s string) string {
	switch s {
	case ActionKeyWorker:
		return "Key worker"
	case ActionCETR:
		return "C(E)TR"
	case ActionLAEP:
		return "LAEP meeting"
	case ActionSetting:
		return "Current setting"
	case ActionConsentConfirmed:
		return "Consent confirmed"
	case CETRCommunity:
		return "Community"
	case CETRInpatient:
		return "Inpatient"
	case SettingHome:
		return "Home"
	case SettingResidentialSchool:
		return "Residential school"
	case SettingHospital:
		return "Hospital"
	}
	return s
}

// DuePolicy is when the register's actions fall due, by RAG rating. The
// defaults follow the national policy where it sets a rule (Red: a C(E)TR
// must take place; Red and Amber: a key worker referral; a child in
// hospital: an inpatient C(E)TR every 3 months); how soon the first two
// must happen is the area's choice, and the config sets it.
type DuePolicy struct {
	RedCETRWithinDays   int // after the child is rated Red, a C(E)TR within this
	KeyWorkerWithinDays int // after the child is rated Red or Amber, a key worker within this
	InpatientCETRMonths int // while in hospital, an inpatient C(E)TR at least this often
	DueSoonDays         int // an action due within this is listed as due soon
}

// DefaultDuePolicy is the policy without local settings.
func DefaultDuePolicy() DuePolicy {
	return DuePolicy{RedCETRWithinDays: 28, KeyWorkerWithinDays: 28, InpatientCETRMonths: 3, DueSoonDays: 14}
}

// WithDefaults fills the unset parts from DefaultDuePolicy.
func (p DuePolicy) WithDefaults() DuePolicy {
	d := DefaultDuePolicy()
	if p.RedCETRWithinDays <= 0 {
		p.RedCETRWithinDays = d.RedCETRWithinDays
	}
	if p.KeyWorkerWithinDays <= 0 {
		p.KeyWorkerWithinDays = d.KeyWorkerWithinDays
	}
	if p.InpatientCETRMonths <= 0 {
		p.InpatientCETRMonths = d.InpatientCETRMonths
	}
	if p.DueSoonDays <= 0 {
		p.DueSoonDays = d.DueSoonDays
	}
	return p
}

// ActionState is what the due dates of one child depend on; dates are
// calendar dates (their time of day is ignored).
type ActionState struct {
	RecordID int64
	CaseRef  string // the latest referral's reference: how a digest names the child
	RAG      string
	// RAGSince is when the current rating was set.
	RAGSince time.Time
	// LastCETR is the latest C(E)TR of any kind; LastInpatientCETR the
	// latest inpatient one (zero when none).
	LastCETR, LastInpatientCETR time.Time
	KeyWorker                   time.Time // allocated on; zero when none
	InHospital                  bool
	AdmittedOn                  time.Time
}

// DueAction is one action the policy asks for, and when.
type DueAction struct {
	RecordID int64
	CaseRef  string
	Kind     string // ActionCETR, ActionKeyWorker
	What     string // "C(E)TR (Red rating)", "Inpatient C(E)TR"
	Due      time.Time
	Overdue  bool
	Soon     bool // due within DueSoonDays, not yet overdue
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// Due lists what the policy asks of one child on the day today, soonest
// first. An action already done since it fell due is not listed.
func (p DuePolicy) Due(s ActionState, today time.Time) []DueAction {
	p = p.WithDefaults()
	today = day(today)
	var out []DueAction
	add := func(kind, what string, due time.Time) {
		due = day(due)
		a := DueAction{RecordID: s.RecordID, CaseRef: s.CaseRef, Kind: kind, What: what, Due: due}
		a.Overdue = today.After(due)
		a.Soon = !a.Overdue && !due.After(today.AddDate(0, 0, p.DueSoonDays))
		out = append(out, a)
	}
	since := day(s.RAGSince)
	inHospital := s.InHospital || s.RAG == "Blue"
	if s.RAG == "Red" && !inHospital && (s.LastCETR.IsZero() || day(s.LastCETR).Before(since)) {
		add(ActionCETR, "C(E)TR (rated Red)", since.AddDate(0, 0, p.RedCETRWithinDays))
	}
	if (s.RAG == "Red" || s.RAG == "Amber") && s.KeyWorker.IsZero() {
		add(ActionKeyWorker, "Key worker referral (rated "+s.RAG+")", since.AddDate(0, 0, p.KeyWorkerWithinDays))
	}
	if inHospital {
		from := day(s.AdmittedOn)
		if from.IsZero() {
			from = since
		}
		if !s.LastInpatientCETR.IsZero() && !day(s.LastInpatientCETR).Before(from) {
			from = day(s.LastInpatientCETR)
		}
		add(ActionCETR, "Inpatient C(E)TR (in hospital)", from.AddDate(0, p.InpatientCETRMonths, 0))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Due.Before(out[j].Due) })
	return out
}
