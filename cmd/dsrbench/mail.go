package main

// The bench's mailboxes: the project's sample emails, each copy given a
// Message-ID of its own, written straight into a Maildir snapshot (much
// faster than 10,000 APPENDs, and Dovecot indexes them the same way).

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"dsr-intake/parser"
)

type sample struct {
	Name string
	Raw  []byte
}

func loadSamples(dir string) ([]sample, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "message.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []sample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sample{Name: filepath.Base(filepath.Dir(f)), Raw: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no samples under %s", dir)
	}
	return out, nil
}

// uniqueCopy gives a sample a Message-ID of its own (and so a content hash
// of its own), keeping the original as another header, as the crash test
// does.
func uniqueCopy(raw []byte, id string) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), "message-id:") {
			lines[i] = "X-Original-" + l
		}
	}
	out := "Message-ID: <" + id + ">\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	return append([]byte(out), body...)
}

// mailbox is n copies of the samples, cycled, with ids prefix-NNNNN.
func mailbox(samples []sample, n int, prefix string) func(i int) []byte {
	return func(i int) []byte {
		s := samples[i%len(samples)]
		return uniqueCopy(s.Raw, fmt.Sprintf("%s-%05d@bench.example", prefix, i))
	}
}

// writeMaildir writes n messages into a fresh Maildir at dir (cur/, with
// the S= size Dovecot reads), owned by uid:gid, and returns the bytes
// written.
func writeMaildir(dir string, n int, msg func(int) []byte, uid, gid int) (int64, error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return 0, err
		}
	}
	var total int64
	base := time.Now().Unix() - int64(n)
	for i := 0; i < n; i++ {
		raw := msg(i)
		name := fmt.Sprintf("%d.M%dP%d.bench,S=%d:2,", base+int64(i), i, os.Getpid(), len(raw))
		if err := os.WriteFile(filepath.Join(dir, "cur", name), raw, 0o600); err != nil {
			return 0, err
		}
		total += int64(len(raw))
	}
	return total, chownTree(dir, uid, gid)
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// bigAttachmentEmail is sample raw's referral and consent forms plus a
// scanned-looking PDF of size bytes: one email with one very large
// attachment.
func bigAttachmentEmail(raw []byte, size int, id string) ([]byte, error) {
	sub, err := parser.New(parser.Options{}).Parse(context.Background(), raw)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "Bench Referrer", Address: "referrer@school.example"}})
	h.SetAddressList("To", []*mail.Address{{Address: "bromley.dsr@nhs.net"}})
	h.SetSubject("DSR referral with a large scan")
	h.SetMessageID(id)
	h.SetDate(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	w, err := mail.CreateWriter(&b, h)
	if err != nil {
		return nil, err
	}
	var th mail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	tw, err := w.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(tw, "Please find attached the referral, consent and the school's report (scanned).\r\n")
	tw.Close()
	attach := func(name string, data []byte) error {
		var ah mail.AttachmentHeader
		ah.Set("Content-Type", "application/pdf")
		ah.SetFilename(name)
		aw, err := w.CreateAttachment(ah)
		if err != nil {
			return err
		}
		if _, err := aw.Write(data); err != nil {
			return err
		}
		return aw.Close()
	}
	for _, a := range sub.Attachments {
		if a.Detected == "pdf" {
			if err := attach(a.Filename, a.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := attach("School report (scan).pdf", bigPDF(size)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")), nil
}

// bigPDF is a one-page PDF whose page is one image of about size bytes,
// as a scanner writes: nothing for a text reader but its bulk.
func bigPDF(size int) []byte {
	img := make([]byte, size)
	rand.Read(img)
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		b.WriteString(s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	obj("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	obj("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>\nendobj\n")
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XObject /Subtype /Image /Width 2480 /Height 3508 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n", len(img))
	b.Write(img)
	b.WriteString("\nendstream\nendobj\n")
	content := "q 595 0 0 842 0 0 cm /Im0 Do Q"
	obj(fmt.Sprintf("5 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}
