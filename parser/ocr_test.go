package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// ocrCase is NAME.json beside each generated scan NAME.eml in testdata/ocr:
// what scripts/ocr/children.py filled the forms with before
// scripts/make-ocr-fixtures.sh printed, scanned, photographed and faxed
// them, so a test compares what OCR read with the input, not with a copy
// of an earlier reading.
type ocrCase struct {
	name string
	eml  string
	// Handwritten: the values were written in a handwriting font; OCR
	// may misread them, and they do not count towards the 95% bar.
	Handwritten bool `json:"handwritten"`
	// Signature is "typed" or "scribble" (a pen scribble over the box).
	Signature string `json:"signature"`
	// Fields are the identifying fields of each form (names, date of
	// birth, NHS number, RAG rating) as the parser gives them.
	Fields map[FormKind]map[string]string `json:"fields"`
	// BesideSignature are consent fields next to a scribbled signature,
	// which the scribble must not stop OCR reading.
	BesideSignature map[string]string `json:"beside_signature"`
}

// ocrCases reads every generated scan's expectations.
func ocrCases(t testing.TB) []ocrCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "ocr", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OCR fixtures: %v", err)
	}
	var cases []ocrCase
	for _, f := range files {
		c := ocrCase{name: filepath.Base(f), eml: f}
		raw, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".json")
		if err != nil {
			t.Fatalf("%s has no expectations: %v", f, err)
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s.json: %v", f, err)
		}
		if len(c.Fields[Referral]) == 0 && len(c.Fields[Consent]) == 0 {
			t.Fatalf("%s.json names no fields", f)
		}
		cases = append(cases, c)
	}
	return cases
}

// fixtureCase is a generated scan's expectations and its email as read
// without OCR (its scans unreadable attachments, their data kept).
func fixtureCase(t *testing.T, name string) (ocrCase, *Submission) {
	t.Helper()
	for _, c := range ocrCases(t) {
		if c.name != name {
			continue
		}
		raw, err := os.ReadFile(c.eml)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := New(Options{}).Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		return c, sub
	}
	t.Fatalf("no OCR fixture %s", name)
	return ocrCase{}, nil
}

// TestOCRScans reads every generated scan with Tesseract and counts the
// identifying fields read right over the typed scans: at least 95% of
// them, each form marked as read by OCR, with a confidence and a box per
// field. Handwritten values are read as well as OCR can and logged (what
// it reads of them is in BENCHMARKS.md); whatever it reads, the intake
// sends them to review (cmd/dsr TestCheckScans).
func TestOCRScans(t *testing.T) {
	o := needOCR(t)
	// The time limit is for a loaded machine: the benchmark measures a page.
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	right, total := 0, 0
	handRight, handTotal := 0, 0
	for _, tc := range ocrCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(tc.eml)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := p.Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range sub.Attachments {
				if a.Kind == KindUnreadable && !tc.Handwritten {
					t.Errorf("%s unreadable: %s", a.Filename, a.Error)
				}
			}
			r, n := checkOCRForms(t, sub, tc)
			if tc.Handwritten {
				handRight, handTotal = handRight+r, handTotal+n
				t.Logf("handwritten: %d of %d identifying fields read right", r, n)
			} else {
				right, total = right+r, total+n
			}
			if tc.Signature == "scribble" {
				checkBesideSignature(t, sub.Consent, tc)
			}
			if t.Failed() || testing.Verbose() || tc.Handwritten {
				logOCRForms(t, sub)
			}
		})
	}
	if total == 0 || float64(right) < 0.95*float64(total) {
		t.Errorf("identifying fields read right on the typed scans: %d of %d, want at least 95%%", right, total)
	}
	t.Logf("identifying fields read right: typed scans %d of %d; handwritten %d of %d", right, total, handRight, handTotal)
}

