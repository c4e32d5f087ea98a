package register

import "dsr-intake/parser"

// checkScanned holds back a case whose forms were read by OCR: values
// read from a scan or photo are never registered until a coordinator has
// checked them, and a field OCR may have missed or misread is no reason
// to write to the referrer. So the case goes to review as
// confirm_scanned_form when it would otherwise be complete, or when a
// field problem is on a form read by OCR (blank, not valid, or read
// without confidence: the scan may be the cause). Problems OCR read with
// confidence (a consent tick read as No, dates of birth that differ) are
// queries or reviews as for any form, and a scan too poor to read is an
// unreadable attachment.
func (a *assessor) checkScanned() {
	var scanned []parser.FormKind
	if a.forms.Referral.Unconfirmed() {
		scanned = append(scanned, parser.Referral)
	}
	if a.forms.Consent.Unconfirmed() {
		scanned = append(scanned, parser.Consent)
	}
	if len(scanned) == 0 {
		return
	}
	uncertain := len(a.issues) == 0
	for _, is := range a.issues {
		if is.deferred && a.readUncertain(is) {
			uncertain = true
		}
	}
	if uncertain {
		a.add(CodeConfirmScannedForm, msgConfirmScanned(scanned))
	}
}

// readUncertain reports a field problem that OCR may have caused: on a
// form read by OCR, the field blank, not valid or read with low
// confidence.
func (a *assessor) readUncertain(is *issue) bool {
	for _, k := range is.forms {
		f := a.forms.Referral
		if k == parser.Consent {
			f = a.forms.Consent
		}
		if !f.Unconfirmed() {
			continue
		}
		fl, read := f.OCR.Fields[is.field]
		if is.prob != probFuture || !read || fl.Confidence < parser.OCRMinConfidence {
			return true
		}
	}
	return false
}

func msgConfirmScanned(ks []parser.FormKind) string {
	verb := "was"
	if len(ks) > 1 {
		verb = "were"
	}
	return upper(formsPhrase(ks)) + " " + verb + " scanned or photographed: a coordinator checks what was read from the scan before the child is added to the register."
}
