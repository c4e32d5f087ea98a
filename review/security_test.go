package review

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dsr-intake/register/store"
)

// routes are a concrete request for every route the pages serve.
func (f *fixture) routes() []struct{ method, path string } {
	bid := f.cases["07-best-interest-decision"]
	rec := f.records["9993149586"]
	hash := strings.Repeat("a", 64)
	return []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/queue"}, {"GET", "/queue?reason=age_18_or_over"},
		{"POST", pathf("/review/%d/reprocess", f.quarItem)}, {"POST", "/signout"},
		{"GET", pathf("/cases/%d", bid)}, {"GET", pathf("/cases/%d/emails/%s/attachments/0", bid, hash)},
		{"POST", pathf("/cases/%d/register", bid)}, {"GET", pathf("/cases/%d/query", bid)}, {"POST", pathf("/cases/%d/query", bid)},
		{"POST", pathf("/cases/%d/close", bid)}, {"POST", pathf("/cases/%d/withdrawal", bid)},
		{"GET", "/records"}, {"GET", "/records?rag=Red&sort=name"}, {"GET", "/find"}, {"POST", "/find"},
		{"GET", pathf("/records/%d", rec)}, {"POST", pathf("/records/%d/rag", rec)}, {"POST", pathf("/records/%d/dates", rec)},
		{"GET", "/export/register.csv"}, {"GET", "/export/register.xlsx"},
		{"GET", "/users"}, {"POST", "/users"}, {"POST", "/users/cora"}, {"GET", "/no/such/page"},
	}
}

func TestAnonymousRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.client(t)
	for _, rt := range f.routes() {
		form := url.Values{"rag": {"Blue"}, "why": {"x"}, "q": {"9993149586"}, "name": {"mallory"}, "role": {"admin"}, "password": {"long enough password"}}
		resp, body := c.do(rt.method, rt.path, map[bool]url.Values{true: form}[rt.method == "POST"])
		switch {
		case rt.method == "GET" && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/signin":
		case rt.method == "POST" && resp.StatusCode == http.StatusUnauthorized:
		default:
			t.Errorf("%s %s anonymously: status %d, location %q", rt.method, rt.path, resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, secret := range []string{"Chambers", "9993149586", "Testchild"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s %s anonymously shows %q", rt.method, rt.path, secret)
			}
		}
	}
	// Nothing changed: no account was added, the record kept its rating.
	if _, err := f.store.UserByName(context.Background(), "mallory"); err == nil {
		t.Error("an anonymous POST added an account")
	}
	rec, err := f.store.Record(context.Background(), f.records["9993149586"], "test")
	if err != nil || rec.RAG != "Red" {
		t.Errorf("record after anonymous posts: RAG %q, %v", rec.RAG, err)
	}
	// The sign-in page and the design system's files are public.
	for _, p := range []string{"/signin", "/static/nhsuk/nhsuk-frontend.min.css", "/static/app.css", "/assets/images/favicon.svg"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := c.get("/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing of /static/: %d", resp.StatusCode)
	}
}

