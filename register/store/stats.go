package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Stats are the operational figures the metrics and the health page show.
// They hold counts and times only, nothing personal.
type Stats struct {
	OutboxPending       int
	OutboxOldest        time.Time // created time of the oldest pending email; zero when none
	OutboxFailed        int
	ReviewOpen          int
	ReviewOldest        time.Time
	MessagesFailed      int // failing, not yet quarantined
	MessagesQuarantined int
	// QueriesNotDelivered are the open review items of cases whose query
	// the outbox gave up on.
	QueriesNotDelivered int
}

// Stats reads the operational figures.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	counts := []struct {
		dest  *int
		query string
		arg   string
	}{
		{&st.OutboxPending, `SELECT COUNT(*) FROM outbox WHERE state = ?`, OutboxPending},
		{&st.OutboxFailed, `SELECT COUNT(*) FROM outbox WHERE state = ?`, OutboxFailed},
		{&st.ReviewOpen, `SELECT COUNT(*) FROM review_items WHERE state = ?`, ReviewOpen},
		{&st.MessagesFailed, `SELECT COUNT(*) FROM messages WHERE state = ?`, MessageFailed},
		{&st.MessagesQuarantined, `SELECT COUNT(*) FROM messages WHERE state = ?`, MessageQuarantined},
	}
	for _, c := range counts {
		if err := s.get(ctx, s.db, c.dest, c.query, c.arg); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
	}
	var err error
	if st.QueriesNotDelivered, err = s.queriesNotDelivered(ctx); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	// ORDER BY ... LIMIT 1 rather than MIN(): an aggregate loses the
	// column's declared type on SQLite and would not scan as a time.
	oldest := func(query, arg string) (time.Time, error) {
		var t time.Time
		err := s.get(ctx, s.db, &t, query, arg)
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, nil
		}
		return t.UTC(), err
	}
	if st.OutboxOldest, err = oldest(`SELECT created_at FROM outbox WHERE state = ? ORDER BY created_at LIMIT 1`, OutboxPending); err != nil {
		return st, fmt.Errorf("stats: outbox: %w", err)
	}
	if st.ReviewOldest, err = oldest(`SELECT created_at FROM review_items WHERE state = ? ORDER BY created_at LIMIT 1`, ReviewOpen); err != nil {
		return st, fmt.Errorf("stats: review: %w", err)
	}
	return st, nil
}
