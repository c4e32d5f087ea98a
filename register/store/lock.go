package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
)

// MailboxLock is held by the one daemon that watches a mailbox. Several
// daemons may share a PostgreSQL register for resilience, but two
// watching the same inbox would only race each other for every message
// (harmlessly, as Apply is idempotent, but wastefully).
type MailboxLock struct {
	conn *sql.Conn // nil on SQLite
	key  int64
}

// TryLockMailbox takes the lock for a mailbox without waiting: ok is false
// when another daemon holds it. On PostgreSQL it is a session advisory
// lock on a connection of its own, released by Release or when that
// connection dies (a crashed daemon never blocks the others). SQLite is a
// single file with a single writer; the lock always succeeds.
func (s *Store) TryLockMailbox(ctx context.Context, mailbox string) (lock *MailboxLock, ok bool, err error) {
	if s.dialect != dialectPostgres {
		return &MailboxLock{}, true, nil
	}
	h := fnv.New64a()
	h.Write([]byte("dsr-mailbox:" + mailbox))
	key := int64(h.Sum64())
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock mailbox: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock mailbox: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return &MailboxLock{conn: conn, key: key}, true, nil
}

// Held reports whether the lock is still held: false once its connection
// has gone, when another daemon may have taken over.
func (l *MailboxLock) Held(ctx context.Context) bool {
	if l == nil {
		return false
	}
	if l.conn == nil {
		return true
	}
	return l.conn.PingContext(ctx) == nil
}

// Release gives the lock up.
func (l *MailboxLock) Release() {
	if l == nil || l.conn == nil {
		return
	}
	_, _ = l.conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", l.key)
	_ = l.conn.Close()
	l.conn = nil
}
