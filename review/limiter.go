package review

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"dsr-intake/register/store"
)

// DefaultSigninLimits are the sign-in limits when Options.Signin leaves
// them zero: over 15 minutes, 30 failures from one client and it is
// refused; after 5 failures on one account each further attempt on it
// waits 15 seconds after the last failure, doubling to at most 2 minutes.
// The delay is short enough that whoever types a colleague's name cannot
// keep them out for long, long enough that guessing a password is hopeless.
var DefaultSigninLimits = store.SigninLimits{
	Window: 15 * time.Minute, ClientFailures: 30, AccountFailures: 5, Delay: 15 * time.Second, MaxDelay: 2 * time.Minute,
}

func withSigninDefaults(l store.SigninLimits) store.SigninLimits {
	d := DefaultSigninLimits
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.ClientFailures <= 0 {
		l.ClientFailures = d.ClientFailures
	}
	if l.AccountFailures <= 0 {
		l.AccountFailures = d.AccountFailures
	}
	if l.Delay <= 0 {
		l.Delay = d.Delay
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = max(l.Delay, d.MaxDelay)
	}
	l.MaxDelay = max(l.MaxDelay, l.Delay)
	return l
}

const (
	signinBusyText        = "The service is busy. Try again shortly."
	signinClientLimitText = "There have been too many failed attempts to sign in from your network. Wait 15 minutes, then try again."
	signinTOTPNeededText  = "Your account must use an authenticator app, and none is set up for it. Ask a DSR administrator to set one up."
)

// signinDelayText says how long an account must wait, in whole seconds or
// minutes rounded up.
func signinDelayText(wait time.Duration) string {
	secs := int(math.Ceil(wait.Seconds()))
	when := fmt.Sprintf("%d seconds", secs)
	switch {
	case secs <= 1:
		when = "a second"
	case secs > 90:
		when = fmt.Sprintf("%d minutes", (secs+59)/60)
	}
	return "There have been too many failed attempts to sign in to this account. Wait " + when + ", then try again."
}

// retryAfter sets the Retry-After header to wait in whole seconds.
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
}

// signinOptions takes New's sign-in options.
func (s *Server) signinOptions(o Options) error {
	s.signinLimits = withSigninDefaults(o.Signin)
	s.checks = newCheckPool(o.PasswordChecks)
	var err error
	if s.proxies, err = parseTrustedProxies(o.TrustedProxies); err != nil {
		return fmt.Errorf("review: %w", err)
	}
	s.requireTOTP = map[string]bool{}
	for _, role := range o.RequireTOTP {
		if !store.ValidRole(role) {
			return fmt.Errorf("review: two-factor sign-in required for %q, which is not a role (viewer, coordinator or admin)", role)
		}
		s.requireTOTP[role] = true
	}
	return nil
}
