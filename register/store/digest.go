package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/register"
)

// Digest run kinds: what a digest_runs row stands for.
const (
	DigestScheduled = "scheduled" // a schedule's slot, claimed and sent
	DigestManual    = "manual"    // sent by hand (dsr digest send)
	DigestBaseline  = "baseline"  // the first start: earlier slots are not sent
)

// ReasonNoReply is the review reason of a case whose query and reminder
// went unanswered.
const ReasonNoReply = "no_reply"

// Reminder results.
const (
	ReminderQueued   = "queued"
	ReminderDone     = "already_reminded" // the query had its one reminder
	ReminderCapped   = "capped"           // the address had its day's reminders
	ReminderAnswered = "answered"         // the case no longer waits on this query
)

// reminderLockKey serialises reminder queuing across daemons on
// PostgreSQL, so the per-address cap holds with two daemons.
const reminderLockKey = 0x44535203 // "DSR" 3

// DigestRun is one row of the digest ledger.
type DigestRun struct {
	Name      string
	Slot      time.Time
	Kind      string
	RAG       map[string]int // active records by RAG rating when it ran
	Emails    int
	CreatedAt time.Time
}

type digestRunRow struct {
	Name      string    `db:"name"`
	Slot      time.Time `db:"slot"`
	Kind      string    `db:"kind"`
	RAG       string    `db:"rag_counts"`
	Emails    int       `db:"emails"`
	CreatedAt time.Time `db:"created_at"`
}

// LastDigestRun returns the named digest's latest run (by slot) among
// kinds, or among all kinds when none are given; ok is false when it has
// none.
func (s *Store) LastDigestRun(ctx context.Context, name string, kinds ...string) (run DigestRun, ok bool, err error) {
	q := `SELECT name, slot, kind, rag_counts, emails, created_at FROM digest_runs WHERE name = ?`
	args := []any{name}
	if len(kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	var r digestRunRow
	err = s.get(ctx, s.db, &r, q+` ORDER BY slot DESC, id DESC LIMIT 1`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return DigestRun{}, false, nil
	}
	if err != nil {
		return DigestRun{}, false, fmt.Errorf("last digest run: %w", err)
	}
	run = DigestRun{Name: r.Name, Slot: r.Slot.UTC(), Kind: r.Kind, Emails: r.Emails, CreatedAt: r.CreatedAt.UTC()}
	if r.RAG != "" {
		if err := json.Unmarshal([]byte(r.RAG), &run.RAG); err != nil {
			return DigestRun{}, false, fmt.Errorf("last digest run: rag counts: %w", err)
		}
	}
	return run, true, nil
}

// DigestClaim is a digest slot and the emails that deliver it.
type DigestClaim struct {
	Name     string
	Slot     time.Time // the slot's UTC instant (the schedule's Next)
	Kind     string
	RAG      map[string]int // the register by RAG, for the next digest's "change since"
	Messages []OutboxMessage
}

// ClaimDigest claims a digest's slot and writes its emails to the outbox
// in one transaction. The unique (name, slot) makes the claim exactly
// once: a slot claimed before, by this daemon or another on the same
// database, returns false and writes nothing. On PostgreSQL a concurrent
// claim of the same slot waits on the unique index until the first
// commits, then does nothing.
func (s *Store) ClaimDigest(ctx context.Context, c DigestClaim) (claimed bool, err error) {
	if c.Name == "" || c.Slot.IsZero() {
		return false, errors.New("claim digest: name and slot are required")
	}
	switch c.Kind {
	case DigestScheduled, DigestManual, DigestBaseline:
	default:
		return false, fmt.Errorf("claim digest: unknown kind %q", c.Kind)
	}
	rag := ""
	if c.RAG != nil {
		b, err := json.Marshal(c.RAG)
		if err != nil {
			return false, fmt.Errorf("claim digest: %w", err)
		}
		rag = string(b)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.stamp()
		res, err := s.exec(ctx, tx, `INSERT INTO digest_runs (name, slot, kind, rag_counts, emails, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name, slot) DO NOTHING`, c.Name, utc(c.Slot), c.Kind, rag, len(c.Messages), now)
		if err != nil {
			return fmt.Errorf("insert digest run: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert digest run: %w", err)
		}
		if n == 0 {
			return nil
		}
		claimed = true
		for _, m := range c.Messages {
			if _, err := s.addOutbox(ctx, tx, m, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: ActorIntake, Action: "digest." + c.Kind, Entity: "digest",
			Detail: fmt.Sprintf("name=%s slot=%s emails=%d", c.Name, utc(c.Slot).Format(time.RFC3339), len(c.Messages))})
	})
	if err != nil {
		return false, fmt.Errorf("claim digest: %w", err)
	}
	return claimed, nil
}

