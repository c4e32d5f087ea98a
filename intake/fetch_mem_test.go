package intake

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
)

// stalledSession answers a FETCH only after stall, while stalled is set.
type stalledSession struct {
	imapserver.Session
	stalled *atomic.Bool
	stall   time.Duration
}

func (s *stalledSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if s.stalled.Load() {
		time.Sleep(s.stall)
	}
	return s.Session.Fetch(w, numSet, options)
}

func (s *stalledSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	return s.Session.(imapserver.SessionMove).Move(w, numSet, dest)
}

// TestFetchGivesUpOnASilentServerMemIMAP: a server that sends nothing for
// longer than the bound on its silence has its fetch cut, and the sync
// says why; the emails stay in the inbox, and the next sync, with the
// server answering, processes every one.
func TestFetchGivesUpOnASilentServerMemIMAP(t *testing.T) {
	var stalled atomic.Bool
	s := harness.NewMemIMAP(t, memServers["move"], func(sess imapserver.Session) imapserver.Session {
		return &stalledSession{Session: sess, stalled: &stalled, stall: 3 * time.Second}
	})
	cfg := mailbox.IMAPConfig{Addr: s.Addr, TLS: mailbox.TLSInsecure, Username: s.Username, Auth: mailbox.PasswordAuth(s.Password)}
	e := newE2EOn(t, cfg, memInbox{s})
	want := fillInbox(t, e.inbox, 8, "silent")
	e.daemon.fetchSilence = 300 * time.Millisecond
	ctx := context.Background()

	stalled.Store(true)
	err := e.daemon.RunOnce(ctx)
	stalled.Store(false)
	if err == nil || !strings.Contains(err.Error(), "the server sent nothing for 300ms") {
		t.Fatalf("a sync whose server stalled returned %v, want the silence named", err)
	}
	if n := len(e.inbox.Messages(t, "INBOX")); n != len(want) {
		t.Fatalf("%d in the inbox after the cut fetch, want all %d", n, len(want))
	}
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	checkAllMoved(t, e, want)
}
