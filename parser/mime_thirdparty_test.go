package parser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestThirdPartyEmails walks the MIME of the third-party emails in
// testdata/thirdparty (README.md there gives each one's source, licence
// and what it shows) and compares every leaf part, type and decoded
// size, with what Python's email package finds. Where Python keeps an
// empty leaf for a nested multipart whose boundary never occurs, the
// parser has no part and, since nothing is lost, reports no problem.
func TestThirdPartyEmails(t *testing.T) {
	tests := []struct {
		file   string
		leaves string // type:size, in order, as Python's walk() gives them
	}{
		{"python-test_email-msg_02.eml", "text/plain:405 text/plain:192 text/plain:8 text/plain:8 text/plain:8 text/plain:8 text/plain:10 text/plain:118"},
		{"python-test_email-msg_07.eml", "text/plain:36 image/gif:3512"},
		{"python-test_email-msg_15.eml", "text/plain:19 text/html:98"}, // Python: multipart/alternative:1 first, text/plain:20
		{"python-test_email-msg_33.eml", "text/plain:7 text/plain:7"},
		{"python-test_email-msg_38.eml", "text/plain:124 text/plain:4 text/plain:1677 text/plain:50"},
		{"python-test_email-msg_39.eml", "application/octet-stream:2 application/octet-stream:2 text/plain:50"}, // Python: multipart/alternative:0 first
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "email", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			e, err := readEntity(bytes.NewReader(raw))
			if e == nil {
				t.Fatalf("readEntity: %v", err)
			}
			w := &walker{limits: DefaultLimits()}
			w.walk(e, 0, false)
			var got []string
			for _, pt := range w.parts {
				got = append(got, fmt.Sprintf("%s:%d", pt.mediaType, pt.size))
			}
			if strings.Join(got, " ") != tt.leaves {
				t.Errorf("leaves\n got %s\nwant %s", strings.Join(got, " "), tt.leaves)
			}
			if len(w.problems) > 0 {
				t.Errorf("problems %q", w.problems)
			}
			sub, err := p.Parse(context.Background(), raw)
			if err != nil || sub.Referral != nil || sub.Consent != nil {
				t.Errorf("Parse: %v; a third-party email read as a DSR form", err)
			}
		})
	}
}

// TestThirdPartyPDFsAreNotForms sends each third-party PDF as an
// attachment: none may come out as a referral or consent form.
func TestThirdPartyPDFsAreNotForms(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "pdf", "*.pdf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no third-party PDFs: %v", err)
	}
	p := New(Options{})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw := msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
			pdfPart(data, fmt.Sprintf("Content-Type: application/pdf; name=%q", filepath.Base(f)), "Content-Transfer-Encoding: base64")))
		sub, err := p.Parse(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The PDF first, then any file attached inside it (pypdf's
		// attachment.pdf holds one).
		if len(sub.Attachments) == 0 || sub.Attachments[0].Size != int64(len(data)) {
			t.Fatalf("%s: attachments %v", f, summary(sub))
		}
		for _, a := range sub.Attachments {
			if k := a.Kind; k == KindReferral || k == KindConsent || k == KindBoth || sub.Referral != nil || sub.Consent != nil {
				t.Errorf("%s (%s) read as a DSR form (%s)", filepath.Base(f), a.Filename, k)
			}
		}
	}
}
