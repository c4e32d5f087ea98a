package main

// The daemon reading scans: `dsr run --once` over a mailbox of the OCR
// fixtures (parser/testdata/ocr), cycled with Message-IDs of their own.
// The PDF reader's child runs Tesseract and ImageMagick as its own
// children, so the memory that matters is measured three ways: dsr's own
// peak (bounded by 2 x the largest attachment + 64 MB), one reader child
// with its tools (bounded by pdf_memory_mb, and by 300 MB per page as the
// child reads one page at a time), and the sum over all of them.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"dsr-intake/config"
	"dsr-intake/parser"
)

// scanSample is one OCR fixture with the page images it carries.
type scanSample struct {
	sample
	pages     int
	largestKB int64 // its largest attachment, decoded
}

func loadScans(dir string) ([]scanSample, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	p := parser.New(parser.Options{}) // no OCR: only the attachments are wanted
	var out []scanSample
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sub, err := p.Parse(context.Background(), raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		s := scanSample{sample: sample{Name: filepath.Base(f), Raw: raw}}
		for _, a := range sub.Attachments {
			if a.Detected != "pdf" && a.Detected != "image" {
				continue
			}
			s.pages += imagePages(a.Data)
			s.largestKB = max(s.largestKB, int64(len(a.Data))>>10)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scanned emails under %s (scripts/make-ocr-fixtures.sh)", dir)
	}
	return out, nil
}

var pdfPageRe = regexp.MustCompile(`/Type\s*/Page[^s]`)

// imagePages counts the pages of a scan: the page objects of an
// image-only PDF (img2pdf writes them uncompressed), the directories of a
// TIFF (a fax has one per page), one for any other image.
func imagePages(data []byte) int {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF")):
		return max(1, len(pdfPageRe.FindAll(data, -1)))
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return tiffPages(data)
	}
	return 1
}

