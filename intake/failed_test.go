package intake

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register/store"
)

// TestFailedCountsWhenTheBudgetRanOut: a message whose budget ran out (a
// batch of scans read by OCR) is still counted as failed, and quarantined
// at the last attempt; recording it with the spent budget failed, so the
// message failed the same way at every sync, uncounted.
func TestFailedCountsWhenTheBudgetRanOut(t *testing.T) {
	db := openStore(t, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db")})
	d := &Daemon{Store: db, MaxAttempts: 2, Health: &Health{}, Log: slog.New(slog.NewTextHandler(harness.TestWriter{T: t}, nil))}
	raw := []byte("From: a@nhs.net\r\nSubject: scans\r\n\r\nforms\r\n")
	hash := parser.Hash(raw)
	info := mailbox.MessageInfo{UID: 7, Size: int64(len(raw))}
	loc := Location{Mailbox: "INBOX", UIDValidity: 1, UID: 7}
	for attempt := 1; attempt <= 2; attempt++ {
		spent, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		quarantined, err := d.failed(spent, info, loc, raw, hash, context.DeadlineExceeded)
		cancel()
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		st, err := db.MessageState(context.Background(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if st.Attempts != attempt || quarantined != (attempt == 2) {
			t.Errorf("attempt %d: counted %d, quarantined %v", attempt, st.Attempts, quarantined)
		}
	}
}
