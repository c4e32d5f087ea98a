package review

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// A coordinator's reprocessing runs the email through the same rules as
// the intake: consent is judged on the day it was signed as well as on the
// referral date. The email is sample 03 made into a self-consent signed the
// day before the 16th birthday and referred after it, which the rules of
// the referral date alone would register.
func TestReprocessJudgesConsentOnTheSigningDate(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	raw := selfConsentSignedAt15(t)
	hash := parser.Hash(raw)
	in := store.Incoming{Hash: hash, Mailbox: "INBOX", UIDValidity: 1, UID: 100, Raw: raw,
		ReceivedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	if _, err := f.store.RecordFailure(ctx, in, "docx reader crashed"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Quarantine(ctx, hash, "docx reader crashed"); err != nil {
		t.Fatal(err)
	}
	items, err := f.store.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var item int64
	for _, it := range items {
		if it.MessageHash == hash {
			item = it.ID
		}
	}
	if item == 0 {
		t.Fatal("the quarantined email is not in the review queue")
	}

	c := f.signedIn(t, coordinatorName, coordinatorPass)
	c.get("/queue")
	resp, body := c.post(pathf("/review/%d/reprocess", item), nil)
	if resp.StatusCode != 303 {
		t.Fatalf("reprocess: %d\n%s", resp.StatusCode, body)
	}
	var id int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/cases/%d", &id); err != nil {
		t.Fatalf("reprocess went to %q, not to a case", resp.Header.Get("Location"))
	}
	cs, err := f.store.Case(ctx, id, "test")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Decision.Outcome != register.OutcomeQuery || !slices.Equal(cs.Decision.Codes(), []string{register.CodeConsentSelfUnder16}) {
		t.Errorf("reprocessed case: %s %v, want query [%s]", cs.Decision.Outcome, cs.Decision.Codes(), register.CodeConsentSelfUnder16)
	}
	recs, err := f.store.ExportRecords(ctx, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.NHSNumber == "9990010005" {
			t.Errorf("the child was added to the register: record %d", r.ID)
		}
	}
	// The query names the signing date; the referrer's school address is
	// not a secure one, so it does not name the child, nor carry the date
	// of birth.
	sent, err := f.store.CaseOutbox(ctx, id)
	if err != nil || len(sent) != 1 {
		t.Fatalf("outbox of the case: %d emails, %v", len(sent), err)
	}
	q := sent[0].Body
	if !strings.Contains(q, "signed by the child on 21 November 2026, before turning 16") {
		t.Errorf("the query does not say the form was signed before the 16th birthday:\n%s", q)
	}
	for _, secret := range []string{"Amelia", "Novák", "22/11/2010", "22 November 2010", "2010-11-22", "999 001 0005", "9990010005"} {
		if strings.Contains(q, secret) {
			t.Errorf("the query to an insecure address carries %q:\n%s", secret, q)
		}
	}
}

// selfConsentSignedAt15 is sample 03 (both forms as Word documents) for a
// fictional child born on 22 November 2010, referred on 23 November 2026,
// whose consent form she signed herself, with capacity, on 21 November
// 2026: the day before her 16th birthday.
func selfConsentSignedAt15(t *testing.T) []byte {
	t.Helper()
	orig, err := os.ReadFile(filepath.Join(sampleDir, "03-docx-happy", "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	var h mail.Header
	for _, k := range []string{"From", "To", "Subject", "Date"} {
		h.Set(k, mr.Header.Get(k))
	}
	h.Set("Message-Id", "<signed-at-15@riverside.example>")
	var buf bytes.Buffer
	w, err := mail.CreateWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			var ih mail.InlineHeader
			ih.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
			pw, err := w.CreateSingleInline(ih)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, pw, b)
		case *mail.AttachmentHeader:
			name, _ := ph.Filename()
			edits := map[string]string{"20/02/2014": "22/11/2010", "999 105 8834": "999 001 0005"}
			if strings.Contains(name, "Consent") {
				edits = map[string]string{
					"20/02/2014": "22/11/2010", "999 105 8834": "999 001 0005",
					parser.BasisParental: parser.BasisYoungPerson, "Petra Nováková": "Amelia Novák", ">Mother<": ">Self<",
				}
			}
			doc := editDocx(t, b, edits, strings.Contains(name, "Consent"))
			var ah mail.AttachmentHeader
			ah.SetContentType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", nil)
			ah.SetFilename(name)
			pw, err := w.CreateAttachment(ah)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, pw, doc)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// editDocx replaces text in a Word document's body, each edit exactly
// once at least, and on the consent form answers "Yes" to the young
// person's capacity (a blank cell in the sample).
func editDocx(t *testing.T, docx []byte, edits map[string]string, consent bool) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(docx), int64(len(docx)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name == "word/document.xml" {
			x := string(b)
			for from, to := range edits {
				if !strings.Contains(x, from) {
					t.Fatalf("the sample's document has no %q", from)
				}
				x = strings.ReplaceAll(x, from, to)
			}
			if consent {
				i := strings.Index(x, "Young person has capacity to consent")
				if i < 0 {
					t.Fatal("the sample's consent form has no capacity question")
				}
				// The answer cell's run is empty: give it the text.
				j := strings.Index(x[i:], "</w:rPr></w:r>")
				if j < 0 {
					t.Fatal("the sample's consent form has no capacity cell")
				}
				at := i + j + len("</w:rPr>")
				x = x[:at] + "<w:t>Yes</w:t>" + x[at:]
			}
			b = []byte(x)
		}
		fw, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeAll(t *testing.T, w io.WriteCloser, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
