package parser

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
)

// formsEqual asserts that two readings of one form hold the same values,
// field by field, and nothing invalid.
func formsEqual(t *testing.T, what string, got, want *Form) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("%s: form missing (got %v, want %v)", what, got != nil, want != nil)
	}
	for _, k := range slices.Sorted(maps.Keys(want.Values)) {
		if got.Values[k] != want.Values[k] {
			t.Errorf("%s: %s = %q, want %q", what, k, got.Values[k], want.Values[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got.Values)) {
		if _, ok := want.Values[k]; !ok {
			t.Errorf("%s: %s = %q, blank on the clean form", what, k, got.Values[k])
		}
	}
	if len(got.Invalid) > 0 || len(want.Invalid) > 0 {
		t.Errorf("%s: invalid %q (clean form: %q)", what, got.Invalid, want.Invalid)
	}
}

// rawFields reads a fixture's AcroForm field names and values as
// stored, to check the fixture is what its test says it is.
func rawFields(t *testing.T, data []byte) map[string]string {
	t.Helper()
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Trailer().Key("Root")
	pages, err := collectPages(root.Key("Pages"), 100)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := readAcroForm(root, pages)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fields {
		out[f.name] = f.value
	}
	return out
}

// Buttons whose states are positions in /Opt (referral-opt.pdf, made by
// scripts/pdf/optforms.py from referral-filled.pdf) read as the options:
// the same form as the clean one.
func TestReadPDFOptButtons(t *testing.T) {
	opt := pdfFixture(t, "referral-opt.pdf")
	doc, err := pdf.NewReader(bytes.NewReader(opt), int64(len(opt)))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	fields := doc.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	for i := 0; i < fields.Len(); i++ {
		f := fields.Index(i)
		if f.Key("Opt").Kind() == pdf.Array && f.Key("FT").Name() == "Btn" {
			states[f.Key("T").Text()] = f.Key("V").Name()
		}
	}
	wantStates := map[string]string{"cyp_gender": "1", "dx_autism": "0", "dx_learning_disability": "1", "mh_high_risk_admission": "0", "parent_has_pr": "0", "plan_ehcp": "0"}
	for name, st := range wantStates {
		if states[name] != st {
			t.Errorf("fixture: %s has /V /%s with /Opt, want /%s", name, states[name], st)
		}
	}

	got := pdfMapForms(t, opt)[Referral]
	clean := pdfMapForms(t, pdfFixture(t, "referral-filled.pdf"))[Referral]
	formsEqual(t, "referral-opt.pdf", got, clean)
	for name, want := range map[string]string{
		"cyp_gender": "Female", "dx_autism": "true", "dx_learning_disability": "false",
		"mh_high_risk_admission": "true", "parent_has_pr": "true", "plan_ehcp": "true",
	} {
		if got.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, got.Get(name), want)
		}
	}
}

// Sample 01's referral and consent merged into one PDF by qpdf and by
// pdftk read exactly as the two files do (scripts/make-form-fixtures.sh).
func TestReadPDFMergedForms(t *testing.T) {
	sub := parseSample(t, "01-fillable-pdf-happy")
	if sub.Referral == nil || sub.Consent == nil {
		t.Fatal("sample 01 lacks a form")
	}
	tests := []struct {
		file    string
		renamed []string // the consent's clashing fields, as the tool named them
	}{
		{"merged-qpdf.pdf", []string{"cyp_dob+1", "cyp_nhs_number+1"}},
		{"merged-pdftk.pdf", []string{"1.cyp_dob", "1.cyp_nhs_number"}},
		// One field each, shown on both forms' pages.
		{"merged-joined.pdf", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := pdfFixture(t, tt.file)
			raw := rawFields(t, data)
			for _, n := range tt.renamed {
				if _, ok := raw[n]; !ok {
					t.Fatalf("fixture has no field %q", n)
				}
			}
			if tt.renamed == nil {
				for n := range raw {
					if strings.HasSuffix(n, "+1") {
						t.Fatalf("fixture has the renamed field %q", n)
					}
				}
			}
			forms := pdfMapForms(t, data)
			if len(forms) != 2 {
				t.Fatalf("%d forms, want 2", len(forms))
			}
			formsEqual(t, "referral", forms[Referral], sub.Referral)
			formsEqual(t, "consent", forms[Consent], sub.Consent)
			if forms[Consent].Get("cyp_dob") != "2013-04-04" || forms[Consent].Get("cyp_nhs_number") != "9993149586" {
				t.Errorf("consent's renamed fields: dob %q, NHS number %q", forms[Consent].Get("cyp_dob"), forms[Consent].Get("cyp_nhs_number"))
			}
		})
	}
}

