package register

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"dsr-intake/parser"
)

// Every message of every case in the rules table (and of the decisions
// made elsewhere) is short, plain and safe to send: no canonical field
// name, no NHS number, no date of birth.
func TestMessagesAreShortPlainAndSafe(t *testing.T) {
	var decisions []Decision
	for _, tc := range assessCases() {
		in := validInput()
		if tc.mutate != nil {
			tc.mutate(&in)
		}
		decisions = append(decisions, Assess(in))
	}
	// The same rules when no form gives the child's name, and for a
	// child of 16, so the "the child" wording and the age wording are seen.
	for _, tc := range assessCases() {
		in := validInput()
		if tc.mutate != nil {
			tc.mutate(&in)
		}
		for _, f := range []*parser.Form{in.Submission.Referral, in.Submission.Consent, in.Earlier.Referral, in.Earlier.Consent} {
			if f != nil {
				delete(f.Values, "cyp_first_names")
				delete(f.Values, "cyp_known_as")
				delete(f.Values, "cyp_full_name")
			}
		}
		decisions = append(decisions, Assess(in))
	}
	decisions = append(decisions, DuplicateDecision(), NewDecision(QueryNotDeliveredReason()))

	// Values that must never appear: every NHS number and date of birth
	// the table uses, in the ways people write them.
	var secrets []string
	for _, n := range []string{"9993149586", "9995628198", "9993149587", "999314958", "9990000000"} {
		secrets = append(secrets, n, n[:3]+" "+n[3:6]+" "+n[6:])
	}
	for _, d := range []string{"2013-04-04", "2013-04-05", "2008-11-20", "2008-02-29", "2010-01-01", "2009-06-01", "2010-11-20", "2010-11-22"} {
		tm, _ := time.Parse(time.DateOnly, d)
		secrets = append(secrets, d, tm.Format("02/01/2006"), tm.Format("2 January 2006"))
	}

	seen := map[string]bool{}
	for _, d := range decisions {
		for _, r := range d.Reasons {
			seen[r.Code] = true
			m := r.Message
			switch {
			case strings.TrimSpace(m) == "":
				t.Errorf("%s: empty message", r.Code)
			case utf8.RuneCountInString(m) > 300:
				t.Errorf("%s: message of %d characters: %q", r.Code, utf8.RuneCountInString(m), m)
			case strings.Contains(m, "_"):
				t.Errorf("%s: message names a canonical field: %q", r.Code, m)
			case !strings.HasSuffix(m, "."):
				t.Errorf("%s: message is not a finished sentence: %q", r.Code, m)
			case m != strings.TrimSpace(m) || strings.Contains(m, "  "):
				t.Errorf("%s: stray spaces in %q", r.Code, m)
			}
			for _, s := range secrets {
				if strings.Contains(m, s) {
					t.Errorf("%s: message carries %q: %q", r.Code, s, m)
				}
			}
			// Blame-free: the messages speak of the form, never of "you
			// failed" or "error".
			for _, w := range []string{"you failed", "you forgot", "error", "invalid", "must "} {
				if strings.Contains(strings.ToLower(m), w) {
					t.Errorf("%s: message has %q: %q", r.Code, w, m)
				}
			}
		}
	}
	prefixes := map[string]bool{}
	for c := range seen {
		if i := strings.IndexByte(c, ':'); i >= 0 {
			c = c[:i+1]
		}
		prefixes[c] = true
	}
	for _, c := range formsCodes(t) {
		if !prefixes[c] {
			t.Errorf("no message of %s was checked", c)
		}
	}
}

func TestMessagesUseLabelsNotNames(t *testing.T) {
	// Every field the rules can report has a label to print.
	for _, k := range []parser.FormKind{parser.Referral, parser.Consent} {
		for _, spec := range parser.Fields(k) {
			if got := label(k, spec.Name); got != spec.Label || strings.Contains(got, "_") {
				t.Errorf("label(%s, %s) = %q, want %q", k, spec.Name, got, spec.Label)
			}
		}
	}
}
