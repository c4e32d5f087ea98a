package mailbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"dsr-intake/internal/harness"
)

// memIMAP is go-imap's in-memory server behind a session wrapper. Wrapping
// hides the memserver's optional interfaces (MOVE, NAMESPACE), so it can only
// advertise IMAP4rev1 (plus UIDPLUS when asked): exactly the old-server case
// the COPY fallback is for.
type memIMAP struct {
	*harness.MemIMAP

	failCopyTo string // COPY to this folder answers NO (no TRYCREATE)
	token      string // when set, the session offers only AUTH=XOAUTH2

	mu        sync.Mutex
	saslSeen  [][]byte // every SASL response the XOAUTH2 server received
	authFails int
}

func startMemIMAP(t *testing.T, caps imap.CapSet, setup func(*memIMAP)) *memIMAP {
	t.Helper()
	s := &memIMAP{}
	if setup != nil {
		setup(s)
	}
	s.MemIMAP = harness.NewMemIMAP(t, caps, func(sess imapserver.Session) imapserver.Session {
		base := &memSession{Session: sess, srv: s}
		if s.token != "" {
			return &memSASLSession{memSession: base}
		}
		return base
	})
	return s
}

type memSession struct {
	imapserver.Session
	srv *memIMAP
}

func (s *memSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	if dest == s.srv.failCopyTo {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}
	}
	return s.Session.Copy(numSet, dest)
}

type memSASLSession struct{ *memSession }

func (s *memSASLSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *memSASLSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "unsupported mechanism"}
	}
	return &xoauth2Server{sess: s}, nil
}

// xoauth2Server checks the exact XOAUTH2 initial response and, on a wrong
// token, behaves as Google and Microsoft do: a JSON error challenge, then NO
// once the client answers it.
type xoauth2Server struct {
	sess   *memSASLSession
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	srv := x.sess.srv
	srv.mu.Lock()
	srv.saslSeen = append(srv.saslSeen, append([]byte(nil), resp...))
	srv.mu.Unlock()
	if x.failed {
		srv.mu.Lock()
		srv.authFails++
		srv.mu.Unlock()
		return nil, false, imapserver.ErrAuthFailed
	}
	want := "user=" + srv.Username + "\x01auth=Bearer " + srv.token + "\x01\x01"
	if resp == nil {
		return []byte{}, false, nil
	}
	if string(resp) != want {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/"}`), false, nil
	}
	return nil, true, x.sess.Login(srv.Username, srv.Password)
}

func (s *memIMAP) config() IMAPConfig {
	return IMAPConfig{Addr: s.Addr, TLS: TLSInsecure, Username: s.Username, Auth: PasswordAuth(s.Password)}
}

func uids(msgs []harness.StoredMessage) []uint32 {
	var out []uint32
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

func TestMoveCopyFallback(t *testing.T) {
	ctx := context.Background()
	raw := harness.Message("move me", 2)

	t.Run("uidplus expunges only the copied message", func(t *testing.T) {
		s := startMemIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}, nil)
		a := s.Append(t, "INBOX", raw)
		other := s.Append(t, "INBOX", harness.Message("another client's deleted mail", 1), imap.FlagDeleted)
		c := s.Append(t, "INBOX", harness.Message("stays", 1))
		m := dialTest(t, s.config())
		if m.caps.Has(imap.CapMove) {
			t.Fatal("server should not offer MOVE in this test")
		}
		if err := m.Move(ctx, a, "Processed"); err != nil {
			t.Fatalf("Move: %v", err)
		}
		if got := s.Messages(t, "Processed"); len(got) != 1 || !bytes.Equal(got[0].Raw, raw) {
			t.Fatalf("Processed = %d messages, want the moved one", len(got))
		}
		inbox := s.Messages(t, "INBOX")
		if got := uids(inbox); len(got) != 2 || got[0] != other || got[1] != c {
			t.Fatalf("INBOX UIDs after Move = %v, want [%d %d]: UID EXPUNGE must spare other \\Deleted mail", got, other, c)
		}
	})

	t.Run("no uidplus leaves the original flagged", func(t *testing.T) {
		s := startMemIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}}, nil)
		a := s.Append(t, "INBOX", raw)
		other := s.Append(t, "INBOX", harness.Message("another client's deleted mail", 1), imap.FlagDeleted)
		m := dialTest(t, s.config())
		if err := m.Move(ctx, a, "Processed"); err != nil {
			t.Fatalf("Move: %v", err)
		}
		if got := s.Messages(t, "Processed"); len(got) != 1 {
			t.Fatalf("Processed holds %d messages, want 1", len(got))
		}
		inbox := s.Messages(t, "INBOX")
		if got := uids(inbox); len(got) != 2 || got[0] != a || got[1] != other {
			t.Fatalf("INBOX UIDs = %v, want both kept: a plain EXPUNGE would remove other clients' mail", got)
		}
		if !inbox[0].Has(imap.FlagDeleted) {
			t.Error("copied original is not flagged \\Deleted")
		}
		list, err := m.List(ctx)
		if err != nil || len(list) != 2 || !list[0].Deleted {
			t.Fatalf("List = %+v, %v; want the original reported Deleted", list, err)
		}
	})

	t.Run("failed copy leaves the message", func(t *testing.T) {
		s := startMemIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}, func(s *memIMAP) { s.failCopyTo = "Review" })
		if err := s.User.Create("Review", nil); err != nil {
			t.Fatal(err)
		}
		a := s.Append(t, "INBOX", raw)
		m := dialTest(t, s.config())
		err := m.Move(ctx, a, "Review")
		if err == nil || !strings.Contains(err.Error(), "left in place") {
			t.Fatalf("Move with a failing COPY: %v, want an error saying the message stayed", err)
		}
		inbox := s.Messages(t, "INBOX")
		if len(inbox) != 1 || inbox[0].UID != a || inbox[0].Has(imap.FlagDeleted) {
			t.Fatalf("INBOX after a failed COPY = %+v, want the message untouched", inbox)
		}
		if got := s.Messages(t, "Review"); len(got) != 0 {
			t.Fatalf("Review holds %d messages after a failed COPY", len(got))
		}
		// The connection is still good.
		if err := m.Move(ctx, a, "Processed"); err != nil {
			t.Fatalf("Move to another folder after a failed COPY: %v", err)
		}
	})
}

