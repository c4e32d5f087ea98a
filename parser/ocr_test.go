package parser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needOCR returns the OCR tools, skipping the test when they are not
// installed, except under CI, which must run it.
func needOCR(t testing.TB) *OCR {
	t.Helper()
	o, err := FindOCR(context.Background())
	if err == nil {
		return o
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v; CI must run the OCR tests (scripts/install-test-deps.sh installs them)", err)
	}
	t.Skipf("%v (run scripts/install-test-deps.sh)", err)
	return nil
}

// scanWant are the identifying fields typed on the forms of
// testdata/samples/02-flattened-pdf-happy, which scripts/make-ocr-fixtures.sh
// printed, scanned, photographed and faxed.
var scanWant = map[FormKind]map[string]string{
	Referral: {
		"cyp_first_names": "Joshua",
		"cyp_surname":     "Okoro",
		"cyp_dob":         "2011-08-08",
		"cyp_nhs_number":  "9995628198",
		"rag_rating":      "Red",
	},
	Consent: {
		"cyp_full_name":  "Joshua Okoro",
		"cyp_dob":        "2011-08-08",
		"cyp_nhs_number": "9995628198",
	},
}

// TestOCRScans reads every generated scan with Tesseract and counts the
// identifying fields read right: at least 95% of them over all scans, and
// each form marked as read by OCR, with a confidence and a box per field.
func TestOCRScans(t *testing.T) {
	o := needOCR(t)
	files, err := filepath.Glob(filepath.Join("testdata", "ocr", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OCR fixtures: %v", err)
	}
	// The time limit is for a loaded machine: the benchmark measures a page.
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	right, total := 0, 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := p.Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range sub.Attachments {
				if a.Kind == KindUnreadable {
					t.Errorf("%s unreadable: %s", a.Filename, a.Error)
				}
			}
			for k, want := range scanWant {
				form := sub.Referral
				if k == Consent {
					form = sub.Consent
				}
				if form == nil {
					t.Errorf("no %s form read", k)
					total += len(want)
					continue
				}
				if form.Source != SourceOCR || form.OCR == nil {
					t.Errorf("%s form: source %q, OCR %v: not marked as read by OCR", k, form.Source, form.OCR != nil)
					continue
				}
				for name, v := range want {
					total++
					got := form.Get(name)
					if got == v {
						right++
					} else {
						t.Logf("%s %s: read %q (invalid %q), want %q", k, name, got, form.Invalid[name], v)
					}
					fl, ok := form.OCR.Fields[name]
					hasCrop := len(fl.Crop) > 0
					fl.Crop = nil
					if got != "" && (!ok || fl.Page < 1 || fl.Box[2] <= 0 || fl.Box[3] <= 0 || fl.Confidence <= 0 || fl.Confidence > 1 || !hasCrop) {
						t.Errorf("%s %s: no page box, confidence or crop: %+v", k, name, fl)
					}
				}
			}
			if t.Failed() || testing.Verbose() {
				for _, form := range []*Form{sub.Referral, sub.Consent} {
					if form == nil {
						continue
					}
					var b strings.Builder
					for _, s := range Fields(form.Kind) {
						if form.Has(s.Name) {
							fl := form.OCR.Fields[s.Name]
							b.WriteString("\n  " + s.Name + " = " + form.Values[s.Name] + form.Invalid[s.Name] + fmt.Sprintf(" (%.2f)", fl.Confidence))
						}
					}
					t.Logf("%s:%s", form.Kind, b.String())
				}
			}
		})
	}
	if total == 0 || float64(right) < 0.95*float64(total) {
		t.Errorf("identifying fields read right: %d of %d, want at least 95%%", right, total)
	}
	t.Logf("identifying fields read right: %d of %d", right, total)
}

// TestOCRHEIC reads an iPhone-style HEIC photo of the consent form, made
// at test time with libheif's heif-enc from the fixtures' phone photo.
func TestOCRHEIC(t *testing.T) {
	o := needOCR(t)
	enc, err := exec.LookPath("heif-enc")
	if err != nil || o.HeifConvert == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("libheif-examples (heif-enc, heif-convert) is not installed; CI must run this test")
		}
		t.Skip("libheif-examples is not installed")
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "ocr", "photo-jpeg.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := New(Options{}).Parse(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var jpg []byte
	for _, a := range sub.Attachments {
		if strings.HasSuffix(a.Filename, ".jpg") {
			jpg = a.Data
		}
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "photo.jpg"), filepath.Join(dir, "photo.heic")
	if err := os.WriteFile(in, jpg, 0o600); err != nil || jpg == nil {
		t.Fatalf("no photo in the fixture: %v", err)
	}
	if b, err := exec.Command(enc, "-q", "60", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("heif-enc: %v: %s", err, b)
	}
	heic, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !isHEIC(heic) {
		t.Fatalf("heif-enc wrote no HEIC header: % x", heic[:min(12, len(heic))])
	}
	r := withOCR(NewInProcessPDFReader(Limits{}), o, Limits{OCRTimeout: 15 * time.Minute}, nil)
	forms, err := r.ReadPDF(context.Background(), heic)
	if err != nil || len(forms) != 1 || forms[0].Kind != Consent {
		t.Fatalf("read %d forms: %v", len(forms), err)
	}
	f := DefaultMapping().Map(Consent, forms[0])
	if got := f.Get("cyp_nhs_number"); got != scanWant[Consent]["cyp_nhs_number"] {
		t.Errorf("NHS number read %q from the HEIC photo", got)
	}
}
