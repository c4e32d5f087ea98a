package parser

import "slices"

// FormKind names one of the two DSR forms.
type FormKind string

const (
	Referral FormKind = "referral"
	Consent  FormKind = "consent"
)

// FieldType says how a field's text is normalised.
type FieldType int

const (
	Text      FieldType = iota // trimmed text; multi-line kept with "\n"
	Date                       // UK date, normalised to YYYY-MM-DD
	YesNo                      // normalised to "true" or "false"
	Choice                     // normalised to the option text FORMS.md gives
	NHSNumber                  // normalised to its digits (10 when well formed)
)

// FieldSpec is one canonical field of a form as FORMS.md defines it.
type FieldSpec struct {
	Name    string    // canonical name, e.g. "cyp_nhs_number"
	Label   string    // the printed label on the default form
	Type    FieldType // how the value is normalised
	Choices []string  // for Choice fields: the allowed options
	// Required is true when the field must always be filled; conditional
	// requirements (Blue needs a hospital, a best interest decision needs a
	// decision maker) are rules, and live in register.
	Required bool
}

var (
	genders          = []string{"Male", "Female", "Non-binary", "Other", "Prefer not to say"}
	livingSituations = []string{"With family", "Foster care", "Kinship care", "Residential placement", "Residential school", "Mental health hospital", "Other"}
	ragRatings       = []string{"Blue", "Red", "Amber", "Green"}
	capacityChoices  = []string{"Yes", "No", "Not assessed"}
)

// RAGRatings are the ratings a child can hold, in the register's order,
// most urgent first: the referral form's choices, the ratings the store
// accepts and the digest counts, and what the review pages offer.
func RAGRatings() []string { return slices.Clone(ragRatings) }

// Consent bases, as printed on the consent form.
const (
	BasisYoungPerson    = "Young person (16 or over, with capacity)"
	BasisParental       = "Person with parental responsibility"
	BasisBestInterest   = "Best interest decision"
	CapacityYes         = "Yes"
	CapacityNo          = "No"
	CapacityNotAssessed = "Not assessed"
)

var consentBases = []string{BasisYoungPerson, BasisParental, BasisBestInterest}

// ReferralFields is the referral form (DSR-REFERRAL) in the order it prints.
var ReferralFields = []FieldSpec{
	{Name: "referral_date", Label: "Date of referral", Type: Date, Required: true},
	{Name: "cyp_first_names", Label: "First name(s)", Type: Text, Required: true},
	{Name: "cyp_surname", Label: "Surname", Type: Text, Required: true},
	{Name: "cyp_known_as", Label: "Known as", Type: Text},
	{Name: "cyp_dob", Label: "Date of birth", Type: Date, Required: true},
	{Name: "cyp_nhs_number", Label: "NHS number", Type: NHSNumber, Required: true},
	{Name: "cyp_gender", Label: "Gender", Type: Choice, Choices: genders, Required: true},
	{Name: "cyp_ethnicity", Label: "Ethnicity", Type: Text, Required: true},
	{Name: "cyp_first_language", Label: "First language", Type: Text},
	{Name: "cyp_address", Label: "Address", Type: Text, Required: true},
	{Name: "cyp_postcode", Label: "Postcode", Type: Text, Required: true},
	{Name: "cyp_living_situation", Label: "Living situation", Type: Choice, Choices: livingSituations, Required: true},
	{Name: "cyp_local_authority", Label: "Responsible local authority", Type: Text, Required: true},
	{Name: "cyp_gp_practice", Label: "GP practice", Type: Text},
	{Name: "dx_learning_disability", Label: "Diagnosed learning disability", Type: YesNo, Required: true},
	{Name: "dx_autism", Label: "Diagnosed autism", Type: YesNo, Required: true},
	{Name: "dx_details", Label: "Diagnosis details (what, when, by whom)", Type: Text},
	{Name: "mh_concern", Label: "Mental health concern", Type: Text, Required: true},
	{Name: "mh_high_risk_admission", Label: "At high risk of admission to a mental health hospital", Type: YesNo, Required: true},
	{Name: "placement_breakdown_risk", Label: "At high risk of family or placement breakdown", Type: YesNo},
	{Name: "rag_rating", Label: "Proposed RAG rating", Type: Choice, Choices: ragRatings, Required: true},
	{Name: "rag_reason", Label: "Reason for RAG rating", Type: Text, Required: true},
	{Name: "inpatient_hospital", Label: "Hospital (if an inpatient)", Type: Text},
	{Name: "admission_date", Label: "Date of admission", Type: Date},
	{Name: "svc_health", Label: "Health services involved", Type: Text},
	{Name: "svc_education", Label: "Education setting", Type: Text},
	{Name: "svc_social_care", Label: "Social care involvement", Type: Text},
	{Name: "svc_other", Label: "Other services", Type: Text},
	{Name: "needs_health", Label: "Health needs", Type: Text, Required: true},
	{Name: "needs_education", Label: "Education needs", Type: Text, Required: true},
	{Name: "needs_social_care", Label: "Social care needs", Type: Text, Required: true},
	{Name: "plan_ehcp", Label: "Education, Health and Care Plan", Type: YesNo},
	{Name: "plan_pbs", Label: "Positive Behaviour Support plan", Type: YesNo},
	{Name: "plan_crisis", Label: "Crisis / safety plan", Type: YesNo},
	{Name: "plan_cin_cp", Label: "Child in Need / Child Protection plan", Type: YesNo},
	{Name: "plan_other", Label: "Other care plans", Type: Text},
	{Name: "parent_name", Label: "Parent / carer name", Type: Text, Required: true},
	{Name: "parent_relationship", Label: "Relationship to child", Type: Text, Required: true},
	{Name: "parent_has_pr", Label: "Has parental responsibility", Type: YesNo, Required: true},
	{Name: "parent_phone", Label: "Parent / carer telephone", Type: Text},
	{Name: "parent_email", Label: "Parent / carer email", Type: Text},
	{Name: "referrer_name", Label: "Referrer name", Type: Text, Required: true},
	{Name: "referrer_role", Label: "Role", Type: Text, Required: true},
	{Name: "referrer_organisation", Label: "Organisation", Type: Text, Required: true},
	{Name: "referrer_email", Label: "Referrer email", Type: Text, Required: true},
	{Name: "referrer_phone", Label: "Referrer telephone", Type: Text, Required: true},
}

