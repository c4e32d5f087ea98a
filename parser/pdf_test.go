package parser

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
)

func pdfFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfMapForms reads a PDF and maps each form found by its kind.
func pdfMapForms(t *testing.T, data []byte) map[FormKind]*Form {
	t.Helper()
	raw, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), data)
	if err != nil {
		t.Fatalf("ReadPDF: %v", err)
	}
	m := DefaultMapping()
	out := map[FormKind]*Form{}
	for _, rf := range raw {
		k := m.Classify(rf)
		if k == "" {
			t.Fatalf("form not classified: %+v", rf)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("two %s forms", k)
		}
		out[k] = m.Map(k, rf)
	}
	return out
}

func TestReadPDFFixtures(t *testing.T) {
	type want struct {
		kind   FormKind
		source string
		values map[string]string
		absent []string // blank on the form: must not be read from elsewhere
	}
	referralFilled := map[string]string{
		"referral_date": "2026-11-19", "cyp_first_names": "Zoë", "cyp_surname": "Nguyễn",
		"cyp_dob": "2012-02-14", "cyp_nhs_number": "9995628198", "cyp_gender": "Female",
		"cyp_address":            "Flat 2, Siobhán Court\n14 Masons Hill\nBromley",
		"dx_learning_disability": "false", "dx_autism": "true", "mh_high_risk_admission": "true",
		"plan_ehcp": "true", "plan_pbs": "false", "rag_rating": "Amber", "parent_name": "Siobhán Nguyễn",
		"parent_has_pr": "true", "referrer_name": "Tomás Byrne",
	}
	// Flattening drops what the appearance fonts cannot draw (ễ), so the
	// flattened forms are checked on the rest.
	referralFlat := map[string]string{
		"referral_date": "2026-11-19", "cyp_first_names": "Zoë", "cyp_known_as": "Zo",
		"cyp_dob": "2012-02-14", "cyp_nhs_number": "9995628198", "cyp_gender": "Female",
		"cyp_address": "Flat 2, Siobhán Court\n14 Masons Hill\nBromley", "cyp_postcode": "BR2 9HA",
		"dx_learning_disability": "false", "dx_autism": "true", "mh_high_risk_admission": "true",
		// The box wraps the text over two lines; it reads as it was
		// filled in (referral.xfdf), while the address keeps its lines.
		"dx_details": "Autism spectrum condition diagnosed by Bromley CAMHS Neurodevelopmental Team, 2019",
		"mh_concern": "Self-harm and food refusal since September; two A&E attendances.",
		"plan_ehcp":  "true", "plan_crisis": "true", "rag_rating": "Amber", "parent_has_pr": "true",
		"svc_health": "Bromley CAMHS", "svc_education": "Ravensbourne School",
		"referrer_name": "Tomás Byrne", "referrer_phone": "020 7946 0999",
	}
	consentValues := map[string]string{
		"cyp_dob": "2012-02-14", "cyp_nhs_number": "9995628198", "consent_basis": BasisBestInterest,
		"consent_given": "false", "factsheet_given": "true", "share_health": "true",
		"bid_decision_maker": "Dr Aoife Ó Súilleabháin", "bid_date": "2026-11-18",
		"bid_reason": "Parents decline consent; risk of admission is high.\nA DSR review is in Zoë's best interest.",
	}
	refAbsent := []string{"placement_breakdown_risk", "inpatient_hospital", "svc_social_care", "plan_other"}
	conAbsent := []string{"yp_has_capacity", "signatory_name", "signatory_has_pr", "signed_date"}
	tests := []struct {
		file  string
		forms []want
	}{
		{"referral-filled.pdf", []want{{Referral, "acroform", referralFilled, []string{"placement_breakdown_risk"}}}},
		{"consent-filled.pdf", []want{{Consent, "acroform", pdfMerge(consentValues, map[string]string{"cyp_full_name": "Zoë Nguyễn", "share_social_care": "false"}), conAbsent}}},
		{"referral-flat-pdftk.pdf", []want{{Referral, "pdf-text", referralFlat, refAbsent}}},
		{"referral-flat-qpdf.pdf", []want{{Referral, "pdf-text", referralFlat, refAbsent}}},
		{"consent-flat-pdftk.pdf", []want{{Consent, "pdf-text", consentValues, conAbsent}}},
		{"consent-flat-qpdf.pdf", []want{{Consent, "pdf-text", consentValues, conAbsent}}},
		// The reason's one line, at the top of its tall box, is nearer the
		// blank date's label than its own two-line label's middle.
		{"consent-flat-no-bid-date.pdf", []want{{Consent, "pdf-text", pdfMerge(consentValues, map[string]string{"bid_date": "", "bid_reason": "Parents decline consent; risk of admission is high."}),
			append(slices.Clip(conAbsent), "bid_date")}}},
		{"combined-filled.pdf", []want{
			{Referral, "acroform", referralFilled, nil},
			{Consent, "acroform", consentValues, conAbsent},
		}},
		{"combined-flat.pdf", []want{
			{Referral, "pdf-text", referralFlat, refAbsent},
			{Consent, "pdf-text", consentValues, conAbsent},
		}},
		{"type0-table.pdf", []want{{Referral, "pdf-text", map[string]string{
			"referral_date": "2026-11-19", "cyp_surname": "Okafor-Lévesque", "cyp_dob": "2013-07-07",
			"cyp_nhs_number": "9993149586", "cyp_address": "12 Elmfield Road\nBromley", "cyp_postcode": "BR1 1LR",
			"dx_autism": "true", "dx_learning_disability": "false", "rag_rating": "Amber",
		}, []string{"cyp_first_names", "mh_concern"}}}},
		{"label-inline.pdf", []want{{Consent, "pdf-text", map[string]string{
			"cyp_full_name": "Zoë Hart", "cyp_dob": "2012-03-03", "cyp_nhs_number": "9991058834",
			"consent_basis": BasisParental, "consent_given": "true", "factsheet_given": "true",
		}, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			forms := pdfMapForms(t, pdfFixture(t, tc.file))
			if len(forms) != len(tc.forms) {
				t.Fatalf("got %d forms, want %d", len(forms), len(tc.forms))
			}
			for _, w := range tc.forms {
				f := forms[w.kind]
				if f == nil {
					t.Fatalf("no %s form", w.kind)
				}
				if f.Source != w.source {
					t.Errorf("%s source = %q, want %q", w.kind, f.Source, w.source)
				}
				for name, v := range w.values {
					if got := f.Values[name]; got != v {
						t.Errorf("%s %s = %q, want %q (invalid: %q)", w.kind, name, got, v, f.Invalid[name])
					}
				}
				for _, name := range w.absent {
					if f.Has(name) {
						t.Errorf("%s %s = %q/%q, want blank", w.kind, name, f.Values[name], f.Invalid[name])
					}
				}
				if len(f.Invalid) > 0 {
					t.Errorf("%s invalid fields: %q", w.kind, f.Invalid)
				}
			}
		})
	}
}

func pdfMerge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestReadPDFRawDetails(t *testing.T) {
	ctx := context.Background()
	r := NewInProcessPDFReader(Limits{})
	t.Run("checkbox and radio states", func(t *testing.T) {
		forms, err := r.ReadPDF(ctx, pdfFixture(t, "referral-filled.pdf"))
		if err != nil || len(forms) != 1 {
			t.Fatalf("forms %d, err %v", len(forms), err)
		}
		for name, want := range map[string]string{
			"plan_pbs":                 "Off", // unticked checkbox
			"plan_ehcp":                "Yes",
			"placement_breakdown_risk": "", // radio pair, nothing chosen
			"dx_learning_disability":   "No",
		} {
			if got, ok := forms[0].ByName[name]; !ok || got != want {
				t.Errorf("ByName[%s] = %q (present %v), want %q", name, got, ok, want)
			}
		}
	})
	t.Run("combined: renamed consent fields on the consent form", func(t *testing.T) {
		forms, err := r.ReadPDF(ctx, pdfFixture(t, "combined-filled.pdf"))
		if err != nil || len(forms) != 2 {
			t.Fatalf("forms %d, err %v", len(forms), err)
		}
		if forms[0].Kind != Referral || forms[1].Kind != Consent {
			t.Fatalf("kinds %s, %s", forms[0].Kind, forms[1].Kind)
		}
		if _, ok := forms[0].ByName["1.cyp_dob"]; ok {
			t.Error("consent page's cyp_dob on the referral")
		}
		if forms[1].ByName["1.cyp_dob"] != "14/02/2012" || forms[1].ByName["cyp_full_name"] == "" {
			t.Errorf("consent ByName = %q", forms[1].ByName)
		}
		if _, ok := forms[1].ByName["referral_date"]; ok {
			t.Error("referral field on the consent form")
		}
	})
	t.Run("flattened labels and tick pairs", func(t *testing.T) {
		forms, err := r.ReadPDF(ctx, pdfFixture(t, "consent-flat-qpdf.pdf"))
		if err != nil || len(forms) != 1 {
			t.Fatalf("forms %d, err %v", len(forms), err)
		}
		got := map[string]string{}
		for _, lv := range forms[0].ByLabel {
			got[lv.Label] = lv.Value
		}
		for label, want := range map[string]string{
			"I consent to inclusion on the DSR":               "Yes ✓ No",
			"Share with: SELECT key worker programme":         "", // two-line label, unticked
			"Share with: Health":                              "✓",
			"Significant concern and reason for the decision": "Parents decline consent; risk of admission is high.\nA DSR review is in Zoë's best interest.",
		} {
			if v, ok := got[label]; !ok || v != want {
				t.Errorf("label %q = %q (found %v), want %q", label, v, ok, want)
			}
		}
		if !strings.Contains(forms[0].Title, "Consent Form") {
			t.Errorf("title %q", forms[0].Title)
		}
	})
	t.Run("blank fillable form falls back to page text", func(t *testing.T) {
		forms, err := r.ReadPDF(ctx, pdfFixture(t, "referral-blank.pdf"))
		if err != nil || len(forms) != 1 {
			t.Fatalf("forms %d, err %v", len(forms), err)
		}
		f := forms[0]
		if f.Kind != Referral || f.Source != "pdf-text" || len(f.ByLabel) < 40 {
			t.Errorf("kind %s source %s, %d labels", f.Kind, f.Source, len(f.ByLabel))
		}
		// Only the printed "Yes  No" options of the radio pairs are there.
		if mf := DefaultMapping().Map(Referral, f); len(mf.Values)+len(mf.Invalid) != 0 {
			t.Errorf("blank form has values %q, invalid %q", mf.Values, mf.Invalid)
		}
	})
}

func TestReadPDFUnreadable(t *testing.T) {
	tests := []struct {
		file   string
		data   []byte
		reason string
	}{
		// Only a file that needs a password to open is encrypted; the
		// owner-password-only encrypted-*.pdf are read
		// (TestReadPDFViewerSaves).
		{file: "viewer/user-rc4-40.pdf", reason: ReasonPDFEncrypted},
		{file: "viewer/user-aes256.pdf", reason: ReasonPDFEncrypted},
		{file: "scan.pdf", reason: ReasonPDFScan},
		{file: "corrupt.pdf", reason: ReasonPDFDamaged},
		{file: "truncated.pdf", reason: ReasonPDFTruncated},
		{file: "not-a-pdf.pdf", reason: ReasonPDFNotPDF},
		{file: "cyclic-pages.pdf", reason: ReasonPDFDamaged},
		{file: "many-pages.pdf", reason: ReasonPDFTooManyPages},
		// prev-loop.pdf, whose /Prev points at itself, is read by its
		// objects as qpdf and poppler read it: TestReadPDFReconstructed.
		{file: "huge-size.pdf", reason: ReasonPDFTooManyObjs},
		{file: "empty", data: []byte{}, reason: ReasonPDFNotPDF},
	}
	r := NewInProcessPDFReader(Limits{PDFTimeout: 5 * time.Second})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = pdfFixture(t, tc.file)
			}
			start := time.Now()
			forms, err := r.ReadPDF(context.Background(), data)
			if time.Since(start) > 4*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (forms %d), want UnreadableError", err, len(forms))
			}
			if ue.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", ue.Reason, tc.reason)
			}
		})
	}
}

