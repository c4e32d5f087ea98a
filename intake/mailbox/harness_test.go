package mailbox

import (
	"context"
	"testing"
	"time"

	"dsr-intake/internal/harness"
)

// dovecotConfig is an IMAPConfig for the test Dovecot over the given TLS mode.
func dovecotConfig(d *harness.Dovecot, mode TLSMode) IMAPConfig {
	addr := d.Addr
	if mode == TLSStartTLS {
		addr = d.StartTLSAddr
	}
	return IMAPConfig{
		Addr: addr, TLS: mode, CAFile: d.CAFile,
		Username: d.User, Auth: PasswordAuth(d.Password),
	}
}

// dialTest opens a Mailbox, failing the test on error.
func dialTest(t testing.TB, cfg IMAPConfig) *Mailbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = harness.Slog(t)
	}
	m, err := DialIMAP(ctx, cfg)
	if err != nil {
		t.Fatalf("DialIMAP %s (%s): %v", cfg.Addr, cfg.TLS, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
