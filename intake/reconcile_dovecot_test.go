package intake

import (
	"context"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestReconcileDovecot: a message decided and moved by a daemon that died
// before recording the move (its row says decided, in the inbox) is found
// in its outcome's folder by Message-ID and hash and recorded as moved;
// one that is nowhere stays as it is, and both are counted in the log.
func TestReconcileDovecot(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sample := ""
	for _, name := range sampleNames(t) {
		if expectedOutcome(t, name) == "register" {
			sample = name
			break
		}
	}
	// The move happened (the bytes are the server's, as the daemon
	// fetched them); its recording did not.
	e.dc.Append(t, "Processed", uniqueCopy(readSample(t, sample), "reconcile-moved@test.example"))
	moved := e.dc.Messages(t, "Processed")[0].Raw
	lost := uniqueCopy(readSample(t, sample), "reconcile-lost@test.example")
	for _, raw := range [][]byte{moved, lost} {
		a, err := e.daemon.Pipeline.Process(ctx, Location{Mailbox: "INBOX", UIDValidity: 1, UID: 1}, raw)
		if err != nil || a.Decision.Outcome != register.OutcomeRegister {
			t.Fatalf("apply: %+v (%v)", a.Decision, err)
		}
	}
	// And a message in the inbox, so the sync has work too.
	e.dc.Append(t, "INBOX", uniqueCopy(readSample(t, sample), "reconcile-new@test.example"))

	reconciled, movedOut := 0, 0
	e.daemon.OnReconciled = func(n int) { reconciled += n }
	e.daemon.OnMoved = func(folder string, n int) { movedOut += n }
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.store.MessageState(ctx, parser.Hash(moved)); st.State != store.MessageMoved {
		t.Errorf("the moved message is %q, want moved", st.State)
	}
	if st, _ := e.store.MessageState(ctx, parser.Hash(lost)); st.State != store.MessageDecided {
		t.Errorf("the message that is nowhere is %q, want still decided", st.State)
	}
	if reconciled != 1 || movedOut != 1 {
		t.Errorf("told of %d reconciled and %d moved, want 1 and 1", reconciled, movedOut)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "reconciled the store with the mailbox") || !strings.Contains(logs, "marked_moved=1") || !strings.Contains(logs, "not_found=1") {
		t.Errorf("no reconciliation count in the log:\n%s", logs)
	}
	// The inbox is still selected for the next sync: a new message is
	// taken as usual.
	e.dc.Append(t, "INBOX", uniqueCopy(readSample(t, sample), "reconcile-after@test.example"))
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.dc.Messages(t, "INBOX")); n != 0 {
		t.Errorf("%d messages left in the inbox", n)
	}
	// The row whose message is nowhere is reported once, not at every sync.
	if n := strings.Count(e.logs.String(), "not_found=1"); n != 1 {
		t.Errorf("the message not found is reported %d times, want once", n)
	}
}
