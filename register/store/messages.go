package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// Message states.
const (
	MessageNew         = "new"         // row made inside Apply's transaction, never seen committed
	MessageDecided     = "decided"     // applied; the IMAP move may not have happened yet
	MessageMoved       = "moved"       // applied and moved out of the inbox
	MessageFailed      = "failed"      // the pipeline failed; will be retried
	MessageQuarantined = "quarantined" // failed too often; waits in the review queue
)

// Case states.
const (
	CaseAwaitingInformation = "awaiting_information"
	CaseInReview            = "in_review"
	CaseRegistered          = "registered"
	CaseClosed              = "closed"
	CaseWithdrawn           = "withdrawn"
)

// ActorIntake is the audit actor for what the daemon does by itself.
const ActorIntake = "intake"

// Incoming is one email as the intake hands it to Apply.
type Incoming struct {
	Hash        string // hex SHA-256 of the raw message: the identity
	MessageID   string // may be empty
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	Raw         []byte // stored encrypted
	Submission  *parser.Submission
	ReceivedAt  time.Time
}

// CaseInfo is the case an email was applied to.
type CaseInfo struct {
	ID      int64
	Ref     string
	State   string
	Created bool
	// Queries is how many query emails the case had caused before this
	// email, counted inside Apply's transaction, for compose's loop limit
	// (calling the store from inside compose would need a second
	// connection while the transaction holds one).
	Queries int
}

// OutboxMessage is an email a decision causes, written to the outbox in the
// decision's transaction.
type OutboxMessage struct {
	Kind       string // query, notice, reminder, digest
	To         string
	Subject    string
	Body       string // plain text
	HTML       string
	MessageID  string // set by the caller, recorded so replies find the case
	InReplyTo  string
	References []string
	CaseID     int64 // 0: the case being applied, if any
}

// Applied is what Apply did.
type Applied struct {
	// Duplicate is set when the message had been applied before; nothing
	// else changed and Decision is the earlier one.
	Duplicate bool
	// SameBytes is set, with Duplicate, when these very bytes (the same
	// hash) were applied before: a second copy of one email, rather than a
	// re-delivery of it with other headers.
	SameBytes bool
	Decision  register.Decision
	Case      CaseInfo // zero when the message has no case (an ignored auto reply)
	RecordID  int64    // the record created or updated by a register decision
	Outbox    []int64  // outbox rows written
}

type messageRow struct {
	ID          int64          `db:"id"`
	Hash        string         `db:"hash"`
	MessageID   string         `db:"message_id"`
	Mailbox     string         `db:"mailbox"`
	UIDValidity int64          `db:"uid_validity"`
	UID         int64          `db:"uid"`
	CaseID      sql.NullInt64  `db:"case_id"`
	State       string         `db:"state"`
	Outcome     string         `db:"outcome"`
	Reasons     []byte         `db:"reasons"`
	Attempts    int            `db:"attempts"`
	LastError   []byte         `db:"last_error"`
	ReceivedAt  time.Time      `db:"received_at"`
	DecidedAt   sql.NullTime   `db:"decided_at"`
	CaseRef     sql.NullString `db:"case_ref"`
	CaseState   sql.NullString `db:"case_state"`
}

const messageCols = `m.id, m.hash, m.message_id, m.mailbox, m.uid_validity, m.uid, m.case_id, m.state,
	m.outcome, m.reasons, m.attempts, m.last_error, m.received_at, m.decided_at,
	c.ref AS case_ref, c.state AS case_state`

func applied(state string) bool { return state == MessageDecided || state == MessageMoved }

// errDuplicateRollback ends Apply's transaction without changes when the
// message turns out to be a duplicate under another hash.
var errDuplicateRollback = errors.New("duplicate")

