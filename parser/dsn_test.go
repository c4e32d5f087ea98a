package parser

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDeliveryReports reads which emails a delivery report says came back
// (Submission.Undelivered): a real report from CPython's test suite (a
// Sun mail server's, the returned message whole), one as Exchange writes
// them (the returned header only), and the reports and replies that say
// nothing came back.
func TestDeliveryReports(t *testing.T) {
	report := func(action, returned string, extra ...string) []byte {
		parts := []string{
			"Content-Type: text/plain; charset=utf-8\n\nDelivery has failed to these recipients or groups:\n\nreferrer@nhs.net\nThe email address you entered couldn't be found.",
			"Content-Type: message/delivery-status\n\nReporting-MTA: dns;LO2P265MB0000.GBRP265.PROD.OUTLOOK.COM\nReceived-From-MTA: dns;mail.dsr.example\nArrival-Date: Mon, 23 Nov 2026 10:00:01 +0000\n\nFinal-Recipient: rfc822;referrer@nhs.net\nAction: " + action + "\nStatus: 5.1.10\nDiagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
		}
		if returned != "" {
			parts = append(parts, "Content-Type: message/rfc822-headers\n\nFrom: Bromley DSR <bromley.dsr@nhs.net>\nTo: referrer@nhs.net\nSubject: DSR referral DSR-2026-000042: information needed\nMessage-ID: <"+returned+">\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n")
		}
		h := append([]string{
			"From: Microsoft Outlook <postmaster@nhs.net>",
			"To: bromley.dsr@nhs.net",
			"Subject: Undeliverable: DSR referral DSR-2026-000042: information needed",
			"Date: Mon, 23 Nov 2026 10:00:05 +0000",
			"Message-ID: <ndr-1@nhs.net>",
			"MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="r1"`,
		}, extra...)
		return msg(h, multipartBody("r1", parts...))
	}
	cpython, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "email", "python-test_email-msg_16.eml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  []byte
		want []string
	}{
		{"a Sun mail server's report, the message returned whole (CPython msg_16)", cpython, []string{"002001c144a6$8752e060$56104586@oxy.edu"}},
		{"Exchange's report, the header returned", report("failed", "q-1@dsr.example"), []string{"q-1@dsr.example"}},
		{"a report returning nothing: the message it answers", report("failed", "", "In-Reply-To: <q-2@dsr.example>"), []string{"q-2@dsr.example"}},
		{"delayed, not failed", report("delayed", "q-3@dsr.example"), nil},
		{"a read receipt", msg(withHeaders(`Content-Type: multipart/report; report-type=disposition-notification; boundary="r2"`), multipartBody("r2",
			"Content-Type: text/plain\n\nYour message was read.",
			"Content-Type: message/disposition-notification\n\nReporting-UA: nhs.net; Microsoft Outlook\nFinal-Recipient: rfc822;referrer@nhs.net\nOriginal-Message-ID: <q-4@dsr.example>\nDisposition: manual-action/MDN-sent-manually; displayed",
			"Content-Type: message/rfc822-headers\n\nMessage-ID: <q-4@dsr.example>\nSubject: x\n")), nil},
		{"an out-of-office reply", msg(withHeaders("Auto-Submitted: auto-replied", "In-Reply-To: <q-5@dsr.example>", "Content-Type: text/plain"), "I am out of the office."), nil},
		// A mail gateway (McAfee's) sends a report as multipart/mixed;
		// a person forwarding one is not a mail system.
		{"a report as multipart/mixed from a mail system", msg([]string{"From: <MAILER-DAEMON@gw.nhs.net>", "Subject: Delivery Status",
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="m1"`}, multipartBody("m1",
			"Content-Type: message/delivery-status\n\nOriginal-Recipient: <referrer@nhs.net>\nAction: failed\nDiagnostic-Code: smtp; 550 Unknown user",
			"Content-Type: message/rfc822\n\nFrom: bromley.dsr@nhs.net\nMessage-ID: <q-6@dsr.example>\nSubject: x\n\nbody")), []string{"q-6@dsr.example"}},
		{"a person forwarding a report as multipart/mixed", msg(withHeaders(`Content-Type: multipart/mixed; boundary="m2"`), multipartBody("m2",
			"Content-Type: message/delivery-status\n\nOriginal-Recipient: <someone@nhs.net>\nAction: failed",
			"Content-Type: message/rfc822\n\nFrom: bromley.dsr@nhs.net\nMessage-ID: <q-7@dsr.example>\nSubject: x\n\nbody")), nil},
		// Bounces in plain text, with the message pasted below.
		{"Exim's bounce in plain text", msg([]string{"Return-path: <>", "From: Mail Delivery System <Mailer-Daemon@mx.school.example.org>",
			"Subject: Mail delivery failed: returning message to sender", "Auto-Submitted: auto-replied"},
			"This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  referrer@school.example.org\n    550 5.1.1 User unknown\n\n------ This is a copy of the message, including all the headers. ------\n\nFrom: Bromley DSR <bromley.dsr@nhs.net>\nMessage-ID: <q-8@dsr.example>\nSubject: DSR referral: information needed\n\nPlease could you send the consent form? The form could not be delivered by post.\n"),
			[]string{"q-8@dsr.example"}},
		{"a bounce naming its id on the next line", msg([]string{"From: <>", "Subject: Returned mail"},
			"Your message was not delivered: mailbox unavailable.\n\n   Message-ID:\n    <q-9@dsr.example>\n"), []string{"q-9@dsr.example"}},
		{"a bounce in plain text returning nothing: the message it answers", msg([]string{"From: MAILER-DAEMON@mx.school.example.org", "In-Reply-To: <q-10@dsr.example>", "Subject: failure notice"},
			"I'm afraid I wasn't able to deliver your message. (#5.1.1)\n"), []string{"q-10@dsr.example"}},
		{"Exim's warning that it is still trying", msg([]string{"From: Mail Delivery System <Mailer-Daemon@mx.school.example.org>", "Subject: Warning: message 1Abc-000-00 delayed 24 hours"},
			"This message was created automatically by mail delivery software.\nA message that you sent has not yet been delivered to one or more of its\nrecipients after more than 24 hours on the queue.\n\n------ This is a copy of the message's headers. ------\n\nMessage-ID: <q-11@dsr.example>\n"), nil},
		{"Gmail's warning, under a subject that says nothing", msg([]string{"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Subject: Delivery Status Notification"},
			"THIS IS A WARNING MESSAGE ONLY.\nDelivery to the following recipient has been delayed:\n   referrer@school.example.org\nMessage will be retried for 2 more day(s)\n450 4.2.2 Mailbox full\n\n----- Original message -----\n\nMessage-ID: <q-12@dsr.example>\n"), nil},
		// "able to deliver" is no failure on its own; "weren’t able to"
		// is one, its apostrophe typographic as Exchange writes it.
		{"a mail system saying it delivered the message", msg([]string{"Return-Path: <>", "From: postmaster@school.example.org", "Subject: Delivery notification"},
			"We were able to deliver your message to referrer@school.example.org.\n\n   Message-ID: <q-19@dsr.example>\n"), nil},
		{"a typographic apostrophe", msg([]string{"Return-Path: <>", "From: postmaster@school.example.org", "Subject: Undeliverable: DSR referral"},
			"We weren’t able to deliver your message to referrer@school.example.org.\n\n   Message-ID: <q-20@dsr.example>\n"), []string{"q-20@dsr.example"}},
		{"an out-of-office reply from the null sender, quoting the message", msg([]string{"Return-Path: <>", "From: Out of Office <postmaster@school.example.org>", "Subject: Away"},
			"I am away until Monday.\n\n> Message-ID: <q-13@dsr.example>\n"), nil},
		{"a person pasting a bounce they got", msg(withHeaders("Content-Type: text/plain"),
			"Our email to you could not be delivered:\n\n550 5.1.1 User unknown\n\nMessage-ID: <q-14@dsr.example>\n"), nil},
		// Exchange Online pastes the returned header into its text when
		// it attaches neither the message nor its header.
		{"a report whose text alone has the returned header", msg([]string{"From: Microsoft Outlook <postmaster@nhs.net>", "Subject: Undeliverable: x",
			"MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="r3"`}, multipartBody("r3",
			"Content-Type: text/plain\n\nDelivery has failed to these recipients or groups:\n\nreferrer@nhs.net\n\nOriginal message headers:\n\nFrom: bromley.dsr@nhs.net\nMessage-ID: <q-15@dsr.example>\nSubject: x\n",
			"Content-Type: message/delivery-status\n\nReporting-MTA: dns;x.outlook.com\n\nFinal-Recipient: rfc822;referrer@nhs.net\nAction: failed\nStatus: 5.1.10\n")), []string{"q-15@dsr.example"}},
		{"a delayed report whose text sounds final", msg([]string{"From: Microsoft Outlook <postmaster@nhs.net>", "Subject: Delivery delayed",
			"MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="r4"`}, multipartBody("r4",
			"Content-Type: text/plain\n\nDelivery could not be completed yet: undeliverable so far.\n\nMessage-ID: <q-16@dsr.example>\n",
			"Content-Type: message/delivery-status\n\nReporting-MTA: dns;x.outlook.com\n\nFinal-Recipient: rfc822;referrer@nhs.net\nAction: delayed\nStatus: 4.4.7\n")), nil},
		// A report whose status part names no Action (Postfix's "Delivery
		// report unavailable") is read by its text, a phrase broken across
		// lines too; SendGrid's "Action: expired" is a message given up.
		{"a report with no Action, its text saying so", msg([]string{"From: MAILER-DAEMON@mx.school.example.org", "Subject: Undelivered Mail Returned to Sender",
			"MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="r5"`}, multipartBody("r5",
			"Content-Type: text/plain\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n\t--- Delivery report unavailable ---\n",
			"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.school.example.org\nArrival-Date: Mon, 23 Nov 2026 10:00:01 +0000\n",
			"Content-Type: message/rfc822\n\nFrom: bromley.dsr@nhs.net\nMessage-ID: <q-17@dsr.example>\nSubject: x\n\nbody")), []string{"q-17@dsr.example"}},
		{"SendGrid's expired", report("expired", "q-18@dsr.example"), []string{"q-18@dsr.example"}},
		// A bounce in HTML alone: read from its text, as a plain one is.
		{"a bounce in HTML alone, the header pasted in", msg([]string{"Return-Path: <>", "From: Mail Delivery System <postmaster@mx.school.example.org>",
			"Subject: Undeliverable: DSR referral", "MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8"},
			"<html><body><p><b>Your message to referrer@school.example.org couldn&#8217;t be delivered.</b></p>\n<p>referrer wasn&#39;t found at school.example.org.</p>"+
				"<p>Original message headers:</p><pre>From: bromley.dsr@nhs.net<br>Message-ID: &lt;q-21@dsr.example&gt;<br>Subject: x</pre></body></html>\n"), []string{"q-21@dsr.example"}},
		{"a bounce in HTML alone returning nothing: the message it answers", msg([]string{"From: MAILER-DAEMON@mx.school.example.org", "In-Reply-To: <q-22@dsr.example>",
			"Subject: failure notice", "MIME-Version: 1.0", "Content-Type: text/html"},
			"<div>I'm afraid I wasn't able to deliver your message.</div><div>550 5.1.1 User unknown</div>"), []string{"q-22@dsr.example"}},
		{"an out-of-office reply in HTML from the null sender", msg([]string{"Return-Path: <>", "From: Out of Office <postmaster@school.example.org>", "Subject: Away",
			"In-Reply-To: <q-23@dsr.example>", "MIME-Version: 1.0", "Content-Type: text/html"},
			"<p>I am away until Monday.</p>"), nil},
		// With a text part beside it, the HTML is not read twice.
		{"a bounce in text and HTML", msg([]string{"From: MAILER-DAEMON@mx.school.example.org", "Subject: failure notice", "MIME-Version: 1.0",
			`Content-Type: multipart/alternative; boundary="a1"`}, multipartBody("a1",
			"Content-Type: text/plain\n\nYour message could not be delivered.\n\nMessage-ID: <q-24@dsr.example>\n",
			"Content-Type: text/html\n\n<p>Your message could not be delivered.</p><p>Message-ID: &lt;q-24@dsr.example&gt;</p>")), []string{"q-24@dsr.example"}},
		{"a forwarded email", msg(withHeaders(`Content-Type: multipart/mixed; boundary="b1"`), multipartBody("b1",
			"Content-Type: text/plain\n\nSee below.",
			"Content-Type: message/rfc822\n\nFrom: a@nhs.net\nMessage-ID: <fwd-1@nhs.net>\nSubject: x\n\nbody")), nil},
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := p.Parse(context.Background(), tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Undelivered, tt.want) {
				t.Errorf("undelivered %q, want %q", s.Undelivered, tt.want)
			}
			if tt.want != nil && !s.AutoReply {
				t.Error("a delivery report not taken for an automatic email")
			}
		})
	}
}

