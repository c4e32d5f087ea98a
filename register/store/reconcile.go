package store

import (
	"context"
	"dsr-intake/register"
	"fmt"
)

// Unmoved is a message decided but not recorded as moved out of the
// mailbox it was found in: its move is still to come, or it happened and
// its recording did not (a crash between the two).
type Unmoved struct {
	Hash        string
	MessageID   string
	UIDValidity uint32
	UID         uint32
	Outcome     register.Outcome
}

// UnmovedIn lists up to limit messages of mailbox that are decided and
// not recorded as moved, oldest first.
func (s *Store) UnmovedIn(ctx context.Context, mailbox string, limit int) ([]Unmoved, error) {
	var rows []struct {
		Hash        string `db:"hash"`
		MessageID   string `db:"message_id"`
		UIDValidity int64  `db:"uid_validity"`
		UID         int64  `db:"uid"`
		Outcome     string `db:"outcome"`
	}
	if err := s.sel(ctx, s.db, &rows, `SELECT hash, message_id, uid_validity, uid, outcome FROM messages
		WHERE state = ? AND mailbox = ? ORDER BY id LIMIT ?`, MessageDecided, mailbox, limit); err != nil {
		return nil, fmt.Errorf("unmoved messages: %w", err)
	}
	out := make([]Unmoved, len(rows))
	for i, r := range rows {
		out[i] = Unmoved{Hash: r.Hash, MessageID: r.MessageID, UIDValidity: uint32(r.UIDValidity), UID: uint32(r.UID), Outcome: register.Outcome(r.Outcome)}
	}
	return out, nil
}
