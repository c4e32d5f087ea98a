package register

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
)

// testToday is the fixed "today" of every rules test.
var testToday = date("2026-11-25")

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// validReferral is a complete, valid referral for a fictional 13-year-old.
func validReferral() *parser.Form {
	return &parser.Form{Kind: parser.Referral, Source: "test", Invalid: map[string]string{}, Values: map[string]string{
		"referral_date":          "2026-11-20",
		"cyp_first_names":        "Lily Rose",
		"cyp_surname":            "Chambers",
		"cyp_dob":                "2013-04-04",
		"cyp_nhs_number":         "9993149586",
		"cyp_gender":             "Female",
		"cyp_ethnicity":          "White - British",
		"cyp_address":            "12 Example Road\nBromley",
		"cyp_postcode":           "BR1 1AA",
		"cyp_living_situation":   "With family",
		"cyp_local_authority":    "London Borough of Bromley",
		"dx_learning_disability": "true",
		"dx_autism":              "true",
		"dx_details":             "Autism and moderate learning disability, CDC 2018",
		"mh_concern":             "Self-harm and distress at school",
		"mh_high_risk_admission": "true",
		"rag_rating":             "Red",
		"rag_reason":             "Placement at risk",
		"svc_health":             "CAMHS",
		"needs_health":           "CAMHS review",
		"needs_education":        "Quiet base room",
		"needs_social_care":      "Respite",
		"parent_name":            "Jane Chambers",
		"parent_relationship":    "Mother",
		"parent_has_pr":          "true",
		"parent_email":           "jane.chambers@example.org",
		"referrer_name":          "Helen Carver",
		"referrer_role":          "SENCo",
		"referrer_organisation":  "Example School",
		"referrer_email":         "hcarver@example.sch.uk",
		"referrer_phone":         "020 7946 0871",
	}}
}

// validConsent is parental consent for the child of validReferral.
func validConsent() *parser.Form {
	return &parser.Form{Kind: parser.Consent, Source: "test", Invalid: map[string]string{}, Values: map[string]string{
		"cyp_full_name":          "Lily Chambers",
		"cyp_dob":                "2013-04-04",
		"cyp_nhs_number":         "9993149586",
		"consent_basis":          parser.BasisParental,
		"consent_given":          "true",
		"factsheet_given":        "true",
		"share_health":           "true",
		"signatory_name":         "Jane Chambers",
		"signatory_relationship": "Mother",
		"signatory_has_pr":       "true",
		"signature":              "Jane Chambers",
		"signed_date":            "2026-11-19",
	}}
}

func validInput() Input {
	return Input{
		Submission: &parser.Submission{
			From:     "hcarver@example.sch.uk",
			Subject:  "DSR referral - L.C.",
			Body:     "Please find attached a referral and consent form.\n\nHelen",
			Referral: validReferral(),
			Consent:  validConsent(),
		},
		Today: testToday,
	}
}

// Mutators, one thing each.

func set(kind parser.FormKind, field, value string) func(*Input) {
	return func(in *Input) { form(in, kind).Values[field] = value }
}

func del(kind parser.FormKind, fields ...string) func(*Input) {
	return func(in *Input) {
		for _, f := range fields {
			delete(form(in, kind).Values, f)
		}
	}
}

func invalid(kind parser.FormKind, field, raw string) func(*Input) {
	return func(in *Input) {
		f := form(in, kind)
		delete(f.Values, field)
		f.Invalid[field] = raw
	}
}

func form(in *Input, kind parser.FormKind) *parser.Form {
	if kind == parser.Consent {
		return in.Submission.Consent
	}
	return in.Submission.Referral
}

func both(field, value string) func(*Input) {
	return all(set(parser.Referral, field, value), set(parser.Consent, field, value))
}

func all(ms ...func(*Input)) func(*Input) {
	return func(in *Input) {
		for _, m := range ms {
			m(in)
		}
	}
}

// dob sets the date of birth on both forms.
func dob(s string) func(*Input) {
	return all(set(parser.Referral, "cyp_dob", s), set(parser.Consent, "cyp_dob", s))
}

func selfConsent(capacity string) func(*Input) {
	return func(in *Input) {
		c := in.Submission.Consent
		c.Values["consent_basis"] = parser.BasisYoungPerson
		c.Values["signatory_name"] = "Lily Chambers"
		c.Values["signatory_relationship"] = "Self"
		c.Values["signature"] = "Lily Chambers"
		delete(c.Values, "signatory_has_pr")
		if capacity == "" {
			delete(c.Values, "yp_has_capacity")
		} else {
			c.Values["yp_has_capacity"] = capacity
		}
	}
}

func bestInterest(complete bool) func(*Input) {
	return func(in *Input) {
		c := in.Submission.Consent
		c.Values["consent_basis"] = parser.BasisBestInterest
		c.Values["consent_given"] = "false"
		for _, f := range []string{"signatory_name", "signatory_relationship", "signatory_has_pr", "signature", "signed_date"} {
			delete(c.Values, f)
		}
		c.Values["bid_decision_maker"] = "Dr A Example"
		c.Values["bid_date"] = "2026-11-18"
		if complete {
			c.Values["bid_role"] = "Consultant psychiatrist"
			c.Values["bid_reason"] = "Escalating risk; parents declined"
		}
	}
}

type assessCase struct {
	name   string
	mutate func(*Input)
	want   Outcome
	codes  []string // exactly these codes, in any order
}

