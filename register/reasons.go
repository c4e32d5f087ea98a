package register

import (
	"strings"

	"dsr-intake/parser"
)

// ReasonInfo is everything the service says about one reason code, in one
// place: the outcome it calls for, how a coordinator's page names it, the
// general sentence a referrer reads (the assessor writes the particular
// message of a case, naming the child and the field, from the same
// meaning), and the form fields it is about, which the case page marks.
type ReasonInfo struct {
	// Code is the reason code; for a field code it is the prefix
	// ("missing_field:") and Field is set on what ReasonFor returns.
	Code    string
	Outcome Outcome
	// Label is the coordinator's plain words: "The young person is 18 or
	// over". For a field code it ends with the field's printed label.
	Label string
	// Referrer is the plain words a referrer reads when no particular
	// message is at hand (the notice of how a referral ended).
	Referrer string
	// Fields are the canonical fields the reason is about.
	Fields []string
	// Field is the canonical field a field code names.
	Field string
}

// reasonTable is the one table of reason codes. A code the assessor or the
// store reports must be here with all of its parts (TestReasonTable); the
// docs' table of codes (docs/forms.md) is checked against the same codes.
var reasonTable = []ReasonInfo{
	{Code: CodeMissingReferralForm, Outcome: OutcomeQuery, Label: "The referral form is missing",
		Referrer: "We could not find the referral form. Please attach the completed DSR referral form."},
	{Code: CodeMissingConsentForm, Outcome: OutcomeQuery, Label: "The consent form is missing",
		Referrer: "We could not find the consent form. Please attach the signed DSR consent form."},
	{Code: PrefixMissingField, Outcome: OutcomeQuery, Label: "Missing:",
		Referrer: "A field the register needs was not filled in."},
	{Code: PrefixInvalidField, Outcome: OutcomeQuery, Label: "Not valid:",
		Referrer: "A field could not be read as the form asks. Please check it."},
	{Code: PrefixDateInFuture, Outcome: OutcomeQuery, Label: "Date in the future:",
		Referrer: "A date on the form is after today's date. Please check it."},
	{Code: CodeInvalidNHSNumber, Outcome: OutcomeQuery, Label: "The NHS number is not valid", Fields: []string{"cyp_nhs_number"},
		Referrer: "The NHS number is not a valid NHS number. An NHS number has 10 digits, as on an NHS letter or the GP record."},
	{Code: CodeConsentNotGiven, Outcome: OutcomeQuery, Label: "Consent was not given", Fields: []string{"consent_given"},
		Referrer: "The consent form says consent is not given. We can only add a child to the register with consent."},
	{Code: CodeFactsheetNotGiven, Outcome: OutcomeQuery, Label: "The fact sheet was not given", Fields: []string{"factsheet_given"},
		Referrer: "The consent form says the DSR fact sheet has not been given. Please share it and send the form again."},
	{Code: CodeConsentSelfUnder16, Outcome: OutcomeQuery, Label: "A young person under 16 signed their own consent", Fields: []string{"consent_basis", "cyp_dob", "signed_date"},
		Referrer: "A young person can only consent for themselves from 16; a parent or carer with parental responsibility needs to sign."},
	{Code: CodeConsentSelfWithoutCapacity, Outcome: OutcomeQuery, Label: "A young person without capacity signed their own consent", Fields: []string{"consent_basis", "yp_has_capacity"},
		Referrer: "A young person can only consent for themselves if they have capacity to; otherwise a parent or carer with parental responsibility needs to sign."},
	{Code: CodeConsentParentForCapable16, Outcome: OutcomeQuery, Label: "A parent consented for a capable young person of 16 or over", Fields: []string{"consent_basis", "yp_has_capacity", "cyp_dob"},
		Referrer: "At 16 or over a young person with capacity decides for themselves, so they need to sign the consent form."},
	{Code: CodeConsentSignatoryWithoutPR, Outcome: OutcomeQuery, Label: "The signatory does not have parental responsibility", Fields: []string{"signatory_has_pr"},
		Referrer: "The consent form needs to be signed by someone with parental responsibility."},
	{Code: CodeConsentMismatch, Outcome: OutcomeQuery, Label: "The consent form is for a different child", Fields: []string{"cyp_full_name", "cyp_dob", "cyp_nhs_number"},
		Referrer: "The consent form does not seem to be for the same child as the referral form. Please check both forms."},
	{Code: CodeUnsupportedAttachment, Outcome: OutcomeQuery, Label: "An attachment is in a format we cannot read",
		Referrer: "We could not open an attachment. Please send the forms again as PDF or Word attachments."},
	{Code: CodeBlueWithoutAdmission, Outcome: OutcomeQuery, Label: "Rated Blue without a hospital admission", Fields: []string{"rag_rating", "inpatient_hospital", "admission_date"},
		Referrer: "A Blue rating is for a child in hospital, so please give the hospital and the date of admission."},
	{Code: CodeAge18OrOver, Outcome: OutcomeReview, Label: "The young person is 18 or over", Fields: []string{"cyp_dob", "referral_date"},
		Referrer: "The young person was 18 or over on the date of referral, and this register is for children and young people under 18."},
	{Code: CodeNotEligibleDiagnosis, Outcome: OutcomeReview, Label: "No learning disability or autism on the referral", Fields: []string{"dx_learning_disability", "dx_autism"},
		Referrer: "The referral does not record a diagnosed learning disability or autism, which this register is for."},
	{Code: CodeNotEligibleRisk, Outcome: OutcomeReview, Label: "No risk of admission or placement breakdown on the referral", Fields: []string{"mh_high_risk_admission", "placement_breakdown_risk"},
		Referrer: "The referral does not record a high risk of admission to a mental health hospital, which this register is for."},
	{Code: CodeBestInterestDecision, Outcome: OutcomeReview, Label: "Consent is a best interest decision: confirm it", Fields: []string{"consent_basis"},
		Referrer: "Consent is by a best interest decision, so a coordinator checks it first."},
	{Code: CodeUnreadableAttachment, Outcome: OutcomeReview, Label: "An attachment could not be read",
		Referrer: "We could not read an attachment, so a coordinator will look at it."},
	{Code: CodeConfirmScannedForm, Outcome: OutcomeReview, Label: "A form was read from a scan: confirm what was read",
		Referrer: "A form was sent as a scan or photo, so a coordinator will check what was read from it."},
	{Code: CodeSenderNotTrusted, Outcome: OutcomeReview, Label: "The sender could not be verified",
		Referrer: "We could not confirm where the email came from, so a coordinator will check it first."},
	{Code: CodeWithdrawalRequest, Outcome: OutcomeReview, Label: "A request to withdraw consent",
		Referrer: "The email asks for consent to be withdrawn, so a coordinator will deal with it."},
	{Code: CodeNoReply, Outcome: OutcomeReview, Label: "The referrer has not answered the query",
		Referrer: "We asked for more information and have not heard back."},
	{Code: CodeQueryNotDelivered, Outcome: OutcomeReview, Label: "Our query did not reach the referrer",
		Referrer: msgQueryNotDelivered()},
	{Code: "processing_failed", Outcome: OutcomeReview, Label: "The email could not be processed",
		Referrer: "The email could not be processed, so a coordinator will look at it."},
	{Code: CodeAutoReply, Outcome: OutcomeIgnore, Label: "An automatic reply",
		Referrer: "This is an automatic reply, so it needs no answer."},
	{Code: CodeDuplicateMessage, Outcome: OutcomeIgnore, Label: "The same email was received before",
		Referrer: "This email has already been received and dealt with."},
}

