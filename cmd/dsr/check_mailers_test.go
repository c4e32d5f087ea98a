package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// sampleParts is a sample email as go-message's mail reader (the mandated
// library, not our parser) gives it: its text and its attachments.
type sampleParts struct {
	header mail.Header
	text   string
	files  []sampleFile
}

type sampleFile struct {
	name, ctype string
	data        []byte
}

func readSampleParts(t *testing.T, raw []byte) sampleParts {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	s := sampleParts{header: mr.Header}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/plain" && s.text == "" {
				s.text = string(data)
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			s.files = append(s.files, sampleFile{name: name, ctype: ct, data: data})
		}
	}
	return s
}

// writeEmail writes an email with go-message's writer: a text part and
// the attachments, each with the header set adds.
func writeEmail(t *testing.T, h mail.Header, text string, files []sampleFile, set func(*mail.AttachmentHeader, sampleFile)) []byte {
	t.Helper()
	var b bytes.Buffer
	mw, err := mail.CreateWriter(&b, h)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := mw.CreateInline()
	if err != nil {
		t.Fatal(err)
	}
	var th mail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	w, err := tw.CreatePart(th)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	w.Close()
	tw.Close()
	for _, f := range files {
		var ah mail.AttachmentHeader
		ah.Set("Content-Type", f.ctype)
		ah.SetFilename(f.name)
		if set != nil {
			set(&ah, f)
		}
		w, err := mw.CreateAttachment(ah)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
		w.Close()
	}
	mw.Close()
	return b.Bytes()
}

// forwardHeader is a colleague's header forwarding a sample.
func forwardHeader(orig mail.Header) mail.Header {
	var h mail.Header
	h.SetDate(time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC))
	h.SetAddressList("From", []*mail.Address{{Name: "Team Administrator", Address: "team.admin@nhs.net"}})
	h.SetAddressList("To", []*mail.Address{{Name: "Bromley DSR", Address: "bromley.dsr@nhs.net"}})
	subj, _ := orig.Subject()
	h.SetSubject("Fwd: " + subj)
	h.SetMessageID("fwd-" + strings.Trim(orig.Get("Message-Id"), "<> "))
	return h
}

// TestCheckSamplesAsMailersSendThem: every sample, sent on as mailers and
// referrers send it, comes out as the sample does (outcome, reasons and
// both forms): forwarded by Gmail (a new email with the files attached
// again), forwarded as an attachment (message/rfc822), attached as a
// saved .eml file, zipped, its attachments' names encoded the way Outlook
// encodes them (RFC 2047 inside the parameter), and stored with bare LF
// line ends as a Maildir file on Unix is. The emails are written by
// go-message, not by our code. The automatic reply stays one only as it
// was sent.
func TestCheckSamplesAsMailersSendThem(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "testdata", "samples", "*", "message.eml"))
	if err != nil || len(samples) < 8 {
		t.Fatalf("%d samples: %v", len(samples), err)
	}
	dir := t.TempDir()
	type variant struct{ clean, file, how string }
	var variants []variant
	files := append([]string{}, samples...)
	for _, path := range samples {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(path))
		sp := readSampleParts(t, raw)
		add := func(how string, data []byte) {
			f := filepath.Join(dir, name+"-"+how+".eml")
			if err := os.WriteFile(f, data, 0o600); err != nil {
				t.Fatal(err)
			}
			variants = append(variants, variant{path, f, how})
			files = append(files, f)
		}
		add("lf-line-ends", bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
		if strings.Contains(name, "automatic-reply") {
			continue // forwarded, it is a person's email
		}
		if len(sp.files) == 0 {
			t.Fatalf("%s: go-message found no attachment", name)
		}
		from := sp.header.Get("From")
		intro := "---------- Forwarded message ---------\nFrom: " + from + "\n\nPlease see the referral below.\n\n" + sp.text
		add("gmail-forward", writeEmail(t, forwardHeader(sp.header), intro, sp.files, nil))
		add("outlook-2047-names", writeEmail(t, sp.header, sp.text, sp.files, func(ah *mail.AttachmentHeader, f sampleFile) {
			enc := mime.BEncoding.Encode("utf-8", f.name)
			ah.Set("Content-Type", f.ctype+"; name=\""+enc+"\"")
			ah.Set("Content-Disposition", "attachment; filename=\""+enc+"\"")
		}))
		add("forward-as-attachment", writeEmail(t, forwardHeader(sp.header), "FYI, the referral is attached.",
			[]sampleFile{{name: "referral.eml", ctype: "message/rfc822", data: raw}}, nil))
		add("saved-eml-attached", writeEmail(t, forwardHeader(sp.header), "The referral I was sent, attached.",
			[]sampleFile{{name: "DSR referral.eml", ctype: "application/octet-stream", data: raw}}, nil))
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		for _, f := range sp.files {
			w, _ := zw.Create(f.name)
			w.Write(f.data)
		}
		zw.Close()
		add("zipped", writeEmail(t, sp.header, sp.text, []sampleFile{{name: "Forms.zip", ctype: "application/x-zip-compressed", data: zb.Bytes()}}, nil))
	}
	byFile := checkJSON(t, files)
	if len(variants) < 40 {
		t.Fatalf("only %d variants", len(variants))
	}
	for _, v := range variants {
		got, want := byFile[v.file], byFile[v.clean]
		if want.Outcome == "" {
			t.Fatalf("%s: no outcome", v.clean)
		}
		if got.Outcome != want.Outcome || !reflect.DeepEqual(got.Reasons, want.Reasons) ||
			!reflect.DeepEqual(got.Referral, want.Referral) || !reflect.DeepEqual(got.Consent, want.Consent) {
			t.Errorf("%s: %s %s, the sample %s %s%s", filepath.Base(v.file), got.Outcome, got.Reasons, want.Outcome, want.Reasons,
				map[bool]string{true: "", false: fmt.Sprintf(" (forms differ: referral %v, consent %v)", reflect.DeepEqual(got.Referral, want.Referral), reflect.DeepEqual(got.Consent, want.Consent))}[got.Outcome != want.Outcome])
		}
	}
}