func TestCSRFRequired(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	rec := f.records["9993149586"]
	for _, token := range []string{"", "forged-token", c.csrf + "x"} {
		resp, _ := c.post(pathf("/records/%d/rag", rec), url.Values{"rag": {"Blue"}, "why": {"forged"}, "csrf": {token}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: status %d, want 403", token, resp.StatusCode)
		}
	}
	// Every form route refuses a post without the token.
	for _, rt := range f.routes() {
		if rt.method != "POST" {
			continue
		}
		resp, _ := c.do("POST", rt.path, url.Values{"why": {"x"}, "rag": {"Blue"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d", rt.path, resp.StatusCode)
		}
	}
	got, err := f.store.Record(context.Background(), rec, "test")
	if err != nil || got.RAG != "Red" {
		t.Errorf("RAG after forged posts %q, %v", got.RAG, err)
	}
	// The sign-in form needs its own token too (login CSRF).
	anon := f.client(t)
	resp, _ := anon.do("POST", "/signin", url.Values{"name": {coordinatorName}, "password": {coordinatorPass}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d", resp.StatusCode)
	}
	// With the token the same change goes through.
	c.get(pathf("/records/%d", rec))
	resp, _ = c.post(pathf("/records/%d/rag", rec), url.Values{"rag": {"Blue"}, "why": {"admitted"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("RAG change with the token: %d", resp.StatusCode)
	}
}

func TestViewerCannotAct(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, viewerName, viewerPass)
	bid := f.cases["07-best-interest-decision"]
	rec := f.records["9993149586"]
	// A viewer reads...
	for _, p := range []string{"/", "/queue", pathf("/cases/%d", bid), pathf("/records/%d", rec), "/records"} {
		if resp, body := c.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("viewer GET %s: %d", p, resp.StatusCode)
		} else if strings.Contains(body, "Change the rating") || strings.Contains(body, "Confirm and add") {
			t.Errorf("viewer sees action forms on %s", p)
		}
	}
	// ...and cannot act, even with a valid token.
	for _, a := range []struct {
		path string
		form url.Values
	}{
		{pathf("/records/%d/rag", rec), url.Values{"rag": {"Blue"}, "why": {"x"}}},
		{pathf("/records/%d/dates", rec), url.Values{"kind": {"cetr"}, "date": {"2026-11-01"}}},
		{pathf("/cases/%d/register", bid), url.Values{"mode": {"confirm_bid"}, "why": {"x"}}},
		{pathf("/cases/%d/close", bid), url.Values{"why": {"x"}}},
		{pathf("/cases/%d/query", bid), url.Values{"subject": {"s"}, "body": {"b"}}},
		{pathf("/review/%d/reprocess", f.quarItem), nil},
		{"/users", url.Values{"name": {"eve"}, "role": {"admin"}, "password": {"long enough password"}}},
	} {
		if resp, _ := c.post(a.path, a.form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", a.path, resp.StatusCode)
		}
	}
	ctx := context.Background()
	if got, _ := f.store.Record(ctx, rec, "test"); got.RAG != "Red" {
		t.Errorf("viewer changed the RAG to %q", got.RAG)
	}
	if cs, _ := f.store.Case(ctx, bid, "test"); cs.State != store.CaseInReview {
		t.Errorf("viewer changed the case to %s", cs.State)
	}
	// A coordinator cannot manage accounts.
	co := f.signedIn(t, coordinatorName, coordinatorPass)
	if resp, _ := co.get("/users"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("coordinator GET /users: %d", resp.StatusCode)
	}
}

func TestHostileNamesShownAsText(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	pages := []string{"/records", pathf("/records/%d", f.xssRec), pathf("/records/%d", f.xssRec2), pathf("/cases/%d", f.xssCase), "/queue", "/"}
	for _, p := range pages {
		resp, body := c.get(p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		for _, raw := range []string{"<script", "<img src=x"} {
			if strings.Contains(strings.ToLower(body), strings.ToLower(raw)) && !strings.Contains(body, "&lt;") {
				t.Errorf("%s carries %q unescaped", p, raw)
			}
			if strings.Contains(body, raw) {
				t.Errorf("%s carries %q as markup", p, raw)
			}
		}
	}
	_, body := c.get(pathf("/records/%d", f.xssRec))
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the record page does not show the hostile name as text")
	}
	// What is typed into a form and shown back is text too.
	anon := f.client(t)
	anon.get("/signin")
	_, body = anon.post("/signin", url.Values{"name": {xssImg}, "password": {"x"}})
	if strings.Contains(body, "<img src=x") || !strings.Contains(body, "&#34;&gt;&lt;img src=x") {
		t.Errorf("the sign-in form echoes the name as markup")
	}
	_, body = c.post("/find", url.Values{"q": {xssScript}})
	if strings.Contains(body, xssScript) {
		t.Error("the find form echoes the query as markup")
	}
	// And titles carry nothing personal.
	_, body = c.get(pathf("/records/%d", f.xssRec))
	title := body[strings.Index(body, "<title>"):strings.Index(body, "</title>")]
	if strings.Contains(title, "Testchild") || strings.Contains(title, "9995628198") {
		t.Errorf("title %q names the child", title)
	}
}

func TestSessionCookiesAndFixation(t *testing.T) {
	f := newFixture(t, fixtureOptions{secure: true})
	c := f.client(t)
	// A session token planted before sign-in (fixation) is not adopted.
	u, _ := url.Parse(f.http.URL)
	planted := &http.Cookie{Name: "__Host-dsr_session", Value: "planted-token-planted-token-planted-token", Path: "/", Secure: true}
	c.http.Jar.SetCookies(u, []*http.Cookie{planted})
	resp := c.signin(coordinatorName, coordinatorPass)
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-dsr_session" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie set at sign-in")
	}
	if sess.Value == planted.Value {
		t.Error("the planted token became the session")
	}
	if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" || sess.Domain != "" {
		t.Errorf("cookie flags: %+v", sess)
	}
	raw := resp.Header.Values("Set-Cookie")
	if !strings.Contains(strings.Join(raw, "\n"), "SameSite=Strict") {
		t.Errorf("Set-Cookie %q", raw)
	}
	// Signing in again replaces the session: the old token stops working.
	old := sess.Value
	c.signin(coordinatorName, coordinatorPass)
	other := f.client(t)
	other.http.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-dsr_session", Value: old, Path: "/"}})
	if resp, _ := other.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the replaced session still works: %d", resp.StatusCode)
	}
	// Signing out ends the session on the server, not just in the browser.
	cur := ""
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "__Host-dsr_session" {
			cur = ck.Value
		}
	}
	c.post("/signout", nil)
	again := f.client(t)
	again.http.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-dsr_session", Value: cur, Path: "/"}})
	if resp, _ := again.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a signed-out session still works: %d", resp.StatusCode)
	}
}

