package store

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Sign-in claims run on both databases: their whole point is what the
// database does with attempts in parallel.
func TestSigninClaimsSQLite(t *testing.T) { testSigninClaims(t, stSQLiteDB) }

func TestSigninClaimsPostgres(t *testing.T) {
	p := stNewPostgres(t)
	testSigninClaims(t, p.newDB)
}

func testSigninClaims(t *testing.T, db stDB) {
	t.Run("parallel attempts on one account", func(t *testing.T) { testSigninParallelAccount(t, db(t)) })
	t.Run("parallel attempts from one client", func(t *testing.T) { testSigninParallelClient(t, db(t)) })
	t.Run("delay grows and clears", func(t *testing.T) { testSigninDelay(t, db(t)) })
}

var stLimits = SigninLimits{Window: 15 * time.Minute, ClientFailures: 10, AccountFailures: 5, Delay: time.Minute, MaxDelay: 4 * time.Minute}

// stClaimAll makes n claims at once, name(i) from remote(i), and returns
// how many were allowed. The claims alternate between two stores on the
// same database, as two daemons would, so it is the database that keeps
// them apart and not the store's own mutex.
func stClaimAll(t *testing.T, o Options, n int, name, remote func(int) string) int {
	t.Helper()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	keys := stKeys(t)
	stores := []*Store{stOpen(t, o, keys), stOpen(t, o, keys)}
	start := make(chan struct{})
	for i := range n {
		s := stores[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := s.ClaimSignin(context.Background(), name(i), remote(i), stLimits)
			if err != nil {
				t.Error(err)
				return
			}
			if (c.ID != 0) == (c.Refused != "") {
				t.Errorf("claim %+v: either an attempt or a refusal", c)
			}
			if c.ID != 0 {
				allowed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(allowed.Load())
}

func testSigninParallelAccount(t *testing.T, o Options) {
	// From many clients, so only the account's limit applies.
	got := stClaimAll(t, o, 40, func(int) string { return "Dave" }, func(i int) string { return "198.51.100." + strconv.Itoa(i) })
	if got != stLimits.AccountFailures {
		t.Errorf("%d of 40 parallel attempts on one account allowed, want %d", got, stLimits.AccountFailures)
	}
}

func testSigninParallelClient(t *testing.T, o Options) {
	got := stClaimAll(t, o, 40, func(i int) string { return "user" + strconv.Itoa(i) }, func(int) string { return "203.0.113.7" })
	if got != stLimits.ClientFailures {
		t.Errorf("%d of 40 parallel attempts from one client allowed, want %d", got, stLimits.ClientFailures)
	}
	// Another client is not held back by that one.
	c, err := stOpen(t, o, stKeys(t)).ClaimSignin(context.Background(), "user1", "203.0.113.8", stLimits)
	if err != nil || c.ID == 0 {
		t.Errorf("another client: %+v, %v", c, err)
	}
}

func testSigninDelay(t *testing.T, o Options) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := stOpen(t, o, stKeys(t))
	if _, err := s.AddUser(ctx, "erin", RoleCoordinator, "h", "cli"); err != nil {
		t.Fatal(err)
	}
	claim := func(remote string) SigninClaim {
		t.Helper()
		c, err := s.ClaimSignin(ctx, "erin", remote, stLimits)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fail := func(c SigninClaim) {
		t.Helper()
		if c.ID == 0 {
			t.Fatalf("refused: %+v", c)
		}
		if err := s.SettleSignin(ctx, c.ID, false, "bad_password"); err != nil {
			t.Fatal(err)
		}
	}
	// Different attacker addresses, so the client limit stays out of it.
	for i := range stLimits.AccountFailures {
		fail(claim("192.0.2." + strconv.Itoa(i)))
	}
	for _, step := range []struct {
		wait    time.Duration
		allowed bool
		retry   time.Duration // when refused
	}{
		{30 * time.Second, false, 30 * time.Second},
		{29 * time.Second, false, time.Second}, // the refusal did not restart the clock
		{time.Second, true, 0},                 // a minute after the fifth failure
	} {
		at(step.wait)
		c := claim("192.0.2.200")
		if (c.ID != 0) != step.allowed || (!step.allowed && (c.Refused != SigninAccountDelay || c.RetryAfter != step.retry)) {
			t.Fatalf("after %v more: %+v, want allowed=%t retry %v", step.wait, c, step.allowed, step.retry)
		}
		if c.ID != 0 {
			fail(c)
		}
	}
	// The sixth failure doubles the delay.
	at(time.Minute + 59*time.Second)
	if c := claim("192.0.2.201"); c.ID != 0 {
		t.Fatalf("within the doubled delay: %+v", c)
	}
	at(time.Second)
	c := claim("192.0.2.202")
	if c.ID == 0 {
		t.Fatalf("after the doubled delay: %+v", c)
	}
	// The user signs in: the failures before are cleared.
	if err := s.SettleSignin(ctx, c.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	for i := range stLimits.AccountFailures {
		if c := claim("192.0.2.203"); c.ID == 0 {
			t.Fatalf("attempt %d after a success: %+v", i, c)
		} else {
			fail(c)
		}
	}
	if c := claim("192.0.2.203"); c.Refused != SigninAccountDelay {
		t.Fatalf("after five new failures: %+v", c)
	}
	// A window later, the old attempts are swept away as new ones come.
	at(stLimits.Window + time.Minute)
	for i := range signinPruneEvery {
		if c, err := s.ClaimSignin(ctx, "sweep"+strconv.Itoa(i), "192.0.2.250", SigninLimits{Window: stLimits.Window}); err != nil || c.ID == 0 {
			t.Fatalf("claim %d: %+v %v", i, c, err)
		}
	}
	var old int
	if err := s.get(ctx, s.db, &old, `SELECT COUNT(*) FROM login_attempts WHERE at < ?`, now.Add(-stLimits.Window)); err != nil || old != 0 {
		t.Errorf("%d attempts older than the window left (%v)", old, err)
	}
	entries, err := s.Audit(ctx, AuditFilter{Action: "user.signin_failed", Actor: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		counts[e.Detail]++
	}
	if counts["reason=bad_password"] != 2*stLimits.AccountFailures+1 || counts["reason=rate_limited"] != 4 {
		t.Errorf("audited: %v", counts)
	}
}
