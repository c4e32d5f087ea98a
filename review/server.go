// Package review serves the DSR coordinators' pages: sign-in, the review
// queue, cases and their actions, the register and its records, the
// dashboard and the panel's export. The pages are rendered on the server
// with html/template, styled with the NHS.UK design system (nhsuk-frontend,
// brought in by assets.sh and embedded), and need no JavaScript.
//
// Every route but the sign-in page and the static assets needs a session;
// every form carries a CSRF token; viewers read, coordinators act, admins
// also manage accounts. Records and cases are addressed by their database
// id or case reference, never by anything personal, and every view of one
// is audited under the coordinator's name.
package review

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"dsr-intake/intake"
	"dsr-intake/intake/outbox"
	"dsr-intake/parser"
	"dsr-intake/register/store"
)

//go:embed static
var staticFiles embed.FS

// Options configures the pages.
type Options struct {
	Store  *store.Store // required
	Logger *slog.Logger
	// SecureCookie marks the cookies Secure. Turn it off only when the
	// pages are served on loopback without TLS (the demo, tests): New
	// refuses it off when Addr is set and is not a loopback address.
	SecureCookie bool
	// Addr is where the pages will listen (host:port), for that check;
	// empty skips it. The daemon makes the server (cmd/dsr's
	// newHTTPServer, the one with every timeout).
	Addr string
	// IdleTimeout ends a session unused for this long (30 minutes when
	// zero); MaxSession ends any session this long after sign-in (12 hours
	// when zero).
	IdleTimeout time.Duration
	MaxSession  time.Duration
	// Health reports the intake's health for the dashboard; nil shows none.
	Health func() intake.HealthSnapshot
	// Composer drafts the query a coordinator edits before sending.
	// Required for the send-a-query action.
	Composer *outbox.Composer
	// Parser reads the stored emails of a case (thread, attachments, the
	// query draft); nil means parser.New with the defaults.
	Parser *parser.Parser
	// Pipeline reprocesses a quarantined message; nil hides the button.
	Pipeline *intake.Pipeline
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Signin bounds sign-in attempts; zero fields take
	// DefaultSigninLimits'.
	Signin store.SigninLimits
	// PasswordChecks is how many password checks may run at once (two per
	// CPU when zero); a sign-in beyond them is asked to try again shortly.
	PasswordChecks int
	// TrustedProxies are the addresses and ranges (10.0.0.0/8) of the
	// reverse proxies whose X-Forwarded-For names the client; from anyone
	// else the header is ignored.
	TrustedProxies []string
	// RequireTOTP lists the roles whose accounts must sign in with an
	// authenticator app's code; an account of one without an app set up
	// cannot sign in.
	RequireTOTP []string
	// Actions configures the register's actions, who may export, and the
	// notice to a referrer whose referral is not eligible.
	Actions ActionOptions
}

// Server is the coordinators' web pages.
type Server struct {
	store        *store.Store
	log          *slog.Logger
	secure       bool
	idle         time.Duration
	maxAge       time.Duration
	health       func() intake.HealthSnapshot
	composer     *outbox.Composer
	parser       *parser.Parser
	pipeline     *intake.Pipeline
	now          func() time.Time
	actions      ActionOptions
	views        *views
	static       fs.FS
	signinLimits store.SigninLimits
	checks       *checkPool
	proxies      trustedProxies
	requireTOTP  map[string]bool
	// dummyHash is checked against when an account does not exist, so
	// the time a failed sign-in takes does not tell whether it does.
	dummyHash string
}

