package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"dsr-intake/register/store"
)

// Queue is what the sender needs of the store: the emails due, leased to
// one sender at a time, and their outcome (sent, failed for now or given
// up, held back by a loop limit), and the queries sent in a day for those
// limits. *store.Store is one.
type Queue interface {
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.OutboxItem, error)
	MarkSent(ctx context.Context, id int64, now time.Time) error
	RecordSendFailure(ctx context.Context, id int64, f store.SendFailure) (store.GaveUp, error)
	DeferOutbox(ctx context.Context, id int64, until time.Time) error
	QueriesSent(ctx context.Context, addr string, caseID int64, from, until time.Time) (toAddr, forCase int, err error)
}

// Sender drains the outbox over SMTP: it claims due emails, sends each
// and marks it sent once the server has accepted it. A failure is retried
// with backoff for the Retry policy's lifetime; a rejection (5xx) or the
// lifetime's end gives up and leaves the email failed, and its case in the
// review queue when it was the case's query.
type Sender struct {
	Store    Queue
	Composer *Composer
	SMTP     SMTPConfig
	Retry    RetryPolicy
	Lease    time.Duration // how long a claim holds; 2 minutes when zero
	// MaxQueriesPerCase and MaxQueriesPerSender are loop limits with a
	// referrer's system, per UTC day: a query over one is held back to the
	// next day, never dropped. Zero means no limit.
	MaxQueriesPerCase   int
	MaxQueriesPerSender int
	// Sent, when set, is looked in before re-sending an email a crashed
	// sender had claimed: a copy there was sent (see SentFolder).
	Sent SentLookup
	Now  func() time.Time
	Log  *slog.Logger

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
			ok, err := s.send(ctx, it)
			if err != nil {
				if ctx.Err() != nil {
					return sent, ctx.Err()
				}
				if !errors.Is(err, errGivenUp) && !errors.Is(err, errRetrying) {
					s.log().Warn("send failed", "outbox", it.ID, "case", it.CaseRef, "attempt", it.Attempts, "err", err)
				}
				continue
			}
			if ok {
				sent++
			}
		}
	}
}

// send sends it unless a loop limit holds it back (ok is false then).
func (s *Sender) send(ctx context.Context, it store.OutboxItem) (ok bool, err error) {
	if held, err := s.heldBack(ctx, it); err != nil || held {
		return false, err
	}
	if it.Orphaned && s.Sent != nil {
		// A sender died holding it, perhaps after the server took it.
		if found, err := s.Sent.HasMessageID(ctx, it.MessageID); err != nil {
			s.log().Warn("sent folder look-up failed; sending", "outbox", it.ID, "err", err)
		} else if found {
			return true, s.markSent(ctx, it, "already in the sent folder")
		}
	}
	msg := store.OutboxMessage{Kind: it.Kind, To: it.To, Subject: it.Subject, Body: it.Body, HTML: it.HTML,
		MessageID: it.MessageID, InReplyTo: it.InReplyTo, References: it.References, CaseID: it.CaseID}
	raw, err := s.Composer.Render(msg, s.now())
	if err != nil {
		return false, s.retryOrGiveUp(ctx, it, err, true)
	}
	if err := SendMail(ctx, s.SMTP, s.Composer.From, []string{it.To}, raw); err != nil {
		if ctx.Err() != nil {
			// Stopped mid-send: not a try; the claim runs out and the
			// next sender takes it.
			return false, err
		}
		err = s.retryOrGiveUp(ctx, it, err, IsPermanent(err))
		if !errors.Is(err, errGivenUp) {
			err = fmt.Errorf("%w: %w", errRetrying, err)
		}
		return false, err
	}
	return true, s.markSent(ctx, it, "sent")
}

// errRetrying marks a failed send that was logged and will be tried again.
var errRetrying = errors.New("will retry")

func (s *Sender) markSent(ctx context.Context, it store.OutboxItem, what string) error {
	// Marked with a context of its own: the server has the email, so a
	// shutdown now must not leave it pending to be sent again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.MarkSent(mctx, it.ID, s.now()); err != nil {
		return fmt.Errorf("%s, but not marked: %w", what, err)
	}
	s.log().Info(what, "outbox", it.ID, "kind", it.Kind, "case", it.CaseRef)
	return nil
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