func readTestdata(t *testing.T, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readSampleEmail(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name, "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseSample parses a sample email whole.
func parseSample(t *testing.T, name string) *Submission {
	t.Helper()
	raw := readSampleEmail(t, name)
	sub, err := New(Options{}).Parse(context.Background(), raw)
	if err != nil {
		t.Fatalf("Parse %s: %v", name, err)
	}
	return sub
}

// Sample 03's Word forms converted to PDF by LibreOffice read as the Word
// files do, and so does a referral whose diagnosis details wrap over five
// lines of their table cell beside a Yes/No answer.
func TestReadPDFFromWord(t *testing.T) {
	atts := sampleAttachments(t, "03-docx-happy")
	readWord := func(t *testing.T, data []byte) map[FormKind]*Form {
		forms, err := readDOCX(context.Background(), data, Limits{})
		if err != nil {
			t.Fatalf("readDOCX: %v", err)
		}
		m := DefaultMapping()
		out := map[FormKind]*Form{}
		for _, rf := range forms {
			k := m.Classify(rf)
			out[k] = m.Map(k, rf)
		}
		return out
	}
	const longDx = "Moderate learning disability, assessed by the Bromley Child Development Centre in March 2018 (cognitive assessment, WISC-V); autism spectrum condition diagnosed by the Bromley CAMHS Neurodevelopmental Team in June 2020 after an ADOS-2 and ADI-R assessment; sensory processing difficulties noted by the occupational therapist, Bromley Healthcare, 2021; no further diagnoses."
	tests := []struct {
		pdf  string
		word []byte
		kind FormKind
		want map[string]string // besides equality with the Word file
	}{
		{"libreoffice-referral.pdf", atts["DSR Referral Form - Amelia Novak.docx"], Referral, map[string]string{
			"dx_autism":   "true",
			"dx_details":  "Moderate learning disability (Bromley Child Development Centre, 2018); Autism spectrum condition diagnosed by Bromley CAMHS Neurodevelopmental Team, 2020",
			"cyp_address": "Flat 12, Maple House\n40 Masons Hill\nBromley",
			"mh_concern":  "Anxiety and sensory overload leading to aggression at school; excluded twice. Parents exhausted, family at risk of breaking down.",
		}},
		{"libreoffice-consent.pdf", atts["DSR Consent Form - Amelia Novak.docx"], Consent, map[string]string{
			"signatory_name": "Petra Nováková", "consent_basis": BasisParental,
		}},
		{"libreoffice-referral-long-dx.pdf", readFixture(t, "referral-long-dx.docx"), Referral, map[string]string{
			"dx_autism": "true", "dx_details": longDx,
			"svc_social_care": "Children with Disabilities Team - allocated social worker",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pdf, func(t *testing.T) {
			if tt.word == nil {
				t.Fatal("no Word form")
			}
			word := readWord(t, tt.word)[tt.kind]
			got := pdfMapForms(t, pdfFixture(t, tt.pdf))[tt.kind]
			formsEqual(t, tt.pdf, got, word)
			for name, want := range tt.want {
				if got.Get(name) != want || word.Get(name) != want {
					t.Errorf("%s = %q (Word %q), want %q", name, got.Get(name), word.Get(name), want)
				}
			}
		})
	}
}

// Real forms that are not ours are no form at all, however their file is
// named; ours with only a few fields filled are still ours, by their
// fields alone.
func TestThirdPartyFormsAreNotDSRForms(t *testing.T) {
	p := New(Options{})
	for _, file := range []string{"irs-f1040-2025.pdf", "pdfcpu-radiobuttons-vert.pdf"} {
		data := readTestdata(t, "thirdparty", file)
		for _, name := range []string{file, "Consent Form.pdf", "DSR Referral Form.pdf"} {
			a := p.readAttachment(context.Background(), &part{filename: name, mediaType: "application/pdf", data: data, size: int64(len(data))})
			if a.Kind != KindNotForm || len(a.Forms) != 0 {
				t.Errorf("%s named %q: kind %s, %d forms (%s)", file, name, a.Kind, len(a.Forms), a.Error)
			}
		}
	}
	// Word tables like them: three dates; ten genders.
	row := func(label, value string) string {
		return `<w:tr><w:tc><w:p><w:r><w:t>` + label + `</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>` + value + `</w:t></w:r></w:p></w:tc></w:tr>`
	}
	dates := `<w:p><w:r><w:t>Consent form</w:t></w:r></w:p><w:tbl>` + row("Date", "01/04/2026") + row("Signature", "A. Person") + row("Date", "02/04/2026") + row("Date", "03/04/2026") + `</w:tbl>`
	genders := `<w:tbl>`
	for range 10 {
		genders += row("Gender:", "Female")
	}
	genders += `</w:tbl>`
	for name, body := range map[string]string{"dates.docx": dates, "genders.docx": genders} {
		data := docxOf(t, body)
		a := p.readAttachment(context.Background(), &part{filename: name, data: data, size: int64(len(data))})
		if a.Kind != KindNotForm || len(a.Forms) != 0 {
			t.Errorf("%s: kind %s, %d forms (%s)", name, a.Kind, len(a.Forms), a.Error)
		}
	}
}

func TestPartlyFilledReferralIsAReferral(t *testing.T) {
	want := map[string]string{"referral_date": "2026-11-24", "cyp_surname": "Adeyemi", "cyp_dob": "2012-09-09", "dx_autism": "true"}
	m := DefaultMapping()
	for _, file := range []string{"referral-partial.pdf", "referral-partial-flat.pdf"} {
		t.Run(file, func(t *testing.T) {
			raw, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), pdfFixture(t, file))
			if err != nil || len(raw) != 1 {
				t.Fatalf("ReadPDF: %d forms, %v", len(raw), err)
			}
			rf := raw[0]
			if k := m.Classify(rf); k != Referral {
				t.Fatalf("Classify = %q", k)
			}
			// By its fields alone: without the printed code and title.
			bare := *rf
			bare.Kind, bare.Marked, bare.Title = "", false, ""
			if k := m.Classify(&bare); k != Referral {
				t.Errorf("by fields alone: Classify = %q (distinct %v)", k, m.distinctFields(&bare))
			}
			f := m.Map(Referral, rf)
			for name, v := range want {
				if f.Get(name) != v {
					t.Errorf("%s = %q, want %q", name, f.Get(name), v)
				}
			}
			for name, v := range f.Values {
				if _, ok := want[name]; !ok && v != "false" { // unticked plan boxes read "false"
					t.Errorf("%s = %q, blank on the form", name, v)
				}
			}
		})
	}
	// A Word referral with three of its fields filled in, and no title.
	row := func(label, value string) string {
		return `<w:tr><w:tc><w:p><w:r><w:t>` + label + `</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>` + value + `</w:t></w:r></w:p></w:tc></w:tr>`
	}
	body := `<w:tbl>` + row("Date of referral", "24/11/2026") + row("First name(s)", "") + row("Surname", "Adeyemi") +
		row("Date of birth", "09/09/2012") + row("NHS number", "") + row("Gender", "") + row("Proposed RAG rating", "") + `</w:tbl>`
	a := New(Options{}).readAttachment(context.Background(), &part{filename: "scan0001.docx", data: docxOf(t, body)})
	if a.Kind != KindReferral || len(a.Forms) != 1 || a.Forms[0].Get("cyp_surname") != "Adeyemi" || a.Forms[0].Get("cyp_dob") != "2012-09-09" {
		t.Errorf("partly filled Word referral: kind %s, forms %d", a.Kind, len(a.Forms))
	}
}

// The child process hands back whether a form printed its code: the
// parent classifies by it.
func TestChildPDFReaderKeepsMarked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	r := NewChildPDFReader([]string{os.Args[0], "-test.run=^$"}, Limits{}, childEnv+"=serve")
	forms, err := r.ReadPDF(context.Background(), pdfFixture(t, "combined-flat.pdf"))
	if err != nil || len(forms) != 2 {
		t.Fatalf("forms %d, err %v", len(forms), err)
	}
	for i, want := range []FormKind{Referral, Consent} {
		if forms[i].Kind != want || !forms[i].Marked {
			t.Errorf("form %d: kind %q, marked %v; want %q, marked", i, forms[i].Kind, forms[i].Marked, want)
		}
	}
}

