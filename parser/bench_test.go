package parser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
			r := NewChildPDFReader(self, Limits{}, childEnv+"=serve").(*childPDF)
			b.SetBytes(int64(len(data)))
			// The children's CPU time (the PDF's reading, collection
			// included): those retired after maxChildPDFs PDFs are counted
			// once reaped, the running one from /proc.
			start, n := childrenCPU(r), 0
			for b.Loop() {
				if _, err := r.ReadPDF(context.Background(), data); err != nil {
					b.Fatal(err)
				}
				n++
			}
			end := childrenCPU(r)
			r.mu.Lock()
			idle := r.idle
			r.idle = nil
			r.mu.Unlock()
			for _, w := range idle {
				w.kill() // reaped here, not during the next benchmark
			}
			if n > 0 && end > start {
				b.ReportMetric(float64(end-start)/float64(n), "child-cpu-ns/op")
			}
		})
	}
}

// childrenCPU is the CPU time of this process's reaped children and of
// the reader's running ones.
func childrenCPU(r *childPDF) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	t := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.idle {
		t += procCPU(w.cmd.Process.Pid)
	}
	return t
}

// procCPU is a process's user and system time from /proc (in clock
// ticks of 10 ms: read it over many operations); 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	if err != nil || pid == 0 || i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, the state
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
