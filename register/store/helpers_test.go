package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// stDB makes a fresh, empty database for one test and returns how to open
// it (Keys unset: each test picks its keyring).
type stDB func(t testing.TB) Options

func stSQLiteDB(t testing.TB) Options {
	return Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db")}
}

// stPostgres is a database made for this test run (dropped at its end);
// each test gets its own schema in it, which is much faster than a
// database per test and just as separate.
type stPostgres struct {
	base   string // DSR_TEST_POSTGRES
	dbName string
	n      atomic.Int64
}

func stRandomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// stNewPostgres creates the run's database, or skips when no PostgreSQL is
// configured.
func stNewPostgres(t testing.TB) *stPostgres {
	t.Helper()
	base := os.Getenv("DSR_TEST_POSTGRES")
	if base == "" {
		t.Skip("DSR_TEST_POSTGRES is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the store suite on PostgreSQL")
	}
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	p := &stPostgres{base: base, dbName: "dsr_test_" + stRandomHex(t, 6)}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+p.dbName); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sqlx.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+p.dbName+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return p
}

func (p *stPostgres) dsn(t testing.TB, schema string) string {
	u, err := url.Parse(p.base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + p.dbName
	if schema != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// newDB makes a fresh schema for one test.
func (p *stPostgres) newDB(t testing.TB) Options {
	schema := fmt.Sprintf("t%d", p.n.Add(1))
	db, err := sqlx.Open("pgx", p.dsn(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return Options{Driver: "postgres", DSN: p.dsn(t, schema)}
}

func stKeys(t testing.TB) *Keyring {
	t.Helper()
	k, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stOpen opens a store on o with keys, closed at the end of the test.
func stOpen(t *testing.T, o Options, keys *Keyring) *Store {
	t.Helper()
	o.Keys = keys
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stChild is a fictional child; NHS numbers are from the 999 test range.
type stChild struct {
	First, Surname, NHS, DOB, RAG string
}

var (
	stQuillon  = stChild{"Quillon", "Marchbanks-Oyelaran", "9993149586", "2012-03-14", "Amber"}
	stPerpetua = stChild{"Perpetua", "Vandersloot", "9995628198", "2013-07-02", "Green"}
)

func stReferral(c stChild) *parser.Form {
	return &parser.Form{Kind: parser.Referral, Source: "test", Values: map[string]string{
		"referral_date": "2026-11-20", "cyp_first_names": c.First, "cyp_surname": c.Surname, "cyp_dob": c.DOB,
		"cyp_nhs_number": c.NHS, "cyp_gender": "Male", "cyp_ethnicity": "White British",
		"cyp_address": "17 Wisteria Crescent\nBickley", "cyp_postcode": "BR1 9ZZ",
		"cyp_living_situation": "With family", "cyp_local_authority": "Bromley",
		"dx_learning_disability": "true", "dx_autism": "true", "dx_details": "Autism diagnosed 2019 by the ND team",
		"mh_concern": "Escalating self-injury at home", "mh_high_risk_admission": "true",
		"rag_rating": c.RAG, "rag_reason": "Frequent crisis calls", "svc_health": "CAMHS", "svc_education": "Oakfield School",
		"needs_health": "Sensory assessment", "needs_education": "1:1 support", "needs_social_care": "Short breaks",
		"plan_ehcp": "true", "parent_name": "Ottoline " + c.Surname, "parent_relationship": "Mother", "parent_has_pr": "true",
		"parent_phone": "07700 900123", "referrer_name": "Sam Referrer", "referrer_role": "Social worker",
		"referrer_organisation": "Bromley Council", "referrer_email": "sam.referrer@example.org", "referrer_phone": "020 7946 0000",
	}}
}

func stConsent(c stChild, basis string) *parser.Form {
	return &parser.Form{Kind: parser.Consent, Source: "test", Values: map[string]string{
		"cyp_full_name": c.First + " " + c.Surname, "cyp_dob": c.DOB, "cyp_nhs_number": c.NHS,
		"consent_basis": basis, "consent_given": "true", "factsheet_given": "true",
		"share_health": "true", "share_education": "true", "share_social_care": "false",
		"signatory_name": "Ottoline " + c.Surname, "signatory_relationship": "Mother", "signatory_has_pr": "true",
		"signature": "Ottoline " + c.Surname, "signed_date": "2026-11-19",
	}}
}

// stMessage builds an email the way the intake hands it over: the raw bytes
// (which name the child, as real referrals do) and the parsed submission.
func stMessage(id string, sub *parser.Submission) Incoming {
	if sub.From == "" {
		sub.From = "sam.referrer@example.org"
	}
	sub.MessageID = id
	var body strings.Builder
	fmt.Fprintf(&body, "From: %s\r\nMessage-ID: <%s>\r\nSubject: %s\r\n\r\n", sub.From, id, sub.Subject)
	for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
		if f != nil {
			for _, k := range slices.Sorted(maps.Keys(f.Values)) {
				fmt.Fprintf(&body, "%s: %s\r\n", k, f.Values[k])
			}
		}
	}
	raw := []byte(body.String())
	sum := sha256.Sum256(raw)
	return Incoming{Hash: hex.EncodeToString(sum[:]), MessageID: id, Mailbox: "INBOX", UIDValidity: 7, UID: 1,
		Raw: raw, Submission: sub, ReceivedAt: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)}
}

// stRules stands in for register.Assess so the store's tests depend only on
// the store: auto replies are ignored, a best interest decision goes to
// review, a case lacking a form is queried, and anything else registers.
func stRules(sub *parser.Submission) func(register.CaseForms) register.Decision {
	return func(earlier register.CaseForms) register.Decision {
		if sub.AutoReply {
			return register.Decision{Outcome: register.OutcomeIgnore, Reasons: []register.Reason{{Code: "auto_reply", Message: "An automatic reply."}}}
		}
		m := mergeForms(earlier, sub)
		var rs []register.Reason
		if m.Referral == nil {
			rs = append(rs, register.Reason{Code: "missing_referral_form", Message: "The referral form was missing."})
		}
		if m.Consent == nil {
			rs = append(rs, register.Reason{Code: "missing_consent_form", Message: "The consent form was missing."})
		}
		if len(rs) > 0 {
			return register.Decision{Outcome: register.OutcomeQuery, Reasons: rs}
		}
		if m.Consent.Get("consent_basis") == parser.BasisBestInterest {
			return register.Decision{Outcome: register.OutcomeReview, Reasons: []register.Reason{{Code: "best_interest_decision", Message: "A coordinator confirms."}}}
		}
		return register.Decision{Outcome: register.OutcomeRegister}
	}
}

// stCompose writes one query email per query decision, to the sender,
// with a Message-ID replies can thread to.
func stCompose(sub *parser.Submission) func(CaseInfo, register.Decision) []OutboxMessage {
	return func(c CaseInfo, d register.Decision) []OutboxMessage {
		if d.Outcome != register.OutcomeQuery {
			return nil
		}
		return []OutboxMessage{{Kind: "query", To: sub.From, Subject: "[" + c.Ref + "] More information needed",
			Body: "Please send the missing form.", MessageID: "query-" + sub.MessageID + "@dsr.test", InReplyTo: sub.MessageID,
			References: []string{sub.MessageID}}}
	}
}

func stApply(t *testing.T, s *Store, in Incoming) Applied {
	t.Helper()
	a, err := s.Apply(context.Background(), in, stRules(in.Submission), stCompose(in.Submission))
	if err != nil {
		t.Fatalf("apply %s: %v", in.MessageID, err)
	}
	return a
}

var stTables = []string{"case_counters", "records", "rag_history", "cases", "messages", "review_items", "outbox", "audit"}

func stCounts(t *testing.T, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range stTables {
		var n int
		if err := s.db.Get(&n, "SELECT COUNT(*) FROM "+tb); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}
