package intake

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register/store"
)

// TestOversizeAndUnreadableDovecot: a message over the size limit is
// quarantined without being read into memory and its sender told once; a
// message nothing can parse is quarantined at once; referrals before and
// after them are still processed (the one before shares no fetch with the
// oversize one, which is never read).
func TestOversizeAndUnreadableDovecot(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Over the limit: a referral with 2 MB of padding after its last part.
	big := uniqueCopy(readSample(t, "01-fillable-pdf-happy"), "big@nhs.net")
	big = append(big, []byte(strings.Repeat(strings.Repeat("x", 998)+"\r\n", 2100))...)
	// A header line over the 1 MiB header limit: no parser reads it.
	broken := []byte("From: someone@nhs.net\r\nX-Junk: " + strings.Repeat("a", 1100<<10) + "\r\nSubject: junk\r\n\r\nbody\r\n")
	small := readSample(t, "04-missing-consent-form")
	before := readSample(t, "01-fillable-pdf-happy")
	for _, raw := range [][]byte{before, big, broken, small} {
		e.dc.Append(t, "INBOX", raw)
	}
	e.daemon.MaxMessageBytes = 1536 << 10 // the broken one (1.1 MB) reaches the parser; big does not
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	quarantined := e.dc.Messages(t, "Quarantine")
	if len(quarantined) != 2 {
		t.Fatalf("%d messages in Quarantine, want the oversize and the broken one", len(quarantined))
	}
	if q := e.dc.Messages(t, "Queried"); len(q) != 1 {
		t.Errorf("the referral after them was not processed: Queried holds %d", len(q))
	}
	if p := e.dc.Messages(t, "Processed"); len(p) != 1 {
		t.Errorf("the referral before them was not processed: Processed holds %d", len(p))
	}
	for _, m := range quarantined {
		st, err := e.store.MessageState(ctx, parser.Hash(m.Raw))
		if err != nil {
			t.Fatal(err)
		}
		if st.State != store.MessageQuarantined || st.LastError == "" {
			t.Errorf("store: state %q error %q, want quarantined with a reason", st.State, st.LastError)
		}
	}
	queue, err := e.store.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 2 {
		t.Errorf("%d review items, want the two quarantined messages for a coordinator", len(queue))
	}

	if _, err := e.sender.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	notices := 0
	for _, m := range e.sink.Messages() {
		if strings.Contains(string(m.Data), "too large to read") {
			notices++
			if m.To[0] != "priya.raman@nhs.net" {
				t.Errorf("the size notice went to %v", m.To)
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d size notices, want 1", notices)
	}

	// Seen again (a person drags it back into the inbox): moved again, no
	// second notice.
	e.dc.Append(t, "INBOX", big)
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sender.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	again := 0
	for _, m := range e.sink.Messages() {
		if strings.Contains(string(m.Data), "too large to read") {
			again++
		}
	}
	if again != 1 || len(e.dc.Messages(t, "INBOX")) != 0 {
		t.Errorf("after the message came back: %d notices, %d left in INBOX", again, len(e.dc.Messages(t, "INBOX")))
	}
}

// TestUntrustedSenderDovecot: a complete referral whose sender failed DMARC
// at our boundary (Microsoft 365's Authentication-Results, topmost) goes
// to review as sender_not_trusted instead of onto the register, and no
// email goes back to the (possibly forged) sender.
func TestUntrustedSenderDovecot(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	forged := append([]byte("Authentication-Results: spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=nhs.net; dkim=none (message not signed) header.d=none;dmarc=fail action=quarantine header.from=nhs.net;compauth=fail reason=000\r\n"),
		readSample(t, "01-fillable-pdf-happy")...)
	e.dc.Append(t, "INBOX", forged)
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.dc.Messages(t, "Review")); n != 1 {
		t.Fatalf("Review holds %d messages, want the forged referral", n)
	}
	queue, err := e.store.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil || len(queue) != 1 || !slices.Contains(queue[0].Codes, "sender_not_trusted") {
		t.Fatalf("review queue %+v, err %v: want one item with sender_not_trusted", queue, err)
	}
	if recs, err := e.store.ListRecords(ctx, store.RecordFilter{Actor: "test"}); err != nil || len(recs) != 0 {
		t.Errorf("%d records (err %v): an untrusted sender's child was added", len(recs), err)
	}
	if n, _ := e.sender.Drain(ctx); n != 0 {
		t.Errorf("%d emails went back to an untrusted sender", n)
	}
}
