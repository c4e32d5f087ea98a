package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"dsr-intake/intake/mailbox"
)

// SMTPConfig says where and how to submit outgoing mail.
type SMTPConfig struct {
	// Addr is host:port, e.g. "smtp.office365.com:587".
	Addr string
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSInsecure.
	TLS        mailbox.TLSMode
	CAFile     string
	ServerName string
	Username   string
	// Auth may be nil for a relay that needs no login.
	Auth mailbox.Authenticator
	// HeloName is the EHLO name after TLS; "localhost" when empty.
	HeloName string
	// Timeout bounds each command and the wait after the message data; 2
	// minutes when zero. ctx bounds the whole exchange as well.
	Timeout time.Duration
}

// SendError is a failed submission. Stage says which step failed: "config",
// "dial", "tls", "auth", "mail", "rcpt" or "data".
type SendError struct {
	Stage string
	Err   error
}

func (e *SendError) Error() string { return "smtp " + e.Stage + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is the server refusing this message for
// good (a 5xx reply to MAIL, RCPT or DATA): retrying it cannot help. Network
// failures, timeouts, 4xx replies, and failures to connect or log in (which
// concern the configuration or the server, not the message) are temporary.
func IsPermanent(err error) bool {
	var se *SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Stage {
	case "mail", "rcpt", "data":
	default:
		return false
	}
	var pe *smtp.SMTPError
	return errors.As(err, &pe) && pe.Code >= 500 && pe.Code < 600
}

// SendMail submits raw, unchanged, from the envelope sender from to the
// envelope recipients to. The composer has already set every header.
func SendMail(ctx context.Context, cfg SMTPConfig, from string, to []string, raw []byte) error {
	if len(to) == 0 {
		return &SendError{"config", errors.New("no recipients")}
	}
	if cfg.TLS == "" {
		cfg.TLS = mailbox.TLSStartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	tlsConf, err := mailbox.TLSConfig(cfg.Addr, cfg.TLS, cfg.CAFile, cfg.ServerName)
	if err != nil {
		return &SendError{"config", err}
	}

	conn, err := (&net.Dialer{Timeout: cfg.Timeout}).DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return &SendError{"dial", fmt.Errorf("%s: %w", cfg.Addr, err)}
	}
	// go-smtp has no context: closing the connection unblocks it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	fail := func(stage string, err error) error {
		return &SendError{stage, mailbox.ContextError(ctx, err)}
	}

	var c *smtp.Client
	switch cfg.TLS {
	case mailbox.TLSImplicit:
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		c = smtp.NewClient(tc)
	case mailbox.TLSStartTLS:
		conn.SetDeadline(time.Now().Add(cfg.Timeout))
		c, err = smtp.NewClientStartTLS(conn, tlsConf)
		if err != nil {
			return fail("tls", err)
		}
		conn.SetDeadline(time.Time{})
	case mailbox.TLSInsecure:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = cfg.Timeout
	c.SubmissionTimeout = cfg.Timeout
	if cfg.HeloName != "" {
		if err := c.Hello(cfg.HeloName); err != nil {
			return fail("tls", err)
		}
	}
	if cfg.Auth != nil {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("auth", errors.New("server offers no AUTH"))
		}
		sc, err := cfg.Auth.SASLClient(ctx, cfg.Username)
		if err != nil {
			return fail("auth", err)
		}
		if err := c.Auth(sc); err != nil {
			cfg.Auth.LoginFailed()
			return fail("auth", fmt.Errorf("as %q with %s: %w", cfg.Username, cfg.Auth, err))
		}
	}
	var opts *smtp.MailOptions
	if !isASCII(from) || !allASCII(to) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(from, opts); err != nil {
		return fail("mail", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return fail("rcpt", fmt.Errorf("%s: %w", rcpt, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	if _, err := bytes.NewReader(raw).WriteTo(w); err != nil {
		w.Close()
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("data", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
