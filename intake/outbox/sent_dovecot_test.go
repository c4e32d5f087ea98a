package outbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register/store"
)

// TestSentFolderLookupDovecot: an email whose sender died holding it is
// looked up by Message-ID in the Sent folder where the mail service filed
// what it accepted; found, it is marked sent without a second send; not
// found, it is sent. An email no sender died holding is not looked up.
func TestSentFolderLookupDovecot(t *testing.T) {
	e := newSentE2E(t)
	e.sink.FileSentCopies(t, e.dc, "Sent Items")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := &sentClock{}
	clock.set(time.Now().Add(time.Minute))
	e.sender.Now = clock.now
	e.sender.Sent = SentFolder{IMAP: mailbox.IMAPConfig{Addr: e.dc.Addr, TLS: mailbox.TLSImplicit, CAFile: e.dc.CAFile,
		Username: e.dc.User, Auth: mailbox.PasswordAuth(e.dc.Password)}, Folder: "Sent Items"}
	msg := func(id string) store.OutboxMessage {
		return store.OutboxMessage{Kind: "digest", To: "panel@nhs.net", Subject: "DSR digest", Body: "Nothing new.", MessageID: id}
	}
	ids, err := e.store.Enqueue(ctx, msg("sent-before-crash@dsr.test"), msg("not-sent-before-crash@dsr.test"))
	if err != nil {
		t.Fatal(err)
	}
	// A sender claims both and dies; it had sent the first.
	lease := 2 * time.Minute
	if c, err := e.store.ClaimOutbox(ctx, clock.now(), 10, lease); err != nil || len(c) != 2 {
		t.Fatalf("claim: %d (%v)", len(c), err)
	}
	first, _ := e.store.Outbox(ctx, ids[0])
	raw, err := e.composer.Render(store.OutboxMessage{Kind: first.Kind, To: first.To, Subject: first.Subject, Body: first.Body,
		MessageID: first.MessageID}, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := SendMail(ctx, sinkConfig(e.sink, mailbox.TLSStartTLS), e.composer.From, []string{first.To}, raw); err != nil {
		t.Fatal(err)
	}
	// The next sender, once the lease has run out.
	clock.set(clock.now().Add(lease + time.Second))
	n, err := e.sender.Drain(ctx)
	if err != nil || n != 2 {
		t.Fatalf("drain: %d (%v), want both done", n, err)
	}
	counts := map[string]int{}
	for _, m := range e.sink.Messages() {
		sub, err := parser.New(parser.Options{}).Parse(ctx, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		counts[strings.Trim(sub.MessageID, "<>")]++
	}
	if counts["sent-before-crash@dsr.test"] != 1 || counts["not-sent-before-crash@dsr.test"] != 1 {
		t.Errorf("deliveries by Message-ID %v: want each once", counts)
	}
	for _, id := range ids {
		if it, _ := e.store.Outbox(ctx, id); it.State != store.OutboxSent {
			t.Errorf("outbox %d is %s, want sent", id, it.State)
		}
	}
	if !strings.Contains(e.logs.String(), "already in the sent folder") {
		t.Errorf("the skipped send is not logged")
	}
	// Without a crash there is no look-up: a lookup that cannot connect
	// would show as a warning.
	e.sender.Sent = SentFolder{IMAP: mailbox.IMAPConfig{Addr: "127.0.0.1:1", Auth: mailbox.PasswordAuth("x")}, Folder: "Sent Items"}
	if _, err := e.store.Enqueue(ctx, msg("no-crash@dsr.test")); err != nil {
		t.Fatal(err)
	}
	before := e.logs.String()
	if n, err := e.sender.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("drain: %d (%v)", n, err)
	}
	if after := e.logs.String()[len(before):]; strings.Contains(after, "sent folder look-up failed") {
		t.Errorf("an email no sender died holding was looked up:\n%s", after)
	}
}

// sentE2E is a sender on a register of its own, with the SMTP sink and a
// private Dovecot whose mailbox holds the Sent folder.
type sentE2E struct {
	dc       *harness.Dovecot
	sink     *harness.SMTPSink
	store    *store.Store
	sender   *Sender
	composer *Composer
	logs     *logBuffer // everything the sender logged
}

func newSentE2E(t *testing.T) *sentE2E {
	t.Helper()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &sentE2E{dc: harness.NewDovecot(t), sink: harness.NewSMTPSink(t), store: db, logs: &logBuffer{},
		composer: &Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net", "gov.uk"}}}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, harness.TestWriter{T: t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.sender = &Sender{Store: db, Composer: e.composer, SMTP: sinkConfig(e.sink, mailbox.TLSStartTLS), Log: log}
	return e
}

// sentClock is the test's clock.
type sentClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sentClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sentClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// logBuffer is a log safe to write from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
