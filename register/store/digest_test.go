package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

func TestDigestStoreSQLite(t *testing.T) { testDigestStore(t, stSQLiteDB) }

func TestDigestStorePostgres(t *testing.T) {
	p := stNewPostgres(t)
	testDigestStore(t, p.newDB)
	t.Run("ConcurrentClaim", func(t *testing.T) { testDigestConcurrentClaim(t, p.newDB(t)) })
}

func testDigestStore(t *testing.T, newDB stDB) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, newDB stDB)
	}{
		{"Figures", testDigestFigures},
		{"Claim", testDigestClaim},
		{"Reminders", testReminders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDB)
		})
	}
}

// dgClock is a store clock the test moves by hand.
type dgClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dgClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *dgClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func dgOpen(t *testing.T, o Options, clock *dgClock) *Store {
	o.Now = clock.now
	return stOpen(t, o, stKeys(t))
}

func day(d int, hour int) time.Time { return time.Date(2026, 11, d, hour, 0, 0, 0, time.UTC) }

// dgRegister applies a complete referral (registered unless the consent
// is a best interest decision, which goes to review).
func dgRegister(t *testing.T, s *Store, id string, c stChild, basis string, at time.Time) Applied {
	t.Helper()
	in := stMessage(id, &parser.Submission{Referral: stReferral(c), Consent: stConsent(c, basis)})
	in.ReceivedAt = at
	return stApply(t, s, in)
}

func dgQuery(t *testing.T, s *Store, id string, c stChild, at time.Time) Applied {
	t.Helper()
	in := stMessage(id, &parser.Submission{Referral: stReferral(c)})
	in.ReceivedAt = at
	a := stApply(t, s, in)
	if a.Decision.Outcome != register.OutcomeQuery || len(a.Outbox) != 1 {
		t.Fatalf("query case: %+v", a)
	}
	return a
}