// Apply records one email and everything its decision causes in one
// transaction: the message, its case, the case's forms and decision, the
// review item, the register record, the outbox emails and the audit rows.
// A crash or an error leaves none of it. decide and compose must be pure:
// they run inside the transaction and may run again on a retry.
func (s *Store) Apply(ctx context.Context, in Incoming,
	decide func(earlier register.CaseForms) register.Decision,
	compose func(c CaseInfo, d register.Decision) []OutboxMessage,
) (Applied, error) {
	if in.Hash == "" {
		return Applied{}, errors.New("apply: message without a hash")
	}
	sub := in.Submission
	if sub == nil {
		sub = &parser.Submission{}
	}
	var out Applied
	var err error
	for attempt := 1; ; attempt++ {
		if s.dialect == dialectPostgres {
			out, err = s.applyPipelined(ctx, in, sub, decide, compose)
		} else {
			err = s.inTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				out, err = s.apply(ctx, tx, in, sub, decide, compose)
				return err
			})
		}
		// PostgreSQL may pick this transaction as a deadlock victim when
		// daemons apply mail for the same child at once; it rolled back
		// whole, so running it again is safe.
		if attempt == 3 || !retryable(err) {
			break
		}
		s.log.Warn("apply: retrying after a conflict", "attempt", attempt)
	}
	if errors.Is(err, errDuplicateRollback) {
		return out, nil
	}
	if err != nil {
		return Applied{}, fmt.Errorf("apply message: %w", err)
	}
	return out, nil
}

// retryable reports PostgreSQL's deadlock and serialization failures.
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

