package review

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/internal/harness"
	"dsr-intake/register/store"
)

// The sign-in limits are what the database does with attempts in
// parallel, so they run on both: SQLite always, PostgreSQL when
// DSR_TEST_POSTGRES names one.
func TestSigninLimitsSQLite(t *testing.T) { testSigninLimits(t, "sqlite") }

func TestSigninLimitsPostgres(t *testing.T) {
	if os.Getenv("DSR_TEST_POSTGRES") == "" {
		t.Skip("DSR_TEST_POSTGRES is not set; set it to a PostgreSQL URL to run the sign-in limits on PostgreSQL")
	}
	testSigninLimits(t, "postgres")
}

func testSigninLimits(t *testing.T, driver string) {
	t.Run("parallel wrong attempts from one client", func(t *testing.T) { testSigninParallelClient(t, driver) })
	t.Run("parallel wrong attempts on one account", func(t *testing.T) { testSigninParallelAccount(t, driver) })
	t.Run("password checks bounded", func(t *testing.T) { testSigninCheckPool(t, driver) })
	t.Run("attacker does not keep the user out", func(t *testing.T) { testSigninAttackerDelay(t, driver) })
	t.Run("forwarded address only from a trusted proxy", func(t *testing.T) { testSigninTrustedProxy(t, driver) })
}

// newSigninFixture is a register with the coordinator's account (and no
// cases) on driver, and the pages on it with o.
func newSigninFixture(t *testing.T, driver string, o Options) *fixture {
	t.Helper()
	ctx := context.Background()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	ro := store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys}
	if driver == "postgres" {
		ro = store.Options{Driver: "postgres", DSN: harness.PostgresDB(t, "dsr_review_"), Keys: keys}
	}
	db, err := store.Open(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := HashPassword(coordinatorPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddUser(ctx, coordinatorName, store.RoleCoordinator, h, "fixture"); err != nil {
		t.Fatal(err)
	}
	o.Store = db
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: db, server: srv, clock: &clock{}, http: httptest.NewServer(srv.Handler())}
	t.Cleanup(f.http.Close)
	return f
}

// attempt is one sign-in by c, with X-Forwarded-For set when xff is not
// empty; c must have fetched the sign-in form.
func attempt(t *testing.T, c *client, name, pass, xff string) (int, string) {
	t.Helper()
	form := url.Values{"name": {name}, "password": {pass}, "csrf": {c.csrf}}
	req, err := http.NewRequest(http.MethodPost, c.f.http.URL+"/signin", strings.NewReader(form.Encode()))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// parallel makes n sign-in attempts at once, each from a client of its
// own that has fetched the form, and returns each one's status and page.
func parallel(t *testing.T, f *fixture, n int, name, pass func(i int) string) ([]int, []string) {
	t.Helper()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = f.client(t)
		clients[i].get("/signin")
	}
	status, bodies := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status[i], bodies[i] = attempt(t, clients[i], name(i), pass(i), "")
		}()
	}
	close(start)
	wg.Wait()
	return status, bodies
}

func count(status []int, want int) int {
	n := 0
	for _, s := range status {
		if s == want {
			n++
		}
	}
	return n
}

func testSigninParallelClient(t *testing.T, driver string) {
	limits := store.SigninLimits{ClientFailures: 4, AccountFailures: 100}
	f := newSigninFixture(t, driver, Options{Signin: limits, PasswordChecks: 64})
	const n = 24
	status, bodies := parallel(t, f, n, func(i int) string { return fmt.Sprintf("nobody%d", i) },
		func(int) string { return "wrong password here" })
	if got := f.server.checks.checks.Load(); got != int64(limits.ClientFailures) {
		t.Errorf("%d parallel wrong attempts from one client ran %d password checks, want %d", n, got, limits.ClientFailures)
	}
	if got := count(status, http.StatusUnauthorized); got != limits.ClientFailures {
		t.Errorf("%d refused as wrong, want %d: %v", got, limits.ClientFailures, status)
	}
	for i, s := range status {
		if s == http.StatusTooManyRequests && !strings.Contains(bodies[i], "from your network") {
			t.Errorf("attempt %d: 429 without the client limit's message", i)
		}
	}
}

