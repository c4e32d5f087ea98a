package parser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOCRWordPrintedScans reads scans of the forms typed into Word and
// printed (the fixtures of TestReadWordPrintedPDFs), scanned at test time
// as scripts/make-ocr-fixtures.sh scans the PDF form: 150 dpi, turned 1.5
// degrees, a grey ground with noise, JPEG.
//
// Such a page shows the PDF form's labels where the PDF form has them
// closely enough to register to it (27 of a consent page's 29 labels fit),
// and its values were then cut from where the PDF form's boxes are: of
// the five scans' 156 answers, 77 read right, and four Yes/No answers were
// read as their opposite. No page may now be taken for the PDF form, as
// it does not show the form's boxes; the page is read by its labels, and
// at least 85% of the answers the Word documents hold must be read right
// (124 of 156 when the page was first read by its labels; 147 once a
// column of boxes read as one word, a label's first line with two words
// run together, answers under their labels at OCR's sizes, a row broken
// across pages and a box read into its option's word were read), with no
// Yes/No read as its opposite and the child's date of birth and NHS
// number read exactly or not at all (blank, a coordinator types them in).
// Names are compared without their accents, which Tesseract's English
// model misreads (Nguyễn as Nguyén).
func TestOCRWordPrintedScans(t *testing.T) {
	o := needOCR(t)
	for _, tool := range []string{"pdftoppm", "img2pdf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/install-test-deps.sh installs it)", tool)
		}
	}
	sample := sampleAttachments(t, "03-docx-happy")
	m := DefaultMapping()
	ctx := context.Background()
	var right, total int
	for _, tc := range []struct{ name, docx string }{
		{"referral-plain-orig", "referral-plain.docx"},
		{"referral-sdt-orig", "referral-sdt.docx"},
		{"referral-plain-lines", "referral-plain.docx"},
		{"consent-checkbox-orig", "consent-checkbox.docx"},
		{"sample-consent-lines", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docx := sample["DSR Consent Form - Amelia Novak.docx"]
			if tc.docx != "" {
				docx = readFixture(t, tc.docx)
			}
			raws, err := readDOCX(ctx, docx, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(raws) != 1 {
				t.Fatalf("%d forms in the Word document", len(raws))
			}
			want := m.Map(m.Classify(raws[0]), raws[0])
			scan := scanLikeFixtures(t, o, filepath.Join("testdata", "pdf", "word-printed", tc.name+".pdf"))

			sps, err := o.pageImages(ctx, t.TempDir(), scan, true)
			if err != nil {
				t.Fatal(err)
			}
			var prev *ocrPage
			for i, sp := range sps {
				pg, err := o.recognise(ctx, sp, prev)
				if err != nil {
					t.Fatal(err)
				}
				prev = pg
				if pg.tpl == nil {
					continue
				}
				if _, shows := pg.templateBoxes(); shows {
					t.Errorf("page %d taken for the PDF form's %s page %d: it shows that page's boxes", i+1, pg.tpl.kind, pg.tpl.page+1)
				}
			}

			forms, err := readScan(ctx, o, m, scan, true)
			if err != nil {
				t.Fatal(err)
			}
			var got *Form
			for _, rf := range forms {
				if k := m.Classify(rf); k == want.Kind {
					got = m.Map(k, rf)
				}
			}
			if got == nil {
				t.Fatalf("no %s form read from the scan", want.Kind)
			}
			n := 0
			for name, v := range want.Values {
				if v == "" {
					continue
				}
				total++
				g := got.Values[name]
				spec, _ := Spec(want.Kind, name)
				switch {
				case sameAnswer(g, v):
					right++
					n++
				case spec.Type == YesNo && g != "":
					t.Errorf("%s: read %q, the Word document says %q", name, g, v)
				case (name == "cyp_dob" || name == "cyp_nhs_number") && g != "":
					t.Errorf("%s: read %q, want %q", name, g, v)
				default:
					t.Logf("%s: read %q, want %q", name, g, v)
				}
			}
			t.Logf("%d answers read right", n)
		})
	}
	if total == 0 || float64(right) < 0.85*float64(total) {
		t.Errorf("answers read right from the scanned Word prints: %d of %d, want at least 85%%", right, total)
	}
	t.Logf("answers read right from the scanned Word prints: %d of %d", right, total)
}

// scanLikeFixtures prints a PDF to page images and scans them as
// scripts/make-ocr-fixtures.sh's scan() does, into an image-only PDF.
func scanLikeFixtures(t *testing.T, o *OCR, pdf string) []byte {
	t.Helper()
	dir := t.TempDir()
	if b, err := exec.Command("pdftoppm", "-r", "150", "-gray", "-png", pdf, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, b)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	if len(pages) == 0 {
		t.Fatal("pdftoppm wrote no page")
	}
	var jpgs []string
	for i, p := range pages {
		j := filepath.Join(dir, fmt.Sprintf("s%d.jpg", i))
		if b, err := exec.Command(o.Convert, p, "-seed", "17", "-background", "white", "-rotate", "1.5",
			"-fill", "#e4e4e4", "-opaque", "white", "-attenuate", "0.3", "+noise", "Gaussian", "-blur", "0x0.8",
			"-type", "Grayscale", "-quality", "55", "-strip", j).CombinedOutput(); err != nil {
			t.Fatalf("convert: %v: %s", err, b)
		}
		jpgs = append(jpgs, j)
	}
	out := filepath.Join(dir, "scan.pdf")
	if b, err := exec.Command("img2pdf", append([]string{"--pagesize", "A4", "-o", out}, jpgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("img2pdf: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sameAnswer compares answers without their accents, and with their
// spaces and line breaks folded.
func sameAnswer(a, b string) bool {
	return strings.Join(strings.Fields(foldAccents(a)), " ") == strings.Join(strings.Fields(foldAccents(b)), " ")
}