// checkOCRForms counts the case's identifying fields read right. A form of
// a typed scan must be found and marked as read by OCR; every field read
// must carry its page, box, confidence and crop.
func checkOCRForms(t *testing.T, sub *Submission, tc ocrCase) (right, total int) {
	t.Helper()
	for _, k := range []FormKind{Referral, Consent} {
		want := tc.Fields[k]
		form := sub.Referral
		if k == Consent {
			form = sub.Consent
		}
		total += len(want)
		if form == nil {
			if !tc.Handwritten {
				t.Errorf("no %s form read", k)
			}
			continue
		}
		if form.Source != SourceOCR || form.OCR == nil {
			t.Errorf("%s form: source %q, OCR %v: not marked as read by OCR", k, form.Source, form.OCR != nil)
			continue
		}
		for name, v := range want {
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
	return right, total
}

// checkBesideSignature: a consent signed with a pen scribble still has
// its signature found (ink in the box, whatever OCR makes of it) and the
// fields beside it read right.
func checkBesideSignature(t *testing.T, form *Form, tc ocrCase) {
	t.Helper()
	if form == nil {
		t.Error("no consent form read from the scan signed with a scribble")
		return
	}
	if form.Get("signature") == "" {
		t.Error("the scribbled signature was not found")
	}
	if len(tc.BesideSignature) == 0 {
		t.Error("the case names no field beside the signature to check")
	}
	for name, v := range tc.BesideSignature {
		if got := form.Get(name); got != v {
			t.Errorf("%s beside the scribbled signature: read %q (invalid %q), want %q", name, got, form.Invalid[name], v)
		}
	}
}

// logOCRForms logs every field read, with its confidence.
func logOCRForms(t *testing.T, sub *Submission) {
	t.Helper()
	for _, form := range []*Form{sub.Referral, sub.Consent} {
		if form == nil || form.OCR == nil {
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

// fixturePhoto is the phone photo of the consent form in the fixtures
// (photo-jpeg.eml), as JPEG bytes, with what it was filled with.
func fixturePhoto(t *testing.T) (ocrCase, []byte) {
	t.Helper()
	photo, sub := fixtureCase(t, "photo-jpeg.eml")
	for _, a := range sub.Attachments {
		if strings.HasSuffix(a.Filename, ".jpg") {
			return photo, a.Data
		}
	}
	t.Fatal("no photo in the fixture")
	return photo, nil
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
	photo, jpg := fixturePhoto(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "photo.jpg"), filepath.Join(dir, "photo.heic")
	if err := os.WriteFile(in, jpg, 0o600); err != nil {
		t.Fatal(err)
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
	if got := f.Get("cyp_nhs_number"); got != photo.Fields[Consent]["cyp_nhs_number"] || got == "" {
		t.Errorf("NHS number read %q from the HEIC photo", got)
	}
}

// TestOCRWebPAndBMP: the fixtures' phone photo of the consent form as
// WebP (Chrome's "Save image", some phones and messaging apps) and as a
// Windows bitmap (Paint), made by ImageMagick, attached as the pictures
// they are and as application/octet-stream, is read as the JPEG is; it
// was "not a PDF" (image/webp) or no form at all (octet-stream).
func TestOCRWebPAndBMP(t *testing.T) {
	o := needOCR(t)
	photo, jpg := fixturePhoto(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(in, jpg, 0o600); err != nil {
		t.Fatal(err)
	}
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	for _, f := range []struct{ ext, ctype string }{{"webp", "image/webp"}, {"bmp", "image/bmp"}, {"webp", "application/octet-stream"}} {
		t.Run(f.ext+" as "+f.ctype, func(t *testing.T) {
			out := filepath.Join(dir, "photo."+f.ext)
			if b, err := exec.Command(o.Convert, in, "-quality", "80", out).CombinedOutput(); err != nil {
				t.Fatalf("convert: %v: %s", err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !isImageMagic(data) {
				t.Fatalf("ImageMagick's %s is not taken for a picture: % x", f.ext, data[:min(16, len(data))])
			}
			sub, err := p.Parse(context.Background(), emailWith(struct {
				name, ctype string
				data        []byte
			}{"IMG_2043." + f.ext, f.ctype, data}))
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) != 1 || sub.Attachments[0].Kind != KindConsent || sub.Consent == nil {
				t.Fatalf("attachments %+v", sub.Attachments)
			}
			if got := sub.Consent.Get("cyp_nhs_number"); got != photo.Fields[Consent]["cyp_nhs_number"] || got == "" {
				t.Errorf("NHS number read %q from the %s photo", got, f.ext)
			}
		})
	}
}

// TestSearchableScanIsReadAsAScan: a "searchable PDF", as scanners and
// OCRmyPDF make it (the page's picture with the scanner's OCR laid under
// it as invisible text, render mode 3; made here with Tesseract's own PDF
// output from the first page of the fixtures' scanned consent form), is a
// scan: its hidden text is a machine's reading, so the reader does not
// take it as typed values (a form read from it would skip the
// coordinator's confirmation). pdftotext prints that text; the reader
// reads the picture by OCR instead, and the form is marked as read by OCR.
func TestSearchableScanIsReadAsAScan(t *testing.T) {
	o := needOCR(t)
	amara, sub := fixtureCase(t, "amara-scan-signed.eml")
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.pdf")
	for _, a := range sub.Attachments {
		if strings.HasPrefix(a.Filename, "Consent") {
			os.WriteFile(scan, a.Data, 0o600)
		}
	}
	if b, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-gray", "-png", scan, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, b)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pages) != 1 {
		t.Fatalf("pdftoppm wrote %v", pages)
	}
	if b, err := exec.Command(o.Tesseract, pages[0], filepath.Join(dir, "searchable"), "-l", "eng", "pdf").CombinedOutput(); err != nil {
		t.Fatalf("tesseract pdf: %v: %s", err, b)
	}
	pdfPath := filepath.Join(dir, "searchable.pdf")
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	qdf := filepath.Join(dir, "qdf.pdf")
	if b, err := exec.Command("qpdf", "--qdf", "--object-streams=disable", pdfPath, qdf).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --qdf: %v: %s", err, b)
	}
	if b, _ := os.ReadFile(qdf); !bytes.Contains(b, []byte("3 Tr")) {
		t.Fatal("tesseract wrote no invisible text layer (3 Tr)")
	}
	if out, err := exec.Command("pdftotext", pdfPath, "-").Output(); err != nil || !strings.Contains(strings.ToLower(string(out)), "consent") {
		t.Fatalf("pdftotext reads no text layer (%v): %.200q", err, out)
	}
	_, err = NewInProcessPDFReader(Limits{PDFTimeout: 10 * time.Second}).ReadPDF(context.Background(), pdf)
	if ReasonOf(err) != ReasonPDFScan {
		t.Fatalf("read without OCR: %v, want %q", err, ReasonPDFScan)
	}
	r := withOCR(NewInProcessPDFReader(Limits{}), o, Limits{OCRTimeout: 15 * time.Minute}, nil)
	forms, err := r.ReadPDF(context.Background(), pdf)
	if err != nil || len(forms) != 1 || forms[0].Kind != Consent || forms[0].OCR == nil {
		t.Fatalf("read by OCR: %d forms, %v", len(forms), err)
	}
	f := DefaultMapping().Map(Consent, forms[0])
	if got := f.Get("cyp_nhs_number"); got != amara.Fields[Consent]["cyp_nhs_number"] || got == "" {
		t.Errorf("NHS number read %q from the searchable scan", got)
	}
}

// TestOCRScanVariants: the scan fixture's pages as scanners and people
// deliver them, each read as the upright scan is (every identifying field
// right):
//   - fed into the scanner on its side (each page a quarter turn one way or
//     the other, no EXIF to say so). Tesseract reads such a page's lines
//     well, every word a box taller than wide, so it did not read as upside
//     down and was never turned: its second page (RAG rating, needs,
//     plans) read as column garbage, and no RAG rating;
//   - fed crooked, every page turned 9 degrees: beyond the 8 a template's
//     fit allows, and the half-size read finds next to no words; such a
//     page was read whole (none of the eight read right). A page that
//     neither registers nor reads is turned upright by its ruled lines and
//     recognised again: seven of eight (the NHS number's box, on this
//     noisy 150-dpi copy turned twice, is cut a few points low);
//   - a stack scanned face down, both forms in one PDF, last page first:
//     a form's later pages came before its first and went with the form
//     before them (the referral read on its first page only);
//   - both forms scanned into one PDF on both sides, a blank back after
//     every page, as a PDF of photos (img2pdf at 96 dpi, pages large at
//     200): ten pages were "too many to be a DSR form", and ten large
//     pages overran ImageMagick's limits. Blank pages are left out; fields
//     name the attachment's pages.
func TestOCRScanVariants(t *testing.T) {
	o := needOCR(t)
	if _, err := exec.LookPath("img2pdf"); err != nil {
		t.Fatal("img2pdf is needed (scripts/install-test-deps.sh installs it)")
	}
	tc, sub := fixtureCase(t, "scan-pdf.eml")
	dir := t.TempDir()
	blank := filepath.Join(dir, "blank.jpg")
	if b, err := exec.Command(o.Convert, "-size", "1654x2339", "xc:white", "-attenuate", "0.3", "+noise", "Gaussian", "-quality", "60", blank).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v: %s", err, b)
	}
	variants := []struct {
		name  string
		pages func(t *testing.T, page string) []string // a page's images as scanned
		jpeg  bool                                     // one PDF of both forms, JPEGs without a resolution
		// facedown: one PDF of both forms, its pages last to first.
		facedown bool
		// missed is how many identifying fields may be read wrong.
		missed int
	}{
		{name: "turned 90", pages: turnPage("90")},
		{name: "turned 270", pages: turnPage("270")},
		{name: "fed crooked, 9 degrees", pages: func(t *testing.T, page string) []string {
			turned := page + ".crooked.png"
			if b, err := exec.Command(o.Convert, page, "-background", "white", "-rotate", "9", turned).CombinedOutput(); err != nil {
				t.Fatalf("convert -rotate: %v: %s", err, b)
			}
			return []string{turned}
		}, missed: 1},
		{name: "a stack scanned face down", pages: func(t *testing.T, page string) []string { return []string{page} }, facedown: true},
		{name: "two-sided, blank backs", pages: func(t *testing.T, page string) []string {
			jpg := page + ".jpg"
			if b, err := exec.Command(o.Convert, page, "-quality", "60", jpg).CombinedOutput(); err != nil {
				t.Fatalf("convert: %v: %s", err, b)
			}
			return []string{jpg, blank}
		}, jpeg: true},
	}
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	for vi, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var files []struct {
				name, ctype string
				data        []byte
			}
			pdfOf := func(images []string, out string) []byte {
				args := append(images, "-o", out)
				if !v.jpeg {
					args = append(args, "--imgsize", "150dpi")
				}
				if b, err := exec.Command("img2pdf", args...).CombinedOutput(); err != nil {
					t.Fatalf("img2pdf: %v: %s", err, b)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			var all []string
			for i, a := range sub.Attachments {
				scan := filepath.Join(dir, fmt.Sprintf("scan%d.pdf", i))
				if err := os.WriteFile(scan, a.Data, 0o600); err != nil {
					t.Fatal(err)
				}
				prefix := filepath.Join(dir, fmt.Sprintf("v%d-%d", vi, i))
				dpi := "150"
				if v.jpeg {
					dpi = "200" // at 96 dpi in the PDF, rendered at 200: 17 MP a page
				}
				if b, err := exec.Command("pdftoppm", "-r", dpi, "-gray", "-png", scan, prefix).CombinedOutput(); err != nil {
					t.Fatalf("pdftoppm: %v: %s", err, b)
				}
				rendered, _ := filepath.Glob(prefix + "-*.png")
				if len(rendered) == 0 {
					t.Fatal("pdftoppm wrote no pages")
				}
				var images []string
				for _, pg := range rendered {
					images = append(images, v.pages(t, pg)...)
				}
				if v.jpeg || v.facedown {
					all = append(all, images...)
					continue
				}
				files = append(files, struct {
					name, ctype string
					data        []byte
				}{a.Filename, "application/pdf", pdfOf(images, prefix+".pdf")})
			}
			if v.facedown {
				slices.Reverse(all)
			}
			if v.jpeg || v.facedown {
				files = append(files, struct {
					name, ctype string
					data        []byte
				}{"Scan.pdf", "application/pdf", pdfOf(all, filepath.Join(dir, "both.pdf"))})
			}
			got, err := p.Parse(context.Background(), emailWith(files...))
			if err != nil {
				t.Fatal(err)
			}
			right, total := checkOCRForms(t, got, tc)
			if right < total-v.missed {
				logOCRForms(t, got)
				t.Errorf("%d of %d identifying fields read right, want at least %d", right, total, total-v.missed)
			}
			if v.jpeg && got.Consent != nil && got.Consent.OCR != nil {
				// The consent's first page is the seventh of the
				// attachment, blank backs counted.
				if fl := got.Consent.OCR.Fields["cyp_nhs_number"]; fl.Page != 7 {
					t.Errorf("the consent's NHS number on page %d, want 7 (the attachment's page, blank ones counted)", fl.Page)
				}
			}
		})
	}
}

// turnPage is a page scanned on its side: turned by degrees, no EXIF.
func turnPage(degrees string) func(t *testing.T, page string) []string {
	return func(t *testing.T, page string) []string {
		turned := page + ".turned.png"
		if b, err := exec.Command("convert", page, "-rotate", degrees, turned).CombinedOutput(); err != nil {
			t.Fatalf("convert -rotate: %v: %s", err, b)
		}
		return []string{turned}
	}
}

// TestOCRPicturesOfAScan: the fixtures' scanned referral (three pages, a
// scanner's 154 ppi JPEGs in a PDF, sofia-scan-png.eml) sent as pictures
// instead, each read as the PDF is read, field for field (the PDF's
// reading by OCR is the oracle: the same scans):
//   - its first page alone as a PNG at the scanner's resolution: read at
//     154 ppi, the postcode, address, ethnicity, local authority and
//     practice were misread; a picture is now read at A4's 200 dpi, as
//     the PDF's page is rendered;
//   - the three pages as an animated GIF as ImageMagick optimises one
//     (each frame after the first only the pixels that changed, the rest
//     transparent, on the first's canvas): those frames were read as
//     such, 18 of the 39 values lost or wrong; they are coalesced now;
//   - the first page as a still GIF, coalesced as every GIF is (a no-op
//     for one frame);
//   - as gifsicle optimises one (its frames whole) and as libwebp's own
//     img2webp writes an animated WebP (frames after the first smaller
//     than the canvas; ImageMagick's reader composes them itself): read
//     at 154 ppi before, 20 and 11 wrong.
//
// A value may still differ where OCR reads the other picture otherwise
// (a GIF holds at most 256 greys): at most three.
func TestOCRPicturesOfAScan(t *testing.T) {
	o := needOCR(t)
	for _, tool := range []string{"gifsicle", "img2webp", "identify"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/install-test-deps.sh installs it)", tool)
		}
	}
	run := func(name string, args ...string) error {
		if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, b)
		}
		return nil
	}
	_, plain := fixtureCase(t, "sofia-scan-png.eml")
	var scan []byte
	for _, a := range plain.Attachments {
		if strings.HasSuffix(a.Filename, ".pdf") {
			scan = a.Data
		}
	}
	if scan == nil {
		t.Fatal("no scanned PDF in the fixture")
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "referral.pdf")
	if err := os.WriteFile(pdf, scan, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("pdfimages", "-j", pdf, filepath.Join(dir, "scan")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v: %s", err, b)
	}
	scans, _ := filepath.Glob(filepath.Join(dir, "scan-*.jpg"))
	if len(scans) != 3 {
		t.Fatalf("pdfimages wrote %v", scans)
	}
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	read := func(t *testing.T, name, ctype string, data []byte) *Form {
		t.Helper()
		sub, err := p.Parse(context.Background(), emailWith(struct {
			name, ctype string
			data        []byte
		}{name, ctype, data}))
		if err != nil {
			t.Fatal(err)
		}
		if sub.Referral == nil {
			t.Fatalf("no referral read from %s: %+v", name, summary(sub))
		}
		return sub.Referral
	}
	want := read(t, "referral.pdf", "application/pdf", scan)
	if len(want.Values) < 30 {
		t.Fatalf("the PDF's reading has only %d values: %v", len(want.Values), want.Values)
	}
	convert := func(args ...string) func(string) error {
		return func(out string) error { return run(o.Convert, append(args, out)...) }
	}
	for _, c := range []struct {
		name, ctype string
		make        func(out string) error
		frames      int
		partial     bool // frames after the first smaller than the canvas
		pageOne     bool // only the first page's fields are compared
	}{
		{"page1.png", "image/png", convert(scans[0]), 1, false, true},
		{"page1.gif", "image/gif", convert(scans[0]), 1, false, true},
		{"imagemagick.gif", "image/gif", convert(append(slices.Clone(scans), "-layers", "optimize")...), 3, true, false},
		{"gifsicle.gif", "image/gif", func(out string) error {
			var gifs []string
			for i, s := range scans {
				g := filepath.Join(dir, fmt.Sprintf("frame%d.gif", i))
				if err := run(o.Convert, s, g); err != nil {
					return err
				}
				gifs = append(gifs, g)
			}
			return run("gifsicle", append([]string{"-O3", "--loopcount", "-o", out}, gifs...)...)
		}, 3, false, false},
		{"img2webp.webp", "image/webp", func(out string) error {
			return run("img2webp", append([]string{"-lossless", "-o", out}, scans...)...)
		}, 3, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name)
			if err := c.make(out); err != nil {
				t.Fatal(err)
			}
			geo, err := exec.Command("identify", "-format", "%w %W;", out).Output()
			if err != nil {
				t.Fatal(err)
			}
			frames := strings.Split(strings.TrimSuffix(string(geo), ";"), ";")
			if len(frames) != c.frames {
				t.Fatalf("%d frames: %q", len(frames), geo)
			}
			for _, f := range frames[1:] {
				var w, canvas int
				if _, err := fmt.Sscan(f, &w, &canvas); err != nil || (w < canvas) != c.partial {
					t.Fatalf("frames %q, want the later ones partial %v: the test would not test what it says", geo, c.partial)
				}
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := read(t, c.name, c.ctype, data)
			var differ []string
			for k, v := range want.Values {
				if c.pageOne && got.Values[k] == "" {
					continue // on another page
				}
				if got.Values[k] != v {
					differ = append(differ, fmt.Sprintf("%s: %q, the PDF %q", k, got.Values[k], v))
				}
			}
			if c.pageOne && len(got.Values) < 12 {
				t.Errorf("only %d values read from the first page: %v", len(got.Values), got.Values)
			}
			slices.Sort(differ)
			if len(differ) > 3 {
				t.Errorf("%d values read otherwise than from the PDF:\n%s", len(differ), strings.Join(differ, "\n"))
			} else if len(differ) > 0 {
				t.Logf("read otherwise than from the PDF: %s", strings.Join(differ, "; "))
			}
		})
	}
}