// DigestQuery says what a digest covers.
type DigestQuery struct {
	// Since and Until bound the period "since the last digest": [Since, Until).
	Since, Until time.Time
	// Today is the calendar date (its year, month and day as written)
	// ages and C(E)TR reviews are judged on, in the digest's time zone.
	Today           time.Time
	ReviewOlderThan time.Duration // open review items older than this are listed
	Age18Within     time.Duration // children turning 18 within this are listed
	CETRReviewAfter time.Duration // a C(E)TR older than this is due for review
}

// ChildRef is all a digest may show of a child: the case reference and
// initials.
type ChildRef struct {
	RecordID int64
	Ref      string // the latest case's reference
	Initials string // "" once consent is withdrawn and the data erased
	RAG      string
}

// RAGMove is one change of a child's RAG rating.
type RAGMove struct {
	Child    ChildRef
	From, To string
	At       time.Time
}

// ReviewRef is a review item as a digest shows it.
type ReviewRef struct {
	ID        int64
	Ref       string // "" for a quarantined email with no case
	Codes     []string
	CreatedAt time.Time
}

// WaitingQuery is a case waiting for the referrer's reply to a query.
type WaitingQuery struct {
	QueryID    int64
	CaseID     int64
	Ref        string
	SentAt     time.Time
	RemindedAt *time.Time
}

// Transition is a child turning 18 (so moving to the adult DSR). The date
// stays in the store: only the order (soonest first) and whether the
// birthday has passed leave it.
type Transition struct {
	Child     ChildRef
	Already18 bool
}

// DigestFigures are the figures of a digest, all gathered by the store so
// that only case references and initials leave it.
type DigestFigures struct {
	Since, Until time.Time

	Emails        map[register.Outcome]int // emails decided in the period, by outcome (ignored ones too)
	ChildrenAdded []ChildRef               // records created in the period
	RAGChanges    []RAGMove                // in the period, oldest first (first ratings excluded)
	Withdrawals   []ChildRef               // records withdrawn in the period

	ByRAG map[string]int // active records by RAG rating now

	ReviewOpen   int
	ReviewOldest *ReviewRef
	ReviewOld    []ReviewRef // open items older than ReviewOlderThan, oldest first

	Waiting       []WaitingQuery // oldest query first
	RemindersSent int            // reminders the server accepted in the period
	NoReply       []string       // cases sent to review for no reply in the period
	// NotDelivered are the cases sent to review in the period because the
	// outbox gave their query up (query_not_delivered).
	NotDelivered []string

	TurningEighteen []Transition // soonest first; those already 18 first of all
	CETRMissing     []ChildRef   // Red and Blue children with no C(E)TR date
	CETROverdue     []ChildRef   // Red and Blue children whose C(E)TR review is past

	Quarantined          int // quarantined emails waiting now
	QuarantinedInPeriod  int
	OutboxFailed         int // emails given up on, all told
	OutboxFailedInPeriod int
	OutboxBacklog        int        // emails due and not yet sent
	LastReceived         *time.Time // the latest email the intake recorded
}

type digestRecord struct {
	ChildRef
	State       string
	DOB         time.Time
	CreatedAt   time.Time
	WithdrawnAt *time.Time
}

