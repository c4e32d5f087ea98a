package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// applyPipelined is Apply's transaction on PostgreSQL, in at most four
// round trips for an email under rawChunk bytes: statement by statement it
// took 14 to 17, each a wait for a backend that shares the machine's CPUs
// with the PDF readers (issue 19). Its statements are sent as pgx
// pipelines (one wait each):
//
//  1. begin; look the email up (by Message-ID and sender, by hash); insert
//     its row; find and lock its case;
//  2. (after decide) create the case with its reference counter in one
//     statement, or count the case's queries; lock the child's record;
//  3. (after compose) the rows whose ids the audit names: outbox emails,
//     the review item, a new record;
//  4. everything else (the case's decision, the record's update and RAG
//     history, the message, its raw chunks, the audit rows in one insert)
//     and the commit.
//
// A step with nothing to send is skipped. Rarer paths cost more: a record
// inserted by another daemon at the same moment (one more, to lock it), a
// raw email over rawChunk (one per chunk, so that its ciphertext is never
// whole in memory); an email found already applied ends after step 1
// with one more (the commit, with its new place if it moved, or the
// rollback). It keeps the statement-by-statement path's
// locking order (message, case, record) and results, which the store's
// suite checks on both databases.
func (s *Store) applyPipelined(ctx context.Context, in Incoming, sub *parser.Submission,
	decide func(register.CaseForms) register.Decision, compose func(CaseInfo, register.Decision) []OutboxMessage,
) (Applied, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Applied{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	var out Applied
	var applyErr error
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		out, applyErr = s.applyOn(ctx, pc, in, sub, decide, compose)
		if pc.PgConn().TxStatus() == 'I' {
			return nil
		}
		// An error left the transaction open: end it, or drop the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if _, err := pc.Exec(rctx, "ROLLBACK"); err != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	if applyErr != nil {
		return out, applyErr
	}
	if err != nil {
		return Applied{}, fmt.Errorf("apply: %w", err)
	}
	return out, nil
}

// rollbackTimeout bounds the rollback after a failed pipeline; a
// connection that cannot roll back within it is dropped.
const rollbackTimeout = 5 * time.Second

// pgFindCase is findCase as one statement: the case of the first thread
// Message-ID (an email we sent, else one received) that has one, else the
// case named by the subject's reference, locked.
const pgFindCase = `SELECT c.id, c.ref, c.state, c.forms FROM cases c WHERE c.id = COALESCE(
	(SELECT t.case_id FROM (SELECT ids.n, COALESCE(
		(SELECT o.case_id FROM outbox o WHERE o.message_id = ids.id AND o.case_id IS NOT NULL ORDER BY o.id LIMIT 1),
		(SELECT m.case_id FROM messages m WHERE m.message_id = ids.id AND m.hash <> $2 AND m.case_id IS NOT NULL ORDER BY m.id LIMIT 1)) AS case_id
		FROM unnest($1::text[]) WITH ORDINALITY AS ids(id, n)) t
	 WHERE t.case_id IS NOT NULL ORDER BY t.n LIMIT 1),
	(SELECT id FROM cases WHERE ref = $3 AND $3 <> '')) FOR UPDATE OF c`

// pgNewCase is newCase's two statements as one: the year's counter moves
// on and the case takes its number.
const pgNewCase = `WITH n AS (INSERT INTO case_counters (year, last) VALUES ($1::int, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1 RETURNING last)
	INSERT INTO cases (ref, year, seq, state, created_at, updated_at)
	SELECT 'DSR-' || lpad(($1::int)::text, 4, '0') || '-' || lpad(n.last::text, greatest(6, length(n.last::text)), '0'),
		$1::int, n.last, 'new', $2, $2 FROM n RETURNING id, ref, seq`

