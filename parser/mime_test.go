package parser

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// sampleAttachment pulls an attachment out of a sample email with the
// standard library, so these tests do not depend on the code they test.
func sampleAttachment(t testing.TB, sample, nameContains string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "samples", sample, "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	var found []byte
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(mt, "multipart/") {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			pct := p.Header.Get("Content-Type")
			if strings.HasPrefix(pct, "multipart/") {
				walk(pct, p)
				continue
			}
			if strings.Contains(p.FileName(), nameContains) && found == nil {
				b, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
				found = b
			}
		}
	}
	walk(m.Header.Get("Content-Type"), m.Body)
	if found == nil {
		t.Fatalf("no attachment %q in sample %s", nameContains, sample)
	}
	return found
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

// msg builds a raw message from header lines and a body, with CRLF.
func msg(headers []string, body string) []byte {
	s := strings.ReplaceAll(strings.Join(headers, "\n")+"\n\n"+body, "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func pdfPart(data []byte, headers ...string) string {
	h := "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
	if len(headers) > 0 {
		h = strings.Join(headers, "\n") + "\n"
	}
	return h + "\n" + strings.ReplaceAll(b64(data), "\r\n", "\n")
}

func multipartBody(boundary string, parts ...string) string {
	var b strings.Builder
	b.WriteString("This is a multi-part message in MIME format.\n")
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\n%s\n", boundary, p)
	}
	fmt.Fprintf(&b, "--%s--\n", boundary)
	return b.String()
}

var stdHeaders = []string{
	"From: Dr Test Referrer <referrer@nhs.net>",
	"To: Bromley DSR <bromley.dsr@nhs.net>",
	"Subject: DSR referral",
	"Date: Mon, 23 Nov 2026 10:00:00 +0000",
	"Message-ID: <test-1@nhs.net>",
	"MIME-Version: 1.0",
}

func withHeaders(extra ...string) []string {
	return append(append([]string{}, stdHeaders...), extra...)
}