// assessCases is the rules table: every reason code of FORMS.md and every
// consent path, one change from a valid pair at a time.
func assessCases() []assessCase {
	R, C := parser.Referral, parser.Consent
	cases := []assessCase{
		{"valid pair", nil, OutcomeRegister, nil},

		// Both forms present, in this email or earlier on the case.
		{"no consent form", func(in *Input) { in.Submission.Consent = nil }, OutcomeQuery, []string{"missing_consent_form"}},
		{"no referral form", func(in *Input) { in.Submission.Referral = nil }, OutcomeQuery, []string{"missing_referral_form"}},
		{"no forms and no withdrawal words", func(in *Input) { in.Submission.Referral, in.Submission.Consent = nil, nil },
			OutcomeQuery, []string{"missing_referral_form", "missing_consent_form"}},
		{"consent earlier on the case", func(in *Input) {
			in.Earlier.Consent, in.Submission.Consent = in.Submission.Consent, nil
		}, OutcomeRegister, nil},
		{"referral earlier on the case", func(in *Input) {
			in.Earlier.Referral, in.Submission.Referral = in.Submission.Referral, nil
		}, OutcomeRegister, nil},
		{"new consent replaces an earlier one", func(in *Input) {
			old := validConsent()
			old.Values["consent_given"] = "false"
			in.Earlier.Consent = old
		}, OutcomeRegister, nil},
		{"earlier consent still lacks what the query asked", func(in *Input) {
			old := validConsent()
			old.Values["factsheet_given"] = "false"
			in.Earlier.Consent, in.Submission.Consent = old, nil
		}, OutcomeQuery, []string{"factsheet_not_given"}},

		// Required fields, all reported at once.
		{"three referral fields blank", del(R, "cyp_surname", "mh_concern", "referrer_phone"), OutcomeQuery,
			[]string{"missing_field:cyp_surname", "missing_field:mh_concern", "missing_field:referrer_phone"}},
		{"date of birth blank on both forms is one reason", all(del(R, "cyp_dob"), del(C, "cyp_dob")), OutcomeQuery,
			[]string{"missing_field:cyp_dob"}},
		{"diagnosis details needed when a diagnosis is Yes", del(R, "dx_details"), OutcomeQuery, []string{"missing_field:dx_details"}},
		{"diagnosis details not needed when both No", all(set(R, "dx_learning_disability", "false"), set(R, "dx_autism", "false"), del(R, "dx_details")),
			OutcomeReview, []string{"not_eligible_diagnosis"}},
		{"autism only is eligible", all(set(R, "dx_learning_disability", "false")), OutcomeRegister, nil},
		{"no service at all", del(R, "svc_health"), OutcomeQuery, []string{"missing_field:svc_health"}},
		{"education setting alone is a service", all(del(R, "svc_health"), set(R, "svc_education", "Example School")), OutcomeRegister, nil},
		{"social care alone is a service", all(del(R, "svc_health"), set(R, "svc_social_care", "CWD team")), OutcomeRegister, nil},
		{"signatory has PR blank for parental consent", del(C, "signatory_has_pr"), OutcomeQuery, []string{"missing_field:signatory_has_pr"}},
		{"signature and date blank", del(C, "signature", "signed_date"), OutcomeQuery, []string{"missing_field:signature", "missing_field:signed_date"}},
		{"optional fields blank", del(R, "cyp_known_as", "parent_email", "cyp_gp_practice", "plan_ehcp"), OutcomeRegister, nil},
		{"consent NHS number blank is fine", del(C, "cyp_nhs_number"), OutcomeRegister, nil},

		// Well-formed values.
		{"unreadable date", invalid(R, "referral_date", "11/31/2026"), OutcomeQuery, []string{"invalid_field:referral_date"}},
		{"unknown gender", invalid(R, "cyp_gender", "F"), OutcomeQuery, []string{"invalid_field:cyp_gender"}},
		{"unknown consent basis", invalid(C, "consent_basis", "parental responsibility"), OutcomeQuery, []string{"invalid_field:consent_basis"}},
		{"yes/no unreadable", invalid(R, "parent_has_pr", "maybe"), OutcomeQuery, []string{"invalid_field:parent_has_pr"}},
		{"optional yes/no unreadable", invalid(R, "plan_pbs", "pending"), OutcomeQuery, []string{"invalid_field:plan_pbs"}},
		{"postcode not a postcode", set(R, "cyp_postcode", "BR1"), OutcomeQuery, []string{"invalid_field:cyp_postcode"}},
		{"postcode with digits swapped", set(R, "cyp_postcode", "1BR 1AA"), OutcomeQuery, []string{"invalid_field:cyp_postcode"}},
		{"postcode lower case, no space", set(R, "cyp_postcode", "br11aa"), OutcomeRegister, nil},
		{"postcode with sub-district", set(R, "cyp_postcode", "SW1A 1AA"), OutcomeRegister, nil},
		{"postcode GIR 0AA", set(R, "cyp_postcode", "GIR 0AA"), OutcomeRegister, nil},
		{"referrer email not an address", set(R, "referrer_email", "helen at school"), OutcomeQuery, []string{"invalid_field:referrer_email"}},
		{"referrer email without a domain dot", set(R, "referrer_email", "helen@school"), OutcomeQuery, []string{"invalid_field:referrer_email"}},
		{"parent email two addresses", set(R, "parent_email", "a@example.org; b@example.org"), OutcomeQuery, []string{"invalid_field:parent_email"}},
		{"email with a display name", set(R, "referrer_email", "Helen Carver <hcarver@example.sch.uk>"), OutcomeRegister, nil},

		// The NHS number.
		{"NHS number nine digits", both("cyp_nhs_number", "999314958"), OutcomeQuery, []string{"invalid_nhs_number"}},
		{"NHS number wrong check digit", both("cyp_nhs_number", "9993149587"), OutcomeQuery, []string{"invalid_nhs_number"}},
		{"NHS number check digit 10", both("cyp_nhs_number", "9990000000"), OutcomeQuery, []string{"invalid_nhs_number"}},
		{"NHS number with letters is not invalid_field", all(invalid(R, "cyp_nhs_number", "999 314 958X"), del(C, "cyp_nhs_number")),
			OutcomeQuery, []string{"invalid_nhs_number"}},

		// Dates.
		{"referral dated today", set(R, "referral_date", "2026-11-25"), OutcomeRegister, nil},
		{"referral dated tomorrow", set(R, "referral_date", "2026-11-26"), OutcomeQuery, []string{"date_in_future:referral_date"}},
		{"date of birth in the future", dob("2027-01-01"), OutcomeQuery, []string{"date_in_future:cyp_dob"}},
		{"consent signed tomorrow", set(C, "signed_date", "2026-11-26"), OutcomeQuery, []string{"date_in_future:signed_date"}},
		{"consent signed on the date of birth", set(C, "signed_date", "2013-04-04"), OutcomeRegister, nil},
		{"consent signed the day before birth", set(C, "signed_date", "2013-04-03"), OutcomeQuery, []string{"invalid_field:signed_date"}},
		{"Today's time of day is ignored", func(in *Input) {
			in.Today = time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)
			in.Submission.Referral.Values["referral_date"] = "2026-11-25"
		}, OutcomeRegister, nil},

		// Age on the referral date (2026-11-20).
		{"18th birthday on the referral date", all(dob("2008-11-20"), selfConsent(parser.CapacityYes)), OutcomeReview, []string{"age_18_or_over"}},
		{"day before the 18th birthday", all(dob("2008-11-21"), selfConsent(parser.CapacityYes)), OutcomeRegister, nil},
		{"18 on the referral date though not 18 today is not what counts", all(dob("2008-11-23"), selfConsent(parser.CapacityYes)), OutcomeRegister, nil},
		{"29 February birthday, 18 on 1 March", all(set(R, "referral_date", "2026-03-01"), set(C, "signed_date", "2026-02-27"), dob("2008-02-29"), selfConsent(parser.CapacityYes)),
			OutcomeReview, []string{"age_18_or_over"}},
		{"29 February birthday, still 17 on 28 February", all(set(R, "referral_date", "2026-02-28"), set(C, "signed_date", "2026-02-27"), dob("2008-02-29"), selfConsent(parser.CapacityYes)),
			OutcomeRegister, nil},
		{"age falls back to today when the referral date is blank", all(del(R, "referral_date"), dob("2008-11-24"), selfConsent(parser.CapacityYes)),
			OutcomeReview, []string{"missing_field:referral_date", "age_18_or_over"}},
		{"age 18 and a missing field: review keeps both", all(dob("2007-01-01"), selfConsent(parser.CapacityYes), del(R, "rag_reason")),
			OutcomeReview, []string{"age_18_or_over", "missing_field:rag_reason"}},

		// Eligibility.
		{"neither diagnosis", all(set(R, "dx_learning_disability", "false"), set(R, "dx_autism", "false")), OutcomeReview, []string{"not_eligible_diagnosis"}},
		{"not at high risk of admission", set(R, "mh_high_risk_admission", "false"), OutcomeReview, []string{"not_eligible_risk"}},
		{"diagnosis blank is a missing field, not ineligibility", all(set(R, "dx_learning_disability", "false"), del(R, "dx_autism")),
			OutcomeQuery, []string{"missing_field:dx_autism"}},

		// Consent paths.
		{"parent for a child under 16", nil, OutcomeRegister, nil},
		{"parent on the day before the 16th birthday", dob("2010-11-21"), OutcomeRegister, nil},
		{"parent on the 16th birthday, capacity Yes", all(dob("2010-11-20"), set(C, "yp_has_capacity", "Yes")), OutcomeQuery, []string{"consent_parent_for_capable_16_plus"}},
		{"parent for a 17-year-old without capacity", all(dob("2009-06-01"), set(C, "yp_has_capacity", "No")), OutcomeRegister, nil},
		{"parent for a 17-year-old, capacity not assessed", all(dob("2009-06-01"), set(C, "yp_has_capacity", "Not assessed")), OutcomeQuery, []string{"consent_parent_for_capable_16_plus"}},
		{"parent for a 16-year-old, capacity blank", dob("2010-01-01"), OutcomeQuery, []string{"missing_field:yp_has_capacity"}},
		{"signatory without parental responsibility", set(C, "signatory_has_pr", "false"), OutcomeQuery, []string{"consent_signatory_without_pr"}},
		{"self-consent at 15", selfConsent(parser.CapacityYes), OutcomeQuery, []string{"consent_self_under_16"}},
		{"self-consent the day before the 16th birthday", all(dob("2010-11-21"), selfConsent(parser.CapacityYes)), OutcomeQuery, []string{"consent_self_under_16"}},
		{"self-consent signed and referred on the 16th birthday with capacity", all(dob("2010-11-20"), set(C, "signed_date", "2026-11-20"), selfConsent(parser.CapacityYes)), OutcomeRegister, nil},
		{"self-consent at 16 without capacity", all(dob("2010-01-01"), selfConsent(parser.CapacityNo)), OutcomeQuery, []string{"consent_self_without_capacity"}},
		{"self-consent at 16, capacity not assessed", all(dob("2010-01-01"), selfConsent(parser.CapacityNotAssessed)), OutcomeQuery, []string{"consent_self_without_capacity"}},
		{"self-consent at 16, capacity blank", all(dob("2010-01-01"), selfConsent("")), OutcomeQuery,
			[]string{"missing_field:yp_has_capacity", "consent_self_without_capacity"}},
		{"self-consent on a 29 February 16th birthday", all(set(R, "referral_date", "2024-02-29"), set(C, "signed_date", "2024-02-29"), dob("2008-02-29"), selfConsent(parser.CapacityYes)),
			OutcomeRegister, nil},
		{"self-consent on 28 February, born 29 February, still 15", all(set(R, "referral_date", "2024-02-28"), set(C, "signed_date", "2024-02-27"), dob("2008-02-29"), selfConsent(parser.CapacityYes)),
			OutcomeQuery, []string{"consent_self_under_16"}},
		{"consent not given", set(C, "consent_given", "false"), OutcomeQuery, []string{"consent_not_given"}},
		{"fact sheet not given", set(C, "factsheet_given", "false"), OutcomeQuery, []string{"factsheet_not_given"}},
		{"best interest decision, complete", bestInterest(true), OutcomeReview, []string{"best_interest_decision"}},
		{"best interest decision, incomplete", bestInterest(false), OutcomeReview,
			[]string{"best_interest_decision", "missing_field:bid_role", "missing_field:bid_reason"}},
		{"best interest decision before birth", all(bestInterest(true), set(C, "bid_date", "2013-01-01")), OutcomeReview,
			[]string{"best_interest_decision", "invalid_field:bid_date"}},
		{"best interest decision with the fact sheet not given", all(bestInterest(true), set(C, "factsheet_given", "false")), OutcomeReview,
			[]string{"best_interest_decision", "factsheet_not_given"}},

		// The same child on both forms.
		{"consent name with every first name", set(C, "cyp_full_name", "Lily Rose Chambers"), OutcomeRegister, nil},
		{"consent name upper case, extra spaces", set(C, "cyp_full_name", "  LILY   CHAMBERS "), OutcomeRegister, nil},
		{"consent name surname first", set(C, "cyp_full_name", "Chambers, Lily"), OutcomeRegister, nil},
		{"consent name first names in another order", set(C, "cyp_full_name", "Rose Lily Chambers"), OutcomeRegister, nil},
		{"consent name by Known as", all(set(R, "cyp_known_as", "Lil"), set(C, "cyp_full_name", "Lil Chambers")), OutcomeRegister, nil},
		{"accents: Zoe is Zoë", all(set(R, "cyp_first_names", "Zoë"), set(R, "cyp_surname", "Smith-Jones"), set(C, "cyp_full_name", "Zoe Smith Jones")), OutcomeRegister, nil},
		{"hyphen or none", all(set(R, "cyp_first_names", "Mary-Ann"), set(R, "cyp_surname", "O'Brien"), set(C, "cyp_full_name", "Maryann OBrien")), OutcomeRegister, nil},
		{"a different child's name", set(C, "cyp_full_name", "Lucy Chambers"), OutcomeQuery, []string{"consent_mismatch"}},
		{"part of a double surname only", all(set(R, "cyp_surname", "Smith-Jones"), set(C, "cyp_full_name", "Lily Smith")), OutcomeQuery, []string{"consent_mismatch"}},
		{"a different date of birth", set(C, "cyp_dob", "2013-04-05"), OutcomeQuery, []string{"consent_mismatch"}},
		{"a different NHS number", set(C, "cyp_nhs_number", "9995628198"), OutcomeQuery, []string{"consent_mismatch"}},

		// Blue.
		{"Blue with hospital and admission date", all(set(R, "rag_rating", "Blue"), set(R, "inpatient_hospital", "Example Hospital"), set(R, "admission_date", "2026-11-01")), OutcomeRegister, nil},
		{"Blue without hospital or admission date", set(R, "rag_rating", "Blue"), OutcomeQuery,
			[]string{"blue_without_admission", "missing_field:inpatient_hospital", "missing_field:admission_date"}},
		{"Blue without admission date", all(set(R, "rag_rating", "Blue"), set(R, "inpatient_hospital", "Example Hospital")), OutcomeQuery,
			[]string{"blue_without_admission", "missing_field:admission_date"}},
		{"Blue admitted tomorrow", all(set(R, "rag_rating", "Blue"), set(R, "inpatient_hospital", "Example Hospital"), set(R, "admission_date", "2026-11-26")), OutcomeQuery,
			[]string{"date_in_future:admission_date"}},

		// Automatic replies, mailing lists.
		{"auto reply", func(in *Input) {
			in.Submission.AutoReply = true
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Untrusted = "domain not allowed"
		}, OutcomeIgnore, []string{"auto_reply"}},
		{"mailing list", func(in *Input) { in.Submission.List = true }, OutcomeIgnore, []string{"auto_reply"}},

		// Attachments.
		{"winmail.dat and no consent form", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "winmail.dat", Kind: parser.KindUnsupported, Detected: "tnef"}}
		}, OutcomeQuery, []string{"missing_consent_form", "unsupported_attachment"}},
		{"winmail.dat beside both forms", func(in *Input) {
			in.Submission.Attachments = []parser.Attachment{{Filename: "winmail.dat", Kind: parser.KindUnsupported}}
		}, OutcomeRegister, nil},
		// An unreadable attachment may be the missing form: that form is not
		// reported missing (FORMS.md).
		{"a scan and no referral form", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "scan.pdf", Kind: parser.KindUnreadable, Error: "the PDF has no text layer: it looks like a scan"}}
		}, OutcomeReview, []string{"unreadable_attachment"}},
		// An encrypted email: the referrer did send the forms; a coordinator
		// opens it in Outlook.
		{"an email under Microsoft 365 message encryption", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "message.rpmsg", Kind: parser.KindUnreadable, Detected: "encrypted",
				Error: "the email is protected with Microsoft 365 message encryption, which only Outlook can open: open it there"}}
		}, OutcomeReview, []string{"unreadable_attachment"}},
		{"an unnamed scan and no forms", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "scan001.pdf", Kind: parser.KindUnreadable}}
		}, OutcomeReview, []string{"unreadable_attachment"}},
		{"a consent form that cannot be read and no forms", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "Signed Consent.pdf", Kind: parser.KindUnreadable, Error: "the PDF needs a password to open"}}
		}, OutcomeReview, []string{"missing_referral_form", "unreadable_attachment"}},
		{"a referral form that cannot be read, the consent missing", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "DSR referral v2.docx", Kind: parser.KindUnreadable}}
		}, OutcomeReview, []string{"missing_consent_form", "unreadable_attachment"}},
		{"a scan beside both forms", func(in *Input) {
			in.Submission.Attachments = []parser.Attachment{{Filename: "photo.jpg", Kind: parser.KindUnreadable}}
		}, OutcomeRegister, nil},
		{"an unreadable part and no forms", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Problems = []string{"part 3: unknown transfer encoding"}
		}, OutcomeReview, []string{"missing_referral_form", "missing_consent_form", "unreadable_attachment"}},

		// Sender and withdrawal.
		{"untrusted sender", func(in *Input) { in.Untrusted = "failed DMARC" }, OutcomeReview, []string{"sender_not_trusted"}},
		{"withdrawal, no forms", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Subject = "Re: [DSR-2026-000123] DSR referral"
			in.Submission.Body = "Hello,\nI would like to withdraw my consent for Lily.\nThanks\n\nOn 20 Nov 2026, DSR wrote:\n> We need the consent form"
		}, OutcomeReview, []string{"withdrawal_request"}},
		{"withdrawal in the subject", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Subject = "Withdrawal of consent - DSR-2026-000123"
			in.Submission.Body = ""
		}, OutcomeReview, []string{"withdrawal_request"}},
		{"remove my son from the register", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Body = "Please remove my son from the register."
		}, OutcomeReview, []string{"withdrawal_request"}},
		{"no longer consent", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Body = "We no longer consent to Lily being on the DSR."
		}, OutcomeReview, []string{"withdrawal_request"}},
		{"withdrawal words with forms still assesses them", func(in *Input) {
			in.Submission.Body = "Attached. The family may withdraw consent later; for now please withdraw consent from the old referral."
			delete(in.Submission.Referral.Values, "rag_reason")
		}, OutcomeReview, []string{"withdrawal_request", "missing_field:rag_reason"}},
		{"knowing one can withdraw is not a request", func(in *Input) {
			in.Submission.Body = "Mum understands she can withdraw consent at any time.\nParents are aware of their right to withdraw consent."
		}, OutcomeRegister, nil},
		{"withdrawal words only in quoted text", func(in *Input) {
			in.Submission.Body = "Here is the signed form.\n> Please withdraw consent by email if needed\n"
		}, OutcomeRegister, nil},
		{"withdrawal words below an Outlook reply header", func(in *Input) {
			in.Submission.Body = "Forms attached.\n-----Original Message-----\nFrom: a parent\nI want to withdraw consent"
		}, OutcomeRegister, nil},
	}
	return append(cases, signingDateCases()...)
}

