package mailbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-imap/v2"
)

// idleSegment is the longest one IDLE command runs before we end and
// re-issue it. RFC 9051 lets servers drop an idle client after 30 minutes
// and some do at 29; go-imap's own restart comes at 28, so ours always wins.
const idleSegment = 24 * time.Minute

// errConnClosed reports a connection that dropped while we waited.
var errConnClosed = errors.New("connection closed by server or network")

// WaitForChange returns when the server reports new mail (EXISTS), when
// maxIdle has passed (nil either way), or with an error when ctx ends or the
// connection dies. It uses IDLE, re-issued every 24 minutes, or on a server
// without IDLE sends NOOP every PollInterval. EXPUNGE does not wake it: it
// follows our own moves and never brings work. Callers List after it returns,
// whatever the reason, since an IDLE notice can be missed.
func (m *Mailbox) WaitForChange(ctx context.Context, maxIdle time.Duration) error {
	if maxIdle <= 0 {
		maxIdle = idleSegment
	}
	if m.drainNewMail() {
		return nil
	}
	deadline := time.Now().Add(maxIdle)
	if !m.caps.Has(imap.CapIdle) {
		return m.poll(ctx, deadline)
	}
	for {
		seg := time.Until(deadline)
		if seg <= 0 {
			return nil
		}
		seg = min(seg, m.idleEvery)
		changed, err := m.idleOnce(ctx, seg)
		if err != nil || changed {
			return err
		}
	}
}

func (m *Mailbox) idleOnce(ctx context.Context, d time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("imap: idle: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { m.c.Close() })
	defer stop()

	idle, err := m.c.Idle()
	if err != nil {
		return false, fmt.Errorf("imap: idle: %w", ContextError(ctx, err))
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	changed, closed := false, false
	select {
	case <-m.newMail:
		changed = true
	case <-timer.C:
	case <-ctx.Done():
	case <-m.c.Closed():
		closed = true
	}
	cerr := idle.Close()
	werr := idle.Wait()
	switch {
	case ctx.Err() != nil:
		return false, fmt.Errorf("imap: idle: %w", ctx.Err())
	case closed:
		return false, fmt.Errorf("imap: idle: %w", errConnClosed)
	case cerr != nil:
		return false, fmt.Errorf("imap: end idle: %w", cerr)
	case werr != nil:
		return false, fmt.Errorf("imap: idle: %w", werr)
	}
	// EXISTS may have come between the select and DONE.
	return changed || m.drainNewMail(), nil
}

func (m *Mailbox) poll(ctx context.Context, deadline time.Time) error {
	for {
		wait := min(m.cfg.PollInterval, time.Until(deadline))
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("imap: poll: %w", ctx.Err())
		case <-m.c.Closed():
			t.Stop()
			return fmt.Errorf("imap: poll: %w", errConnClosed)
		case <-t.C:
		}
		if err := m.Noop(ctx); err != nil {
			return err
		}
		if m.drainNewMail() {
			return nil
		}
	}
}

// Backoff is how long to wait before reconnection attempt number attempt
// (0 for the first retry): doubling from 1 s to at most 5 min, with half of
// it random so that several daemons, or a daemon and its server's restart,
// do not fall into step.
func Backoff(attempt int) time.Duration {
	const base, ceiling = time.Second, 5 * time.Minute
	d := ceiling
	if attempt < 0 {
		attempt = 0
	}
	if attempt < 20 {
		d = min(base<<attempt, ceiling)
	}
	return d/2 + rand.N(d/2+1)
}
