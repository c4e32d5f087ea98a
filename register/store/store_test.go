package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

func TestStoreSQLite(t *testing.T) { testStore(t, stSQLiteDB) }

func TestStorePostgres(t *testing.T) {
	p := stNewPostgres(t)
	testStore(t, p.newDB)
}

// testStore is the store's suite; it runs on both databases.
func testStore(t *testing.T, newDB stDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newDB stDB)
	}{
		{"Migrate", testMigrate},
		{"MigrateRawOut", testMigrateRawOut},
		{"Barrier", testBarrier},
		{"ApplyOutcomes", testApplyOutcomes},
		{"Idempotent", testIdempotent},
		{"ReplyJoinsCase", testReplyJoinsCase},
		{"ReReferral", testReReferral},
		{"ReferenceSequence", testReferenceSequence},
		{"Outbox", testOutbox},
		{"FailureAndQuarantine", testFailureAndQuarantine},
		{"RawKeptApart", testRawKeptApart},
		{"Review", testReview},
		{"Withdrawal", testWithdrawal},
		{"KeyRotation", testKeyRotation},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"EncryptedColumns", testEncryptedColumns},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each test has its own database (file or schema); running
			// them side by side overlaps PostgreSQL's commit waits.
			t.Parallel()
			tc.fn(t, newDB)
		})
	}
}

func testMigrate(t *testing.T, newDB stDB) {
	o := newDB(t)
	keys := stKeys(t)
	s := stOpen(t, o, keys)
	v, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations(s.dialect)
	if v != len(ms) || v == 0 {
		t.Fatalf("schema version %d, want %d", v, len(ms))
	}
	// Running again (a second daemon starting) applies nothing.
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.dialect == dialectSQLite {
		var mode string
		var fk int
		if err := s.db.Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
			t.Fatalf("journal mode %q (%v)", mode, err)
		}
		if err := s.db.Get(&fk, "PRAGMA foreign_keys"); err != nil || fk != 1 {
			t.Fatalf("foreign keys %d (%v)", fk, err)
		}
		var cache int
		if err := s.db.Get(&cache, "PRAGMA cache_size"); err != nil || cache != -512 {
			t.Fatalf("cache size %d (%v), want -512 (KiB)", cache, err)
		}
	}
	if _, err := s.db.Exec(s.db.Rebind("INSERT INTO cases (ref, year, seq, state, record_id, created_at, updated_at) VALUES ('x', 1, 1, 'new', 999, ?, ?)"),
		time.Now(), time.Now()); err == nil {
		t.Fatal("foreign keys are not enforced")
	}
	s2 := stOpen(t, o, keys)
	var n int
	if err := s2.db.Get(&n, "SELECT COUNT(*) FROM schema_version"); err != nil || n != len(ms) {
		t.Fatalf("schema_version rows %d (%v), want %d", n, err, len(ms))
	}
}