// TestChoiceExportValues: a combo box whose options pair an export value
// with the text shown ([(3) (Amber)], as Acrobat writes a list made with
// export values) holds the export value; the answer is the text the
// referrer picked. pdftk lists the value as 3 and the option's display as
// Amber; the RAG rating reads Amber, where "3" was an invalid rating.
func TestChoiceExportValues(t *testing.T) {
	dir := t.TempDir()
	opt := regexp.MustCompile(`/Opt \[\s*\(Blue\)\s*\(Red\)\s*\(Amber\)\s*\(Green\)\s*\]`)
	amber := regexp.MustCompile(`(/T \(rag_rating\)(?s:.{0,80}?))/V <feff0041006d006200650072>`)
	data := editQDF(t, dir, pdfFixture(t, "referral-filled.pdf"), func(qdf []byte) []byte {
		out := opt.ReplaceAll(qdf, []byte("/Opt [ [(1) (Blue)] [(2) (Red)] [(3) (Amber)] [(4) (Green)] ]"))
		out = amber.ReplaceAll(out, []byte("$1/V (3)"))
		if bytes.Count(out, []byte("[(3) (Amber)]")) != 1 || !bytes.Contains(out, []byte("/V (3)")) {
			t.Fatal("the RAG rating's options and value were not rewritten")
		}
		return out
	})
	file := filepath.Join(dir, "export-values.pdf")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(needPeer(t, "pdftk"), file, "dump_data_fields_utf8").Output()
	if err != nil {
		t.Fatalf("pdftk: %v", err)
	}
	if !bytes.Contains(out, []byte("FieldName: rag_rating\n")) || !bytes.Contains(out, []byte("FieldValue: 3\n")) || !bytes.Contains(out, []byte("FieldStateOptionDisplay: Amber\n")) {
		t.Fatalf("pdftk does not read the export value and its display:\n%s", out)
	}
	got := pdfMapForms(t, data)[Referral]
	if got == nil || got.Values["rag_rating"] != "Amber" || got.Invalid["rag_rating"] != "" {
		t.Fatalf("rag_rating read %q (invalid %q), want Amber", got.Values["rag_rating"], got.Invalid["rag_rating"])
	}
}
