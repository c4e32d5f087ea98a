package parser

import "testing"

// TestReadODTAsDOCX reads forms saved in LibreOffice's own format
// (scripts/make-doc-fixtures.sh) and asserts each gives exactly what its
// .docx gives: the same forms, kinds, titles, labels with their values (a
// layout table nested in a cell, a label spanning rows, legacy check
// boxes, drop-downs and text fields, which LibreOffice keeps as
// fieldmarks with their state) and the same mapped form.
func TestReadODTAsDOCX(t *testing.T) {
	// LibreOffice names no legacy check box or drop-down (its fieldmarks
	// are "__Fieldmark__...").
	assertReadsAsDOCX(t, "odt", readODT, []string{"layout", "referral-legacy", "sample03-referral", "sample03-consent"}, "referral-legacy")
}

// TestParseSampleAsODT sends sample 03 with its two Word forms saved in
// LibreOffice's own format and asserts the email reads as the sample.
func TestParseSampleAsODT(t *testing.T) {
	parseSampleAs(t, "odt", "application/vnd.oasis.opendocument.text")
}
