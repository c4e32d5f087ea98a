package mailbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"dsr-intake/internal/harness"
	"dsr-intake/parser"
)

func TestDovecotLogin(t *testing.T) {
	d := harness.NewDovecot(t)
	for _, mode := range []TLSMode{TLSImplicit, TLSStartTLS} {
		t.Run(string(mode), func(t *testing.T) {
			m := dialTest(t, dovecotConfig(d, mode))
			if m.UIDValidity() == 0 {
				t.Error("UIDValidity is 0 after select")
			}
			if err := m.Noop(context.Background()); err != nil {
				t.Fatalf("Noop: %v", err)
			}
			msgs, err := m.List(context.Background())
			if err != nil || len(msgs) != 0 {
				t.Fatalf("List on empty inbox = %v, %v; want none", msgs, err)
			}
		})
	}

	// Without the test CA only the system roots are trusted, and they do
	// not know our self-signed CA.
	for _, mode := range []TLSMode{TLSImplicit, TLSStartTLS} {
		t.Run("unknown CA "+string(mode), func(t *testing.T) {
			cfg := dovecotConfig(d, mode)
			cfg.CAFile = ""
			m, err := DialIMAP(context.Background(), cfg)
			if err == nil {
				m.Close()
				t.Fatal("DialIMAP trusted a certificate from an unknown CA")
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("error %v does not mention the certificate", err)
			}
		})
	}

	t.Run("wrong server name", func(t *testing.T) {
		cfg := dovecotConfig(d, TLSImplicit)
		cfg.ServerName = "imap.example.org"
		if m, err := DialIMAP(context.Background(), cfg); err == nil {
			m.Close()
			t.Fatal("DialIMAP accepted a certificate for another name")
		}
	})

	t.Run("insecure to loopback", func(t *testing.T) {
		// Plaintext is allowed to loopback (Dovecot, too, treats a
		// connection from its own host as secured): the demo and
		// in-process tests use it.
		cfg := dovecotConfig(d, TLSInsecure)
		cfg.Addr = d.StartTLSAddr
		m := dialTest(t, cfg)
		if err := m.Noop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	// Last: Dovecot slows further logins from an address that failed one.
	t.Run("wrong password", func(t *testing.T) {
		cfg := dovecotConfig(d, TLSImplicit)
		cfg.Auth = PasswordAuth("not-the-password")
		_, err := DialIMAP(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "login") {
			t.Fatalf("DialIMAP with a wrong password: %v, want a login error", err)
		}
		if strings.Contains(err.Error(), "not-the-password") {
			t.Fatalf("error leaks the password: %v", err)
		}
	})
}

func TestDovecotListFetchPeek(t *testing.T) {
	d := harness.NewDovecot(t)
	raw1 := harness.Message("first referral", 3)
	raw2 := harness.Message("second referral", 40)
	uid1 := d.Append(t, "INBOX", raw1)
	uid2 := d.Append(t, "INBOX", raw2)

	m := dialTest(t, dovecotConfig(d, TLSImplicit))
	ctx := context.Background()
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].UID != uid1 || list[1].UID != uid2 {
		t.Fatalf("List = %+v, want UIDs %d, %d", list, uid1, uid2)
	}
	if list[0].Size != int64(len(raw1)) || list[1].Size != int64(len(raw2)) {
		t.Errorf("sizes = %d, %d; want %d, %d", list[0].Size, list[1].Size, len(raw1), len(raw2))
	}
	if list[0].Deleted || list[0].InternalDate.IsZero() {
		t.Errorf("first message info %+v: want not deleted, with a date", list[0])
	}

	for _, c := range []struct {
		uid uint32
		raw []byte
	}{{uid1, raw1}, {uid2, raw2}} {
		var buf bytes.Buffer
		n, err := m.Fetch(ctx, c.uid, &buf, 1<<20)
		if err != nil {
			t.Fatalf("Fetch %d: %v", c.uid, err)
		}
		if n != int64(len(c.raw)) || !bytes.Equal(buf.Bytes(), c.raw) {
			t.Fatalf("Fetch %d gave %d bytes differing from the stored message", c.uid, n)
		}
	}
	// Exactly at the limit is allowed.
	var buf bytes.Buffer
	if _, err := m.Fetch(ctx, uid1, &buf, int64(len(raw1))); err != nil {
		t.Fatalf("Fetch at exactly the limit: %v", err)
	}

	for _, msg := range d.Messages(t, "INBOX") {
		if msg.Has(imap.FlagSeen) {
			t.Errorf("message %d is \\Seen after Fetch: BODY.PEEK must not mark it read", msg.UID)
		}
	}

	t.Run("too large", func(t *testing.T) {
		var buf bytes.Buffer
		limit := int64(len(raw2) - 1)
		n, err := m.Fetch(ctx, uid2, &buf, limit)
		if !errors.Is(err, parser.ErrTooLarge) {
			t.Fatalf("Fetch over the limit: %v, want ErrTooLarge", err)
		}
		if n > limit || int64(buf.Len()) > limit {
			t.Fatalf("Fetch wrote %d bytes past a %d limit", buf.Len(), limit)
		}
		// The connection is still in step: the next commands work and
		// return the right data.
		if err := m.Noop(ctx); err != nil {
			t.Fatalf("Noop after ErrTooLarge: %v", err)
		}
		buf.Reset()
		if _, err := m.Fetch(ctx, uid1, &buf, 1<<20); err != nil || !bytes.Equal(buf.Bytes(), raw1) {
			t.Fatalf("Fetch after ErrTooLarge: %v (same bytes: %v)", err, bytes.Equal(buf.Bytes(), raw1))
		}
	})

	t.Run("missing uid", func(t *testing.T) {
		_, err := m.Fetch(ctx, uid2+100, io.Discard, 1<<20)
		if !errors.Is(err, ErrNoMessage) {
			t.Fatalf("Fetch of a missing UID: %v, want ErrNoMessage", err)
		}
	})

	t.Run("FetchEach", func(t *testing.T) {
		// One command for several: every message whole, by UID, a
		// missing UID left out, one over the limit flagged without its
		// bytes, and the connection in step afterwards.
		var got []Fetched
		limit := int64(len(raw2) - 1)
		err := m.FetchEach(ctx, []uint32{uid1, uid2, uid2 + 100}, limit, func(f Fetched) error {
			got = append(got, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].UID != uid1 || !bytes.Equal(got[0].Raw, raw1) || got[0].TooLarge ||
			got[1].UID != uid2 || !got[1].TooLarge || got[1].Raw != nil {
			t.Fatalf("FetchEach gave %d messages: %+v", len(got), got)
		}
		// An error from the callback ends it, after the stream is read.
		stop := errors.New("stop here")
		calls := 0
		err = m.FetchEach(ctx, []uint32{uid1, uid2}, 1<<20, func(Fetched) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("FetchEach with a failing callback: %v after %d calls", err, calls)
		}
		if err := m.Noop(ctx); err != nil {
			t.Fatalf("Noop after FetchEach: %v", err)
		}
		for _, msg := range d.Messages(t, "INBOX") {
			if msg.Has(imap.FlagSeen) {
				t.Errorf("message %d is \\Seen after FetchEach", msg.UID)
			}
		}
	})

	t.Run("writer error", func(t *testing.T) {
		_, err := m.Fetch(ctx, uid2, failingWriter{}, 1<<20)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Fetch with a failing writer: %v", err)
		}
		if err := m.Noop(ctx); err != nil {
			t.Fatalf("Noop after a writer error: %v", err)
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDovecotMoveAndFolders(t *testing.T) {
	d := harness.NewDovecot(t)
	raw := harness.Message("to review", 2)
	uid := d.Append(t, "INBOX", raw)
	keep := d.Append(t, "INBOX", harness.Message("stays", 1))

	m := dialTest(t, dovecotConfig(d, TLSStartTLS))
	ctx := context.Background()
	if d.Messages(t, "Review") != nil {
		t.Fatal("Review exists before the test")
	}
	if err := m.Move(ctx, uid, "Review"); err != nil {
		t.Fatalf("Move to a missing folder: %v", err)
	}
	got := d.Messages(t, "Review")
	if len(got) != 1 || !bytes.Equal(got[0].Raw, raw) {
		t.Fatalf("Review holds %d messages after Move, want the moved one", len(got))
	}
	inbox := d.Messages(t, "INBOX")
	if len(inbox) != 1 || inbox[0].UID != keep {
		t.Fatalf("INBOX after Move = %+v, want only UID %d", inbox, keep)
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].UID != keep {
		t.Fatalf("List after Move = %+v, %v", list, err)
	}

	if err := m.Move(ctx, uid, "Review"); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("Move of a UID already moved: %v, want ErrNoMessage", err)
	}

	if err := m.EnsureFolders(ctx); err != nil {
		t.Fatalf("EnsureFolders: %v", err)
	}
	if err := m.EnsureFolders(ctx); err != nil {
		t.Fatalf("EnsureFolders a second time: %v", err)
	}
	c := d.Client(t)
	defer c.Close()
	folders, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range folders {
		have[f.Mailbox] = true
	}
	for _, want := range DefaultFolders().All() {
		if !have[want] {
			t.Errorf("folder %s missing after EnsureFolders (have %v)", want, have)
		}
	}
}

func TestDovecotWaitForChange(t *testing.T) {
	d := harness.NewDovecot(t)
	ctx := context.Background()

	t.Run("idle wakes on append", func(t *testing.T) {
		m := dialTest(t, dovecotConfig(d, TLSImplicit))
		if !m.caps.Has(imap.CapIdle) {
			t.Fatal("Dovecot should offer IDLE")
		}
		waitWakesOnAppend(t, d, m)
	})

	t.Run("poll wakes on append", func(t *testing.T) {
		cfg := dovecotConfig(d, TLSImplicit)
		cfg.PollInterval = 100 * time.Millisecond
		m := dialTest(t, cfg)
		delete(m.caps, imap.CapIdle) // as on a server without IDLE
		waitWakesOnAppend(t, d, m)
	})

	t.Run("idle re-issued", func(t *testing.T) {
		m := dialTest(t, dovecotConfig(d, TLSImplicit))
		m.idleEvery = 150 * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- m.WaitForChange(ctx, 20*time.Second) }()
		// Several IDLE commands have ended and been re-issued by now; the
		// current one must still report new mail.
		time.Sleep(700 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("WaitForChange returned early: %v", err)
		default:
		}
		d.Append(t, "INBOX", harness.Message("after re-idle", 1))
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("re-issued IDLE missed new mail")
		}
	})

	t.Run("times out quietly", func(t *testing.T) {
		m := dialTest(t, dovecotConfig(d, TLSImplicit))
		start := time.Now()
		if err := m.WaitForChange(ctx, 300*time.Millisecond); err != nil {
			t.Fatalf("WaitForChange with nothing new: %v", err)
		}
		if el := time.Since(start); el < 250*time.Millisecond || el > 5*time.Second {
			t.Fatalf("WaitForChange returned after %v, want about 300ms", el)
		}
		// IDLE ended cleanly: the connection still works.
		if _, err := m.List(ctx); err != nil {
			t.Fatalf("List after an idle timeout: %v", err)
		}
	})

	t.Run("context ends the wait", func(t *testing.T) {
		m := dialTest(t, dovecotConfig(d, TLSImplicit))
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := m.WaitForChange(cctx, time.Minute)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitForChange after ctx ended: %v, want DeadlineExceeded", err)
		}
	})
}

func waitWakesOnAppend(t *testing.T, d *harness.Dovecot, m *Mailbox) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- m.WaitForChange(context.Background(), 20*time.Second) }()
	time.Sleep(200 * time.Millisecond)
	uid := d.Append(t, "INBOX", harness.Message("wake up", 1))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitForChange: %v", err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("WaitForChange took %v to notice new mail", time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("WaitForChange did not wake on new mail")
	}
	list, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range list {
		found = found || l.UID == uid
	}
	if !found {
		t.Fatalf("new UID %d not listed after the wake: %+v", uid, list)
	}
}

