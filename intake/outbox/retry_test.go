package outbox

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestRetryPolicyWait(t *testing.T) {
	p := RetryPolicy{Initial: time.Second, Ceiling: time.Hour, Lifetime: 72 * time.Hour}
	tests := []struct {
		failingFor time.Duration
		lo, hi     time.Duration // the wait is in [lo, hi]
	}{
		{0, 500 * time.Millisecond, time.Second}, // the first wait: Initial, jittered
		{300 * time.Millisecond, 500 * time.Millisecond, time.Second},
		{10 * time.Second, 5 * time.Second, 10 * time.Second}, // as long again: the waits double
		{20 * time.Minute, 10 * time.Minute, 20 * time.Minute},
		{5 * time.Hour, 30 * time.Minute, time.Hour}, // never more than the ceiling
		{71 * time.Hour, 30 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.failingFor.String(), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 50 {
				w := p.Wait(tt.failingFor)
				if w < tt.lo || w > tt.hi {
					t.Fatalf("Wait(%v) = %v, want within [%v, %v]", tt.failingFor, w, tt.lo, tt.hi)
				}
				seen[w] = true
			}
			if len(seen) < 2 {
				t.Errorf("Wait(%v) has no jitter: always %v", tt.failingFor, seen)
			}
		})
	}
}

func TestRetryPolicyDefaultsAndLifetime(t *testing.T) {
	var zero RetryPolicy
	tests := []struct {
		p          RetryPolicy
		failingFor time.Duration
		expired    bool
	}{
		{zero, 71*time.Hour + 59*time.Minute, false}, // default lifetime: 3 days
		{zero, 72 * time.Hour, true},
		{RetryPolicy{Lifetime: 3 * time.Second}, 2 * time.Second, false},
		{RetryPolicy{Lifetime: 3 * time.Second}, 3 * time.Second, true},
	}
	for _, tt := range tests {
		if got := tt.p.Expired(tt.failingFor); got != tt.expired {
			t.Errorf("%+v.Expired(%v) = %v, want %v", tt.p, tt.failingFor, got, tt.expired)
		}
	}
	if w := zero.Wait(100 * time.Hour); w < 30*time.Minute || w > time.Hour {
		t.Errorf("default ceiling: Wait = %v, want within an hour", w)
	}
	if w := zero.Wait(0); w < 500*time.Millisecond || w > time.Second {
		t.Errorf("default first wait = %v, want about a second", w)
	}
	if tick := (RetryPolicy{Initial: 100 * time.Millisecond, Ceiling: 500 * time.Millisecond}).Tick(); tick != 250*time.Millisecond {
		t.Errorf("tick for short waits = %v", tick)
	}
	if tick := zero.Tick(); tick != 30*time.Second {
		t.Errorf("default tick = %v", tick)
	}
}

func TestAnswered(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&SendError{"mail", &smtp.SMTPError{Code: 451, Message: "Try again later"}}, true},
		{&SendError{"auth", fmt.Errorf("as x: %w", &smtp.SMTPError{Code: 535, Message: "bad"})}, true},
		{&SendError{"dial", errors.New("connection refused")}, false},
		{&SendError{"data", errors.New("i/o timeout")}, false},
	}
	for _, tt := range tests {
		if got := answered(tt.err); got != tt.want {
			t.Errorf("answered(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
