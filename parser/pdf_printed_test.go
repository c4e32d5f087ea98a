package parser

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
)

// reprint makes a PDF again with a tool: args are its arguments for the
// input and output files.
func reprint(t *testing.T, dir, tool string, in []byte, args func(in, out string) []string) []byte {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is needed (scripts/install-test-deps.sh installs it)", tool)
	}
	src, dst := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(src, in, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(tool, args(src, dst)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, b)
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// printToPDF re-renders a PDF as "print to PDF" does, with the renderers
// Debian packages: Skia (Chrome's and Edge's "Save as PDF", through
// Chromium: printWithChrome), Cairo (GNOME's and Firefox's print dialogs on Linux,
// the CUPS PDF printer) and Ghostscript's pdfwrite (CUPS-PDF, and the
// Windows PDF printers built on it, PDFCreator and CutePDF among them).
var printToPDF = map[string]func(t *testing.T, dir string, in []byte) []byte{
	"chrome": printWithChrome,
	"cairo": func(t *testing.T, dir string, in []byte) []byte {
		return reprint(t, dir, "pdftocairo", in, func(in, out string) []string { return []string{"-pdf", in, out} })
	},
	"ghostscript": func(t *testing.T, dir string, in []byte) []byte {
		return reprint(t, dir, "gs", in, func(in, out string) []string {
			return []string{"-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dPrinted", "-sOutputFile=" + out, in}
		})
	},
}

var toUnicodeEntry = regexp.MustCompile(`/ToUnicode\s+\d+\s+\d+\s+R`)

// withoutCharacterMaps writes a PDF again without its fonts' ToUnicode
// maps, as printers to PDF that do not write them leave a form: a subset
// font's codes are then its glyphs' order in the subset, which its
// declared encoding reads as punctuation and digits, and pdftotext reads
// as such too. qpdf writes the file uncompressed, the maps' references
// are dropped and fix-qdf mends the cross-references.
func withoutCharacterMaps(t *testing.T, dir string, in []byte) []byte {
	t.Helper()
	return editQDF(t, dir, in, func(qdf []byte) []byte {
		stripped := toUnicodeEntry.ReplaceAll(qdf, nil)
		if len(stripped) == len(qdf) {
			t.Fatal("no ToUnicode map to drop")
		}
		return stripped
	})
}

// sameWords compares two forms' values word for word: a value wrapped over
// lines in its box may be read with a line break where the line wrapped in
// one layout and with a space in another.
func sameWords(a, b map[string]string) bool {
	norm := func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = strings.Join(strings.Fields(v), " ")
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestParseSamplesPrintedToPDF prints every sample email's PDFs to PDF
// with Cairo and Ghostscript, and reads the emails again: each is a
// flattened form with a good text layer, and every form reads with the
// clean email's values.
func TestParseSamplesPrintedToPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Cairo and Ghostscript")
	}
	dir := t.TempDir()
	p := New(Options{})
	ctx := context.Background()
	for _, s := range pdfSampleEmails(t) {
		if s.name == "05-self-consent-15" {
			// Its forms were flattened by pdfcpu, which draws the
			// marks in a font the file does not define (poppler:
			// "Unknown font tag 'ZaDb'"): each printer puts in what it
			// will, and Ghostscript drops the typed values too (pdftotext
			// reads no "Female" in its print either). Cairo puts in
			// URW's Dingbats, with a character map that gives the ticks
			// as the digits they are coded by: its check boxes read as
			// ticked all the same.
			t.Run(s.name+"/cairo ticks", func(t *testing.T) {
				want, err := p.Parse(ctx, s.clean)
				if err != nil {
					t.Fatal(err)
				}
				printed, _ := rebuildEmail(t, s.raw, func(pdf []byte) []byte { return printToPDF["cairo"](t, dir, pdf) })
				got, err := p.Parse(ctx, printed)
				if err != nil {
					t.Fatal(err)
				}
				ticks := 0
				for _, k := range []FormKind{Referral, Consent} {
					for f, v := range want.formOf(k).Values {
						if (strings.HasPrefix(f, "plan_") || strings.HasPrefix(f, "share_")) && v == "true" {
							ticks++
							if g := got.formOf(k); g == nil || g.Values[f] != "true" || g.Invalid[f] != "" {
								t.Errorf("%s %s: read %q (invalid %q), want ticked", k, f, g.Values[f], g.Invalid[f])
							}
						}
					}
				}
				if ticks == 0 {
					t.Fatal("no ticked box in the sample")
				}
			})
			continue
		}
		want, err := p.Parse(ctx, s.clean)
		if err != nil {
			t.Fatal(err)
		}
		for name, print := range printToPDF {
			t.Run(s.name+"/"+name, func(t *testing.T) {
				printed, _ := rebuildEmail(t, s.raw, func(pdf []byte) []byte { return print(t, dir, pdf) })
				got, err := p.Parse(ctx, printed)
				if err != nil {
					t.Fatal(err)
				}
				samePrintedForms(t, got, want)
			})
		}
	}
}

