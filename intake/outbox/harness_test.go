package outbox

import (
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
)

// sinkConfig is a client configuration for the test SMTP sink.
func sinkConfig(s *harness.SMTPSink, mode mailbox.TLSMode) SMTPConfig {
	addr := s.Addr
	if mode == mailbox.TLSImplicit {
		addr = s.TLSAddr
	}
	return SMTPConfig{
		Addr: addr, TLS: mode, CAFile: s.CAFile, Username: s.User,
		Auth: mailbox.PasswordAuth(s.Password), HeloName: "intake.nhs.example", Timeout: 10 * time.Second,
	}
}
