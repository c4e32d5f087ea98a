package intake

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// e2eClock is the reference day of the samples.
var e2eClock = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type e2e struct {
	logs     *syncBuffer      // everything the intake logged, to scan for personal data
	dc       *harness.Dovecot // nil on the in-memory server
	inbox    testInbox        // dc, or the in-memory server
	sink     *harness.SMTPSink
	store    *store.Store
	daemon   *Daemon
	sender   *outbox.Sender
	composer *outbox.Composer
}

// newE2E is the intake on a private Dovecot, with an SMTP sink.
func newE2E(t *testing.T) *e2e {
	t.Helper()
	dc := harness.NewDovecot(t)
	e := newE2EOn(t, dovecotConfig(dc, mailbox.TLSImplicit), dc)
	e.dc = dc
	return e
}

func newE2EOn(t *testing.T, imapCfg mailbox.IMAPConfig, inbox testInbox) *e2e {
	t.Helper()
	sink := harness.NewSMTPSink(t)
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys,
		Now: func() time.Time { return e2eClock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, harness.TestWriter{T: t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	composer := &outbox.Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net", "gov.uk"}}
	pipeline := &Pipeline{Parser: parser.New(parser.Options{}), Store: store, Composer: composer, Log: log,
		Now: func() time.Time { return e2eClock }}
	sender := &outbox.Sender{Store: store, Composer: composer, SMTP: sinkConfig(sink, mailbox.TLSStartTLS), Log: log,
		MaxQueriesPerCase: 5, MaxQueriesPerSender: 20, Now: func() time.Time { return e2eClock }}
	imapCfg.Logger = log
	d := &Daemon{IMAP: imapCfg, Pipeline: pipeline, Sender: sender, Store: store, Log: log, MaxAttempts: 2}
	return &e2e{logs: logs, inbox: inbox, sink: sink, store: store, daemon: d, sender: sender, composer: composer}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name, "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sampleNames(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i]) // the sample folders, not the README beside them
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	return names
}

func expectedOutcome(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp.Outcome
}

// subjectsIn lists the subjects of a folder's messages, sorted.
func (e *e2e) subjectsIn(t *testing.T, folder string) []string {
	var out []string
	for _, m := range e.inbox.Messages(t, folder) {
		s, err := parser.New(parser.Options{}).Parse(context.Background(), m.Raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s.Subject)
	}
	sort.Strings(out)
	return out
}

// TestIntakeEndToEndDovecot appends every sample to a real Dovecot inbox,
// runs the intake once, and checks folders, register, review queue and the
// queries at the SMTP sink; then a reply with the missing consent form
// completes a queried case.
func TestIntakeEndToEndDovecot(t *testing.T) { testIntakeEndToEnd(t, newE2E(t)) }

func testIntakeEndToEnd(t *testing.T, e *e2e) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	want := map[string][]string{} // folder -> sample subjects
	folderOf := map[string]string{"register": "Processed", "query": "Queried", "review": "Review", "ignore": "Ignored"}
	for _, name := range sampleNames(t) {
		raw := readSample(t, name)
		e.inbox.Append(t, "INBOX", raw)
		sub, err := parser.New(parser.Options{}).Parse(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		f := folderOf[expectedOutcome(t, name)]
		want[f] = append(want[f], sub.Subject)
	}
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n, err := e.sender.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("Drain sent %d, err %v; want the 2 queries", n, err)
	}

	if got := e.inbox.Messages(t, "INBOX"); len(got) != 0 {
		t.Errorf("%d messages left in INBOX", len(got))
	}
	for folder, subjects := range want {
		sort.Strings(subjects)
		if got := e.subjectsIn(t, folder); strings.Join(got, "|") != strings.Join(subjects, "|") {
			t.Errorf("%s holds %q, want %q", folder, got, subjects)
		}
	}
	for _, m := range e.inbox.Messages(t, "Processed") {
		if m.Has(`\Seen`) {
			t.Error("a processed message was marked read: the intake must only peek")
		}
	}

	records, err := e.store.ListRecords(ctx, store.RecordFilter{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 {
		t.Errorf("%d records on the register, want 3 (the three happy samples)", len(records))
	}
	queue, err := e.store.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 2 {
		t.Errorf("%d review items, want 2 (age 18, best interest decision)", len(queue))
	}

	// The queries: threaded to the referrer's email, no names for
	// recipients outside the secure domains (all samples' queried
	// referrers are on nhs.net, so names are allowed), automatic.
	msgs := e.sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("sink has %d messages, want 2", len(msgs))
	}
	var harveyQuery *mail.Reader
	var harveyQueryID, harveySubject string
	for _, m := range msgs {
		mr, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subj, _ := mr.Header.Subject()
		if !strings.Contains(subj, "More information needed for your DSR referral") || !strings.HasPrefix(subj, "[DSR-2026-") {
			t.Errorf("query subject %q", subj)
		}
		if mr.Header.Get("Auto-Submitted") != "auto-replied" || mr.Header.Get("X-Auto-Response-Suppress") != "All" {
			t.Error("query lacks Auto-Submitted / X-Auto-Response-Suppress")
		}
		irt, _ := mr.Header.MsgIDList("In-Reply-To")
		if len(irt) != 1 {
			t.Errorf("query In-Reply-To %v", irt)
		}
		if m.To[0] == "mark.ellison1@nhs.net" {
			harveyQuery = mr
			harveyQueryID, _ = mr.Header.MessageID()
			harveySubject = subj
			if irt[0] != "202611241320.fa0a3c7847b15706@nhs.net" {
				t.Errorf("query to Harvey's referrer replies to %v", irt)
			}
		}
	}
	if harveyQuery == nil {
		t.Fatal("no query went to the referrer whose consent form was missing")
	}
	body := readBody(t, harveyQuery)
	if !strings.Contains(body, "consent form") {
		t.Errorf("query body does not say what is missing:\n%s", body)
	}

	// The reply: the referrer sends the consent form, threaded to the query.
	reply := replyWithConsent(t, harveyQueryID, "RE: "+harveySubject)
	e.inbox.Append(t, "INBOX", reply)
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce (reply): %v", err)
	}
	if got := e.subjectsIn(t, "Processed"); len(got) != 4 || !contains(got, "RE: "+harveySubject) {
		t.Errorf("the reply did not complete the case: Processed holds %q", got)
	}
	records, err = e.store.ListRecords(ctx, store.RecordFilter{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 {
		t.Errorf("%d records after the reply, want 4", len(records))
	}
	if _, err := e.store.RecordByNHS(ctx, "9999437753", "test"); err != nil {
		t.Errorf("Harvey is not on the register after the reply: %v", err)
	}

	// The logs carry case references, never the children's names, dates
	// of birth or NHS numbers (in any of the forms the forms use).
	if !strings.Contains(e.logs.String(), "case=DSR-2026-") {
		t.Fatal("the decisions were not logged with their case references: the scan below would prove nothing")
	}
	for _, name := range sampleNames(t) {
		for _, v := range personalValues(t, name) {
			if strings.Contains(e.logs.String(), v) {
				t.Errorf("the intake logged %q (from sample %s)", v, name)
			}
		}
	}

	// Running again changes nothing and sends nothing.
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.sender.Drain(ctx); n != 0 {
		t.Errorf("a second run sent %d more emails", n)
	}

	// Messages seen again under new UIDs (as after a UIDVALIDITY change, or
	// a person copying them back into the inbox) are recognised by their
	// content: moved to their folder again, with no second effect.
	for _, name := range []string{"04-missing-consent-form", "07-best-interest-decision", "01-fillable-pdf-happy"} {
		e.inbox.Append(t, "INBOX", readSample(t, name))
	}
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.sender.Drain(ctx); n != 0 {
		t.Errorf("messages seen again sent %d more emails", n)
	}
	if n := len(e.inbox.Messages(t, "INBOX")); n != 0 {
		t.Errorf("%d messages seen again were left in INBOX", n)
	}
	for folder, want := range map[string]int{"Queried": 3, "Review": 3} {
		if got := len(e.inbox.Messages(t, folder)); got != want {
			t.Errorf("%s holds %d messages, want %d (the copies join their originals)", folder, got, want)
		}
	}
	if queue, err := e.store.ReviewQueue(ctx, store.ReviewFilter{}); err != nil || len(queue) != 2 {
		t.Errorf("review items after messages seen again: %d (err %v), want still 2", len(queue), err)
	}
	if records, err := e.store.ListRecords(ctx, store.RecordFilter{Actor: "test"}); err != nil || len(records) != 4 {
		t.Errorf("records after messages seen again: %d (err %v), want still 4", len(records), err)
	}
}

// personalValues are a sample's identifying values as expected.json
// gives them, and the other ways forms write them.
func personalValues(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, v := range exp.Fields {
		switch {
		case strings.HasPrefix(k, "cyp_first") || k == "cyp_surname":
			out = append(out, v)
		case k == "cyp_nhs_number" && len(v) == 10:
			out = append(out, v, v[:3]+" "+v[3:6]+" "+v[6:])
		case k == "cyp_dob":
			if d, err := time.Parse(time.DateOnly, v); err == nil {
				out = append(out, v, d.Format("02/01/2006"))
			}
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func readBody(t *testing.T, mr *mail.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		buf := new(bytes.Buffer)
		buf.ReadFrom(p.Body)
		b.Write(buf.Bytes())
	}
	return b.String()
}

// consentDOCX makes a Word consent form the way a referrer's own template
// might: a two-column table of label and value, under the form's title.
func consentDOCX(t *testing.T, rows [][2]string) []byte {
	t.Helper()
	var cells strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&cells, `<w:tr><w:tc><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc></w:tr>`,
			html.EscapeString(r[0]), html.EscapeString(r[1]))
	}
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>DSR-CONSENT</w:t></w:r></w:p>
<w:p><w:r><w:t>Bromley Children and Young People's Dynamic Support Register - Consent Form</w:t></w:r></w:p>
<w:tbl>` + cells.String() + `</w:tbl></w:body></w:document>`
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"word/document.xml":   doc,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replyWithConsent is Harvey Bell's referrer answering the query with the
// consent form.
func replyWithConsent(t *testing.T, queryID, subject string) []byte {
	t.Helper()
	docx := consentDOCX(t, [][2]string{
		{"Name of child / young person", "Harvey Bell"},
		{"Date of birth", "06/06/2012"},
		{"NHS number", "999 943 7753"},
		{"Consent is given by", "Person with parental responsibility"},
		{"I consent to inclusion on the DSR", "Yes"},
		{"I have been given the DSR fact sheet", "Yes"},
		{"Name of person giving consent", "Claire Bell"},
		{"Relationship to child", "Mother"},
		{"Has parental responsibility", "Yes"},
		{"Signature (typed name accepted)", "Claire Bell"},
		{"Date", "24/11/2026"},
	})
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "Mark Ellison", Address: "mark.ellison1@nhs.net"}})
	h.SetAddressList("To", []*mail.Address{{Address: "bromley.dsr@nhs.net"}})
	h.SetSubject(subject)
	h.SetDate(e2eClock)
	h.SetMessageID("reply-harvey@nhs.net")
	h.SetMsgIDList("In-Reply-To", []string{queryID})
	h.SetMsgIDList("References", []string{"202611241320.fa0a3c7847b15706@nhs.net", queryID})
	var buf bytes.Buffer
	w, err := mail.CreateWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, _ := w.CreateSingleInline(th)
	tw.Write([]byte("Hello, the signed consent form is attached.\r\nMark"))
	tw.Close()
	var ah mail.AttachmentHeader
	ah.SetContentType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", nil)
	ah.SetFilename("DSR consent form.docx")
	aw, _ := w.CreateAttachment(ah)
	aw.Write(docx)
	aw.Close()
	w.Close()
	return buf.Bytes()
}

// TestSameBytesTwiceInOneSyncDovecot puts two copies of one email (the
// same bytes: a client's "copy" back into the inbox, or a server's double
// delivery) in the inbox at once. They are looked up and parsed side by
// side, before either is committed; the second must only follow the
// first: one decision, one query, both in the first's folder.
func TestSameBytesTwiceInOneSyncDovecot(t *testing.T) { testSameBytesTwiceInOneSync(t, newE2E(t)) }

func testSameBytesTwiceInOneSync(t *testing.T, e *e2e) {
	ctx := context.Background()
	raw := readSample(t, "04-missing-consent-form")
	e.inbox.Append(t, "INBOX", raw)
	e.inbox.Append(t, "INBOX", raw)
	var outcomes []register.Outcome
	e.daemon.OnProcessed = func(o register.Outcome) { outcomes = append(outcomes, o) }
	if err := e.daemon.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0] != register.OutcomeQuery {
		t.Fatalf("outcomes %v, want one query", outcomes)
	}
	if n := len(e.inbox.Messages(t, "INBOX")); n != 0 {
		t.Fatalf("%d left in the inbox", n)
	}
	if got := e.inbox.Messages(t, "Queried"); len(got) != 2 {
		t.Fatalf("%d copies in Queried, want both", len(got))
	}
	if n, err := e.sender.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d queries (%v), want 1", n, err)
	}
}

// heldPDFReader holds every PDF read until released, counting the reads
// started, so a test can see how many emails the daemon takes in hand.
type heldPDFReader struct {
	started atomic.Int64
	release chan struct{}
	next    parser.PDFReader
}

func (h *heldPDFReader) ReadPDF(ctx context.Context, data []byte) ([]*parser.RawForm, error) {
	h.started.Add(1)
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.next.ReadPDF(ctx, data)
}

// TestInHandIsBoundedDovecot: while parsing is stuck, the daemon fetches
// no more than its bound of emails (inHandPerWorker per worker in hand),
// and parses no more than parsingPerWorker per worker of them at once, so
// a backlog of any length costs the same memory; once parsing moves
// again, every email is processed.
func TestInHandIsBoundedDovecot(t *testing.T) { testInHandIsBounded(t, newE2E(t)) }

func testInHandIsBounded(t *testing.T, e *e2e) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Twice the bound and more: a daemon that took every email in hand
	// would start twice the reads the bound allows.
	total := 2*(inHandPerWorker+1) + 6
	for i := range total {
		e.inbox.Append(t, "INBOX", uniqueCopy(readSample(t, "01-fillable-pdf-happy"), fmt.Sprintf("held-%02d@nhs.net", i)))
	}
	held := &heldPDFReader{release: make(chan struct{}), next: parser.NewInProcessPDFReader(parser.Limits{})}
	e.daemon.Pipeline.Parser = parser.New(parser.Options{PDF: held})
	e.daemon.Workers = 1
	var inHand atomic.Int64 // the most in hand at once
	e.daemon.onInHand = func(n int) {
		if int64(n) > inHand.Load() {
			inHand.Store(int64(n))
		}
	}
	processed := 0
	e.daemon.OnProcessed = func(register.Outcome) { processed++ }
	done := make(chan error, 1)
	go func() { done <- e.daemon.RunOnce(ctx) }()

	// Wait until the counts of reads started and of emails in hand stop
	// growing.
	last, lastInHand, stable := int64(-1), int64(-1), 0
	for stable < 10 {
		time.Sleep(50 * time.Millisecond)
		if n, h := held.started.Load(), inHand.Load(); n == last && h == lastInHand {
			stable++
		} else {
			last, lastInHand, stable = n, h, 0
		}
	}
	const pdfsPerEmail = 2
	maxInHand, maxParsing := inHandPerWorker*e.daemon.Workers, parsingPerWorker*e.daemon.Workers
	if last == 0 || last > int64(pdfsPerEmail*maxParsing) {
		t.Fatalf("%d PDF reads started while parsing was stuck: want some, and at most %d (%d emails parsed at once)",
			last, pdfsPerEmail*maxParsing, maxParsing)
	}
	// The fetcher goes on while the parses are stuck, up to the bound.
	if n := inHand.Load(); n != int64(maxInHand) {
		t.Fatalf("%d emails in hand while parsing was stuck, want the bound, %d (of %d in the inbox)", n, maxInHand, total)
	}
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if processed != total || len(e.inbox.Messages(t, "INBOX")) != 0 {
		t.Fatalf("processed %d of %d, %d left in the inbox", processed, total, len(e.inbox.Messages(t, "INBOX")))
	}
}
