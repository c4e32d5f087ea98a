package parser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestParseFormsFilledByEngines reads the sample referral's forms as the
// PDF engines of browsers and web apps fill and save them, from the blank
// forms (testdata/pdf/engines, made by scripts/pdf/engines/make.sh): pdf.js
// (Firefox), PDFium (Chrome, Edge) and pdf-lib, each typing the values
// pdftk reads from the sample's own forms. A form whose fields are left
// reads exactly as the sample; one flattened to its page alone reads as a
// printed form does (samePrintedValues: an unticked box is an empty box,
// not "No").
func TestParseFormsFilledByEngines(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", "01-fillable-pdf-happy", "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	clean, _ := rebuildEmail(t, raw, nil)
	p := New(Options{})
	ctx := context.Background()
	want, err := p.Parse(ctx, clean)
	if err != nil {
		t.Fatal(err)
	}
	if want.Referral == nil || want.Consent == nil {
		t.Fatal("the sample's forms were not read")
	}
	for _, tc := range []struct {
		engine string
		// Flattened to the page, the fields gone: read from its text.
		flattened bool
	}{
		{"pdfjs", false},
		{"pdfium", false},
		// PDFium's FPDFPage_Flatten draws the widgets into the page and
		// takes them off it, but leaves the fields, with their values,
		// in /AcroForm (pdftk still lists all of them): read from there.
		{"pdfium-flat", false},
		{"pdflib", false},
		{"pdflib-flat", true},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			fixture := func(kind string) []byte {
				b, err := os.ReadFile(filepath.Join("testdata", "pdf", "engines", tc.engine+"-"+kind+".pdf"))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			swapped := map[string]int{}
			email, _ := rebuildEmail(t, raw, func(pdf []byte) []byte {
				// The sample's referral names its RAG rating field; the
				// consent form has none.
				kind := "consent"
				if bytes.Contains(pdf, []byte("rag_rating")) {
					kind = "referral"
				}
				swapped[kind]++
				return fixture(kind)
			})
			if swapped["referral"] != 1 || swapped["consent"] != 1 {
				t.Fatalf("forms swapped: %v", swapped)
			}
			got, err := p.Parse(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.flattened {
				sameForms(t, got, want)
				return
			}
			samePrintedForms(t, got, want)
			for _, f := range []*Form{got.Referral, got.Consent} {
				if f.Source != "pdf-text" {
					t.Errorf("%s read from %s, want its printed text", f.Kind, f.Source)
				}
			}
			if !reflect.DeepEqual(got.Problems, want.Problems) {
				t.Errorf("problems %q, want %q", got.Problems, want.Problems)
			}
		})
	}
}
