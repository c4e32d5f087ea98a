package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dsr-intake/register/store"
)

func TestHTTPServerTimeouts(t *testing.T) {
	checkTimeouts(t, "newHTTPServer", newHTTPServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler)))
}

// checkTimeouts fails unless srv bounds reading, writing, idling and
// headers.
func checkTimeouts(t *testing.T, name string, srv *http.Server) {
	t.Helper()
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("%s: read header %v, read %v, write %v, idle %v, max header bytes %d", name,
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}

// TestDemoSurface: what `dsr demo` serves to an anonymous caller, and the
// timeouts of its servers.
func TestDemoSurface(t *testing.T) {
	d, err := startDemo(context.Background(), filepath.Join("..", "..", "testdata", "samples"), "127.0.0.1:0", io.Discard,
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkTimeouts(t, "demo pages", d.web)
	checkTimeouts(t, "demo metrics", d.metrics)
	probeSurface(t, "http://"+d.webAddr, "http://"+d.metricsAddr, "")
}

// TestRunSurface: what `dsr run` serves, with a metrics token. No inbox
// answers; the daemon keeps trying while the servers serve.
func TestRunSurface(t *testing.T) {
	dir := t.TempDir()
	pw, token := filepath.Join(dir, "pw"), filepath.Join(dir, "token")
	for p, v := range map[string]string{pw: "imap password", token: "a-metrics-token-for-the-test"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pages, metrics, imap := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := testConfig(t, "[imap]\naddr = \""+imap+"\"\ntls = \"insecure\"\nusername = \"u\"\npassword = { file = \""+pw+"\" }\n"+
		"[web]\naddr = \""+pages+"\"\nsecure_cookie = false\nmetrics_addr = \""+metrics+"\"\nmetrics_token = { file = \""+token+"\" }\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- cmdRun(ctx, []string{"--config", cfg}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("dsr run did not stop")
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + pages + "/signin")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pages never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	probeSurface(t, "http://"+pages, "http://"+metrics, "a-metrics-token-for-the-test")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// probeSurface checks what anonymous callers get from the pages' address
// and the metrics address; token is the metrics token ("" for none).
func probeSurface(t *testing.T, pagesURL, metricsURL, token string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url, bearer string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// Health on the pages' address: the status, and no detail.
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, body := get(pagesURL+p, "", nil)
		if body != "ok\n" && body != "unavailable\n" {
			t.Errorf("anonymous %s on the pages: %q", p, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s on the pages without the security headers: %v", p, resp.Header)
		}
	}
	// Metrics on the pages' address: sign in first, or the token.
	resp, body := get(pagesURL+"/metrics", "", nil)
	if resp.StatusCode == http.StatusOK || strings.Contains(body, "dsr_") {
		t.Errorf("anonymous /metrics on the pages: %d\n%.200s", resp.StatusCode, body)
	}
	if token != "" {
		if resp, body := get(pagesURL+"/metrics", "wrong-token", nil); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "dsr_") {
			t.Errorf("/metrics with a wrong token: %d", resp.StatusCode)
		}
		if resp, body := get(pagesURL+"/metrics", token, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "dsr_imap_connected") {
			t.Errorf("/metrics with the token: %d", resp.StatusCode)
		}
	}
	// No folder listed anywhere; the files themselves are served.
	for _, p := range []string{"/static/", "/static/nhsuk/", "/static/nhsuk/assets/", "/static/nhsuk/assets/images/",
		"/assets/", "/assets/images/", "/static/nhsuk", "/assets/images"} {
		resp, body := get(pagesURL+p, "", nil)
		if resp.StatusCode == http.StatusOK || strings.Contains(body, ".svg") || strings.Contains(body, ".css") {
			t.Errorf("anonymous %s: %d\n%.200s", p, resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/static/app.css", "/assets/images/nhsuk-icon-arrow-left.svg"} {
		if resp, _ := get(pagesURL+p, "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// Headers are bounded.
	if resp, _ := get(pagesURL+"/signin", "", map[string]string{"X-Padding": strings.Repeat("a", 200<<10)}); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB of headers: %d, want 431", resp.StatusCode)
	}

	// The metrics address: metrics and health, and no pages.
	bearer := token
	if token != "" {
		if resp, body := get(metricsURL+"/metrics", "", nil); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "dsr_") {
			t.Errorf("/metrics without the token on the metrics address: %d", resp.StatusCode)
		}
		if resp, _ := get(metricsURL+"/healthz", "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/healthz without the token on the metrics address: %d", resp.StatusCode)
		}
	}
	if resp, body := get(metricsURL+"/metrics", bearer, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "dsr_imap_connected") {
		t.Errorf("/metrics on the metrics address: %d", resp.StatusCode)
	}
	for _, p := range []string{"/", "/signin", "/static/app.css"} {
		if resp, _ := get(metricsURL+p, bearer, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s on the metrics address: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestWarnMissingTOTP(t *testing.T) {
	ctx := context.Background()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range []struct{ name, role string }{{"ada", "admin"}, {"bea", "admin"}, {"cora", "coordinator"}} {
		if _, err := db.AddUser(ctx, u.name, u.role, "h", "test"); err != nil {
			t.Fatal(err)
		}
	}
	secret := "JBSWY3DPEHPK3PXP"
	if err := db.UpdateUser(ctx, "bea", store.UserChange{TOTPSecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		roles []string
		want  string
	}{{[]string{"admin"}, "accounts=ada\n"}, {[]string{"admin", "coordinator"}, "accounts=ada,cora\n"}, {nil, ""}} {
		var logs strings.Builder
		warnMissingTOTP(ctx, db, tc.roles, slog.New(slog.NewTextHandler(&logs, nil)))
		if (tc.want == "") != (logs.Len() == 0) || !strings.HasSuffix(logs.String(), tc.want) {
			t.Errorf("roles %v: logged %q, want it to end %q", tc.roles, logs.String(), tc.want)
		}
	}
}
