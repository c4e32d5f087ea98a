package register

import "dsr-intake/parser"

// Outcome is what happens to one email.
type Outcome string

const (
	OutcomeRegister Outcome = "register" // both forms valid, child eligible
	OutcomeQuery    Outcome = "query"    // the referrer can fix something
	OutcomeReview   Outcome = "review"   // a person must decide
	OutcomeIgnore   Outcome = "ignore"   // nothing to do
)

// Reason is one reason for a decision: a stable code from FORMS.md
// ("missing_field:cyp_nhs_number") and a plain-English message fit to send
// to a referrer.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Decision is the outcome of assessing one email with every reason that
// applies.
type Decision struct {
	Outcome Outcome  `json:"outcome"`
	Reasons []Reason `json:"reasons"`
}

// Has reports whether the decision carries the reason code.
func (d Decision) Has(code string) bool {
	for _, r := range d.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// CaseForms are the forms a case holds: from this email, earlier ones on
// the same case, or both merged.
type CaseForms struct {
	Referral *parser.Form
	Consent  *parser.Form
}