// New builds the pages; the templates are parsed here, once.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("review: no store")
	}
	if !o.SecureCookie && o.Addr != "" && !loopback(o.Addr) {
		return nil, fmt.Errorf("review: cookies without Secure are only allowed on a loopback address, not %q: set [web] secure_cookie = true and serve behind TLS", o.Addr)
	}
	s := &Server{store: o.Store, log: o.Logger, secure: o.SecureCookie, idle: o.IdleTimeout, maxAge: o.MaxSession,
		health: o.Health, composer: o.Composer, parser: o.Parser, pipeline: o.Pipeline, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.idle <= 0 {
		s.idle = 30 * time.Minute
	}
	if s.maxAge <= 0 {
		s.maxAge = 12 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.signinOptions(o); err != nil {
		return nil, err
	}
	s.actions = o.Actions
	s.actions.Policy = s.actions.Policy.WithDefaults()
	if s.parser == nil {
		if s.pipeline != nil && s.pipeline.Parser != nil {
			s.parser = s.pipeline.Parser
		} else {
			s.parser = parser.New(parser.Options{Logger: s.log})
		}
	}
	var err error
	if s.views, err = parseViews(); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	if s.static, err = fs.Sub(staticFiles, "static"); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	if s.dummyHash, err = HashPassword("not a password anyone has"); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	return s, nil
}

// Handler is the pages' HTTP handler, with the security headers on every
// response.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static := http.FileServerFS(filesOnly{s.static})
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	// The design system's stylesheet names its icons under /assets/.
	assets, _ := fs.Sub(s.static, "nhsuk/assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(filesOnly{assets})))

	mux.HandleFunc("GET /signin", s.signinPage)
	mux.HandleFunc("POST /signin", s.signin)
	mux.Handle("POST /signout", s.auth(store.RoleViewer, s.signout))

	mux.Handle("GET /{$}", s.auth(store.RoleViewer, s.dashboard))
	mux.Handle("GET /queue", s.auth(store.RoleViewer, s.queue))
	mux.Handle("POST /review/{id}/reprocess", s.auth(store.RoleCoordinator, s.reprocess))

	mux.Handle("GET /cases/{id}", s.auth(store.RoleViewer, s.caseView))
	mux.Handle("GET /cases/{id}/emails/{hash}/attachments/{n}", s.auth(store.RoleViewer, s.attachment))
	mux.Handle("POST /cases/{id}/register", s.auth(store.RoleCoordinator, s.caseRegister))
	mux.Handle("GET /cases/{id}/query", s.auth(store.RoleCoordinator, s.queryDraft))
	mux.Handle("POST /cases/{id}/query", s.auth(store.RoleCoordinator, s.querySend))
	mux.Handle("POST /cases/{id}/close", s.auth(store.RoleCoordinator, s.caseClose))
	mux.Handle("POST /cases/{id}/withdrawal", s.auth(store.RoleCoordinator, s.caseWithdrawal))
	mux.Handle("GET /cases/{id}/scan/{form}/{field}", s.auth(store.RoleViewer, s.scanCrop))
	mux.Handle("POST /cases/{id}/confirm-scan", s.auth(store.RoleCoordinator, s.scanConfirm))

	mux.Handle("GET /records", s.auth(store.RoleViewer, s.records))
	mux.Handle("GET /find", s.auth(store.RoleViewer, s.findPage))
	mux.Handle("POST /find", s.auth(store.RoleViewer, s.find))
	mux.Handle("GET /records/{id}", s.auth(store.RoleViewer, s.recordView))
	mux.Handle("POST /records/{id}/rag", s.auth(store.RoleCoordinator, s.recordRAG))
	mux.Handle("POST /records/{id}/dates", s.auth(store.RoleCoordinator, s.recordDate))
	mux.Handle("GET /export/register.csv", s.auth(store.RoleViewer, s.exportCSV))
	mux.Handle("GET /export/register.xlsx", s.auth(store.RoleViewer, s.exportXLSX))

	mux.Handle("GET /users", s.auth(store.RoleAdmin, s.users))
	mux.Handle("POST /users", s.auth(store.RoleAdmin, s.userAdd))
	mux.Handle("POST /users/{name}", s.auth(store.RoleAdmin, s.userChange))

	s.dayRoutes(mux)

	mux.HandleFunc("/", s.notFound)
	return s.Protect(mux)
}

// notFound answers an unknown path: the sign-in page for someone without
// a session, so that even a 404 tells an anonymous caller nothing.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := s.session(r)
	if !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	s.notFoundPage(w, r, &principal{user: u, sess: sess})
}

// contentSecurityPolicy allows the pages' own stylesheet and images and
// nothing else: no script at all, no frames, forms only to ourselves. The
// design system's web fonts live on another host and are left out: the
// pages fall back to Arial, which the NHS.UK service manual allows.
const contentSecurityPolicy = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.URL.Path == "/static/" || r.URL.Path == "/assets/" {
			http.NotFound(w, r) // no directory listings
			return
		}
		if len(r.URL.Path) < 8 || (r.URL.Path[:8] != "/static/" && r.URL.Path[:8] != "/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
