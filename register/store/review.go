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

// Review item states.
const (
	ReviewOpen     = "open"
	ReviewResolved = "resolved"
)

// ReviewItem is one entry in the coordinators' queue: why a person must
// decide, and once resolved, who decided what, when and why.
type ReviewItem struct {
	ID          int64
	CaseID      int64 // 0 for a quarantined message with no case
	CaseRef     string
	CaseState   string
	MessageHash string
	Codes       []string
	Reasons     []register.Reason
	State       string
	CreatedAt   time.Time
	ResolvedAt  *time.Time
	ResolvedBy  string
	Action      string
	Why         string
}

func (s *Store) addReviewItem(ctx context.Context, tx *sqlx.Tx, caseID, msgID int64, reasons []register.Reason, now time.Time) (int64, error) {
	ct, err := s.encJSON("review_items.reasons", reasons)
	if err != nil {
		return 0, err
	}
	codes := reasonCodes(register.Decision{Reasons: reasons})
	id, err := s.insert(ctx, tx, reviewItemInsert, nullID(caseID), nullID(msgID), codes, ct, ReviewOpen, now)
	if err != nil {
		return 0, fmt.Errorf("insert review item: %w", err)
	}
	if err := s.audit(ctx, tx, reviewOpenAudit(id, codes, now)); err != nil {
		return 0, err
	}
	return id, nil
}

const reviewItemInsert = `INSERT INTO review_items (case_id, message_id, reason_codes, reasons, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`

func reviewOpenAudit(id int64, codes string, now time.Time) AuditEntry {
	return AuditEntry{At: now, Actor: ActorIntake, Action: "review.open", Entity: "review", EntityID: id, Detail: "reasons=" + codes}
}

// ReviewFilter selects review items.
type ReviewFilter struct {
	State  string // "" means open
	CaseID int64  // 0 means any
	Limit  int    // 0 means 100
	Offset int
}

type reviewRow struct {
	ID          int64          `db:"id"`
	CaseID      sql.NullInt64  `db:"case_id"`
	CaseRef     sql.NullString `db:"case_ref"`
	CaseState   sql.NullString `db:"case_state"`
	MessageHash sql.NullString `db:"message_hash"`
	Codes       string         `db:"reason_codes"`
	Reasons     []byte         `db:"reasons"`
	State       string         `db:"state"`
	CreatedAt   time.Time      `db:"created_at"`
	ResolvedAt  sql.NullTime   `db:"resolved_at"`
	ResolvedBy  sql.NullString `db:"resolved_by"`
	Action      sql.NullString `db:"action"`
	Why         []byte         `db:"why"`
}

const reviewSelect = `SELECT r.id, r.case_id, c.ref AS case_ref, c.state AS case_state, m.hash AS message_hash,
	r.reason_codes, r.reasons, r.state, r.created_at, r.resolved_at, r.resolved_by, r.action, r.why
	FROM review_items r LEFT JOIN cases c ON c.id = r.case_id LEFT JOIN messages m ON m.id = r.message_id`

// ReviewQueue lists review items, oldest first.
func (s *Store) ReviewQueue(ctx context.Context, f ReviewFilter) ([]ReviewItem, error) {
	if f.State == "" {
		f.State = ReviewOpen
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var rows []reviewRow
	if err := s.sel(ctx, s.db, &rows, reviewSelect+` WHERE r.state = ? AND (? = 0 OR r.case_id = ?)
		ORDER BY r.created_at, r.id LIMIT ? OFFSET ?`, f.State, f.CaseID, f.CaseID, f.Limit, f.Offset); err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	out, err := convertRows(rows, s.reviewItem)
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	return out, nil
}

// Review returns one review item.
func (s *Store) Review(ctx context.Context, id int64) (ReviewItem, error) {
	var r reviewRow
	err := s.get(ctx, s.db, &r, reviewSelect+` WHERE r.id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewItem{}, ErrNotFound
	}
	if err != nil {
		return ReviewItem{}, fmt.Errorf("review item: %w", err)
	}
	return s.reviewItem(r)
}

func (s *Store) reviewItem(r reviewRow) (ReviewItem, error) {
	it := ReviewItem{ID: r.ID, CaseID: r.CaseID.Int64, CaseRef: r.CaseRef.String, CaseState: r.CaseState.String,
		MessageHash: r.MessageHash.String, Codes: splitCodes(r.Codes), State: r.State, CreatedAt: r.CreatedAt.UTC(),
		ResolvedAt: nullTime(r.ResolvedAt), ResolvedBy: r.ResolvedBy.String, Action: r.Action.String}
	if err := s.decJSON("review_items.reasons", r.Reasons, &it.Reasons); err != nil {
		return ReviewItem{}, err
	}
	var err error
	if it.Why, err = s.decString("review_items.why", r.Why); err != nil {
		return ReviewItem{}, err
	}
	return it, nil
}

// ResolveReview closes an open review item with the coordinator's decision:
// action is what they did ("register", "query", "close", "reprocess",
// "confirm_withdrawal" ...), why their reason. Resolving an item twice is an
// error, so two coordinators cannot both decide it.
func (s *Store) ResolveReview(ctx context.Context, id int64, actor, action, why string) error {
	if actor == "" || action == "" {
		return errors.New("resolve review: actor and action are required")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.stamp()
		ct, err := s.encString("review_items.why", why)
		if err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE review_items SET state = ?, resolved_at = ?, resolved_by = ?, action = ?, why = ?
			WHERE id = ? AND state = ?`, ReviewResolved, now, actor, action, ct, id, ReviewOpen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := s.get(ctx, tx, &st, `SELECT state FROM review_items WHERE id = ?`, id); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			return fmt.Errorf("review item %d is already %s", id, st)
		}
		var ref sql.NullString
		if err := s.get(ctx, tx, &ref, `SELECT c.ref FROM review_items r LEFT JOIN cases c ON c.id = r.case_id WHERE r.id = ?`, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "review.resolve", Entity: "review", EntityID: id,
			CaseRef: ref.String, Detail: "action=" + action})
	})
	if err != nil {
		return fmt.Errorf("resolve review: %w", err)
	}
	return nil
}