// DigestFigures gathers a digest's figures. Dates of birth are decrypted
// here to find who turns 18 and never leave the store.
func (s *Store) DigestFigures(ctx context.Context, q DigestQuery) (DigestFigures, error) {
	f := DigestFigures{Since: utc(q.Since), Until: utc(q.Until), Emails: map[register.Outcome]int{}, ByRAG: map[string]int{}}
	since, until := f.Since, f.Until
	// One read transaction, so the sections agree with each other.
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		recs, err := s.digestRecords(ctx, tx)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(recs))
		for id := range recs {
			ids = append(ids, id)
		}
		slices.Sort(ids)

		// Since the last digest.
		var outcomes []struct {
			Outcome string `db:"outcome"`
			N       int    `db:"n"`
		}
		if err := s.sel(ctx, tx, &outcomes, `SELECT outcome, COUNT(*) AS n FROM messages WHERE decided_at >= ? AND decided_at < ?
			AND outcome <> '' GROUP BY outcome`, since, until); err != nil {
			return fmt.Errorf("emails by outcome: %w", err)
		}
		for _, o := range outcomes {
			f.Emails[register.Outcome(o.Outcome)] += o.N
		}
		for _, id := range ids {
			r := recs[id]
			if !r.CreatedAt.Before(since) && r.CreatedAt.Before(until) {
				f.ChildrenAdded = append(f.ChildrenAdded, r.ChildRef)
			}
			if r.WithdrawnAt != nil && !r.WithdrawnAt.Before(since) && r.WithdrawnAt.Before(until) {
				f.Withdrawals = append(f.Withdrawals, r.ChildRef)
			}
			if r.State == register.RecordActive {
				f.ByRAG[r.RAG]++
			}
		}
		var moves []struct {
			RecordID int64     `db:"record_id"`
			From     string    `db:"from_rag"`
			To       string    `db:"to_rag"`
			At       time.Time `db:"at"`
		}
		if err := s.sel(ctx, tx, &moves, `SELECT record_id, from_rag, to_rag, at FROM rag_history
			WHERE at >= ? AND at < ? AND from_rag <> '' ORDER BY at, id`, since, until); err != nil {
			return fmt.Errorf("rag changes: %w", err)
		}
		for _, m := range moves {
			f.RAGChanges = append(f.RAGChanges, RAGMove{Child: recs[m.RecordID].ChildRef, From: m.From, To: m.To, At: m.At.UTC()})
		}

		if err := s.digestReview(ctx, tx, q, &f); err != nil {
			return err
		}
		if f.Waiting, err = s.waitingQueries(ctx, tx, until); err != nil {
			return err
		}
		if err := s.get(ctx, tx, &f.RemindersSent, `SELECT COUNT(*) FROM outbox WHERE kind = ? AND state = ? AND sent_at >= ? AND sent_at < ?`,
			"reminder", OutboxSent, since, until); err != nil {
			return fmt.Errorf("reminders sent: %w", err)
		}
		if err := s.sel(ctx, tx, &f.NoReply, `SELECT c.ref FROM query_followups f JOIN cases c ON c.id = f.case_id
			WHERE f.no_reply_at >= ? AND f.no_reply_at < ? ORDER BY f.no_reply_at, c.id`, since, until); err != nil {
			return fmt.Errorf("no reply: %w", err)
		}
		if err := s.sel(ctx, tx, &f.NotDelivered, `SELECT case_ref FROM audit WHERE action = ? AND at >= ? AND at < ? ORDER BY at, id`,
			"case.query_not_delivered", since, until); err != nil {
			return fmt.Errorf("queries not delivered: %w", err)
		}

		today := civil(q.Today)
		f.TurningEighteen = turningEighteen(recs, ids, today, q.Age18Within)
		if err := s.digestCETR(ctx, tx, recs, ids, today, q.CETRReviewAfter, &f); err != nil {
			return err
		}
		return s.digestHealth(ctx, tx, &f)
	})
	if err != nil {
		return DigestFigures{}, fmt.Errorf("digest figures: %w", err)
	}
	return f, nil
}