// TestDeliveryReportsMatchPython reads the delivery reports real mail
// servers wrote (testdata/thirdparty/dsn, from sisimai's set of bounces:
// Exchange Online, Exchange 2007, Outlook.com, Google, Postfix, OpenSMTPD,
// an out-of-office reply; bounces in plain text from old Gmail, qmail,
// Exim, Yahoo, DragonFly's dma and Exchange 2003, and Gmail's and Zoho's
// warnings; and CPython's msg_16) and compares what came back with
// scripts/compat/dsn_returned.py, the same rule read with Python's email
// package. The one disagreement is asserted: a report whose returned
// message folds a header line without its leading blank, where Python's
// header ends and this parser reads on.
func TestDeliveryReportsMatchPython(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "dsn", "*.eml"))
	files = append(files, filepath.Join("..", "testdata", "thirdparty", "email", "python-test_email-msg_16.eml"))
	if len(files) < 9 {
		t.Fatalf("%d reports", len(files))
	}
	recs := pythonPeer[struct {
		IDs []string `json:"ids"`
	}](t, "dsn_returned.py", files)
	p := New(Options{})
	returned := 0
	for i, rec := range recs {
		sub := parseFile(t, p, files[i])
		// Every one is a machine's (a report, a bounce, an out-of-office
		// reply): none may be read as a referrer's email and queried.
		if !sub.AutoReply {
			t.Errorf("%s: not taken for an automatic email", filepath.Base(files[i]))
		}
		got := sub.Undelivered
		want := rec.IDs
		if filepath.Base(files[i]) == "sisimai-lhost-postfix-57.eml" {
			if len(want) != 0 {
				t.Errorf("Python now reads %q in the broken fold's report", want)
			}
			want = []string{"44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp"}
		}
		if len(got) != 0 || len(want) != 0 {
			returned++
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: undelivered %q, Python %q", filepath.Base(files[i]), got, want)
		}
	}
	if returned < 5 {
		t.Errorf("only %d reports returned a message: the fixtures no longer test the rule", returned)
	}
}