func (s *Store) apply(ctx context.Context, tx *sqlx.Tx, in Incoming, sub *parser.Submission,
	decide func(register.CaseForms) register.Decision, compose func(CaseInfo, register.Decision) []OutboxMessage,
) (Applied, error) {
	now, received, senderIdx := s.applyStamps(in, sub)

	// (1) Seen before? The same Message-ID from the same sender under
	// another hash is the same email re-delivered with other headers.
	if in.MessageID != "" {
		var prev messageRow
		err := s.get(ctx, tx, &prev, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id
			WHERE m.message_id = ? AND m.sender_index = ? AND m.hash <> ? AND m.state IN (?, ?) ORDER BY m.id LIMIT 1`,
			in.MessageID, senderIdx, in.Hash, MessageDecided, MessageMoved)
		if err == nil {
			out, err := s.duplicateOf(prev)
			if err != nil {
				return Applied{}, err
			}
			return out, errDuplicateRollback
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Applied{}, fmt.Errorf("find by message-id: %w", err)
		}
	}
	// Insert the row first: on PostgreSQL a second daemon applying the same
	// message waits here on the unique hash until this transaction ends.
	msgID, err := s.insert(ctx, tx, `INSERT INTO messages (hash, state, received_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`, in.Hash, MessageNew, received, now, now)
	fresh := err == nil // no raw email kept for it yet
	if errors.Is(err, sql.ErrNoRows) {
		var prev messageRow
		if err := s.get(ctx, tx, &prev, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id
			WHERE m.hash = ?`+s.forUpdateOf("m"), in.Hash); err != nil {
			return Applied{}, fmt.Errorf("read message: %w", err)
		}
		if applied(prev.State) {
			if in.Mailbox != "" && (prev.Mailbox != in.Mailbox || prev.UIDValidity != int64(in.UIDValidity) || prev.UID != int64(in.UID)) {
				if _, err := s.exec(ctx, tx, `UPDATE messages SET mailbox = ?, uid_validity = ?, uid = ?, updated_at = ? WHERE id = ?`,
					in.Mailbox, int64(in.UIDValidity), int64(in.UID), now, prev.ID); err != nil {
					return Applied{}, fmt.Errorf("update message location: %w", err)
				}
			}
			out, err := s.duplicateOf(prev)
			out.SameBytes = true
			return out, err
		}
		// A failed or quarantined message being processed again.
		msgID = prev.ID
	} else if err != nil {
		return Applied{}, fmt.Errorf("insert message: %w", err)
	}

	// (2) The case: by thread, then by the reference in the subject.
	c, err := s.findCase(ctx, tx, in.Hash, sub)
	if err != nil {
		return Applied{}, err
	}
	// (3) Decide on the case's forms as they stood before this email.
	earlier, d, err := s.decideOn(c, decide)
	if err != nil {
		return Applied{}, err
	}
	out := Applied{Decision: d}

	// (4) What the decision changes.
	if d.Outcome != register.OutcomeIgnore {
		if c.ID == 0 {
			if c, err = s.newCase(ctx, tx, received, now); err != nil {
				return Applied{}, err
			}
		}
		c.State = caseStateFor(d.Outcome)
		merged := mergeForms(earlier, sub)
		args, err := s.caseDecisionValues(c.State, merged, d, now)
		if err != nil {
			return Applied{}, err
		}
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, forms = ?, outcome = ?, reason_codes = ?, reasons = ?, updated_at = ? WHERE id = ?`,
			append(args, c.ID)...); err != nil {
			return Applied{}, fmt.Errorf("update case: %w", err)
		}
		switch d.Outcome {
		case register.OutcomeReview:
			if _, err := s.addReviewItem(ctx, tx, c.ID, msgID, d.Reasons, now); err != nil {
				return Applied{}, err
			}
		case register.OutcomeRegister:
			if out.RecordID, err = s.upsertRecord(ctx, tx, merged, c, now); err != nil {
				return Applied{}, err
			}
		}
	}
	out.Case = c.CaseInfo
	if c.ID != 0 && !c.Created {
		if err := s.get(ctx, tx, &out.Case.Queries, `SELECT COUNT(*) FROM outbox WHERE case_id = ? AND kind = ?`, c.ID, "query"); err != nil {
			return Applied{}, fmt.Errorf("count queries for case: %w", err)
		}
	}

	// (5) The emails the decision causes.
	for _, m := range compose(out.Case, d) {
		if m.CaseID == 0 {
			m.CaseID = c.ID
		}
		id, err := s.addOutbox(ctx, tx, m, now)
		if err != nil {
			return Applied{}, err
		}
		out.Outbox = append(out.Outbox, id)
	}

	// (6) The message itself, last, with its outcome.
	args, err := s.messageDecisionValues(in, sub, senderIdx, c.ID, d, received, now, msgID)
	if err != nil {
		return Applied{}, err
	}
	if _, err := s.exec(ctx, tx, messageDecide, args...); err != nil {
		return Applied{}, fmt.Errorf("update message: %w", err)
	}
	if err := s.putRaw(ctx, tx, msgID, in.Raw, !fresh); err != nil {
		return Applied{}, err
	}
	if err := s.audit(ctx, tx, decideAudit(msgID, c.Ref, d, now)); err != nil {
		return Applied{}, err
	}
	return out, nil
}

// caseDecisionValues are the values of a case's decision (state, forms,
// outcome, reason codes, reasons, updated_at), its personal fields
// encrypted.
func (s *Store) caseDecisionValues(state string, merged register.CaseForms, d register.Decision, now time.Time) ([]any, error) {
	forms, err := s.encJSON("cases.forms", merged)
	if err != nil {
		return nil, err
	}
	reasons, err := s.encJSON("cases.reasons", d.Reasons)
	if err != nil {
		return nil, err
	}
	return []any{state, forms, string(d.Outcome), reasonCodes(d), reasons, now}, nil
}

const messageDecide = `UPDATE messages SET message_id = ?, sender_index = ?, sender = ?, mailbox = ?,
		uid_validity = ?, uid = ?, case_id = ?, state = ?, outcome = ?, reason_codes = ?, reasons = ?,
		last_error = NULL, received_at = ?, updated_at = ?, decided_at = ? WHERE id = ?`

// messageDecisionValues are messageDecide's values.
func (s *Store) messageDecisionValues(in Incoming, sub *parser.Submission, senderIdx string, caseID int64,
	d register.Decision, received, now time.Time, msgID int64,
) ([]any, error) {
	sender, err := s.encString("messages.sender", sub.From)
	if err != nil {
		return nil, err
	}
	reasons, err := s.encJSON("messages.reasons", d.Reasons)
	if err != nil {
		return nil, err
	}
	return []any{in.MessageID, senderIdx, sender, in.Mailbox, int64(in.UIDValidity), int64(in.UID),
		nullID(caseID), MessageDecided, string(d.Outcome), reasonCodes(d), reasons, received, now, now, msgID}, nil
}

func decideAudit(msgID int64, caseRef string, d register.Decision, now time.Time) AuditEntry {
	return AuditEntry{At: now, Actor: ActorIntake, Action: "message.decide", Entity: "message",
		EntityID: msgID, CaseRef: caseRef, Detail: "outcome=" + string(d.Outcome) + " reasons=" + reasonCodes(d)}
}

// decideOn decides on case c's forms as they stood before this email
// (none for a new case), and returns them with the decision.
func (s *Store) decideOn(c caseRow, decide func(register.CaseForms) register.Decision) (register.CaseForms, register.Decision, error) {
	var earlier register.CaseForms
	if c.ID != 0 {
		if err := s.decJSON("cases.forms", c.forms, &earlier); err != nil {
			return earlier, register.Decision{}, err
		}
	}
	d := decide(earlier)
	if d.Outcome == "" {
		return earlier, d, errors.New("decision without an outcome")
	}
	return earlier, d, nil
}

// applyStamps are an email's commit time, its received time (the commit's
// when unknown) and its sender's blind index.
func (s *Store) applyStamps(in Incoming, sub *parser.Submission) (now, received time.Time, senderIdx string) {
	now = s.stamp()
	received = now
	if !in.ReceivedAt.IsZero() {
		received = utc(in.ReceivedAt)
	}
	if sub.From != "" {
		senderIdx = s.keys.emailIndex(sub.From)
	}
	return now, received, senderIdx
}

// forUpdateOf is forUpdate for a query that joins, locking only table t.
func (s *Store) forUpdateOf(t string) string {
	if s.dialect == dialectPostgres {
		return " FOR UPDATE OF " + t
	}
	return ""
}

func (s *Store) duplicateOf(prev messageRow) (Applied, error) {
	out := Applied{Duplicate: true, Decision: register.Decision{Outcome: register.Outcome(prev.Outcome)}}
	if err := s.decJSON("messages.reasons", prev.Reasons, &out.Decision.Reasons); err != nil {
		return Applied{}, err
	}
	if prev.CaseID.Valid {
		out.Case = CaseInfo{ID: prev.CaseID.Int64, Ref: prev.CaseRef.String, State: prev.CaseState.String}
	}
	return out, nil
}

func caseStateFor(o register.Outcome) string {
	switch o {
	case register.OutcomeQuery:
		return CaseAwaitingInformation
	case register.OutcomeReview:
		return CaseInReview
	case register.OutcomeRegister:
		return CaseRegistered
	}
	return ""
}

func reasonCodes(d register.Decision) string {
	codes := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		codes[i] = r.Code
	}
	return strings.Join(codes, ",")
}

func splitCodes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// mergeForms is the case's forms after this email: a form of a kind the
// email carries replaces the case's earlier form of that kind.
func mergeForms(earlier register.CaseForms, sub *parser.Submission) register.CaseForms {
	m := earlier
	if sub.Referral != nil {
		m.Referral = sub.Referral
	}
	if sub.Consent != nil {
		m.Consent = sub.Consent
	}
	return m
}

type caseRow struct {
	CaseInfo
	forms []byte
}

// findCase finds the case an email belongs to and locks it: by its thread
// (a Message-ID we sent, or one of an earlier email on a case), else by the
// reference in its subject. A zero result means a new case is needed.
func (s *Store) findCase(ctx context.Context, tx *sqlx.Tx, hash string, sub *parser.Submission) (caseRow, error) {
	for _, id := range threadIDs(sub) {
		var caseID int64
		err := s.get(ctx, tx, &caseID, `SELECT case_id FROM outbox WHERE message_id = ? AND case_id IS NOT NULL ORDER BY id LIMIT 1`, id)
		if errors.Is(err, sql.ErrNoRows) {
			err = s.get(ctx, tx, &caseID, `SELECT case_id FROM messages WHERE message_id = ? AND hash <> ? AND case_id IS NOT NULL ORDER BY id LIMIT 1`, id, hash)
		}
		if err == nil {
			return s.lockCase(ctx, tx, "id = ?", caseID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return caseRow{}, fmt.Errorf("find case by thread: %w", err)
		}
	}
	if ref := caseRefOf(sub); ref != "" {
		c, err := s.lockCase(ctx, tx, "ref = ?", ref)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	return caseRow{}, nil
}

// threadIDs are the Message-IDs an email answers, closest first, each once.
func threadIDs(sub *parser.Submission) []string {
	var ids []string
	ids = append(ids, sub.InReplyTo...)
	refs := slices.Clone(sub.References)
	slices.Reverse(refs) // the last reference is the closest ancestor
	ids = append(ids, refs...)
	out := ids[:0]
	for _, id := range ids {
		id = strings.Trim(strings.TrimSpace(id), "<>")
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// caseRefOf is the case reference in an email's subject, as cases.ref
// holds it, or "".
func caseRefOf(sub *parser.Submission) string { return strings.ToUpper(strings.TrimSpace(sub.CaseRef)) }

func (s *Store) lockCase(ctx context.Context, tx *sqlx.Tx, where string, arg any) (caseRow, error) {
	var r struct {
		ID    int64  `db:"id"`
		Ref   string `db:"ref"`
		State string `db:"state"`
		Forms []byte `db:"forms"`
	}
	err := s.get(ctx, tx, &r, `SELECT id, ref, state, forms FROM cases WHERE `+where+s.forUpdate(), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return caseRow{}, ErrNotFound
	}
	if err != nil {
		return caseRow{}, fmt.Errorf("lock case: %w", err)
	}
	return caseRow{CaseInfo: CaseInfo{ID: r.ID, Ref: r.Ref, State: r.State}, forms: r.Forms}, nil
}

// newCase allocates the next reference of the year from a counter row inside
// the transaction: a rollback takes the number back, so users never see a
// gap, and on PostgreSQL the row lock keeps numbers unique across daemons.
func (s *Store) newCase(ctx context.Context, tx *sqlx.Tx, received, now time.Time) (caseRow, error) {
	year := received.Year()
	var seq int64
	if err := s.get(ctx, tx, &seq, `INSERT INTO case_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1 RETURNING last`, year); err != nil {
		return caseRow{}, fmt.Errorf("allocate case reference: %w", err)
	}
	ref := caseRef(year, seq)
	id, err := s.insert(ctx, tx, `INSERT INTO cases (ref, year, seq, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ref, year, seq, "new", now, now)
	if err != nil {
		return caseRow{}, fmt.Errorf("insert case: %w", err)
	}
	if err := s.audit(ctx, tx, caseCreateAudit(id, ref, now)); err != nil {
		return caseRow{}, err
	}
	return caseRow{CaseInfo: CaseInfo{ID: id, Ref: ref, Created: true}}, nil
}

func caseRef(year int, seq int64) string { return fmt.Sprintf("DSR-%04d-%06d", year, seq) }

func caseCreateAudit(id int64, ref string, now time.Time) AuditEntry {
	return AuditEntry{At: now, Actor: ActorIntake, Action: "case.create", Entity: "case", EntityID: id, CaseRef: ref}
}

// MarkMoved records that an applied message now lives in another mailbox
// (the intake moved it after the commit).
func (s *Store) MarkMoved(ctx context.Context, hash, mailbox string, uidValidity, uid uint32) error {
	res, err := s.exec(ctx, s.db, `UPDATE messages SET state = ?, mailbox = ?, uid_validity = ?, uid = ?, updated_at = ?
		WHERE hash = ? AND state IN (?, ?)`, MessageMoved, mailbox, int64(uidValidity), int64(uid), s.stamp(), hash, MessageDecided, MessageMoved)
	if err != nil {
		return fmt.Errorf("mark moved: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark moved: no applied message with that hash: %w", ErrNotFound)
	}
	return nil
}

// Barrier makes every transaction committed so far durable: on disk, so
// that a power cut or an operating-system crash cannot undo it. Commits
// themselves do not wait for the disk (SQLite runs with synchronous=NORMAL
// under WAL, and Apply turns PostgreSQL's synchronous_commit off), because
// an fsync per email was the largest cost of committing on PostgreSQL. A
// decision that vanished would be harmless while its email is still in the
// inbox (it is decided again), so the daemon calls Barrier before moving
// emails out of the inbox, and ClaimOutbox before handing out emails to
// send: one wait for the disk per batch instead of per email.
func (s *Store) Barrier(ctx context.Context) error {
	if s.dialect == dialectPostgres {
		// A synchronous commit that takes a transaction ID waits for the
		// WAL to be flushed up to it, which covers every earlier commit.
		return s.inTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := s.exec(ctx, tx, `SELECT txid_current()`); err != nil {
				return fmt.Errorf("barrier: %w", err)
			}
			return nil
		})
	}
	// A commit under synchronous=FULL syncs the WAL file, which holds
	// every earlier commit too; a write that changes nothing is enough
	// (SQLite still writes the row's page). A checkpoint would not do: it
	// skips the sync when a reader pins the frames it could copy.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	_, err = conn.ExecContext(ctx, `UPDATE schema_version SET version = version WHERE version = (SELECT MAX(version) FROM schema_version)`)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`); rerr != nil {
		// Do not return a connection that would sync every commit.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

// MarkMovedAll is MarkMoved for a batch of messages moved to one folder
// together, in one statement: a daemon moves committed messages in
// batches, and a write per message was most of a batch's cost. Hashes not
// applied are skipped; it returns how many were marked.
func (s *Store) MarkMovedAll(ctx context.Context, hashes []string, mailbox string) (int, error) {
	if len(hashes) == 0 {
		return 0, nil
	}
	args := []any{MessageMoved, mailbox, s.stamp()}
	for _, h := range hashes {
		args = append(args, h)
	}
	args = append(args, MessageDecided, MessageMoved)
	res, err := s.exec(ctx, s.db, `UPDATE messages SET state = ?, mailbox = ?, uid_validity = 0, uid = 0, updated_at = ?
		WHERE hash IN (?`+strings.Repeat(", ?", len(hashes)-1)+`) AND state IN (?, ?)`, args...)
	if err != nil {
		return 0, fmt.Errorf("mark %d moved: %w", len(hashes), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RecordFailure notes that the pipeline failed on a message, keeping its raw
// bytes (encrypted) and the error, and returns how many times it has failed.
// A message already applied is left alone.
func (s *Store) RecordFailure(ctx context.Context, in Incoming, errText string) (attempts int, err error) {
	if in.Hash == "" {
		return 0, errors.New("record failure: message without a hash")
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.stamp()
		received := now
		if !in.ReceivedAt.IsZero() {
			received = utc(in.ReceivedAt)
		}
		lastErr, err := s.encString("messages.last_error", errText)
		if err != nil {
			return err
		}
		var prev messageRow
		err = s.get(ctx, tx, &prev, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE m.hash = ?`+s.forUpdateOf("m"), in.Hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			senderIdx, sender := "", []byte(nil)
			if in.Submission != nil && in.Submission.From != "" {
				senderIdx = s.keys.emailIndex(in.Submission.From)
				if sender, err = s.encString("messages.sender", in.Submission.From); err != nil {
					return err
				}
			}
			id, err := s.insert(ctx, tx, `INSERT INTO messages (hash, message_id, sender_index, sender, mailbox, uid_validity, uid,
				state, attempts, last_error, received_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
				in.Hash, in.MessageID, senderIdx, sender, in.Mailbox, int64(in.UIDValidity), int64(in.UID),
				MessageFailed, lastErr, received, now, now)
			if err != nil {
				return fmt.Errorf("insert failed message: %w", err)
			}
			if err := s.putRaw(ctx, tx, id, in.Raw, false); err != nil {
				return err
			}
			attempts = 1
			return nil
		case err != nil:
			return fmt.Errorf("read message: %w", err)
		case applied(prev.State):
			attempts = prev.Attempts
			return nil
		}
		state := MessageFailed
		if prev.State == MessageQuarantined {
			state = MessageQuarantined
		}
		if _, err := s.exec(ctx, tx, `UPDATE messages SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?`,
			state, lastErr, now, prev.ID); err != nil {
			return fmt.Errorf("update failed message: %w", err)
		}
		attempts = prev.Attempts + 1
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record failure: %w", err)
	}
	return attempts, nil
}

// ReasonProcessingFailed is the review reason of a quarantined message.
const ReasonProcessingFailed = "processing_failed"

// Quarantine takes a failing message out of the retry loop and puts it in
// the review queue, where a coordinator can reprocess it. RecordFailure must
// have stored it first. Quarantining twice changes nothing.
func (s *Store) Quarantine(ctx context.Context, hash, why string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var prev messageRow
		err := s.get(ctx, tx, &prev, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE m.hash = ?`+s.forUpdateOf("m"), hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if prev.State == MessageQuarantined || applied(prev.State) {
			return nil
		}
		now := s.stamp()
		lastErr, err := s.encString("messages.last_error", why)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE messages SET state = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			MessageQuarantined, lastErr, now, prev.ID); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		reasons := []register.Reason{{Code: ReasonProcessingFailed, Message: "The email could not be processed: " + why}}
		if _, err := s.addReviewItem(ctx, tx, prev.CaseID.Int64, prev.ID, reasons, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: ActorIntake, Action: "message.quarantine", Entity: "message", EntityID: prev.ID})
	})
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// MessageStatus is what the store knows of one message.
type MessageStatus struct {
	Hash        string
	State       string // "" when the store has never seen the message
	Outcome     register.Outcome
	CaseID      int64
	CaseRef     string
	Attempts    int
	LastError   string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	ReceivedAt  time.Time
	DecidedAt   *time.Time
}

// MessageState reports a message's state; State is "" for an unknown hash.
func (s *Store) MessageState(ctx context.Context, hash string) (MessageStatus, error) {
	var r messageRow
	err := s.get(ctx, s.db, &r, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE m.hash = ?`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return MessageStatus{Hash: hash}, nil
	}
	if err != nil {
		return MessageStatus{}, fmt.Errorf("message state: %w", err)
	}
	return s.messageStatus(r)
}

func (s *Store) messageStatus(r messageRow) (MessageStatus, error) {
	lastErr, err := s.decString("messages.last_error", r.LastError)
	if err != nil {
		return MessageStatus{}, err
	}
	return MessageStatus{Hash: r.Hash, State: r.State, Outcome: register.Outcome(r.Outcome), CaseID: r.CaseID.Int64,
		CaseRef: r.CaseRef.String, Attempts: r.Attempts, LastError: lastErr, Mailbox: r.Mailbox,
		UIDValidity: uint32(r.UIDValidity), UID: uint32(r.UID), ReceivedAt: r.ReceivedAt.UTC(), DecidedAt: nullTime(r.DecidedAt)}, nil
}

// rawChunk is how much of a raw email one message_raw row holds: a large
// email is sealed and written a chunk at a time, so neither its ciphertext
// nor the database's copies of a bound value are ever whole in memory.
const rawChunk = 1 << 20

// putRaw seals and stores a message's raw bytes; replace removes what a
// failed attempt kept first (an oversize message keeps only its header).
func (s *Store) putRaw(ctx context.Context, tx *sqlx.Tx, msgID int64, raw []byte, replace bool) error {
	if raw == nil {
		return nil
	}
	if replace {
		if _, err := s.exec(ctx, tx, `DELETE FROM message_raw WHERE message_id = ?`, msgID); err != nil {
			return fmt.Errorf("store raw message: %w", err)
		}
	}
	return eachRawChunk(raw, func(seq int, chunk []byte) error {
		ct, release, err := s.sealRaw(chunk)
		if err != nil {
			return err
		}
		defer release()
		if _, err := s.exec(ctx, tx, rawInsert, msgID, seq, ct); err != nil {
			return fmt.Errorf("store raw message chunk %d: %w", seq, err)
		}
		return nil
	})
}

const rawInsert = `INSERT INTO message_raw (message_id, seq, raw) VALUES (?, ?, ?)`

// eachRawChunk calls fn on each rawChunk of raw in turn (once, for an
// empty one).
func eachRawChunk(raw []byte, fn func(seq int, chunk []byte) error) error {
	for seq := 0; seq == 0 || seq*rawChunk < len(raw); seq++ {
		if err := fn(seq, raw[seq*rawChunk:min((seq+1)*rawChunk, len(raw))]); err != nil {
			return err
		}
	}
	return nil
}

// RawMessage returns a message's raw bytes, for reprocessing; nil once
// erased.
func (s *Store) RawMessage(ctx context.Context, hash string) ([]byte, error) {
	var id int64
	err := s.get(ctx, s.db, &id, `SELECT id FROM messages WHERE hash = ?`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("raw message: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT seq, raw FROM message_raw WHERE message_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("raw message: %w", err)
	}
	defer rows.Close()
	var out []byte
	for want := 0; rows.Next(); want++ {
		var seq int
		var ct []byte
		if err := rows.Scan(&seq, &ct); err != nil {
			return nil, fmt.Errorf("raw message: %w", err)
		}
		if seq != want {
			return nil, fmt.Errorf("raw message: chunk %d missing", want)
		}
		pt, err := s.dec("messages.raw", ct)
		if err != nil {
			return nil, err
		}
		out = append(out, pt...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("raw message: %w", err)
	}
	return out, nil
}

// CaseMessages lists the messages of a case, oldest first.
func (s *Store) CaseMessages(ctx context.Context, caseID int64) ([]MessageStatus, error) {
	var rows []messageRow
	if err := s.sel(ctx, s.db, &rows, `SELECT `+messageCols+` FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE m.case_id = ? ORDER BY m.id`, caseID); err != nil {
		return nil, fmt.Errorf("case messages: %w", err)
	}
	return convertRows(rows, s.messageStatus)
}
