package register

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	"dsr-intake/parser"
)

// Reason codes, as FORMS.md "Outcomes and reason codes" defines them. The
// field codes are a prefix and a canonical field name
// ("missing_field:cyp_nhs_number").
const (
	CodeMissingReferralForm        = "missing_referral_form"
	CodeMissingConsentForm         = "missing_consent_form"
	PrefixMissingField             = "missing_field:"
	PrefixInvalidField             = "invalid_field:"
	PrefixDateInFuture             = "date_in_future:"
	CodeInvalidNHSNumber           = "invalid_nhs_number"
	CodeConsentNotGiven            = "consent_not_given"
	CodeFactsheetNotGiven          = "factsheet_not_given"
	CodeConsentSelfUnder16         = "consent_self_under_16"
	CodeConsentSelfWithoutCapacity = "consent_self_without_capacity"
	CodeConsentParentForCapable16  = "consent_parent_for_capable_16_plus"
	CodeConsentSignatoryWithoutPR  = "consent_signatory_without_pr"
	CodeConsentMismatch            = "consent_mismatch"
	CodeUnsupportedAttachment      = "unsupported_attachment"
	CodeBlueWithoutAdmission       = "blue_without_admission"
	CodeAge18OrOver                = "age_18_or_over"
	CodeNotEligibleDiagnosis       = "not_eligible_diagnosis"
	CodeNotEligibleRisk            = "not_eligible_risk"
	CodeBestInterestDecision       = "best_interest_decision"
	CodeUnreadableAttachment       = "unreadable_attachment"
	CodeSenderNotTrusted           = "sender_not_trusted"
	CodeWithdrawalRequest          = "withdrawal_request"
	CodeNoReply                    = "no_reply"
	CodeAutoReply                  = "auto_reply"
	CodeDuplicateMessage           = "duplicate_message"
	CodeConfirmScannedForm         = "confirm_scanned_form"
	// CodeQueryNotDelivered is not Assess's: the outbox gives it to a case
	// whose query it gave up sending (store.RecordSendFailure).
	CodeQueryNotDelivered = "query_not_delivered"
)

// Input is everything a decision depends on; Assess does no I/O.
type Input struct {
	Submission *parser.Submission
	// Earlier are the forms the case already holds; zero when the email
	// starts a new case.
	Earlier CaseForms
	// Today is the date "in the future" is measured against; the time of
	// day is ignored. Zero means the current date, which only tests and
	// one-off tools should rely on.
	Today time.Time
	// Untrusted is non-empty (a short why) when the intake found the
	// sender untrusted.
	Untrusted string
}

// Assess decides what happens to one email: one outcome and every reason
// that applies. Completeness is reported all at once, so a query lists
// everything the referrer must fix.
func Assess(in Input) Decision {
	sub := in.Submission
	if sub == nil {
		sub = &parser.Submission{}
	}
	// A mail loop is worse than a missed auto reply: nothing else matters.
	if sub.AutoReply || sub.List {
		return NewDecision(Reason{Code: CodeAutoReply, Message: msgAutoReply()})
	}
	a := newAssessor(in, sub)
	a.run()
	a.checkScanned()
	return NewDecision(a.reasons()...)
}

// NewDecision returns the decision the reasons make: any auto_reply or
// duplicate_message is ignore; any review reason makes it review, even
// with query reasons (a person sees it first); else any reason is a query;
// no reason at all is register. The reasons are kept in order.
func NewDecision(reasons ...Reason) Decision {
	d := Decision{Outcome: OutcomeRegister, Reasons: reasons}
	if d.Reasons == nil {
		d.Reasons = []Reason{}
	}
	for _, r := range reasons {
		if o := outcomeOf(r.Code); rank(o) > rank(d.Outcome) {
			d.Outcome = o
		}
	}
	return d
}

// rank orders outcomes by precedence: ignore over review over query over
// register.
func rank(o Outcome) int {
	switch o {
	case OutcomeIgnore:
		return 3
	case OutcomeReview:
		return 2
	case OutcomeQuery:
		return 1
	}
	return 0
}