// digestRecords reads every record with its latest case reference; the
// personal data is decrypted only for initials and the date of birth.
func (s *Store) digestRecords(ctx context.Context, tx *sqlx.Tx) (map[int64]digestRecord, error) {
	var rows []struct {
		ID          int64          `db:"id"`
		State       string         `db:"state"`
		Data        []byte         `db:"data"`
		RAG         string         `db:"rag"`
		CreatedAt   time.Time      `db:"created_at"`
		WithdrawnAt sql.NullTime   `db:"withdrawn_at"`
		Ref         sql.NullString `db:"ref"`
	}
	if err := s.sel(ctx, tx, &rows, `SELECT r.id, r.state, r.data, r.rag, r.created_at, r.withdrawn_at,
		(SELECT c.ref FROM cases c WHERE c.record_id = r.id ORDER BY c.id DESC LIMIT 1) AS ref FROM records r`); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	out := make(map[int64]digestRecord, len(rows))
	for _, r := range rows {
		var d recordData
		if err := s.decJSON("records.data", r.Data, &d); err != nil {
			return nil, err
		}
		rec := digestRecord{ChildRef: ChildRef{RecordID: r.ID, Ref: r.Ref.String, RAG: r.RAG,
			Initials: register.Initials(d.Referral["cyp_first_names"], d.Referral["cyp_surname"])},
			State: r.State, CreatedAt: r.CreatedAt.UTC(), WithdrawnAt: nullTime(r.WithdrawnAt)}
		if dob, err := time.Parse(time.DateOnly, d.Referral["cyp_dob"]); err == nil {
			rec.DOB = dob
		}
		out[r.ID] = rec
	}
	return out, nil
}

func (s *Store) digestReview(ctx context.Context, tx *sqlx.Tx, q DigestQuery, f *DigestFigures) error {
	var rows []struct {
		ID        int64          `db:"id"`
		Ref       sql.NullString `db:"ref"`
		Codes     string         `db:"reason_codes"`
		CreatedAt time.Time      `db:"created_at"`
	}
	if err := s.sel(ctx, tx, &rows, `SELECT r.id, c.ref, r.reason_codes, r.created_at FROM review_items r
		LEFT JOIN cases c ON c.id = r.case_id WHERE r.state = ? ORDER BY r.created_at, r.id`, ReviewOpen); err != nil {
		return fmt.Errorf("review queue: %w", err)
	}
	f.ReviewOpen = len(rows)
	cutoff := f.Until.Add(-q.ReviewOlderThan)
	for i, r := range rows {
		ref := ReviewRef{ID: r.ID, Ref: r.Ref.String, Codes: splitCodes(r.Codes), CreatedAt: r.CreatedAt.UTC()}
		if i == 0 {
			f.ReviewOldest = &ref
		}
		if q.ReviewOlderThan > 0 && ref.CreatedAt.Before(cutoff) {
			f.ReviewOld = append(f.ReviewOld, ref)
		}
	}
	return nil
}

// pendingQueryWhere selects the latest query of each case still awaiting
// information, once the server has accepted it: a reply re-assesses the
// case, which either leaves that state or sends a newer query.
const pendingQueryWhere = `o.kind = 'query' AND o.state = 'sent' AND c.state = 'awaiting_information'
	AND o.id = (SELECT MAX(o2.id) FROM outbox o2 WHERE o2.case_id = o.case_id AND o2.kind = 'query')`

