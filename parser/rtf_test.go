package parser

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadRTFAsDOCX reads forms saved as Rich Text by LibreOffice
// (scripts/make-doc-fixtures.sh) and asserts each gives exactly what its
// .docx gives: the same forms, kinds, titles, labels with their values (a
// layout table nested in a cell, rows merged down) and the same mapped
// form.
func TestReadRTFAsDOCX(t *testing.T) {
	assertReadsAsDOCX(t, "rtf", readRTF, []string{"layout", "consent-plain", "sample03-referral", "sample03-consent"})
}

// rtfConsent is a consent form's table as Word writes Rich Text: a
// legacy check box, drop-down and text field with their state
// (\*\formfield), accents by code page and by \u (a character outside the
// BMP as a surrogate pair), a revision deleted with changes tracked, a
// row's label merged down, and a picture's binary data (\bin) holding
// braces.
const rtfConsent = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}{\stylesheet{\s0 Normal;}{\s1 heading 1;}}` +
	`\pard\s1 DSR Consent Form\par\pard DSR-CONSENT\par` +
	`{\pict\wmetafile8 \bin6 }{}\}{}` +
	`\trowd\cellx3000\cellx6000\pard\intbl Child's name\cell Ren{\u233\'3f}e Dupr\'e9{\deleted Smith} \u-10179?\u-8704?\cell\row` +
	`\trowd\cellx3000\cellx6000\pard\intbl I consent to inclusion on the DSR\cell` +
	`{\field{\*\fldinst{ FORMCHECKBOX {\*\formfield{\fftype1\ffres1\ffdefres0{\*\ffname consent_given}}}}}{\fldrslt }}\cell\row` +
	`\trowd\cellx3000\cellx6000\pard\intbl Relationship\cell` +
	`{\field{\*\fldinst{ FORMDROPDOWN {\*\formfield{\fftype2\ffres2{\*\ffname relationship}{\*\ffl Parent}{\*\ffl Carer}{\*\ffl Foster carer}}}}}{\fldrslt }}\cell\row` +
	`\trowd\cellx3000\cellx6000\pard\intbl Address\cell` +
	`{\field{\*\fldinst{ FORMTEXT {\*\formfield{\fftype0{\*\ffname address}}}}}{\fldrslt 1 Kings Road}}\cell\row` +
	`\trowd\clvmrg\cellx3000\cellx6000\pard\intbl \cell West Wickham\cell\row` +
	`\pard\par}`

// TestReadRTFFields reads Word's Rich Text form fields: a ticked box, a
// list's choice and a text field, by name and by label; and refuses a
// check box whose state the file does not hold (LibreOffice's export
// leaves it out), never reading it blank.
func TestReadRTFFields(t *testing.T) {
	forms, err := readRTF(context.Background(), []byte(rtfConsent), Limits{})
	if err != nil || len(forms) != 1 {
		t.Fatalf("%d forms, %v", len(forms), err)
	}
	f := forms[0]
	if f.Kind != Consent || f.Title != "DSR Consent Form" {
		t.Errorf("kind %s, title %q", f.Kind, f.Title)
	}
	wantNames := map[string]string{"consent_given": "Yes", "relationship": "Foster carer", "address": "1 Kings Road"}
	if !maps.Equal(f.ByName, wantNames) {
		t.Errorf("names %q, want %q", f.ByName, wantNames)
	}
	wantLabels := []LabelValue{
		{"Child's name", "Renée Dupré 😀"},
		{"I consent to inclusion on the DSR", "✓"},
		{"Relationship", "Foster carer"},
		{"Address", "1 Kings Road\nWest Wickham"},
	}
	if !slices.Equal(f.ByLabel, wantLabels) {
		t.Errorf("labels %q\nwant %q", f.ByLabel, wantLabels)
	}
	noState := strings.Replace(rtfConsent, `{\*\formfield{\fftype1\ffres1\ffdefres0{\*\ffname consent_given}}}`, "", 1)
	if _, err := readRTF(context.Background(), []byte(noState), Limits{}); ReasonOf(err) != reasonDOCXUnsupported {
		t.Errorf("a check box without its state: %v", err)
	}
	// Its bounds: groups nested past rtfMaxDepth, text past docMaxChars.
	for _, big := range []string{`{\rtf1` + strings.Repeat("{", rtfMaxDepth+1), `{\rtf1 ` + strings.Repeat("a", docMaxChars+1) + `}`} {
		if _, err := readRTF(context.Background(), []byte(big), Limits{}); ReasonOf(err) != reasonDOCXTooComplex {
			t.Errorf("%d bytes past a bound: %v, want %q", len(big), err, reasonDOCXTooComplex)
		}
	}
	for _, bad := range []string{"", "{\\rtf1", strings.Repeat("{", 5000), "{\\rtf1 \\u-3999999999 \\'zz \\", "not rtf"} {
		if _, err := readRTF(context.Background(), []byte(bad), Limits{}); err != nil && ReasonOf(err) == "the file could not be read" {
			t.Errorf("%.20q: %v without a reason", bad, err)
		}
	}
}

// TestParseSampleAsRTF sends sample 03 with its two Word forms saved as
// Rich Text (application/rtf) and asserts the email reads as the sample.
func TestParseSampleAsRTF(t *testing.T) { parseSampleAs(t, "rtf", "application/rtf") }

// TestRTFFromWordMatchesLibreOffice reads a Rich Text body Word wrote for
// Outlook (Apache POI's test file, testdata/thirdparty/rtf) and compares
// its text, word for word, with what LibreOffice reads in it (recorded
// beside it by `soffice --convert-to txt:Text`, as LibreOffice is not in
// the test tools): a producer other than the LibreOffice that wrote our
// fixtures, with its font tables, themes, styles and \*\panose groups.
func TestRTFFromWordMatchesLibreOffice(t *testing.T) {
	dir := filepath.Join("..", "testdata", "thirdparty", "rtf")
	data, err := os.ReadFile(filepath.Join(dir, "poi-hmef-message.rtf"))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := os.ReadFile(filepath.Join(dir, "poi-hmef-message.libreoffice.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rtfModel(data)
	if err != nil {
		t.Fatal(err)
	}
	got, want := modelWords(t, m), wordsOf(string(peer))
	if !slices.Equal(got, want) || len(want) < 10 {
		t.Errorf("words %q, LibreOffice %q", got, want)
	}
	forms, err := readRTF(context.Background(), data, Limits{})
	if err != nil || len(forms) != 1 || forms[0].Kind != "" || len(forms[0].ByLabel) != 0 {
		t.Errorf("forms %+v, %v", forms, err)
	}
}
