package intake

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestShutdownFinishesMessagesInHandDovecot: asked to stop (SIGTERM
// cancels the daemon's context) while messages are being processed, the
// daemon finishes those in hand, committed and moved, and leaves the rest
// untouched in the inbox for the next run: nothing is decided but left.
func TestShutdownFinishesMessagesInHandDovecot(t *testing.T) {
	e := newE2E(t)
	names := sampleNames(t)
	// More than the daemon takes in hand, so that some are never started.
	e.daemon.Workers = 1
	total := inHandPerWorker*e.daemon.Workers + 16
	for i := 0; i < total; i++ {
		e.dc.Append(t, "INBOX", uniqueCopy(readSample(t, names[i%len(names)]), fmt.Sprintf("stop-%02d@test.example", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	e.daemon.OnProcessed = func(register.Outcome) { once.Do(cancel) } // "SIGTERM" during the first message
	done := make(chan error, 1)
	go func() { done <- e.daemon.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the daemon did not stop")
	}

	sctx := context.Background()
	inbox := e.dc.Messages(t, "INBOX")
	for _, m := range inbox {
		st, err := e.store.MessageState(sctx, parser.Hash(m.Raw))
		if err != nil {
			t.Fatal(err)
		}
		if st.State != "" {
			t.Errorf("a message left in the inbox is %q in the store: it was in hand and not finished", st.State)
		}
	}
	moved := 0
	for _, f := range []string{"Processed", "Queried", "Review", "Ignored"} {
		for _, m := range e.dc.Messages(t, f) {
			moved++
			st, err := e.store.MessageState(sctx, parser.Hash(m.Raw))
			if err != nil {
				t.Fatal(err)
			}
			if st.State != store.MessageDecided && st.State != store.MessageMoved {
				t.Errorf("a moved message is %q in the store", st.State)
			}
		}
	}
	if moved == 0 {
		t.Fatal("the message in hand was not finished")
	}
	if moved+len(inbox) != total {
		t.Errorf("%d moved + %d in the inbox != %d appended", moved, len(inbox), total)
	}
	if len(inbox) == 0 {
		t.Errorf("all %d messages were processed after the stop: the daemon did not stop promptly", total)
	}
	t.Logf("stopped after %d of %d messages", moved, total)
}