// ConsentFields is the consent form (DSR-CONSENT) in the order it prints.
var ConsentFields = []FieldSpec{
	{Name: "cyp_full_name", Label: "Name of child / young person", Type: Text, Required: true},
	{Name: "cyp_dob", Label: "Date of birth", Type: Date, Required: true},
	{Name: "cyp_nhs_number", Label: "NHS number", Type: NHSNumber},
	{Name: "consent_basis", Label: "Consent is given by", Type: Choice, Choices: consentBases, Required: true},
	{Name: "yp_has_capacity", Label: "Young person has capacity to consent", Type: Choice, Choices: capacityChoices},
	{Name: "consent_given", Label: "I consent to inclusion on the DSR", Type: YesNo, Required: true},
	{Name: "factsheet_given", Label: "I have been given the DSR fact sheet", Type: YesNo, Required: true},
	{Name: "share_health", Label: "Share with: Health", Type: YesNo},
	{Name: "share_education", Label: "Share with: Education", Type: YesNo},
	{Name: "share_social_care", Label: "Share with: Social Care", Type: YesNo},
	{Name: "share_select", Label: "Share with: SELECT key worker programme", Type: YesNo},
	{Name: "share_psg", Label: "Share with: Positive Support Group", Type: YesNo},
	{Name: "signatory_name", Label: "Name of person giving consent", Type: Text},
	{Name: "signatory_relationship", Label: "Relationship to child", Type: Text},
	{Name: "signatory_has_pr", Label: "Has parental responsibility", Type: YesNo},
	{Name: "signature", Label: "Signature (typed name accepted)", Type: Text},
	{Name: "signed_date", Label: "Date", Type: Date},
	{Name: "bid_decision_maker", Label: "Best interest decision made by (name)", Type: Text},
	{Name: "bid_role", Label: "Role of decision maker", Type: Text},
	{Name: "bid_date", Label: "Date of decision", Type: Date},
	{Name: "bid_reason", Label: "Significant concern and reason for the decision", Type: Text},
}

// Fields returns the specs of a form kind.
func Fields(k FormKind) []FieldSpec {
	if k == Consent {
		return ConsentFields
	}
	return ReferralFields
}

// Spec returns the spec of the canonical field name on form k.
func Spec(k FormKind, name string) (FieldSpec, bool) {
	for _, f := range Fields(k) {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}