// DuplicateDecision is the decision for a message processed before.
func DuplicateDecision() Decision {
	return NewDecision(Reason{Code: CodeDuplicateMessage, Message: msgDuplicate()})
}

// QueryNotDeliveredReason is the review reason of a case whose query the
// outbox gave up sending: the store gives it to the case when the sender
// records the last failure, so the case does not wait on a question nobody
// was asked.
func QueryNotDeliveredReason() Reason {
	return Reason{Code: CodeQueryNotDelivered, Message: msgQueryNotDelivered()}
}

// Codes returns the decision's reason codes in order.
func (d Decision) Codes() []string {
	codes := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		codes[i] = r.Code
	}
	return codes
}

// outcomeOf is the outcome one reason code calls for on its own, from the
// reason table. Every code the table does not know is something to put to
// the referrer; never a silent register.
func outcomeOf(code string) Outcome {
	r, _ := ReasonFor(code)
	return r.Outcome
}

// Current merges: forms in this email replace the case's earlier forms of
// the same kind.
func Current(sub *parser.Submission, earlier CaseForms) CaseForms {
	cur := earlier
	if sub == nil {
		return cur
	}
	if sub.Referral != nil {
		cur.Referral = sub.Referral
	}
	if sub.Consent != nil {
		cur.Consent = sub.Consent
	}
	return cur
}

// problem is what is wrong with one field.
type problem int

const (
	probMissing problem = iota
	probFuture
	probNHS
	probBadDate
	probBadChoice
	probBadYesNo
	probBadPostcode
	probBadEmail
	probBadText
	probBeforeBirth
)

// issue is one reason being built. Field problems can be found on both
// forms under one code (cyp_dob is on both), so their message is written
// at the end, naming every form they were found on.
type issue struct {
	code     string
	msg      string
	prob     problem
	kind     parser.FormKind // the form whose label the message uses
	field    string
	forms    []parser.FormKind
	deferred bool // a field problem: msg is written once all forms are seen
}

// assessor holds what the rules share while one email is assessed.
type assessor struct {
	in    Input
	sub   *parser.Submission
	forms CaseForms
	today time.Time

	dob    time.Time // the child's date of birth, referral form first
	hasDOB bool
	age    int // whole years on the referral date (or today)
	hasAge bool
	child  string // the child's first or known-as name; "" when unknown

	// The consent form's signing date and the age on it, when the date is
	// readable, not in the future and not before the date of birth (those
	// are reported as field problems and not used).
	signed    time.Time
	signedAge int
	hasSigned bool

	basis    string // consent basis, "" when blank or unreadable
	capacity string // yp_has_capacity, "" when blank or unreadable

	issues []*issue
	byCode map[string]*issue
}

func newAssessor(in Input, sub *parser.Submission) *assessor {
	today := in.Today
	if today.IsZero() {
		today = time.Now()
	}
	y, m, d := today.Date()
	a := &assessor{
		in:     in,
		sub:    sub,
		forms:  Current(sub, in.Earlier),
		today:  time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		byCode: map[string]*issue{},
	}
	ref, con := a.forms.Referral, a.forms.Consent
	// A date of birth in the future is reported as such and not used:
	// other dates measured against it would only repeat the one mistake.
	if t, ok := ref.DateOf("cyp_dob"); ok {
		a.dob, a.hasDOB = t, !t.After(a.today)
	} else if t, ok := con.DateOf("cyp_dob"); ok {
		a.dob, a.hasDOB = t, !t.After(a.today)
	}
	// Age is taken on the referral date. A missing, unreadable or future
	// referral date is reported as such; the age then falls back to today
	// so the age rules still run.
	on := a.today
	if t, ok := ref.DateOf("referral_date"); ok && !t.After(a.today) {
		on = t
	}
	if a.hasDOB && !a.dob.After(on) {
		a.age, a.hasAge = ageOn(a.dob, on), true
	}
	// Consent is also judged on the day it was given (FORMS.md "Validity
	// rules"), so the age on the signing date is kept beside it.
	if t, ok := con.DateOf("signed_date"); ok && a.hasDOB && !t.After(a.today) && !t.Before(a.dob) {
		a.signed, a.signedAge, a.hasSigned = t, ageOn(a.dob, t), true
	}
	a.child = childName(ref, con)
	a.basis = con.Get("consent_basis")
	a.capacity = con.Get("yp_has_capacity")
	return a
}

