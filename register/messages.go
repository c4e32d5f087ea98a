package register

import (
	"fmt"
	"strings"
	"unicode"

	"dsr-intake/parser"
)

// The messages are read by referrers (parents among them) and by
// coordinators. They are short, specific and kind: they name the field as
// the form prints it and the form it is on, say what to do, and never
// carry an NHS number, a date of birth or a canonical field name.

// child is how a message names the child: their first (or Known as) name,
// or "the child" when no form gives one.
func child(name string) string {
	if name == "" {
		return "the child"
	}
	return name
}

// childs is the possessive: "Evie's", "the child's".
func childs(name string) string {
	return child(name) + "'s"
}

// upper capitalises the first letter, for a sentence that starts with the
// child.
func upper(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

func formName(k parser.FormKind) string {
	if k == parser.Consent {
		return "the consent form"
	}
	return "the referral form"
}

func formsPhrase(ks []parser.FormKind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = formName(k)
	}
	return joinAnd(names, "and")
}

// joinAnd joins "a", "b", "c" as "a, b and c" (or "or").
func joinAnd(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}

func label(k parser.FormKind, field string) string {
	if spec, ok := parser.Spec(k, field); ok {
		return spec.Label
	}
	// Not reached for the forms' own fields; a readable fallback all the
	// same, without the underscores of a canonical name.
	return strings.ReplaceAll(field, "_", " ")
}

// quoteLabel is the label in quotes, as a message names a field. The
// consent form's bare "Date" says which date it is.
func quoteLabel(k parser.FormKind, field string) string {
	q := fmt.Sprintf("%q", label(k, field))
	if k == parser.Consent && field == "signed_date" {
		q += " (the date it was signed)"
	}
	return q
}

// fieldMessage writes the message of a field problem.
func (a *assessor) fieldMessage(is *issue) string {
	lbl := quoteLabel(is.kind, is.field)
	on := formsPhrase(is.forms)
	the := "The " + lbl + " on " + on
	switch is.prob {
	case probMissing:
		return a.missingMessage(is.field, lbl, on)
	case probFuture:
		return the + " is after today's date. Please check it."
	case probNHS:
		return the + " is not a valid NHS number. Please check it: an NHS number has 10 digits, as on an NHS letter or the GP record."
	case probBadDate:
		return the + " is not a date we can read. Please write it as DD/MM/YYYY."
	case probBadChoice:
		if spec, ok := parser.Spec(is.kind, is.field); ok && len(spec.Choices) > 0 {
			quoted := make([]string, len(spec.Choices))
			for i, c := range spec.Choices {
				quoted[i] = fmt.Sprintf("%q", c)
			}
			return the + " is not one of the form's options. Please choose " + joinAnd(quoted, "or") + "."
		}
		return the + " is not one of the form's options. Please choose one of them."
	case probBadYesNo:
		return the + " should be Yes or No."
	case probBadPostcode:
		return the + " does not look like a UK postcode. Please check it."
	case probBadEmail:
		return the + " does not look like an email address. Please check it."
	case probBeforeBirth:
		return the + " is before " + childs(a.child) + " date of birth. Please check both dates."
	}
	return the + " could not be read. Please check it."
}

func (a *assessor) missingMessage(field, lbl, on string) string {
	fill := "Please fill in " + lbl + " on " + on
	switch field {
	case "svc_health":
		if !filled(a.forms.Referral, "svc_education") && !filled(a.forms.Referral, "svc_social_care") {
			return fmt.Sprintf("Please fill in at least one of %q, %q or %q on the referral form.",
				label(parser.Referral, "svc_health"), label(parser.Referral, "svc_education"), label(parser.Referral, "svc_social_care"))
		}
	case "dx_details":
		return fill + ": it is needed when a diagnosis is marked Yes."
	case "inpatient_hospital", "admission_date":
		return fill + ": it is needed for a Blue rating."
	case "yp_has_capacity":
		if !(a.hasAge && a.age >= 16) && a.hasSigned {
			// 16 only on the day the consent was signed.
			return fmt.Sprintf("%s was %d when the consent form was signed, so please answer %s on the consent form.", upper(child(a.child)), a.signedAge, lbl)
		}
		return fmt.Sprintf("%s is %d, so please answer %s on the consent form.", upper(child(a.child)), a.age, lbl)
	case "signatory_has_pr":
		return fill + ": it is needed when a parent or carer gives consent."
	case "bid_decision_maker", "bid_role", "bid_date", "bid_reason":
		return fill + ": it is needed for a best interest decision."
	}
	return fill + "."
}

