package intake

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestBouncedQueryGoesToReview: a query the SMTP server took but that
// comes back later in a delivery report (as Exchange's do) sends its case
// to the review queue as query_not_delivered; the report itself is
// ignored and answered by nothing, and reading it again changes nothing.
// The query is the one the sender really sent, through an SMTP sink.
func TestBouncedQueryGoesToReview(t *testing.T) {
	onBothDatabases(t, "dsr_bounce_", testBouncedQuery)
}

func testBouncedQuery(t *testing.T, dsn func(*testing.T) (driver, dsn string)) {
	// The report as Exchange Online writes one, and as McAfee's gateway
	// does: the same parts in a multipart/mixed, from MAILER-DAEMON; and
	// qmail's bounce, in plain text with the query pasted below it.
	for _, shape := range []struct{ name, from, contentType string }{
		{"Exchange", "Microsoft Outlook <postmaster@nhs.net>", `multipart/report; report-type=delivery-status; boundary="ndr"`},
		{"McAfee", "<MAILER-DAEMON@gw.nhs.net>", `Multipart/Mixed; boundary="ndr"`},
		{"qmail", "MAILER-DAEMON@mx.school.example.org", "text/plain"},
	} {
		t.Run(shape.name, func(t *testing.T) { testBouncedQueryShape(t, dsn, shape.from, shape.contentType) })
	}
}

func testBouncedQueryShape(t *testing.T, dsn func(*testing.T) (driver, dsn string), from, contentType string) {
	ctx := context.Background()
	sink := harness.NewSMTPSink(t)
	driver, name := dsn(t)
	s := openStore(t, store.Options{Driver: driver, DSN: name})
	composer := &outbox.Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net"}}
	p := &Pipeline{Parser: parser.New(parser.Options{}), Store: s, Composer: composer}
	a, err := p.Process(ctx, Location{Mailbox: "INBOX", UIDValidity: 1, UID: 1}, readSample(t, queriedSample(t)))
	if err != nil || len(a.Outbox) != 1 || a.Decision.Outcome != register.OutcomeQuery {
		t.Fatalf("apply: %+v (%v)", a, err)
	}
	sender := &outbox.Sender{Store: s, Composer: composer, SMTP: sinkConfig(sink, mailbox.TLSStartTLS), Log: harness.Slog(t)}
	if n, err := sender.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d (%v), want the query", n, err)
	}
	sent := sink.Messages()
	if len(sent) != 1 {
		t.Fatalf("the sink has %d emails", len(sent))
	}
	// The report, with the query returned whole.
	query := bytes.ReplaceAll(sent[0].Data, []byte("\r\n"), []byte("\n"))
	report := []byte(fmt.Sprintf(`From: %s
To: bromley.dsr@nhs.net
Subject: Undeliverable: DSR query
Date: %s
Message-ID: <ndr-%d@nhs.net>
MIME-Version: 1.0
Content-Type: %s

--ndr
Content-Type: text/plain; charset=utf-8

Your message to %s couldn't be delivered.

--ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;LO2P265MB0000.GBRP265.PROD.OUTLOOK.COM

Final-Recipient: rfc822;%s
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound

--ndr
Content-Type: message/rfc822

%s
--ndr--
`, from, time.Now().UTC().Format(time.RFC1123Z), time.Now().UnixNano(), contentType, sent[0].To[0], sent[0].To[0], query))
	if contentType == "text/plain" {
		report = []byte(fmt.Sprintf(`Return-Path: <>
From: %s
To: bromley.dsr@nhs.net
Subject: failure notice
Date: %s
Message-ID: <bounce-%d@mx.school.example.org>

Hi. This is the qmail-send program at mx.school.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<%s>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

%s`, from, time.Now().UTC().Format(time.RFC1123Z), time.Now().UnixNano(), sent[0].To[0], query))
	}
	for i, uid := range []uint32{2, 3} {
		b, err := p.Process(ctx, Location{Mailbox: "INBOX", UIDValidity: 1, UID: uid}, report)
		if err != nil {
			t.Fatalf("the report (%d): %v", i+1, err)
		}
		if b.Decision.Outcome != register.OutcomeIgnore || len(b.Outbox) != 0 {
			t.Fatalf("the report (%d): %s, %d emails out; want ignored, none", i+1, b.Decision.Outcome, len(b.Outbox))
		}
		q, err := s.ReviewQueue(ctx, store.ReviewFilter{})
		if err != nil || len(q) != 1 {
			t.Fatalf("after the report (%d): review queue %+v (%v), want the case", i+1, q, err)
		}
		if it := q[0]; it.CaseRef != a.Case.Ref || it.CaseState != store.CaseInReview || len(it.Codes) != 1 || it.Codes[0] != register.CodeQueryNotDelivered {
			t.Fatalf("after the report (%d): review item %+v", i+1, it)
		}
	}
}
