package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadScans counts the pages of the OCR fixtures as the bench divides
// its time by them: the referral form has three pages and the consent
// form two, so an email with both whole has five; the phone photo and the
// PNG carry the consent form's first page alone. A TIFF's pages are its
// directories (the fax), an image-only PDF's its page objects.
func TestLoadScans(t *testing.T) {
	scans, err := loadScans(filepath.Join("..", "..", "parser", "testdata", "ocr"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"fax-tiff.eml": 5, "scan-pdf.eml": 5, "photo-jpeg.eml": 4, "upside-png.eml": 4, "ethan-fax-photo.eml": 4}
	for _, s := range scans {
		if s.pages < 2 || s.pages > 5 || s.largestKB <= 0 {
			t.Errorf("%s: %d pages, largest attachment %d KB", s.Name, s.pages, s.largestKB)
		}
		if w, ok := want[s.Name]; ok && s.pages != w {
			t.Errorf("%s: %d pages, want %d", s.Name, s.pages, w)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 {
		t.Errorf("fixtures not found: %v", want)
	}
}

// TestDecisionRe reads the outcome and reason codes from the daemon's
// "message decided" line as slog's JSON handler writes it.
func TestDecisionRe(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("message decided", "case", "DSR-2026-0001", "outcome", "review",
		"reasons", []string{"missing_field:signature", "confirm_scanned_form"}, "duplicate", false, "outbox", 0)
	log.Info("message decided", "case", "DSR-2026-0002", "outcome", "register", "reasons", []string(nil), "duplicate", false, "outbox", 0)
	m := decisionRe.FindAllStringSubmatch(buf.String(), -1)
	if len(m) != 2 || m[0][1] != "review" || m[0][2] != `["missing_field:signature","confirm_scanned_form"]` || m[1][1] != "register" {
		t.Errorf("matched %q in %s", m, buf.String())
	}
}

// TestOwnCPU reads this process's CPU time from /proc after it has spent
// some: the bench's count of readers never waited for rests on it.
func TestOwnCPU(t *testing.T) {
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	if got, err := ownCPU(os.Getpid()); err != nil || got <= 0 || x == 0 {
		t.Errorf("ownCPU = %s, %v after 100 ms of CPU", got, err)
	}
	if _, err := ownCPU(-1); err == nil {
		t.Error("ownCPU of no process: no error")
	}
}