func msgAutoReply() string {
	return "This is an automatic reply, so it needs no answer."
}

func msgQueryNotDelivered() string {
	return "We could not send our email asking for more information, so a coordinator will contact you about this referral."
}

func msgDuplicate() string {
	return "This email has already been received and dealt with."
}

func msgSenderNotTrusted(why string) string {
	msg := "We could not confirm where this email came from, so a coordinator will check it first."
	if why = strings.TrimSpace(why); why != "" && len(why) <= 120 {
		msg = strings.TrimSuffix(msg, ".") + " (" + why + ")."
	}
	return msg
}

func msgWithdrawal() string {
	return "This email asks for consent to be withdrawn, so a coordinator will deal with it."
}

// msgMissingForm asks for a missing form; when the email links to files
// on a sharing service (Outlook's default for a file kept in OneDrive), it
// says that a link cannot be opened and how to attach a copy instead.
func msgMissingForm(k parser.FormKind, sharedOn []string) string {
	msg := "We could not find the referral form in this email. Please attach the completed DSR referral form."
	if k == parser.Consent {
		msg = "We could not find the consent form in this email. Please attach the signed DSR consent form."
	}
	if len(sharedOn) > 0 {
		msg += " Your email links to files on " + joinAnd(sharedOn, "or") + ", which we cannot open: please attach the forms" +
			" to the email itself (in Outlook, choose \"Attach as copy\", not \"Share link\")."
	}
	return msg
}

// attachmentNames names attachments for a message: their file names
// (quoted), or "an attachment" for one whose name is empty or carries a
// long run of digits (it may be an NHS number).
func attachmentNames(ats []parser.Attachment) string {
	names := make([]string, 0, len(ats))
	for _, at := range ats {
		n := strings.TrimSpace(at.Filename)
		if n == "" || len([]rune(n)) > 60 || hasDigitRun(n, 6) {
			names = append(names, "an attachment")
			continue
		}
		names = append(names, fmt.Sprintf("the attachment %q", n))
	}
	return joinAnd(names, "and")
}

