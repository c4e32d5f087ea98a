package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/intake"
	"dsr-intake/intake/outbox"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// The fixture's accounts; passwords are long enough for the rules.
const (
	adminName, adminPass             = "ada", "correct horse battery"
	coordinatorName, coordinatorPass = "cora", "coordinator password 1"
	viewerName, viewerPass           = "vic", "viewer password 12345"
)

// Children whose names are attacks: they must be shown as text everywhere.
const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
)

// clock is a settable clock for session timeouts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// fixture is a register made through the store's real API from the sample
// emails, a quarantined email, and the pages serving it.
type fixture struct {
	store    *store.Store
	server   *Server
	http     *httptest.Server
	clock    *clock
	cases    map[string]int64 // sample folder name -> case id
	records  map[string]int64 // NHS number -> record id
	xssCase  int64
	xssRec   int64
	xssRec2  int64
	quarItem int64
}

var sampleDir = filepath.Join("..", "testdata", "samples")

type fixtureOptions struct {
	secure bool
}

func newFixture(t *testing.T, fo fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	today := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	composer := &outbox.Composer{From: "dsr@bromley.nhs.uk", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net", "nhs.uk"}}
	pipeline := &intake.Pipeline{Parser: parser.New(parser.Options{}), Store: db, Composer: composer, Log: log,
		Now: func() time.Time { return today }}
	f := &fixture{store: db, clock: &clock{}, cases: map[string]int64{}, records: map[string]int64{}}

	entries, err := os.ReadDir(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if !e.IsDir() {
			continue // the README beside the samples
		}
		raw, err := os.ReadFile(filepath.Join(sampleDir, e.Name(), "message.eml"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := pipeline.Process(ctx, intake.Location{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, raw)
		if err != nil {
			t.Fatalf("process %s: %v", e.Name(), err)
		}
		if a.Case.ID != 0 {
			f.cases[e.Name()] = a.Case.ID
		}
	}
	recs, err := db.ExportRecords(ctx, "fixture", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		f.records[r.NHSNumber] = r.ID
	}

	// Two children whose names are attacks, registered through Apply.
	f.xssRec, f.xssCase = applyChild(t, db, "xss-1@example.org", xssScript, "Testchild", "9995628198", "x")
	f.xssRec2, _ = applyChild(t, db, "xss-2@example.org", "Robin", xssImg, "9991058834", xssScript)

	// An email the pipeline failed on three times: quarantined. Its bytes
	// are a good referral, so reprocessing it works.
	origRaw, err := os.ReadFile(filepath.Join(sampleDir, "02-flattened-pdf-happy", "message.eml"))
	raw := bytes.Clone(origRaw)
	if err != nil {
		t.Fatal(err)
	}
	raw = regexp.MustCompile(`(?im)^message-id:\s*<`).ReplaceAll(raw, []byte("Message-ID: <quarantined-"))
	hash := parser.Hash(raw)
	in := store.Incoming{Hash: hash, Mailbox: "INBOX", UIDValidity: 1, UID: 99, Raw: raw, ReceivedAt: today}
	if bytes.Equal(raw, origRaw) {
		t.Fatal("the quarantined email is the same as sample 02")
	}
	if _, err := db.RecordFailure(ctx, in, "pdf reader crashed"); err != nil {
		t.Fatal(err)
	}
	if err := db.Quarantine(ctx, hash, "pdf reader crashed"); err != nil {
		t.Fatal(err)
	}
	items, err := db.ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.MessageHash == hash {
			f.quarItem = it.ID
		}
	}
	if f.quarItem == 0 {
		t.Fatal("the quarantined email is not in the review queue")
	}

	for _, u := range []struct{ name, role, pass string }{
		{adminName, store.RoleAdmin, adminPass}, {coordinatorName, store.RoleCoordinator, coordinatorPass}, {viewerName, store.RoleViewer, viewerPass},
	} {
		h, err := HashPassword(u.pass)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddUser(ctx, u.name, u.role, h, "fixture"); err != nil {
			t.Fatal(err)
		}
	}

	f.server, err = New(Options{Store: db, Logger: log, SecureCookie: fo.secure, Composer: composer, Pipeline: pipeline,
		Health: func() intake.HealthSnapshot {
			return intake.HealthSnapshot{LastFetchOK: time.Now().Add(-2 * time.Minute), Connected: true}
		}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if fo.secure {
		f.http = httptest.NewTLSServer(f.server.Handler())
	} else {
		f.http = httptest.NewServer(f.server.Handler())
	}
	t.Cleanup(f.http.Close)
	return f
}

// applyChild registers a fictional child straight through the store.
func applyChild(t *testing.T, s *store.Store, msgID, first, surname, nhs, knownAs string) (recordID, caseID int64) {
	t.Helper()
	sub := &parser.Submission{From: "sam.referrer@example.org", Subject: "Referral", MessageID: msgID,
		Referral: &parser.Form{Kind: parser.Referral, Values: map[string]string{
			"referral_date": "2026-11-20", "cyp_first_names": first, "cyp_surname": surname, "cyp_known_as": knownAs,
			"cyp_dob": "2012-03-14", "cyp_nhs_number": nhs, "cyp_local_authority": "Bromley", "rag_rating": "Amber",
			"rag_reason": xssImg, "svc_health": xssScript, "plan_ehcp": "true"}},
		Consent: &parser.Form{Kind: parser.Consent, Values: map[string]string{
			"cyp_full_name": first + " " + surname, "consent_basis": parser.BasisParental, "consent_given": "true",
			"signatory_name": xssImg, "signed_date": "2026-11-19", "share_health": "true"}},
	}
	raw := []byte("From: sam.referrer@example.org\r\nMessage-ID: <" + msgID + ">\r\nSubject: Referral\r\n\r\n" + first + " " + surname + "\r\n")
	sum := sha256.Sum256(raw)
	in := store.Incoming{Hash: hex.EncodeToString(sum[:]), MessageID: msgID, Raw: raw, Submission: sub, ReceivedAt: time.Now()}
	a, err := s.Apply(context.Background(), in,
		func(register.CaseForms) register.Decision {
			return register.Decision{Outcome: register.OutcomeRegister}
		},
		func(store.CaseInfo, register.Decision) []store.OutboxMessage { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return a.RecordID, a.Case.ID
}

// client is a browser stand-in: a cookie jar, and no redirects followed so
// the tests see them.
type client struct {
	t    *testing.T
	f    *fixture
	http *http.Client
	csrf string
}

func (f *fixture) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	// httptest hands out one shared client: copy it so each has its own jar.
	hc := new(http.Client)
	*hc = *f.http.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, f: f, http: hc}
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.http.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfPattern.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) { return c.do(http.MethodGet, path, nil) }

// post sends a form with the CSRF token of the last page seen.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, form)
}

func (c *client) signin(name, pass string) *http.Response {
	c.t.Helper()
	c.get("/signin")
	resp, body := c.post("/signin", url.Values{"name": {name}, "password": {pass}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: status %d\n%s", name, resp.StatusCode, body)
	}
	c.get("/") // picks up the session's CSRF token
	return resp
}

func (f *fixture) signedIn(t *testing.T, name, pass string) *client {
	c := f.client(t)
	c.signin(name, pass)
	return c
}

func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func regexpFind(s, pattern string) string { return regexp.MustCompile(pattern).FindString(s) }