func TestReadPDFPageLimit(t *testing.T) {
	// The referral is three pages: a limit of two refuses it before any
	// page is read.
	r := NewInProcessPDFReader(Limits{MaxPDFPages: 2})
	_, err := r.ReadPDF(context.Background(), pdfFixture(t, "referral-filled.pdf"))
	if ReasonOf(err) != ReasonPDFTooManyPages {
		t.Fatalf("err = %v", err)
	}
	r = NewInProcessPDFReader(Limits{MaxPDFObjects: 20})
	_, err = r.ReadPDF(context.Background(), pdfFixture(t, "referral-filled.pdf"))
	if ReasonOf(err) != ReasonPDFTooManyObjs {
		t.Fatalf("err = %v", err)
	}
}

func TestReadPDFTimeLimit(t *testing.T) {
	// An expired budget: the reader stops at its first check.
	_, err := NewInProcessPDFReader(Limits{PDFTimeout: time.Nanosecond}).ReadPDF(context.Background(), pdfFixture(t, "referral-flat-qpdf.pdf"))
	if ReasonOf(err) != ReasonPDFTimeout {
		t.Fatalf("err = %v", err)
	}
}

func TestReadPDFContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewInProcessPDFReader(Limits{}).ReadPDF(ctx, pdfFixture(t, "referral-flat-qpdf.pdf"))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestObjIDWorks guards the reflection objID relies on: if the library
// renames its fields, cycle detection and widget-to-page matching stop.
func TestObjIDWorks(t *testing.T) {
	data := pdfFixture(t, "combined-filled.pdf")
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := collectPages(doc.Trailer().Key("Root").Key("Pages"), 60)
	if err != nil || len(pages) != 5 {
		t.Fatalf("pages %d, err %v", len(pages), err)
	}
	seen := map[uint64]bool{}
	for i, p := range pages {
		id, ok := objID(p.V)
		if !ok || seen[id] {
			t.Fatalf("page %d: id %d ok %v (seen %v)", i, id, ok, seen[id])
		}
		seen[id] = true
	}
}

