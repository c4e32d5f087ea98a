package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/register"
)

// CaseAction is a coordinator's decision on a case from the review pages.
// ReviewID, when not zero, is the open review item the decision resolves;
// it must belong to the case.
type CaseAction struct {
	CaseID   int64
	ReviewID int64
	Actor    string
	// Action names what was done for the audit log and the review item:
	// "register", "register_override", "query", "close",
	// "confirm_withdrawal".
	Action string
	Why    string
	// Notice, when set, is the email telling the referrer how the case
	// ended, queued with the decision (RegisterCase).
	Notice *OutboxMessage
}

func (a CaseAction) check() error {
	if a.CaseID == 0 || a.Actor == "" || a.Action == "" {
		return errors.New("case, actor and action are required")
	}
	return nil
}

// ErrCaseState is returned when a case is not in a state the action can
// start from (already registered, closed or withdrawn).
var ErrCaseState = errors.New("register: the case is not open for that action")

// openCase locks a case that is still waiting for someone: in review or
// awaiting information.
func (s *Store) openCase(ctx context.Context, tx *sqlx.Tx, id int64) (caseRow, error) {
	c, err := s.lockCase(ctx, tx, "id = ?", id)
	if err != nil {
		return caseRow{}, err
	}
	if c.State != CaseInReview && c.State != CaseAwaitingInformation {
		return caseRow{}, fmt.Errorf("case %s is %s: %w", c.Ref, c.State, ErrCaseState)
	}
	return c, nil
}

// resolveInTx resolves the review item of a case inside the action's
// transaction, so the decision and the queue never disagree.
func (s *Store) resolveInTx(ctx context.Context, tx *sqlx.Tx, a CaseAction, ref string, now time.Time) error {
	if a.ReviewID == 0 {
		return nil
	}
	ct, err := s.encString("review_items.why", a.Why)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, tx, `UPDATE review_items SET state = ?, resolved_at = ?, resolved_by = ?, action = ?, why = ?
		WHERE id = ? AND case_id = ? AND state = ?`, ReviewResolved, now, a.Actor, a.Action, ct, a.ReviewID, a.CaseID, ReviewOpen)
	if err != nil {
		return fmt.Errorf("resolve review item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("review item %d is not open on this case: %w", a.ReviewID, ErrCaseState)
	}
	return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "review.resolve", Entity: "review", EntityID: a.ReviewID,
		CaseRef: ref, Detail: "action=" + a.Action})
}

// RegisterCase adds a case's child to the register by a coordinator's
// decision: confirming a best interest decision, or overriding the rules
// with a reason (a.Why is required then). The record, the case's new state,
// the resolved review item and the audit rows are one transaction.
func (s *Store) RegisterCase(ctx context.Context, a CaseAction) (recordID int64, err error) {
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("register case: %w", err)
	}
	if strings.TrimSpace(a.Why) == "" {
		return 0, errors.New("register case: a reason is required")
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := s.openCase(ctx, tx, a.CaseID)
		if err != nil {
			return err
		}
		var forms register.CaseForms
		if err := s.decJSON("cases.forms", c.forms, &forms); err != nil {
			return err
		}
		if forms.Referral == nil || forms.Consent == nil {
			return errors.New("the case needs both a referral form and a consent form")
		}
		now := s.stamp()
		if recordID, err = s.upsertRecord(ctx, tx, forms, c, now); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, outcome = ?, updated_at = ? WHERE id = ?`,
			CaseRegistered, string(register.OutcomeRegister), now, c.ID); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		if err := s.resolveInTx(ctx, tx, a, c.Ref, now); err != nil {
			return err
		}
		detail := fmt.Sprintf("action=%s record=%d", a.Action, recordID)
		if a.Notice != nil {
			m := *a.Notice
			m.CaseID = c.ID
			id, err := s.addOutbox(ctx, tx, m, now)
			if err != nil {
				return err
			}
			detail += fmt.Sprintf(" notice=%d", id)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "case.register", Entity: "case", EntityID: c.ID,
			CaseRef: c.Ref, Detail: detail})
	})
	if err != nil {
		return 0, fmt.Errorf("register case: %w", err)
	}
	return recordID, nil
}

// SendCaseEmail writes a coordinator's email about a case (an edited
// query) to the outbox. A query leaves the case awaiting information.
func (s *Store) SendCaseEmail(ctx context.Context, a CaseAction, m OutboxMessage) (outboxID int64, err error) {
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("send case email: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := s.openCase(ctx, tx, a.CaseID)
		if err != nil {
			return err
		}
		now := s.stamp()
		m.CaseID = c.ID
		if outboxID, err = s.addOutbox(ctx, tx, m, now); err != nil {
			return err
		}
		if m.Kind == "query" {
			if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, updated_at = ? WHERE id = ?`, CaseAwaitingInformation, now, c.ID); err != nil {
				return fmt.Errorf("update case: %w", err)
			}
		}
		if err := s.resolveInTx(ctx, tx, a, c.Ref, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "case.email", Entity: "case", EntityID: c.ID,
			CaseRef: c.Ref, Detail: fmt.Sprintf("action=%s kind=%s outbox=%d", a.Action, m.Kind, outboxID)})
	})
	if err != nil {
		return 0, fmt.Errorf("send case email: %w", err)
	}
	return outboxID, nil
}