func TestInsecureCookieOnlyWhenConfigured(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	resp := f.client(t).signin(viewerName, viewerPass)
	for _, ck := range resp.Cookies() {
		if ck.Name == "dsr_session" && (ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Errorf("cookie %+v", ck)
		}
	}
}

func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	start := time.Now()
	for _, tc := range []struct {
		name  string
		steps []time.Duration // the clock at each request, from sign-in
		ok    bool
	}{
		{"within idle timeout", []time.Duration{29 * time.Minute}, true},
		{"idle too long", []time.Duration{31 * time.Minute}, false},
		{"busy past the absolute timeout", []time.Duration{25 * time.Minute, 50 * time.Minute, 75 * time.Minute, 12*time.Hour + time.Minute}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(start)
			c := f.signedIn(t, viewerName, viewerPass)
			var resp *http.Response
			for _, d := range tc.steps {
				f.clock.Set(start.Add(d))
				resp, _ = c.get("/queue")
			}
			if ok := resp.StatusCode == http.StatusOK; ok != tc.ok {
				t.Errorf("status %d, want ok=%t", resp.StatusCode, tc.ok)
			}
		})
	}
	f.clock.Set(time.Time{})
}

func TestSigninRateLimitedAndAudited(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.client(t)
	c.get("/signin")
	for i := 0; i < DefaultSigninLimits.AccountFailures; i++ {
		resp, body := c.post("/signin", url.Values{"name": {coordinatorName}, "password": {"wrong password " + itoa(int64(i))}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, signinFailureText) {
			t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
		}
	}
	resp, body := c.post("/signin", url.Values{"name": {coordinatorName}, "password": {coordinatorPass}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "too many failed attempts") {
		t.Errorf("right password after %d failures: status %d", DefaultSigninLimits.AccountFailures, resp.StatusCode)
	}
	entries, err := f.store.Audit(context.Background(), store.AuditFilter{Action: "user.signin_failed", Actor: coordinatorName})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != DefaultSigninLimits.AccountFailures+1 || entries[0].Detail != "reason=rate_limited" || entries[1].Detail != "reason=bad_password" {
		t.Errorf("audited failures: %+v", entries)
	}
	// Another account is not locked by these failures.
	f.client(t).signin(viewerName, viewerPass)
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, coordinatorName, coordinatorPass)
	for _, p := range []string{"/signin", "/", pathf("/cases/%d", f.cases["07-best-interest-decision"])} {
		resp, body := c.get(p)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'none'", "frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, h)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
			t.Errorf("%s has inline script or style", p)
		}
	}
}

