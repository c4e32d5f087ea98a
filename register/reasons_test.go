package register

import (
	"slices"
	"strings"
	"testing"

	"dsr-intake/parser"
)

// tableProblems lists what is wrong with a reason table for the codes the
// code reports: a code with no row, a row without its outcome, label or
// referrer message, a row for a code nothing reports, a field that is not
// on either form.
func tableProblems(codes []string, table []ReasonInfo, tolerated []string) []string {
	var out []string
	rows := map[string]ReasonInfo{}
	for _, r := range table {
		if _, dup := rows[r.Code]; dup {
			out = append(out, r.Code+": two rows")
		}
		rows[r.Code] = r
	}
	for _, c := range codes {
		r, ok := rows[strings.TrimSuffix(c, "<field>")]
		if !ok {
			out = append(out, c+": no row in the reason table")
			continue
		}
		if r.Outcome == "" {
			out = append(out, c+": no outcome")
		}
		if strings.TrimSpace(r.Label) == "" {
			out = append(out, c+": no coordinator label")
		}
		if strings.TrimSpace(r.Referrer) == "" {
			out = append(out, c+": no referrer message")
		}
	}
	for code, r := range rows {
		if !slices.Contains(codes, code) && !slices.Contains(codes, code+"<field>") && !slices.Contains(tolerated, code) {
			out = append(out, code+": a row for a code nothing reports")
		}
		for _, f := range r.Fields {
			if _, ok := parser.Spec(parser.Referral, f); ok {
				continue
			}
			if _, ok := parser.Spec(parser.Consent, f); !ok {
				out = append(out, code+": names "+f+", which is on neither form")
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestReasonTable: every reason code the register and its store report
// (their Code…, Prefix… and Reason… constants) has its outcome,
// coordinator label and referrer message in the one table.
func TestReasonTable(t *testing.T) {
	var codes []string
	for c := range codeConstants(t, ".") {
		codes = append(codes, c)
	}
	if len(codes) < 20 {
		t.Fatalf("found only %d codes: the scan is broken", len(codes))
	}
	for _, p := range tableProblems(codes, reasonTable, documentedNotYetInCode) {
		t.Error(p)
	}
}

// TestReasonTableCatchesGaps: the check fails a code added without its
// row, and a row that lacks a part.
func TestReasonTableCatchesGaps(t *testing.T) {
	codes := []string{CodeAge18OrOver, "missing_field:<field>", "brand_new_code"}
	table := []ReasonInfo{
		{Code: CodeAge18OrOver, Outcome: OutcomeReview, Label: "18 or over"},
		{Code: PrefixMissingField, Outcome: OutcomeQuery, Label: "Missing:", Referrer: "Blank.", Fields: []string{"no_such_field"}},
	}
	got := tableProblems(codes, table, nil)
	want := []string{
		"age_18_or_over: no referrer message",
		"brand_new_code: no row in the reason table",
		"missing_field:: names no_such_field, which is on neither form",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestReasonFor(t *testing.T) {
	tests := []struct {
		code    string
		known   bool
		outcome Outcome
		label   string
		fields  []string
	}{
		{CodeAge18OrOver, true, OutcomeReview, "The young person is 18 or over", []string{"cyp_dob", "referral_date"}},
		{"missing_field:cyp_nhs_number", true, OutcomeQuery, "Missing: NHS number", []string{"cyp_nhs_number"}},
		{"date_in_future:referral_date", true, OutcomeQuery, "Date in the future: Date of referral", []string{"referral_date"}},
		{"processing_failed", true, OutcomeReview, "The email could not be processed", nil},
		{"missing_field:", false, OutcomeQuery, "Missing field:", nil},
		{"some_new_code", false, OutcomeQuery, "Some new code", nil},
	}
	for _, tt := range tests {
		r, ok := ReasonFor(tt.code)
		if ok != tt.known || r.Outcome != tt.outcome || r.Label != tt.label || !slices.Equal(r.Fields, tt.fields) {
			t.Errorf("ReasonFor(%q) = %v %q %q %q; want %v %q %q %q", tt.code, ok, r.Outcome, r.Label, r.Fields, tt.known, tt.outcome, tt.label, tt.fields)
		}
		if r.Referrer == "" {
			t.Errorf("ReasonFor(%q) has no referrer words", tt.code)
		}
	}
}

func TestSentence(t *testing.T) {
	tests := []struct {
		o     Outcome
		codes []string
		want  string
	}{
		{OutcomeReview, []string{CodeAge18OrOver}, "Sent for review: the young person is 18 or over"},
		{OutcomeQuery, []string{"missing_field:cyp_nhs_number", CodeInvalidNHSNumber},
			"Referrer asked for more information: missing: NHS number and the NHS number is not valid"},
		{OutcomeRegister, nil, "Added to the register"},
	}
	for _, tt := range tests {
		if got := Sentence(tt.o, tt.codes); got != tt.want {
			t.Errorf("Sentence(%s, %q) = %q; want %q", tt.o, tt.codes, got, tt.want)
		}
	}
}