func TestDovecotRestartSurvived(t *testing.T) {
	d := harness.NewDovecot(t)
	cfg := dovecotConfig(d, TLSImplicit)
	m := dialTest(t, cfg)
	ctx := context.Background()

	done := make(chan error, 1)
	go func() { done <- m.WaitForChange(ctx, time.Minute) }()
	time.Sleep(200 * time.Millisecond)
	d.Restart(t)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("WaitForChange returned nil across a server restart; want the dead connection reported")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("WaitForChange did not notice the server going away")
	}
	if err := m.Noop(ctx); err == nil {
		t.Fatal("Noop on the old connection succeeded after a restart")
	}
	m.Close()

	// What the daemon does: redial with backoff until the server is back.
	var m2 *Mailbox
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m2, err = DialIMAP(dctx, cfg)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(min(Backoff(attempt), 2*time.Second))
	}
	if err != nil {
		t.Fatalf("DialIMAP after restart: %v", err)
	}
	defer m2.Close()
	uid := d.Append(t, "INBOX", harness.Message("after restart", 1))
	list, err := m2.List(ctx)
	if err != nil || len(list) != 1 || list[0].UID != uid {
		t.Fatalf("List after reconnect = %+v, %v", list, err)
	}
	if m2.UIDValidity() != m.UIDValidity() {
		t.Errorf("UIDVALIDITY changed across a restart: %d -> %d", m.UIDValidity(), m2.UIDValidity())
	}
}

func TestDovecotUIDValidityChange(t *testing.T) {
	d := harness.NewDovecot(t)
	ctx := context.Background()
	d.Append(t, "DSR", harness.Message("first life", 1))
	cfg := dovecotConfig(d, TLSImplicit)
	cfg.Mailbox = "DSR"
	m := dialTest(t, cfg)
	before := m.UIDValidity()
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	m.Close()

	// An administrator deletes and recreates the folder: old UIDs now
	// name nothing, and the new UIDVALIDITY says so.
	c := d.Client(t)
	if err := c.Delete("DSR").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	uid := d.Append(t, "DSR", harness.Message("second life", 1))

	m2 := dialTest(t, cfg)
	if m2.UIDValidity() == before {
		t.Fatalf("UIDVALIDITY unchanged (%d) after the folder was recreated", before)
	}
	list, err = m2.List(ctx)
	if err != nil || len(list) != 1 || list[0].UID != uid {
		t.Fatalf("List after recreation = %+v, %v", list, err)
	}
}
