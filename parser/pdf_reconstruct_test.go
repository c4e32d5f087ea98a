package parser

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadPDFReconstructed: forms whose cross-reference offsets went wrong
// on the way (line ends changed by a gateway that took the PDF for text, a
// startxref that points nowhere, every object moved by a tool) are read as
// the clean form is wherever qpdf (the peer) reads them by reconstructing
// its table, and also where the change reached the page content qpdf
// checks but not the fields. Where it reached the data itself (an object
// stream's fields) the form is unreadable, as for qpdf, never misread. A
// file cut before its table and trailer is "incomplete", as before
// (TestReadPDF's truncated.pdf): neither qpdf, poppler nor pdftk reads one.
func TestReadPDFReconstructed(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Fatal("qpdf is needed (scripts/install-test-deps.sh installs it)")
	}
	startxref := regexp.MustCompile(`startxref\s+\d+`)
	damages := []struct {
		name string
		do   func([]byte) []byte
	}{
		{"line ends LF to CRLF, as a gateway treating it as text", func(d []byte) []byte {
			return bytes.ReplaceAll(bytes.ReplaceAll(d, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		}},
		{"line ends CRLF to LF", func(d []byte) []byte { return bytes.ReplaceAll(d, []byte("\r\n"), []byte("\n")) }},
		{"the last startxref points nowhere", func(d []byte) []byte {
			all := startxref.FindAllIndex(d, -1)
			last := all[len(all)-1]
			return append(append(append([]byte{}, d[:last[0]]...), "startxref\n"+strconv.Itoa(len(d)/3)...), d[last[1]:]...)
		}},
		{"every object moved by 37 bytes", func(d []byte) []byte {
			i := bytes.Index(d, []byte("\n")) + 1
			return append(append(append([]byte{}, d[:i]...), []byte("% moved by a tool: 37 bytes of junk\n")...), d[i:]...)
		}},
	}
	var read atomic.Int32
	for _, name := range []string{"referral-filled.pdf", "consent-filled.pdf", "viewer/objstm-consent.pdf", "viewer/hybrid-consent.pdf", "referral-flat-qpdf.pdf"} {
		clean := pdfFixture(t, name)
		want, err := readRaw(t, name)
		if err != nil || len(want) == 0 {
			t.Fatalf("clean %s: %d forms, %v", name, len(want), err)
		}
		for _, dm := range damages {
			t.Run(name+"/"+dm.name, func(t *testing.T) {
				damaged := dm.do(clean)
				if bytes.Equal(damaged, clean) {
					t.Skip("the damage changes nothing in this file")
				}
				peer := qpdfReconstructs(t, damaged)
				got, err := NewInProcessPDFReader(Limits{PDFTimeout: 10 * time.Second}).ReadPDF(t.Context(), damaged)
				switch {
				case err == nil && !reflect.DeepEqual(got, want):
					// Never a reading that differs from the form's.
					t.Errorf("read %s damaged (qpdf reads it: %v):\n%s", name, peer, rawFormDiff(got, want))
				case err != nil && peer:
					t.Errorf("read: %v; qpdf reads it", err)
				case err != nil:
					// The damage reached the data (an object stream's, a
					// page's content): nobody reads it, and it says so.
					t.Logf("unreadable as for qpdf: %v", err)
				default:
					read.Add(1)
				}
			})
		}
	}
	// Of the 5 forms under the 4 damages (18 changed files), all but the
	// three whose object stream or page content the damage reached.
	if n := read.Load(); n < 15 {
		t.Errorf("only %d damaged files read", n)
	}
}

// TestReadPDFPrevLoop: a file whose xref /Prev points back at itself is
// read by its objects, as qpdf ("operation succeeded with warnings") and
// poppler ("Infinite loop in xref table", then its text) read it, without
// giving the library the loop: a one-page letter, no form.
func TestReadPDFPrevLoop(t *testing.T) {
	data := pdfFixture(t, "prev-loop.pdf")
	if _, err := readXrefChain(data, DefaultLimits().MaxPDFObjects); !errors.Is(err, errXrefLoop) {
		t.Fatalf("the fixture's chain: %v, want a loop", err)
	}
	x, err := reconstructXref(data, DefaultLimits().MaxPDFObjects, pdfContentBudget)
	if err != nil {
		t.Fatal(err)
	}
	if root, _ := x.trailer["Root"].(pdfRef); root.num != 1 || len(x.entries) != 5 {
		t.Errorf("root %v, %d objects; want 1 0 R of 5", x.trailer["Root"], len(x.entries))
	}
	forms, err := NewInProcessPDFReader(Limits{PDFTimeout: 5 * time.Second}).ReadPDF(t.Context(), data)
	if err != nil || len(forms) != 0 {
		t.Errorf("read %d forms, err %v; want none, no error", len(forms), err)
	}
}

// qpdfReconstructs says whether qpdf reads a damaged file to the end with
// no error on its pages' content (warnings, such as "reconstructing xref
// table", allowed).
func qpdfReconstructs(t *testing.T, data []byte) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "damaged.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("qpdf", "--check", path).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		err = nil // warnings only
	}
	t.Logf("qpdf --check: %v\n%s", err, lastLines(out, 4))
	return err == nil && !bytes.Contains(out, []byte("ERROR"))
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}

// FuzzReconstructXref: any bytes give objects or an error, never a panic,
// and the objects found are within the limit.
func FuzzReconstructXref(f *testing.F) {
	for _, name := range []string{"referral-filled.pdf", "viewer/objstm-consent.pdf", "viewer/hybrid-consent.pdf", "corrupt.pdf"} {
		f.Add(pdfFixture(f, name))
	}
	f.Add([]byte("1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj 2 0 obj <</Type/ObjStm/N 99999/First 0/Length 3>>stream\nabc\nendstream endobj"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := reconstructXref(data, 1000, 1<<20)
		if err == nil && len(x.entries) > 1000+1000 {
			t.Fatalf("%d entries over the limit", len(x.entries))
		}
	})
}

// BenchmarkReconstructXref scans a 30 MB file, most of it one image
// stream, as the largest attachment would be.
func BenchmarkReconstructXref(b *testing.B) {
	clean := pdfFixture(b, "referral-filled.pdf")
	img := bytes.Repeat([]byte("\x8f\x12 7 0 obJ\xff"), 3<<20)
	data := append(append(append([]byte{}, clean[:len(clean)/2]...), "99 0 obj <</Length "+strconv.Itoa(len(img))+">>stream\n"...), img...)
	data = append(append(data, "\nendstream endobj\n"...), clean[len(clean)/2:]...)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := reconstructXref(data, DefaultLimits().MaxPDFObjects, pdfContentBudget); err != nil {
			b.Fatal(err)
		}
	}
}