// reasonIndex finds a code's row.
var reasonIndex = func() map[string]int {
	m := make(map[string]int, len(reasonTable))
	for i, r := range reasonTable {
		m[r.Code] = i
	}
	return m
}()

// ReasonFor returns what the table says about a code; a field code
// ("missing_field:cyp_dob") gets its prefix's row with the field's label
// and name. ok is false for a code the table does not know, whose info
// is still readable (its words with the underscores taken out) and whose
// outcome is a query: never a silent register.
func ReasonFor(code string) (ReasonInfo, bool) {
	if i, ok := reasonIndex[code]; ok && !strings.HasSuffix(code, ":") {
		return reasonTable[i], true
	}
	if prefix, field, ok := strings.Cut(code, ":"); ok && field != "" {
		if i, ok := reasonIndex[prefix+":"]; ok {
			r := reasonTable[i]
			r.Field = field
			r.Fields = []string{field}
			r.Label += " " + FieldLabel(field)
			return r, true
		}
	}
	words := strings.ReplaceAll(code, "_", " ")
	return ReasonInfo{Code: code, Outcome: OutcomeQuery, Label: upper(words), Referrer: upper(words) + "."}, false
}

// FieldLabel is a canonical field's label as the forms print it, from
// either form.
func FieldLabel(name string) string {
	for _, list := range [][]parser.FieldSpec{parser.ReferralFields, parser.ConsentFields} {
		for _, f := range list {
			if f.Name == name {
				return f.Label
			}
		}
	}
	return strings.ReplaceAll(name, "_", " ")
}

// OutcomeWords is an outcome as a page says it, before the reasons.
func OutcomeWords(o Outcome) string {
	switch o {
	case OutcomeRegister:
		return "Added to the register"
	case OutcomeQuery:
		return "Referrer asked for more information"
	case OutcomeReview:
		return "Sent for review"
	case OutcomeIgnore:
		return "No action needed"
	case "":
		return "Not decided yet"
	}
	return upper(strings.ReplaceAll(string(o), "_", " "))
}

// Sentence says a decision in plain words: "Sent for review: the young
// person is 18 or over and consent is a best interest decision".
func Sentence(o Outcome, codes []string) string {
	s := OutcomeWords(o)
	if len(codes) == 0 {
		return s
	}
	labels := make([]string, len(codes))
	for i, c := range codes {
		r, _ := ReasonFor(c)
		labels[i] = lowerFirst(r.Label)
	}
	return s + ": " + joinAnd(labels, "and")
}

// lowerFirst lowers the first letter of a label that starts a sentence,
// unless the first word is an abbreviation ("NHS", "DSR").
func lowerFirst(s string) string {
	first, _, _ := strings.Cut(s, " ")
	if len(first) > 1 && strings.ToUpper(first) == first {
		return s
	}
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
