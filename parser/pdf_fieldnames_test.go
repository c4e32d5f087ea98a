package parser

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// qpdfFieldNames is the full name of every form field of a PDF, as
// qpdf --json lists them (each name once).
func qpdfFieldNames(t *testing.T, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Fatal("qpdf is needed (scripts/install-test-deps.sh installs it)")
	}
	out, err := exec.Command("qpdf", "--json", "--json-key=acroform", path).Output()
	if err != nil {
		t.Fatalf("qpdf --json %s: %v", path, err)
	}
	var doc struct {
		AcroForm struct {
			Fields []struct {
				FullName string `json:"fullname"`
			} `json:"fields"`
		} `json:"acroform"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range doc.AcroForm.Fields {
		if !slices.Contains(names, f.FullName) {
			names = append(names, f.FullName)
		}
	}
	slices.Sort(names)
	return names
}

// Every AcroForm field of our forms is reported by name, filled or not,
// as qpdf (and pdftk) list them: a blank form's names too, though its
// answers come from its printed text. A blank field's value is empty, so
// it stays missing, and a blank form maps to no values at all.
func TestReadPDFEveryFieldName(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qpdf")
	}
	for _, tc := range []struct {
		path  string
		blank bool
	}{
		// The blank templates (the consent template's only copy in the
		// repository is the fixture script's).
		{path: "testdata/pdf/referral-blank.pdf", blank: true},
		{path: "../scripts/pdf/dsr-consent-form.pdf", blank: true},
		{path: "testdata/pdf/referral-partial.pdf"},
		{path: "testdata/pdf/referral-filled.pdf"},
		{path: "testdata/pdf/combined-filled.pdf"},
		{path: "testdata/pdf/merged-qpdf.pdf"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			want := qpdfFieldNames(t, tc.path)
			if len(want) < 20 {
				t.Fatalf("qpdf lists %d fields", len(want))
			}
			data := pdfFixture(t, filepath.Join("..", "..", tc.path))
			forms, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			m := DefaultMapping()
			for _, rf := range forms {
				for name, v := range rf.ByName {
					got[name] = true
					if tc.blank && v != "" {
						t.Errorf("blank form: %s = %q", name, v)
					}
				}
				if !tc.blank {
					continue
				}
				if rf.Source != "pdf-text" || rf.Kind == "" || m.Classify(rf) != rf.Kind {
					t.Errorf("blank form read as %s %q, classified %q", rf.Source, rf.Kind, m.Classify(rf))
				}
				if f := m.Map(rf.Kind, rf); len(f.Values)+len(f.Invalid) != 0 {
					t.Errorf("blank form has values %q, invalid %q", f.Values, f.Invalid)
				}
			}
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, want) {
				t.Errorf("field names\n got %q\nwant %q", names, want)
			}
		})
	}
}

// widgetPDF is a one-page PDF whose page prints text (or nothing) and
// whose AcroForm holds the given field dictionaries, each a widget on the
// page.
func widgetPDF(text string, fields ...string) []byte {
	content := ""
	if text != "" {
		content = fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET\n", text)
	}
	objs := [][]byte{
		nil, // the catalog, once the fields' numbers are known
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		nil, // the page
		flateStream("", []byte(content)),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
	}
	var refs []string
	for i, f := range fields {
		n := len(objs) + 1
		refs = append(refs, fmt.Sprintf("%d 0 R", n))
		objs = append(objs, fmt.Appendf(nil, "<< /Type /Annot /Subtype /Widget /P 3 0 R /Rect [72 %d 300 %d] %s >>", 600-30*i, 620-30*i, f))
	}
	all := strings.Join(refs, " ")
	objs[0] = fmt.Appendf(nil, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [%s] >> >>", all)
	objs[2] = fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [%s] >>", all)
	return testPDF(objs...)
}

// A PDF of widgets with no text layer is a form with nothing filled, not
// a scan: its kind comes from its field names alone. A scan with only a
// signature field (a signed scan) is still a scan. Push buttons and
// signatures are reported by name with a blank value, in a filled form
// too, and never hide a same-named field's answer.
func TestReadPDFWidgetOnlyAndButtonNames(t *testing.T) {
	text := func(name, v string) string { return fmt.Sprintf("/FT /Tx /T (%s) /V (%s)", name, v) }
	push := func(name string) string { return fmt.Sprintf("/FT /Btn /Ff 65536 /T (%s)", name) }
	sig := func(name string) string { return fmt.Sprintf("/FT /Sig /T (%s)", name) }
	tests := []struct {
		name   string
		data   []byte
		reason string
		byName map[string]string
		kind   FormKind
	}{
		{
			name:   "blank DSR referral fields, no text",
			data:   widgetPDF("", text("cyp_first_names", ""), text("cyp_surname", ""), text("referral_date", ""), text("cyp_postcode", ""), push("print")),
			byName: map[string]string{"cyp_first_names": "", "cyp_surname": "", "referral_date": "", "cyp_postcode": "", "print": ""},
			kind:   Referral,
		},
		{
			name:   "blank third-party fields, no text",
			data:   widgetPDF("", text("Text1", ""), text("Text2", ""), "/FT /Btn /T (Check Box 1) /V /Off", push("Button3")),
			byName: map[string]string{"Text1": "", "Text2": "", "Check Box 1": "", "Button3": ""},
		},
		{
			name:   "an empty name is a name",
			data:   widgetPDF("", text("", "")),
			byName: map[string]string{"": ""},
		},
		{
			name:   "signed scan",
			data:   widgetPDF("", sig("Signature1")),
			reason: ReasonPDFScan,
		},
		{
			name:   "filled, with buttons and a signature",
			data:   widgetPDF("Some form", sig("sign"), push("Reset"), text("Name", "Zo\\353 Example"), push("Name"), "/FT /Btn /T (Tick) /V /Off"),
			byName: map[string]string{"sign": "", "Reset": "", "Name": "Zoë Example", "Tick": "Off"},
		},
	}
	r := NewInProcessPDFReader(Limits{})
	m := DefaultMapping()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forms, err := r.ReadPDF(context.Background(), tc.data)
			if tc.reason != "" {
				if ReasonOf(err) != tc.reason {
					t.Fatalf("err %v, want %q", err, tc.reason)
				}
				return
			}
			if err != nil || len(forms) != 1 {
				t.Fatalf("forms %d, err %v", len(forms), err)
			}
			rf := forms[0]
			if !maps.Equal(rf.ByName, tc.byName) {
				t.Errorf("ByName %q, want %q", rf.ByName, tc.byName)
			}
			k := m.Classify(rf)
			if k != tc.kind {
				t.Errorf("classified %q, want %q", k, tc.kind)
			}
			if k != "" {
				if f := m.Map(k, rf); len(f.Values)+len(f.Invalid) != 0 {
					t.Errorf("blank form has values %q, invalid %q", f.Values, f.Invalid)
				}
			}
		})
	}
}

// Third-party blank forms list every field name as qpdf does, and are
// still no DSR form: a tax return and a form demo (printed text and
// unfilled fields; their names were not reported), and qpdf's own test
// form of two text fields with no text layer at all (it was "a scan").
func TestThirdPartyFormsEveryFieldName(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qpdf")
	}
	p := New(Options{})
	for _, path := range []string{
		"testdata/thirdparty/irs-f1040-2025.pdf",
		"testdata/thirdparty/pdfcpu-radiobuttons-vert.pdf",
		"../testdata/thirdparty/pdf/qpdf-form-no-need-appearances.pdf",
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := qpdfFieldNames(t, path)
			data := pdfFixture(t, filepath.Join("..", "..", path))
			forms, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, rf := range forms {
				for name := range rf.ByName {
					got[name] = true
				}
			}
			if names := slices.Sorted(maps.Keys(got)); len(want) == 0 || !slices.Equal(names, want) {
				t.Errorf("field names\n got %q\nwant %q", names, want)
			}
			a := p.readAttachment(context.Background(), &part{filename: "DSR Referral Form.pdf", mediaType: "application/pdf", data: data, size: int64(len(data))})
			if a.Kind != KindNotForm || len(a.Forms) != 0 {
				t.Errorf("kind %s, %d forms (%s)", a.Kind, len(a.Forms), a.Error)
			}
		})
	}
}
