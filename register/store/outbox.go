package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Outbox states.
const (
	OutboxPending   = "pending"
	OutboxSent      = "sent"
	OutboxFailed    = "failed"    // given up after the last attempt
	OutboxCancelled = "cancelled" // its case's data was erased before it went
)

// OutboxItem is an outbox row as a sender sees it.
type OutboxItem struct {
	ID         int64
	Kind       string
	CaseID     int64
	CaseRef    string
	To         string
	Subject    string
	Body       string
	HTML       string
	MessageID  string
	InReplyTo  string
	References []string
	State      string
	Attempts   int // claims so far, this one included
	NextTryAt  time.Time
	LastError  string
	CreatedAt  time.Time
	SentAt     *time.Time

	// Tries counts the sends the server answered (accepted or refused);
	// a sender that died holding the email is not one.
	Tries int
	// FailingSince is when the email's sends began to fail (zero while
	// none has): its lifetime and backoff are measured from it.
	FailingSince time.Time
	// Orphaned is set when a sender's claim ran out without a result
	// (it crashed): that sender may have sent the email.
	Orphaned bool
}

func (s *Store) addOutbox(ctx context.Context, tx *sqlx.Tx, m OutboxMessage, now time.Time) (int64, error) {
	args, err := s.outboxValues(m, now)
	if err != nil {
		return 0, err
	}
	id, err := s.insert(ctx, tx, outboxInsert, args...)
	if err != nil {
		return 0, fmt.Errorf("insert outbox: %w", err)
	}
	if err := s.audit(ctx, tx, outboxAudit(m, id, now)); err != nil {
		return 0, err
	}
	return id, nil
}

const outboxInsert = `INSERT INTO outbox (kind, case_id, message_id, in_reply_to, refs, rcpt_index, rcpt,
		subject, body, html, state, attempts, next_try_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`

// outboxValues checks an outbox email and returns outboxInsert's values,
// its personal fields encrypted.
func (s *Store) outboxValues(m OutboxMessage, now time.Time) ([]any, error) {
	if strings.TrimSpace(m.To) == "" {
		return nil, errors.New("outbox message without a recipient")
	}
	if m.MessageID == "" {
		return nil, errors.New("outbox message without a Message-ID")
	}
	if m.Kind == "" {
		return nil, errors.New("outbox message without a kind")
	}
	rcpt, err := s.encString("outbox.rcpt", m.To)
	if err != nil {
		return nil, err
	}
	subject, err := s.encString("outbox.subject", m.Subject)
	if err != nil {
		return nil, err
	}
	body, err := s.encString("outbox.body", m.Body)
	if err != nil {
		return nil, err
	}
	html, err := s.encString("outbox.html", m.HTML)
	if err != nil {
		return nil, err
	}
	return []any{m.Kind, nullID(m.CaseID), strings.Trim(m.MessageID, "<>"), strings.Trim(m.InReplyTo, "<>"), strings.Join(m.References, " "),
		s.keys.emailIndex(m.To), rcpt, subject, body, html, OutboxPending, now, now}, nil
}

func outboxAudit(m OutboxMessage, id int64, now time.Time) AuditEntry {
	return AuditEntry{At: now, Actor: ActorIntake, Action: "outbox.queue", Entity: "outbox", EntityID: id, Detail: "kind=" + m.Kind}
}

