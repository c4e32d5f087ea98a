package schedule

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/config"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// dgClock is the test's clock, shared by the store and the schedulers.
type dgClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dgClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *dgClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

func lon(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, london)
}

type dgDB struct {
	driver, dsn string
	keys        *store.Keyring
}

func newSQLiteDB(t *testing.T) dgDB {
	k, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return dgDB{driver: "sqlite", dsn: filepath.Join(t.TempDir(), "dsr.db"), keys: k}
}

// newPostgresDB makes a database for the test, dropped at its end, or
// skips without DSR_TEST_POSTGRES.
func newPostgresDB(t *testing.T) dgDB {
	k, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return dgDB{driver: "postgres", dsn: harness.PostgresDB(t, "dsr_digest_"), keys: k}
}

// open is one daemon's store (a restart opens another).
func (d dgDB) open(t *testing.T, clock *dgClock) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{Driver: d.driver, DSN: d.dsn, Keys: d.keys, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var testComposer = &outbox.Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net"}}

func newTestScheduler(t *testing.T, s *store.Store, clock *dgClock, mod func(*SchedulerOptions)) *Scheduler {
	t.Helper()
	o := SchedulerOptions{Store: s, Composer: testComposer, ReviewURL: "https://dsr.example.nhs.uk/review", Now: clock.now, Log: harness.Slog(t),
		Digests: []DigestSpec{{Name: "panel", Schedule: "0 7 * * 1-5", Recipients: []string{"panel@nhs.net", "chair@nhs.net"}}}}
	if mod != nil {
		mod(&o)
	}
	sc, err := NewScheduler(o)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// run ticks sc every step from the clock's time until end (inclusive).
func run(t *testing.T, sc *Scheduler, clock *dgClock, end time.Time, step time.Duration) {
	t.Helper()
	for now := clock.now(); !now.After(end); now = now.Add(step) {
		clock.set(now)
		if err := sc.Tick(context.Background(), now); err != nil {
			t.Fatalf("tick at %s: %v", now, err)
		}
	}
}

// outboxOf reads every outbox row of a kind, by id (identity columns may
// skip a number after a rollback, so it stops after a run of misses).
func outboxOf(t *testing.T, s *store.Store, kind string) []store.OutboxItem {
	t.Helper()
	var out []store.OutboxItem
	for id, misses := int64(1), 0; misses < 50; id++ {
		it, err := s.Outbox(context.Background(), id)
		if errors.Is(err, store.ErrNotFound) {
			misses++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		misses = 0
		if it.Kind == kind {
			out = append(out, it)
		}
	}
	return out
}

// digestTimes are the distinct instants digests were queued at, one per
// digest (each goes to every recipient).
func digestTimes(t *testing.T, items []store.OutboxItem, recipients int) []time.Time {
	t.Helper()
	per := map[time.Time][]string{}
	var times []time.Time
	for _, it := range items {
		if _, ok := per[it.CreatedAt]; !ok {
			times = append(times, it.CreatedAt)
		}
		per[it.CreatedAt] = append(per[it.CreatedAt], it.To)
	}
	for at, to := range per {
		if len(to) != recipients {
			t.Errorf("digest at %s went to %v", at, to)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	return times
}

func utcAll(ts ...time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

// TestSchedulerSlots: a weekday 07:00 digest over a week of simulated
// time, with a restart in the middle of a slot and three days of downtime.
func TestSchedulerSlots(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 11, 23, 6, 0)} // Monday
	s1 := db.open(t, clock)
	a := newTestScheduler(t, s1, clock, nil)
	// Monday 06:00 to Wednesday 07:00 in 15-minute ticks.
	run(t, a, clock, lon(2026, 11, 25, 7, 0), 15*time.Minute)

	// A restart in the middle of Wednesday's slot: another store and
	// scheduler on the same database tick the same instants again.
	s2 := db.open(t, clock)
	b := newTestScheduler(t, s2, clock, nil)
	clock.set(lon(2026, 11, 25, 7, 0))
	run(t, b, clock, lon(2026, 11, 25, 12, 0), 5*time.Minute)

	// Down from Wednesday noon to the next Monday 09:10: Thursday, Friday
	// and Monday's slots were missed; the first tick sends one digest.
	s3 := db.open(t, clock)
	c := newTestScheduler(t, s3, clock, nil)
	clock.set(lon(2026, 11, 30, 9, 10))
	run(t, c, clock, lon(2026, 12, 1, 8, 0), 10*time.Minute)

	got := digestTimes(t, outboxOf(t, s3, "digest"), 2)
	want := utcAll(lon(2026, 11, 23, 7, 0), lon(2026, 11, 24, 7, 0), lon(2026, 11, 25, 7, 0), lon(2026, 11, 30, 9, 10), lon(2026, 12, 1, 7, 0))
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("digests queued at\n %v\nwant\n %v", got, want)
	}
	run2, ok, err := s3.LastDigestRun(context.Background(), "panel", store.DigestScheduled)
	if err != nil || !ok || !run2.Slot.Equal(lon(2026, 12, 1, 7, 0)) {
		t.Fatalf("last slot %+v %v %v", run2, ok, err)
	}
}

// TestSchedulerFirstStart: a digest's first start records a baseline and
// sends nothing for the slots before it.
func TestSchedulerFirstStart(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 11, 25, 12, 0)}
	s := db.open(t, clock)
	sc := newTestScheduler(t, s, clock, nil)
	run(t, sc, clock, lon(2026, 11, 26, 6, 59), time.Hour)
	if items := outboxOf(t, s, "digest"); len(items) != 0 {
		t.Fatalf("digests before the first slot: %d", len(items))
	}
	clock.set(lon(2026, 11, 26, 7, 0))
	run(t, sc, clock, lon(2026, 11, 26, 7, 0), time.Minute)
	if got := digestTimes(t, outboxOf(t, s, "digest"), 2); len(got) != 1 || !got[0].Equal(lon(2026, 11, 26, 7, 0)) {
		t.Fatalf("first digest at %v", got)
	}
}

// TestSchedulerTwoDaemonsPostgres: two daemons on one PostgreSQL database
// tick the same slots at the same moments; each slot is sent once.
func TestSchedulerTwoDaemonsPostgres(t *testing.T) {
	db := newPostgresDB(t)
	clock := &dgClock{t: lon(2026, 11, 23, 6, 0)}
	stores := []*store.Store{db.open(t, clock), db.open(t, clock)}
	var scs []*Scheduler
	for _, s := range stores {
		scs = append(scs, newTestScheduler(t, s, clock, func(o *SchedulerOptions) {
			o.Digests = append(o.Digests, DigestSpec{Name: "coordinators", Schedule: "30 8 * * *", Recipients: []string{"coord@nhs.net"}})
		}))
	}
	ctx := context.Background()
	for now := clock.now(); !now.After(lon(2026, 11, 27, 9, 0)); now = now.Add(30 * time.Minute) {
		clock.set(now)
		var wg sync.WaitGroup
		for _, sc := range scs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sc.Tick(ctx, now); err != nil {
					t.Errorf("tick at %s: %v", now, err)
				}
			}()
		}
		wg.Wait()
	}
	items := outboxOf(t, stores[0], "digest")
	var panel, coord []store.OutboxItem
	for _, it := range items {
		if it.To == "coord@nhs.net" {
			coord = append(coord, it)
		} else {
			panel = append(panel, it)
		}
	}
	var wantPanel, wantCoord []time.Time
	for d := 23; d <= 27; d++ {
		wantPanel = append(wantPanel, lon(2026, 11, d, 7, 0).UTC())
		wantCoord = append(wantCoord, lon(2026, 11, d, 8, 30).UTC())
	}
	if got := digestTimes(t, panel, 2); !slices.EqualFunc(got, wantPanel, time.Time.Equal) {
		t.Errorf("panel digests at %v, want %v", got, wantPanel)
	}
	if got := digestTimes(t, coord, 1); !slices.EqualFunc(got, wantCoord, time.Time.Equal) {
		t.Errorf("coordinators' digests at %v, want %v", got, wantCoord)
	}
}

