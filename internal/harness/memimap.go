package harness

import (
	"bytes"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// MemIMAP is go-imap's in-memory server (imapmemserver) on loopback,
// plaintext, with one user and an INBOX: an IMAP server for tests that
// need neither root nor Dovecot. The real-server proof stays with the
// Dovecot tests.
type MemIMAP struct {
	Addr     string
	User     *imapmemserver.User
	Username string
	Password string
}

// NewMemIMAP starts a server offering caps (imapserver offers the
// extensions a session implements, such as MOVE, only when caps name
// them). wrap, when set, wraps each session, to change what the server
// does; Cleanup stops it.
func NewMemIMAP(t testing.TB, caps imap.CapSet, wrap func(imapserver.Session) imapserver.Session) *MemIMAP {
	t.Helper()
	s := &MemIMAP{Username: "dsr@nhs.example", Password: "memsecret"}
	mem := imapmemserver.New()
	s.User = imapmemserver.NewUser(s.Username, s.Password)
	if err := s.User.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(s.User)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := mem.NewSession()
			if wrap != nil {
				sess = wrap(sess)
			}
			return sess, nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       ServerLog{T: t},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.Addr = ln.Addr().String()
	return s
}

// Append stores raw in folder with flags and returns its UID.
func (s *MemIMAP) Append(t testing.TB, folder string, raw []byte, flags ...imap.Flag) uint32 {
	t.Helper()
	data, err := s.User.Append(folder, bytesLiteral{bytes.NewReader(raw)}, &imap.AppendOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(data.UID)
}

// Messages lists folder's messages with their flags and bodies (peeked),
// or nil when the folder does not exist.
func (s *MemIMAP) Messages(t testing.TB, folder string) []StoredMessage {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return ListMessages(t, c, folder)
}

type bytesLiteral struct{ *bytes.Reader }

func (b bytesLiteral) Size() int64 { return b.Reader.Size() }
