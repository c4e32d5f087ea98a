package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestCommandTokenSource(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		script     string
		wantToken  string
		wantExpiry time.Time
		wantErr    string
	}{
		{name: "bare token", script: `printf 'eyJ0eXAi.abc.def\n'`, wantToken: "eyJ0eXAi.abc.def"},
		{name: "json expires_in number", script: `echo '{"access_token":"tok1","expires_in":3599,"token_type":"Bearer"}'`,
			wantToken: "tok1", wantExpiry: now.Add(3599 * time.Second)},
		{name: "json expires_in string", script: `echo '{"access_token":"tok2","expires_in":"600"}'`,
			wantToken: "tok2", wantExpiry: now.Add(600 * time.Second)},
		{name: "json expiry", script: `echo '{"access_token":"tok3","expiry":"2026-11-25T13:00:00Z"}'`,
			wantToken: "tok3", wantExpiry: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)},
		{name: "json without token", script: `echo '{"expires_in":60}'`, wantErr: "no access_token"},
		{name: "bad expires_in", script: `echo '{"access_token":"t","expires_in":"soon"}'`, wantErr: "expires_in"},
		{name: "nothing", script: `true`, wantErr: "printed nothing"},
		{name: "prose", script: `echo 'login required, run az login'`, wantErr: "neither"},
		{name: "failure shows stderr", script: `echo 'AADSTS700082: expired' >&2; exit 3`, wantErr: "AADSTS700082"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := CommandTokenSource([]string{"/bin/sh", "-c", c.script}).(*commandTokenSource)
			src.now = func() time.Time { return now }
			tok, err := src.Token()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != c.wantToken || !tok.Expiry.Equal(c.wantExpiry) {
				t.Fatalf("token %q expiring %v, want %q expiring %v", tok.AccessToken, tok.Expiry, c.wantToken, c.wantExpiry)
			}
		})
	}

	t.Run("missing command", func(t *testing.T) {
		if _, err := CommandTokenSource([]string{filepath.Join(t.TempDir(), "absent")}).Token(); err == nil {
			t.Fatal("a missing command gave a token")
		}
		if _, err := CommandTokenSource(nil).Token(); err == nil {
			t.Fatal("an empty command gave a token")
		}
	})

	t.Run("context ends a hung command", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := CommandTokenSource([]string{"/bin/sh", "-c", "exec sleep 30"}).(*commandTokenSource).TokenContext(ctx)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("hung command: %v after %v", err, time.Since(start))
		}
	})

	t.Run("runs once per token life through XOAuth2Auth", func(t *testing.T) {
		counter := filepath.Join(t.TempDir(), "runs")
		script := `echo x >> ` + counter + `; echo '{"access_token":"tok","expires_in":3600}'`
		a := XOAuth2Auth(CommandTokenSource([]string{"/bin/sh", "-c", script}))
		for i := 0; i < 3; i++ {
			if _, err := a.SASLClient(context.Background(), "u"); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := os.ReadFile(counter)
		if runs := strings.Count(string(b), "x"); runs != 1 {
			t.Fatalf("command ran %d times for three logins within the token's life", runs)
		}
	})
}

// seqSource returns tokens that expire at the given times, in order.
type seqSource struct {
	mu      sync.Mutex
	expires []time.Time
	calls   int
}

func (s *seqSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= len(s.expires) {
		return nil, errors.New("no more tokens")
	}
	e := s.expires[s.calls]
	s.calls++
	return &oauth2.Token{AccessToken: "t" + string(rune('0'+s.calls)), Expiry: e}, nil
}