func TestMIMEStructures(t *testing.T) {
	referral := sampleAttachment(t, "01-fillable-pdf-happy", "Referral")
	consent := sampleAttachment(t, "01-fillable-pdf-happy", "Consent")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01")

	forwarded := string(msg(withHeaders(`Content-Type: multipart/mixed; boundary="in"`),
		multipartBody("in", "Content-Type: text/plain\n\nOriginal message.",
			pdfPart(referral, "Content-Type: application/pdf; name=\"r.pdf\"", "Content-Disposition: attachment; filename=\"r.pdf\"", "Content-Transfer-Encoding: base64"))))

	tests := []struct {
		name     string
		raw      []byte
		wantRef  bool
		wantCons bool
		check    func(t *testing.T, s *Submission)
	}{
		{
			// Apple Mail's AppleDouble (RFC 1740): the file's Finder data and
			// resource fork in an application/applefile part named as the
			// file, then the file itself. The header part is no attachment:
			// taken for one, a missing form made it "unreadable" and sent the
			// case to a coordinator instead of a query.
			name: "AppleDouble: the applefile header is not an attachment",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b1"`), multipartBody("b1",
				"Content-Type: text/plain; charset=us-ascii\n\nReferral attached.",
				"Content-Type: multipart/appledouble; boundary=\"ad\"\n\n"+multipartBody("ad",
					"Content-Type: application/applefile; name=\"referral.pdf\"\nContent-Disposition: attachment; filename=\"referral.pdf\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte("\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x00\x20")),
					pdfPart(referral, "Content-Type: application/pdf; x-mac-type=50444620; name=\"referral.pdf\"", "Content-Disposition: attachment; filename=\"referral.pdf\"", "Content-Transfer-Encoding: base64")))),
			wantRef: true,
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindReferral {
					t.Errorf("attachments = %+v", summary(s))
				}
				if len(s.Problems) != 0 {
					t.Errorf("problems = %q", s.Problems)
				}
			},
		},
		{
			name: "a PDF marked inline is still a form",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b1"`), multipartBody("b1",
				"Content-Type: text/plain; charset=us-ascii\n\nPlease find the referral.",
				pdfPart(referral, "Content-Type: application/pdf; name=\"referral.pdf\"", "Content-Disposition: inline; filename=\"referral.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true,
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindReferral || s.Attachments[0].Filename != "referral.pdf" {
					t.Errorf("attachments = %+v", summary(s))
				}
				if !strings.Contains(s.Body, "Please find") {
					t.Errorf("body = %q", s.Body)
				}
			},
		},
		{
			name: "a PDF sent as octet-stream without a name is found by its content",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b1"`), multipartBody("b1",
				pdfPart(consent, "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64"))),
			wantCons: true,
		},
		{
			name: "forwarded twice: forms inside message/rfc822 inside message/rfc822",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="outer"`), multipartBody("outer",
				"Content-Type: text/plain\n\nFYI, see below.",
				"Content-Type: message/rfc822\n\n"+string(msg([]string{"From: a@b.nhs.net", "Subject: Fwd", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="mid"`},
					multipartBody("mid", "Content-Type: message/rfc822\nContent-Disposition: attachment\n\n"+forwarded))),
				pdfPart(consent, "Content-Type: application/pdf; name=\"c.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true, wantCons: true,
		},
		{
			name: "a saved email attached as a file (.eml, application/octet-stream, base64) is read as a forwarded one",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="outer"`), multipartBody("outer",
				"Content-Type: text/plain\n\nThe referral I was sent, attached.",
				"Content-Type: application/octet-stream; name=\"Referral for DSR.eml\"\nContent-Disposition: attachment; filename=\"Referral for DSR.eml\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte(forwarded)),
				pdfPart(consent, "Content-Type: application/pdf; name=\"c.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true, wantCons: true,
		},
		{
			name: "a file named .eml that is no email stays a file",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="outer"`), multipartBody("outer",
				"Content-Type: text/plain; name=\"notes.eml\"\nContent-Disposition: attachment; filename=\"notes.eml\"\n\nMeeting notes: From: the school.\n\nNothing else.")),
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 1 || s.Attachments[0].Filename != "notes.eml" || s.Attachments[0].Kind != KindNotForm {
					t.Errorf("attachments = %+v", summary(s))
				}
			},
		},
		{
			name: "Outlook: multipart/related with an inline logo, forms attached",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="m"`), multipartBody("m",
				`Content-Type: multipart/related; boundary="r"; type="multipart/alternative"`+"\n\n"+multipartBody("r",
					`Content-Type: multipart/alternative; boundary="a"`+"\n\n"+multipartBody("a",
						"Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n\nKind regards=2C Dr =C3=81ine",
						"Content-Type: text/html; charset=\"utf-8\"\n\n<p>Kind regards</p>"),
					"Content-Type: image/png; name=\"image001.png\"\nContent-Disposition: inline; filename=\"image001.png\"\nContent-ID: <image001.png@01DB>\nContent-Transfer-Encoding: base64\n\n"+b64(png)),
				pdfPart(referral, "Content-Type: application/pdf; name=\"Referral.pdf\"", "Content-Disposition: attachment; filename=\"Referral.pdf\"", "Content-Transfer-Encoding: base64"),
				pdfPart(consent, "Content-Type: application/pdf; name=\"Consent.pdf\"", "Content-Disposition: attachment; filename=\"Consent.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true, wantCons: true,
			check: func(t *testing.T, s *Submission) {
				if s.Body != "Kind regards, Dr Áine" {
					t.Errorf("quoted-printable UTF-8 body = %q", s.Body)
				}
				if a := s.Attachments[0]; a.Filename != "image001.png" || a.Kind != KindNotForm {
					t.Errorf("logo = %+v, want not_form", summary(s))
				}
			},
		},
		{
			name: "RFC 2231 file name in ISO-8859-1 and an RFC 2047 subject",
			raw: msg([]string{"From: =?iso-8859-1?Q?Sin=E9ad_O'Brien?= <sinead@nhs.net>", "Subject: =?ISO-8859-1?Q?R=E9f=E9rral?= [DSR-2026-000123]", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`}, multipartBody("b",
				pdfPart(referral, "Content-Type: application/pdf", "Content-Disposition: attachment; filename*=iso-8859-1''R%E9f%E9rral%20Zo%EB.pdf", "Content-Transfer-Encoding: base64"))),
			wantRef: true,
			check: func(t *testing.T, s *Submission) {
				if got := s.Attachments[0].Filename; got != "Référral Zoë.pdf" {
					t.Errorf("filename = %q", got)
				}
				if s.Subject != "Référral [DSR-2026-000123]" || s.CaseRef != "DSR-2026-000123" {
					t.Errorf("subject %q, case ref %q", s.Subject, s.CaseRef)
				}
				if s.FromName != "Sinéad O'Brien" || s.From != "sinead@nhs.net" {
					t.Errorf("from %q <%s>", s.FromName, s.From)
				}
			},
		},
		{
			name: "RFC 2231 continuations in UTF-8",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				pdfPart(consent, "Content-Type: application/pdf", "Content-Disposition: attachment;\n filename*0*=UTF-8''Consent%20form%20;\n filename*1*=Nguy%E1%BB%85n.pdf", "Content-Transfer-Encoding: base64"))),
			wantCons: true,
			check: func(t *testing.T, s *Submission) {
				if got := s.Attachments[0].Filename; got != "Consent form Nguyễn.pdf" {
					t.Errorf("filename = %q", got)
				}
			},
		},
		{
			name: "an unknown charset and an unknown transfer encoding do not stop the parts after them",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				"Content-Type: text/plain; charset=x-klingon\n\nqapla'",
				"Content-Type: application/octet-stream; name=\"old.hqx\"\nContent-Transfer-Encoding: x-binhex\n\n(This file must be converted with BinHex 4.0)",
				pdfPart(referral, "Content-Type: application/pdf; name=\"r.pdf\"", "Content-Transfer-Encoding: base64"),
				pdfPart(consent, "Content-Type: application/pdf; name=\"c.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true, wantCons: true,
			check: func(t *testing.T, s *Submission) {
				if len(s.Problems) < 2 {
					t.Errorf("problems = %q, want the charset and the encoding reported", s.Problems)
				}
			},
		},
		{
			name:    "a header that runs into the first delimiter (no blank line), and a part header with a parameter wrapped without indent",
			raw:     []byte("From: Dr A <a@nhs.net>\r\nMessage-ID: <test-1@nhs.net>\r\nContent-Type: multipart/mixed;\r\n boundary=\"b\"\r\nThis is a multi-part message in MIME format.\r\n--b\r\nContent-Type: application/pdf;\r\nname=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(referral) + "\r\n--b--\r\n"),
			wantRef: true,
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 1 || s.Attachments[0].Filename != "r.pdf" || len(s.Problems) > 0 {
					t.Errorf("attachments %v, problems %q", summary(s), s.Problems)
				}
			},
		},
		{
			name: "a referral forwarded in a multipart/digest, whose parts are messages by default",
			raw: msg(withHeaders(`Content-Type: multipart/digest; boundary="d"`), multipartBody("d",
				"\n"+string(msg([]string{"From: b@nhs.net", `Content-Type: multipart/mixed; boundary="b"`}, multipartBody("b",
					pdfPart(referral, "Content-Type: application/pdf; name=\"r.pdf\"", "Content-Transfer-Encoding: base64")))))),
			wantRef: true,
		},
		{
			name: "a malformed header line is dropped, not fatal",
			raw: msg(append(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), "this line has no colon"), multipartBody("b",
				pdfPart(referral, "Content-Type: application/pdf; name=\"r.pdf\"", "Content-Transfer-Encoding: base64"))),
			wantRef: true,
			check: func(t *testing.T, s *Submission) {
				if s.MessageID != "test-1@nhs.net" {
					t.Errorf("message id = %q", s.MessageID)
				}
				if len(s.Problems) == 0 {
					t.Error("the repaired header is not reported")
				}
			},
		},
		{
			name: "winmail.dat is recognised as unsupported",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				"Content-Type: text/plain\n\nForms attached.",
				"Content-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Disposition: attachment; filename=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte{0x78, 0x9f, 0x3e, 0x22, 0, 0, 1, 6, 0x90, 8, 0}))),
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindUnsupported {
					t.Errorf("attachments = %+v", summary(s))
				}
			},
		},
		{
			name: "a scanned image attached is unreadable, a file that is no PDF is unreadable",
			raw: msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				"Content-Type: image/jpeg; name=\"scan.jpg\"\nContent-Disposition: attachment; filename=\"scan.jpg\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte("\xff\xd8\xff\xe0 not really a jpeg")),
				"Content-Type: application/pdf; name=\"broken.pdf\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte("this is not a PDF at all")))),
			check: func(t *testing.T, s *Submission) {
				if len(s.Attachments) != 2 || s.Attachments[0].Kind != KindUnreadable || s.Attachments[1].Kind != KindUnreadable {
					t.Fatalf("attachments = %+v", summary(s))
				}
				for _, a := range s.Attachments {
					if a.Error == "" {
						t.Errorf("%s: no reason given", a.Filename)
					}
				}
			},
		},
		{
			name: "threading headers",
			raw: msg([]string{"From: referrer@nhs.net", "Subject: RE: [DSR-2026-000042] More information needed for your DSR referral", "Message-ID: <r2@nhs.net>",
				"In-Reply-To: <q1@dsr.example>", "References: <orig@nhs.net>\n <q1@dsr.example>", "Content-Type: text/plain", "MIME-Version: 1.0"}, "Here you are."),
			check: func(t *testing.T, s *Submission) {
				if s.CaseRef != "DSR-2026-000042" || strings.Join(s.InReplyTo, ",") != "q1@dsr.example" || strings.Join(s.References, ",") != "orig@nhs.net,q1@dsr.example" {
					t.Errorf("case %q in-reply-to %q references %q", s.CaseRef, s.InReplyTo, s.References)
				}
				if s.AutoReply {
					t.Error("a human reply was taken for an automatic one")
				}
			},
		},
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := p.Parse(context.Background(), tt.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if (s.Referral != nil) != tt.wantRef || (s.Consent != nil) != tt.wantCons {
				t.Errorf("referral found %v (want %v), consent found %v (want %v); %+v; problems %q",
					s.Referral != nil, tt.wantRef, s.Consent != nil, tt.wantCons, summary(s), s.Problems)
			}
			if tt.wantRef && s.Referral.Get("cyp_nhs_number") != "9993149586" {
				t.Errorf("referral NHS number = %q", s.Referral.Get("cyp_nhs_number"))
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func summary(s *Submission) []string {
	var out []string
	for _, a := range s.Attachments {
		out = append(out, fmt.Sprintf("%s(%s,%s,%s)", a.Filename, a.Detected, a.Kind, a.Error))
	}
	return out
}

func TestAutoReplies(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		auto    bool
		list    bool
	}{
		{"Auto-Submitted auto-replied", []string{"Auto-Submitted: auto-replied", "Subject: Away"}, true, false},
		{"Auto-Submitted no is a person", []string{"Auto-Submitted: no", "Subject: DSR referral"}, false, false},
		{"Outlook automatic reply subject", []string{"Subject: Automatic reply: [DSR-2026-000098] Further information"}, true, false},
		{"out of office subject", []string{"Subject: Out of Office: DSR referral"}, true, false},
		{"undeliverable bounce", []string{"Subject: Undeliverable: DSR referral"}, true, false},
		{"null return path", []string{"Return-Path: <>", "Subject: Re: DSR referral"}, true, false},
		{"null From (McAfee's gateway)", []string{"Subject: Re: DSR referral"}, true, false},
		{"mailer-daemon", []string{"Subject: failure notice"}, true, false},
		// A mail system's other name, as sisimai's corpus has it, with a
		// subject that says nothing (the addresses are in senders).
		{"post_master", []string{"Subject: Re: DSR referral"}, true, false},
		{"a person whose address starts postmaster", []string{"Subject: Re: DSR referral"}, false, false},
		{"X-Autoreply", []string{"X-Autoreply: yes", "Subject: Re: DSR"}, true, false},
		{"mailing list", []string{"List-Id: <news.example.org>", "Subject: Newsletter"}, false, true},
		{"bulk precedence", []string{"Precedence: bulk", "Subject: Newsletter"}, false, true},
		{"a reply whose subject mentions an automatic reply later", []string{"Subject: Re: DSR referral (not an automatic reply)"}, false, false},
	}
	senders := map[string]string{
		"mailer-daemon":                            "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
		"post_master":                              "post_master@mx.example.jp",
		"null From (McAfee's gateway)":             "<>",
		"a person whose address starts postmaster": "postmaster.general@school.example",
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := "From: someone@bromley.gov.uk"
			if a, ok := senders[tt.name]; ok {
				from = "From: " + a
			}
			raw := msg(append([]string{from, "MIME-Version: 1.0", "Content-Type: text/plain"}, tt.headers...), "Hello")
			s, err := p.Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if s.AutoReply != tt.auto || s.List != tt.list {
				t.Errorf("auto %v (%s) list %v; want auto %v list %v", s.AutoReply, s.AutoReplyReason, s.List, tt.auto, tt.list)
			}
		})
	}
	t.Run("delivery status notification", func(t *testing.T) {
		raw := msg([]string{"From: reports@example.org", "Subject: Delivery report", "MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="d"`},
			multipartBody("d", "Content-Type: text/plain\n\nYour message could not be delivered.", "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1"))
		s, err := p.Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if !s.AutoReply {
			t.Error("a DSN was not recognised")
		}
	})
	// A status part sent as the whole email (mailgun/flanker's
	// delayed-broken.eml, MIT: a delay warning with no From or Subject;
	// Python's email reads it as one message/delivery-status part too).
	t.Run("a status part as the whole email", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "email", "flanker-delayed-broken.eml"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if !s.AutoReply || s.AutoReplyReason != "delivery status notification" {
			t.Errorf("auto %v (%s), want a delivery status notification", s.AutoReply, s.AutoReplyReason)
		}
		if s.Undelivered != nil {
			t.Errorf("undelivered %q from a delay warning", s.Undelivered)
		}
	})
	t.Run("an abuse desk's feedback report", func(t *testing.T) {
		raw := msg([]string{"From: staff@hotmail.example", "Subject: complaint about message from 192.0.2.222", "MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=feedback-report; boundary="f"`},
			multipartBody("f", "Content-Type: text/plain\n\nThis is an email abuse report.",
				"Content-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1",
				"Content-Type: message/rfc822\n\nFrom: bromley.dsr@nhs.net\nMessage-ID: <q-9@dsr.example>\nSubject: x\n\nbody"))
		s, err := p.Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if !s.AutoReply || s.AutoReplyReason != "automatic report (feedback-report)" {
			t.Errorf("auto %v (%s), want an automatic report", s.AutoReply, s.AutoReplyReason)
		}
		if s.Undelivered != nil {
			t.Errorf("undelivered %q from a feedback report", s.Undelivered)
		}
	})
}