// testDigestFigures builds a register by hand and checks every figure
// against what the test built, not against a count the code makes.
func testDigestFigures(t *testing.T, newDB stDB) {
	ctx := context.Background()
	clock := &dgClock{t: day(10, 9)}
	s := dgOpen(t, newDB(t), clock)
	var (
		a = stChild{"Aurelio", "Pennywhistle", "9993149586", "2012-03-14", "Amber"}
		b = stChild{"Bettany", "Quarrington", "9995628198", "2013-07-02", "Green"}
		c = stChild{"Cosimo", "Fairweather-Lund", "9991058834", "2009-02-28", "Red"} // 18 on 2027-02-28
		d = stChild{"Delphine", "Ashgrove", "9999437753", "2008-10-01", "Blue"}      // 18 already
		e = stChild{"Ezra", "Tillinghast", "9990920516", "2011-05-05", "Red"}
		f = stChild{"Florimel", "Birchenough", "9999518087", "2014-09-09", "Amber"}
		g = stChild{"Gideon", "Mallowmere", "9995186357", "2010-01-20", "Amber"}
	)
	// Before the period (10 November).
	ra := dgRegister(t, s, "a@x", a, parser.BasisParental, day(10, 9))
	rb := dgRegister(t, s, "b@x", b, parser.BasisParental, day(10, 9))
	rc := dgRegister(t, s, "c@x", c, parser.BasisParental, day(10, 9))
	rd := dgRegister(t, s, "d@x", d, parser.BasisParental, day(10, 9))
	re := dgRegister(t, s, "e@x", e, parser.BasisParental, day(10, 9))
	r1 := dgRegister(t, s, "g@x", g, parser.BasisBestInterest, day(10, 9)) // waits in review
	q1 := dgQuery(t, s, "q1@x", stChild{"Hesper", "Vantongeren", "9993149586", "2012-01-01", "Green"}, day(10, 9))
	if err := s.MarkSent(ctx, q1.Outbox[0], day(10, 10)); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		rec        int64
		kind, date string
	}{
		{rd.RecordID, DateCETR, "2026-01-10"}, // over 183 days before 26 November
		{re.RecordID, DateCETR, "2026-01-10"},
		{re.RecordID, DateCETR, "2026-10-01"},      // a newer one replaces it
		{rc.RecordID, DateKeyWorker, "2026-10-01"}, // not a C(E)TR
	} {
		if err := s.SetRecordDate(ctx, x.rec, x.kind, x.date, "coord.al"); err != nil {
			t.Fatal(err)
		}
	}
	clock.set(day(18, 10))
	if res, err := s.AddReminder(ctx, q1.Outbox[0], OutboxMessage{To: "sam.referrer@example.org", Subject: "Reminder",
		Body: "Gentle reminder", MessageID: "rem-q1@dsr.test"}, 5); err != nil || res != ReminderQueued {
		t.Fatalf("reminder: %q %v", res, err)
	}
	// The period: 20 to 27 November.
	clock.set(day(21, 9))
	var remID int64
	if err := s.db.Get(&remID, `SELECT id FROM outbox WHERE kind = 'reminder'`); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, remID, day(21, 9)); err != nil {
		t.Fatal(err)
	}
	clock.set(day(22, 9))
	rf := dgRegister(t, s, "f@x", f, parser.BasisParental, day(22, 9))
	r2 := dgRegister(t, s, "g2@x", g, parser.BasisBestInterest, day(22, 9))
	q2 := dgQuery(t, s, "q2@x", stChild{"Ivo", "Strangeways", "9995628198", "2012-01-01", "Green"}, day(22, 9))
	if err := s.MarkSent(ctx, q2.Outbox[0], day(22, 10)); err != nil {
		t.Fatal(err)
	}
	auto := stMessage("auto@x", &parser.Submission{AutoReply: true})
	auto.ReceivedAt = day(22, 9)
	if ap := stApply(t, s, auto); ap.Decision.Outcome != register.OutcomeIgnore || ap.Case.ID != 0 {
		t.Fatalf("automatic reply applied as %+v", ap)
	}
	if err := s.ChangeRAG(ctx, ra.RecordID, "Red", "coord.al", "Placement breakdown"); err != nil {
		t.Fatal(err)
	}
	if err := s.WithdrawConsent(ctx, rb.RecordID, "coord.al", "Withdrawn by parent"); err != nil {
		t.Fatal(err)
	}
	clock.set(day(23, 9))
	if ok, err := s.NoReply(ctx, q1.Outbox[0], "No reply to the query or the reminder."); err != nil || !ok {
		t.Fatalf("no reply: %v %v", ok, err)
	}
	clock.set(day(24, 9))
	bad := stMessage("broken@x", &parser.Submission{})
	if _, err := s.RecordFailure(ctx, bad, "unreadable"); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(ctx, bad.Hash, "unreadable"); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Enqueue(ctx, OutboxMessage{Kind: "digest", To: "panel@nhs.net", MessageID: "d1@dsr.test", Body: "x"},
		OutboxMessage{Kind: "digest", To: "panel2@nhs.net", MessageID: "d2@dsr.test", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSendFailed(ctx, ids[0], "550 no such user", time.Time{}); err != nil {
		t.Fatal(err)
	}

	got, err := s.DigestFigures(ctx, DigestQuery{Since: day(20, 0), Until: day(27, 0), Today: day(26, 0),
		ReviewOlderThan: 7 * 24 * time.Hour, Age18Within: 183 * 24 * time.Hour, CETRReviewAfter: 183 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(ap Applied, init, rag string) ChildRef {
		return ChildRef{RecordID: ap.RecordID, Ref: ap.Case.Ref, Initials: init, RAG: rag}
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	// Emails, not cases: the automatic reply opens no case and is counted.
	check("emails by outcome", got.Emails, map[register.Outcome]int{register.OutcomeRegister: 1, register.OutcomeReview: 1,
		register.OutcomeQuery: 1, register.OutcomeIgnore: 1})
	check("children added", got.ChildrenAdded, []ChildRef{ref(rf, "FB", "Amber")})
	if len(got.RAGChanges) != 1 || got.RAGChanges[0].Child != ref(ra, "AP", "Red") || got.RAGChanges[0].From != "Amber" || got.RAGChanges[0].To != "Red" {
		t.Errorf("rag changes %+v", got.RAGChanges)
	}
	check("withdrawals", got.Withdrawals, []ChildRef{{RecordID: rb.RecordID, Ref: rb.Case.Ref, RAG: "Green"}})
	check("by rag", got.ByRAG, map[string]int{"Red": 3, "Blue": 1, "Amber": 1})
	// Open: the best interest case of 10 November, the one of 22 November,
	// the no-reply case and the quarantined email.
	if got.ReviewOpen != 4 || got.ReviewOldest == nil || got.ReviewOldest.Ref != r1.Case.Ref ||
		len(got.ReviewOld) != 1 || got.ReviewOld[0].Ref != r1.Case.Ref || got.ReviewOld[0].Codes[0] != "best_interest_decision" {
		t.Errorf("review: open %d oldest %+v old %+v", got.ReviewOpen, got.ReviewOldest, got.ReviewOld)
	}
	_ = r2
	if len(got.Waiting) != 1 || got.Waiting[0].Ref != q2.Case.Ref || got.Waiting[0].RemindedAt != nil || !got.Waiting[0].SentAt.Equal(day(22, 10)) {
		t.Errorf("waiting %+v", got.Waiting)
	}
	check("reminders sent", got.RemindersSent, 1)
	check("no reply", got.NoReply, []string{q1.Case.Ref})
	check("turning 18", got.TurningEighteen, []Transition{{Child: ref(rd, "DA", "Blue"), Already18: true}, {Child: ref(rc, "CF", "Red")}})
	check("c(e)tr missing", got.CETRMissing, []ChildRef{ref(ra, "AP", "Red"), ref(rc, "CF", "Red")})
	check("c(e)tr overdue", got.CETROverdue, []ChildRef{ref(rd, "DA", "Blue")})
	check("health", []int{got.Quarantined, got.QuarantinedInPeriod, got.OutboxFailed, got.OutboxFailedInPeriod, got.OutboxBacklog},
		[]int{1, 1, 1, 1, 1})
	if got.LastReceived == nil || !got.LastReceived.Equal(bad.ReceivedAt) {
		t.Errorf("last received %v, want %v", got.LastReceived, bad.ReceivedAt)
	}

	// A window that ends before the changes sees none of them.
	early, err := s.DigestFigures(ctx, DigestQuery{Since: day(11, 0), Until: day(20, 0), Today: day(19, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(early.Emails) != 0 || early.ChildrenAdded != nil || early.RAGChanges != nil || early.RemindersSent != 0 ||
		early.TurningEighteen != nil || len(early.Waiting) != 0 || len(early.NoReply) != 0 {
		t.Errorf("early window %+v", early)
	}
}

func testDigestClaim(t *testing.T, newDB stDB) {
	ctx := context.Background()
	clock := &dgClock{t: day(23, 7)}
	s := dgOpen(t, newDB(t), clock)
	if _, ok, err := s.LastDigestRun(ctx, "panel"); err != nil || ok {
		t.Fatalf("empty ledger: %v %v", ok, err)
	}
	msgs := []OutboxMessage{{Kind: "digest", To: "a@nhs.net", MessageID: "dg1@dsr.test", Body: "b"},
		{Kind: "digest", To: "b@nhs.net", MessageID: "dg2@dsr.test", Body: "b"}}
	slot := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	for i, want := range []bool{true, false} {
		ok, err := s.ClaimDigest(ctx, DigestClaim{Name: "panel", Slot: slot, Kind: DigestScheduled, RAG: map[string]int{"Red": 2}, Messages: msgs})
		if err != nil || ok != want {
			t.Fatalf("claim %d: %v %v, want %v", i, ok, err, want)
		}
	}
	// Another digest's claim of the same instant is its own.
	if ok, err := s.ClaimDigest(ctx, DigestClaim{Name: "coordinators", Slot: slot, Kind: DigestScheduled}); err != nil || !ok {
		t.Fatalf("other digest: %v %v", ok, err)
	}
	if ok, err := s.ClaimDigest(ctx, DigestClaim{Name: "panel", Slot: slot.Add(time.Hour), Kind: DigestManual}); err != nil || !ok {
		t.Fatalf("manual: %v %v", ok, err)
	}
	run, ok, err := s.LastDigestRun(ctx, "panel", DigestScheduled, DigestBaseline)
	if err != nil || !ok || !run.Slot.Equal(slot) || run.Kind != DigestScheduled || run.RAG["Red"] != 2 || run.Emails != 2 {
		t.Fatalf("last scheduled run %+v %v %v", run, ok, err)
	}
	if run, _, _ := s.LastDigestRun(ctx, "panel"); run.Kind != DigestManual {
		t.Fatalf("last run of any kind %+v", run)
	}
	var n int
	if err := s.db.Get(&n, `SELECT COUNT(*) FROM outbox WHERE kind = 'digest'`); err != nil || n != 2 {
		t.Fatalf("digest emails %d (%v), want 2", n, err)
	}
}

// testDigestConcurrentClaim has two daemons (two stores on one database)
// claim the same slots at the same moment: each slot's emails are written
// once.
func testDigestConcurrentClaim(t *testing.T, o Options) {
	ctx := context.Background()
	keys := stKeys(t)
	a, b := stOpen(t, o, keys), stOpen(t, o, keys)
	slot := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	var wins sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range 5 {
				sl := slot.Add(time.Duration(k) * 24 * time.Hour)
				ok, err := s.ClaimDigest(ctx, DigestClaim{Name: "panel", Slot: sl, Kind: DigestScheduled,
					Messages: []OutboxMessage{{Kind: "digest", To: "p@nhs.net", MessageID: fmt.Sprintf("c%d-%d@dsr.test", i, k), Body: "b"}}})
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					if _, dup := wins.LoadOrStore(k, i); dup {
						t.Errorf("slot %d claimed twice", k)
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	var n int
	if err := a.db.Get(&n, `SELECT COUNT(*) FROM outbox WHERE kind = 'digest'`); err != nil || n != 5 {
		t.Fatalf("digest emails %d (%v), want 5", n, err)
	}
}

func testReminders(t *testing.T, newDB stDB) {
	ctx := context.Background()
	clock := &dgClock{t: day(2, 9)}
	s := dgOpen(t, newDB(t), clock)
	var queries []Applied
	for i, nhs := range []string{"9993149586", "9995628198", "9991058834"} {
		q := dgQuery(t, s, fmt.Sprintf("rq%d@x", i), stChild{"Jocasta", "Wrenfield", nhs, "2012-01-01", "Green"}, day(2, 9))
		if i < 2 {
			if err := s.MarkSent(ctx, q.Outbox[0], day(2, 10)); err != nil {
				t.Fatal(err)
			}
		}
		queries = append(queries, q)
	}
	pend, err := s.PendingQueries(ctx, day(9, 11))
	if err != nil {
		t.Fatal(err)
	}
	// The third query was never sent: nobody is waiting on it.
	if len(pend) != 2 || pend[0].QueryID != queries[0].Outbox[0] || pend[0].To != "sam.referrer@example.org" ||
		pend[0].MessageID != "query-rq0@x@dsr.test" || pend[0].CaseRef != queries[0].Case.Ref || pend[0].RemindedAt != nil {
		t.Fatalf("pending %+v", pend)
	}
	if p, _ := s.PendingQueries(ctx, day(2, 10)); len(p) != 0 {
		t.Fatalf("queries sent at the cut-off are not before it: %+v", p)
	}
	// NoReply before any reminder does nothing.
	if ok, err := s.NoReply(ctx, pend[0].QueryID, "x"); err != nil || ok {
		t.Fatalf("no reply before the reminder: %v %v", ok, err)
	}
	clock.set(day(9, 11))
	rem := func(p PendingQuery) OutboxMessage {
		return OutboxMessage{To: p.To, Subject: "Reminder: " + p.Subject, Body: "Reminder", MessageID: "rem-" + p.MessageID, InReplyTo: p.MessageID}
	}
	for i, tc := range []struct {
		q    PendingQuery
		max  int
		want string
	}{
		{pend[0], 1, ReminderQueued},
		{pend[0], 1, ReminderDone},
		{pend[1], 1, ReminderCapped}, // the same address had one today
		{pend[1], 2, ReminderQueued},
		{pend[1], 0, ReminderDone},
	} {
		got, err := s.AddReminder(ctx, tc.q.QueryID, rem(tc.q), tc.max)
		if err != nil || got != tc.want {
			t.Fatalf("reminder %d: %q %v, want %q", i, got, err, tc.want)
		}
	}
	var n int
	if err := s.db.Get(&n, `SELECT COUNT(*) FROM outbox WHERE kind = 'reminder'`); err != nil || n != 2 {
		t.Fatalf("reminders %d (%v)", n, err)
	}
	r, err := s.Outbox(ctx, func() int64 {
		var id int64
		_ = s.db.Get(&id, s.db.Rebind(`SELECT reminder_id FROM query_followups WHERE query_id = ?`), pend[0].QueryID)
		return id
	}())
	if err != nil || r.InReplyTo != pend[0].MessageID || r.CaseID != pend[0].CaseID || r.Kind != "reminder" {
		t.Fatalf("reminder row %+v %v", r, err)
	}
	// A reply to the second case re-assesses it: it is no longer waiting.
	reply := stMessage("rq1-reply@x", &parser.Submission{CaseRef: queries[1].Case.Ref,
		Referral: stReferral(stChild{"Jocasta", "Wrenfield", "9995628198", "2012-01-01", "Green"}),
		Consent:  stConsent(stChild{"Jocasta", "Wrenfield", "9995628198", "2012-01-01", "Green"}, parser.BasisParental)})
	if a := stApply(t, s, reply); a.Decision.Outcome != register.OutcomeRegister {
		t.Fatalf("reply: %+v", a)
	}
	clock.set(day(16, 11))
	if ok, err := s.NoReply(ctx, pend[1].QueryID, "x"); err != nil || ok {
		t.Fatalf("no reply on an answered case: %v %v", ok, err)
	}
	for i, want := range []bool{true, false} {
		ok, err := s.NoReply(ctx, pend[0].QueryID, "No reply to the query of 2 November or the reminder.")
		if err != nil || ok != want {
			t.Fatalf("no reply %d: %v %v", i, ok, err)
		}
	}
	items, err := s.ReviewQueue(ctx, ReviewFilter{CaseID: pend[0].CaseID})
	if err != nil || len(items) != 1 || items[0].Codes[0] != ReasonNoReply || items[0].CaseState != CaseInReview {
		t.Fatalf("review items %+v %v", items, err)
	}
	au, err := s.Audit(ctx, AuditFilter{Action: "case.no_reply"})
	if err != nil || len(au) != 1 || au[0].CaseRef != pend[0].CaseRef {
		t.Fatalf("audit %+v %v", au, err)
	}
	if p, _ := s.PendingQueries(ctx, day(30, 0)); len(p) != 0 {
		t.Fatalf("still pending %+v", p)
	}
}
