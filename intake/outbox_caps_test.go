package intake

import (
	"context"
	"sync"
	"testing"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestSenderDefersCappedQueries: a query over a loop limit (per recipient
// or per case, per UTC day) is held back, not dropped, and is sent the
// next day when the limit allows; a held-back query is not a try.
func TestSenderDefersCappedQueries(t *testing.T) {
	onBothDatabases(t, "dsr_caps_", testSenderDefersCapped)
}

// capsClock is the test's clock, shared by the store and the sender.
type capsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *capsClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *capsClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func testSenderDefersCapped(t *testing.T, dsn func(*testing.T) (driver, dsn string)) {
	ctx := context.Background()
	sink := harness.NewSMTPSink(t)
	clock := &capsClock{}
	day1 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(10 * time.Hour)
	clock.set(day1)
	driver, name := dsn(t)
	s := openStore(t, store.Options{Driver: driver, DSN: name, Now: clock.now})
	composer := &outbox.Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net"}}
	// One case, through the pipeline: its query goes to the referrer.
	p := &Pipeline{Parser: parser.New(parser.Options{}), Store: s, Composer: composer, Now: clock.now}
	a, err := p.Process(ctx, Location{Mailbox: "INBOX", UIDValidity: 1, UID: 1}, readSample(t, queriedSample(t)))
	if err != nil || len(a.Outbox) != 1 || a.Decision.Outcome != register.OutcomeQuery {
		t.Fatalf("apply: %+v (%v)", a, err)
	}
	first, err := s.Outbox(ctx, a.Outbox[0])
	if err != nil {
		t.Fatal(err)
	}
	q := func(to, id string, caseID int64) store.OutboxMessage {
		return store.OutboxMessage{Kind: "query", To: to, Subject: "More information needed", Body: "Please send the form.",
			MessageID: id, CaseID: caseID}
	}
	// Two more queries to the same referrer (no case), and a second query
	// of the case to another address.
	ids, err := s.Enqueue(ctx, q(first.To, "cap-2@dsr.test", 0), q(first.To, "cap-3@dsr.test", 0), q("other.referrer@nhs.net", "cap-4@dsr.test", a.Case.ID))
	if err != nil {
		t.Fatal(err)
	}
	sender := &outbox.Sender{Store: s, Composer: composer, SMTP: sinkConfig(sink, mailbox.TLSStartTLS), Now: clock.now, Log: harness.Slog(t),
		MaxQueriesPerSender: 2, MaxQueriesPerCase: 1}

	n, err := sender.Drain(ctx)
	if err != nil || n != 2 {
		t.Fatalf("day 1: sent %d (%v), want 2: the case's first query and one more to its referrer", n, err)
	}
	held := []int64{}
	for _, id := range append([]int64{a.Outbox[0]}, ids...) {
		it, _ := s.Outbox(ctx, id)
		if it.State == store.OutboxPending {
			held = append(held, id)
			if !it.NextTryAt.After(day1.Truncate(24*time.Hour).AddDate(0, 0, 1).Add(-time.Nanosecond)) || it.Tries != 0 || !it.FailingSince.IsZero() {
				t.Errorf("held-back %d: next try %v, %d tries, failing since %v; want the next day, no try, not failing",
					id, it.NextTryAt, it.Tries, it.FailingSince)
			}
		}
	}
	if len(held) != 2 {
		t.Fatalf("%d queries held back, want 2 (one over each limit)", len(held))
	}
	// Later the same day: still held.
	clock.set(day1.Add(13 * time.Hour))
	if n, _ := sender.Drain(ctx); n != 0 {
		t.Fatalf("sent %d more the same day", n)
	}
	// The next day the limits allow them.
	clock.set(day1.Add(15 * time.Hour))
	if n, err := sender.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("day 2: sent %d (%v), want the 2 held back", n, err)
	}
	for _, id := range held {
		if it, _ := s.Outbox(ctx, id); it.State != store.OutboxSent || it.Tries != 1 {
			t.Errorf("outbox %d: %s after %d tries, want sent at its first", id, it.State, it.Tries)
		}
	}
	if got := len(sink.Messages()); got != 4 {
		t.Errorf("the sink has %d emails, want all 4", got)
	}
}

// queriedSample is a sample the rules query.
func queriedSample(t *testing.T) string {
	t.Helper()
	for _, name := range sampleNames(t) {
		if expectedOutcome(t, name) == "query" {
			return name
		}
	}
	t.Fatal("no queried sample")
	return ""
}