func TestLimits(t *testing.T) {
	referral := sampleAttachment(t, "01-fillable-pdf-happy", "Referral")
	t.Run("forwards nested past the depth limit stop without a crash", func(t *testing.T) {
		inner := string(msg([]string{"From: a@nhs.net", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="z"`}, multipartBody("z", pdfPart(referral))))
		for i := 0; i < 30; i++ {
			inner = string(msg([]string{"From: a@nhs.net", "MIME-Version: 1.0", "Content-Type: message/rfc822"}, inner))
		}
		s, err := New(Options{}).Parse(context.Background(), []byte(inner))
		if err != nil {
			t.Fatal(err)
		}
		if s.Referral != nil || len(s.Problems) == 0 {
			t.Errorf("depth limit not applied: referral %v problems %q", s.Referral != nil, s.Problems)
		}
	})
	t.Run("too many parts", func(t *testing.T) {
		var parts []string
		for i := 0; i < 50; i++ {
			parts = append(parts, "Content-Type: text/plain; name=\"n.txt\"\n\nx")
		}
		raw := msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b", parts...))
		s, err := New(Options{Limits: Limits{MaxParts: 10, MaxAttachments: 5}}).Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Attachments) > 5 || len(s.Problems) == 0 {
			t.Errorf("%d attachments, problems %q", len(s.Attachments), s.Problems)
		}
	})
	t.Run("an attachment over the limit is unreadable and not held in memory", func(t *testing.T) {
		big := bytes.Repeat([]byte("%PDF-1.4 "), 300000)
		raw := msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b", pdfPart(big, "Content-Type: application/pdf; name=\"huge.pdf\"", "Content-Transfer-Encoding: base64")))
		s, err := New(Options{Limits: Limits{MaxAttachmentBytes: 1 << 20}}).Parse(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		a := s.Attachments[0]
		if a.Kind != KindUnreadable || a.Data != nil || a.Size != int64(len(big)) || !strings.Contains(a.Error, "limit") {
			t.Errorf("huge attachment: kind %s size %d data %d error %q", a.Kind, a.Size, len(a.Data), a.Error)
		}
	})
	t.Run("a message over the size limit is refused", func(t *testing.T) {
		_, err := New(Options{Limits: Limits{MaxMessageBytes: 100}}).Parse(context.Background(), msg(stdHeaders, strings.Repeat("x", 200)))
		if err == nil || !strings.Contains(err.Error(), "size limit") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRFC2231Param(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`attachment; filename*=iso-8859-1''r%E9f.pdf`, "réf.pdf"},
		{`attachment; filename*=UTF-8''consent%20form%C3%A9.pdf`, "consent formé.pdf"},
		{`attachment; filename*=windows-1252'en'%93quoted%94.pdf`, "\u201cquoted\u201d.pdf"},
		{`attachment; filename*0*=UTF-8''a%20; filename*1=b.pdf`, "a b.pdf"},
		{`attachment; xfilename*=UTF-8''no.pdf`, ""},
		{`attachment; filename="plain.pdf"`, ""},
	}
	for _, tt := range tests {
		if got := rfc2231Param(tt.raw, "filename"); got != tt.want {
			t.Errorf("rfc2231Param(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestSanitiseFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\Referral.pdf`, "Referral.pdf"},
		{"bad\x00name\r\n.pdf", "badname.pdf"},
		{strings.Repeat("a", 300) + ".pdf", strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		if got := sanitiseFilename(tt.in); got != tt.want {
			t.Errorf("sanitiseFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestReadPart checks readPart against io.ReadAll's results, including a
// bound that is too small (it must still read everything).
func TestReadPart(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	for _, tc := range []struct {
		name  string
		data  []byte
		bound int64
	}{
		{"empty", nil, 0},
		{"small under bound", []byte("hello"), 1 << 20},
		{"large, exact bound", big, int64(len(big))},
		{"large, generous bound", big, int64(len(big)) * 2},
		{"large, bound too small", big, 300 << 10},
		{"large, zero bound", big, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// iotest.HalfReader makes reads short, as a decoder's are.
			got, err := readPart(iotest.HalfReader(bytes.NewReader(tc.data)), tc.bound, nil)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("readPart gave %d bytes (%v), want %d", len(got), err, len(tc.data))
			}
			if tc.bound >= int64(len(tc.data)) && int64(cap(got)) > max(tc.bound+1, 512<<10) {
				t.Errorf("capacity %d past the bound %d", cap(got), tc.bound)
			}
		})
	}
	// A read error is returned with what was read before it.
	_, err := readPart(iotest.TimeoutReader(bytes.NewReader(big)), 1<<20, nil)
	if err == nil {
		t.Fatal("readPart hid a read error")
	}
}

// TestReadPartScratch: parts read through one scratch buffer, small and
// large in turn, are each what was read and stay so after the next (no
// part shares the scratch's memory); the scratch keeps no more than
// 256 KB, and a large part is still given its bound at once.
func TestReadPartScratch(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	mid := bytes.Repeat([]byte("ABCDEFGHIJKLMNOP"), 9_000)   // 144 KB
	var scratch []byte
	var kept [][]byte
	inputs := [][]byte{mid, []byte("hello"), nil, big, mid[:1000], big[:256<<10], mid}
	for i, data := range inputs {
		got, err := readPart(iotest.HalfReader(bytes.NewReader(data)), int64(len(data)), &scratch)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("part %d: readPart gave %d bytes (%v), want %d", i, len(got), err, len(data))
		}
		if got == nil {
			t.Fatalf("part %d: nil for an empty part", i)
		}
		if len(data) > 256<<10 && int64(cap(got)) > int64(len(data))+1 {
			t.Errorf("part %d: capacity %d past the bound %d", i, cap(got), len(data))
		}
		if cap(scratch) > 256<<10 {
			t.Errorf("part %d: scratch grew to %d", i, cap(scratch))
		}
		kept = append(kept, got)
	}
	for i, got := range kept {
		if !bytes.Equal(got, inputs[i]) {
			t.Errorf("part %d changed after later parts were read", i)
		}
	}
	_, err := readPart(iotest.TimeoutReader(bytes.NewReader(big)), 1<<20, &scratch)
	if err == nil {
		t.Fatal("readPart hid a read error")
	}
}