func (s *Store) waitingQueries(ctx context.Context, q queryer, sentBefore time.Time) ([]WaitingQuery, error) {
	var rows []struct {
		ID         int64        `db:"id"`
		CaseID     int64        `db:"case_id"`
		Ref        string       `db:"ref"`
		SentAt     time.Time    `db:"sent_at"`
		RemindedAt sql.NullTime `db:"reminded_at"`
	}
	if err := s.sel(ctx, q, &rows, `SELECT o.id, o.case_id, c.ref, o.sent_at, f.reminded_at FROM outbox o
		JOIN cases c ON c.id = o.case_id LEFT JOIN query_followups f ON f.query_id = o.id
		WHERE `+pendingQueryWhere+` AND o.sent_at < ? ORDER BY o.sent_at, o.id`, utc(sentBefore)); err != nil {
		return nil, fmt.Errorf("waiting queries: %w", err)
	}
	out := make([]WaitingQuery, 0, len(rows))
	for _, r := range rows {
		out = append(out, WaitingQuery{QueryID: r.ID, CaseID: r.CaseID, Ref: r.Ref, SentAt: r.SentAt.UTC(), RemindedAt: nullTime(r.RemindedAt)})
	}
	return out, nil
}

// civil is t's calendar date as midnight UTC, so date arithmetic ignores
// time zones and daylight saving.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func turningEighteen(recs map[int64]digestRecord, ids []int64, today time.Time, within time.Duration) []Transition {
	if within <= 0 {
		return nil
	}
	last := today.Add(within)
	type cand struct {
		t    Transition
		when time.Time
	}
	var cs []cand
	for _, id := range ids {
		r := recs[id]
		if r.State != register.RecordActive || r.DOB.IsZero() {
			continue
		}
		b := register.Eighteenth(r.DOB)
		if b.After(last) {
			continue
		}
		cs = append(cs, cand{Transition{Child: r.ChildRef, Already18: !b.After(today)}, b})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].when.Before(cs[j].when) })
	out := make([]Transition, len(cs))
	for i, c := range cs {
		out[i] = c.t
	}
	return out
}

func (s *Store) digestCETR(ctx context.Context, tx *sqlx.Tx, recs map[int64]digestRecord, ids []int64, today time.Time,
	reviewAfter time.Duration, f *DigestFigures) error {
	var rows []struct {
		RecordID int64  `db:"record_id"`
		Date     string `db:"date"`
	}
	if err := s.sel(ctx, tx, &rows, `SELECT record_id, date FROM record_dates WHERE kind = ? ORDER BY id`, DateCETR); err != nil {
		return fmt.Errorf("c(e)tr dates: %w", err)
	}
	// Every change is a new row: the last one holds.
	held := map[int64]time.Time{}
	for _, r := range rows {
		if d, err := time.Parse(time.DateOnly, strings.TrimSpace(r.Date)); err == nil {
			held[r.RecordID] = d
		}
	}
	// C(E)TRs recorded as the register's actions count too: the later of
	// the two stands.
	var acts []struct {
		RecordID int64  `db:"record_id"`
		Date     string `db:"on_date"`
	}
	if err := s.sel(ctx, tx, &acts, `SELECT record_id, on_date FROM record_actions WHERE kind = ? ORDER BY on_date, id`, register.ActionCETR); err != nil {
		return fmt.Errorf("c(e)tr actions: %w", err)
	}
	for _, a := range acts {
		if d, err := time.Parse(time.DateOnly, a.Date); err == nil && d.After(held[a.RecordID]) {
			held[a.RecordID] = d
		}
	}
	for _, id := range ids {
		r := recs[id]
		if r.State != register.RecordActive || (r.RAG != "Red" && r.RAG != "Blue") {
			continue
		}
		last, ok := held[id]
		switch {
		case !ok:
			f.CETRMissing = append(f.CETRMissing, r.ChildRef)
		case reviewAfter > 0 && last.Add(reviewAfter).Before(today):
			f.CETROverdue = append(f.CETROverdue, r.ChildRef)
		}
	}
	return nil
}

