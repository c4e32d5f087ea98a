package parser

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// smimeSigner is a throwaway certificate and key, made by openssl.
type smimeSigner struct{ dir, cert, key string }

func newSMIMESigner(t *testing.T) smimeSigner {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (scripts/install-test-deps.sh installs it)")
	}
	dir := t.TempDir()
	s := smimeSigner{dir, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=Dr Priya Raman/emailAddress=priya.raman@nhs.net", "-keyout", s.key, "-out", s.cert).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	return s
}

// signOpaque signs raw's MIME entity (its content headers and body) as
// Outlook's opaque signing does, one smime.p7m part under raw's other
// headers; stream makes openssl write BER with indefinite lengths.
func (s smimeSigner) signOpaque(t *testing.T, raw []byte, stream bool) []byte {
	t.Helper()
	sep := []byte("\r\n\r\n")
	i := bytes.Index(raw, sep)
	if i < 0 {
		sep = []byte("\n\n")
		i = bytes.Index(raw, sep)
	}
	var outer, inner bytes.Buffer
	// Each field with its continuation lines; the content fields go
	// inside the signature, the rest stay outside it.
	var fields []string
	for _, line := range strings.Split(strings.ReplaceAll(string(raw[:i]), "\r\n", "\n"), "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
			continue
		}
		fields = append(fields, line)
	}
	for _, f := range fields {
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(f, ":", 2)[0]))
		if strings.HasPrefix(name, "content-") || name == "mime-version" {
			inner.WriteString(f + "\r\n")
		} else {
			outer.WriteString(f + "\r\n")
		}
	}
	inner.WriteString("\r\n")
	inner.Write(raw[i+len(sep):])
	in := filepath.Join(s.dir, "inner.eml")
	if err := os.WriteFile(in, inner.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"smime", "-sign", "-nodetach", "-binary", "-in", in, "-signer", s.cert, "-inkey", s.key, "-outform", "SMIME"}
	if stream {
		args = append(args, "-stream")
	}
	part, err := exec.Command("openssl", args...).Output()
	if err != nil {
		t.Fatalf("openssl smime -sign: %v", err)
	}
	// Written as asked: BER's indefinite length, or DER's definite one.
	_, body, _ := bytes.Cut(bytes.ReplaceAll(part, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	p7m, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil || len(p7m) < 2 || (p7m[1] == 0x80) != stream {
		t.Fatalf("openssl wrote %x... (%v), want indefinite length: %v", p7m[:min(len(p7m), 4)], err, stream)
	}
	return append(outer.Bytes(), part...)
}

// TestParseSamplesSignedOpaque signs every sample email with S/MIME opaque
// signing, in DER and in BER with indefinite lengths, and reads it as the
// email itself: forms, attachments and problems as the clean email's.
// What is taken out of the signature is what openssl's own verify takes
// out, byte for byte.
func TestParseSamplesSignedOpaque(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl")
	}
	s := newSMIMESigner(t)
	p := New(Options{})
	ctx := context.Background()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.Parse(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []bool{false, true} {
			name := filepath.Base(filepath.Dir(path)) + map[bool]string{false: "/der", true: "/ber-stream"}[stream]
			t.Run(name, func(t *testing.T) {
				signed := s.signOpaque(t, raw, stream)
				got, err := p.Parse(ctx, signed)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Referral, want.Referral) || !reflect.DeepEqual(got.Consent, want.Consent) {
					t.Errorf("forms read %+v %+v\nwant %+v %+v", got.Referral, got.Consent, want.Referral, want.Consent)
				}
				sameAttachments(t, got, want)
				if !reflect.DeepEqual(got.Problems, want.Problems) {
					t.Errorf("problems %q, want %q", got.Problems, want.Problems)
				}

				// The peer: openssl's verify (the certificate is not
				// trusted, as the intake does not check it either).
				file := filepath.Join(s.dir, "signed.eml")
				if err := os.WriteFile(file, signed, 0o600); err != nil {
					t.Fatal(err)
				}
				peer, err := exec.Command("openssl", "smime", "-verify", "-noverify", "-binary", "-in", file).Output()
				if err != nil {
					t.Fatalf("openssl smime -verify: %v", err)
				}
				out, err := exec.Command("openssl", "smime", "-pk7out", "-in", file).Output()
				if err != nil {
					t.Fatalf("openssl smime -pk7out: %v", err)
				}
				block, _ := pem.Decode(out)
				if block == nil {
					t.Fatalf("openssl smime -pk7out: no PEM block in %q", out)
				}
				ours, err := signedContent(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ours, peer) {
					t.Errorf("content taken out: %d bytes, openssl's %d", len(ours), len(peer))
				}
			})
		}
	}
}

// TestSMIMESignedUnopened: a signed-data part whose content cannot be
// taken out (a detached signature sent as smime.p7m, a damaged one) is an
// unreadable part a coordinator opens in the mailbox, not an attachment
// that is not a form.
func TestSMIMESignedUnopened(t *testing.T) {
	for _, tt := range []struct{ name, data string }{
		{"damaged", "\x30\x82\x01\x00 not a signature"},
		{"empty SignedData", "\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x30\x80\x02\x01\x01\x31\x00\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\x00\x00\x31\x00\x00\x00\x00\x00\x00\x00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := msg([]string{"From: a@nhs.net", "Subject: DSR referral", "MIME-Version: 1.0",
				`Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"`, `Content-Disposition: attachment; filename="smime.p7m"`, "Content-Transfer-Encoding: base64"},
				b64([]byte(tt.data)))
			sub, err := New(Options{}).Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) != 1 || sub.Attachments[0].Kind != KindUnreadable || !strings.Contains(sub.Attachments[0].Error, "signed with S/MIME") {
				t.Fatalf("attachments %+v", summary(sub))
			}
		})
	}
}

// TestSMIMEDeepNesting: a signature of nothing but nesting, as deep as an
// attachment allows, is refused before the library's recursive reading
// could overflow the stack (which would end the process).
func TestSMIMEDeepNesting(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"indefinite", bytes.Repeat([]byte{0x30, 0x80}, 4<<20)},
		{"definite", func() []byte {
			// 0x30 0x84 and a four-byte length, each level holding the rest.
			const levels = 1 << 20
			b := make([]byte, 0, 6*levels)
			for i := range levels {
				n := 6 * (levels - 1 - i)
				b = append(b, 0x30, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			}
			return b
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := signedContent(tt.data); err == nil || !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("signedContent: %v, want refused as nested too deep", err)
			}
		})
	}
	// A real signature nests within the bound (TestParseSamplesSignedOpaque
	// reads them): the guard is not what refuses this.
	if !berNestingWithin(bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth), maxBERDepth) {
		t.Error("nesting of exactly the bound refused")
	}
}

func FuzzSignedContent(f *testing.F) {
	f.Add([]byte("\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x30\x80\x02\x01\x01\x31\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(bytes.Repeat([]byte{0x30, 0x80}, 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		content, err := signedContent(data)
		if err == nil && len(content) == 0 {
			t.Fatal("no error and no content")
		}
	})
}