// signingDateCases are the consent paths around the 16th birthday, judged
// on the day the consent was signed as well as on the referral date
// (FORMS.md "Validity rules"): the child is born on 22 November 2010, so
// turns 16 on 22 November 2026; the consent is signed the day before, on
// or the day after that birthday, and the referral is dated the day before
// it (21 November) or after it (24 November). Each row is one basis and
// one capacity answer, and the codes expected for the six pairs of dates.
func signingDateCases() []assessCase {
	const (
		self   = parser.BasisYoungPerson
		parent = parser.BasisParental

		under16   = CodeConsentSelfUnder16
		noCap     = CodeConsentSelfWithoutCapacity
		capable   = CodeConsentParentForCapable16
		askCap    = PrefixMissingField + "yp_has_capacity"
		registers = ""
	)
	signed := []struct{ when, date string }{
		{"the day before", "2026-11-21"}, {"on", "2026-11-22"}, {"the day after", "2026-11-23"},
	}
	referred := []struct{ when, date string }{{"before", "2026-11-21"}, {"after", "2026-11-24"}}
	rows := []struct {
		basis, capacity string
		// want[referred][signed]: the codes, comma-separated; "" registers.
		want [2][3]string
	}{
		// Self-consent stands only at 16 on both dates, with capacity.
		{self, parser.CapacityYes, [2][3]string{
			{under16, under16, under16},
			{under16, registers, registers}}},
		{self, parser.CapacityNo, [2][3]string{
			{under16, under16, under16},
			{under16, noCap, noCap}}},
		{self, parser.CapacityNotAssessed, [2][3]string{
			{under16, under16, under16},
			{under16, noCap, noCap}}},
		// Blank capacity is asked for whenever the young person was 16 on
		// either date.
		{self, "", [2][3]string{
			{under16, under16 + "," + askCap, under16 + "," + askCap},
			{under16 + "," + askCap, askCap + "," + noCap, askCap + "," + noCap}}},
		// A parent's signature stands for a young person who was under 16
		// on both dates, or who lacks capacity.
		{parent, parser.CapacityYes, [2][3]string{
			{registers, capable, capable},
			{capable, capable, capable}}},
		{parent, parser.CapacityNo, [2][3]string{
			{registers, registers, registers},
			{registers, registers, registers}}},
		{parent, parser.CapacityNotAssessed, [2][3]string{
			{registers, capable, capable},
			{capable, capable, capable}}},
		{parent, "", [2][3]string{
			{registers, askCap, askCap},
			{askCap, askCap, askCap}}},
	}
	var cases []assessCase
	for _, row := range rows {
		consent := func(in *Input) {
			c := in.Submission.Consent
			c.Values["yp_has_capacity"] = row.capacity
			if row.capacity == "" {
				delete(c.Values, "yp_has_capacity")
			}
		}
		if row.basis == self {
			consent = selfConsent(row.capacity)
		}
		who := "self-"
		if row.basis == parent {
			who = "parental "
		}
		capacity := row.capacity
		if capacity == "" {
			capacity = "blank"
		}
		for ri, r := range referred {
			for si, sg := range signed {
				var codes []string
				out := OutcomeRegister
				if w := row.want[ri][si]; w != "" {
					codes, out = strings.Split(w, ","), OutcomeQuery
				}
				cases = append(cases, assessCase{
					name: fmt.Sprintf("%sconsent, capacity %s, signed %s the 16th birthday, referred %s it", who, capacity, sg.when, r.when),
					mutate: all(dob("2010-11-22"), consent,
						set(parser.Consent, "signed_date", sg.date), set(parser.Referral, "referral_date", r.date)),
					want:  out,
					codes: codes,
				})
			}
		}
	}
	// A reply completes or corrects the case's forms: the consent held
	// on the case is judged on its own signing date all the same.
	earlier := func(in *Input) { in.Earlier.Consent, in.Submission.Consent = in.Submission.Consent, nil }
	return append(cases,
		assessCase{"self-consent signed at 15 held on the case, referral after the birthday in the reply",
			all(dob("2010-11-22"), selfConsent(parser.CapacityYes), set(parser.Consent, "signed_date", "2026-11-21"),
				set(parser.Referral, "referral_date", "2026-11-24"), earlier),
			OutcomeQuery, []string{under16}},
		assessCase{"self-consent signed again on the birthday replaces the one signed at 15",
			all(dob("2010-11-22"), selfConsent(parser.CapacityYes), set(parser.Referral, "referral_date", "2026-11-24"), func(in *Input) {
				old := *in.Submission.Consent
				old.Values = maps.Clone(old.Values)
				old.Values["signed_date"] = "2026-11-21"
				in.Earlier.Consent = &old
				in.Submission.Consent.Values["signed_date"] = "2026-11-22"
			}),
			OutcomeRegister, nil},
	)
}