func testSigninParallelAccount(t *testing.T, driver string) {
	limits := store.SigninLimits{ClientFailures: 1000, AccountFailures: 3, Delay: time.Minute}
	f := newSigninFixture(t, driver, Options{Signin: limits, PasswordChecks: 64})
	const n = 24
	status, bodies := parallel(t, f, n, func(int) string { return coordinatorName },
		func(i int) string { return fmt.Sprintf("wrong password %d", i) })
	if got := f.server.checks.checks.Load(); got != int64(limits.AccountFailures) {
		t.Errorf("%d parallel wrong attempts on one account ran %d password checks, want %d", n, got, limits.AccountFailures)
	}
	for i, s := range status {
		if s == http.StatusTooManyRequests && !strings.Contains(bodies[i], "to this account. Wait") {
			t.Errorf("attempt %d: 429 without the account delay's message", i)
		}
	}
}

func testSigninCheckPool(t *testing.T, driver string) {
	const size = 2
	f := newSigninFixture(t, driver, Options{Signin: store.SigninLimits{ClientFailures: 1000, AccountFailures: 1000},
		PasswordChecks: size})
	pool := f.server.checks
	if pool.size() != size {
		t.Fatalf("pool of %d, want %d", pool.size(), size)
	}
	// Free running: however they fall, never more than size at once.
	const m = 30
	status, bodies := parallel(t, f, m, func(i int) string { return fmt.Sprintf("user%d", i) },
		func(int) string { return "wrong password here" })
	if p := pool.peak.Load(); p > size || p < 1 {
		t.Errorf("%d password checks ran at once, pool of %d", p, size)
	}
	busy := count(status, http.StatusTooManyRequests)
	if int64(m-busy) != pool.checks.Load() || count(status, http.StatusUnauthorized) != m-busy {
		t.Errorf("%d checks, statuses %v", pool.checks.Load(), status)
	}
	for i, s := range status {
		if s == http.StatusTooManyRequests && !strings.Contains(bodies[i], signinBusyText) {
			t.Errorf("attempt %d: 429 without %q", i, signinBusyText)
		}
	}

	// Held open: the checks in the pool wait, and every other attempt is
	// answered at once, without a check.
	pool.peak.Store(0)
	hold := make(chan struct{})
	pool.during = func() { <-hold }
	before := pool.checks.Load()
	clients := make([]*client, m)
	for i := range clients {
		clients[i] = f.client(t)
		clients[i].get("/signin")
	}
	var wg sync.WaitGroup
	results := make(chan int, m)
	for i := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := attempt(t, clients[i], fmt.Sprintf("held%d", i), "wrong password here", "")
			results <- s
		}()
	}
	for range m - size {
		if s := <-results; s != http.StatusTooManyRequests {
			t.Errorf("with the pool full: status %d, want 429", s)
		}
	}
	// The slots' holders reach their checks once their claims are in.
	for deadline := time.Now().Add(10 * time.Second); pool.running.Load() < size && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if r := pool.running.Load(); r != size {
		t.Errorf("%d checks running with the pool held, want %d", r, size)
	}
	close(hold)
	wg.Wait()
	close(results)
	for s := range results {
		if s != http.StatusUnauthorized {
			t.Errorf("a held check ended with %d, want 401", s)
		}
	}
	if p, n := pool.peak.Load(), pool.checks.Load()-before; p != size || n != size {
		t.Errorf("peak %d and %d checks with the pool held, want %d and %d", p, n, size, size)
	}
}

