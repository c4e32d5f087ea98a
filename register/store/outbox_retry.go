package store

import (
	"context"
	"database/sql"
	"dsr-intake/register"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReasonQueryNotDelivered is the review reason of a case whose query the
// outbox gave up on: the case was waiting for an answer to a question
// nobody received.
const ReasonQueryNotDelivered = register.CodeQueryNotDelivered

// SendFailure is one failed send of an outbox email.
type SendFailure struct {
	Error string
	// Answered is set when the server replied (a refusal): that counts as
	// a try. A connection that failed or a sender that stopped does not.
	Answered bool
	At       time.Time
	// NextTry is when to try again; zero gives the email up.
	NextTry time.Time
}

// GaveUp is what giving an email up did.
type GaveUp struct {
	// CaseRef is set when the email was the query its case was waiting on:
	// the case is now in the review queue as query_not_delivered.
	CaseRef string
}

// RecordSendFailure records a failed send and releases the claim. The
// email's failing_since is set at its first failure. Giving up a query its
// case still waits on sends the case to review as query_not_delivered, in
// the same transaction, so no case waits on a question nobody was asked.
func (s *Store) RecordSendFailure(ctx context.Context, id int64, f SendFailure) (GaveUp, error) {
	lastErr, err := s.encString("outbox.last_error", f.Error)
	if err != nil {
		return GaveUp{}, fmt.Errorf("record send failure: %w", err)
	}
	at := utc(f.At)
	state, next := OutboxPending, utc(f.NextTry)
	if f.NextTry.IsZero() {
		state, next = OutboxFailed, at
	}
	tried := 0
	if f.Answered {
		tried = 1
	}
	var out GaveUp
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE outbox SET state = ?, next_try_at = ?, claimed_until = NULL, last_error = ?,
			tries = tries + ?, failing_since = COALESCE(failing_since, ?) WHERE id = ? AND state = ?`,
			state, next, lastErr, tried, at, id, OutboxPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if state != OutboxFailed {
			return nil
		}
		if err := s.audit(ctx, tx, AuditEntry{At: at, Actor: ActorIntake, Action: "outbox.failed", Entity: "outbox", EntityID: id}); err != nil {
			return err
		}
		out.CaseRef, err = s.queryNotDelivered(ctx, tx, id, at)
		return err
	})
	if err != nil {
		return GaveUp{}, fmt.Errorf("record send failure: %w", err)
	}
	return out, nil
}

// maxBounced bounds the Message-IDs one delivery report is looked up by.
const maxBounced = 16

// QueriesBounced is RecordSendFailure for a delivery report that comes
// back after the server took the email, as Exchange's do: each of ids
// (the Message-IDs the report says could not be delivered) that is the
// query its case still waits on sends the case to review as
// query_not_delivered. It returns those cases' references. A report read
// again (after a crash) changes nothing more, so the intake records it
// before it decides on the report itself.
func (s *Store) QueriesBounced(ctx context.Context, ids []string, at time.Time) ([]string, error) {
	var refs []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		refs = refs[:0]
		for _, id := range ids[:min(len(ids), maxBounced)] {
			var qid int64
			err := s.get(ctx, tx, &qid, `SELECT id FROM outbox WHERE message_id = ? AND kind = 'query' ORDER BY id DESC LIMIT 1`,
				strings.Trim(id, "<>"))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("find query: %w", err)
			}
			ref, err := s.queryNotDelivered(ctx, tx, qid, utc(at))
			if err != nil {
				return err
			}
			if ref != "" {
				refs = append(refs, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queries bounced: %w", err)
	}
	return refs, nil
}

// queryNotDelivered sends the case of a given-up query to review, when the
// case is still waiting on that query; it returns the case's reference,
// or "" when it changed nothing.
func (s *Store) queryNotDelivered(ctx context.Context, tx *sqlx.Tx, queryID int64, now time.Time) (string, error) {
	var r struct {
		CaseID int64  `db:"case_id"`
		Ref    string `db:"ref"`
	}
	err := s.get(ctx, tx, &r, `SELECT o.case_id, c.ref FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.id = ? AND o.kind = 'query' AND c.state = ?
		AND o.id = (SELECT MAX(o2.id) FROM outbox o2 WHERE o2.case_id = o.case_id AND o2.kind = 'query')`+s.forUpdateOf("c"),
		queryID, CaseAwaitingInformation)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read query's case: %w", err)
	}
	reasons := []register.Reason{register.QueryNotDeliveredReason()}
	ct, err := s.encJSON("cases.reasons", reasons)
	if err != nil {
		return "", err
	}
	if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, outcome = ?, reason_codes = ?, reasons = ?, updated_at = ? WHERE id = ?`,
		CaseInReview, string(register.OutcomeReview), ReasonQueryNotDelivered, ct, now, r.CaseID); err != nil {
		return "", fmt.Errorf("update case: %w", err)
	}
	if _, err := s.addReviewItem(ctx, tx, r.CaseID, 0, reasons, now); err != nil {
		return "", err
	}
	if err := s.audit(ctx, tx, AuditEntry{At: now, Actor: ActorIntake, Action: "case.query_not_delivered", Entity: "case",
		EntityID: r.CaseID, CaseRef: r.Ref, Detail: fmt.Sprintf("query=%d", queryID)}); err != nil {
		return "", err
	}
	return r.Ref, nil
}

// DeferOutbox releases a claimed email unsent, to be tried from until: a
// send held back (by a rate limit) is not a try and does not fail.
func (s *Store) DeferOutbox(ctx context.Context, id int64, until time.Time) error {
	res, err := s.exec(ctx, s.db, `UPDATE outbox SET next_try_at = ?, claimed_until = NULL WHERE id = ? AND state = ?`,
		utc(until), id, OutboxPending)
	if err != nil {
		return fmt.Errorf("defer outbox: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("defer outbox: %w", ErrNotFound)
	}
	return nil
}

// QueriesSent counts the queries the server accepted in [from, until):
// those to addr (matched through its blind index) and those of caseID,
// for the loop limits, which hold a query back rather than drop it.
func (s *Store) QueriesSent(ctx context.Context, addr string, caseID int64, from, until time.Time) (toAddr, forCase int, err error) {
	if err := s.get(ctx, s.db, &toAddr, `SELECT COUNT(*) FROM outbox WHERE rcpt_index = ? AND kind = 'query' AND state = ?
		AND sent_at >= ? AND sent_at < ?`, s.keys.emailIndex(addr), OutboxSent, utc(from), utc(until)); err != nil {
		return 0, 0, fmt.Errorf("count queries sent to recipient: %w", err)
	}
	if caseID != 0 {
		if err := s.get(ctx, s.db, &forCase, `SELECT COUNT(*) FROM outbox WHERE case_id = ? AND kind = 'query' AND state = ?
			AND sent_at >= ? AND sent_at < ?`, caseID, OutboxSent, utc(from), utc(until)); err != nil {
			return 0, 0, fmt.Errorf("count queries sent for case: %w", err)
		}
	}
	return toAddr, forCase, nil
}

// queriesNotDelivered counts the open review items of cases whose query
// was given up, for the dashboard and the metrics.
func (s *Store) queriesNotDelivered(ctx context.Context) (int, error) {
	var n int
	if err := s.get(ctx, s.db, &n, `SELECT COUNT(*) FROM review_items WHERE state = ? AND reason_codes = ?`,
		ReviewOpen, ReasonQueryNotDelivered); err != nil {
		return 0, fmt.Errorf("count queries not delivered: %w", err)
	}
	return n, nil
}
