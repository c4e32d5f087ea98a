package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"dsr-intake/intake/mailbox"
	"dsr-intake/register/store"
)

// Queue is what the sender needs of the store: the emails due, leased to
// one sender at a time, and their outcome. *store.Store is one.
type Queue interface {
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.OutboxItem, error)
	MarkSent(ctx context.Context, id int64, now time.Time) error
	MarkSendFailed(ctx context.Context, id int64, errText string, nextTry time.Time) error
}

// Sender drains the outbox over SMTP: it claims due emails, sends each
// and marks it sent once the server has accepted it. A failure is retried
// with backoff; a rejection (5xx) or too many attempts gives up and leaves
// the email failed for a coordinator to see.
type Sender struct {
	Store       Queue
	Composer    *Composer
	SMTP        SMTPConfig
	MaxAttempts int           // attempts before giving up; 8 when zero
	Lease       time.Duration // how long a claim holds; 2 minutes when zero
	Now         func() time.Time
	Log         *slog.Logger

	kick chan struct{}
}

// Kick asks a running sender to drain now rather than at its next tick.
func (s *Sender) Kick() {
	if s.kick == nil {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run drains the outbox every interval (and when kicked) until ctx ends.
func (s *Sender) Run(ctx context.Context, interval time.Duration) {
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Drain(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Drain sends everything due now; it returns how many emails were sent.
func (s *Sender) Drain(ctx context.Context) (int, error) {
	sent := 0
	for {
		items, err := s.Store.ClaimOutbox(ctx, s.now(), 10, s.lease())
		if err != nil {
			return sent, err
		}
		if len(items) == 0 {
			return sent, nil
		}
		for _, it := range items {
			if err := s.send(ctx, it); err != nil {
				if ctx.Err() != nil {
					return sent, ctx.Err()
				}
				s.log().Warn("send failed", "outbox", it.ID, "case", it.CaseRef, "attempt", it.Attempts, "err", err)
				continue
			}
			sent++
		}
	}
}

func (s *Sender) send(ctx context.Context, it store.OutboxItem) error {
	msg := store.OutboxMessage{Kind: it.Kind, To: it.To, Subject: it.Subject, Body: it.Body, HTML: it.HTML,
		MessageID: it.MessageID, InReplyTo: it.InReplyTo, References: it.References, CaseID: it.CaseID}
	raw, err := s.Composer.Render(msg, s.now())
	if err != nil {
		return s.fail(ctx, it, err, true)
	}
	if err := SendMail(ctx, s.SMTP, s.Composer.From, []string{it.To}, raw); err != nil {
		return s.fail(ctx, it, err, IsPermanent(err))
	}
	// Marked with a context of its own: the server has the email, so a
	// shutdown now must not leave it pending to be sent again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.MarkSent(mctx, it.ID, s.now()); err != nil {
		return fmt.Errorf("sent, but not marked: %w", err)
	}
	s.log().Info("sent", "outbox", it.ID, "kind", it.Kind, "case", it.CaseRef)
	return nil
}

func (s *Sender) fail(ctx context.Context, it store.OutboxItem, cause error, permanent bool) error {
	next := s.now().Add(mailbox.Backoff(it.Attempts))
	if permanent || it.Attempts >= s.maxAttempts() {
		next = time.Time{}
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.MarkSendFailed(mctx, it.ID, cause.Error(), next); err != nil {
		return fmt.Errorf("%v; and marking it failed: %w", cause, err)
	}
	return cause
}

func (s *Sender) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 8
}

func (s *Sender) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return 2 * time.Minute
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