func (s *Store) applyOn(ctx context.Context, pc *pgx.Conn, in Incoming, sub *parser.Submission,
	decide func(register.CaseForms) register.Decision, compose func(CaseInfo, register.Decision) []OutboxMessage,
) (Applied, error) {
	now, received, senderIdx := s.applyStamps(in, sub)
	rb := s.db.Rebind
	send := func(b *pgx.Batch) error {
		if b.Len() == 0 {
			return nil
		}
		return pc.SendBatch(ctx, b).Close()
	}
	scanMessage := func(dst **messageRow, what string) func(pgx.Row) error {
		return func(row pgx.Row) error {
			var r messageRow
			err := row.Scan(&r.ID, &r.Hash, &r.MessageID, &r.Mailbox, &r.UIDValidity, &r.UID, &r.CaseID, &r.State,
				&r.Outcome, &r.Reasons, &r.Attempts, &r.LastError, &r.ReceivedAt, &r.DecidedAt, &r.CaseRef, &r.CaseState)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			*dst = &r
			return nil
		}
	}

	// (1) Begin; seen before?; the message's row; its case.
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// The decision need not be on disk when the commit returns: nothing
	// leaves the inbox or is sent before a Barrier.
	b.Queue(`SET LOCAL synchronous_commit TO OFF`)
	var dup, prev *messageRow
	if in.MessageID != "" {
		b.Queue(rb(`SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id
			WHERE m.message_id = ? AND m.sender_index = ? AND m.hash <> ? AND m.state IN (?, ?) ORDER BY m.id LIMIT 1`),
			in.MessageID, senderIdx, in.Hash, MessageDecided, MessageMoved).QueryRow(scanMessage(&dup, "find by message-id"))
	}
	var msgID int64
	fresh := false // no raw email kept for it yet
	b.Queue(rb(`INSERT INTO messages (hash, state, received_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING RETURNING id`), in.Hash, MessageNew, received, now, now).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&msgID)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("insert message: %w", err)
			}
			fresh = true
			return nil
		})
	b.Queue(rb(`SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id
		WHERE m.hash = ? FOR UPDATE OF m`), in.Hash).QueryRow(scanMessage(&prev, "read message"))
	var c caseRow
	b.Queue(pgFindCase, threadIDs(sub), in.Hash, caseRefOf(sub)).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&c.ID, &c.Ref, &c.State, &c.forms)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find case: %w", err)
		}
		return nil
	})
	if err := send(b); err != nil {
		return Applied{}, err
	}
	if dup != nil {
		out, err := s.duplicateOf(*dup)
		if err != nil {
			return Applied{}, err
		}
		return out, errDuplicateRollback
	}
	if !fresh {
		if prev == nil {
			return Applied{}, errors.New("read message: neither inserted nor found")
		}
		if applied(prev.State) {
			out, err := s.duplicateOf(*prev)
			if err != nil {
				return Applied{}, err
			}
			out.SameBytes = true
			b := &pgx.Batch{}
			if in.Mailbox != "" && (prev.Mailbox != in.Mailbox || prev.UIDValidity != int64(in.UIDValidity) || prev.UID != int64(in.UID)) {
				b.Queue(rb(`UPDATE messages SET mailbox = ?, uid_validity = ?, uid = ?, updated_at = ? WHERE id = ?`),
					in.Mailbox, int64(in.UIDValidity), int64(in.UID), now, prev.ID)
			}
			b.Queue(`COMMIT`)
			if err := send(b); err != nil {
				return Applied{}, fmt.Errorf("update message location: %w", err)
			}
			return out, nil
		}
		// A failed or quarantined message being processed again.
		msgID = prev.ID
	}

	// Decide on the case's forms as they stood before this email.
	earlier, d, err := s.decideOn(c, decide)
	if err != nil {
		return Applied{}, err
	}
	out := Applied{Decision: d}
	merged := mergeForms(earlier, sub)

	// (2) The case (new, or its queries counted); the record locked.
	var audits []AuditEntry
	b = &pgx.Batch{}
	if d.Outcome != register.OutcomeIgnore && c.ID == 0 {
		year := received.Year()
		b.Queue(pgNewCase, year, now).QueryRow(func(row pgx.Row) error {
			var seq int64
			if err := row.Scan(&c.ID, &c.Ref, &seq); err != nil {
				return fmt.Errorf("allocate case reference: %w", err)
			}
			if c.Ref != caseRef(year, seq) {
				return fmt.Errorf("allocate case reference: got %q for %d/%d", c.Ref, year, seq)
			}
			c.Created = true
			audits = append(audits, caseCreateAudit(c.ID, c.Ref, now))
			return nil
		})
	} else if c.ID != 0 {
		b.Queue(rb(`SELECT COUNT(*) FROM outbox WHERE case_id = ? AND kind = ?`), c.ID, "query").QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&c.Queries); err != nil {
				return fmt.Errorf("count queries for case: %w", err)
			}
			return nil
		})
	}
	var rv recordValues
	var rec struct {
		found bool
		id    int64
		rag   string
	}
	lockRecord := func(row pgx.Row) error {
		err := row.Scan(&rec.id, &rec.rag)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		rec.found = true
		return nil
	}
	if d.Outcome == register.OutcomeRegister {
		var err error
		if rv, err = s.recordValuesFor(merged, now); err != nil {
			return Applied{}, err
		}
		b.Queue(rb(`SELECT id, rag FROM records WHERE nhs_index = ? FOR UPDATE`), rv.idx).QueryRow(lockRecord)
	}
	if err := send(b); err != nil {
		return Applied{}, err
	}
	if d.Outcome != register.OutcomeIgnore {
		c.State = caseStateFor(d.Outcome)
	}
	out.Case = c.CaseInfo

	// (3) The rows the audit names by id.
	msgs := compose(out.Case, d)
	out.Outbox = make([]int64, len(msgs))
	b = &pgx.Batch{}
	var reviewID int64
	var reviewCodes string
	if d.Outcome == register.OutcomeReview {
		ct, err := s.encJSON("review_items.reasons", d.Reasons)
		if err != nil {
			return Applied{}, err
		}
		reviewCodes = reasonCodes(d)
		b.Queue(rb(reviewItemInsert+" RETURNING id"), nullID(c.ID), nullID(msgID), reviewCodes, ct, ReviewOpen, now).
			QueryRow(func(row pgx.Row) error {
				if err := row.Scan(&reviewID); err != nil {
					return fmt.Errorf("insert review item: %w", err)
				}
				return nil
			})
	}
	inserted := false
	if d.Outcome == register.OutcomeRegister && !rec.found {
		b.Queue(rb(recordInsert+" RETURNING id"), rv.insertArgs()...).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&rec.id)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // inserted by another daemon since (2): locked and updated below
			}
			if err != nil {
				return fmt.Errorf("insert record: %w", err)
			}
			inserted = true
			return nil
		})
	}
	for i, m := range msgs {
		if m.CaseID == 0 {
			m.CaseID = c.ID
		}
		args, err := s.outboxValues(m, now)
		if err != nil {
			return Applied{}, err
		}
		b.Queue(rb(outboxInsert+" RETURNING id"), args...).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&out.Outbox[i]); err != nil {
				return fmt.Errorf("insert outbox: %w", err)
			}
			return nil
		})
	}
	if err := send(b); err != nil {
		return Applied{}, err
	}
	if d.Outcome == register.OutcomeRegister && !rec.found && !inserted {
		b = &pgx.Batch{}
		b.Queue(rb(`SELECT id, rag FROM records WHERE nhs_index = ? FOR UPDATE`), rv.idx).QueryRow(lockRecord)
		if err := send(b); err != nil {
			return Applied{}, err
		}
		if !rec.found {
			return Applied{}, errors.New("read record: neither inserted nor found")
		}
	}
	if reviewID != 0 {
		audits = append(audits, reviewOpenAudit(reviewID, reviewCodes, now))
	}

	// (4) The rest, and the commit.
	b = &pgx.Batch{}
	if d.Outcome != register.OutcomeIgnore {
		args, err := s.caseDecisionValues(c.State, merged, d, now)
		if err != nil {
			return Applied{}, err
		}
		// The record, when there is one, is linked in the same statement.
		b.Queue(rb(`UPDATE cases SET state = ?, forms = ?, outcome = ?, reason_codes = ?, reasons = ?, updated_at = ?,
			record_id = COALESCE(?, record_id) WHERE id = ?`), append(args, nullID(rec.id), c.ID)...)
	}
	if d.Outcome == register.OutcomeRegister {
		out.RecordID = rec.id
		action, from := "record.create", ""
		if rec.found {
			b.Queue(rb(recordUpdate), append(rv.args, rec.id)...)
			action, from = "record.update", rec.rag
		}
		if from != rv.rag {
			b.Queue(rb(ragHistoryInsert), rec.id, now, ActorIntake, from, rv.rag, rv.why)
		}
		audits = append(audits, rv.auditEntry(action, rec.id, c.Ref, now))
	}
	for i, m := range msgs {
		audits = append(audits, outboxAudit(m, out.Outbox[i], now))
	}
	args, err := s.messageDecisionValues(in, sub, senderIdx, c.ID, d, received, now, msgID)
	if err != nil {
		return Applied{}, err
	}
	b.Queue(rb(messageDecide), args...)
	if in.Raw != nil {
		if !fresh {
			b.Queue(rb(`DELETE FROM message_raw WHERE message_id = ?`), msgID)
		}
		if len(in.Raw) > rawChunk {
			// Each chunk goes alone, sealed just before it is sent.
			if err := send(b); err != nil {
				return Applied{}, err
			}
			b = &pgx.Batch{}
			err := eachRawChunk(in.Raw, func(seq int, chunk []byte) error {
				ct, release, err := s.sealRaw(chunk)
				if err != nil {
					return err
				}
				defer release() // send has returned by then
				cb := &pgx.Batch{}
				cb.Queue(rb(rawInsert), msgID, seq, ct)
				if err := send(cb); err != nil {
					return fmt.Errorf("store raw message chunk %d: %w", seq, err)
				}
				return nil
			})
			if err != nil {
				return Applied{}, err
			}
		} else {
			ct, release, err := s.sealRaw(in.Raw)
			if err != nil {
				return Applied{}, err
			}
			// Given back once this function has returned: the batch
			// holding it has been sent by then, or abandoned.
			defer release()
			b.Queue(rb(rawInsert), msgID, 0, ct)
		}
	}
	audits = append(audits, decideAudit(msgID, c.Ref, d, now))
	query, auditArgs := auditInsert(audits)
	b.Queue(rb(query), auditArgs...)
	b.Queue(`COMMIT`)
	if err := send(b); err != nil {
		return Applied{}, err
	}
	return out, nil
}
