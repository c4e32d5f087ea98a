package outbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2"

	"dsr-intake/intake/mailbox"
	"dsr-intake/internal/harness"
)

func queryMessage() []byte {
	return []byte("From: DSR <dsr@nhs.example>\r\n" +
		"To: Referrer <referrer@school.example>\r\n" +
		"Subject: DSR-2026-000123: consent form missing\r\n" +
		"Auto-Submitted: auto-replied\r\n" +
		"X-Auto-Response-Suppress: All\r\n" +
		"Message-ID: <q1@dsr.nhs.example>\r\n" +
		"\r\n" +
		"Please send the signed consent form.\r\n")
}

func TestSendMail(t *testing.T) {
	sink := harness.NewSMTPSink(t)
	ctx := context.Background()
	raw := queryMessage()

	for _, mode := range []mailbox.TLSMode{mailbox.TLSStartTLS, mailbox.TLSImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			before := len(sink.Messages())
			err := SendMail(ctx, sinkConfig(sink, mode), "dsr@nhs.example", []string{"referrer@school.example", "cc@school.example"}, raw)
			if err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			msgs := sink.Messages()
			if len(msgs) != before+1 {
				t.Fatalf("sink holds %d messages, want %d", len(msgs), before+1)
			}
			got := msgs[len(msgs)-1]
			if got.From != "dsr@nhs.example" || strings.Join(got.To, ",") != "referrer@school.example,cc@school.example" {
				t.Errorf("envelope = %s -> %v", got.From, got.To)
			}
			if got.AuthUser != sink.User || got.Mech != "PLAIN" {
				t.Errorf("authenticated as %q with %q", got.AuthUser, got.Mech)
			}
			if !bytes.Equal(got.Data, raw) {
				t.Errorf("message changed in transit:\n%q\nwant\n%q", got.Data, raw)
			}
		})
	}

	t.Run("xoauth2", func(t *testing.T) {
		cfg := sinkConfig(sink, mailbox.TLSStartTLS)
		cfg.Auth = mailbox.XOAuth2Auth(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sink.Token}))
		if err := SendMail(ctx, cfg, "dsr@nhs.example", []string{"referrer@school.example"}, raw); err != nil {
			t.Fatalf("SendMail with XOAUTH2: %v", err)
		}
		msgs := sink.Messages()
		if got := msgs[len(msgs)-1]; got.Mech != "XOAUTH2" {
			t.Fatalf("last message authenticated with %q", got.Mech)
		}
		cfg.Auth = mailbox.XOAuth2Auth(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "wrong"}))
		err := SendMail(ctx, cfg, "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		if err == nil || IsPermanent(err) {
			t.Fatalf("wrong token: %v (permanent=%v), want a temporary auth error", err, IsPermanent(err))
		}
	})

	t.Run("4xx is temporary, then succeeds", func(t *testing.T) {
		sink.RefuseNext(1)
		before := len(sink.Messages())
		err := SendMail(ctx, sinkConfig(sink, mailbox.TLSStartTLS), "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		var se *smtp.SMTPError
		if err == nil || !errors.As(err, &se) || se.Code != 451 {
			t.Fatalf("SendMail while refused: %v, want a 451", err)
		}
		if IsPermanent(err) {
			t.Fatal("a 451 was classified permanent")
		}
		if err := SendMail(ctx, sinkConfig(sink, mailbox.TLSStartTLS), "dsr@nhs.example", []string{"referrer@school.example"}, raw); err != nil {
			t.Fatalf("retry after the refusal: %v", err)
		}
		if n := len(sink.Messages()); n != before+1 {
			t.Fatalf("sink holds %d new messages, want 1", n-before)
		}
	})

	t.Run("5xx is permanent", func(t *testing.T) {
		err := SendMail(ctx, sinkConfig(sink, mailbox.TLSStartTLS), "dsr@nhs.example", []string{"nobody@invalid.example"}, raw)
		if !IsPermanent(err) {
			t.Fatalf("550 for a recipient: %v, want permanent", err)
		}
	})

	t.Run("wrong password is not a message failure", func(t *testing.T) {
		cfg := sinkConfig(sink, mailbox.TLSStartTLS)
		cfg.Auth = mailbox.PasswordAuth("nope")
		err := SendMail(ctx, cfg, "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		if err == nil || IsPermanent(err) || strings.Contains(err.Error(), "nope") {
			t.Fatalf("wrong password: %v", err)
		}
	})

	t.Run("unknown CA refused", func(t *testing.T) {
		cfg := sinkConfig(sink, mailbox.TLSStartTLS)
		cfg.CAFile = ""
		err := SendMail(ctx, cfg, "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("SendMail to an unknown CA: %v", err)
		}
	})

	t.Run("network failure is temporary", func(t *testing.T) {
		cfg := sinkConfig(sink, mailbox.TLSStartTLS)
		cfg.Addr = "127.0.0.1:1"
		err := SendMail(ctx, cfg, "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		if err == nil || IsPermanent(err) {
			t.Fatalf("connection refused: %v", err)
		}
	})

	t.Run("context bounds the exchange", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		err := SendMail(cctx, sinkConfig(sink, mailbox.TLSStartTLS), "dsr@nhs.example", []string{"referrer@school.example"}, raw)
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
			t.Fatalf("SendMail with a cancelled context: %v after %v", err, time.Since(start))
		}
	})
}

func TestIsPermanent(t *testing.T) {
	e := func(stage string, code int) error {
		return &SendError{Stage: stage, Err: &smtp.SMTPError{Code: code, Message: "x"}}
	}
	cases := []struct {
		err  error
		want bool
	}{
		{e("rcpt", 550), true},
		{e("data", 554), true},
		{e("mail", 553), true},
		{e("mail", 451), false},
		{e("data", 452), false},
		{e("auth", 535), false},
		{e("tls", 554), false},
		{errors.New("plain"), false},
		{nil, false},
	}
	for _, c := range cases {
		if got := IsPermanent(c.err); got != c.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestSendMailRefusesPlaintextToRemoteHosts: SendMail refuses before
// opening any connection, as DialIMAP does (mailbox's
// TestPlaintextRefusedToRemoteHosts).
func TestSendMailRefusesPlaintextToRemoteHosts(t *testing.T) {
	err := SendMail(context.Background(), SMTPConfig{Addr: "smtp.nhs.example:25", TLS: mailbox.TLSInsecure}, "a@b.example", []string{"c@d.example"}, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "plaintext") || IsPermanent(err) {
		t.Fatalf("SendMail insecure to a remote host: %v", err)
	}
}
