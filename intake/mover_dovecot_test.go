package intake

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// fillInbox puts n unique copies of the samples in the inbox and returns
// the folder each should end in, by Message-ID (not by hash: the server
// stores a sample with bare LF line ends with CRLF).
func fillInbox(t *testing.T, inbox testInbox, n int, prefix string) map[string]string {
	t.Helper()
	folderOf := map[string]string{"register": "Processed", "query": "Queried", "review": "Review", "ignore": "Ignored"}
	names := sampleNames(t)
	want := map[string]string{}
	for i := range n {
		name := names[i%len(names)]
		id := fmt.Sprintf("%s-%03d@test.example", prefix, i)
		inbox.Append(t, "INBOX", uniqueCopy(readSample(t, name), id))
		want[id] = folderOf[expectedOutcome(t, name)]
	}
	return want
}

// checkAllMoved checks that the inbox is empty and every email is in its
// outcome's folder, recorded in the store as moved there.
func checkAllMoved(t *testing.T, e *e2e, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	if n := len(e.inbox.Messages(t, "INBOX")); n != 0 {
		t.Errorf("%d left in the inbox", n)
	}
	found := 0
	for _, folder := range []string{"Processed", "Queried", "Review", "Ignored", "Quarantine"} {
		for _, m := range e.inbox.Messages(t, folder) {
			first, _, _ := strings.Cut(string(m.Raw), "\r\n")
			w, ok := want[strings.Trim(strings.TrimPrefix(first, "Message-ID: "), "<>")]
			if !ok {
				continue // another test's email
			}
			found++
			if w != folder {
				t.Errorf("an email for %s is in %s", w, folder)
			}
			st, err := e.store.MessageState(ctx, parser.Hash(m.Raw))
			if err != nil {
				t.Fatal(err)
			}
			if st.State != store.MessageMoved || st.Mailbox != folder {
				t.Errorf("an email in %s is recorded as %q in %q", folder, st.State, st.Mailbox)
			}
		}
	}
	if found != len(want) {
		t.Errorf("%d of %d emails found in the outcome folders", found, len(want))
	}
}

// loginsAfter waits for Dovecot to log at least want logins since
// before (its log is written by another process), then a moment more for
// any extra, and returns how many it logged.
func loginsAfter(t *testing.T, e *e2e, before, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.dc.Logins(t)-before < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return e.dc.Logins(t) - before
}

// TestMovesOnASecondConnectionDovecot: a sync of more emails than one
// move batch moves them on a second connection (Dovecot logs two logins
// for the run), so the fetcher never waits for a move; every email still
// ends in its outcome's folder, recorded as moved. Oversize emails after
// the first batch are quarantined by the fetcher, on its connection,
// while the mover moves on its own: OnMoved hears of every move. A sync
// of one batch or fewer, the daemon's usual one, logs in once.
func TestMovesOnASecondConnectionDovecot(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	want := fillInbox(t, e.inbox, maxMoveBatch+16, "mover")
	const oversize = 3
	e.daemon.MaxMessageBytes = 512 << 10
	for i := range oversize {
		big := uniqueCopy(readSample(t, "04-missing-consent-form"), fmt.Sprintf("mover-big-%d@test.example", i))
		e.inbox.Append(t, "INBOX", append(big, strings.Repeat(strings.Repeat("x", 998)+"\r\n", 600)...))
	}
	moved := map[string]int{}
	e.daemon.OnMoved = func(folder string, n int) { moved[folder] += n }
	before := e.dc.Logins(t)
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := loginsAfter(t, e, before, 2); n != 2 {
		t.Errorf("a sync of %d emails logged in %d times, want 2 (the fetcher's connection and the mover's)", len(want)+oversize, n)
	}
	if !strings.Contains(e.logs.String(), "second_connection=true") {
		t.Error(`the sync did not report "second_connection=true"`)
	}
	checkAllMoved(t, e, want)
	total := 0
	for _, n := range moved {
		total += n
	}
	if total != len(want)+oversize || moved["Quarantine"] != oversize {
		t.Errorf("OnMoved heard of %d moves, %d to Quarantine; want %d and %d", total, moved["Quarantine"], len(want)+oversize, oversize)
	}
	if n := len(e.inbox.Messages(t, "Quarantine")); n != oversize {
		t.Errorf("%d in Quarantine, want the %d oversize emails", n, oversize)
	}

	small := fillInbox(t, e.inbox, maxMoveBatch, "small")
	before = e.dc.Logins(t)
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := loginsAfter(t, e, before, 1); n != 1 {
		t.Errorf("a sync of %d emails logged in %d times, want 1", len(small), n)
	}
	checkAllMoved(t, e, small)
}

// TestMovesWhenASecondConnectionIsRefusedDovecot: a server that allows
// one connection per user (as a provider's limit on connections can)
// refuses the mover's login; the sync moves on its one connection, as
// before, and says so.
func TestMovesWhenASecondConnectionIsRefusedDovecot(t *testing.T) {
	e := newE2E(t)
	e.dc.LimitConnections(t, 1)
	ctx := context.Background()
	want := fillInbox(t, e.inbox, maxMoveBatch+16, "limit")
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), "second connection for moves failed; moving on the first") {
		t.Error("the refused second connection was not reported")
	}
	if !strings.Contains(e.logs.String(), "second_connection=false") {
		t.Error(`the sync did not report "second_connection=false"`)
	}
	// The daemon's connection may still count against the limit for a
	// moment after its logout.
	time.Sleep(500 * time.Millisecond)
	checkAllMoved(t, e, want)
}

// TestRestartWhileMovingOnASecondConnectionDovecot: Dovecot is restarted
// while the daemon works through a backlog with its mover connected (the
// first emails already moved, most still in the inbox), which drops both
// connections mid-sync. The daemon reconnects and finishes: every email
// in its outcome's folder, recorded as moved, each decided once.
func TestRestartWhileMovingOnASecondConnectionDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("restart test: skipped with -short")
	}
	e := newE2E(t)
	want := fillInbox(t, e.inbox, 3*maxMoveBatch, "restart-mover")
	var decided atomic.Int32
	e.daemon.OnProcessed = func(register.Outcome) { decided.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.daemon.Run(ctx) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n, err := e.dc.Count("Processed"); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing was moved in two minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	left, err := e.dc.Count("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	e.dc.Restart(t)
	t.Logf("restarted with %d of %d emails in the inbox", left, len(want))
	if left <= maxMoveBatch {
		t.Logf("the sync had got further than wanted before the restart (%d left): the mover may already be gone", left)
	}
	for {
		if n, err := e.dc.Count("INBOX"); err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the inbox was not emptied after the restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-done
	if got := decided.Load(); got != int32(len(want)) {
		t.Errorf("%d decisions, want %d: each email once", got, len(want))
	}
	checkAllMoved(t, e, want)
	if !strings.Contains(e.logs.String(), "second_connection=true") {
		t.Error("no sync moved on a second connection")
	}
	if !strings.Contains(e.logs.String(), "imap connection lost") {
		t.Error("the daemon did not see its connection drop: the restart came after the sync")
	}
}
