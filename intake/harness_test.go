package intake

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/register/store"
)

// dovecotConfig is an IMAPConfig for the test Dovecot over the given TLS mode.
func dovecotConfig(d *harness.Dovecot, mode mailbox.TLSMode) mailbox.IMAPConfig {
	addr := d.Addr
	if mode == mailbox.TLSStartTLS {
		addr = d.StartTLSAddr
	}
	return mailbox.IMAPConfig{
		Addr: addr, TLS: mode, CAFile: d.CAFile,
		Username: d.User, Auth: mailbox.PasswordAuth(d.Password),
	}
}

// sinkConfig is a client configuration for the test SMTP sink.
func sinkConfig(s *harness.SMTPSink, mode mailbox.TLSMode) outbox.SMTPConfig {
	addr := s.Addr
	if mode == mailbox.TLSImplicit {
		addr = s.TLSAddr
	}
	return outbox.SMTPConfig{
		Addr: addr, TLS: mode, CAFile: s.CAFile, Username: s.User,
		Auth: mailbox.PasswordAuth(s.Password), HeloName: "intake.nhs.example", Timeout: 10 * time.Second,
	}
}

// onBothDatabases runs fn as a subtest on each register: a new SQLite
// file, and a PostgreSQL database of its own named from pgPrefix.
func onBothDatabases(t *testing.T, pgPrefix string, fn func(t *testing.T, dsn func(*testing.T) (driver, dsn string))) {
	t.Helper()
	for _, db := range []struct {
		name string
		dsn  func(*testing.T) (driver, dsn string)
	}{
		{"SQLite", func(t *testing.T) (string, string) { return "sqlite", filepath.Join(t.TempDir(), "dsr.db") }},
		{"Postgres", func(t *testing.T) (string, string) { return "postgres", harness.PostgresDB(t, pgPrefix) }},
	} {
		t.Run(db.name, func(t *testing.T) { fn(t, db.dsn) })
	}
}

// openStore opens a register on o (its Keys a new keyring), closed at the
// end of the test.
func openStore(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	o.Keys = keys
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
