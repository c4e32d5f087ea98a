package register

import "dsr-intake/parser"

// checkScanned holds back a case whose forms were read by OCR: values
// read from a scan or photo are never registered until a coordinator has
// checked them. It applies only when nothing else is wrong; problems OCR
// did read (a date of birth that does not match, a missing consent tick)
// are queries or reviews as for any form, and a scan too poor to read is
// an unreadable attachment.
func (a *assessor) checkScanned() {
	if len(a.issues) > 0 {
		return
	}
	var scanned []parser.FormKind
	if a.forms.Referral.Unconfirmed() {
		scanned = append(scanned, parser.Referral)
	}
	if a.forms.Consent.Unconfirmed() {
		scanned = append(scanned, parser.Consent)
	}
	if len(scanned) > 0 {
		a.add(CodeConfirmScannedForm, msgConfirmScanned(scanned))
	}
}

func msgConfirmScanned(ks []parser.FormKind) string {
	verb := "was"
	if len(ks) > 1 {
		verb = "were"
	}
	return upper(formsPhrase(ks)) + " " + verb + " scanned or photographed: a coordinator checks what was read from the scan before the child is added to the register."
}