func TestAttachmentsServedSafely(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, viewerName, viewerPass)
	id := f.cases["01-fillable-pdf-happy"]
	_, body := c.get(pathf("/cases/%d", id))
	m := regexpFind(body, `/cases/\d+/emails/[0-9a-f]{64}/attachments/\d+\?download=1`)
	if m == "" {
		t.Fatal("no attachment link on the case page")
	}
	resp, data := c.get(strings.ReplaceAll(m, "&amp;", "&"))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(data, "%PDF") {
		t.Fatalf("attachment: %d, %q", resp.StatusCode, data[:min(len(data), 20)])
	}
	h := resp.Header
	if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
		h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("attachment headers %v", h)
	}
	entries, _ := f.store.Audit(context.Background(), store.AuditFilter{Action: "attachment.view", Actor: viewerName})
	if len(entries) != 1 {
		t.Errorf("attachment views audited: %d", len(entries))
	}
	// An email of another case is not served through this one.
	other := f.cases["07-best-interest-decision"]
	if resp, _ := c.get(strings.Replace(m, pathf("/cases/%d/", id), pathf("/cases/%d/", other), 1)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another case's attachment: %d", resp.StatusCode)
	}
}

func TestFindByPostOnly(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.signedIn(t, viewerName, viewerPass)
	resp, _ := c.post("/find", url.Values{"q": {"999 314 9586"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pathf("/records/%d", f.records["9993149586"]) {
		t.Errorf("find by NHS number: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(resp.Header.Get("Location"), "999") {
		t.Error("the NHS number is in the URL")
	}
	resp, _ = c.post("/find", url.Values{"q": {"9995186357"}}) // a child in review, not on the register
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unregistered NHS number: %d", resp.StatusCode)
	}
	resp, _ = c.post("/find", url.Values{"q": {"9993149587"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad check digit: %d", resp.StatusCode)
	}
	cs, err := f.store.Case(context.Background(), f.cases["07-best-interest-decision"], "test")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = c.post("/find", url.Values{"q": {strings.ToLower(cs.Ref)}})
	if resp.Header.Get("Location") != pathf("/cases/%d", cs.ID) {
		t.Errorf("find by case reference: %q", resp.Header.Get("Location"))
	}
	// A query string does not search.
	if _, body := c.get("/find?q=9993149586"); strings.Contains(body, "Chambers") {
		t.Error("GET /find?q= searched")
	}
	entries, _ := f.store.Audit(context.Background(), store.AuditFilter{Action: "record.view", Actor: viewerName})
	if len(entries) != 1 {
		t.Errorf("record views audited: %d, want 1", len(entries))
	}
}

func TestInsecureCookiesOnlyOnLoopback(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		addr   string
		secure bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true}, {"localhost:8080", false, true}, {"[::1]:8080", false, true},
		{"0.0.0.0:8080", false, false}, {"10.1.2.3:8080", false, false}, {":8080", false, false},
		{"0.0.0.0:8080", true, true}, {"", false, true},
	} {
		_, err := New(Options{Store: f.store, Addr: tc.addr, SecureCookie: tc.secure})
		if (err == nil) != tc.ok {
			t.Errorf("New(addr %q, secure %t): %v", tc.addr, tc.secure, err)
		}
	}
}