// Enqueue writes emails to the outbox outside Apply (digests, reminders).
func (s *Store) Enqueue(ctx context.Context, msgs ...OutboxMessage) ([]int64, error) {
	var ids []int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.stamp()
		for _, m := range msgs {
			id, err := s.addOutbox(ctx, tx, m, now)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return ids, nil
}

type outboxRow struct {
	ID        int64          `db:"id"`
	Kind      string         `db:"kind"`
	CaseID    sql.NullInt64  `db:"case_id"`
	CaseRef   sql.NullString `db:"case_ref"`
	MessageID string         `db:"message_id"`
	InReplyTo string         `db:"in_reply_to"`
	Refs      string         `db:"refs"`
	Rcpt      []byte         `db:"rcpt"`
	Subject   []byte         `db:"subject"`
	Body      []byte         `db:"body"`
	HTML      []byte         `db:"html"`
	State     string         `db:"state"`
	Attempts  int            `db:"attempts"`
	Tries     int            `db:"tries"`
	Failing   sql.NullTime   `db:"failing_since"`
	Orphaned  bool           `db:"orphaned"`
	NextTryAt time.Time      `db:"next_try_at"`
	LastError []byte         `db:"last_error"`
	CreatedAt time.Time      `db:"created_at"`
	SentAt    sql.NullTime   `db:"sent_at"`
}

func (s *Store) outboxItem(r outboxRow) (OutboxItem, error) {
	it := OutboxItem{ID: r.ID, Kind: r.Kind, CaseID: r.CaseID.Int64, CaseRef: r.CaseRef.String, MessageID: r.MessageID,
		InReplyTo: r.InReplyTo, References: strings.Fields(r.Refs), State: r.State, Attempts: r.Attempts,
		Tries: r.Tries, Orphaned: r.Orphaned, NextTryAt: r.NextTryAt.UTC(), CreatedAt: r.CreatedAt.UTC(), SentAt: nullTime(r.SentAt)}
	if r.Failing.Valid {
		it.FailingSince = r.Failing.Time.UTC()
	}
	var err error
	for _, f := range []struct {
		col string
		ct  []byte
		dst *string
	}{{"outbox.rcpt", r.Rcpt, &it.To}, {"outbox.subject", r.Subject, &it.Subject}, {"outbox.body", r.Body, &it.Body},
		{"outbox.html", r.HTML, &it.HTML}, {"outbox.last_error", r.LastError, &it.LastError}} {
		if *f.dst, err = s.decString(f.col, f.ct); err != nil {
			return OutboxItem{}, err
		}
	}
	return it, nil
}

// ClaimOutbox claims up to limit emails that are due and not claimed by
// another sender, for lease: until the lease ends no other sender gets
// them, and a sender that dies before MarkSent releases them by timing out.
// On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED so senders
// never wait on each other; SQLite's single writer does the same job.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = utc(now)
	// What is sent cannot be taken back, so only emails whose rows are on
	// disk are claimed: those committed before a Barrier, which are the
	// ones visible before it (ids up to upTo). With nothing claimable (all
	// due rows leased to a sender) there is no barrier either.
	var upTo int64
	if err := s.get(ctx, s.db, &upTo, `SELECT COALESCE(MAX(id), 0) FROM outbox WHERE state = ? AND next_try_at <= ?
		AND (claimed_until IS NULL OR claimed_until <= ?)`, OutboxPending, now, now); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	if upTo == 0 {
		return nil, nil
	}
	if err := s.Barrier(ctx); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []outboxRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// A claim still standing (claimed_until set) ran out without a
		// result: its sender died, perhaps after sending.
		if err := s.sel(ctx, tx, &rows, `UPDATE outbox SET claimed_until = ?, attempts = attempts + 1,
				orphaned = CASE WHEN claimed_until IS NULL THEN orphaned ELSE 1 END
			WHERE id IN (SELECT id FROM outbox WHERE state = ? AND next_try_at <= ? AND id <= ?
				AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_try_at, id LIMIT ?`+lock+`)
			RETURNING id, kind, case_id, NULL AS case_ref, message_id, in_reply_to, refs, rcpt, subject, body, html,
				state, attempts, tries, failing_since, orphaned, next_try_at, last_error, created_at, sent_at`,
			utc(now.Add(lease)), OutboxPending, now, upTo, now, limit); err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		for i := range rows {
			if rows[i].CaseID.Valid {
				if err := s.get(ctx, tx, &rows[i].CaseRef, `SELECT ref FROM cases WHERE id = ?`, rows[i].CaseID.Int64); err != nil {
					return fmt.Errorf("read case ref: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	out, err := convertRows(rows, s.outboxItem)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	return out, nil
}

// MarkSent records that the server accepted an email. Marking twice changes
// nothing.
func (s *Store) MarkSent(ctx context.Context, id int64, now time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE outbox SET state = ?, sent_at = ?, claimed_until = NULL, last_error = NULL,
			tries = tries + 1 WHERE id = ? AND state = ?`, OutboxSent, utc(now), id, OutboxPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := s.get(ctx, tx, &st, `SELECT state FROM outbox WHERE id = ?`, id); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			return nil
		}
		return s.audit(ctx, tx, AuditEntry{At: utc(now), Actor: ActorIntake, Action: "outbox.sent", Entity: "outbox", EntityID: id})
	})
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// MarkSendFailed records a failed attempt the server answered and
// releases the claim; the email is tried again from nextTry, or never
// again when nextTry is zero (see RecordSendFailure).
func (s *Store) MarkSendFailed(ctx context.Context, id int64, errText string, nextTry time.Time) error {
	_, err := s.RecordSendFailure(ctx, id, SendFailure{Error: errText, Answered: true, At: s.stamp(), NextTry: nextTry})
	if err != nil {
		return fmt.Errorf("mark send failed: %w", err)
	}
	return nil
}

// Outbox returns one outbox row.
func (s *Store) Outbox(ctx context.Context, id int64) (OutboxItem, error) {
	var r outboxRow
	err := s.get(ctx, s.db, &r, `SELECT o.id, o.kind, o.case_id, c.ref AS case_ref, o.message_id, o.in_reply_to, o.refs, o.rcpt,
		o.subject, o.body, o.html, o.state, o.attempts, o.tries, o.failing_since, o.orphaned, o.next_try_at, o.last_error, o.created_at, o.sent_at
		FROM outbox o LEFT JOIN cases c ON c.id = o.case_id WHERE o.id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxItem{}, ErrNotFound
	}
	if err != nil {
		return OutboxItem{}, fmt.Errorf("read outbox: %w", err)
	}
	return s.outboxItem(r)
}
