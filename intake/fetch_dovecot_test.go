package intake

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// TestFetchWaitsForRoomInHandDovecot: a run of emails fetched with one
// command waits, mid-fetch, while the emails in hand are parsed (scans
// read by OCR take minutes); the bound on the server's silence must not
// count that wait, or a run of slow emails would be cut at the same place
// at every sync. Here parsing is held for several times the bound.
func TestFetchWaitsForRoomInHandDovecot(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// More than the one worker's bound in hand, all in one fetch command.
	total := inHandPerWorker + 8
	for i := range total {
		e.inbox.Append(t, "INBOX", uniqueCopy(readSample(t, "01-fillable-pdf-happy"), fmt.Sprintf("slow-%02d@nhs.net", i)))
	}
	held := &heldPDFReader{release: make(chan struct{}), next: parser.NewInProcessPDFReader(parser.Limits{})}
	e.daemon.Pipeline.Parser = parser.New(parser.Options{PDF: held})
	e.daemon.Workers = 1
	e.daemon.fetchSilence = 300 * time.Millisecond
	processed := 0
	e.daemon.OnProcessed = func(register.Outcome) { processed++ }
	done := make(chan error, 1)
	go func() { done <- e.daemon.RunOnce(ctx) }()
	time.Sleep(5 * e.daemon.fetchSilence)
	close(held.release)
	if err := <-done; err != nil {
		t.Fatalf("a fetch that waited for room in hand failed: %v", err)
	}
	if processed != total || len(e.inbox.Messages(t, "INBOX")) != 0 {
		t.Fatalf("processed %d of %d, %d left in the inbox", processed, total, len(e.inbox.Messages(t, "INBOX")))
	}
}
