package store

import (
	"context"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

func TestOutboxRetrySQLite(t *testing.T) { testOutboxRetry(t, stSQLiteDB) }

func TestOutboxRetryPostgres(t *testing.T) {
	p := stNewPostgres(t)
	testOutboxRetry(t, p.newDB)
}

func testOutboxRetry(t *testing.T, newDB stDB) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, newDB stDB)
	}{
		{"TriesAndFailingSince", testSendTries},
		{"OrphanedClaim", testOrphanedClaim},
		{"GiveUpSendsCaseToReview", testQueryNotDelivered},
		{"BounceSendsCaseToReview", testQueriesBounced},
		{"DeferAndCount", testDeferAndCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDB)
		})
	}
}

// testSendTries: only an answered failure is a try; the first failure
// starts the email's failing time, which later failures keep.
func testSendTries(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("tries-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	id := a.Outbox[0]
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	steps := []struct {
		failure   SendFailure
		wantTries int
	}{
		{SendFailure{Error: "dial: connection refused", At: t0, NextTry: t0.Add(time.Second)}, 0},
		{SendFailure{Error: "451 try later", Answered: true, At: t0.Add(time.Second), NextTry: t0.Add(3 * time.Second)}, 1},
		{SendFailure{Error: "451 try later", Answered: true, At: t0.Add(3 * time.Second), NextTry: t0.Add(7 * time.Second)}, 2},
	}
	for i, st := range steps {
		c, err := s.ClaimOutbox(ctx, st.failure.At, 5, time.Minute)
		if err != nil || len(c) != 1 || c[0].ID != id {
			t.Fatalf("step %d: claim %+v (%v)", i, c, err)
		}
		if i > 0 && !c[0].FailingSince.Equal(t0) {
			t.Fatalf("step %d: failing since %v, want %v", i, c[0].FailingSince, t0)
		}
		gave, err := s.RecordSendFailure(ctx, id, st.failure)
		if err != nil || gave.CaseRef != "" {
			t.Fatalf("step %d: record failure %+v (%v)", i, gave, err)
		}
		got, _ := s.Outbox(ctx, id)
		if got.Tries != st.wantTries || got.State != OutboxPending || !got.NextTryAt.Equal(st.failure.NextTry) || got.LastError != st.failure.Error {
			t.Fatalf("step %d: row %+v, want %d tries, pending until %v", i, got, st.wantTries, st.failure.NextTry)
		}
	}
	c, _ := s.ClaimOutbox(ctx, t0.Add(7*time.Second), 5, time.Minute)
	if len(c) != 1 {
		t.Fatalf("claim at last retry: %+v", c)
	}
	if err := s.MarkSent(ctx, id, t0.Add(8*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Outbox(ctx, id); got.Tries != 3 || got.State != OutboxSent {
		t.Fatalf("sent row %+v, want 3 tries", got)
	}
}

// testOrphanedClaim: a claim whose lease ran out without a result marks
// the email orphaned for the next sender; a released claim does not.
func testOrphanedClaim(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("orphan-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	id := a.Outbox[0]
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	lease := time.Minute
	c, _ := s.ClaimOutbox(ctx, t0, 5, lease)
	if len(c) != 1 || c[0].Orphaned {
		t.Fatalf("first claim %+v", c)
	}
	if _, err := s.RecordSendFailure(ctx, id, SendFailure{Error: "451", Answered: true, At: t0, NextTry: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.ClaimOutbox(ctx, t0.Add(time.Second), 5, lease)
	if len(c) != 1 || c[0].Orphaned {
		t.Fatalf("claim after a released one %+v", c)
	}
	// This sender dies holding it.
	c, _ = s.ClaimOutbox(ctx, t0.Add(time.Second+lease+time.Second), 5, lease)
	if len(c) != 1 || !c[0].Orphaned || c[0].Tries != 1 {
		t.Fatalf("claim after a lease ran out %+v, want orphaned with the one answered try", c)
	}
}

// testQueryNotDelivered: giving up the query a case waits on sends the
// case to review as query_not_delivered; giving up an older query, or an
// email that is not a query, does not.
func testQueryNotDelivered(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("lost-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	digest, err := s.Enqueue(ctx, OutboxMessage{Kind: "digest", To: "panel@example.org", Subject: "DSR digest", Body: "1 new", MessageID: "digest-lost@dsr.test"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	if c, _ := s.ClaimOutbox(ctx, t0, 5, time.Minute); len(c) != 2 {
		t.Fatalf("claim %+v", c)
	}
	gave, err := s.RecordSendFailure(ctx, digest[0], SendFailure{Error: "550 no such user", Answered: true, At: t0})
	if err != nil || gave.CaseRef != "" {
		t.Fatalf("giving up a digest: %+v (%v)", gave, err)
	}
	if q, _ := s.ReviewQueue(ctx, ReviewFilter{}); len(q) != 0 {
		t.Fatalf("a digest given up opened review items: %+v", q)
	}
	gave, err = s.RecordSendFailure(ctx, a.Outbox[0], SendFailure{Error: "451 try later", Answered: true, At: t0.Add(time.Hour)})
	if err != nil || gave.CaseRef != a.Case.Ref {
		t.Fatalf("giving up the query: %+v (%v), want case %s", gave, err, a.Case.Ref)
	}
	q, err := s.ReviewQueue(ctx, ReviewFilter{})
	if err != nil || len(q) != 1 {
		t.Fatalf("review queue %+v (%v)", q, err)
	}
	if it := q[0]; it.CaseRef != a.Case.Ref || it.CaseState != CaseInReview || len(it.Codes) != 1 || it.Codes[0] != register.CodeQueryNotDelivered ||
		it.Reasons[0].Message != register.QueryNotDeliveredReason().Message {
		t.Fatalf("review item %+v", it)
	}
	if got, _ := s.Outbox(ctx, a.Outbox[0]); got.State != OutboxFailed || !got.FailingSince.Equal(t0.Add(time.Hour)) {
		t.Fatalf("given-up row %+v", got)
	}
	// The digest of the period names the case; one of the period before
	// does not.
	if f, err := s.DigestFigures(ctx, DigestQuery{Since: t0, Until: t0.Add(2 * time.Hour), Today: t0}); err != nil ||
		len(f.NotDelivered) != 1 || f.NotDelivered[0] != a.Case.Ref || f.OutboxFailedInPeriod != 2 {
		t.Fatalf("digest figures: not delivered %v, %d given up (%v); want [%s], 2", f.NotDelivered, f.OutboxFailedInPeriod, err, a.Case.Ref)
	}
	if f, _ := s.DigestFigures(ctx, DigestQuery{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour), Today: t0}); len(f.NotDelivered) != 0 {
		t.Fatalf("an earlier digest names %v", f.NotDelivered)
	}
	// Given up twice (a second sender's late result) changes nothing more.
	if _, err := s.RecordSendFailure(ctx, a.Outbox[0], SendFailure{Error: "451", At: t0.Add(2 * time.Hour)}); err == nil {
		t.Fatal("a failed email failed again")
	}
	if q, _ := s.ReviewQueue(ctx, ReviewFilter{}); len(q) != 1 {
		t.Fatalf("%d review items after a second give-up, want 1", len(q))
	}
}

// testQueriesBounced: a delivery report naming the query a case waits on,
// after the server took it, sends the case to review as
// query_not_delivered; one naming another email, or read again, does not.
func testQueriesBounced(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("bounced-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	if c, _ := s.ClaimOutbox(ctx, t0, 5, time.Minute); len(c) != 1 {
		t.Fatalf("claim %+v", c)
	}
	if err := s.MarkSent(ctx, a.Outbox[0], t0); err != nil {
		t.Fatal(err)
	}
	query, err := s.Outbox(ctx, a.Outbox[0])
	if err != nil || query.MessageID == "" {
		t.Fatalf("the query %+v (%v)", query, err)
	}
	refs, err := s.QueriesBounced(ctx, []string{"someone-else@example.org"}, t0.Add(time.Minute))
	if err != nil || len(refs) != 0 {
		t.Fatalf("a report on another email: %v (%v)", refs, err)
	}
	if q, _ := s.ReviewQueue(ctx, ReviewFilter{}); len(q) != 0 {
		t.Fatalf("a report on another email opened review items: %+v", q)
	}
	refs, err = s.QueriesBounced(ctx, []string{"someone-else@example.org", "<" + query.MessageID + ">"}, t0.Add(time.Hour))
	if err != nil || len(refs) != 1 || refs[0] != a.Case.Ref {
		t.Fatalf("a report on the query: %v (%v), want [%s]", refs, err, a.Case.Ref)
	}
	q, err := s.ReviewQueue(ctx, ReviewFilter{})
	if err != nil || len(q) != 1 {
		t.Fatalf("review queue %+v (%v)", q, err)
	}
	if it := q[0]; it.CaseRef != a.Case.Ref || it.CaseState != CaseInReview || len(it.Codes) != 1 || it.Codes[0] != register.CodeQueryNotDelivered {
		t.Fatalf("review item %+v", it)
	}
	// Counted where a query given up is: the dashboard and metrics, and
	// the digest of the period.
	if n, err := s.queriesNotDelivered(ctx); err != nil || n != 1 {
		t.Fatalf("queries not delivered: %d (%v), want 1", n, err)
	}
	if f, err := s.DigestFigures(ctx, DigestQuery{Since: t0, Until: t0.Add(2 * time.Hour), Today: t0}); err != nil ||
		len(f.NotDelivered) != 1 || f.NotDelivered[0] != a.Case.Ref {
		t.Fatalf("digest: not delivered %v (%v), want [%s]", f.NotDelivered, err, a.Case.Ref)
	}
	// Read again, as after a crash before the report was decided.
	if refs, err := s.QueriesBounced(ctx, []string{query.MessageID}, t0.Add(2*time.Hour)); err != nil || len(refs) != 0 {
		t.Fatalf("the report again: %v (%v)", refs, err)
	}
	if q, _ := s.ReviewQueue(ctx, ReviewFilter{}); len(q) != 1 {
		t.Fatalf("%d review items after the report was read again, want 1", len(q))
	}
}

// testDeferAndCount: a deferred email is released unsent until its time,
// and QueriesSent counts by the day the server took them.
func testDeferAndCount(t *testing.T, newDB stDB) {
	ctx := context.Background()
	s := stOpen(t, newDB(t), stKeys(t))
	a := stApply(t, s, stMessage("cap-1@example.org", &parser.Submission{Referral: stReferral(stPerpetua)}))
	b := stApply(t, s, stMessage("cap-2@example.org", &parser.Submission{Referral: stReferral(stPerpetua), From: "Sam.Referrer@Example.org"}))
	t0 := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	if c, _ := s.ClaimOutbox(ctx, t0, 5, time.Minute); len(c) != 2 {
		t.Fatalf("claim %+v", c)
	}
	if err := s.MarkSent(ctx, a.Outbox[0], t0); err != nil {
		t.Fatal(err)
	}
	tomorrow := t0.Add(24 * time.Hour)
	if err := s.DeferOutbox(ctx, b.Outbox[0], tomorrow); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimOutbox(ctx, tomorrow.Add(-time.Second), 5, time.Minute); len(c) != 0 {
		t.Fatalf("deferred email claimed early: %+v", c)
	}
	c, _ := s.ClaimOutbox(ctx, tomorrow, 5, time.Minute)
	if len(c) != 1 || c[0].ID != b.Outbox[0] || c[0].Orphaned || c[0].Tries != 0 || !c[0].FailingSince.IsZero() {
		t.Fatalf("deferred email at its time %+v: want it, not orphaned, no tries, not failing", c)
	}
	day := t0.Truncate(24 * time.Hour)
	toAddr, forCase, err := s.QueriesSent(ctx, "sam.referrer@example.org", a.Case.ID, day, day.Add(24*time.Hour))
	if err != nil || toAddr != 1 || forCase != 1 {
		t.Fatalf("queries sent today: %d to the address, %d for the case (%v); want 1, 1", toAddr, forCase, err)
	}
	if toAddr, forCase, _ := s.QueriesSent(ctx, "sam.referrer@example.org", b.Case.ID, day, day.Add(24*time.Hour)); toAddr != 1 || forCase != 0 {
		t.Fatalf("queries sent today for the other case: %d, %d; want 1, 0", toAddr, forCase)
	}
	if toAddr, _, _ := s.QueriesSent(ctx, "sam.referrer@example.org", 0, day.Add(24*time.Hour), day.Add(48*time.Hour)); toAddr != 0 {
		t.Fatalf("queries sent tomorrow: %d", toAddr)
	}
}