// TestBouncesMatchSisimai compares what the parser reads as returned
// undelivered in the committed bounces with what sisimai, a library built
// on thousands of real bounces, reads in them
// (testdata/thirdparty/dsn/sisimai-verdicts.jsonl, written by
// scripts/compat/sisimai_verdicts.pl with sisimai 5.1.0). A bounce
// sisimai reads as failed (or given up, "expired") with the returned
// message's id must give that id; one it reads as no failure (a delay,
// an auto-reply, abuse feedback) must give none. Where the two differ the parser's reading is asserted
// and the reason given.
func TestBouncesMatchSisimai(t *testing.T) {
	dir := filepath.Join("..", "testdata", "thirdparty", "dsn")
	data, err := os.ReadFile(filepath.Join(dir, "sisimai-verdicts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// Where the parser and sisimai part, and what the parser gives.
	differs := map[string]struct {
		want []string
		why  string
	}{
		// Gmail's "THIS IS A WARNING MESSAGE ONLY ... Message will be
		// retried for 2 more day(s)": sisimai says failed (4.2.2,
		// mailbox full); the text says the delivery goes on.
		"sisimai-lhost-gmail-06.eml": {nil, "a warning, still being retried"},
		// Zoho's "THIS IS A WARNING MESSAGE ONLY ... Message will be
		// retried for 4 more day(s)": sisimai reads delayed but expired.
		"sisimai-lhost-zoho-04.eml": {nil, "a warning, still being retried"},
		// McAfee's reports and Exchange 2007's, and the German host's
		// plain bounce: sisimai finds no returned Message-ID; the
		// message is there, attached or pasted below the text.
		"sisimai-lhost-mcafee-01.eml":       {[]string{"000000000000000000000.shironeko@example.jp"}, "the attached message's id"},
		"sisimai-lhost-mcafee-02.eml":       {[]string{"0000000000000000000.neko@smtp-gw56.example.com"}, "the attached message's id"},
		"sisimai-lhost-mcafee-03.eml":       {[]string{"00000000.0000000000000@relay-3.example.com"}, "the attached message's id"},
		"sisimai-lhost-mcafee-04.eml":       {[]string{"000000000010.0000.1111111111111111AA0@NEKO.NYAAN"}, "the attached message's id"},
		"sisimai-lhost-mcafee-05.eml":       {[]string{"65ca27d43dc8fb3f37cb5053218cab56@example.net"}, "the attached message's id"},
		"sisimai-lhost-exchange2007-07.eml": {[]string{"QCw92c-juIk7Y-w6@neko.example.com"}, "the returned header's id"},
		"sisimai-not-rb-issue-368-bug.eml":  {[]string{"68e0b7e3615cd_1dc7010592ed@7cf4d87f87-9r5w2.mail"}, "the id of the message pasted below the text"},
		// The last part's boundary is misspelt (.0000007 for .0000000):
		// the returned header is no part of its own but the tail of the
		// delivery-status part, as Python's email reads it too.
		"sisimai-rhost-google-01.eml": {nil, "the returned header inside the delivery-status part"},
	}
	p := New(Options{})
	failed, agreed := 0, 0
	for line := range strings.Lines(string(data)) {
		var rec struct {
			File  string `json:"file"`
			Facts []struct {
				Action, MessageID, Reason, Status string
			} `json:"facts"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		var want []string
		isFailed := false
		for _, f := range rec.Facts {
			// "expired": given up after retrying (sisimai says so of
			// Action: failed with a 4.4.7 status, and of SendGrid's
			// Action: expired), as make compat counts it.
			if f.Action == "failed" || f.Reason == "expired" || (f.Action == "" && strings.HasPrefix(f.Status, "5")) {
				isFailed = true
				if f.MessageID != "" && !slices.Contains(want, f.MessageID) {
					want = append(want, f.MessageID)
				}
			}
		}
		if isFailed {
			failed++
		}
		got := parseFile(t, p, filepath.Join(dir, rec.File)).Undelivered
		if d, ok := differs[rec.File]; ok {
			if !reflect.DeepEqual(got, d.want) {
				t.Errorf("%s: undelivered %q, want %q (%s; sisimai: %q)", rec.File, got, d.want, d.why, want)
			}
			if reflect.DeepEqual(got, want) {
				t.Errorf("%s: now read as sisimai reads it (%q): drop it from the differences", rec.File, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: undelivered %q, sisimai %q", rec.File, got, want)
		}
		agreed++
	}
	if failed < 15 || agreed < 12 {
		t.Errorf("%d bounces sisimai reads as failed, %d read alike: the fixtures no longer test the rule", failed, agreed)
	}
}