// TestRefIDWorks guards the reflection refID relies on: without it every
// form XObject loads its fonts' dictionaries again.
func TestRefIDWorks(t *testing.T) {
	data := pdfFixture(t, "referral-flat-qpdf.pdf")
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := collectPages(doc.Trailer().Key("Root").Key("Pages"), 60)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range pages {
		fonts := p.V.Key("Resources").Key("Font")
		for _, name := range fonts.Keys() {
			id, ok := refID(fonts, name)
			want, wantOK := objID(fonts.Key(name))
			if !ok || !wantOK || id != want {
				t.Errorf("font %s: refID %d %v, objID %d %v", name, id, ok, want, wantOK)
			}
			found++
		}
		if _, ok := refID(p.V, "MediaBox"); ok {
			t.Error("refID of a direct array")
		}
		if _, ok := refID(p.V, "NoSuchKey"); ok {
			t.Error("refID of a missing key")
		}
		// A stream's dictionary: the content stream's /Length, direct
		// or not.
		if c := p.V.Key("Contents"); c.Kind() == pdf.Stream {
			id, ok := refID(c, "Length")
			want, _ := objID(c.Key("Length"))
			cid, _ := objID(c)
			if ok != (want != cid) || (ok && id != want) {
				t.Errorf("content /Length: refID %d %v, objID %d (stream %d)", id, ok, want, cid)
			}
		}
	}
	if found == 0 {
		t.Fatal("no fonts")
	}
	// An array's elements: a fillable form's widget annotations.
	data = pdfFixture(t, "referral-filled.pdf")
	if doc, err = pdf.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if pages, err = collectPages(doc.Trailer().Key("Root").Key("Pages"), 60); err != nil {
		t.Fatal(err)
	}
	annots := pages[0].V.Key("Annots")
	for j := 0; j < annots.Len(); j++ {
		id, ok := elemRefID(annots, j)
		want, wantOK := objID(annots.Index(j))
		if !ok || !wantOK || id != want {
			t.Errorf("annotation %d: elemRefID %d %v, objID %d %v", j, id, ok, want, wantOK)
		}
	}
	if annots.Len() == 0 {
		t.Fatal("no annotations")
	}
	if _, ok := elemRefID(pages[0].V.Key("MediaBox"), 0); ok {
		t.Error("elemRefID of a number")
	}
}

