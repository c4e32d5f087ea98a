package register

import (
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
)

// scanned marks a form of the input as read by OCR from a scan.
func scanned(kind parser.FormKind) func(*Input) {
	return func(in *Input) {
		form(in, kind).OCR = &parser.OCRForm{Pages: []parser.OCRPageSize{{Width: 1654, Height: 2339}}}
	}
}

// confirmed marks a scanned form as checked by a coordinator.
func confirmed(kind parser.FormKind) func(*Input) {
	return func(in *Input) {
		f := form(in, kind)
		f.OCR.ConfirmedBy, f.OCR.ConfirmedAt = "coordinator@example.org", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	}
}

// confirmCases: forms read by OCR are never registered on their own;
// what OCR read wrongly or found missing is handled as for typed forms.
func confirmCases() []assessCase {
	R, C := parser.Referral, parser.Consent
	return []assessCase{
		{"scanned consent, otherwise complete", scanned(C), OutcomeReview, []string{"confirm_scanned_form"}},
		{"scanned referral, otherwise complete", scanned(R), OutcomeReview, []string{"confirm_scanned_form"}},
		{"both scanned is one reason", all(scanned(R), scanned(C)), OutcomeReview, []string{"confirm_scanned_form"}},
		{"scanned consent held on the case from an earlier email", func(in *Input) {
			scanned(C)(in)
			in.Earlier.Consent, in.Submission.Consent = in.Submission.Consent, nil
		}, OutcomeReview, []string{"confirm_scanned_form"}},
		{"both confirmed registers", all(scanned(R), scanned(C), confirmed(R), confirmed(C)), OutcomeRegister, nil},
		{"one confirmed, the other not", all(scanned(R), scanned(C), confirmed(R)), OutcomeReview, []string{"confirm_scanned_form"}},
		{"scanned consent without the consent tick is a query", all(scanned(C), set(C, "consent_given", "false")), OutcomeQuery, []string{"consent_not_given"}},
		{"scanned forms whose dates of birth differ", all(scanned(R), scanned(C), set(C, "cyp_dob", "2013-04-05")), OutcomeQuery, []string{"consent_mismatch"}},
		{"scanned referral with a misread NHS number", all(scanned(R), set(R, "cyp_nhs_number", "9993149587")), OutcomeReview,
			[]string{"confirm_scanned_form", "invalid_nhs_number", "consent_mismatch"}},
		{"scanned referral whose surname OCR missed", all(scanned(R), del(R, "cyp_surname")), OutcomeReview,
			[]string{"confirm_scanned_form", "missing_field:cyp_surname"}},
		{"scanned consent whose tick OCR could not read", all(scanned(C), invalid(C, "factsheet_given", "@yes ONo")), OutcomeReview,
			[]string{"confirm_scanned_form", "invalid_field:factsheet_given"}},
		{"typed referral missing a field, scanned consent complete", all(scanned(C), del(R, "cyp_surname")), OutcomeQuery,
			[]string{"missing_field:cyp_surname"}},
		{"confirmed form missing a field is a query", all(scanned(R), confirmed(R), del(R, "cyp_surname")), OutcomeQuery,
			[]string{"missing_field:cyp_surname"}},
		{"scanned referral for an 18-year-old is the age review", all(scanned(R), dob("2008-01-01")), OutcomeReview, []string{"age_18_or_over", "missing_field:yp_has_capacity"}},
		// The unreadable scan may be the missing consent form, so (rule 7)
		// the missing-form reason is not added beside it.
		{"scan too poor to read", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "scan.jpg", Detected: "image", Kind: parser.KindUnreadable, Error: parser.ReasonScanUnreadable}}
		}, OutcomeReview, []string{"unreadable_attachment"}},
		{"typed forms are not held back", nil, OutcomeRegister, nil},
	}
}

func TestAssessScannedForms(t *testing.T) {
	for _, tc := range confirmCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := checkAssessCase(t, tc)
			if d.Has(CodeConfirmScannedForm) {
				msg := d.Reasons[slices.Index(d.Codes(), CodeConfirmScannedForm)].Message
				if !strings.Contains(msg, "scanned") || !strings.Contains(msg, "coordinator checks") {
					t.Errorf("message %q does not say the form was scanned and a coordinator checks it", msg)
				}
				for _, v := range []string{"Lily", "Chambers", "2013", "999"} {
					if strings.Contains(msg, v) {
						t.Errorf("message %q names the child (%s)", msg, v)
					}
				}
			}
		})
	}
}