func testSigninAttackerDelay(t *testing.T, driver string) {
	// The delay is long enough that the attempts below fall inside it
	// however slowly a loaded machine runs the first three checks.
	limits := store.SigninLimits{ClientFailures: 1000, AccountFailures: 3, Delay: 3 * time.Second, MaxDelay: 6 * time.Second}
	f := newSigninFixture(t, driver, Options{Signin: limits, TrustedProxies: []string{"127.0.0.1"}})
	attacker := f.client(t)
	attacker.get("/signin")
	for i := range 10 {
		want := http.StatusUnauthorized
		if i >= limits.AccountFailures {
			want = http.StatusTooManyRequests
		}
		if s, _ := attempt(t, attacker, coordinatorName, fmt.Sprintf("guess %d", i), "198.51.100.66"); s != want {
			t.Fatalf("attacker's attempt %d: %d, want %d", i, s, want)
		}
	}
	user := f.client(t)
	user.get("/signin")
	s, body := attempt(t, user, coordinatorName, coordinatorPass, "203.0.113.20")
	if s != http.StatusTooManyRequests || !strings.Contains(body, "failed attempts to sign in to this account. Wait ") {
		t.Fatalf("the user within the delay: %d", s)
	}
	// The attacker's refused attempts did not lengthen it: one delay
	// after the third failure the user is in.
	time.Sleep(limits.Delay)
	if s, _ := attempt(t, user, coordinatorName, coordinatorPass, "203.0.113.20"); s != http.StatusSeeOther {
		t.Fatalf("the user after the delay: %d, want 303", s)
	}
}

func testSigninTrustedProxy(t *testing.T, driver string) {
	limits := store.SigninLimits{ClientFailures: 2, AccountFailures: 1000}
	for _, tc := range []struct {
		name    string
		proxies []string
		other   int // the other client's status once the first is limited
	}{
		{"trusted", []string{"127.0.0.0/8"}, http.StatusUnauthorized},
		{"untrusted", []string{"10.0.0.1"}, http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSigninFixture(t, driver, Options{Signin: limits, TrustedProxies: tc.proxies})
			c := f.client(t)
			c.get("/signin")
			for i := range limits.ClientFailures {
				if s, _ := attempt(t, c, fmt.Sprintf("x%d", i), "wrong password here", "198.51.100.7"); s != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d", i, s)
				}
			}
			if s, _ := attempt(t, c, "x", "wrong password here", "198.51.100.7"); s != http.StatusTooManyRequests {
				t.Errorf("the limited client: %d, want 429", s)
			}
			// Another client through the same proxy.
			if s, _ := attempt(t, c, "x", "wrong password here", "198.51.100.8"); s != tc.other {
				t.Errorf("another forwarded client: %d, want %d", s, tc.other)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := parseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"no proxy", "203.0.113.5:4000", "", "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"trusted proxy by address", "192.0.2.1:4000", "198.51.100.1", "198.51.100.1"},
		{"trusted IPv6 loopback", "[::1]:4000", "198.51.100.1", "198.51.100.1"},
		{"spoofed hop left of the client", "10.1.2.3:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"every hop trusted", "10.1.2.3:4000", "10.2.2.2", "10.2.2.2"},
		{"no header from a proxy", "10.1.2.3:4000", "", "10.1.2.3"},
		{"garbage hop", "10.1.2.3:4000", "nonsense", "10.1.2.3"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", "198.51.100.1", "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := proxies.clientAddr(r); got != tc.want {
				t.Errorf("client %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := parseTrustedProxies([]string{"proxy.example"}); err == nil {
		t.Error("a host name accepted as a trusted proxy")
	}
}

func TestTurnedAwayLoggedOnceAMinute(t *testing.T) {
	p := newCheckPool(1)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		at   time.Duration
		want int64
	}{{0, 1}, {time.Second, 0}, {30 * time.Second, 0}, {61 * time.Second, 3}, {62 * time.Second, 0}, {3 * time.Minute, 2}} {
		if got := p.turnAway(t0.Add(step.at)); got != step.want {
			t.Errorf("at %v: %d reported, want %d", step.at, got, step.want)
		}
	}
}