// countingSource hands out tokens from a list, each valid for an hour.
type countingSource struct {
	mu     sync.Mutex
	tokens []string
	calls  int
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := min(s.calls, len(s.tokens)-1)
	s.calls++
	return &oauth2.Token{AccessToken: s.tokens[i], Expiry: time.Now().Add(time.Hour)}, nil
}

func TestXOAuth2Login(t *testing.T) {
	ctx := context.Background()
	s := startMemIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}}, func(s *memIMAP) { s.token = "good-token" })

	// The first token is refused; the cache must drop it so the next login
	// asks the source again instead of reusing it for an hour.
	src := &countingSource{tokens: []string{"stale-token", "good-token"}}
	cfg := s.config()
	cfg.Auth = XOAuth2Auth(src)

	_, err := DialIMAP(ctx, cfg)
	if err == nil {
		t.Fatal("login with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q does not carry the server's 401 report", err)
	}
	if strings.Contains(err.Error(), "stale-token") {
		t.Errorf("error leaks the token: %v", err)
	}
	s.mu.Lock()
	seen := append([][]byte(nil), s.saslSeen...)
	fails := s.authFails
	s.mu.Unlock()
	if len(seen) != 2 || string(seen[0]) != "user=dsr@nhs.example\x01auth=Bearer stale-token\x01\x01" || len(seen[1]) != 0 {
		t.Fatalf("server saw SASL responses %q, want the initial response then an empty answer to the error challenge", seen)
	}
	if fails != 1 {
		t.Fatalf("server failed %d exchanges, want 1", fails)
	}

	m := dialTest(t, cfg)
	if err := m.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if src.calls != 2 {
		t.Fatalf("token source called %d times, want 2 (refused token dropped from the cache)", src.calls)
	}
	// A second login within the token's life reuses it.
	dialTest(t, cfg)
	if src.calls != 2 {
		t.Fatalf("token source called %d times for a third login, want the cached token reused", src.calls)
	}
	s.mu.Lock()
	last := string(s.saslSeen[len(s.saslSeen)-1])
	s.mu.Unlock()
	if last != "user=dsr@nhs.example\x01auth=Bearer good-token\x01\x01" {
		t.Fatalf("last SASL response %q", last)
	}

	t.Run("server without XOAUTH2", func(t *testing.T) {
		plain := startMemIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}}, nil)
		cfg := plain.config()
		cfg.Auth = XOAuth2Auth(src)
		if _, err := DialIMAP(ctx, cfg); err == nil || !strings.Contains(err.Error(), "XOAUTH2") {
			t.Fatalf("DialIMAP to a server without XOAUTH2: %v", err)
		}
	})

	t.Run("token source error", func(t *testing.T) {
		cfg := s.config()
		cfg.Auth = XOAuth2Auth(failingSource{})
		if _, err := DialIMAP(ctx, cfg); err == nil || !strings.Contains(err.Error(), "tenant unreachable") {
			t.Fatalf("DialIMAP with a failing token source: %v", err)
		}
	})
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) { return nil, errors.New("tenant unreachable") }

func TestPlaintextRefusedToRemoteHosts(t *testing.T) {
	cases := []struct {
		addr string
		mode TLSMode
		ok   bool
	}{
		{"127.0.0.1:143", TLSInsecure, true},
		{"[::1]:143", TLSInsecure, true},
		{"localhost:143", TLSInsecure, true},
		{"imap.nhs.example:143", TLSInsecure, false},
		{"192.0.2.10:143", TLSInsecure, false},
		{"imap.nhs.example:993", TLSImplicit, true},
		{"imap.nhs.example:143", TLSStartTLS, true},
		{"imap.nhs.example:143", "ssl", false},
		{"imap.nhs.example", TLSImplicit, false},
	}
	for _, c := range cases {
		_, err := TLSConfig(c.addr, c.mode, "", "")
		if (err == nil) != c.ok {
			t.Errorf("TLSConfig(%s, %s) error = %v, want ok=%v", c.addr, c.mode, err, c.ok)
		}
	}
	// DialIMAP refuses before opening any connection (SendMail too: see
	// outbox's TestSendMailRefusesPlaintextToRemoteHosts).
	_, err := DialIMAP(context.Background(), IMAPConfig{Addr: "imap.nhs.example:143", TLS: TLSInsecure, Auth: PasswordAuth("x")})
	if err == nil || !strings.Contains(err.Error(), "plaintext") {
		t.Fatalf("DialIMAP insecure to a remote host: %v", err)
	}
}