// ageOn is the age in whole years on a date. Someone born on 29 February
// turns a year older on 1 March in a non-leap year: the usual UK legal
// reading (a person attains an age at the start of the anniversary of
// their birth, Family Law Reform Act 1969 s.9, and a common year has no
// 29 February, so the anniversary is the day after 28 February). So a
// child born on 29 February 2008 is 17 on 28 February 2026 and 18 on
// 1 March 2026.
func ageOn(dob, on time.Time) int {
	years := on.Year() - dob.Year()
	m, d := dob.Month(), dob.Day()
	if m == time.February && d == 29 && !isLeap(on.Year()) {
		m, d = time.March, 1
	}
	if on.Month() < m || (on.Month() == m && on.Day() < d) {
		years--
	}
	return years
}

func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// childName is what the messages call the child: the Known as name, else
// the first of the first names, else the first word of the consent form's
// name.
func childName(ref, con *parser.Form) string {
	if k := strings.TrimSpace(ref.Get("cyp_known_as")); k != "" {
		return k
	}
	if f := strings.Fields(ref.Get("cyp_first_names")); len(f) > 0 {
		return f[0]
	}
	if f := strings.Fields(con.Get("cyp_full_name")); len(f) > 0 {
		return f[0]
	}
	return ""
}

func (a *assessor) run() {
	if a.in.Untrusted != "" {
		a.add(CodeSenderNotTrusted, msgSenderNotTrusted(a.in.Untrusted))
	}
	if withdrawalRequested(a.sub) {
		a.add(CodeWithdrawalRequest, msgWithdrawal())
		// A bare "please withdraw" carries nothing to assess; the case's
		// earlier forms are not this email's business.
		if a.sub.Referral == nil && a.sub.Consent == nil {
			return
		}
	}
	a.checkPresence()
	a.checkAge()
	a.checkEligibility()
	if ref := a.forms.Referral; ref != nil {
		a.checkFields(parser.Referral, ref)
		a.checkBlue(ref)
	}
	if con := a.forms.Consent; con != nil {
		a.checkFields(parser.Consent, con)
		a.checkConsentPath(con)
		a.checkSameChild(a.forms.Referral, con)
	}
}

// add records a reason with a fixed message; a code already recorded is
// kept as first found.
func (a *assessor) add(code, msg string) {
	if _, ok := a.byCode[code]; ok {
		return
	}
	is := &issue{code: code, msg: msg}
	a.issues = append(a.issues, is)
	a.byCode[code] = is
}

// fieldIssue records a field problem on one form; the same code found on
// the other form joins it.
func (a *assessor) fieldIssue(p problem, k parser.FormKind, field string) {
	code := fieldCode(p, field)
	if is, ok := a.byCode[code]; ok {
		for _, f := range is.forms {
			if f == k {
				return
			}
		}
		is.forms = append(is.forms, k)
		return
	}
	is := &issue{code: code, prob: p, kind: k, field: field, forms: []parser.FormKind{k}, deferred: true}
	a.issues = append(a.issues, is)
	a.byCode[code] = is
}

func fieldCode(p problem, field string) string {
	switch p {
	case probMissing:
		return PrefixMissingField + field
	case probFuture:
		return PrefixDateInFuture + field
	case probNHS:
		return CodeInvalidNHSNumber
	}
	return PrefixInvalidField + field
}

