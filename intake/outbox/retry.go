package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-smtp"

	"dsr-intake/register/store"
)

// RetryPolicy is how long the outbox keeps trying an email that fails, and
// how long it waits between tries. Both are measured in time from the
// email's first failure, not in attempts: a mail service's outage or
// throttling lasts hours however often it is asked, and a sender that
// restarts during it must not use the email's chances up. Mail servers do
// the same (Postfix: up to an hour apart, for five days).
type RetryPolicy struct {
	Initial  time.Duration // the first wait; 1s when zero
	Ceiling  time.Duration // the longest wait; 1h when zero
	Lifetime time.Duration // failing this long gives the email up; 72h when zero
}

// Wait is how long to wait before the next try of an email that has been
// failing for failingFor: as long again (so the waits double), within
// Initial and Ceiling, with jitter (half to all of it) so that emails held
// back together do not come back together.
func (p RetryPolicy) Wait(failingFor time.Duration) time.Duration {
	d := min(max(failingFor, p.initial()), p.ceiling())
	return d/2 + rand.N(d/2+1)
}

// Expired reports whether an email failing for failingFor is given up.
func (p RetryPolicy) Expired(failingFor time.Duration) bool {
	return failingFor >= p.lifetime()
}

// Tick is how often a running sender looks for emails due again: every
// 30 seconds, or more often when the waits are configured shorter.
func (p RetryPolicy) Tick() time.Duration {
	return max(min(30*time.Second, p.ceiling()/2), 10*time.Millisecond)
}

func (p RetryPolicy) initial() time.Duration {
	if p.Initial > 0 {
		return p.Initial
	}
	return time.Second
}

func (p RetryPolicy) ceiling() time.Duration {
	if p.Ceiling > 0 {
		return max(p.Ceiling, p.initial())
	}
	return max(time.Hour, p.initial())
}

func (p RetryPolicy) lifetime() time.Duration {
	if p.Lifetime > 0 {
		return p.Lifetime
	}
	return 72 * time.Hour
}

// answered reports whether err carries the server's reply: a refused send
// is a try; a connection that failed, or a sender stopped mid-way, is not.
func answered(err error) bool {
	var pe *smtp.SMTPError
	return errors.As(err, &pe)
}

// errGivenUp marks a send that failed for the last time (logged as an
// error where it happened).
var errGivenUp = errors.New("given up")

// retryOrGiveUp records a failed send of it: tried again after the policy's
// wait, or, when permanent or failing for longer than the lifetime, given
// up, which puts a query its case waits on in the review queue.
func (s *Sender) retryOrGiveUp(ctx context.Context, it store.OutboxItem, cause error, permanent bool) error {
	now := s.now()
	since := it.FailingSince
	if since.IsZero() {
		since = now
	}
	failingFor := now.Sub(since)
	f := store.SendFailure{Error: cause.Error(), Answered: answered(cause), At: now}
	if !permanent && !s.Retry.Expired(failingFor) {
		f.NextTry = now.Add(s.Retry.Wait(failingFor))
	}
	// Recorded with a context of its own: a shutdown must not lose it.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	gave, err := s.Store.RecordSendFailure(mctx, it.ID, f)
	if err != nil {
		return fmt.Errorf("%v; and recording it: %w", cause, err)
	}
	if !f.NextTry.IsZero() {
		s.log().Warn("send failed; will try again", "outbox", it.ID, "kind", it.Kind, "case", it.CaseRef,
			"failing_for", failingFor.Round(time.Second), "retry_in", f.NextTry.Sub(now).Round(time.Millisecond), "err", cause)
		return cause
	}
	why := "failing for longer than the retry lifetime"
	if permanent {
		why = "refused for good"
	}
	if gave.CaseRef != "" {
		s.log().Error("query not delivered: case sent to review", "outbox", it.ID, "case", gave.CaseRef, "why", why,
			"failing_for", failingFor.Round(time.Second), "err", cause)
	} else {
		s.log().Error("email given up", "outbox", it.ID, "kind", it.Kind, "case", it.CaseRef, "why", why,
			"failing_for", failingFor.Round(time.Second), "err", cause)
	}
	return fmt.Errorf("%w: %w", errGivenUp, cause)
}

// heldBack says whether a query is over a loop limit today (per recipient
// or per case, counting queries the server accepted this UTC day) and, if
// so, defers it to the next day rather than drop it: the limit slows a
// loop with a referrer's system, and the referrer still gets the query.
func (s *Sender) heldBack(ctx context.Context, it store.OutboxItem) (bool, error) {
	if it.Kind != "query" || (s.MaxQueriesPerSender <= 0 && s.MaxQueriesPerCase <= 0) {
		return false, nil
	}
	now := s.now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	toAddr, forCase, err := s.Store.QueriesSent(ctx, it.To, it.CaseID, day, next)
	if err != nil {
		return false, err
	}
	limit := ""
	switch {
	case s.MaxQueriesPerSender > 0 && toAddr >= s.MaxQueriesPerSender:
		limit = "the daily limit for this recipient"
	case s.MaxQueriesPerCase > 0 && it.CaseID != 0 && forCase >= s.MaxQueriesPerCase:
		limit = "the daily limit for this case"
	default:
		return false, nil
	}
	// Spread over the next day's first minutes, not all at midnight.
	until := next.Add(rand.N(10 * time.Minute))
	if err := s.Store.DeferOutbox(ctx, it.ID, until); err != nil {
		return false, err
	}
	s.log().Warn("query held back until tomorrow: "+limit+" is reached", "outbox", it.ID, "case", it.CaseRef,
		"until", until.Format(time.RFC3339))
	return true, nil
}