func (s *Store) digestHealth(ctx context.Context, tx *sqlx.Tx, f *DigestFigures) error {
	counts := []struct {
		dst   *int
		query string
		args  []any
	}{
		{&f.Quarantined, `SELECT COUNT(*) FROM messages WHERE state = ?`, []any{MessageQuarantined}},
		{&f.QuarantinedInPeriod, `SELECT COUNT(*) FROM audit WHERE action = ? AND at >= ? AND at < ?`, []any{"message.quarantine", f.Since, f.Until}},
		{&f.OutboxFailed, `SELECT COUNT(*) FROM outbox WHERE state = ?`, []any{OutboxFailed}},
		{&f.OutboxFailedInPeriod, `SELECT COUNT(*) FROM audit WHERE action = ? AND at >= ? AND at < ?`, []any{"outbox.failed", f.Since, f.Until}},
		{&f.OutboxBacklog, `SELECT COUNT(*) FROM outbox WHERE state = ? AND next_try_at <= ?`, []any{OutboxPending, f.Until}},
	}
	for _, c := range counts {
		if err := s.get(ctx, tx, c.dst, c.query, c.args...); err != nil {
			return fmt.Errorf("intake health: %w", err)
		}
	}
	// Not MAX(): SQLite returns an aggregate's time as text.
	var last []time.Time
	if err := s.sel(ctx, tx, &last, `SELECT received_at FROM messages ORDER BY received_at DESC LIMIT 1`); err != nil {
		return fmt.Errorf("intake health: %w", err)
	}
	if len(last) == 1 {
		l := last[0].UTC()
		f.LastReceived = &l
	}
	return nil
}

// PendingQuery is a case's latest query, sent, whose case still waits for
// the referrer.
type PendingQuery struct {
	QueryID    int64
	CaseID     int64
	CaseRef    string
	To         string
	Subject    string
	MessageID  string
	References []string
	SentAt     time.Time
	RemindedAt *time.Time
	NoReplyAt  *time.Time
}

