package parser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkOCRPage reads one page of a flattened referral form, printed
// at 200 dpi, as a scan: clean-up with ImageMagick, the page recognised
// from a half-size read, registered to the blank form and its value
// boxes read by Tesseract. Besides wall time per page it reports the CPU
// time of the tools (what a page costs on a loaded machine), the CPU time
// of this process (registration, cutting boxes out: Go's share), and the
// peak resident memory of the largest tool process (target: 2 s and
// 300 MB a page).
func BenchmarkOCRPage(b *testing.B) {
	o := needOCR(b)
	dir := b.TempDir()
	pdf := filepath.Join("testdata", "pdf", "referral-flat-qpdf.pdf")
	if out, err := exec.Command(o.PDFToPPM, "-r", "200", "-gray", "-png", "-f", "1", "-l", "1", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		b.Fatalf("pdftoppm: %v: %s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(matches) != 1 {
		b.Fatalf("rendered %v", matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		b.Fatal(err)
	}
	m := DefaultMapping()
	var before, selfBefore syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &selfBefore); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		forms, err := readScan(context.Background(), o, m, data, false)
		if err != nil || len(forms) != 1 || forms[0].Kind != Referral {
			b.Fatalf("read %d forms: %v", len(forms), err)
		}
	}
	b.StopTimer()
	var after, selfAfter syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &selfAfter); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(cpu.Seconds(), "cpu-s/page")
	self := time.Duration(selfAfter.Utime.Nano()+selfAfter.Stime.Nano()-selfBefore.Utime.Nano()-selfBefore.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(self.Seconds(), "go-cpu-s/page")
	// Maxrss is in KB on Linux: the largest child of this process so far.
	b.ReportMetric(float64(after.Maxrss)/1024, "peak-MB")
}

// BenchmarkOCRFixtures reads every attachment of the scan fixtures
// (parser/testdata/ocr: scans, photos, faxes, upside-down pages) as the
// daemon's child does, and reports the tools' CPU per page read, this
// process's, and the largest tool's peak memory: the per-page cost on
// varied material, where BenchmarkOCRPage is one clean page.
func BenchmarkOCRFixtures(b *testing.B) {
	o := needOCR(b)
	files, err := filepath.Glob(filepath.Join("testdata", "ocr", "*.eml"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no OCR fixtures: %v", err)
	}
	var atts [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		sub, err := New(Options{}).Parse(context.Background(), raw)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range sub.Attachments {
			if a.Kind == KindUnreadable { // scans and images, without OCR
				atts = append(atts, a.Data)
			}
		}
	}
	r := withOCR(NewInProcessPDFReader(Limits{}), o, Limits{OCRTimeout: 15 * time.Minute}, nil)
	var before, selfBefore syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &selfBefore); err != nil {
		b.Fatal(err)
	}
	pages := 0
	b.ResetTimer()
	for b.Loop() {
		for _, a := range atts {
			forms, err := r.ReadPDF(context.Background(), a)
			if err != nil || len(forms) == 0 || forms[0].OCR == nil {
				continue // read as text, or not a form: counted as no page
			}
			pages += len(forms[0].OCR.Pages)
		}
	}
	b.StopTimer()
	var after, selfAfter syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &selfAfter); err != nil {
		b.Fatal(err)
	}
	if pages == 0 {
		b.Fatal("no page read")
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(pages)
	self := time.Duration(selfAfter.Utime.Nano()+selfAfter.Stime.Nano()-selfBefore.Utime.Nano()-selfBefore.Stime.Nano()) / time.Duration(pages)
	b.ReportMetric(float64(pages)/float64(b.N), "pages")
	b.ReportMetric(cpu.Seconds(), "cpu-s/page")
	b.ReportMetric(self.Seconds(), "go-cpu-s/page")
	b.ReportMetric(float64(after.Maxrss)/1024, "peak-MB")
}
