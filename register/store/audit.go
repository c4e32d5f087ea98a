package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one line of the append-only audit log: who did what to
// which thing, when. Detail holds codes and counts, never personal values.
type AuditEntry struct {
	ID       int64     `db:"id"`
	At       time.Time `db:"at"`
	Actor    string    `db:"actor"`  // ActorIntake or a coordinator's login
	Action   string    `db:"action"` // "record.view", "message.decide" ...
	Entity   string    `db:"entity"` // "record", "case", "message", "review", "outbox"
	EntityID int64     `db:"entity_id"`
	CaseRef  string    `db:"case_ref"`
	Detail   string    `db:"detail"`
}

// audit appends an entry. There is no update or delete: the schema's
// triggers refuse both, so not even a bug here can rewrite history.
func (s *Store) audit(ctx context.Context, q queryer, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.stamp()
	}
	query, args := auditInsert([]AuditEntry{e})
	if _, err := s.exec(ctx, q, query, args...); err != nil {
		return fmt.Errorf("write audit: %w", err)
	}
	return nil
}

const auditInsertHead = `INSERT INTO audit (at, actor, action, entity, entity_id, case_ref, detail) VALUES `

// auditInsert is one INSERT of entries, in their order (At must be set).
func auditInsert(entries []AuditEntry) (string, []any) {
	args := make([]any, 0, 7*len(entries))
	for _, e := range entries {
		args = append(args, utc(e.At), e.Actor, e.Action, e.Entity, e.EntityID, e.CaseRef, e.Detail)
	}
	if len(entries) == 1 {
		return auditInsertHead + "(?, ?, ?, ?, ?, ?, ?)", args // a constant: no string built
	}
	return auditInsertHead + "(?, ?, ?, ?, ?, ?, ?)" + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", len(entries)-1), args
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Actor    string
	Action   string
	Entity   string
	EntityID int64
	CaseRef  string
	Since    time.Time
	Until    time.Time // exclusive; zero means no end
	Limit    int       // 0 means 200
	Offset   int
}

// Audit lists audit entries, newest first.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q := `SELECT id, at, actor, action, entity, entity_id, case_ref, detail FROM audit WHERE 1 = 1`
	var args []any
	for _, c := range []struct {
		set  bool
		cond string
		arg  any
	}{
		{f.Actor != "", " AND actor = ?", f.Actor},
		{f.Action != "", " AND action = ?", f.Action},
		{f.Entity != "", " AND entity = ?", f.Entity},
		{f.EntityID != 0, " AND entity_id = ?", f.EntityID},
		{f.CaseRef != "", " AND case_ref = ?", f.CaseRef},
		{!f.Since.IsZero(), " AND at >= ?", utc(f.Since)},
		{!f.Until.IsZero(), " AND at < ?", utc(f.Until)},
	} {
		if c.set {
			q += c.cond
			args = append(args, c.arg)
		}
	}
	q += " ORDER BY id DESC LIMIT ? OFFSET ?"
	args = append(args, f.Limit, f.Offset)
	var out []AuditEntry
	if err := s.sel(ctx, s.db, &out, q, args...); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}