func TestAssess(t *testing.T) {
	for _, tc := range assessCases() {
		t.Run(tc.name, func(t *testing.T) { checkAssessCase(t, tc) })
	}
}

// checkAssessCase assesses tc's input and checks its outcome and codes,
// each reported once; it returns the decision for further checks.
func checkAssessCase(t *testing.T, tc assessCase) Decision {
	t.Helper()
	in := validInput()
	if tc.mutate != nil {
		tc.mutate(&in)
	}
	d := Assess(in)
	got := slices.Sorted(slices.Values(d.Codes()))
	want := slices.Sorted(slices.Values(tc.codes))
	if d.Outcome != tc.want || !slices.Equal(got, want) {
		t.Errorf("Assess = %s %v, want %s %v\nmessages:\n%s", d.Outcome, d.Codes(), tc.want, tc.codes, messages(d))
	}
	if len(d.Reasons) != len(slices.Compact(got)) {
		t.Errorf("a code is reported twice: %v", d.Codes())
	}
	return d
}

func messages(d Decision) string {
	var b strings.Builder
	for _, r := range d.Reasons {
		b.WriteString("  " + r.Code + ": " + r.Message + "\n")
	}
	return b.String()
}

// Every field FORMS.md marks required is reported by its own code when
// blank, on each form.
func TestAssessEveryRequiredField(t *testing.T) {
	for _, k := range []parser.FormKind{parser.Referral, parser.Consent} {
		for _, spec := range parser.Fields(k) {
			if !spec.Required {
				continue
			}
			t.Run(string(k)+"/"+spec.Name, func(t *testing.T) {
				in := validInput()
				delete(form(&in, k).Values, spec.Name)
				// A field on both forms (cyp_dob) blank on one form only is
				// missing there; the forms are not said to differ.
				want := []string{PrefixMissingField + spec.Name}
				d := Assess(in)
				if d.Outcome != OutcomeQuery || !slices.Equal(d.Codes(), want) {
					t.Errorf("blank %s: got %s %v, want query %v\n%s", spec.Name, d.Outcome, d.Codes(), want, messages(d))
				}
			})
		}
	}
}

