package intake

import (
	"context"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// TestSentFolderLookupDovecot: an email whose sender died holding it is
// looked up by Message-ID in the Sent folder where the mail service filed
// what it accepted; found, it is marked sent without a second send; not
// found, it is sent. An email no sender died holding is not looked up.
func TestSentFolderLookupDovecot(t *testing.T) {
	e := newE2E(t)
	e.sink.FileSentCopies(t, e.dc, "Sent Items")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clock := &dgClock{}
	clock.set(time.Now().Add(time.Minute))
	e.sender.Now = clock.now
	e.sender.Sent = SentFolder{IMAP: e.dc.Config(TLSImplicit), Folder: "Sent Items"}
	msg := func(id string) register.OutboxMessage {
		return register.OutboxMessage{Kind: "digest", To: "panel@nhs.net", Subject: "DSR digest", Body: "Nothing new.", MessageID: id}
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
	raw, err := e.composer.Render(register.OutboxMessage{Kind: first.Kind, To: first.To, Subject: first.Subject, Body: first.Body,
		MessageID: first.MessageID}, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := SendMail(ctx, e.sink.Config(TLSStartTLS), e.composer.From, []string{first.To}, raw); err != nil {
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
		if it, _ := e.store.Outbox(ctx, id); it.State != register.OutboxSent {
			t.Errorf("outbox %d is %s, want sent", id, it.State)
		}
	}
	if !strings.Contains(e.logs.String(), "already in the sent folder") {
		t.Errorf("the skipped send is not logged")
	}
	// Without a crash there is no look-up: a lookup that cannot connect
	// would show as a warning.
	e.sender.Sent = SentFolder{IMAP: IMAPConfig{Addr: "127.0.0.1:1", Auth: PasswordAuth("x")}, Folder: "Sent Items"}
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
