package intake

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
	"dsr-intake/register"
)

// quirkSession is one connection of the in-memory server with a quirk:
// failMoves answers NO to every MOVE; shiftValidity reports a UIDVALIDITY
// one higher than the mailbox's, as if, to this client, the mailbox had
// been recreated and the UIDs the first connection fetched named other
// messages.
type quirkSession struct {
	imapserver.Session
	failMoves, shiftValidity bool
}

func (s *quirkSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.failMoves {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "move refused (test)"}
	}
	return s.Session.(imapserver.SessionMove).Move(w, numSet, dest)
}

func (s *quirkSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.Session.Select(name, options)
	if err == nil && s.shiftValidity {
		data.UIDValidity++
	}
	return data, err
}

// quirkyMover is an e2e on the in-memory server holding one move batch
// and more, whose second connection while armed (the mover's, in a sync
// that large) has quirk's quirks; decided counts the decisions.
type quirkyMover struct {
	e        *e2e
	want     map[string]string // Message-ID -> outcome folder
	armed    atomic.Bool
	sessions atomic.Int32
	decided  atomic.Int32
}

func newQuirkyMover(t *testing.T, quirk quirkSession, prefix string) *quirkyMover {
	t.Helper()
	q := &quirkyMover{}
	s := harness.NewMemIMAP(t, memServers["move"], func(sess imapserver.Session) imapserver.Session {
		mover := q.armed.Load() && q.sessions.Add(1) == 2
		return &quirkSession{Session: sess, failMoves: mover && quirk.failMoves, shiftValidity: mover && quirk.shiftValidity}
	})
	cfg := mailbox.IMAPConfig{Addr: s.Addr, TLS: mailbox.TLSInsecure, Username: s.Username, Auth: mailbox.PasswordAuth(s.Password)}
	q.e = newE2EOn(t, cfg, memInbox{s})
	q.want = fillInbox(t, q.e.inbox, maxMoveBatch+16, prefix)
	q.e.daemon.OnProcessed = func(register.Outcome) { q.decided.Add(1) }
	return q
}

// TestMovesOnTheFirstWhenTheSecondSeesAnotherUIDValidityMemIMAP: a second
// connection whose mailbox has another UIDVALIDITY than the fetcher's is
// closed unused, and the sync moves on its one connection: every email is
// decided once and ends in its outcome's folder, and the log says why.
func TestMovesOnTheFirstWhenTheSecondSeesAnotherUIDValidityMemIMAP(t *testing.T) {
	q := newQuirkyMover(t, quirkSession{shiftValidity: true}, "validity")
	e, want := q.e, q.want

	q.armed.Store(true)
	if err := e.daemon.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	q.armed.Store(false)
	if n := q.sessions.Load(); n < 2 {
		t.Fatalf("%d connection(s) in the sync, want the second one dialled for a sync of %d", n, len(want))
	}
	if !strings.Contains(e.logs.String(), "second connection sees another UIDVALIDITY; moving on the first") {
		t.Error("the log does not say why the second connection went unused")
	}
	if !strings.Contains(e.logs.String(), "second_connection=false") {
		t.Error("the sync's log line does not say it moved on one connection")
	}
	if got := q.decided.Load(); got != int32(len(want)) {
		t.Errorf("%d decisions, want %d: each email once", got, len(want))
	}
	checkAllMoved(t, e, want)
}

// TestFailedMoveOnTheSecondConnectionMemIMAP: when the mover's connection
// fails a move, the sync stops fetching and returns the error; what it
// committed stays decided in the inbox, and the next sync only moves it.
// Every email is decided exactly once and ends in its outcome's folder.
func TestFailedMoveOnTheSecondConnectionMemIMAP(t *testing.T) {
	q := newQuirkyMover(t, quirkSession{failMoves: true}, "movefail")
	e, want := q.e, q.want
	ctx := context.Background()

	q.armed.Store(true)
	err := e.daemon.RunOnce(ctx)
	q.armed.Store(false)
	if err == nil {
		t.Fatal("a sync whose moves failed reported no error")
	}
	t.Logf("first sync: %v", err)
	first := q.decided.Load()
	if first == 0 {
		t.Fatal("nothing was decided before the move failed")
	}
	if n := len(e.inbox.Messages(t, "INBOX")); n != len(want) {
		t.Fatalf("%d in the inbox after the failed moves, want all %d (decided ones stay until moved)", n, len(want))
	}

	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := q.decided.Load(); got != int32(len(want)) {
		t.Errorf("%d decisions over the two syncs (%d in the first), want %d: each email once", got, first, len(want))
	}
	checkAllMoved(t, e, want)
}