// samePrintedValues compares a print's values with the form's: word for
// word (sameWords), except that a check box left unticked is an empty box
// on paper, read as not filled in, where the field says "false".
func samePrintedValues(got, want map[string]string) bool {
	w := make(map[string]string, len(want))
	for k, v := range want {
		if _, ok := got[k]; ok || v != "false" {
			w[k] = v
		}
	}
	return sameWords(got, w)
}

// lostMaps are the ways a form loses its fonts' character maps:
// printed to a PostScript file and made a PDF again (Ghostscript's pdf2ps
// and ps2pdf, as "print to file" and the PDF printers that distill
// PostScript do), which prints a fillable form's fields too; or written
// again without its ToUnicode maps, which keeps them.
var lostMaps = []struct {
	name        string
	keepsFields bool
	make        func(t *testing.T, dir string, in []byte) []byte
}{
	{"postscript", false, viaPostScript},
	{"no tounicode", true, withoutCharacterMaps},
}

// viaPostScript prints a PDF to PostScript and makes a PDF of that.
func viaPostScript(t *testing.T, dir string, in []byte) []byte {
	t.Helper()
	ps := reprint(t, dir, "pdf2ps", in, func(in, out string) []string { return []string{in, out} })
	return reprint(t, dir, "ps2pdf", ps, func(in, out string) []string { return []string{in, out} })
}

// TestParseSamplesWithoutCharacterMaps takes every sample PDF's fonts'
// character maps away (lostMaps). A fillable form whose fields are kept
// still reads from them. Any other form's text is then punctuation and
// digits, and it is refused as text that cannot be read, never taken for
// an attachment that is not a form (which would have queried the referrer
// for forms they sent); with OCR it is read as a scan, its identifying
// fields right.
func TestParseSamplesWithoutCharacterMaps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qpdf and Ghostscript")
	}
	dir := t.TempDir()
	p := New(Options{})
	ctx := context.Background()
	garbled := 0
	for _, s := range pdfSampleEmails(t) {
		want, err := p.Parse(ctx, s.clean)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range lostMaps {
			t.Run(s.name+"/"+v.name, func(t *testing.T) {
				lost, _ := rebuildEmail(t, s.raw, func(pdf []byte) []byte { return v.make(t, dir, pdf) })
				got, err := p.Parse(ctx, lost)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Attachments) != len(want.Attachments) {
					t.Fatalf("%d attachments, want %d", len(got.Attachments), len(want.Attachments))
				}
				for i, a := range got.Attachments {
					w := want.Attachments[i]
					if k := map[AttachmentKind]FormKind{KindReferral: Referral, KindConsent: Consent}[w.Kind]; k != "" {
						if form := want.formOf(k); form != nil && (form.Source == "pdf-text" || !v.keepsFields) {
							garbled++
							if a.Kind != KindUnreadable || a.Error != ReasonPDFTextGarbled {
								t.Errorf("%s: %s %q, want unreadable: %q", a.Filename, a.Kind, a.Error, ReasonPDFTextGarbled)
							}
							continue
						}
					}
					if a.Kind != w.Kind || a.Error != w.Error {
						t.Errorf("attachment %s: %s %q, want %s %q", a.Filename, a.Kind, a.Error, w.Kind, w.Error)
					}
				}
			})
		}
	}
	if garbled == 0 {
		t.Fatal("no flattened form among the samples")
	}

	// With OCR, one sample through PostScript: what is read is what the
	// clean email says.
	o := needOCR(t)
	raw := readSampleEmail(t, "02-flattened-pdf-happy")
	clean, _ := rebuildEmail(t, raw, nil)
	want, err := p.Parse(ctx, clean)
	if err != nil {
		t.Fatal(err)
	}
	stripped, _ := rebuildEmail(t, raw, func(pdf []byte) []byte { return viaPostScript(t, dir, pdf) })
	ocr := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	got, err := ocr.Parse(ctx, stripped)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []FormKind{Referral, Consent} {
		g, w := got.formOf(k), want.formOf(k)
		if g == nil || g.Source != SourceOCR {
			t.Fatalf("%s not read by OCR: %+v", k, g)
		}
		for _, f := range identifyingFields[k] {
			if g.Values[f] != w.Values[f] {
				t.Errorf("%s %s: OCR read %q, want %q", k, f, g.Values[f], w.Values[f])
			}
		}
	}
}

// identifyingFields are the fields a coordinator matches a child on.
var identifyingFields = map[FormKind][]string{
	Referral: {"cyp_first_names", "cyp_surname", "cyp_dob", "cyp_nhs_number"},
	Consent:  {"cyp_full_name", "cyp_dob", "cyp_nhs_number"},
}

