package intake

import (
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
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
