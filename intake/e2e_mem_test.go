package intake

// The daemon's core on go-imap's in-memory server: the end-to-end tests
// of e2e_dovecot_test.go without root or Dovecot.

import (
	"testing"

	"github.com/emersion/go-imap/v2"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
)

// testInbox is what the tests do to the IMAP server besides the daemon.
type testInbox interface {
	Append(t testing.TB, folder string, raw []byte) uint32
	Messages(t testing.TB, folder string) []harness.StoredMessage
}

// memInbox gives the in-memory server the Dovecot harness's Append.
type memInbox struct{ *harness.MemIMAP }

func (m memInbox) Append(t testing.TB, folder string, raw []byte) uint32 {
	return m.MemIMAP.Append(t, folder, raw)
}

// newMemE2E is newE2E on go-imap's in-memory server offering caps: the
// daemon's core without root or Dovecot.
func newMemE2E(t *testing.T, caps imap.CapSet) *e2e {
	t.Helper()
	s := harness.NewMemIMAP(t, caps, nil)
	cfg := mailbox.IMAPConfig{Addr: s.Addr, TLS: mailbox.TLSInsecure, Username: s.Username, Auth: mailbox.PasswordAuth(s.Password)}
	return newE2EOn(t, cfg, memInbox{s})
}

// memServers are the in-memory servers the daemon's core runs on: one
// with MOVE (batched moves) and one without (the COPY fallback).
var memServers = map[string]imap.CapSet{
	"move":          {imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
	"copy-fallback": {imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}},
}

// TestIntakeEndToEndMemIMAP is TestIntakeEndToEndDovecot on go-imap's in-memory server.
func TestIntakeEndToEndMemIMAP(t *testing.T) {
	for server, caps := range memServers {
		t.Run(server, func(t *testing.T) { testIntakeEndToEnd(t, newMemE2E(t, caps)) })
	}
}

// TestSameBytesTwiceInOneSyncMemIMAP is TestSameBytesTwiceInOneSyncDovecot on go-imap's in-memory server.
func TestSameBytesTwiceInOneSyncMemIMAP(t *testing.T) {
	for server, caps := range memServers {
		t.Run(server, func(t *testing.T) { testSameBytesTwiceInOneSync(t, newMemE2E(t, caps)) })
	}
}

// TestInHandIsBoundedMemIMAP is TestInHandIsBoundedDovecot on go-imap's in-memory server.
func TestInHandIsBoundedMemIMAP(t *testing.T) {
	for server, caps := range memServers {
		t.Run(server, func(t *testing.T) { testInHandIsBounded(t, newMemE2E(t, caps)) })
	}
}