func (a *assessor) reasons() []Reason {
	out := make([]Reason, 0, len(a.issues))
	for _, is := range a.issues {
		msg := is.msg
		if is.deferred {
			msg = a.fieldMessage(is)
		}
		out = append(out, Reason{Code: is.code, Message: msg})
	}
	return out
}

// checkPresence: both forms, and the attachments that may be a missing one.
func (a *assessor) checkPresence() {
	if a.forms.Referral != nil && a.forms.Consent != nil {
		// Other attachments travel with the forms and do not change the
		// outcome (FORMS.md).
		return
	}
	var unsupported, unreadable []parser.Attachment
	for _, at := range a.sub.Attachments {
		switch at.Kind {
		case parser.KindUnsupported:
			unsupported = append(unsupported, at)
		case parser.KindUnreadable:
			unreadable = append(unreadable, at)
		}
	}
	var missing []parser.FormKind
	if a.forms.Referral == nil {
		missing = append(missing, parser.Referral)
	}
	if a.forms.Consent == nil {
		missing = append(missing, parser.Consent)
	}
	// An unreadable attachment may be a missing form: that form is not
	// reported missing.
	mayBe := mayBeForms(unreadable, missing)
	// Forms shared as a link: said once, with the first missing form.
	links := a.sub.SharedLinks
	if a.forms.Referral == nil && !mayBe[parser.Referral] {
		a.add(CodeMissingReferralForm, msgMissingForm(parser.Referral, links))
		links = nil
	}
	if a.forms.Consent == nil && !mayBe[parser.Consent] {
		a.add(CodeMissingConsentForm, msgMissingForm(parser.Consent, links))
	}
	if len(unsupported) > 0 {
		a.add(CodeUnsupportedAttachment, msgUnsupported(unsupported))
	}
	switch {
	case len(unreadable) > 0:
		a.add(CodeUnreadableAttachment, msgUnreadableForms(unreadable, mayBe))
	case len(a.sub.Problems) > 0:
		// Part of the message could not be read and a form is missing: the
		// form may be in that part, so a person looks.
		a.add(CodeUnreadableAttachment, msgUnreadablePart())
	}
}

func (a *assessor) checkAge() {
	if a.hasAge && a.age >= 18 {
		a.add(CodeAge18OrOver, msgAge18(a.child, a.age))
	}
}

// checkEligibility: a learning disability and/or autism, and high risk of
// admission. Only answers given count against the child; a blank is
// reported as a missing field instead.
func (a *assessor) checkEligibility() {
	ref := a.forms.Referral
	ld, okLD := ref.Bool("dx_learning_disability")
	au, okAu := ref.Bool("dx_autism")
	if okLD && okAu && !ld && !au {
		a.add(CodeNotEligibleDiagnosis, msgNotEligibleDiagnosis())
	}
	if risk, ok := ref.Bool("mh_high_risk_admission"); ok && !risk {
		a.add(CodeNotEligibleRisk, msgNotEligibleRisk(a.child))
	}
}

// svcFields are the referral's services; at least one must be filled.
var svcFields = []string{"svc_health", "svc_education", "svc_social_care"}

// checkFields reports, in the order the form prints them, every required
// field that is blank and every value that is not well formed.
func (a *assessor) checkFields(k parser.FormKind, f *parser.Form) {
	noService := k == parser.Referral && !filled(f, "svc_health") && !filled(f, "svc_education") && !filled(f, "svc_social_care")
	for _, spec := range parser.Fields(k) {
		if !filled(f, spec.Name) {
			if a.required(k, f, spec) {
				a.fieldIssue(probMissing, k, spec.Name)
			}
			// One code stands for "none of the services": listing all three
			// as missing would read as if all three were needed.
			if noService && spec.Name == svcFields[0] {
				a.fieldIssue(probMissing, k, spec.Name)
			}
			continue
		}
		// The invalid text itself is never echoed: it may be an NHS number
		// or a date of birth.
		if _, bad := f.Invalid[spec.Name]; bad {
			a.fieldIssue(invalidProblem(spec), k, spec.Name)
			continue
		}
		a.checkValue(k, spec, f.Values[spec.Name])
	}
}