// Samples: the PDFs attached to the sample emails, checked against each
// sample's expected.json fields.
func TestReadPDFSamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i]) // the sample folders, not the README beside them
	}
	specific := map[string]map[string]string{
		"02-flattened-pdf-happy": {
			"cyp_address": "6 Rectory Lane\nBeckenham", "dx_autism": "true", "plan_ehcp": "true",
			"plan_crisis": "true", "parent_has_pr": "true", "mh_high_risk_admission": "true",
			// The box wrapped the text over three lines: it reads as typed.
			"mh_concern":    "Distressed behaviour at home and school, self-harm by cutting, hearing voices telling them to self-harm. Seen by the CAMHS crisis team twice.",
			"consent_given": "true", "share_select": "true", "signed_date": "2026-11-17",
			"consent_basis": BasisParental,
		},
		"07-best-interest-decision": {"consent_given": "false", "bid_date": "2026-11-23"},
	}
	ran := 0
	for _, dir := range dirs {
		pdfs := pdfSampleAttachments(t, filepath.Join(dir, "message.eml"))
		if len(pdfs) == 0 {
			continue
		}
		ran++
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var exp struct {
				Fields map[string]string `json:"fields"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			got := map[FormKind]*Form{}
			for _, data := range pdfs {
				for k, f := range pdfMapForms(t, data) {
					got[k] = f
				}
			}
			want := pdfMerge(exp.Fields, specific[name])
			for field, v := range want {
				found := false
				for _, k := range []FormKind{Referral, Consent} {
					if _, ok := Spec(k, field); ok && got[k] != nil && got[k].Values[field] == v {
						found = true
					}
				}
				if !found {
					t.Errorf("%s = %q not found (referral %q, consent %q)", field, v, got[Referral].Get(field), got[Consent].Get(field))
				}
			}
			for k, f := range got {
				if len(f.Invalid) > 0 {
					t.Errorf("%s invalid: %q", k, f.Invalid)
				}
			}
		})
	}
	if ran < 5 {
		t.Errorf("only %d samples had PDFs", ran)
	}
}

// pdfSampleAttachments extracts the PDF attachments of an email.
func pdfSampleAttachments(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var walk func(ctype, cte string, body io.Reader, depth int)
	walk = func(ctype, cte string, body io.Reader, depth int) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil || depth > 5 {
			return
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			}
		}
		if mt != "application/pdf" && !(mt == "application/octet-stream" && strings.HasSuffix(strings.ToLower(params["name"]), ".pdf")) {
			return
		}
		var rd io.Reader = body
		switch strings.ToLower(cte) {
		case "base64":
			rd = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			rd = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, b)
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	return out
}

func TestChildPDFReader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	self := []string{os.Args[0], "-test.run=^$"}
	ctx := context.Background()
	t.Run("reads a form", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{}, childEnv+"=serve")
		forms, err := r.ReadPDF(ctx, pdfFixture(t, "combined-filled.pdf"))
		if err != nil || len(forms) != 2 {
			t.Fatalf("forms %d, err %v", len(forms), err)
		}
		if forms[1].Kind != Consent || forms[1].ByName["cyp_full_name"] != "Zoë Nguyễn" {
			t.Errorf("consent = %+v", forms[1])
		}
	})
	t.Run("passes the reason back", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{}, childEnv+"=serve")
		_, err := r.ReadPDF(ctx, pdfFixture(t, "viewer/user-aes256.pdf"))
		if ReasonOf(err) != ReasonPDFEncrypted {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("kills a hung child", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{PDFTimeout: 500 * time.Millisecond}, childEnv+"=hang")
		start := time.Now()
		_, err := r.ReadPDF(ctx, pdfFixture(t, "scan.pdf"))
		if ReasonOf(err) != ReasonPDFTimeout {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("returned after %s", d)
		}
	})
	t.Run("reports memory exhaustion", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{PDFTimeout: 20 * time.Second}, childEnv+"=oom")
		_, err := r.ReadPDF(ctx, pdfFixture(t, "scan.pdf"))
		if ReasonOf(err) != ReasonPDFMemory {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("one child reads many PDFs in turn", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{}, childEnv+"=serve").(*childPDF)
		var pids []int
		for i, name := range []string{"referral-filled.pdf", "viewer/user-aes256.pdf", "consent-flat-qpdf.pdf"} {
			forms, err := r.ReadPDF(ctx, pdfFixture(t, name))
			if (i == 1) != (ReasonOf(err) == ReasonPDFEncrypted) || (i != 1 && (err != nil || len(forms) != 1)) {
				t.Fatalf("%s: forms %d, err %v", name, len(forms), err)
			}
			if len(r.idle) != 1 {
				t.Fatalf("after %s: %d idle children, want 1", name, len(r.idle))
			}
			pids = append(pids, r.idle[0].cmd.Process.Pid)
		}
		if pids[0] != pids[1] || pids[1] != pids[2] {
			t.Errorf("children %v: want one reused", pids)
		}
		// A child that died while idle is replaced, not used.
		r.idle[0].kill()
		if _, err := r.ReadPDF(ctx, pdfFixture(t, "referral-filled.pdf")); err != nil {
			t.Fatalf("after the child died: %v", err)
		}
	})
	t.Run("a hung child is replaced", func(t *testing.T) {
		r := NewChildPDFReader(self, Limits{PDFTimeout: 500 * time.Millisecond}, childEnv+"=hang").(*childPDF)
		for i := 0; i < 2; i++ {
			if _, err := r.ReadPDF(ctx, pdfFixture(t, "scan.pdf")); ReasonOf(err) != ReasonPDFTimeout {
				t.Fatalf("read %d: err = %v", i, err)
			}
			if len(r.idle) != 0 {
				t.Fatalf("a killed child was kept")
			}
		}
	})
	t.Run("cannot start", func(t *testing.T) {
		r := NewChildPDFReader([]string{filepath.Join(t.TempDir(), "missing")}, Limits{})
		_, err := r.ReadPDF(ctx, []byte("%PDF-1.4"))
		var ue *UnreadableError
		if err == nil || errors.As(err, &ue) {
			t.Fatalf("err = %v, want a plain error", err)
		}
	})
}

func FuzzReadPDF(f *testing.F) {
	for _, name := range []string{"label-inline.pdf", "type0-table.pdf", "cyclic-pages.pdf", "prev-loop.pdf", "huge-size.pdf", "consent-flat-qpdf.pdf", "consent-filled.pdf",
		"viewer/filters.pdf", "viewer/escapes.pdf", "viewer/inline-image.pdf", "viewer/deep-pages.pdf", "viewer/duplicate-page.pdf", "viewer/owner-aes256-objstm.pdf"} {
		f.Add(pdfFixture(f, name))
	}
	// A font decoded by its ToUnicode map; widgets with no text.
	f.Add(privateNamesPDF("DSR-REFERRAL", "Surname: Example"))
	f.Add(widgetPDF("", "/FT /Tx /T (Text1) /V ()", "/FT /Btn /Ff 65536 /T (Button1)"))
	r := NewInProcessPDFReader(Limits{PDFTimeout: 2 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		forms, err := r.ReadPDF(context.Background(), data)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("ReadPDF took %s", d)
		}
		var ue *UnreadableError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("error is not UnreadableError: %v", err)
		}
		// A small input that runs out the clock is a loop to find.
		if ReasonOf(err) == ReasonPDFTimeout && len(data) < 256<<10 {
			t.Fatalf("time limit on a %d-byte input: %v", len(data), err)
		}
		for _, rf := range forms {
			if rf == nil || (rf.Source != "acroform" && rf.Source != "pdf-text") {
				t.Fatalf("bad form %+v", rf)
			}
		}
	})
}

func BenchmarkReadPDF(b *testing.B) {
	for _, name := range []string{"referral-filled.pdf", "referral-flat-qpdf.pdf", "combined-flat.pdf"} {
		data := pdfFixture(b, name)
		b.Run(name, func(b *testing.B) {
			r := NewInProcessPDFReader(Limits{})
			b.SetBytes(int64(len(data)))
			loopCPU(b, func() {
				if _, err := r.ReadPDF(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func TestFieldPageKinds(t *testing.T) {
	m := DefaultMapping()
	fields := []acroField{
		{name: "referral_date", page: 0}, {name: "cyp_first_names", page: 0}, {name: "cyp_dob", page: 0},
		{name: "cyp_dob", page: 1}, {name: "cyp_nhs_number", page: 1}, // shared fields only
		{name: "form1.consent_given", page: 2}, {name: "1.signatory_name", page: 2},
		{name: "referral_date", page: 3}, {name: "consent_given", page: 3}, {name: "signatory_name", page: 3}, // both
		{name: "made_up", page: 4}, {name: "other", page: 4},
		{name: "referrer_name", page: 5}, // one is not enough
		{name: "rag_rating", page: -1}, {name: "plan_ehcp", page: -1},
	}
	got := fieldPageKinds(m, fields, 7)
	want := []FormKind{Referral, "", Consent, "", "", "", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("page %d: kind %q, want %q", i, got[i], want[i])
		}
	}
}

// testPDF writes a PDF of the given objects (numbered from 1, object 1
// the catalog) with a correct cross-reference table.
func testPDF(objs ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// flateStream is a stream object of data, deflated.
func flateStream(dict string, data []byte) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	return fmt.Appendf(nil, "<< %s /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", dict, z.Len(), z.Bytes())
}

// A page drawing one form XObject n times; the XObject's content is
// body. The font and text make the page readable.
func xobjectPagePDF(n int, body []byte) []byte {
	page := bytes.Repeat([]byte("/X Do\n"), n)
	page = append(page, "BT /F1 12 Tf 72 720 Td (DSR-REFERRAL Surname) Tj ET\n"...)
	return testPDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> /XObject << /X 5 0 R >> >> >>"),
		flateStream("", page),
		flateStream("/Type /XObject /Subtype /Form /BBox [0 0 612 792]", body),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
	)
}

// The content budget: a flate bomb, or a small stream drawn often enough
// to inflate past it, is refused as too much memory; small streams drawn
// often but in all under the budget are read.
func TestReadPDFContentBudget(t *testing.T) {
	r := NewInProcessPDFReader(Limits{PDFTimeout: 20 * time.Second})
	ctx := context.Background()
	bomb := xobjectPagePDF(1, bytes.Repeat([]byte("BT ET "), (pdfContentBudget+1<<20)/6))
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	if _, err := r.ReadPDF(ctx, bomb); ReasonOf(err) != ReasonPDFMemory {
		t.Errorf("flate bomb: err = %v", err)
	}
	// 64 KiB drawn 1100 times: 70 MB inflated.
	if _, err := r.ReadPDF(ctx, xobjectPagePDF(1100, bytes.Repeat([]byte(" "), 64<<10))); ReasonOf(err) != ReasonPDFMemory {
		t.Errorf("repeated xobject: err = %v", err)
	}
	// 2 KiB drawn 3000 times: each could inflate to ~1000x its length,
	// 100 MB in all, but they are 6 MB.
	small := xobjectPagePDF(3000, bytes.Repeat([]byte("q Q "), 512))
	forms, err := r.ReadPDF(ctx, small)
	if err != nil || len(forms) != 1 || forms[0].Kind != Referral {
		t.Errorf("small xobjects: forms %d, err %v", len(forms), err)
	}
}

// xrefHead finds what the regexp it replaced found.
func TestXrefHead(t *testing.T) {
	re := regexp.MustCompile(`^\s*(\d{1,19})[ \t]+(\d{1,19})[ \t]*\r?$`)
	for _, line := range []string{
		"0 12", "  0 12 ", "\t3 1\r", "0000000017 00000 n ", "0000000000 65535 f\r", "1 2 3", "12",
		"1234567890123456789 1", "12345678901234567890 1", "1 12345678901234567890", "\f\r 7\t\t8 \t\r",
		"7 8\r\r", "a 1", "1 a", "", " ", "1  2x", "+1 2", "1 -2", "١ ٢",
	} {
		s, c, ok := xrefHead([]byte(line))
		m := re.FindStringSubmatch(line)
		if ok != (m != nil) || (ok && (string(s) != m[1] || string(c) != m[2])) {
			t.Errorf("%q: xrefHead %q %q %v, regexp %q", line, s, c, ok, m)
		}
	}
}

// A filled fillable referral followed by a page with no fields (a printed
// consent page): the referral's pages are told by their fields, the other
// page is still read, and its marker starts a second form. (Told by its
// text alone, the referral page, which has no marker or title, was taken
// into the consent page's form.)
func TestReadPDFFilledThenPrintedPage(t *testing.T) {
	field := func(name, value string) []byte {
		return fmt.Appendf(nil, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (%s) /V (%s) /Rect [72 600 300 620] /P 3 0 R >>", name, value)
	}
	page := func(contents int, annots string) []byte {
		return fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 7 0 R >> >> %s >>", contents, annots)
	}
	plain := func(s string) []byte {
		return fmt.Appendf(nil, "<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
	}
	data := testPDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [8 0 R 9 0 R] >> >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>"),
		page(5, "/Annots [8 0 R 9 0 R]"),
		page(6, ""),
		plain("BT /F1 12 Tf 72 720 Td (Referral) Tj ET"),
		plain("BT /F1 12 Tf 72 720 Td (DSR-CONSENT) Tj 0 -20 Td (Surname) Tj ET"),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
		field("referral_date", "19/11/2026"),
		field("cyp_first_names", "Zoe"),
	)
	forms, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), data)
	if err != nil || len(forms) != 2 {
		t.Fatalf("forms %d, err %v", len(forms), err)
	}
	if forms[0].Kind != Referral || forms[0].Source != "acroform" || forms[0].ByName["cyp_first_names"] != "Zoe" {
		t.Errorf("first form %+v", forms[0])
	}
	if forms[1].Kind != Consent || forms[1].Source != "pdf-text" {
		t.Errorf("second form %+v", forms[1])
	}
}
