package parser

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU this process has used, user and system, its
// collector's workers included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs body as the benchmark loop and reports the CPU time per
// operation beside the wall time: on a machine shared with other work
// the wall time also counts the time spent waiting for a core.
func loopCPU(b *testing.B, body func()) {
	n := 0
	start := cpuTime()
	for b.Loop() {
		body()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkParse parses each sample email whole (MIME, attachments, every
// form in them), one sub-benchmark per kind of form: fillable PDF,
// flattened PDF, Word, and an email with no form at all. PDFs are read in
// process: the child-process reader adds its pipe round trip, measured by
// BenchmarkChildPDF.
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, sample string }{
		{"fillable-pdf", "01-fillable-pdf-happy"},
		{"flattened-pdf", "02-flattened-pdf-happy"},
		{"docx", "03-docx-happy"},
		{"referral-only-pdf", "04-missing-consent-form"},
		{"auto-reply", "08-automatic-reply"},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", tc.sample, "message.eml"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			p := New(Options{})
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			loopCPU(b, func() {
				if _, err := p.Parse(context.Background(), raw); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkChildPDF reads a fillable and a flattened form through the
// child-process reader, the way dsr does with isolation on: the pool's
// child is started once and then reused, so this is the per-PDF cost.
func BenchmarkChildPDF(b *testing.B) {
	self := []string{os.Args[0], "-test.run=^$"}
	for _, name := range []string{"referral-filled.pdf", "referral-flat-qpdf.pdf"} {
		data := pdfFixture(b, name)
		b.Run(name, func(b *testing.B) {
			r := NewChildPDFReader(self, Limits{}, childEnv+"=serve")
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := r.ReadPDF(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