// One query lists everything the referrer must fix.
func TestAssessReportsEverythingAtOnce(t *testing.T) {
	in := validInput()
	ref, con := in.Submission.Referral, in.Submission.Consent
	delete(ref.Values, "cyp_postcode")
	ref.Values["referrer_email"] = "not an address"
	ref.Values["rag_rating"] = "Blue"
	delete(con.Values, "signature")
	con.Values["factsheet_given"] = "false"
	con.Values["cyp_nhs_number"] = "9995628198"
	d := Assess(in)
	want := []string{
		"missing_field:cyp_postcode", "invalid_field:referrer_email", "blue_without_admission",
		"missing_field:inpatient_hospital", "missing_field:admission_date", "missing_field:signature",
		"factsheet_not_given", "consent_mismatch",
	}
	if d.Outcome != OutcomeQuery || !slices.Equal(slices.Sorted(slices.Values(d.Codes())), slices.Sorted(slices.Values(want))) {
		t.Fatalf("got %s %v, want query %v", d.Outcome, d.Codes(), want)
	}
	// Referral problems come in the order the form prints them.
	codes := d.Codes()
	if slices.Index(codes, "missing_field:cyp_postcode") > slices.Index(codes, "invalid_field:referrer_email") {
		t.Errorf("postcode (printed first) reported after referrer email: %v", codes)
	}
}

