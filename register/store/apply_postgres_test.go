package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"sync/atomic"
	"testing"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// stWaits counts the times a client waits for PostgreSQL: every Sync
// (the end of an extended-protocol query or of a pipeline of them) and
// every simple Query message it writes. It reads the frontend's message
// stream, so a waiting count does not depend on how the bytes were split
// into writes, nor on timing.
type stWaits struct{ n atomic.Int64 }

func (w *stWaits) wrap(c net.Conn) net.Conn { return &stWaitConn{Conn: c, waits: &w.n} }

type stWaitConn struct {
	net.Conn
	waits   *atomic.Int64
	started bool // the startup message (no type byte) has been read
	hdr     [5]byte
	hn      int
	skip    int // bytes of the current message's body still to pass
}

func (c *stWaitConn) Write(p []byte) (int, error) {
	for b := p; len(b) > 0; {
		if c.skip > 0 {
			n := min(c.skip, len(b))
			c.skip, b = c.skip-n, b[n:]
			continue
		}
		need := 5
		if !c.started {
			need = 4
		}
		n := copy(c.hdr[c.hn:need], b)
		c.hn, b = c.hn+n, b[n:]
		if c.hn < need {
			continue
		}
		c.hn = 0
		if !c.started {
			c.started = true
			c.skip = int(binary.BigEndian.Uint32(c.hdr[:4])) - 4
			continue
		}
		if c.hdr[0] == 'S' || c.hdr[0] == 'Q' {
			c.waits.Add(1)
		}
		c.skip = int(binary.BigEndian.Uint32(c.hdr[1:5])) - 4
	}
	return c.Conn.Write(p)
}

// TestApplyRoundTripsPostgres counts the round trips (waits for the
// server) of each kind of commit on PostgreSQL: a referral is at most four,
// however many statements it writes. Each shape is applied first for one
// child, so the connection has prepared its statements (as a running
// daemon's have), then counted for another.
func TestApplyRoundTripsPostgres(t *testing.T) {
	p := stNewPostgres(t)
	o := p.newDB(t)
	var w stWaits
	o.wrapConn = w.wrap
	s := stOpen(t, o, stKeys(t))
	s.db.SetMaxOpenConns(1) // one connection, its statements prepared
	ctx := context.Background()

	type step struct {
		name string
		sub  func(c stChild, prev string) *parser.Submission
		want register.Outcome
	}
	steps := []step{
		{"new referral, queried", func(c stChild, _ string) *parser.Submission {
			return &parser.Submission{Subject: "DSR referral", Referral: stReferral(c)}
		}, register.OutcomeQuery},
		{"consent in reply to the query, registered", func(c stChild, prev string) *parser.Submission {
			return &parser.Submission{Subject: "Re: consent", InReplyTo: []string{"query-" + prev + "@dsr.test"},
				Consent: stConsent(c, parser.BasisParental)}
		}, register.OutcomeRegister},
		{"re-referral of a registered child, record updated", func(c stChild, _ string) *parser.Submission {
			return &parser.Submission{Subject: "DSR referral", Referral: stReferral(c), Consent: stConsent(c, parser.BasisParental)}
		}, register.OutcomeRegister},
		{"best interest decision, reviewed", func(c stChild, _ string) *parser.Submission {
			return &parser.Submission{Subject: "DSR referral", Referral: stReferral(c), Consent: stConsent(c, parser.BasisBestInterest)}
		}, register.OutcomeReview},
		{"auto reply, ignored", func(stChild, string) *parser.Submission {
			return &parser.Submission{AutoReply: true, From: "postmaster@example.org"}
		}, register.OutcomeIgnore},
	}
	run := func(c stChild, round string) []int64 {
		var waits []int64
		prev := ""
		for i, st := range steps {
			id := round + "-" + string(rune('a'+i)) + "@school.example"
			sub := st.sub(c, prev)
			in := stMessage(id, sub)
			before := w.n.Load()
			a, err := s.Apply(ctx, in, stRules(sub), stCompose(sub))
			if err != nil {
				t.Fatalf("%s: apply: %v", st.name, err)
			}
			waits = append(waits, w.n.Load()-before)
			if a.Duplicate || a.Decision.Outcome != st.want {
				t.Fatalf("%s: applied %+v, want %s", st.name, a, st.want)
			}
			prev = id
		}
		return waits
	}
	run(stQuillon, "warm")
	got := run(stPerpetua, "count")
	for i, st := range steps {
		t.Logf("%s: %d round trips", st.name, got[i])
		if got[i] > 4 {
			t.Errorf("%s: %d round trips, want at most 4", st.name, got[i])
		}
	}
}

