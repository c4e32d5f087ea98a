package parser

import (
	"context"
	"strings"
	"testing"
)

// TestEncryptedEmails: an email only its recipient's mail client can open
// (Microsoft 365 message encryption as IMAP gives it, S/MIME, OpenPGP) is
// an unreadable attachment saying how it is encrypted, so the case goes to
// a coordinator, who can open it, rather than a query asking the referrer
// for forms they did send.
func TestEncryptedEmails(t *testing.T) {
	for _, tt := range []struct {
		name, raw, says string
		attachments     int
	}{
		{"Microsoft 365 message encryption",
			string(msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				"Content-Type: text/html; charset=utf-8\n\n<p>You've received an encrypted message from a.referrer@bromley.gov.uk</p>",
				"Content-Type: application/x-microsoft-rpmsg-message; name=\"message.rpmsg\"\nContent-Disposition: attachment; filename=\"message.rpmsg\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte("\x76\xe8\x04\x60\xc4\x11\xe3\x86 protected"))))),
			"Microsoft 365 message encryption", 1},
		{"S/MIME enveloped data, the whole email",
			string(msg([]string{"From: a@nhs.net", "Subject: DSR referral", "MIME-Version: 1.0",
				`Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"`, `Content-Disposition: attachment; filename="smime.p7m"`, "Content-Transfer-Encoding: base64"},
				b64([]byte("\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03")))),
			"S/MIME", 1},
		{"OpenPGP (PGP/MIME)",
			string(msg(withHeaders(`Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"`), multipartBody("e",
				"Content-Type: application/pgp-encrypted\n\nVersion: 1",
				"Content-Type: application/octet-stream; name=\"encrypted.asc\"\n\n-----BEGIN PGP MESSAGE-----\n\nhQEMA1b2\n-----END PGP MESSAGE-----"))),
			"OpenPGP", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := New(Options{}).Parse(context.Background(), []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) != tt.attachments {
				t.Fatalf("attachments %+v", summary(sub))
			}
			n := 0
			for _, a := range sub.Attachments {
				if a.Kind == KindUnreadable && strings.Contains(a.Error, tt.says) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d attachments unreadable saying %q: %+v", n, tt.says, summary(sub))
			}
		})
	}
	// A signed email is not an encrypted one: its forms are read, and its
	// signature is no form.
	signed := msg(withHeaders(`Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"`), multipartBody("s",
		"Content-Type: text/plain\n\nForms to follow.",
		"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\nContent-Disposition: attachment; filename=\"smime.p7s\"\nContent-Transfer-Encoding: base64\n\n"+b64([]byte("\x30\x82\x01\x00 signature"))))
	sub, err := New(Options{}).Parse(context.Background(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Attachments) != 1 || sub.Attachments[0].Kind != KindNotForm {
		t.Errorf("signed email: %+v", summary(sub))
	}
}
