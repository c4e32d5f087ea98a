package harness

// An SMTP submission server for the tests, built on go-smtp: STARTTLS and
// implicit TLS with the test certificate, AUTH PLAIN and XOAUTH2, records
// what it accepts, can refuse with 4xx for a while (a count or an outage
// until a time), and can file what it accepts in a Dovecot folder as a
// mail service files mail in the sender's Sent folder.

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SinkMessage is one message the sink accepted.
type SinkMessage struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string
	Mech     string
}

// SMTPSink is a running SMTP submission server for tests.
type SMTPSink struct {
	Addr    string // STARTTLS
	TLSAddr string // implicit TLS
	CAFile  string
	User    string
	// Password for AUTH PLAIN, Token for AUTH XOAUTH2.
	Password, Token string

	mu          sync.Mutex
	msgs        []SinkMessage
	refuse      int       // transactions still to refuse with 451
	refuseUntil time.Time // and every transaction until then
	refusals    int
	// onAccept, when set, is given each accepted message's data, as a mail
	// service that files what it was given in the sender's Sent folder.
	onAccept func([]byte)
	// answerDelay is how long the sink takes to answer the message data
	// after it has taken the message, as a busy service does: a client
	// stopped meanwhile does not know its email went.
	answerDelay time.Duration
}

// AnswerAfter makes the sink wait d after taking each message before it
// answers.
func (s *SMTPSink) AnswerAfter(d time.Duration) {
	s.mu.Lock()
	s.answerDelay = d
	s.mu.Unlock()
}

// NewSMTPSink starts a sink on loopback. Recipients at @invalid.example
// are refused with 550, as an unknown mailbox would be.
func NewSMTPSink(t testing.TB) *SMTPSink {
	t.Helper()
	pki := TestPKI(t)
	s := &SMTPSink{CAFile: pki.CAFile, User: "dsr@nhs.example", Password: "sinksecret", Token: "sink-token"}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = pki.ServerTLS()
	srv.MaxMessageBytes = 10 << 20
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = ServerLog{T: t}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	go srv.Serve(tln)
	t.Cleanup(func() { srv.Close() })
	s.Addr, s.TLSAddr = ln.Addr().String(), tln.Addr().String()
	return s
}

// RefuseNext makes the next n transactions fail with 451 at MAIL FROM.
func (s *SMTPSink) RefuseNext(n int) {
	s.mu.Lock()
	s.refuse = n
	s.mu.Unlock()
}

// RefuseUntil makes every transaction until t fail with 451 at MAIL FROM:
// an outage measured in time.
func (s *SMTPSink) RefuseUntil(t time.Time) {
	s.mu.Lock()
	s.refuseUntil = t
	s.mu.Unlock()
}

// Refusals counts the transactions refused with 451 so far.
func (s *SMTPSink) Refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// FileSentCopies has the sink append every message it accepts to folder
// of the Dovecot mailbox, before it answers, as Microsoft 365 files mail
// submitted over SMTP AUTH in the sender's Sent Items.
func (s *SMTPSink) FileSentCopies(t testing.TB, dc *Dovecot, folder string) {
	s.mu.Lock()
	s.onAccept = func(data []byte) {
		// On the sink's goroutine: report, do not stop the test.
		if err := dc.AppendTo(folder, data); err != nil {
			t.Errorf("filing the sent copy: %v", err)
		}
	}
	s.mu.Unlock()
}

// Messages are the messages accepted so far.
func (s *SMTPSink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.msgs...)
}

type sinkSession struct {
	sink     *SMTPSink
	authUser string
	mech     string
	cur      SinkMessage
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain, "XOAUTH2"} }

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if user != ss.sink.User || pass != ss.sink.Password {
				return errors.New("invalid credentials")
			}
			ss.authUser, ss.mech = user, mech
			return nil
		}), nil
	case "XOAUTH2":
		return saslServerFunc(func(resp []byte) ([]byte, bool, error) {
			if string(resp) != "user="+ss.sink.User+"\x01auth=Bearer "+ss.sink.Token+"\x01\x01" {
				return nil, false, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "token rejected"}
			}
			ss.authUser, ss.mech = ss.sink.User, mech
			return nil, true, nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

type saslServerFunc func([]byte) ([]byte, bool, error)

func (f saslServerFunc) Next(resp []byte) ([]byte, bool, error) { return f(resp) }

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s := ss.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Now().Before(s.refuseUntil) {
		s.refusals++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	if s.refuse > 0 {
		s.refuse--
		s.refusals++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	ss.cur = SinkMessage{From: from, AuthUser: ss.authUser, Mech: ss.mech}
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasSuffix(to, "@invalid.example") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, ss.cur)
	onAccept, delay := ss.sink.onAccept, ss.sink.answerDelay
	ss.sink.mu.Unlock()
	if onAccept != nil {
		onAccept(b)
	}
	time.Sleep(delay)
	return nil
}

func (ss *sinkSession) Reset()        { ss.cur = SinkMessage{} }
func (ss *sinkSession) Logout() error { return nil }

// ServerLog serves as the test servers' logger (go-smtp's and go-imap's),
// writing to the test's log.
type ServerLog struct{ T testing.TB }

// Printf logs a formatted line.
func (l ServerLog) Printf(format string, args ...any) { l.T.Logf("server: "+format, args...) }

// Println logs its arguments.
func (l ServerLog) Println(args ...any) { l.T.Log(append([]any{"server:"}, args...)...) }