// PendingQueries lists the queries waiting for a reply that the server
// accepted before sentBefore, oldest first, with their follow-ups.
func (s *Store) PendingQueries(ctx context.Context, sentBefore time.Time) ([]PendingQuery, error) {
	var rows []struct {
		ID         int64        `db:"id"`
		CaseID     int64        `db:"case_id"`
		Ref        string       `db:"ref"`
		Rcpt       []byte       `db:"rcpt"`
		Subject    []byte       `db:"subject"`
		MessageID  string       `db:"message_id"`
		Refs       string       `db:"refs"`
		SentAt     time.Time    `db:"sent_at"`
		RemindedAt sql.NullTime `db:"reminded_at"`
		NoReplyAt  sql.NullTime `db:"no_reply_at"`
	}
	if err := s.sel(ctx, s.db, &rows, `SELECT o.id, o.case_id, c.ref, o.rcpt, o.subject, o.message_id, o.refs, o.sent_at,
		f.reminded_at, f.no_reply_at FROM outbox o JOIN cases c ON c.id = o.case_id LEFT JOIN query_followups f ON f.query_id = o.id
		WHERE `+pendingQueryWhere+` AND o.sent_at < ? ORDER BY o.sent_at, o.id`, utc(sentBefore)); err != nil {
		return nil, fmt.Errorf("pending queries: %w", err)
	}
	out := make([]PendingQuery, 0, len(rows))
	for _, r := range rows {
		p := PendingQuery{QueryID: r.ID, CaseID: r.CaseID, CaseRef: r.Ref, MessageID: r.MessageID, References: strings.Fields(r.Refs),
			SentAt: r.SentAt.UTC(), RemindedAt: nullTime(r.RemindedAt), NoReplyAt: nullTime(r.NoReplyAt)}
		var err error
		if p.To, err = s.decString("outbox.rcpt", r.Rcpt); err != nil {
			return nil, fmt.Errorf("pending queries: %w", err)
		}
		if p.Subject, err = s.decString("outbox.subject", r.Subject); err != nil {
			return nil, fmt.Errorf("pending queries: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// stillPending reports whether query is still its case's latest query and
// the case still waits on it; it locks the case on PostgreSQL.
func (s *Store) stillPending(ctx context.Context, tx *sqlx.Tx, queryID int64) (caseID int64, ref string, ok bool, err error) {
	var r struct {
		CaseID int64  `db:"case_id"`
		Ref    string `db:"ref"`
	}
	err = s.get(ctx, tx, &r, `SELECT o.case_id, c.ref FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.id = ? AND `+pendingQueryWhere+s.forUpdateOf("c"), queryID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("read query: %w", err)
	}
	return r.CaseID, r.Ref, true, nil
}

// AddReminder queues a query's one reminder, m, in one transaction with
// the follow-up row that makes it the only one. It is not queued when the
// query has had its reminder (ReminderDone), when its case no longer waits
// on it (ReminderAnswered), or when m's address has had maxPerDay
// reminders in the last 24 hours (ReminderCapped; zero means no cap).
func (s *Store) AddReminder(ctx context.Context, queryID int64, m OutboxMessage, maxPerDay int) (result string, err error) {
	m.Kind = "reminder"
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", reminderLockKey); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		caseID, _, ok, err := s.stillPending(ctx, tx, queryID)
		if err != nil {
			return err
		}
		if !ok {
			result = ReminderAnswered
			return nil
		}
		var had int
		if err := s.get(ctx, tx, &had, `SELECT COUNT(*) FROM query_followups WHERE query_id = ?`, queryID); err != nil {
			return fmt.Errorf("read follow-up: %w", err)
		}
		if had > 0 {
			result = ReminderDone
			return nil
		}
		now := s.stamp()
		if maxPerDay > 0 {
			var n int
			if err := s.get(ctx, tx, &n, `SELECT COUNT(*) FROM outbox WHERE rcpt_index = ? AND kind = ? AND created_at > ?`,
				s.keys.emailIndex(m.To), "reminder", now.Add(-24*time.Hour)); err != nil {
				return fmt.Errorf("count reminders: %w", err)
			}
			if n >= maxPerDay {
				result = ReminderCapped
				return nil
			}
		}
		res, err := s.exec(ctx, tx, `INSERT INTO query_followups (query_id, case_id, reminded_at) VALUES (?, ?, ?)
			ON CONFLICT (query_id) DO NOTHING`, queryID, caseID, now)
		if err != nil {
			return fmt.Errorf("insert follow-up: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			result = ReminderDone
			return nil
		}
		m.CaseID = caseID
		id, err := s.addOutbox(ctx, tx, m, now)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE query_followups SET reminder_id = ? WHERE query_id = ?`, id, queryID); err != nil {
			return fmt.Errorf("update follow-up: %w", err)
		}
		result = ReminderQueued
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("add reminder: %w", err)
	}
	return result, nil
}

// NoReply sends the case of an unanswered, reminded query to review with
// reason no_reply, in one transaction with its review item and audit row.
// It returns false, changing nothing, when the query has had no reminder,
// was escalated before, or its case no longer waits on it.
func (s *Store) NoReply(ctx context.Context, queryID int64, message string) (bool, error) {
	done := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		caseID, ref, ok, err := s.stillPending(ctx, tx, queryID)
		if err != nil || !ok {
			return err
		}
		now := s.stamp()
		res, err := s.exec(ctx, tx, `UPDATE query_followups SET no_reply_at = ?
			WHERE query_id = ? AND reminded_at IS NOT NULL AND no_reply_at IS NULL`, now, queryID)
		if err != nil {
			return fmt.Errorf("update follow-up: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		reasons := []register.Reason{{Code: ReasonNoReply, Message: message}}
		ct, err := s.encJSON("cases.reasons", reasons)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, outcome = ?, reason_codes = ?, reasons = ?, updated_at = ? WHERE id = ?`,
			CaseInReview, string(register.OutcomeReview), ReasonNoReply, ct, now, caseID); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		if _, err := s.addReviewItem(ctx, tx, caseID, 0, reasons, now); err != nil {
			return err
		}
		done = true
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: ActorIntake, Action: "case.no_reply", Entity: "case", EntityID: caseID,
			CaseRef: ref, Detail: fmt.Sprintf("query=%d", queryID)})
	})
	if err != nil {
		return false, fmt.Errorf("no reply: %w", err)
	}
	return done, nil
}