// TestAssessSharedLinksSaidOnce: both forms shared as links give two
// missing-form reasons, and the word about links comes once, with the
// first.
func TestAssessSharedLinksSaidOnce(t *testing.T) {
	in := validInput()
	in.Submission.Referral, in.Submission.Consent = nil, nil
	in.Submission.SharedLinks = []string{"OneDrive or SharePoint", "Google Drive"}
	d := Assess(in)
	if d.Outcome != OutcomeQuery {
		t.Fatalf("outcome %s, want query", d.Outcome)
	}
	said := 0
	for _, r := range d.Reasons {
		if strings.Contains(r.Message, "OneDrive or SharePoint or Google Drive, which we cannot open") {
			said++
		}
	}
	if said != 1 || !slices.Contains(d.Codes(), "missing_referral_form") || !slices.Contains(d.Codes(), "missing_consent_form") {
		t.Errorf("links said %d times in %v", said, d.Codes())
	}
}

func TestAssessMessagesNameTheChildAndTheForm(t *testing.T) {
	// Tomasz turns 16 on 22 November 2026.
	tomasz := all(set(parser.Referral, "cyp_first_names", "Tomasz"), set(parser.Consent, "cyp_full_name", "Tomasz Chambers"), dob("2010-11-22"))
	tests := []struct {
		name   string
		mutate func(*Input)
		code   string
		want   []string // substrings of the message
		absent []string
	}{
		{"self-consent under 16", func(in *Input) {
			in.Submission.Referral.Values["cyp_first_names"] = "Evie"
			selfConsent(parser.CapacityYes)(in)
		}, "consent_self_under_16",
			[]string{"The consent form was signed by Evie, but Evie is 13, so a parent or carer with parental responsibility needs to sign it."}, nil},
		{"parent for a capable 16-year-old", func(in *Input) {
			in.Submission.Referral.Values["cyp_known_as"] = "Sam"
			dob("2010-05-01")(in)
			in.Submission.Consent.Values["yp_has_capacity"] = "Yes"
		}, "consent_parent_for_capable_16_plus",
			[]string{"signed by a parent or carer, but Sam is 16 and able to decide for themselves, so Sam needs to sign it."}, nil},
		{"NHS number on the referral form", set(parser.Referral, "cyp_nhs_number", "9993149587"), "invalid_nhs_number",
			[]string{`"NHS number" on the referral form`}, []string{"consent form"}},
		{"date of birth blank on both forms", all(del(parser.Referral, "cyp_dob"), del(parser.Consent, "cyp_dob")), "missing_field:cyp_dob",
			[]string{`"Date of birth" on the referral form and the consent form`}, nil},
		{"label, not canonical name", del(parser.Referral, "mh_high_risk_admission"), "missing_field:mh_high_risk_admission",
			[]string{`"At high risk of admission to a mental health hospital"`}, []string{"mh_"}},
		{"no first name: the child", func(in *Input) {
			delete(in.Submission.Referral.Values, "cyp_first_names")
			delete(in.Submission.Consent.Values, "cyp_full_name")
			in.Submission.Consent.Values["factsheet_given"] = "false"
			in.Submission.Referral.Values["mh_high_risk_admission"] = "false"
		}, "not_eligible_risk", []string{"says the child is not at high risk"}, nil},
		{"services", del(parser.Referral, "svc_health"), "missing_field:svc_health",
			[]string{`at least one of "Health services involved", "Education setting" or "Social care involvement"`}, nil},
		{"unsupported attachment names the file", func(in *Input) {
			in.Submission.Referral, in.Submission.Consent = nil, nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "winmail.dat", Kind: parser.KindUnsupported}}
		}, "unsupported_attachment", []string{`"winmail.dat"`, "PDF or Word"}, nil},
		{"a form in the old Word format: save it as .docx or PDF", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "consent.doc", Kind: parser.KindUnsupported, Detected: "ole"}}
		}, "unsupported_attachment", []string{`"consent.doc"`, "old Word format (.doc)", "save the forms as Word (.docx) or PDF"}, []string{"Outlook"}},
		{"a form in Rich Text: save it as .docx or PDF", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "referral.rtf", Kind: parser.KindUnsupported, Detected: "rtf"}}
		}, "unsupported_attachment", []string{`"referral.rtf"`, "Rich Text Format (.rtf)", "save the forms as Word (.docx) or PDF"}, []string{"Outlook"}},
		{"a form in LibreOffice's format: save it as Word or PDF", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "DSR referral.odt", Kind: parser.KindUnsupported, Detected: "odf"}}
		}, "unsupported_attachment", []string{`"DSR referral.odt"`, "LibreOffice's own format (.odt)", "save the forms as Word (.docx) or PDF"}, []string{"Outlook"}},
		{"a form printed to XPS: print it to PDF", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "referral.oxps", Kind: parser.KindUnsupported, Detected: "xps"}}
		}, "unsupported_attachment", []string{`"referral.oxps"`, "an XPS print (.xps)", "Microsoft Print to PDF"}, []string{"Outlook"}},
		{"a form in Apple Pages' format: export it as Word or PDF", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "DSR referral.pages", Kind: parser.KindUnsupported, Detected: "pages"}}
		}, "unsupported_attachment", []string{`"DSR referral.pages"`, "Apple Pages' own format (.pages)", "export the forms as Word (.docx) or PDF"}, []string{"Outlook"}},
		{"an unreadable form says which attachment, why, and which form it may be", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "consent-scan.pdf", Kind: parser.KindUnreadable, Error: "the PDF has no text layer: it looks like a scan."}}
		}, "unreadable_attachment", []string{`We could not read the attachment "consent-scan.pdf" (the PDF has no text layer: it looks like a scan), which may be the consent form`},
			[]string{"missing", "find the consent form"}},
		{"forms shared as a OneDrive link: the query says a link cannot be opened", func(in *Input) {
			in.Submission.Consent = nil
			in.Submission.SharedLinks = []string{"OneDrive or SharePoint"}
		}, "missing_consent_form", []string{"find the consent form", "links to files on OneDrive or SharePoint, which we cannot open", `"Attach as copy"`}, nil},
		{"no link, no word of links", func(in *Input) { in.Submission.Consent = nil }, "missing_consent_form",
			[]string{"Please attach the signed DSR consent form."}, []string{"link"}},
		{"a file name with an NHS number is not echoed", func(in *Input) {
			in.Submission.Referral = nil
			in.Submission.Attachments = []parser.Attachment{{Filename: "referral 9993149586.pdf", Kind: parser.KindUnreadable}}
		}, "unreadable_attachment", []string{"We could not read an attachment"}, []string{"9993149586"}},
		{"consent mismatch says what differs", all(set(parser.Consent, "cyp_dob", "2013-04-05"), set(parser.Consent, "cyp_nhs_number", "9995628198")),
			"consent_mismatch", []string{"the date of birth and NHS number do not match"}, []string{"2013", "9995628198"}},
		{"unreadable value is not echoed", invalid(parser.Referral, "cyp_dob", "04/13/2013"), "invalid_field:cyp_dob",
			[]string{`"Date of birth" on the referral form is not a date we can read`}, []string{"04/13/2013"}},
		{"choice lists the options", invalid(parser.Referral, "rag_rating", "Purple"), "invalid_field:rag_rating",
			[]string{`"Blue", "Red", "Amber" or "Green"`}, []string{"Purple"}},

		// Consent around the 16th birthday (22 November 2026): the message
		// says which date made the difference, and never how far it was
		// from the birthday, which would give the date of birth away.
		{"self-consent signed at 15, referred at 16", all(tomasz, selfConsent(parser.CapacityYes),
			set(parser.Consent, "signed_date", "2026-11-21"), set(parser.Referral, "referral_date", "2026-11-24")),
			"consent_self_under_16",
			[]string{"signed by Tomasz on 21 November 2026, before turning 16", "Please ask Tomasz to sign it again"},
			[]string{"2010", "22 November", "day before", "days", "is 16"}},
		{"self-consent signed at 16, referred at 15", all(tomasz, selfConsent(parser.CapacityYes),
			set(parser.Consent, "signed_date", "2026-11-23"), set(parser.Referral, "referral_date", "2026-11-21")),
			"consent_self_under_16",
			[]string{"signed by Tomasz after turning 16, but Tomasz was 15 on the date of referral", "on or after Tomasz's 16th birthday"},
			[]string{"2010", "22 November", "day before", "day after"}},
		{"self-consent at 15 on both dates keeps its message", all(tomasz, selfConsent(parser.CapacityYes),
			set(parser.Consent, "signed_date", "2026-11-20"), set(parser.Referral, "referral_date", "2026-11-21")),
			"consent_self_under_16",
			[]string{"The consent form was signed by Tomasz, but Tomasz is 15, so a parent or carer with parental responsibility needs to sign it."}, nil},
		{"parent signed before the birthday, referred after", all(tomasz, set(parser.Consent, "yp_has_capacity", "Yes"),
			set(parser.Consent, "signed_date", "2026-11-21"), set(parser.Referral, "referral_date", "2026-11-24")),
			"consent_parent_for_capable_16_plus",
			[]string{"signed by a parent or carer on 21 November 2026, before Tomasz turned 16, but Tomasz is 16 on the date of referral and able to decide for themselves, so Tomasz needs to sign it."},
			[]string{"2010", "22 November", "day before"}},
		{"parent signed after the birthday, referred before", all(tomasz, set(parser.Consent, "yp_has_capacity", "Not assessed"),
			set(parser.Consent, "signed_date", "2026-11-23"), set(parser.Referral, "referral_date", "2026-11-21")),
			"consent_parent_for_capable_16_plus",
			[]string{"signed by a parent or carer on 23 November 2026, when Tomasz was already 16 and capacity to consent was not assessed", "please record it"},
			[]string{"2010", "22 November", "day after"}},
		{"capacity asked for when 16 only on the signing date", all(tomasz, del(parser.Consent, "yp_has_capacity"),
			set(parser.Consent, "signed_date", "2026-11-23"), set(parser.Referral, "referral_date", "2026-11-21")),
			"missing_field:yp_has_capacity",
			[]string{"Tomasz was 16 when the consent form was signed, so please answer"}, []string{"is 15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.mutate(&in)
			d := Assess(in)
			i := slices.Index(d.Codes(), tt.code)
			if i < 0 {
				t.Fatalf("no %s in %v", tt.code, d.Codes())
			}
			msg := d.Reasons[i].Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(msg, a) {
					t.Errorf("message %q contains %q", msg, a)
				}
			}
		})
	}
}

