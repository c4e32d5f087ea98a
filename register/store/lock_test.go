package store

import (
	"context"
	"testing"
)

// TestMailboxLockPostgres: one daemon at a time watches a mailbox; the lock
// passes on when released, and other mailboxes are independent.
func TestMailboxLockPostgres(t *testing.T) {
	pg := stNewPostgres(t)
	o := pg.newDB(t)
	keys := stKeys(t)
	a := stOpen(t, o, keys) // two daemons on one register
	b := stOpen(t, o, keys)
	ctx := context.Background()
	la, ok, err := a.TryLockMailbox(ctx, "bromley.dsr@nhs.net/INBOX")
	if err != nil || !ok {
		t.Fatalf("first lock: ok %v err %v", ok, err)
	}
	if !la.Held(ctx) {
		t.Error("the lock is not held")
	}
	if _, ok, err := b.TryLockMailbox(ctx, "bromley.dsr@nhs.net/INBOX"); err != nil || ok {
		t.Fatalf("a second daemon took a held lock: ok %v err %v", ok, err)
	}
	lo, ok, err := b.TryLockMailbox(ctx, "lewisham.dsr@nhs.net/INBOX")
	if err != nil || !ok {
		t.Fatalf("another mailbox: ok %v err %v", ok, err)
	}
	lo.Release()
	la.Release()
	lb, ok, err := b.TryLockMailbox(ctx, "bromley.dsr@nhs.net/INBOX")
	if err != nil || !ok {
		t.Fatalf("after release: ok %v err %v", ok, err)
	}
	lb.Release()

	// SQLite: one file, one writer; the lock is always granted.
	l, ok, err := stOpen(t, Options{Driver: "sqlite", DSN: t.TempDir() + "/dsr.db"}, keys).TryLockMailbox(ctx, "INBOX")
	if err != nil || !ok || !l.Held(ctx) {
		t.Errorf("sqlite lock: ok %v err %v", ok, err)
	}
}