// TestDueSlotDST: Europe/London's clock changes. At 01:30 the autumn hour
// happens twice but is one slot; in spring 01:30 does not happen and
// robfig/cron skips that day.
func TestDueSlotDST(t *testing.T) {
	sched, err := config.ParseSchedule("30 1 * * *", "Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	slots := func(from, to time.Time) []time.Time {
		var out []time.Time
		last := from
		for now := from; !now.After(to); now = now.Add(10 * time.Minute) {
			if s, ok := dueSlot(sched, last, now); ok {
				out = append(out, s)
				last = s
			}
		}
		return out
	}
	autumn := slots(time.Date(2026, 10, 23, 23, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 3, 0, 0, 0, time.UTC))
	wantAutumn := []time.Time{
		time.Date(2026, 10, 24, 0, 30, 0, 0, time.UTC), // 01:30 BST
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 01:30 BST; 01:30 GMT an hour later is the same slot
		time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC), // 01:30 GMT
	}
	if !slices.EqualFunc(autumn, wantAutumn, time.Time.Equal) {
		t.Errorf("autumn slots %v, want %v", autumn, wantAutumn)
	}
	spring := slots(time.Date(2026, 3, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 3, 0, 0, 0, time.UTC))
	wantSpring := []time.Time{time.Date(2026, 3, 28, 1, 30, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC)}
	if !slices.EqualFunc(spring, wantSpring, time.Time.Equal) {
		t.Errorf("spring slots %v, want %v", spring, wantSpring)
	}
	// A long outage: one slot, the latest.
	if s, ok := dueSlot(sched, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)); !ok ||
		!s.Equal(time.Date(2026, 2, 1, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("catch-up slot %v %v", s, ok)
	}
}

