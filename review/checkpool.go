package review

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// checkPool bounds how many password checks run at once. Each Argon2id
// check holds 19 MiB for its run: unbounded, a burst of sign-ins is a
// burst of memory (100 at once took the process past 1.3 GB). A sign-in
// that finds every slot taken is answered "try again shortly" at once
// rather than queued, so a flood costs neither memory nor waiting
// goroutines.
type checkPool struct {
	slots chan struct{}
	// running is the checks under way, peak the most there have been at
	// once, checks how many have run: what the tests and the logs see.
	running, peak, checks atomic.Int64
	// turnedAway counts sign-ins refused for want of a slot since the
	// last log line about them, at lastNoted (Unix nanoseconds).
	turnedAway, lastNoted atomic.Int64
	// during, when set, runs inside each check (tests hold checks open
	// with it, to see the bound hold).
	during func()
}

// defaultPasswordChecks is two checks per CPU: enough to keep the CPUs
// busy, a bounded 38 MiB per CPU of memory.
func defaultPasswordChecks() int { return 2 * runtime.GOMAXPROCS(0) }

func newCheckPool(size int) *checkPool {
	if size <= 0 {
		size = defaultPasswordChecks()
	}
	return &checkPool{slots: make(chan struct{}, size)}
}

// size is how many checks may run at once.
func (p *checkPool) size() int { return cap(p.slots) }

// tryAcquire takes a slot without waiting; ok is false when all are taken.
// The caller checks (with check) and then calls release, which frees the
// slot once however often it is called.
func (p *checkPool) tryAcquire() (release func(), ok bool) {
	select {
	case p.slots <- struct{}{}:
		return sync.OnceFunc(func() { <-p.slots }), true
	default:
		return nil, false
	}
}

// check runs one password check in a slot the caller holds.
func (p *checkPool) check(hash, password string) bool {
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		peak := p.peak.Load()
		if n <= peak || p.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	p.checks.Add(1)
	if p.during != nil {
		p.during()
	}
	ok, _ := CheckPassword(hash, password)
	// Argon2id's 19 MiB are garbage now. Collected here, while the slot
	// is still held, they are reused by the next check instead of piling
	// up until the heap's goal: otherwise a steady stream of sign-ins
	// holds the process near its soft memory limit however small the
	// pool (make bench: 171 MB for 200 at once, against 150 MB). The
	// buffer holds no pointers, so the collection only marks the rest of
	// the heap: a few milliseconds against the check's fifty.
	runtime.GC()
	return ok
}

// turnAway counts a sign-in turned away for want of a slot, and returns
// how many have been since the last time it returned more than 0, at
// most once a minute: a flood is one log line a minute, not one a request.
func (p *checkPool) turnAway(now time.Time) int64 {
	p.turnedAway.Add(1)
	last := p.lastNoted.Load()
	if now.UnixNano()-last < int64(time.Minute) || !p.lastNoted.CompareAndSwap(last, now.UnixNano()) {
		return 0
	}
	return p.turnedAway.Swap(0)
}