// formsCodes reads the reason codes from the copy of FORMS.md's table.
func formsCodes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/assess/FORMS.md")
	if err != nil {
		t.Fatalf("read FORMS.md copy: %v", err)
	}
	re := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+:?)(?:<field>)?` \\| (register|query|review|ignore) \\|")
	var codes []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		codes = append(codes, m[1])
	}
	if len(codes) < 20 {
		t.Fatalf("found only %d codes in FORMS.md's table: %v", len(codes), codes)
	}
	return codes
}

// The table covers every code of FORMS.md (duplicate_message and
// sender_not_trusted come from the store and the intake, and have their
// own tests), and each code's outcome is the one FORMS.md gives it.
func TestAssessCoversEveryFormsCode(t *testing.T) {
	b, _ := os.ReadFile("testdata/assess/FORMS.md")
	seen := map[string]bool{}
	for _, tc := range assessCases() {
		in := validInput()
		if tc.mutate != nil {
			tc.mutate(&in)
		}
		for _, c := range Assess(in).Codes() {
			if i := strings.IndexByte(c, ':'); i >= 0 {
				c = c[:i+1]
			}
			seen[c] = true
		}
	}
	for _, code := range formsCodes(t) {
		if code == CodeDuplicateMessage {
			continue
		}
		if !seen[code] {
			t.Errorf("no test case produces %s", code)
		}
		re := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(code) + "(?:<field>)?` \\| ([a-z]+) \\|")
		m := re.FindSubmatch(b)
		probe := code
		if strings.HasSuffix(code, ":") {
			probe += "x"
		}
		if m == nil || string(m[1]) != string(outcomeOf(probe)) {
			t.Errorf("%s: outcome %s, FORMS.md says %s", code, outcomeOf(probe), m)
		}
	}
}

func TestDuplicateDecision(t *testing.T) {
	d := DuplicateDecision()
	if d.Outcome != OutcomeIgnore || !slices.Equal(d.Codes(), []string{"duplicate_message"}) || d.Reasons[0].Message == "" {
		t.Errorf("DuplicateDecision() = %+v", d)
	}
}