func TestSchedulerConfigErrors(t *testing.T) {
	db := newSQLiteDB(t)
	s := db.open(t, &dgClock{t: time.Now()})
	for _, tc := range []struct {
		name string
		d    []DigestSpec
		want string
	}{
		{"bad spec", []DigestSpec{{Name: "x", Schedule: "61 * * * *", Recipients: []string{"a@nhs.net"}}}, "not a schedule"},
		{"tz alone", []DigestSpec{{Name: "x", Schedule: "CRON_TZ=Europe/London", Recipients: []string{"a@nhs.net"}}}, "not a schedule"},
		{"section", []DigestSpec{{Name: "x", Schedule: "@daily", Recipients: []string{"a@nhs.net"}, Sections: []string{"gossip"}}}, "unknown section"},
		{"twice", []DigestSpec{{Name: "x", Schedule: "@daily", Recipients: []string{"a"}}, {Name: "x", Schedule: "@daily", Recipients: []string{"a"}}}, "used twice"},
		{"no recipients", []DigestSpec{{Name: "x", Schedule: "@daily"}}, "no recipients"},
	} {
		_, err := NewScheduler(SchedulerOptions{Store: s, Composer: testComposer, Digests: tc.d})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// dgKid is a fictional child the PII scan looks for.
type dgKid struct{ First, Surname, NHS, DOB, RAG string }

var dgKids = []dgKid{
	{"Wilhelmina", "Okonkwo-Barraclough", "9993149586", "2009-02-28", "Red"}, // turns 18 soon
	{"Thaddeus", "Pemberton-Ryle", "9995628198", "2008-10-01", "Blue"},       // already 18
	{"Clementine", "Abernathy", "9991058834", "2013-06-15", "Amber"},
	{"Barnaby", "Quixley", "9999437753", "2014-12-03", "Green"},
	{"Ottilie", "Fenwright", "9990920516", "2012-04-22", "Red"}, // queried
}

func kidForms(k dgKid) (*parser.Form, *parser.Form) {
	ref := &parser.Form{Kind: parser.Referral, Values: map[string]string{"cyp_first_names": k.First, "cyp_surname": k.Surname,
		"cyp_dob": k.DOB, "cyp_nhs_number": k.NHS, "rag_rating": k.RAG, "rag_reason": "Frequent crisis calls",
		"mh_concern": "Self-injury at home", "referrer_email": "sw@example.org"}}
	con := &parser.Form{Kind: parser.Consent, Values: map[string]string{"cyp_full_name": k.First + " " + k.Surname, "cyp_dob": k.DOB,
		"cyp_nhs_number": k.NHS, "consent_basis": parser.BasisParental, "consent_given": "true"}}
	return ref, con
}

// applyKid puts a child through the store: registered, or queried (no
// consent form) with a query the composer writes.
func applyKid(t *testing.T, s *store.Store, k dgKid, query bool) store.Applied {
	t.Helper()
	ref, con := kidForms(k)
	sub := &parser.Submission{From: "sw@example.org", MessageID: "<" + k.NHS + "@example.org>", Referral: ref, Consent: con}
	outcome := register.OutcomeRegister
	var reasons []register.Reason
	if query {
		sub.Consent = nil
		outcome = register.OutcomeQuery
		reasons = []register.Reason{{Code: "missing_consent_form", Message: k.First + "'s consent form was missing."}}
	}
	raw := []byte("Message-ID: " + sub.MessageID + "\r\n\r\n" + k.First + " " + k.Surname)
	a, err := s.Apply(context.Background(), store.Incoming{Hash: parser.Hash(raw), MessageID: sub.MessageID, Raw: raw, Submission: sub},
		func(register.CaseForms) register.Decision {
			return register.Decision{Outcome: outcome, Reasons: reasons}
		},
		func(c store.CaseInfo, d register.Decision) []store.OutboxMessage {
			return testComposer.Replies(sub, c, d)
		})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestDigestAndRemindersCarryNoPII builds a register of fictional
// children, sends every section of a digest, a reminder and a no-reply
// escalation, and scans all of it for the children's names, dates of birth
// and NHS numbers.
func TestDigestAndRemindersCarryNoPII(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 11, 2, 9, 0)} // Monday
	s := db.open(t, clock)
	ctx := context.Background()
	var queried store.Applied
	for i, k := range dgKids {
		a := applyKid(t, s, k, i == 4)
		if i == 4 {
			queried = a
		}
	}
	if err := s.ChangeRAG(ctx, 3, "Red", "coord.al", "Clementine's placement broke down"); err != nil {
		t.Fatal(err)
	}
	for _, it := range outboxOf(t, s, "query") {
		if err := s.MarkSent(ctx, it.ID, clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	sc := newTestScheduler(t, s, clock, func(o *SchedulerOptions) {
		o.ReminderAfter, o.NoReplyAfter, o.MaxRemindersPerRecipient = 7*24*time.Hour, 14*24*time.Hour, 5
	})
	// Two weeks and a day of hourly ticks: digests each weekday, the
	// reminder a week after the query (at 10:00), no_reply a week later.
	run(t, sc, clock, lon(2026, 11, 9, 11, 0), time.Hour)
	for _, it := range outboxOf(t, s, "reminder") { // the sender's part
		if err := s.MarkSent(ctx, it.ID, clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	run(t, sc, clock, lon(2026, 11, 17, 11, 0), time.Hour)

	digests := outboxOf(t, s, "digest")
	reminders := outboxOf(t, s, "reminder")
	if len(digests) == 0 || len(reminders) != 1 {
		t.Fatalf("%d digest emails, %d reminders; want some and exactly one", len(digests), len(reminders))
	}
	rem := reminders[0]
	q, err := s.Outbox(ctx, queried.Outbox[0])
	if err != nil {
		t.Fatal(err)
	}
	if rem.InReplyTo != q.MessageID || !slices.Contains(rem.References, q.MessageID) || rem.To != q.To || rem.CaseID != queried.Case.ID ||
		!strings.Contains(rem.Subject, queried.Case.Ref) || !rem.CreatedAt.Equal(lon(2026, 11, 9, 10, 0)) {
		t.Errorf("reminder %+v (query %s at %s)", rem, q.MessageID, q.CreatedAt)
	}
	items, err := s.ReviewQueue(ctx, store.ReviewFilter{CaseID: queried.Case.ID})
	if err != nil || len(items) != 1 || items[0].Codes[0] != store.ReasonNoReply || !items[0].CreatedAt.Equal(lon(2026, 11, 16, 10, 0)) {
		t.Fatalf("no_reply review %+v %v", items, err)
	}

	// A digest with every section, now that there is something in each.
	mail, err := sc.Preview(ctx, "panel", clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mail.Text, "Waiting for a coordinator: 1") || !strings.Contains(mail.Text, "https://dsr.example.nhs.uk/review") {
		t.Errorf("preview:\n%s", mail.Text)
	}
	// Between them the digests sent had something in every section.
	var sent strings.Builder
	for _, it := range digests {
		sent.WriteString(it.Body)
	}
	for _, want := range []string{"W.O. (Red)", "T.P. (already 18)", "RAG changes: 1", "C.A.: Amber to Red", queried.Case.Ref + ": asked",
		"reminded", "Reminders sent: 1", "Sent to review for no reply: 1", "no C(E)TR date recorded: 3"} {
		if !strings.Contains(sent.String(), want) {
			t.Errorf("no digest says %q", want)
		}
	}
	if !strings.Contains(mail.HTML, "<li>") || !strings.Contains(mail.HTML, `href="https://dsr.example.nhs.uk/review"`) {
		t.Errorf("digest HTML:\n%s", mail.HTML)
	}
	raw, err := testComposer.Render(store.OutboxMessage{To: "panel@nhs.net", Subject: mail.Subject, Body: mail.Text, HTML: mail.HTML,
		MessageID: "x@nhs.net"}, clock.now())
	if err != nil || !strings.Contains(string(raw), "multipart/alternative") {
		t.Errorf("rendered digest is not multipart/alternative (%v)", err)
	}

	var texts []string
	texts = append(texts, mail.Subject, mail.Text, mail.HTML)
	for _, it := range append(digests, reminders...) {
		texts = append(texts, it.Subject, it.Body, it.HTML)
	}
	for _, k := range dgKids {
		dob, _ := time.Parse(time.DateOnly, k.DOB)
		needles := []string{k.First, k.Surname, k.NHS, k.NHS[:3] + " " + k.NHS[3:6] + " " + k.NHS[6:], k.DOB,
			dob.Format("02/01/2006"), dob.Format("2/1/2006"), dob.Format("2 January 2006"), dob.Format("2 Jan 2006")}
		for _, part := range strings.Split(k.Surname, "-") {
			needles = append(needles, part)
		}
		for _, txt := range texts {
			for _, n := range needles {
				if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(n) + `\b`).MatchString(txt) {
					t.Errorf("%q found in a digest or reminder:\n%s", n, txt)
				}
			}
		}
	}
	// Clinical text and RAG reasons stay out too.
	for _, txt := range texts {
		for _, n := range []string{"Self-injury", "crisis", "placement broke down"} {
			if strings.Contains(txt, n) {
				t.Errorf("%q found in a digest or reminder", n)
			}
		}
	}
}

// TestReminderCapAndAnswer: the per-address cap holds reminders back to a
// later sweep, and a case that has moved on gets none.
func TestReminderCapAndAnswer(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 11, 2, 9, 0)}
	s := db.open(t, clock)
	ctx := context.Background()
	var cases []store.Applied
	for _, k := range dgKids[:3] {
		cases = append(cases, applyKid(t, s, k, true))
	}
	for _, it := range outboxOf(t, s, "query") {
		if err := s.MarkSent(ctx, it.ID, clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	// The third case is closed by a coordinator before any reminder.
	if err := s.SetCaseState(ctx, cases[2].Case.ID, store.CaseClosed, "coord.al"); err != nil {
		t.Fatal(err)
	}
	sc := newTestScheduler(t, s, clock, func(o *SchedulerOptions) {
		o.Digests = nil
		o.ReminderAfter, o.NoReplyAfter, o.MaxRemindersPerRecipient = 7*24*time.Hour, 14*24*time.Hour, 1
	})
	for i, tc := range []struct {
		at     time.Time
		queued int
		capped int
	}{
		{lon(2026, 11, 9, 10, 0), 1, 1},
		{lon(2026, 11, 9, 16, 0), 0, 1}, // within 24 hours of the first
		{lon(2026, 11, 10, 10, 0), 1, 0},
		{lon(2026, 11, 11, 10, 0), 0, 0},
	} {
		clock.set(tc.at)
		rep, err := sc.Reminders(ctx, tc.at)
		if err != nil || rep.Queued != tc.queued || rep.Capped != tc.capped {
			t.Fatalf("sweep %d: %+v %v, want queued %d capped %d", i, rep, err, tc.queued, tc.capped)
		}
	}
}

// TestRemindersTwoDaemonsPostgres: two daemons sweep at the same moments;
// the per-address cap, the one reminder per query and the one escalation
// per case hold across them.
func TestRemindersTwoDaemonsPostgres(t *testing.T) {
	db := newPostgresDB(t)
	clock := &dgClock{t: lon(2026, 11, 2, 9, 0)}
	stores := []*store.Store{db.open(t, clock), db.open(t, clock)}
	ctx := context.Background()
	for _, k := range dgKids {
		applyKid(t, stores[0], k, true) // five queries to one address
	}
	for _, it := range outboxOf(t, stores[0], "query") {
		if err := stores[0].MarkSent(ctx, it.ID, clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	var scs []*Scheduler
	for _, s := range stores {
		scs = append(scs, newTestScheduler(t, s, clock, func(o *SchedulerOptions) {
			o.Digests = nil
			o.ReminderAfter, o.NoReplyAfter, o.MaxRemindersPerRecipient = 7*24*time.Hour, 14*24*time.Hour, 2
		}))
	}
	sweep := func(at time.Time) (total ReminderReport) {
		clock.set(at)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, sc := range scs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := sc.Reminders(ctx, at)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total.Queued += rep.Queued
				total.NoReply += rep.NoReply
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total
	}
	for i, tc := range []struct {
		at              time.Time
		queued, noReply int
	}{
		{lon(2026, 11, 9, 10, 0), 2, 0},
		{lon(2026, 11, 9, 10, 5), 0, 0},
		{lon(2026, 11, 10, 10, 1), 2, 0},
		{lon(2026, 11, 11, 10, 2), 1, 0},
		{lon(2026, 11, 16, 10, 0), 0, 2}, // a week after the first two reminders
		{lon(2026, 11, 18, 10, 2), 0, 3},
		{lon(2026, 11, 19, 10, 0), 0, 0},
	} {
		if got := sweep(tc.at); got.Queued != tc.queued || got.NoReply != tc.noReply {
			t.Fatalf("sweep %d at %s: %+v, want queued %d no_reply %d", i, tc.at, got, tc.queued, tc.noReply)
		}
	}
	if n := len(outboxOf(t, stores[0], "reminder")); n != 5 {
		t.Fatalf("%d reminders, want one for each of the five queries", n)
	}
	items, err := stores[1].ReviewQueue(ctx, store.ReviewFilter{})
	if err != nil || len(items) != 5 {
		t.Fatalf("%d review items (%v), want five no_reply", len(items), err)
	}
}

// TestSchedulerRun: Run catches up at start (the slot missed while no
// daemon ran) and returns when its context ends.
func TestSchedulerRun(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 11, 23, 6, 0)}
	s := db.open(t, clock)
	sc := newTestScheduler(t, s, clock, nil)
	if err := sc.Tick(context.Background(), clock.now()); err != nil { // the first start's baseline
		t.Fatal(err)
	}
	clock.set(lon(2026, 11, 24, 12, 0)) // down over two slots
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(outboxOf(t, s, "digest")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	got := digestTimes(t, outboxOf(t, s, "digest"), 2)
	if len(got) != 1 || !got[0].Equal(lon(2026, 11, 24, 12, 0)) {
		t.Fatalf("catch-up digests at %v, want one at start", got)
	}
	last, _, _ := s.LastDigestRun(context.Background(), "panel", store.DigestScheduled)
	if !last.Slot.Equal(lon(2026, 11, 24, 7, 0)) {
		t.Fatalf("catch-up took slot %s, want the latest missed one", last.Slot)
	}
}