// TestUnreadableTextAgreesWithPdftotext holds the line between a text layer
// and an unreadable one to pdftotext's reading of the same files, our
// flattened forms printed to PDF and with their character maps lost: what
// we read, pdftotext reads as four in five letters or more; what we
// refuse, it reads as fewer, but where poppler reads the character maps
// of the TrueType programs embedded in the file. A print to PDF is never
// refused.
func TestUnreadableTextAgreesWithPdftotext(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Cairo, Ghostscript, qpdf and pdftotext")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is needed (scripts/install-test-deps.sh installs it)")
	}
	dir := t.TempDir()
	r := NewInProcessPDFReader(Limits{})
	variants := map[string]func(t *testing.T, dir string, in []byte) []byte{}
	for _, v := range lostMaps {
		variants[v.name] = v.make
	}
	for name, print := range printToPDF {
		variants[name] = print
	}
	refusals := 0
	defer func() {
		if refusals == 0 && !t.Failed() {
			t.Error("no file refused: the test tells nothing")
		}
	}()
	for _, fixture := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "libreoffice-referral.pdf"} {
		data := pdfFixture(t, fixture)
		for name, make := range variants {
			t.Run(fixture+"/"+name, func(t *testing.T) {
				pdf := make(t, dir, data)
				file := filepath.Join(dir, "made.pdf")
				if err := os.WriteFile(file, pdf, 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command("pdftotext", file, "-").Output()
				if err != nil {
					t.Fatal(err)
				}
				letters, marks := 0, 0
				for _, c := range string(out) {
					if unicode.IsSpace(c) || isFillMark(c) {
						continue
					}
					marks++
					if unicode.IsLetter(c) {
						letters++
					}
				}
				_, err = r.ReadPDF(context.Background(), pdf)
				refused := ReasonOf(err) == ReasonPDFTextGarbled
				t.Logf("pdftotext: %d letters of %d characters; dsr refuses %v: %v", letters, marks, refused, err)
				if refused {
					refusals++
				}
				peerReads := letters*5 >= marks*4 // four in five letters
				switch {
				case refused && printToPDF[name] != nil:
					t.Errorf("a print refused as unreadable text: %v", err)
				case !refused && err != nil:
					t.Errorf("read: %v", err)
				case !refused && !peerReads:
					t.Errorf("dsr reads a text layer of which pdftotext reads %d letters in %d characters", letters, marks)
				case refused && peerReads:
					// The one disagreement: poppler reads an embedded
					// TrueType font's own character map where the PDF gives
					// none; dsr reads no font programs (the PDF library
					// has no reader for them), and the form goes to OCR.
					if !bytes.Contains(pdf, []byte("/FontFile2")) {
						t.Errorf("dsr refuses a text layer pdftotext reads (%d letters in %d characters), and not from TrueType programs", letters, marks)
					}
				}
			})
		}
	}
}

type pdfSampleEmail struct {
	name       string
	raw, clean []byte
}

// pdfSampleEmails are the sample emails with PDFs, each with its clean
// rebuild (rebuildEmail) to compare with.
func pdfSampleEmails(t *testing.T) []pdfSampleEmail {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	var out []pdfSampleEmail
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if clean, pdfs := rebuildEmail(t, raw, nil); pdfs > 0 {
			out = append(out, pdfSampleEmail{filepath.Base(filepath.Dir(path)), raw, clean})
		}
	}
	return out
}

// sameForms checks that got read each form exactly as want did, with the
// same attachments and problems: a form saved another way, read as the
// clean one.
func sameForms(t *testing.T, got, want *Submission) {
	t.Helper()
	for _, k := range []FormKind{Referral, Consent} {
		if g, w := got.formOf(k), want.formOf(k); !reflect.DeepEqual(g, w) {
			t.Errorf("%s read %+v\nwant %+v", k, g, w)
		}
	}
	sameAttachments(t, got, want)
	if !reflect.DeepEqual(got.Problems, want.Problems) {
		t.Errorf("problems %q, want %q", got.Problems, want.Problems)
	}
}

// samePrintedForms checks that got read each of want's forms, and only
// those, as a print of it reads (samePrintedValues), with the same
// attachments.
func samePrintedForms(t *testing.T, got, want *Submission) {
	t.Helper()
	for _, k := range []FormKind{Referral, Consent} {
		g, w := got.formOf(k), want.formOf(k)
		if (g == nil) != (w == nil) {
			t.Fatalf("%s read: %v, want %v", k, g != nil, w != nil)
		}
		if g != nil && (!samePrintedValues(g.Values, w.Values) || !sameWords(g.Invalid, w.Invalid)) {
			t.Errorf("%s read %v %v\nwant %v %v", k, g.Values, g.Invalid, w.Values, w.Invalid)
		}
	}
	sameAttachments(t, got, want)
}

// sameAttachments checks each attachment's kind and error against want's.
func sameAttachments(t *testing.T, got, want *Submission) {
	t.Helper()
	if len(got.Attachments) != len(want.Attachments) {
		t.Fatalf("%d attachments, want %d", len(got.Attachments), len(want.Attachments))
	}
	for i, a := range got.Attachments {
		if a.Kind != want.Attachments[i].Kind || a.Error != want.Attachments[i].Error {
			t.Errorf("attachment %s: %s %q, want %s %q", a.Filename, a.Kind, a.Error, want.Attachments[i].Kind, want.Attachments[i].Error)
		}
	}
}
