package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"dsr-intake/register"
)

// Case is a referral in progress as the coordinators see it.
type Case struct {
	ID        int64
	Ref       string
	State     string
	RecordID  int64 // 0 until registered
	Forms     register.CaseForms
	Decision  register.Decision // the latest
	CreatedAt time.Time
	UpdatedAt time.Time
}

type caseViewRow struct {
	ID        int64         `db:"id"`
	Ref       string        `db:"ref"`
	State     string        `db:"state"`
	RecordID  sql.NullInt64 `db:"record_id"`
	Forms     []byte        `db:"forms"`
	Outcome   string        `db:"outcome"`
	Reasons   []byte        `db:"reasons"`
	CreatedAt time.Time     `db:"created_at"`
	UpdatedAt time.Time     `db:"updated_at"`
}

const caseCols = `id, ref, state, record_id, forms, outcome, reasons, created_at, updated_at`

// Case returns a case with its forms (decrypted); the view is audited.
func (s *Store) Case(ctx context.Context, id int64, actor string) (Case, error) {
	return s.viewCase(ctx, actor, "id = ?", id)
}

// CaseByRef returns a case by its reference (DSR-YYYY-NNNNNN); the view is
// audited.
func (s *Store) CaseByRef(ctx context.Context, ref, actor string) (Case, error) {
	return s.viewCase(ctx, actor, "ref = ?", ref)
}

func (s *Store) viewCase(ctx context.Context, actor, where string, arg any) (Case, error) {
	if actor == "" {
		return Case{}, errors.New("view case: no actor")
	}
	var c Case
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r caseViewRow
		err := s.get(ctx, tx, &r, `SELECT `+caseCols+` FROM cases WHERE `+where, arg)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read case: %w", err)
		}
		c = Case{ID: r.ID, Ref: r.Ref, State: r.State, RecordID: r.RecordID.Int64, Decision: register.Decision{Outcome: register.Outcome(r.Outcome)},
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
		if err := s.decJSON("cases.forms", r.Forms, &c.Forms); err != nil {
			return err
		}
		if err := s.decJSON("cases.reasons", r.Reasons, &c.Decision.Reasons); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: s.stamp(), Actor: actor, Action: "case.view", Entity: "case", EntityID: c.ID, CaseRef: c.Ref})
	})
	if err != nil {
		return Case{}, fmt.Errorf("view case: %w", err)
	}
	return c, nil
}

// CaseSummary is one line of a case listing; it holds nothing personal.
type CaseSummary struct {
	ID        int64
	Ref       string
	State     string
	RecordID  int64
	Outcome   register.Outcome
	Codes     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CaseFilter selects cases; zero fields match everything.
type CaseFilter struct {
	State         string
	UpdatedBefore time.Time // e.g. awaiting information for too long
	Limit         int       // 0 means 100
	Offset        int
}

// ListCases lists cases, oldest change first.
func (s *Store) ListCases(ctx context.Context, f CaseFilter) ([]CaseSummary, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT id, ref, state, record_id, outcome, reason_codes, created_at, updated_at FROM cases WHERE 1 = 1`
	var args []any
	if f.State != "" {
		q += " AND state = ?"
		args = append(args, f.State)
	}
	if !f.UpdatedBefore.IsZero() {
		q += " AND updated_at < ?"
		args = append(args, utc(f.UpdatedBefore))
	}
	q += " ORDER BY updated_at, id LIMIT ? OFFSET ?"
	args = append(args, f.Limit, f.Offset)
	var rows []struct {
		ID        int64         `db:"id"`
		Ref       string        `db:"ref"`
		State     string        `db:"state"`
		RecordID  sql.NullInt64 `db:"record_id"`
		Outcome   string        `db:"outcome"`
		Codes     string        `db:"reason_codes"`
		CreatedAt time.Time     `db:"created_at"`
		UpdatedAt time.Time     `db:"updated_at"`
	}
	if err := s.sel(ctx, s.db, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out := make([]CaseSummary, 0, len(rows))
	for _, r := range rows {
		out = append(out, CaseSummary{ID: r.ID, Ref: r.Ref, State: r.State, RecordID: r.RecordID.Int64, Outcome: register.Outcome(r.Outcome),
			Codes: splitCodes(r.Codes), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out, nil
}

var caseStates = map[string]bool{CaseAwaitingInformation: true, CaseInReview: true, CaseRegistered: true, CaseClosed: true, CaseWithdrawn: true}

// SetCaseState changes a case's state by a coordinator's hand (closing it,
// for one); the change is audited.
func (s *Store) SetCaseState(ctx context.Context, id int64, state, actor string) error {
	if !caseStates[state] {
		return fmt.Errorf("set case state: unknown state %q", state)
	}
	if actor == "" {
		return errors.New("set case state: no actor")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var prev struct {
			Ref   string `db:"ref"`
			State string `db:"state"`
		}
		err := s.get(ctx, tx, &prev, `SELECT ref, state FROM cases WHERE id = ?`+s.forUpdate(), id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := s.stamp()
		if _, err := s.exec(ctx, tx, `UPDATE cases SET state = ?, updated_at = ? WHERE id = ?`, state, now, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "case.state", Entity: "case", EntityID: id,
			CaseRef: prev.Ref, Detail: "from=" + prev.State + " to=" + state})
	})
	if err != nil {
		return fmt.Errorf("set case state: %w", err)
	}
	return nil
}