// CloseCase closes a case as not for the DSR, with an optional reply to the
// referrer (nil for none). a.Why is required.
func (s *Store) CloseCase(ctx context.Context, a CaseAction, reply *OutboxMessage) error {
	if err := a.check(); err != nil {
		return fmt.Errorf("close case: %w", err)
	}
	if strings.TrimSpace(a.Why) == "" {
		return errors.New("close case: a reason is required")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := s.openCase(ctx, tx, a.CaseID)
		if err != nil {
			return err
		}
		now := s.stamp()
		detail := "action=" + a.Action
		if reply != nil {
			m := *reply
			m.CaseID = c.ID
			id, err := s.addOutbox(ctx, tx, m, now)
			if err != nil {
				return err
			}
			detail += fmt.Sprintf(" reply=%d", id)
		}
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, updated_at = ? WHERE id = ?`, CaseClosed, now, c.ID); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		if err := s.resolveInTx(ctx, tx, a, c.Ref, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "case.close", Entity: "case", EntityID: c.ID,
			CaseRef: c.Ref, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("close case: %w", err)
	}
	return nil
}

// ConfirmWithdrawal acts on a withdrawal request case: it finds the child's
// record by the NHS number on the case's forms, links the case to it,
// resolves the review item, and then withdraws the record (WithdrawConsent),
// which erases the personal data of every case linked to it, this one
// included. The two steps are two transactions; both are safe to run
// again, so a failure between them is mended by confirming again.
func (s *Store) ConfirmWithdrawal(ctx context.Context, a CaseAction) (recordID int64, err error) {
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("confirm withdrawal: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := s.lockCase(ctx, tx, "id = ?", a.CaseID)
		if err != nil {
			return err
		}
		var forms register.CaseForms
		if err := s.decJSON("cases.forms", c.forms, &forms); err != nil {
			return err
		}
		nhs := ""
		for _, f := range []string{forms.Referral.Get("cyp_nhs_number"), forms.Consent.Get("cyp_nhs_number")} {
			if nhs == "" {
				nhs = f
			}
		}
		var linked sql.NullInt64
		if err := s.get(ctx, tx, &linked, `SELECT record_id FROM cases WHERE id = ?`, c.ID); err != nil {
			return err
		}
		switch {
		case linked.Valid:
			recordID = linked.Int64
		case nhs != "":
			err := s.get(ctx, tx, &recordID, `SELECT id FROM records WHERE nhs_index = ?`, s.keys.nhsIndex(nhs))
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("no record on the register has this case's NHS number: %w", ErrNotFound)
			}
			if err != nil {
				return err
			}
		default:
			return errors.New("the case's forms carry no NHS number to find the record by")
		}
		now := s.stamp()
		if _, err := s.exec(ctx, tx, `UPDATE cases SET record_id = ?, updated_at = ? WHERE id = ?`, recordID, now, c.ID); err != nil {
			return fmt.Errorf("link case to record: %w", err)
		}
		if a.ReviewID != 0 {
			var st string
			if err := s.get(ctx, tx, &st, `SELECT state FROM review_items WHERE id = ? AND case_id = ?`, a.ReviewID, c.ID); err != nil {
				return fmt.Errorf("read review item: %w", err)
			}
			if st == ReviewOpen {
				if err := s.resolveInTx(ctx, tx, a, c.Ref, now); err != nil {
					return err
				}
			}
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: a.Actor, Action: "case.withdrawal_confirmed", Entity: "case", EntityID: c.ID,
			CaseRef: c.Ref, Detail: fmt.Sprintf("record=%d", recordID)})
	})
	if err != nil {
		return 0, fmt.Errorf("confirm withdrawal: %w", err)
	}
	if err := s.WithdrawConsent(ctx, recordID, a.Actor, a.Why); err != nil {
		return 0, fmt.Errorf("confirm withdrawal: %w", err)
	}
	return recordID, nil
}

// CaseOutbox lists the emails written about a case, oldest first.
func (s *Store) CaseOutbox(ctx context.Context, caseID int64) ([]OutboxItem, error) {
	var rows []outboxRow
	if err := s.sel(ctx, s.db, &rows, `SELECT o.id, o.kind, o.case_id, c.ref AS case_ref, o.message_id, o.in_reply_to, o.refs, o.rcpt,
		o.subject, o.body, o.html, o.state, o.attempts, o.next_try_at, o.last_error, o.created_at, o.sent_at
		FROM outbox o LEFT JOIN cases c ON c.id = o.case_id WHERE o.case_id = ? ORDER BY o.id`, caseID); err != nil {
		return nil, fmt.Errorf("case outbox: %w", err)
	}
	out, err := convertRows(rows, s.outboxItem)
	if err != nil {
		return nil, fmt.Errorf("case outbox: %w", err)
	}
	return out, nil
}

// Kinds of date a coordinator records on a record.
const (
	DateCETR      = "cetr"       // the latest Care (Education) and Treatment Review
	DateKeyWorker = "key_worker" // when a key worker was allocated
)

// RecordDate is one recorded date; the newest of a kind is the current one.
type RecordDate struct {
	Kind  string
	Date  string // YYYY-MM-DD
	Actor string
	At    time.Time
}

// SetRecordDate records a C(E)TR or key worker date on a live record; the
// earlier values stay as history.
func (s *Store) SetRecordDate(ctx context.Context, recordID int64, kind, date, actor string) error {
	if kind != DateCETR && kind != DateKeyWorker {
		return fmt.Errorf("set record date: unknown kind %q", kind)
	}
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return fmt.Errorf("set record date: %q is not a date (YYYY-MM-DD)", date)
	}
	if actor == "" {
		return errors.New("set record date: no actor")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var state string
		err := s.get(ctx, tx, &state, `SELECT state FROM records WHERE id = ?`+s.forUpdate(), recordID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != register.RecordActive {
			return fmt.Errorf("record %d is %s", recordID, state)
		}
		now := s.stamp()
		if _, err := s.insert(ctx, tx, `INSERT INTO record_dates (record_id, kind, date, actor, at) VALUES (?, ?, ?, ?, ?)`,
			recordID, kind, date, actor, now); err != nil {
			return fmt.Errorf("insert record date: %w", err)
		}
		if _, err := s.exec(ctx, tx, `UPDATE records SET updated_at = ? WHERE id = ?`, now, recordID); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "record.date", Entity: "record", EntityID: recordID,
			Detail: "kind=" + kind})
	})
	if err != nil {
		return fmt.Errorf("set record date: %w", err)
	}
	return nil
}

// RecordDates lists a record's recorded dates, oldest first. It is read
// with the record's (audited) view, so it is not audited again.
func (s *Store) RecordDates(ctx context.Context, recordID int64) ([]RecordDate, error) {
	var rows []struct {
		Kind  string    `db:"kind"`
		Date  string    `db:"date"`
		Actor string    `db:"actor"`
		At    time.Time `db:"at"`
	}
	if err := s.sel(ctx, s.db, &rows, `SELECT kind, date, actor, at FROM record_dates WHERE record_id = ? ORDER BY id`, recordID); err != nil {
		return nil, fmt.Errorf("record dates: %w", err)
	}
	out := make([]RecordDate, 0, len(rows))
	for _, r := range rows {
		out = append(out, RecordDate{Kind: r.Kind, Date: r.Date, Actor: r.Actor, At: r.At.UTC()})
	}
	return out, nil
}

// Dashboard is the figures of the coordinators' front page; it holds
// nothing personal.
type Dashboard struct {
	ByRAG           map[string]int // live records by rating ("" for none)
	Queue           int            // open review items
	OldestQueued    *time.Time
	AwaitingReplies int // cases awaiting information from a referrer
	OutboxPending   int
	OutboxFailed    int
	// QueriesNotDelivered are open review items of cases whose query the
	// outbox gave up on: the referrer was never asked.
	QueriesNotDelivered int
	// Weeks are the referrals (cases created) per week, oldest first, the
	// last one being the week that holds now.
	Weeks []WeekCount
}

// WeekCount is the number of referrals in the week starting Start (a Monday).
type WeekCount struct {
	Start time.Time
	Count int
}

// Dashboard counts what the front page shows, with weeks of referrals up to
// the week of now.
func (s *Store) Dashboard(ctx context.Context, now time.Time, weeks int) (Dashboard, error) {
	d := Dashboard{ByRAG: map[string]int{}}
	var rag []struct {
		RAG string `db:"rag"`
		N   int    `db:"n"`
	}
	if err := s.sel(ctx, s.db, &rag, `SELECT rag, COUNT(*) AS n FROM records WHERE state = ? GROUP BY rag`, register.RecordActive); err != nil {
		return Dashboard{}, fmt.Errorf("dashboard: %w", err)
	}
	for _, r := range rag {
		d.ByRAG[r.RAG] = r.N
	}
	if err := s.get(ctx, s.db, &d.Queue, `SELECT COUNT(*) FROM review_items WHERE state = ?`, ReviewOpen); err != nil {
		return Dashboard{}, fmt.Errorf("dashboard: %w", err)
	}
	if d.Queue > 0 {
		// Not MIN(): SQLite returns it as text, without the column's type.
		var t time.Time
		if err := s.get(ctx, s.db, &t, `SELECT created_at FROM review_items WHERE state = ? ORDER BY created_at, id LIMIT 1`, ReviewOpen); err != nil {
			return Dashboard{}, fmt.Errorf("dashboard: %w", err)
		}
		t = t.UTC()
		d.OldestQueued = &t
	}
	for _, c := range []struct {
		dst   *int
		query string
		arg   string
	}{
		{&d.AwaitingReplies, `SELECT COUNT(*) FROM cases WHERE state = ?`, CaseAwaitingInformation},
		{&d.OutboxPending, `SELECT COUNT(*) FROM outbox WHERE state = ?`, OutboxPending},
		{&d.OutboxFailed, `SELECT COUNT(*) FROM outbox WHERE state = ?`, OutboxFailed},
	} {
		if err := s.get(ctx, s.db, c.dst, c.query, c.arg); err != nil {
			return Dashboard{}, fmt.Errorf("dashboard: %w", err)
		}
	}
	var err error
	if d.QueriesNotDelivered, err = s.queriesNotDelivered(ctx); err != nil {
		return Dashboard{}, fmt.Errorf("dashboard: %w", err)
	}
	if weeks <= 0 {
		weeks = 12
	}
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*(weeks-1))
	var created []time.Time
	if err := s.sel(ctx, s.db, &created, `SELECT created_at FROM cases WHERE created_at >= ?`, first); err != nil {
		return Dashboard{}, fmt.Errorf("dashboard: %w", err)
	}
	d.Weeks = make([]WeekCount, weeks)
	for i := range d.Weeks {
		d.Weeks[i].Start = first.AddDate(0, 0, 7*i)
	}
	for _, t := range created {
		i := int(t.UTC().Sub(first).Hours() / (24 * 7))
		if i >= 0 && i < weeks {
			d.Weeks[i].Count++
		}
	}
	return d, nil
}

// ExportRecords returns every live record in full for the DSR panel's
// export; the export is audited once, with how many records it held.
func (s *Store) ExportRecords(ctx context.Context, actor, format string) ([]register.Record, error) {
	if actor == "" {
		return nil, errors.New("export records: no actor")
	}
	var out []register.Record
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []recordRow
		if err := s.sel(ctx, tx, &rows, `SELECT `+recordCols+` FROM records WHERE state = ? ORDER BY id`, register.RecordActive); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		for _, r := range rows {
			rec, err := s.recordFromRow(r)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return s.audit(ctx, tx, AuditEntry{Actor: actor, Action: "record.export", Entity: "record",
			Detail: fmt.Sprintf("format=%s records=%d", format, len(out))})
	})
	if err != nil {
		return nil, fmt.Errorf("export records: %w", err)
	}
	return out, nil
}

// Note writes an audit entry for what a coordinator did that changes
// nothing else in the store: opening an attachment, say. Detail must hold
// codes and counts only, never personal values.
func (s *Store) Note(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" || e.Entity == "" {
		return errors.New("note: actor, action and entity are required")
	}
	if err := s.audit(ctx, s.db, e); err != nil {
		return fmt.Errorf("note: %w", err)
	}
	return nil
}
