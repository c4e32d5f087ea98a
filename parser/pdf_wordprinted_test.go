package parser

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Our Word forms printed to PDF (scripts/make-word-printed-fixtures.sh:
// LibreOffice's PDF export) read as the Word documents themselves: with
// the answers in their value cells; in the label cells under the labels
// or after a colon or a space, the value cells left empty (as people type into a
// Word form as often as not); with the box glyphs of ticked options (one
// drawn with OpenSymbol for Wingdings, as LibreOffice does where Windows'
// fonts are not installed); and with answers broken across a page with
// their table rows. Each is read again as printed once more to PDF by
// Cairo and Ghostscript (printToPDF: a PDF printer's copy of the PDF);
// the tests' Chrome printer, which lays pdftohtml's text runs out again
// in Chromium's own fonts, is left out here: it splits a word at a change
// of font (Liberation Sans to DejaVu Sans for "ễ") and draws OpenSymbol's
// boxes in another font, neither of which a real print of the PDF does.
// A form of content controls prints an empty control's placeholder text
// ("Click or tap here to enter text."), which is no answer, and a single
// unticked box, which is No.
func TestReadWordPrintedPDFs(t *testing.T) {
	sample := sampleAttachments(t, "03-docx-happy")
	source := func(t *testing.T, base string) []byte {
		switch base {
		case "sample-referral":
			return sample["DSR Referral Form - Amelia Novak.docx"]
		case "sample-consent":
			return sample["DSR Consent Form - Amelia Novak.docx"]
		}
		return readFixture(t, base+".docx")
	}
	m := DefaultMapping()
	mapAll := func(raws []*RawForm) []*Form {
		var forms []*Form
		for _, rf := range raws {
			if k := m.Classify(rf); k != "" {
				forms = append(forms, m.Map(k, rf))
			}
		}
		return forms
	}
	files, err := filepath.Glob(filepath.Join("testdata", "pdf", "word-printed", "*.pdf"))
	if err != nil || len(files) < 13 {
		t.Fatalf("%d fixtures (%v): run scripts/make-word-printed-fixtures.sh", len(files), err)
	}
	r := NewInProcessPDFReader(Limits{})
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".pdf")
		base := name[:strings.LastIndexByte(name, '-')]
		raws, err := readDOCX(context.Background(), source(t, base), Limits{})
		if err != nil {
			t.Fatalf("%s: readDOCX: %v", base, err)
		}
		want := mapAll(raws)
		for _, printer := range []string{"", "cairo", "ghostscript"} {
			t.Run(strings.TrimSuffix(name+"/"+printer, "/"), func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if printer != "" {
					data = printToPDF[printer](t, t.TempDir(), data)
				}
				raws, err := r.ReadPDF(context.Background(), data)
				if err != nil {
					t.Fatalf("ReadPDF: %v", err)
				}
				got := mapAll(raws)
				if len(got) != len(want) || len(want) == 0 {
					t.Fatalf("%d forms read from the PDF, %d from the Word document", len(got), len(want))
				}
				for i := range want {
					if len(want[i].Values) < 10 {
						t.Fatalf("the Word document's form %d has %d answers: not the form expected", i, len(want[i].Values))
					}
					if got[i].Kind != want[i].Kind {
						t.Errorf("form %d is a %s, want %s", i, got[i].Kind, want[i].Kind)
					}
					for k, v := range want[i].Values {
						if lost, ok := printerLosses[name+"/"+k]; ok {
							v = lost(v)
						}
						if got[i].Values[k] != v {
							t.Errorf("form %d %s = %q, want %q", i, k, got[i].Values[k], v)
						}
					}
					for k, v := range got[i].Values {
						if _, ok := want[i].Values[k]; !ok {
							t.Errorf("form %d %s = %q, not in the Word document", i, k, v)
						}
					}
					if !maps.Equal(got[i].Invalid, want[i].Invalid) {
						t.Errorf("form %d invalid %q, want %q", i, got[i].Invalid, want[i].Invalid)
					}
				}
			})
		}
	}
}

// printerLosses is what LibreOffice's print leaves out of a Word document,
// by fixture and field: the PDF holds it so (pdftotext reads the same).
var printerLosses = map[string]func(string) string{
	// The line breaks inside a plain-text content control: Writer draws
	// "Flat 3, Willow Court12 High StreetBeckenham" on one line.
	"referral-sdt-orig/cyp_address": func(v string) string { return strings.ReplaceAll(v, "\n", "") },
}