// filled reports whether a field was filled in, validly or not. Unlike
// Form.Has it takes an empty value for a blank, so a form built by hand
// (or by a future reader) with "" values cannot pass for complete.
func filled(f *parser.Form, name string) bool {
	if f == nil {
		return false
	}
	if strings.TrimSpace(f.Values[name]) != "" {
		return true
	}
	_, ok := f.Invalid[name]
	return ok
}

// required says whether a blank field must be reported, with the
// conditional rules of FORMS.md.
func (a *assessor) required(k parser.FormKind, f *parser.Form, spec parser.FieldSpec) bool {
	if k == parser.Referral {
		switch spec.Name {
		case "dx_details":
			ld, _ := f.Bool("dx_learning_disability")
			au, _ := f.Bool("dx_autism")
			return ld || au
		case "inpatient_hospital", "admission_date":
			return f.Get("rag_rating") == "Blue"
		}
		return spec.Required
	}
	bid := a.basis == parser.BasisBestInterest
	switch spec.Name {
	case "consent_given":
		// A best interest decision is made because consent was not given;
		// a blank there is expected.
		return !bid
	case "yp_has_capacity":
		return a.consent16Plus()
	case "signatory_name", "signatory_relationship", "signature", "signed_date":
		return !bid
	case "signatory_has_pr":
		return a.basis == parser.BasisParental
	case "bid_decision_maker", "bid_role", "bid_date", "bid_reason":
		return bid
	}
	return spec.Required
}

// invalidProblem says how a value the parser could not normalise is wrong.
func invalidProblem(spec parser.FieldSpec) problem {
	switch spec.Type {
	case parser.NHSNumber:
		return probNHS
	case parser.Date:
		return probBadDate
	case parser.Choice:
		return probBadChoice
	case parser.YesNo:
		return probBadYesNo
	}
	return probBadText
}

// emailFields are the fields that must hold an email address.
var emailFields = map[string]bool{"referrer_email": true, "parent_email": true}

// checkValue checks a normalised value beyond what the parser could.
func (a *assessor) checkValue(k parser.FormKind, spec parser.FieldSpec, v string) {
	switch {
	case spec.Type == parser.NHSNumber:
		if !ValidNHSNumber(v) {
			a.fieldIssue(probNHS, k, spec.Name)
		}
	case spec.Type == parser.Date:
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			a.fieldIssue(probBadDate, k, spec.Name)
			return
		}
		if t.After(a.today) {
			a.fieldIssue(probFuture, k, spec.Name)
		}
		// A consent signed, or a decision made, before the child was born
		// is a slip of the pen; the day of birth itself is allowed.
		if k == parser.Consent && (spec.Name == "signed_date" || spec.Name == "bid_date") && a.hasDOB && t.Before(a.dob) {
			a.fieldIssue(probBeforeBirth, k, spec.Name)
		}
	case spec.Name == "cyp_postcode":
		if !ValidPostcode(v) {
			a.fieldIssue(probBadPostcode, k, spec.Name)
		}
	case emailFields[spec.Name]:
		if !validEmail(v) {
			a.fieldIssue(probBadEmail, k, spec.Name)
		}
	}
}

// checkBlue: a Blue rating is for a child in hospital.
func (a *assessor) checkBlue(ref *parser.Form) {
	if ref.Get("rag_rating") == "Blue" && (!filled(ref, "inpatient_hospital") || !filled(ref, "admission_date")) {
		a.add(CodeBlueWithoutAdmission, msgBlue(a.child))
	}
}

// postcodeRE is a UK postcode with its spaces removed: outward code
// (area, district, optional sub-district letter) and inward code. It is
// the shape only; whether the postcode exists is not ours to say. GIR 0AA
// (Girobank) is the one historic exception.
var postcodeRE = regexp.MustCompile(`^(?:[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][A-Z]{2}|GIR0AA)$`)

