package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// SigninLimits bound sign-in attempts. Failures are counted over Window:
// one client may fail ClientFailures times in it before it is refused; an
// account may fail AccountFailures times before each further attempt on
// it must wait, Delay after the last failure, doubling with every further
// failure up to MaxDelay. A delay rather than a lock: whoever knows an
// account's name can keep it waiting at most MaxDelay, never lock it out.
type SigninLimits struct {
	Window          time.Duration
	ClientFailures  int
	AccountFailures int
	Delay           time.Duration
	MaxDelay        time.Duration
}

// Refusals of ClaimSignin.
const (
	SigninClientLimit  = "client_limit"  // too many failures from this client
	SigninAccountDelay = "account_delay" // the account's delay has not passed
)

// SigninClaim is ClaimSignin's answer: an attempt to settle, or a refusal.
type SigninClaim struct {
	ID         int64         // the attempt to settle once checked; 0 when refused
	Refused    string        // "" when allowed, else SigninClientLimit or SigninAccountDelay
	RetryAfter time.Duration // when refused, how long until an attempt may be allowed
}

// signinLockKey names PostgreSQL's transaction advisory lock that makes
// claims one at a time; SQLite's immediate transaction already does.
const signinLockKey = 0x64737273696e // "dsrsin"

// ClaimSignin checks the limits for an attempt on the account name from
// the client remote and, when they allow it, records the attempt as a
// failure before the password is checked, all in one transaction that
// claims take one at a time (a transaction advisory lock on PostgreSQL,
// an immediate transaction on SQLite, both across processes). Parallel attempts therefore each see the
// others: none passes the check on a count that a failure in flight has
// not reached yet. SettleSignin records how the attempt ended. A refusal
// is audited but not counted, so refused attempts do not lengthen the
// delay.
func (s *Store) ClaimSignin(ctx context.Context, name, remote string, l SigninLimits) (SigninClaim, error) {
	if l.Window <= 0 {
		return SigninClaim{}, errors.New("claim sign-in: no window to count failures over")
	}
	name = normaliseUserName(name)
	if len(name) > 64 {
		name = name[:64]
	}
	s.signinMu.Lock()
	defer s.signinMu.Unlock()
	var claim SigninClaim
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(signinLockKey)); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		now := s.stamp()
		since := now.Add(-l.Window)
		if l.ClientFailures > 0 && remote != "" {
			var n int
			if err := s.get(ctx, tx, &n, `SELECT COUNT(*) FROM login_attempts WHERE remote = ? AND ok = ? AND at >= ?`,
				remote, false, since); err != nil {
				return fmt.Errorf("count client failures: %w", err)
			}
			if n >= l.ClientFailures {
				claim = SigninClaim{Refused: SigninClientLimit, RetryAfter: l.Window}
			}
		}
		if claim.Refused == "" && l.AccountFailures > 0 {
			// The failures since the account's last success: signing in
			// clears what came before.
			const failures = `FROM login_attempts WHERE name = ? AND ok = ? AND at >= ?
				AND id > COALESCE((SELECT MAX(id) FROM login_attempts WHERE name = ? AND ok = ?), 0)`
			var n int
			if err := s.get(ctx, tx, &n, `SELECT COUNT(*) `+failures, name, false, since, name, true); err != nil {
				return fmt.Errorf("count account failures: %w", err)
			}
			if n >= l.AccountFailures {
				var last time.Time
				if err := s.get(ctx, tx, &last, `SELECT at `+failures+` ORDER BY id DESC LIMIT 1`, name, false, since, name, true); err != nil {
					return fmt.Errorf("read last account failure: %w", err)
				}
				if wait := last.UTC().Add(signinDelay(l, n)).Sub(now); wait > 0 {
					claim = SigninClaim{Refused: SigninAccountDelay, RetryAfter: wait}
				}
			}
		}
		if claim.Refused != "" {
			return s.auditSigninFailure(ctx, tx, now, name, "rate_limited")
		}
		id, err := s.insert(ctx, tx, `INSERT INTO login_attempts (name, remote, ok, at) VALUES (?, ?, ?, ?)`, name, remote, false, now)
		if err != nil {
			return fmt.Errorf("insert login attempt: %w", err)
		}
		claim.ID = id
		// The attempts are only for these limits (the audit log keeps the
		// history), so those older than the window go, now and then: the
		// table stays the size of a window, and clients' addresses are
		// not kept longer than needed.
		if id%signinPruneEvery == 0 {
			if _, err := s.exec(ctx, tx, `DELETE FROM login_attempts WHERE at < ?`, since); err != nil {
				return fmt.Errorf("forget old login attempts: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return SigninClaim{}, fmt.Errorf("claim sign-in: %w", err)
	}
	return claim, nil
}

// signinPruneEvery is how many attempts pass between sweeps of those
// older than the window.
const signinPruneEvery = 256

// signinDelay is how long an account waits after its nth failure.
func signinDelay(l SigninLimits, n int) time.Duration {
	d := l.Delay
	for i := l.AccountFailures; i < n && d < l.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.MaxDelay)
}

// SettleSignin records how a claimed attempt ended: ok clears the
// account's failures; a failure stays counted and is audited with why
// ("bad_password", "unknown_user", "bad_code", "disabled", ...).
func (s *Store) SettleSignin(ctx context.Context, id int64, ok bool, why string) error {
	if id == 0 {
		return errors.New("settle sign-in: no attempt")
	}
	s.signinMu.Lock()
	defer s.signinMu.Unlock()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var name string
		if err := s.get(ctx, tx, &name, `SELECT name FROM login_attempts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("read attempt %d: %w", id, err)
		}
		if ok {
			if _, err := s.exec(ctx, tx, `UPDATE login_attempts SET ok = ? WHERE id = ?`, true, id); err != nil {
				return fmt.Errorf("update attempt %d: %w", id, err)
			}
			return nil
		}
		return s.auditSigninFailure(ctx, tx, s.stamp(), name, why)
	})
	if err != nil {
		return fmt.Errorf("settle sign-in: %w", err)
	}
	return nil
}

// auditSigninFailure audits a failed sign-in under the account when one
// has that name; what else was typed (a password pasted in the wrong box,
// say) stays out of the log.
func (s *Store) auditSigninFailure(ctx context.Context, tx *sqlx.Tx, now time.Time, name, why string) error {
	actor, id := "unknown", int64(0)
	if u, err := s.oneUser(ctx, tx, "name = ?", name); err == nil {
		actor, id = u.Name, u.ID
	}
	return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "user.signin_failed", Entity: "user", EntityID: id,
		Detail: "reason=" + why})
}
