package intake

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
	"dsr-intake/register"
)

// moveFailSession answers NO to every MOVE when fail is set.
type moveFailSession struct {
	imapserver.Session
	fail bool
}

func (s *moveFailSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.fail {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "move refused (test)"}
	}
	return s.Session.(imapserver.SessionMove).Move(w, numSet, dest)
}

// TestFailedMoveOnTheSecondConnectionMemIMAP: when the mover's connection
// fails a move, the sync stops fetching and returns the error; what it
// committed stays decided in the inbox, and the next sync only moves it.
// Every email is decided exactly once and ends in its outcome's folder.
func TestFailedMoveOnTheSecondConnectionMemIMAP(t *testing.T) {
	var sessions atomic.Int32
	var armed atomic.Bool
	s := harness.NewMemIMAP(t, memServers["move"], func(sess imapserver.Session) imapserver.Session {
		// The second connection of the armed sync is its mover's.
		return &moveFailSession{Session: sess, fail: armed.Load() && sessions.Add(1) == 2}
	})
	cfg := mailbox.IMAPConfig{Addr: s.Addr, TLS: mailbox.TLSInsecure, Username: s.Username, Auth: mailbox.PasswordAuth(s.Password)}
	e := newE2EOn(t, cfg, memInbox{s})
	want := fillInbox(t, e.inbox, maxMoveBatch+16, "movefail")
	var decided atomic.Int32
	e.daemon.OnProcessed = func(register.Outcome) { decided.Add(1) }
	ctx := context.Background()

	armed.Store(true)
	err := e.daemon.RunOnce(ctx)
	armed.Store(false)
	if err == nil {
		t.Fatal("a sync whose moves failed reported no error")
	}
	t.Logf("first sync: %v", err)
	first := decided.Load()
	if first == 0 {
		t.Fatal("nothing was decided before the move failed")
	}
	if n := len(e.inbox.Messages(t, "INBOX")); n != len(want) {
		t.Fatalf("%d in the inbox after the failed moves, want all %d (decided ones stay until moved)", n, len(want))
	}

	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := decided.Load(); got != int32(len(want)) {
		t.Errorf("%d decisions over the two syncs (%d in the first), want %d: each email once", got, first, len(want))
	}
	checkAllMoved(t, e, want)
}