// ValidPostcode reports whether s is shaped like a UK postcode, whatever
// its case and spacing ("br1 3uh", "BR13UH", "SW1A 1AA").
func ValidPostcode(s string) bool {
	return postcodeRE.MatchString(strings.ToUpper(strings.Join(strings.Fields(s), "")))
}

// validEmail accepts one address as people write it on a form, with or
// without a display name, with a dot in its domain.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return false
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 1 {
		return false
	}
	domain := addr.Address[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// withdrawalRE finds a request to withdraw consent or to come off the
// register, in lower-cased text with accents folded and spaces collapsed.
var withdrawalRE = regexp.MustCompile(
	`\b(?:withdraw(?:s|n|ing|al)?|revok(?:e|es|ed|ing)|retract(?:s|ed|ing)?)(?:\s+(?:of|my|our|his|her|their|the|all|this|that|any|parental))*\s+consent\b` +
		`|\bconsent\s+(?:is\s+|has\s+been\s+|to\s+be\s+|being\s+)?(?:withdrawn|revoked)\b` +
		`|\bno\s+longer\s+(?:consent|give\s+(?:my\s+|our\s+)?consent|agree|wish\s+to\s+consent|want\s+to\s+consent)\b` +
		`|\bno\s+longer\s+(?:wants?|wish(?:es)?)\b[^.]{0,40}\b(?:on|part\s+of|in)\s+the\s+(?:dsr|register|dynamic\s+support\s+register)\b` +
		`|\b(?:remove|take)\s+(?:\S+\s+){1,3}?(?:off|from)\s+(?:the\s+)?(?:dsr|register|dynamic\s+support\s+register)\b`)

// notARequestRE, just before a match, marks the words as information
// ("you can withdraw consent at any time") rather than a request.
var notARequestRE = regexp.MustCompile(`(?:\b(?:you|they|he|she|we|i|parents?|carers?|families)\s+(?:can|could|may|might|are\s+able\s+to|is\s+able\s+to)|\bcan\s+be|\bright\s+to|\bable\s+to|\bhow\s+to|\bfree\s+to|\bif\s+(?:you|they|he|she|we)\b[^.]{0,20}|\baware\b[^.]{0,30}|\binformed\b[^.]{0,30})\s*$`)

// withdrawalRequested looks for withdrawal words in the subject and in the
// sender's own words (quoted text of earlier mail is skipped: our own
// queries may mention withdrawal).
func withdrawalRequested(sub *parser.Submission) bool {
	text := foldSentences(sub.Subject + "\n" + ownWords(sub.Body))
	for _, loc := range withdrawalRE.FindAllStringIndex(text, -1) {
		start := max(0, loc[0]-60)
		if !notARequestRE.MatchString(text[start:loc[0]]) {
			return true
		}
	}
	return false
}

// foldSentences lower-cases the text and folds accents and punctuation
// like FoldName, but keeps sentence ends as ". " so a match and the words
// that qualify it are looked for within one sentence.
func foldSentences(s string) string {
	s = strings.NewReplacer("'", "", "’", "").Replace(s)
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == '.' || r == '!' || r == '?' || r == '\n' || r == ';'
	})
	out := parts[:0]
	for _, p := range parts {
		if f := parser.FoldName(p); f != "" {
			out = append(out, f)
		}
	}
	return strings.Join(out, ". ")
}

// replyHeaderRE marks where quoted earlier mail starts in a reply.
var replyHeaderRE = regexp.MustCompile(`(?i)^(?:-{2,}\s*original message\s*-{2,}|_{5,}|on .{1,200} wrote:\s*$|from:\s.+)$`)

// ownWords drops quoted lines and everything after a reply header.
func ownWords(body string) string {
	var b strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if replyHeaderRE.MatchString(t) {
			break
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return b.String()
}