func TestCachedTokenSourceRefreshesEarly(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := now
	src := &seqSource{expires: []time.Time{now.Add(time.Hour), now.Add(2 * time.Hour), {}, {}}}
	c := newCachedTokenSource(src, 5*time.Minute, func() time.Time { return clock })
	ctx := context.Background()

	get := func() string {
		t.Helper()
		tok, err := c.TokenContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	if got := get(); got != "t1" {
		t.Fatalf("first token %s", got)
	}
	clock = now.Add(54 * time.Minute) // 6 min left: still reused
	if got := get(); got != "t1" || src.calls != 1 {
		t.Fatalf("at 6 minutes left got %s after %d calls, want t1 reused", got, src.calls)
	}
	clock = now.Add(56 * time.Minute) // 4 min left: replaced before it lapses
	if got := get(); got != "t2" {
		t.Fatalf("at 4 minutes left got %s, want a fresh token", got)
	}
	c.Invalidate()
	if got := get(); got != "t3" {
		t.Fatalf("after Invalidate got %s, want a fresh token", got)
	}
	// t3 has no expiry, so it is never reused.
	if got := get(); got != "t4" {
		t.Fatalf("token without expiry reused: got %s", got)
	}
}

func TestMicrosoftTokenSource(t *testing.T) {
	type request struct{ form map[string]string }
	var mu sync.Mutex
	var reqs []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f := map[string]string{}
		for k := range r.PostForm {
			f[k] = r.PostForm.Get(k)
		}
		mu.Lock()
		reqs = append(reqs, request{f})
		n := len(reqs)
		mu.Unlock()
		resp := map[string]any{"access_token": "at" + string(rune('0'+n)), "token_type": "Bearer", "expires_in": 3599}
		if f["grant_type"] == "refresh_token" {
			resp["refresh_token"] = "rt" + string(rune('1'+n))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	ctx := context.Background()

	t.Run("client credentials", func(t *testing.T) {
		reqs = nil
		ts, err := MicrosoftTokenSource(ctx, MicrosoftOAuth{Tenant: "t", ClientID: "cid", ClientSecret: "sec", TokenURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != "at1" || time.Until(tok.Expiry) < 50*time.Minute {
			t.Fatalf("token %+v", tok)
		}
		// Not cached here: XOAuth2Auth's cache decides when to refresh.
		if _, err := ts.Token(); err != nil || len(reqs) != 2 {
			t.Fatalf("second Token: %v after %d requests, want a new request", err, len(reqs))
		}
		f := reqs[0].form
		if f["grant_type"] != "client_credentials" || f["client_id"] != "cid" || f["client_secret"] != "sec" || f["scope"] != MicrosoftAppScope {
			t.Fatalf("token request form %v", f)
		}
	})

	t.Run("refresh token rotates", func(t *testing.T) {
		reqs = nil
		ts, err := MicrosoftTokenSource(ctx, MicrosoftOAuth{Tenant: "t", ClientID: "cid", RefreshToken: "rt1", TokenURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if _, err := ts.Token(); err != nil {
				t.Fatal(err)
			}
		}
		if len(reqs) != 2 {
			t.Fatalf("%d token requests, want 2", len(reqs))
		}
		if f := reqs[0].form; f["grant_type"] != "refresh_token" || f["refresh_token"] != "rt1" ||
			!strings.Contains(f["scope"], MicrosoftIMAPScope) || !strings.Contains(f["scope"], "offline_access") {
			t.Fatalf("first refresh form %v", f)
		}
		if f := reqs[1].form; f["refresh_token"] != "rt2" {
			t.Fatalf("second refresh used %q, want the rotated rt2", f["refresh_token"])
		}
	})

	t.Run("configuration errors", func(t *testing.T) {
		for _, c := range []MicrosoftOAuth{
			{Tenant: "t"},
			{ClientID: "c", ClientSecret: "s"},
			{Tenant: "t", ClientID: "c"},
		} {
			if _, err := MicrosoftTokenSource(ctx, c); err == nil {
				t.Errorf("MicrosoftTokenSource(%+v) accepted an incomplete configuration", c)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	for attempt := -1; attempt < 40; attempt++ {
		full := 5 * time.Minute
		if attempt < 9 {
			full = time.Second << max(attempt, 0)
		}
		for i := 0; i < 50; i++ {
			d := Backoff(attempt)
			if d < full/2 || d > full {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	// Jitter: repeated calls do not all agree.
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		seen[Backoff(5)] = true
	}
	if len(seen) < 2 {
		t.Fatal("Backoff has no jitter")
	}
}
