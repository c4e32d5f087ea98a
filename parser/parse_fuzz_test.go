package parser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse throws arbitrary bytes at the MIME walk. Whatever arrives, Parse
// must return (no panic, no hang), stay within its limits, and never
// produce a file name that could be a path.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"From: a@b\r\nSubject: x\r\n\r\nhello",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--c--\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b\r\nContent-Disposition: attachment; filename*=iso-8859-1''%E9.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n",
		"Content-Type: multipart/related; boundary=\"\"\r\n\r\n--\r\n\r\n",
		"Subject: =?utf-8?B?////?=\r\nFrom: =?x?Q?a?= <\r\n\r\n",
		"Content-Type: application/ms-tnef; name=winmail.dat\r\n\r\nx\x9f>\"",
		"bad header line\r\nFrom: a@b\r\n\r\nbody",
		"From a@b Fri Nov 20 09:30:00 2026\nContent-Type: multipart/mixed;; boundary*=''o\n\n--o\n--o\nContent-Type: multipart/alternative; boundary=o-1\n\n--o-1\nContent-Type: text/plain; charset=utf-7\n\n+AKM-\n--o\nContent-Transfer-Encoding: base64\nContent-Type: application/pdf\n\nJVBERi0xLjQK=JV\n",
		"Content-Type: text/plain\n\nhi\nbegin 644 a.pdf\nM)5!$1BTQ+C0*\n`\nend\nbegin 644 b\n#86)C\n",
		"Content-Type: application/pdf\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 r.pdf\n()5!$1BTQ\nend\n",
		// A plain bounce (dsn.go reads its text), and one with old Mac line ends.
		"Return-Path: <>\nFrom: MAILER-DAEMON@x\nSubject: failure notice\n\nI wasn't able to deliver your message. (#5.1.1)\n\n--- Below this line is a copy of the message.\n\n  Message-ID:\n <q@x>\n",
		"From: MAILER-DAEMON <>\rSubject: Warning: delayed\r\rwill be retried 550 5.1.1\r> message-id: <a@b>\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", "08-automatic-reply", "message.eml")); err == nil {
		f.Add(raw)
	}
	lim := Limits{MaxMessageBytes: 1 << 20, MaxAttachments: 5, MaxAttachmentBytes: 256 << 10, MaxParts: 50, MaxDepth: 5, PDFTimeout: 2e9}
	p := New(Options{Limits: lim})
	f.Fuzz(func(t *testing.T, raw []byte) {
		sub, err := p.Parse(context.Background(), raw)
		if err != nil {
			return
		}
		if len(sub.Undelivered) > maxBounced {
			t.Fatalf("%d undelivered Message-IDs, bound %d", len(sub.Undelivered), maxBounced)
		}
		if len(sub.Attachments) > lim.MaxAttachments {
			t.Fatalf("%d attachments, limit %d", len(sub.Attachments), lim.MaxAttachments)
		}
		for _, a := range sub.Attachments {
			if strings.ContainsAny(a.Filename, "/\\") || strings.IndexFunc(a.Filename, unicode.IsControl) >= 0 {
				t.Fatalf("unsafe file name %q", a.Filename)
			}
			if int64(len(a.Data)) > lim.MaxAttachmentBytes {
				t.Fatalf("attachment holds %d bytes, limit %d", len(a.Data), lim.MaxAttachmentBytes)
			}
		}
	})
}