// testMigrateRawOut upgrades a register written before 0004, with raw
// emails in the messages rows, and reads them back from message_raw, then
// rotates them to a new key.
func testMigrateRawOut(t *testing.T, newDB stDB) {
	ctx := context.Background()
	o := newDB(t)
	keys := stKeys(t)
	o.Keys = keys
	s, err := open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, _ := loadMigrations(s.dialect)
	for _, m := range ms[:3] {
		if _, err := s.applyMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	raw := []byte("From: sam.referrer@example.org\r\nSubject: DSR referral\r\n\r\nforms attached\r\n")
	ct, err := s.enc("messages.raw", raw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := s.db.Exec(s.db.Rebind(`INSERT INTO messages (hash, raw, state, received_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
		"old-hash", ct, MessageFailed, now, now, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.RawMessage(ctx, "old-hash")
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("raw after migration %q (%v)", got, err)
	}
	var cols int
	if err := s.db.Get(&cols, s.db.Rebind(stColumnCount(s.dialect)), "messages", "raw"); err != nil || cols != 0 {
		t.Fatalf("messages.raw still there (%d, %v)", cols, err)
	}
	rotated, err := keys.WithNewKey("k-new")
	if err != nil {
		t.Fatal(err)
	}
	s.keys = rotated
	if n, err := s.RotateKeys(ctx); err != nil || n == 0 {
		t.Fatalf("rotate: %d (%v)", n, err)
	}
	if got, err := s.RawMessage(ctx, "old-hash"); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("raw after rotation %q (%v)", got, err)
	}
}

// testBarrier checks that Barrier works after commits and leaves the
// connections as they were: committing without waiting for the disk
// (PostgreSQL's SET LOCAL ends with Apply's transaction; SQLite's
// synchronous=FULL is set back on the barrier's connection).
func testBarrier(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	for i := range 3 {
		stApply(t, s, stMessage(fmt.Sprintf("barrier-%d@example.org", i), &parser.Submission{Referral: stReferral(stQuillon)}))
		if err := s.Barrier(ctx); err != nil {
			t.Fatalf("barrier: %v", err)
		}
	}
	// Every pooled connection, held at once so each is a different one.
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 4 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var got string
		q := `SHOW synchronous_commit`
		want := "on"
		if s.dialect == dialectSQLite {
			q, want = `PRAGMA synchronous`, "1" // NORMAL
		}
		if err := c.QueryRowContext(ctx, q).Scan(&got); err != nil || got != want {
			t.Fatalf("%s on a pooled connection: %q (%v), want %q", q, got, err, want)
		}
	}
}

func stColumnCount(dialect string) string {
	if dialect == dialectPostgres {
		return `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	return `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
}

func testApplyOutcomes(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	tests := []struct {
		name       string
		sub        *parser.Submission
		outcome    register.Outcome
		caseState  string // "" means no case
		record     bool
		review     bool
		outboxRows int
	}{
		{"register", &parser.Submission{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)},
			register.OutcomeRegister, CaseRegistered, true, false, 0},
		{"query", &parser.Submission{Referral: stReferral(stPerpetua)}, register.OutcomeQuery, CaseAwaitingInformation, false, false, 1},
		{"review", &parser.Submission{Referral: stReferral(stPerpetua), Consent: stConsent(stPerpetua, parser.BasisBestInterest)},
			register.OutcomeReview, CaseInReview, false, true, 0},
		{"ignore auto reply", &parser.Submission{AutoReply: true, From: "postmaster@example.org"}, register.OutcomeIgnore, "", false, false, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := stMessage("m"+string(rune('a'+i))+"@example.org", tc.sub)
			a := stApply(t, s, in)
			if a.Duplicate || a.Decision.Outcome != tc.outcome {
				t.Fatalf("applied %+v, want outcome %s", a, tc.outcome)
			}
			st, err := s.MessageState(ctx, in.Hash)
			if err != nil || st.State != MessageDecided || st.Outcome != tc.outcome {
				t.Fatalf("message state %+v (%v)", st, err)
			}
			if tc.caseState == "" {
				if a.Case.ID != 0 || st.CaseID != 0 {
					t.Fatalf("an ignored auto reply made case %+v", a.Case)
				}
			} else {
				if !a.Case.Created || a.Case.State != tc.caseState || !strings.HasPrefix(a.Case.Ref, "DSR-2026-") || st.CaseRef != a.Case.Ref {
					t.Fatalf("case %+v, message case %q; want a new case in %s", a.Case, st.CaseRef, tc.caseState)
				}
				c, err := s.Case(ctx, a.Case.ID, "coord")
				if err != nil {
					t.Fatal(err)
				}
				if c.State != tc.caseState || c.Decision.Outcome != tc.outcome || !reflect.DeepEqual(c.Forms.Referral.Values, tc.sub.Referral.Values) {
					t.Fatalf("case read back %+v", c)
				}
			}
			if (a.RecordID != 0) != tc.record {
				t.Fatalf("record id %d, want record %v", a.RecordID, tc.record)
			}
			if tc.record {
				r, err := s.RecordByNHS(ctx, "999 314 9586", "coord")
				if err != nil {
					t.Fatal(err)
				}
				if r.ID != a.RecordID || r.FirstNames != stQuillon.First || r.DateOfBirth != stQuillon.DOB || r.RAG != "Amber" ||
					r.Referral["needs_education"] != "1:1 support" || r.Consent.Basis != parser.BasisParental ||
					!r.Consent.FactsheetGiven || !r.Consent.Sharing["health"] || r.Consent.Sharing["social_care"] ||
					r.Consent.GivenBy != "Ottoline "+stQuillon.Surname || len(r.Referrals) != 1 || r.Referrals[0].Ref != a.Case.Ref ||
					r.Initials() != "QM" || !reflect.DeepEqual(r.Section("plan_"), []parser.LabelValue{{Label: "Education, Health and Care Plan", Value: "Yes"}}) ||
					len(r.Section("svc_")) != 2 || r.Section("needs_")[0].Value != "Sensory assessment" {
					t.Fatalf("record read back %+v", r)
				}
			}
			items, err := s.ReviewQueue(ctx, ReviewFilter{CaseID: a.Case.ID})
			if err != nil {
				t.Fatal(err)
			}
			if tc.review != (len(items) == 1 && a.Case.ID != 0) {
				t.Fatalf("review items %+v, want review %v", items, tc.review)
			}
			if tc.review && (items[0].CaseRef != a.Case.Ref || items[0].Codes[0] != "best_interest_decision" || items[0].Reasons[0].Message == "") {
				t.Fatalf("review item %+v", items[0])
			}
			if len(a.Outbox) != tc.outboxRows {
				t.Fatalf("outbox rows %v, want %d", a.Outbox, tc.outboxRows)
			}
			for _, id := range a.Outbox {
				o, err := s.Outbox(ctx, id)
				if err != nil || o.To != tc.sub.From || o.CaseRef != a.Case.Ref || o.State != OutboxPending || o.MessageID == "" {
					t.Fatalf("outbox row %+v (%v)", o, err)
				}
			}
			audit, err := s.Audit(ctx, AuditFilter{Action: "message.decide"})
			if err != nil || len(audit) != i+1 || audit[0].Actor != ActorIntake || !strings.Contains(audit[0].Detail, string(tc.outcome)) {
				t.Fatalf("decision audit %+v (%v)", audit, err)
			}
		})
	}
	views, err := s.Audit(ctx, AuditFilter{Action: "record.view", Actor: "coord"})
	if err != nil || len(views) != 1 {
		t.Fatalf("record views audited: %+v (%v)", views, err)
	}
}

func testIdempotent(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	for _, sub := range []*parser.Submission{
		{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)},
		{Referral: stReferral(stPerpetua)},
	} {
		in := stMessage("idem-"+sub.Referral.Values["cyp_surname"]+"@example.org", sub)
		first := stApply(t, s, in)
		before := stCounts(t, s)
		called := false
		again, err := s.Apply(ctx, in, func(register.CaseForms) register.Decision {
			called = true
			return register.Decision{Outcome: register.OutcomeQuery}
		},
			func(CaseInfo, register.Decision) []OutboxMessage { called = true; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if called || !again.Duplicate || !again.SameBytes || again.Decision.Outcome != first.Decision.Outcome || again.Case.Ref != first.Case.Ref ||
			!reflect.DeepEqual(again.Decision.Reasons, first.Decision.Reasons) {
			t.Fatalf("second apply %+v (callbacks called %v), first %+v", again, called, first)
		}
		if after := stCounts(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("rows changed on a duplicate: %v -> %v", before, after)
		}
		// Found again after a move that was not recorded: only its location changes.
		moved := in
		moved.Mailbox, moved.UID = "Processed", 42
		if a, err := s.Apply(ctx, moved, stRules(in.Submission), stCompose(in.Submission)); err != nil || !a.Duplicate {
			t.Fatalf("apply moved copy: %+v %v", a, err)
		}
		if st, _ := s.MessageState(ctx, in.Hash); st.Mailbox != "Processed" || st.UID != 42 {
			t.Fatalf("location not updated: %+v", st)
		}
		if after := stCounts(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("rows changed on a moved duplicate: %v -> %v", before, after)
		}
	}
	// The same Message-ID from the same sender with other bytes (a
	// re-delivery with added headers) is a duplicate; from another sender it
	// is not.
	sub := &parser.Submission{Referral: stReferral(stPerpetua)}
	in := stMessage("idem-Vandersloot@example.org", sub)
	in.Raw = append([]byte("X-Redelivered: yes\r\n"), in.Raw...)
	in.Hash = "redelivered-" + in.Hash[:20]
	before := stCounts(t, s)
	if a := stApply(t, s, in); !a.Duplicate || a.SameBytes || a.Decision.Outcome != register.OutcomeQuery {
		t.Fatalf("re-delivery: %+v", a)
	}
	if after := stCounts(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("rows changed on a re-delivery: %v -> %v", before, after)
	}
	in.Hash = "other-sender-" + in.Hash[:20]
	in.Submission.From = "someone.else@example.org"
	if a := stApply(t, s, in); a.Duplicate {
		t.Fatalf("same Message-ID from another sender taken for a duplicate: %+v", a)
	}
	if err := s.MarkMoved(ctx, in.Hash, "Queried", 7, 9); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.MessageState(ctx, in.Hash); st.State != MessageMoved || st.Mailbox != "Queried" || st.UID != 9 {
		t.Fatalf("after MarkMoved: %+v", st)
	}
	if st, err := s.MessageState(ctx, "never-seen"); err != nil || st.State != "" {
		t.Fatalf("unknown message: %+v %v", st, err)
	}
	// A batch: applied messages are marked in one go; a failed one and an
	// unknown hash are left alone.
	a1 := stMessage("batch-1@example.org", &parser.Submission{Referral: stReferral(stQuillon)})
	a2 := stMessage("batch-2@example.org", &parser.Submission{Referral: stReferral(stPerpetua)})
	stApply(t, s, a1)
	stApply(t, s, a2)
	bad := stMessage("batch-3@example.org", &parser.Submission{})
	if _, err := s.RecordFailure(ctx, bad, "parse failed"); err != nil {
		t.Fatal(err)
	}
	n, err := s.MarkMovedAll(ctx, []string{a1.Hash, a2.Hash, bad.Hash, "never-seen"}, "Registered")
	if err != nil || n != 2 {
		t.Fatalf("MarkMovedAll marked %d (%v), want 2", n, err)
	}
	for _, h := range []string{a1.Hash, a2.Hash} {
		if st, _ := s.MessageState(ctx, h); st.State != MessageMoved || st.Mailbox != "Registered" {
			t.Fatalf("after MarkMovedAll: %+v", st)
		}
	}
	if st, _ := s.MessageState(ctx, bad.Hash); st.State != MessageFailed {
		t.Fatalf("a failed message was marked moved: %+v", st)
	}
}

func testReplyJoinsCase(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	// A referral without consent is queried; the reply threads to the query.
	first := stApply(t, s, stMessage("ref-1@example.org", &parser.Submission{Referral: stReferral(stQuillon)}))
	q, err := s.Outbox(ctx, first.Outbox[0])
	if err != nil {
		t.Fatal(err)
	}
	reply := &parser.Submission{InReplyTo: []string{q.MessageID}, References: []string{"ref-1@example.org", q.MessageID},
		Consent: stConsent(stQuillon, parser.BasisParental)}
	var seen register.CaseForms
	var composed CaseInfo
	a, err := s.Apply(ctx, stMessage("reply-1@example.org", reply), func(earlier register.CaseForms) register.Decision {
		seen = earlier
		return stRules(reply)(earlier)
	}, func(c CaseInfo, d register.Decision) []OutboxMessage {
		composed = c
		return stCompose(reply)(c, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Case.ID != first.Case.ID || a.Case.Created || a.Decision.Outcome != register.OutcomeRegister || a.RecordID == 0 {
		t.Fatalf("reply applied as %+v, want a register on case %s", a, first.Case.Ref)
	}
	if composed.Queries != 1 || composed.Ref != first.Case.Ref || first.Case.Queries != 0 {
		t.Fatalf("compose saw %+v (first %+v), want the case with one query before", composed, first.Case)
	}
	if seen.Referral == nil || seen.Referral.Get("cyp_nhs_number") != stQuillon.NHS || seen.Consent != nil {
		t.Fatalf("decide saw earlier forms %+v", seen)
	}
	c, _ := s.Case(ctx, a.Case.ID, "coord")
	if c.Forms.Referral == nil || c.Forms.Consent == nil || c.State != CaseRegistered {
		t.Fatalf("case after reply: %+v", c)
	}
	msgs, _ := s.CaseMessages(ctx, c.ID)
	if len(msgs) != 2 {
		t.Fatalf("case messages %+v", msgs)
	}

	// A reply that quotes only an earlier email of ours in References.
	second := stApply(t, s, stMessage("ref-2@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	byRefs := &parser.Submission{References: []string{"unknown@elsewhere", "ref-2@example.org"}}
	if a := stApply(t, s, stMessage("reply-2@example.org", byRefs)); a.Case.ID != second.Case.ID {
		t.Fatalf("reply by References joined %+v, want %s", a.Case, second.Case.Ref)
	}
	// A fresh email quoting the reference in its subject.
	byRef := &parser.Submission{CaseRef: strings.ToLower(second.Case.Ref), Subject: "Re: [" + second.Case.Ref + "]",
		Consent: stConsent(stPerpetua, parser.BasisParental)}
	a = stApply(t, s, stMessage("fresh-3@example.org", byRef))
	if a.Case.ID != second.Case.ID || a.Decision.Outcome != register.OutcomeRegister {
		t.Fatalf("email quoting %s applied as %+v", second.Case.Ref, a)
	}
	// An unknown reference starts a new case.
	unknown := &parser.Submission{CaseRef: "DSR-2026-999999", Referral: stReferral(stPerpetua)}
	if a := stApply(t, s, stMessage("fresh-4@example.org", unknown)); !a.Case.Created {
		t.Fatalf("unknown reference joined %+v", a.Case)
	}
}

func testReReferral(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	first := stApply(t, s, stMessage("rr-1@example.org", &parser.Submission{
		Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}))
	again := stQuillon
	again.RAG = "Red"
	ref := stReferral(again)
	ref.Values["needs_health"] = "Inpatient assessment"
	second := stApply(t, s, stMessage("rr-2@example.org", &parser.Submission{
		Referral: ref, Consent: stConsent(stQuillon, parser.BasisParental)}))
	if second.Case.ID == first.Case.ID || second.RecordID != first.RecordID {
		t.Fatalf("re-referral: case %d record %d; first case %d record %d", second.Case.ID, second.RecordID, first.Case.ID, first.RecordID)
	}
	if err := s.ChangeRAG(ctx, first.RecordID, "amber", "coord.jo", "Stepped down after panel"); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeRAG(ctx, first.RecordID, "Purple", "coord.jo", "x"); err == nil {
		t.Fatal("a rating that is not RAG was accepted")
	}
	r, err := s.Record(ctx, first.RecordID, "coord.jo")
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ actor, from, to, why string }
	var got []change
	for _, h := range r.RAGHistory {
		got = append(got, change{h.Actor, h.From, h.To, h.Why})
	}
	want := []change{{ActorIntake, "", "Amber", "Frequent crisis calls"}, {ActorIntake, "Amber", "Red", "Frequent crisis calls"},
		{"coord.jo", "Red", "Amber", "Stepped down after panel"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rag history %+v, want %+v", got, want)
	}
	if r.RAG != "Amber" || r.Referral["needs_health"] != "Inpatient assessment" || len(r.Referrals) != 2 ||
		r.Referrals[0].Ref != first.Case.Ref || r.Referrals[1].Ref != second.Case.Ref {
		t.Fatalf("record after re-referral %+v", r)
	}
	list, err := s.ListRecords(ctx, RecordFilter{Actor: "coord.jo"})
	if err != nil || len(list) != 1 || list[0].Name != "Quillon Marchbanks-Oyelaran" || list[0].RAG != "Amber" {
		t.Fatalf("list %+v (%v)", list, err)
	}
	if rag, _ := s.Audit(ctx, AuditFilter{Action: "record.rag", EntityID: r.ID}); len(rag) != 1 || rag[0].Actor != "coord.jo" ||
		strings.Contains(rag[0].Detail, "panel") {
		t.Fatalf("rag change audit %+v", rag)
	}
}

func testReferenceSequence(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	query := func(id string, year int) Incoming {
		in := stMessage(id, &parser.Submission{Referral: stReferral(stPerpetua)})
		in.ReceivedAt = time.Date(year, 3, 1, 10, 0, 0, 0, time.UTC)
		return in
	}
	if a := stApply(t, s, query("seq-1@x", 2026)); a.Case.Ref != "DSR-2026-000001" {
		t.Fatalf("first ref %s", a.Case.Ref)
	}
	before := stCounts(t, s)
	// A transaction that fails after the reference was taken: compose
	// returns an email with no recipient.
	in := query("seq-2@x", 2026)
	_, err := s.Apply(ctx, in, stRules(in.Submission), func(CaseInfo, register.Decision) []OutboxMessage {
		return []OutboxMessage{{Kind: "query", MessageID: "q@x"}}
	})
	if err == nil {
		t.Fatal("apply with a recipient-less email succeeded")
	}
	// One whose context is cancelled mid-way.
	cctx, cancel := context.WithCancel(ctx)
	in = query("seq-3@x", 2026)
	_, err = s.Apply(cctx, in, stRules(in.Submission), func(c CaseInfo, d register.Decision) []OutboxMessage {
		cancel()
		return stCompose(in.Submission)(c, d)
	})
	if err == nil {
		t.Fatal("apply with a cancelled context succeeded")
	}
	if after := stCounts(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("a rolled-back apply left rows: %v -> %v", before, after)
	}
	if st, _ := s.MessageState(ctx, in.Hash); st.State != "" {
		t.Fatalf("rolled-back message is %q", st.State)
	}
	if a := stApply(t, s, query("seq-4@x", 2026)); a.Case.Ref != "DSR-2026-000002" {
		t.Fatalf("ref after rollbacks %s, want DSR-2026-000002", a.Case.Ref)
	}
	if a := stApply(t, s, query("seq-5@x", 2027)); a.Case.Ref != "DSR-2027-000001" {
		t.Fatalf("first ref of 2027 %s", a.Case.Ref)
	}
	if a := stApply(t, s, query("seq-6@x", 2026)); a.Case.Ref != "DSR-2026-000003" {
		t.Fatalf("third ref of 2026 %s", a.Case.Ref)
	}
}

func testOutbox(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("ob-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	digest := OutboxMessage{Kind: "digest", To: "panel@example.org", Subject: "DSR digest", Body: "2 new", HTML: "<p>2 new</p>", MessageID: "digest-1@dsr.test"}
	ids, err := s.Enqueue(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	all := []int64{a.Outbox[0], ids[0]}
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	lease := 5 * time.Minute

	c1, err := s.ClaimOutbox(ctx, t0, 1, lease)
	if err != nil || len(c1) != 1 || c1[0].ID != all[0] || c1[0].Attempts != 1 || c1[0].CaseRef != a.Case.Ref || c1[0].To != "sam.referrer@example.org" {
		t.Fatalf("first claim %+v (%v)", c1, err)
	}
	c2, _ := s.ClaimOutbox(ctx, t0, 5, lease)
	if len(c2) != 1 || c2[0].ID != all[1] || c2[0].HTML != "<p>2 new</p>" || c2[0].CaseID != 0 {
		t.Fatalf("second claim %+v", c2)
	}
	if c3, _ := s.ClaimOutbox(ctx, t0.Add(time.Minute), 5, lease); len(c3) != 0 {
		t.Fatalf("leased rows claimed again: %+v", c3)
	}
	if err := s.MarkSent(ctx, all[0], t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, all[0], t0.Add(2*time.Second)); err != nil {
		t.Fatalf("marking sent twice: %v", err)
	}
	// The lease of the unsent one runs out (its sender died): it comes back.
	c4, _ := s.ClaimOutbox(ctx, t0.Add(lease+time.Second), 5, lease)
	if len(c4) != 1 || c4[0].ID != all[1] || c4[0].Attempts != 2 {
		t.Fatalf("claim after lease %+v", c4)
	}
	retry := t0.Add(time.Hour)
	if err := s.MarkSendFailed(ctx, all[1], "451 try later", retry); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimOutbox(ctx, retry.Add(-time.Second), 5, lease); len(c) != 0 {
		t.Fatalf("claimed before its next try: %+v", c)
	}
	c5, _ := s.ClaimOutbox(ctx, retry, 5, lease)
	if len(c5) != 1 || c5[0].LastError != "451 try later" || c5[0].Attempts != 3 {
		t.Fatalf("claim at next try %+v", c5)
	}
	if err := s.MarkSendFailed(ctx, all[1], "550 no such user", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimOutbox(ctx, retry.Add(24*time.Hour), 5, lease); len(c) != 0 {
		t.Fatalf("claimed after giving up: %+v", c)
	}
	sent, _ := s.Outbox(ctx, all[0])
	failed, _ := s.Outbox(ctx, all[1])
	if sent.State != OutboxSent || sent.SentAt == nil || !sent.SentAt.Equal(t0.Add(time.Second)) || failed.State != OutboxFailed {
		t.Fatalf("final states: %+v / %+v", sent, failed)
	}
	// The loop limits count sent queries, the address through its blind
	// index whatever its case.
	if toAddr, forCase, err := s.QueriesSent(ctx, "Sam.Referrer@example.org", a.Case.ID, t0, t0.Add(24*time.Hour)); err != nil || toAddr != 1 || forCase != 1 {
		t.Fatalf("queries sent to the referrer %d and for the case %d (%v), want 1 and 1", toAddr, forCase, err)
	}
	if toAddr, _, _ := s.QueriesSent(ctx, "sam.referrer@example.org", 0, t0.AddDate(0, 0, -2), t0.AddDate(0, 0, -1)); toAddr != 0 {
		t.Fatalf("queries sent to the referrer two days before %d, want 0", toAddr)
	}
}

func testFailureAndQuarantine(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	in := stMessage("broken@example.org", &parser.Submission{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)})
	// A large email is kept in chunks: this one takes three.
	in.Raw = append(in.Raw, bytes.Repeat([]byte("JVBERi0xLjcKJeLjz9MK\r\n"), (2*rawChunk+rawChunk/2)/22)...)
	for want := 1; want <= 2; want++ {
		n, err := s.RecordFailure(ctx, in, "pdf reader timed out")
		if err != nil || n != want {
			t.Fatalf("failure %d: attempts %d (%v)", want, n, err)
		}
	}
	if err := s.Quarantine(ctx, in.Hash, "pdf reader timed out twice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(ctx, in.Hash, "again"); err != nil {
		t.Fatal(err)
	}
	st, _ := s.MessageState(ctx, in.Hash)
	if st.State != MessageQuarantined || st.Attempts != 2 || st.LastError != "pdf reader timed out twice" {
		t.Fatalf("quarantined message %+v", st)
	}
	items, _ := s.ReviewQueue(ctx, ReviewFilter{})
	if len(items) != 1 || items[0].MessageHash != in.Hash || items[0].Codes[0] != ReasonProcessingFailed || items[0].CaseID != 0 {
		t.Fatalf("review queue %+v", items)
	}
	raw, err := s.RawMessage(ctx, in.Hash)
	if err != nil || !bytes.Equal(raw, in.Raw) {
		t.Fatalf("raw message back: %v", err)
	}
	// The coordinator's reprocess button: the same message applied at last.
	if err := s.ResolveReview(ctx, items[0].ID, "coord.al", "reprocess", "reader fixed"); err != nil {
		t.Fatal(err)
	}
	a := stApply(t, s, in)
	if a.Duplicate || a.Decision.Outcome != register.OutcomeRegister {
		t.Fatalf("reprocessed: %+v", a)
	}
	var chunks int
	if err := s.db.Get(&chunks, s.db.Rebind(`SELECT COUNT(*) FROM message_raw r JOIN messages m ON m.id = r.message_id WHERE m.hash = ?`), in.Hash); err != nil || chunks != 3 {
		t.Fatalf("raw email in %d chunks (%v), want 3", chunks, err)
	}
	if raw, err := s.RawMessage(ctx, in.Hash); err != nil || !bytes.Equal(raw, in.Raw) {
		t.Fatalf("raw message back after reprocessing: %d bytes (%v)", len(raw), err)
	}
	if n, err := s.RecordFailure(ctx, in, "late failure"); err != nil || n != 2 {
		t.Fatalf("failure after apply: %d %v", n, err)
	}
	if st, _ := s.MessageState(ctx, in.Hash); st.State != MessageDecided {
		t.Fatalf("failure after apply changed state to %s", st.State)
	}
}

// testRawKeptApart applies emails one after another, each sealed into the
// buffer the one before was sealed into (sealRaw), and reads each back:
// a driver that kept a reference to the buffer past its statement would
// have stored the next email's ciphertext under this one's.
func testRawKeptApart(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	var ins []Incoming
	for i, c := range []stChild{stQuillon, stPerpetua, stQuillon} {
		sub := &parser.Submission{Subject: "DSR referral", Referral: stReferral(c), Consent: stConsent(c, parser.BasisParental)}
		in := stMessage(fmt.Sprintf("apart-%d@school.example", i), sub)
		in.Raw = append(in.Raw, bytes.Repeat([]byte{byte('a' + i)}, 150<<10)...)
		sum := sha256.Sum256(in.Raw)
		in.Hash = hex.EncodeToString(sum[:])
		stApply(t, s, in)
		ins = append(ins, in)
	}
	for _, in := range ins {
		if raw, err := s.RawMessage(ctx, in.Hash); err != nil || !bytes.Equal(raw, in.Raw) {
			t.Fatalf("raw email %s back: %d bytes, want %d (%v)", in.MessageID, len(raw), len(in.Raw), err)
		}
	}
}

func testReview(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("bid@example.org", &parser.Submission{
		Referral: stReferral(stPerpetua), Consent: stConsent(stPerpetua, parser.BasisBestInterest)}))
	items, err := s.ReviewQueue(ctx, ReviewFilter{})
	if err != nil || len(items) != 1 || items[0].CaseState != CaseInReview {
		t.Fatalf("queue %+v (%v)", items, err)
	}
	if err := s.ResolveReview(ctx, items[0].ID, "coord.al", "register", "BID confirmed by panel"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveReview(ctx, items[0].ID, "coord.bo", "close", "x"); err == nil {
		t.Fatal("an item was resolved twice")
	}
	if err := s.SetCaseState(ctx, a.Case.ID, CaseClosed, "coord.al"); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.ReviewQueue(ctx, ReviewFilter{}); len(open) != 0 {
		t.Fatalf("open after resolve: %+v", open)
	}
	done, _ := s.ReviewQueue(ctx, ReviewFilter{State: ReviewResolved})
	if len(done) != 1 || done[0].ResolvedBy != "coord.al" || done[0].Action != "register" || done[0].Why != "BID confirmed by panel" ||
		done[0].ResolvedAt == nil || done[0].CaseState != CaseClosed {
		t.Fatalf("resolved %+v", done)
	}
	cases, _ := s.ListCases(ctx, CaseFilter{State: CaseClosed})
	if len(cases) != 1 || cases[0].Ref != a.Case.Ref || cases[0].Codes[0] != "best_interest_decision" {
		t.Fatalf("closed cases %+v", cases)
	}
	if au, _ := s.Audit(ctx, AuditFilter{Action: "review.resolve"}); len(au) != 1 || au[0].CaseRef != a.Case.Ref || strings.Contains(au[0].Detail, "panel") {
		t.Fatalf("resolve audit %+v", au)
	}
}

func testWithdrawal(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	q := stApply(t, s, stMessage("wd-1@example.org", &parser.Submission{Referral: stReferral(stQuillon)}))
	reply := &parser.Submission{CaseRef: q.Case.Ref, Consent: stConsent(stQuillon, parser.BasisParental)}
	reg := stApply(t, s, stMessage("wd-2@example.org", reply))
	other := stApply(t, s, stMessage("wd-3@example.org", &parser.Submission{
		Referral: stReferral(stPerpetua), Consent: stConsent(stPerpetua, parser.BasisParental)}))
	if err := s.WithdrawConsent(ctx, reg.RecordID, "coord.al", "Parent withdrew consent by phone"); err != nil {
		t.Fatal(err)
	}
	if err := s.WithdrawConsent(ctx, reg.RecordID, "coord.al", "again"); err != nil {
		t.Fatalf("withdrawing twice: %v", err)
	}
	if _, err := s.RecordByNHS(ctx, stQuillon.NHS, "coord.al"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("withdrawn child still found by NHS number: %v", err)
	}
	r, err := s.Record(ctx, reg.RecordID, "coord.al")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != register.RecordWithdrawn || r.FirstNames != "" || r.NHSNumber != "" || len(r.Referral) != 0 || r.WithdrawnAt == nil ||
		r.WithdrawnBy != "coord.al" || len(r.Referrals) != 1 || r.Referrals[0].State != CaseWithdrawn || r.RAGHistory[0].Why != "" {
		t.Fatalf("withdrawn record %+v", r)
	}
	c, _ := s.Case(ctx, q.Case.ID, "coord.al")
	if c.Forms.Referral != nil || c.Forms.Consent != nil || c.State != CaseWithdrawn || c.Ref != q.Case.Ref {
		t.Fatalf("withdrawn case %+v", c)
	}
	for _, h := range []string{stMessage("wd-1@example.org", &parser.Submission{Referral: stReferral(stQuillon)}).Hash} {
		if raw, err := s.RawMessage(ctx, h); err != nil || raw != nil {
			t.Fatalf("raw email kept after withdrawal: %d bytes (%v)", len(raw), err)
		}
	}
	if o, _ := s.Outbox(ctx, q.Outbox[0]); o.To != "" || o.Body != "" {
		t.Fatalf("outbox kept personal data: %+v", o)
	}
	// The other child is untouched.
	if r, err := s.RecordByNHS(ctx, stPerpetua.NHS, "coord.al"); err != nil || r.ID != other.RecordID || r.FirstNames != stPerpetua.First {
		t.Fatalf("other record %+v (%v)", r, err)
	}
	if list, _ := s.ListRecords(ctx, RecordFilter{Actor: "coord.al"}); len(list) != 1 || list[0].ID != other.RecordID {
		t.Fatalf("live register %+v", list)
	}
	au, _ := s.Audit(ctx, AuditFilter{Action: "record.withdraw"})
	if len(au) != 1 || au[0].EntityID != reg.RecordID || strings.Contains(au[0].Detail, "phone") {
		t.Fatalf("withdrawal audit %+v", au)
	}
	// Referred again later: a new record, not the erased one.
	again := stApply(t, s, stMessage("wd-4@example.org", &parser.Submission{
		Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}))
	if again.RecordID == 0 || again.RecordID == reg.RecordID {
		t.Fatalf("re-referral after withdrawal got record %d", again.RecordID)
	}
}

func testKeyRotation(t *testing.T, newDB stDB) {
	ctx := context.Background()
	o := newDB(t)
	k1 := stKeys(t)
	s1 := stOpen(t, o, k1)
	a := stApply(t, s1, stMessage("kr-1@example.org", &parser.Submission{
		Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}))
	q := stApply(t, s1, stMessage("kr-2@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	s1.Close()

	k2, err := k1.WithNewKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	s2 := stOpen(t, o, k2)
	n, err := s2.RotateKeys(ctx)
	if err != nil || n == 0 {
		t.Fatalf("rotate: %d values (%v)", n, err)
	}
	if n, err := s2.RotateKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second rotate re-encrypted %d values (%v)", n, err)
	}
	s2.Close()

	// Without the old key everything still reads.
	only2, err := k2.Without("k1")
	if err != nil {
		t.Fatal(err)
	}
	s3 := stOpen(t, o, only2)
	r, err := s3.RecordByNHS(ctx, stQuillon.NHS, "coord")
	if err != nil || r.ID != a.RecordID || r.Surname != stQuillon.Surname || r.RAGHistory[0].Why == "" {
		t.Fatalf("record after rotation %+v (%v)", r, err)
	}
	if ob, err := s3.Outbox(ctx, q.Outbox[0]); err != nil || ob.To != "sam.referrer@example.org" {
		t.Fatalf("outbox after rotation %+v (%v)", ob, err)
	}
	for _, c := range encryptedColumns {
		var cts [][]byte
		if err := s3.db.Select(&cts, "SELECT "+c.column+" FROM "+c.table+" WHERE "+c.column+" IS NOT NULL"); err != nil {
			t.Fatal(err)
		}
		for _, ct := range cts {
			if id, _ := keyIDOf(ct); id != "k2" {
				t.Fatalf("%s.%s still under key %q", c.table, c.column, id)
			}
		}
	}
	// A keyring without the key the data is under cannot read it.
	s4 := stOpen(t, o, stKeys(t))
	if _, err := s4.RecordByNHS(ctx, stQuillon.NHS, "coord"); err == nil {
		t.Fatal("a foreign keyring found the record")
	}
}

func testAuditAppendOnly(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	stApply(t, s, stMessage("au-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	before, _ := s.Audit(ctx, AuditFilter{})
	if len(before) == 0 {
		t.Fatal("no audit rows")
	}
	if _, err := s.db.Exec(s.db.Rebind("UPDATE audit SET actor = ? WHERE id = ?"), "mallory", before[0].ID); err == nil {
		t.Fatal("audit row updated")
	}
	if _, err := s.db.Exec(s.db.Rebind("DELETE FROM audit WHERE id = ?"), before[0].ID); err == nil {
		t.Fatal("audit row deleted")
	}
	after, _ := s.Audit(ctx, AuditFilter{})
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("audit changed: %+v -> %+v", before, after)
	}
	for _, e := range after {
		for _, v := range []string{stPerpetua.First, stPerpetua.Surname, stPerpetua.NHS, stPerpetua.DOB, "sam.referrer"} {
			if strings.Contains(e.Detail+e.CaseRef+e.Action, v) {
				t.Fatalf("audit entry %+v holds a personal value", e)
			}
		}
	}
}

// testEncryptedColumns checks that encryptedColumns (what RotateKeys walks)
// names every binary column of the schema, so a new encrypted column cannot
// be left out of rotation unnoticed.
func testEncryptedColumns(t *testing.T, newDB stDB) {
	s := stOpen(t, newDB(t), stKeys(t))
	var got []string
	if s.dialect == dialectPostgres {
		if err := s.db.Select(&got, `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type = 'bytea'`); err != nil {
			t.Fatal(err)
		}
	} else {
		var tables []string
		if err := s.db.Select(&tables, `SELECT name FROM sqlite_master WHERE type = 'table'`); err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			var cols []string
			if err := s.db.Select(&cols, `SELECT name FROM pragma_table_info(?) WHERE type = 'BLOB'`, tb); err != nil {
				t.Fatal(err)
			}
			for _, c := range cols {
				got = append(got, tb+"."+c)
			}
		}
	}
	var want []string
	for _, c := range encryptedColumns {
		want = append(want, c.table+"."+c.column)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("binary columns %v, encryptedColumns %v", got, want)
	}
}

// TestSQLitePlaintextScan reads the SQLite database file and its WAL and
// proves no name, NHS number or date of birth of the test child is in them
// in clear.
func TestSQLitePlaintextScan(t *testing.T) {
	ctx := context.Background()
	o := stSQLiteDB(t)
	s := stOpen(t, o, stKeys(t))
	q := stApply(t, s, stMessage("scan-1@example.org", &parser.Submission{Referral: stReferral(stQuillon)}))
	reply := &parser.Submission{CaseRef: q.Case.Ref, Consent: stConsent(stQuillon, parser.BasisParental)}
	reg := stApply(t, s, stMessage("scan-2@example.org", reply))
	if err := s.ChangeRAG(ctx, reg.RecordID, "Red", "coord", "Quillon admitted on 14/03/2012 anniversary"); err != nil {
		t.Fatal(err)
	}
	bid := &parser.Submission{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisBestInterest)}
	stApply(t, s, stMessage("scan-3@example.org", bid))
	needles := []string{
		stQuillon.First, stQuillon.Surname, strings.ToUpper(stQuillon.Surname), "Ottoline",
		stQuillon.NHS, "999 314 9586", "999-314-9586",
		stQuillon.DOB, "14/03/2012", "14-03-2012", "14 March 2012",
		"Wisteria Crescent", "07700 900123", "sam.referrer@example.org", "Escalating self-injury",
	}
	scan := func(when string) {
		t.Helper()
		var files [][]byte
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(o.DSN + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			files = append(files, b)
		}
		all := bytes.Join(files, nil)
		// The scan must be able to see clear text: case references are stored in clear.
		if !bytes.Contains(all, []byte(q.Case.Ref)) {
			t.Fatalf("%s: the scan did not find the case reference; it is not reading the data", when)
		}
		for _, n := range needles {
			if bytes.Contains(all, []byte(n)) {
				t.Errorf("%s: %q found in clear", when, n)
			}
		}
	}
	scan("open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}

// TestSQLiteWithdrawalErases checks that what a withdrawal erases is gone
// from the database file, not only from the rows: not even its ciphertext
// is left in free pages.
func TestSQLiteWithdrawalErases(t *testing.T) {
	ctx := context.Background()
	o := stSQLiteDB(t)
	s := stOpen(t, o, stKeys(t))
	in := stMessage("er-1@example.org", &parser.Submission{Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)})
	// Attachments make raw emails span overflow pages, which a delete
	// frees whole.
	in.Raw = append(in.Raw, bytes.Repeat([]byte("JVBERi0xLjcKJeLjz9MK"), 1000)...)
	a := stApply(t, s, in)
	var data, raw []byte
	if err := s.db.Get(&data, "SELECT data FROM records WHERE id = ?", a.RecordID); err != nil || len(data) < 64 {
		t.Fatalf("record ciphertext: %d bytes (%v)", len(data), err)
	}
	if err := s.db.Get(&raw, "SELECT r.raw FROM message_raw r JOIN messages m ON m.id = r.message_id WHERE m.hash = ?", in.Hash); err != nil || len(raw) < 64 {
		t.Fatalf("raw ciphertext: %d bytes (%v)", len(raw), err)
	}
	if err := s.WithdrawConsent(ctx, a.RecordID, "coord", "withdrawn"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	file, err := os.ReadFile(o.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(file, []byte(a.Case.Ref)) {
		t.Fatal("the case reference is not in the file: the scan reads nothing")
	}
	// A 32-byte window of each ciphertext is enough to recognise it.
	for name, ct := range map[string][]byte{"record": data, "raw email": raw} {
		if bytes.Contains(file, ct[len(ct)-48:len(ct)-16]) {
			t.Errorf("the erased %s's ciphertext is still in the database file", name)
		}
	}
}