func TestNewDecisionPrecedence(t *testing.T) {
	r := func(code string) Reason { return Reason{Code: code, Message: "m"} }
	tests := []struct {
		reasons []Reason
		want    Outcome
	}{
		{nil, OutcomeRegister},
		{[]Reason{r("missing_field:cyp_surname")}, OutcomeQuery},
		{[]Reason{r("missing_field:cyp_surname"), r("no_reply")}, OutcomeReview},
		{[]Reason{r("best_interest_decision"), r("factsheet_not_given")}, OutcomeReview},
		{[]Reason{r("unreadable_attachment"), r("auto_reply")}, OutcomeIgnore},
		{[]Reason{r("a_code_from_a_later_version")}, OutcomeQuery},
	}
	for _, tt := range tests {
		d := NewDecision(tt.reasons...)
		if d.Outcome != tt.want || len(d.Reasons) != len(tt.reasons) || d.Reasons == nil {
			t.Errorf("NewDecision(%v) = %s with %d reasons, want %s with all of them", tt.reasons, d.Outcome, len(d.Reasons), tt.want)
		}
	}
}

func TestCurrent(t *testing.T) {
	r1, r2, c1 := validReferral(), validReferral(), validConsent()
	got := Current(&parser.Submission{Referral: r2}, CaseForms{Referral: r1, Consent: c1})
	if got.Referral != r2 || got.Consent != c1 {
		t.Errorf("Current kept %p/%p, want the new referral %p and the earlier consent %p", got.Referral, got.Consent, r2, c1)
	}
	if got := Current(nil, CaseForms{Referral: r1}); got.Referral != r1 || got.Consent != nil {
		t.Errorf("Current(nil, earlier) = %+v", got)
	}
}

func TestAgeOn(t *testing.T) {
	tests := []struct {
		dob, on string
		want    int
	}{
		{"2010-11-20", "2026-11-20", 16},
		{"2010-11-21", "2026-11-20", 15},
		{"2008-02-29", "2026-02-28", 17}, // non-leap year: birthday is 1 March
		{"2008-02-29", "2026-03-01", 18},
		{"2008-02-29", "2024-02-28", 15},
		{"2008-02-29", "2024-02-29", 16}, // leap year: the day itself
		{"2008-02-29", "2100-02-28", 91}, // 2100 is not a leap year
		{"2008-02-29", "2100-03-01", 92},
		{"2013-04-04", "2013-04-04", 0},
		{"2012-12-31", "2026-01-01", 13},
	}
	for _, tt := range tests {
		if got := ageOn(date(tt.dob), date(tt.on)); got != tt.want {
			t.Errorf("ageOn(%s, %s) = %d, want %d", tt.dob, tt.on, got, tt.want)
		}
	}
}

func TestSameName(t *testing.T) {
	tests := []struct {
		full, first, sur, known string
		want                    bool
	}{
		{"Zoë Ann Smith-Jones", "Zoë Ann", "Smith-Jones", "", true},
		{"zoe smith jones", "Zoë Ann", "Smith-Jones", "", true},
		{"Jones Smith Zoe", "Zoë Ann", "Smith-Jones", "", true},
		{"Zo Smith-Jones", "Zoë Ann", "Smith-Jones", "Zo", true},
		{"ZOË  SMITH–JONES", "Zoë", "Smith-Jones", "", true}, // an en dash
		{"Siobhán Nguyễn", "Siobhan", "Nguyen", "", true},
		{"Zoe Smith", "Zoë Ann", "Smith-Jones", "", false},
		{"Zoe Smith-Jones-Brown", "Zoë Ann", "Smith-Jones", "", false},
		{"Smith-Jones", "Zoë Ann", "Smith-Jones", "", false},
		{"Chloe Smith-Jones", "Zoë Ann", "Smith-Jones", "", false},
		{"", "Zoë", "Smith", "", false},
	}
	for _, tt := range tests {
		if got := SameName(tt.full, tt.first, tt.sur, tt.known); got != tt.want {
			t.Errorf("SameName(%q, %q, %q, %q) = %v, want %v", tt.full, tt.first, tt.sur, tt.known, got, tt.want)
		}
	}
}

func TestValidPostcode(t *testing.T) {
	for _, s := range []string{"BR1 1AA", "br11aa", " BR2  9HE ", "SW1A 1AA", "W1A 0AX", "M1 1AE", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "gir 0aa"} {
		if !ValidPostcode(s) {
			t.Errorf("ValidPostcode(%q) = false", s)
		}
	}
	for _, s := range []string{"", "BR1", "1BR 1AA", "BR1 1A", "BR1 AAA", "BR1 1AAA", "BRR1 1AA", "BR1-1AA!", "12345"} {
		if ValidPostcode(s) {
			t.Errorf("ValidPostcode(%q) = true", s)
		}
	}
}

func BenchmarkAssess(b *testing.B) {
	in := validInput()
	in.Submission.Consent.Values["cyp_full_name"] = "Zoë Chambers"
	in.Submission.Referral.Values["cyp_first_names"] = "Zoe"
	b.ReportAllocs()
	for b.Loop() {
		if d := Assess(in); d.Outcome != OutcomeRegister {
			b.Fatalf("benchmark input is not valid: %v", d.Codes())
		}
	}
}

func TestWithdrawalRequested(t *testing.T) {
	tests := []struct {
		subject, body string
		want          bool
	}{
		{"Withdrawal of consent", "", true},
		{"Consent withdrawn", "", true},
		{"", "Please withdraw my consent.", true},
		{"", "I'm writing to withdraw consent for my daughter to be on the DSR.", true},
		{"", "We wish to withdraw our consent with immediate effect.", true},
		{"", "Please remove me from the register.", true},
		{"", "Can you take him off the DSR please", true},
		{"", "Please remove Zoë’s details from the register", true},
		{"", "We no longer consent to this.", true},
		{"", "Sam no longer wants to be on the register.", true},
		{"", "I am revoking my consent.", true},
		{"", "Hello, can you withdraw my consent please?", true},
		{"", "The family were told they can withdraw consent at any time.", false},
		{"", "Dad is aware of his right to withdraw consent.", false},
		{"", "If you wish to withdraw consent, email the DSR inbox.", false},
		{"", "Please find the forms attached.", false},
		{"", "Thanks.\n\nOn Mon, 23 Nov 2026 at 10:00, DSR wrote:\nYou may withdraw consent", false},
		{"", "Thanks.\n> please remove me from the register", false},
		{"Re: DSR referral", "Consent form attached, signed by mum.", false},
	}
	for _, tt := range tests {
		sub := &parser.Submission{Subject: tt.subject, Body: tt.body}
		if got := withdrawalRequested(sub); got != tt.want {
			t.Errorf("withdrawalRequested(%q, %q) = %v, want %v", tt.subject, tt.body, got, tt.want)
		}
	}
}