func tiffPages(d []byte) int {
	if len(d) < 8 {
		return 1
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if d[0] == 'M' {
		bo = binary.BigEndian
	}
	n := 0
	off := int(bo.Uint32(d[4:8]))
	for off > 0 && off+2 <= len(d) && n < 1000 {
		n++
		entries := int(bo.Uint16(d[off:]))
		next := off + 2 + 12*entries
		if next+4 > len(d) {
			break
		}
		off = int(bo.Uint32(d[next:]))
	}
	return max(1, n)
}

var decisionRe = regexp.MustCompile(`"msg":"message decided".*?"outcome":"([a-z]+)","reasons":(\[[^\]]*\]|null)`)

// ocrMaxMessageMB is the scans run's max_message_mb, as the intake's.
const ocrMaxMessageMB = 40

func (b *bench) ocr(ctx context.Context) error {
	b.printf("### Reading scans: dsr run --once over scanned emails (SQLite)\n\n")
	if _, err := parser.FindOCR(ctx); err != nil {
		b.printf("Skipped: %v (apt-get install tesseract-ocr tesseract-ocr-eng imagemagick poppler-utils).\n\n", err)
		return nil
	}
	scans, err := loadScans(b.o.ocrDir)
	if err != nil {
		return err
	}
	n := b.o.ocrN
	if n <= 0 {
		n = len(scans)
	}
	var pages int
	var largestKB int64
	for i := 0; i < n; i++ {
		s := scans[i%len(scans)]
		pages += s.pages
		largestKB = max(largestKB, s.largestKB)
	}
	samples := make([]sample, len(scans))
	for i, s := range scans {
		samples[i] = s.sample
	}
	snap := filepath.Join(b.work, "snap-ocr")
	size, err := writeMaildir(snap, n, mailbox(samples, n, "ocr"), b.dc.MailUID, b.dc.MailGID)
	if err != nil {
		return err
	}
	if err := b.dc.Restore(snap); err != nil {
		return err
	}
	// A loaded machine needs more than the default time per scan; a
	// timed-out scan would be measured as not read at all.
	res, runErr := b.dsrOnce(ctx, samplePeaks, "sqlite", n, ocrMaxMessageMB, `ocr_timeout = "15m"`)
	if runErr != nil && res.Wall == 0 {
		return runErr
	}
	_ = os.RemoveAll(snap)
	outcomes := map[string]int{}
	confirm := 0
	decisions := decisionRe.FindAllStringSubmatch(res.Stderr, -1)
	for _, m := range decisions {
		outcomes[m[1]]++
		var codes []string
		if json.Unmarshal([]byte(m[2]), &codes) == nil && slices.Contains(codes, "confirm_scanned_form") {
			confirm++
		}
	}
	var oc []string
	for k, v := range outcomes {
		oc = append(oc, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(oc)
	cpu := res.CPU()
	perPage := func(d time.Duration) string { return (d / time.Duration(pages)).Round(10 * time.Millisecond).String() }
	pdfMB := config.Default().Limits.PDFMemoryMB
	bound := 2*largestKB + 64<<10
	b.printf("%d emails cycled from the %d in `%s` (%.1f MB; %d scanned pages; largest attachment %.1f MB), read by the daemon's PDF/OCR child with its Tesseract and ImageMagick. Outcomes: %s; %d with `confirm_scanned_form` (a scan is never registered unconfirmed: %s).\n\n",
		n, len(scans), b.o.ocrDir, float64(size)/(1<<20), pages, float64(largestKB)/1024, strings.Join(oc, ", "), confirm,
		verdict(outcomes["register"] == 0))
	if runErr != nil {
		// Measured all the same: what the daemon did until it stopped, and
		// why, is the finding (the per-page figures then overstate).
		first, _, _ := strings.Cut(runErr.Error(), "\n")
		var why []string // dsr's own error lines are plain text, not JSON
		for _, line := range strings.Split(res.Stderr, "\n") {
			if line != "" && !strings.HasPrefix(line, "{") {
				why = append(why, line)
			}
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, "sync done") {
				logf("  %s", line)
			}
		}
		b.printf("**The run did not process every email** (%d of %d decided): %s: `%s`\n\n", len(decisions), n, first, strings.Join(why, "; "))
	}
	b.printf("| measure | figure | bound |\n|---|---|---|\n")
	b.printf("| wall | %s (%s per page) | |\n", res.Wall.Round(time.Second), perPage(res.Wall))
	b.printf("| CPU of dsr and all its descendants (user + system; waited for %s, still running at exit %s) | %s (%s per page) | 2 s per page: %s |\n",
		(res.UserCPU + res.Sys).Round(time.Second), res.UnwaitedCPU.Round(time.Second),
		cpu.Round(time.Second), perPage(cpu), verdict(cpu/time.Duration(pages) <= 2*time.Second))
	// Two bounds: the one the typed mailbox is held to (one email's
	// worth over the baseline), and dsr's own soft memory limit, which
	// it sets from max_message_mb. Scans are slow to read, so the
	// messages in hand wait (up to sixteen per reader, within 16 MB, four
	// being read), each with its raw email, and those read with their
	// decoded attachments and crops.
	limit := int64(2*ocrMaxMessageMB+64) << 10
	b.printf("| dsr's own peak (VmHWM) | %s | 2 × %.1f MB + 64 MB = %s: %s; its soft limit, 2 × max_message_mb (%d) + 64 MB = %s: %s |\n",
		mib(res.ParentHWMKB), float64(largestKB)/1024, mib(bound), verdict(res.ParentHWMKB <= bound),
		ocrMaxMessageMB, mib(limit), verdict(res.ParentHWMKB <= limit))
	b.printf("| one PDF/OCR child with its tools, peak | %s | pdf_memory_mb = %d MB: %s; 300 MB per page: %s |\n", mib(res.ChildTreeKB), pdfMB,
		verdict(res.ChildTreeKB <= int64(pdfMB)<<10), verdict(res.ChildTreeKB <= 300<<10))
	b.printf("| largest single tool process | %s | |\n", mib(res.MaxProcKB))
	b.printf("| all children summed, peak (at most %d processes at once) | %s | |\n\n", res.MaxChildren, mib(res.ChildrenKB))
	logf("ocr: %d emails, %d pages, wall %s, cpu %s, dsr %s, child %s", n, pages, res.Wall.Round(time.Second), cpu.Round(time.Second), mib(res.ParentHWMKB), mib(res.ChildTreeKB))
	return nil
}
