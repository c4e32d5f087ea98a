package register

import (
	"strings"
	"time"

	"dsr-intake/parser"
)

// Record states.
const (
	RecordActive    = "active"    // on the live register
	RecordWithdrawn = "withdrawn" // consent withdrawn: off the register, personal data erased
)

// Record is one child on the register: the latest referral's fields, the
// consent, the RAG rating and its history, and the referrals (cases) that
// led to it.
type Record struct {
	ID          int64
	State       string
	NHSNumber   string // digits
	FirstNames  string
	Surname     string
	KnownAs     string
	DateOfBirth string // YYYY-MM-DD
	// Referral and ConsentForm hold every field of the latest referral and
	// consent forms, by canonical name (FORMS.md): address, services
	// involved, needs, care plans, parent and referrer details.
	Referral    map[string]string
	ConsentForm map[string]string
	Consent     Consent
	RAG         string
	RAGHistory  []RAGChange // oldest first
	Referrals   []Referral  // oldest first
	CreatedAt   time.Time
	UpdatedAt   time.Time
	WithdrawnAt *time.Time
	WithdrawnBy string
}

// Consent is the consent a record stands on.
type Consent struct {
	Basis          string // parser.BasisYoungPerson, BasisParental, BasisBestInterest
	GivenBy        string // signatory or best interest decision maker
	Relationship   string
	SignedDate     string // YYYY-MM-DD
	FactsheetGiven bool
	// Sharing is the choice per partner: health, education, social_care,
	// select, psg.
	Sharing map[string]bool
}

// RAGChange is one change of a record's RAG rating.
type RAGChange struct {
	At    time.Time
	Actor string
	From  string // "" for the first rating
	To    string
	Why   string
}

// Referral is a case that led to a record.
type Referral struct {
	CaseID    int64
	Ref       string
	State     string
	CreatedAt time.Time
}

// Section lists the record's referral fields whose canonical names start
// with prefix, labelled and in the form's order: "svc_" for the services
// involved, "needs_" for needs, "plan_" for care plans. Yes/no values read
// "Yes" or "No".
func (r Record) Section(prefix string) []parser.LabelValue {
	var out []parser.LabelValue
	for _, f := range parser.ReferralFields {
		v, ok := r.Referral[f.Name]
		if !ok || !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		if f.Type == parser.YesNo {
			v = map[string]string{"true": "Yes", "false": "No"}[v]
		}
		out = append(out, parser.LabelValue{Label: f.Label, Value: v})
	}
	return out
}

// Initials are what logs and digests may show of a child.
func (r Record) Initials() string { return Initials(r.FirstNames, r.Surname) }

// Initials are the initials of a child's first names and surname, upper
// case and undotted: what logs and digests may show.
func Initials(first, last string) string {
	var b strings.Builder
	for _, part := range []string{first, last} {
		for _, w := range strings.Fields(part) {
			for _, c := range w {
				b.WriteString(strings.ToUpper(string(c)))
				break
			}
		}
	}
	return b.String()
}