func hasDigitRun(s string, n int) bool {
	run := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func msgUnsupported(ats []parser.Attachment) string {
	names := attachmentNames(ats[:min(len(ats), 2)])
	formats := map[string]bool{}
	for _, a := range ats {
		formats[a.Detected] = true
	}
	switch {
	case len(formats) == 1 && formats["odf"]:
		// The referrer saves it as Word or PDF.
		return fmt.Sprintf("We could not open %s, which is in LibreOffice's own format (.odt). Please save the forms as Word (.docx) or PDF and send them again.", names)
	case len(formats) == 1 && formats["ole"]:
		return fmt.Sprintf("We could not open %s, which is in the old Word format (.doc). Please save the forms as Word (.docx) or PDF and send them again.", names)
	case len(formats) == 1 && formats["rtf"]:
		return fmt.Sprintf("We could not open %s, which is in Rich Text Format (.rtf). Please save the forms as Word (.docx) or PDF and send them again.", names)
	case len(formats) == 1 && formats["pages"]:
		// Pages: File > Export To > Word or PDF.
		return fmt.Sprintf("We could not open %s, which is in Apple Pages' own format (.pages). Please export the forms as Word (.docx) or PDF and send them again.", names)
	case len(formats) == 1 && formats["xps"]:
		return fmt.Sprintf("We could not open %s, which is an XPS print (.xps). Please print the forms to PDF (\"Microsoft Print to PDF\") or save them as Word (.docx) and send them again.", names)
	case formats["odf"] || formats["ole"] || formats["rtf"] || formats["pages"] || formats["xps"]:
		return fmt.Sprintf("We could not open %s. Please send the forms again as PDF or Word (.docx) attachments.", names)
	}
	return fmt.Sprintf("We could not open %s. Outlook sometimes sends attachments this way. Please send the forms again as PDF or Word attachments.", names)
}

func msgUnreadablePart() string {
	return "Part of this email could not be read, and a form is missing, so a coordinator will look at it."
}

func msgAge18(name string, age int) string {
	return fmt.Sprintf("%s is %d on the date of referral. This register is for children and young people under 18, so a coordinator will look at this referral.", upper(child(name)), age)
}

func msgNotEligibleDiagnosis() string {
	return "The referral form does not record a diagnosed learning disability or autism, which this register is for, so a coordinator will look at this referral."
}

func msgNotEligibleRisk(name string) string {
	return fmt.Sprintf("The referral form says %s is not at high risk of admission to a mental health hospital, so a coordinator will look at this referral.", child(name))
}

func msgBlue(name string) string {
	return fmt.Sprintf("The proposed RAG rating is Blue, which is for a child in hospital, so please give the hospital %s is in and the date of admission.", child(name))
}

// signedOn is the consent form's signing date as a message writes it. It
// is the form's date, not the child's; the messages say only whether it
// fell before or after the 16th birthday, never how long before, so the
// date of birth cannot be read back from them.
func (a *assessor) signedOn() string {
	return a.signed.Format("2 January 2006")
}

// msgSelfUnder16 says which date made the young person too young to
// consent for themselves: the referral date, the signing date, or both.
func (a *assessor) msgSelfUnder16() string {
	n := child(a.child)
	switch {
	case a.hasAge && a.age < 16 && a.hasSigned && a.signedAge >= 16:
		return fmt.Sprintf("The consent form was signed by %s after turning 16, but %s was %d on the date of referral. Please send the referral form again with a date of referral on or after %s 16th birthday.",
			n, n, a.age, childs(a.child))
	case a.hasAge && a.age < 16:
		return fmt.Sprintf("The consent form was signed by %s, but %s is %d, so a parent or carer with parental responsibility needs to sign it.", n, n, a.age)
	}
	return fmt.Sprintf("The consent form was signed by %s on %s, before turning 16, and a young person can only consent for themselves from 16. Please ask %s to sign it again, or a parent or carer with parental responsibility if %s does not have capacity.",
		n, a.signedOn(), n, n)
}

func msgSelfWithoutCapacity(name, capacity string) string {
	n := child(name)
	switch capacity {
	case parser.CapacityNo:
		return fmt.Sprintf("%s signed the consent form, but the form says %s does not have capacity to consent, so a parent or carer with parental responsibility needs to sign it.", upper(n), n)
	case parser.CapacityNotAssessed:
		return fmt.Sprintf("%s signed the consent form, but the form says %s capacity to consent was not assessed. Please record it; if %s does not have capacity, a parent or carer with parental responsibility needs to sign.", upper(n), childs(name), n)
	}
	return fmt.Sprintf("%s signed the consent form, but the form does not say whether %s has capacity to consent. A young person can only consent for themselves if they do.", upper(n), n)
}

// msgParentForCapable says why a parent's signature does not stand for a
// young person of 16 or over, naming the date that made the difference
// when the referral date and the signing date disagree.
func (a *assessor) msgParentForCapable() string {
	n := child(a.child)
	var lead string
	switch {
	case a.hasSigned && a.signedAge < 16 && a.hasAge && a.age >= 16:
		lead = fmt.Sprintf("The consent form was signed by a parent or carer on %s, before %s turned 16, but %s is %d on the date of referral", a.signedOn(), n, n, a.age)
	case a.hasSigned && a.signedAge >= 16 && !(a.hasAge && a.age >= 16):
		lead = fmt.Sprintf("The consent form was signed by a parent or carer on %s, when %s was already 16", a.signedOn(), n)
	default:
		lead = fmt.Sprintf("The consent form was signed by a parent or carer, but %s is %d", n, a.age)
	}
	if a.capacity == parser.CapacityNotAssessed {
		return lead + " and capacity to consent was not assessed. At 16 or over a young person decides for themselves if they have capacity, so please record it."
	}
	return fmt.Sprintf("%s and able to decide for themselves, so %s needs to sign it.", lead, n)
}

func msgSignatoryWithoutPR(name string) string {
	return fmt.Sprintf("The consent form says the person who signed it does not have parental responsibility for %s. It needs to be signed by someone who does.", child(name))
}

func msgBestInterest(name string) string {
	return fmt.Sprintf("Consent is by a best interest decision, so a coordinator will check it before %s is added to the register.", child(name))
}

func msgConsentNotGiven(name string) string {
	return fmt.Sprintf("The consent form says consent is not given (%q is No). We can only add %s to the register with consent.",
		label(parser.Consent, "consent_given"), child(name))
}

func msgFactsheetNotGiven() string {
	return fmt.Sprintf("The consent form says the DSR fact sheet has not been given. Please share it, then send the form again with %q marked Yes.",
		label(parser.Consent, "factsheet_given"))
}

func msgMismatch(differ []string) string {
	verb := "does"
	if len(differ) > 1 {
		verb = "do"
	}
	return fmt.Sprintf("The consent form does not seem to be for the same child as the referral form: the %s %s not match. Please check both forms are for the same child.",
		joinAnd(differ, "and"), verb)
}