// TestApplyRecordRacePostgres registers a child while another daemon
// registers the same child between the commit's lock of the record (none
// yet) and its insert: the insert finds the other's record, and the commit
// updates it instead of making a second one.
func TestApplyRecordRacePostgres(t *testing.T) {
	p := stNewPostgres(t)
	o := p.newDB(t)
	keys := stKeys(t)
	s1, s2 := stOpen(t, o, keys), stOpen(t, o, keys)
	ctx := context.Background()

	first := stMessage("race-referral@school.example", &parser.Submission{Subject: "DSR referral", Referral: stReferral(stQuillon)})
	if a := stApply(t, s1, first); a.Decision.Outcome != register.OutcomeQuery {
		t.Fatalf("referral alone: %+v", a)
	}
	reply := &parser.Submission{Subject: "Re: consent", InReplyTo: []string{"query-race-referral@school.example@dsr.test"},
		Consent: stConsent(stQuillon, parser.BasisParental)}
	in := stMessage("race-consent@school.example", reply)
	other := &parser.Submission{Subject: "DSR referral", From: "other.referrer@example.org",
		Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}
	other.Referral.Values["rag_rating"] = "Red"
	var otherApplied Applied
	raced := false
	compose := func(c CaseInfo, d register.Decision) []OutboxMessage {
		if !raced {
			raced = true
			// The other daemon, on another connection, while this commit
			// holds its case but not yet the record.
			otherApplied = stApply(t, s2, stMessage("race-other@school.example", other))
		}
		return stCompose(reply)(c, d)
	}
	a, err := s1.Apply(ctx, in, stRules(reply), compose)
	if err != nil {
		t.Fatal(err)
	}
	if !raced || otherApplied.Decision.Outcome != register.OutcomeRegister || otherApplied.RecordID == 0 {
		t.Fatalf("the other daemon's registration: %+v", otherApplied)
	}
	if a.Decision.Outcome != register.OutcomeRegister || a.RecordID != otherApplied.RecordID {
		t.Fatalf("applied %+v, want the other daemon's record %d updated", a, otherApplied.RecordID)
	}
	var records int
	if err := s1.db.Get(&records, "SELECT COUNT(*) FROM records"); err != nil || records != 1 {
		t.Fatalf("%d records (%v), want 1", records, err)
	}
	r, err := s1.RecordByNHS(ctx, stQuillon.NHS, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Created Red by the other daemon, then Amber by this commit.
	if r.RAG != "Amber" || len(r.RAGHistory) != 2 || r.RAGHistory[1].From != "Red" || r.RAGHistory[1].To != "Amber" || len(r.Referrals) != 2 {
		t.Fatalf("record %d: RAG %s, history %+v, %d referrals", r.ID, r.RAG, r.RAGHistory, len(r.Referrals))
	}
	updates, err := s1.Audit(ctx, AuditFilter{Action: "record.update"})
	if err != nil || len(updates) != 1 || updates[0].EntityID != r.ID || updates[0].CaseRef != a.Case.Ref {
		t.Fatalf("record.update audit %+v (%v)", updates, err)
	}
}

// TestApplyRollsBackPostgres fails a commit between its pipelines, in Go
// (an outbox email without a recipient, refused before it is sent) and in
// the server (an outbox email for a case that does not exist, refused by
// its foreign key halfway through a pipeline): nothing of the email is
// left, and the connection, the only one, serves the next commit.
func TestApplyRollsBackPostgres(t *testing.T) {
	p := stNewPostgres(t)
	s := stOpen(t, p.newDB(t), stKeys(t))
	s.db.SetMaxOpenConns(1)
	ctx := context.Background()
	tests := []struct {
		name string
		bad  OutboxMessage
	}{
		{"refused in Go", OutboxMessage{Kind: "query", MessageID: "bad-1@dsr.test"}},
		{"refused by the server", OutboxMessage{Kind: "query", To: "sam.referrer@example.org", MessageID: "bad-2@dsr.test", CaseID: 1 << 40}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := &parser.Submission{Subject: "DSR referral", Referral: stReferral(stQuillon)}
			in := stMessage(fmt.Sprintf("rollback-%d@school.example", i), sub)
			before := stCounts(t, s)
			_, err := s.Apply(ctx, in, stRules(sub), func(CaseInfo, register.Decision) []OutboxMessage {
				return []OutboxMessage{tc.bad}
			})
			if err == nil {
				t.Fatal("apply with a bad outbox email succeeded")
			}
			if after := stCounts(t, s); !maps.Equal(after, before) {
				t.Fatalf("rows before %v, after the failed apply %v", before, after)
			}
			if st, err := s.MessageState(ctx, in.Hash); err != nil || st.State != "" {
				t.Fatalf("failed apply left message state %+v (%v)", st, err)
			}
			// The same email, composed properly, on the same connection.
			if a := stApply(t, s, in); a.Decision.Outcome != register.OutcomeQuery || len(a.Outbox) != 1 || !a.Case.Created {
				t.Fatalf("apply after the failure: %+v", a)
			}
		})
	}
}
