package register

import (
	"fmt"
	"strings"

	"dsr-intake/parser"
)

// mayBeForms says which missing forms an unreadable attachment may be: the
// one its file name names ("consent", "referral"), or any missing one when
// the name says neither. A missing form it may be is not reported as
// missing: the coordinator is told the attachment could not be read, and
// why, not that a form was not sent (FORMS.md).
func mayBeForms(unreadable []parser.Attachment, missing []parser.FormKind) map[parser.FormKind]bool {
	out := map[parser.FormKind]bool{}
	for _, at := range unreadable {
		name := strings.ToLower(at.Filename)
		consent, referral := strings.Contains(name, "consent"), strings.Contains(name, "refer")
		for _, k := range missing {
			if consent == referral || (k == parser.Consent) == consent {
				out[k] = true
			}
		}
	}
	return out
}

// msgUnreadableForms names each unreadable attachment (up to two), why it
// could not be read, and the form it may be.
func msgUnreadableForms(ats []parser.Attachment, mayBe map[parser.FormKind]bool) string {
	var parts []string
	for _, at := range ats[:min(len(ats), 2)] {
		p := attachmentNames([]parser.Attachment{at})
		// The parser's reason is written for a coordinator ("the PDF has
		// no text layer: it looks like a scan").
		if why := strings.TrimSpace(at.Error); why != "" && len(why) <= 100 && !hasDigitRun(why, 6) {
			p += " (" + strings.TrimSuffix(why, ".") + ")"
		}
		parts = append(parts, p)
	}
	var forms []parser.FormKind
	for _, k := range []parser.FormKind{parser.Referral, parser.Consent} {
		if mayBe[k] {
			forms = append(forms, k)
		}
	}
	msg := fmt.Sprintf("We could not read %s", joinAnd(parts, "and"))
	if len(forms) > 0 {
		msg += ", which may be " + joinAnd(formNames(forms), "or")
	}
	return msg + ", so a coordinator will look at it."
}

func formNames(ks []parser.FormKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = formName(k)
	}
	return out
}
