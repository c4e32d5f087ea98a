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
	"dsr-intake/parser"
	"dsr-intake/register"
)

//go:embed static
var staticFiles embed.FS

// Options configures the pages.
type Options struct {
	Store  *register.Store // required
	Logger *slog.Logger
	// SecureCookie marks the cookies Secure. Turn it off only when the
	// pages are served on loopback without TLS (the demo, tests): New
	// refuses it off when Addr is set and is not a loopback address.
	SecureCookie bool
	// Addr is where the pages will listen (host:port), for that check and
	// for HTTPServer; empty skips the check.
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
	Composer *intake.Composer
	// Parser reads the stored emails of a case (thread, attachments, the
	// query draft); nil means parser.New with the defaults.
	Parser *parser.Parser
	// Pipeline reprocesses a quarantined message; nil hides the button.
	Pipeline *intake.Pipeline
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the coordinators' web pages.
type Server struct {
	addr     string
	store    *register.Store
	log      *slog.Logger
	secure   bool
	idle     time.Duration
	maxAge   time.Duration
	health   func() intake.HealthSnapshot
	composer *intake.Composer
	parser   *parser.Parser
	pipeline *intake.Pipeline
	now      func() time.Time
	views    *views
	static   fs.FS
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
	s := &Server{addr: o.Addr, store: o.Store, log: o.Logger, secure: o.SecureCookie, idle: o.IdleTimeout, maxAge: o.MaxSession,
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
	static := http.FileServerFS(s.static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	// The design system's stylesheet names its icons under /assets/.
	assets, _ := fs.Sub(s.static, "nhsuk/assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))

	mux.HandleFunc("GET /signin", s.signinPage)
	mux.HandleFunc("POST /signin", s.signin)
	mux.Handle("POST /signout", s.auth(register.RoleViewer, s.signout))

	mux.Handle("GET /{$}", s.auth(register.RoleViewer, s.dashboard))
	mux.Handle("GET /queue", s.auth(register.RoleViewer, s.queue))
	mux.Handle("POST /review/{id}/reprocess", s.auth(register.RoleCoordinator, s.reprocess))

	mux.Handle("GET /cases/{id}", s.auth(register.RoleViewer, s.caseView))
	mux.Handle("GET /cases/{id}/emails/{hash}/attachments/{n}", s.auth(register.RoleViewer, s.attachment))
	mux.Handle("POST /cases/{id}/register", s.auth(register.RoleCoordinator, s.caseRegister))
	mux.Handle("GET /cases/{id}/query", s.auth(register.RoleCoordinator, s.queryDraft))
	mux.Handle("POST /cases/{id}/query", s.auth(register.RoleCoordinator, s.querySend))
	mux.Handle("POST /cases/{id}/close", s.auth(register.RoleCoordinator, s.caseClose))
	mux.Handle("POST /cases/{id}/withdrawal", s.auth(register.RoleCoordinator, s.caseWithdrawal))
	mux.Handle("GET /cases/{id}/scan/{form}/{field}", s.auth(register.RoleViewer, s.scanCrop))
	mux.Handle("POST /cases/{id}/confirm-scan", s.auth(register.RoleCoordinator, s.scanConfirm))

	mux.Handle("GET /records", s.auth(register.RoleViewer, s.records))
	mux.Handle("GET /find", s.auth(register.RoleViewer, s.findPage))
	mux.Handle("POST /find", s.auth(register.RoleViewer, s.find))
	mux.Handle("GET /records/{id}", s.auth(register.RoleViewer, s.recordView))
	mux.Handle("POST /records/{id}/rag", s.auth(register.RoleCoordinator, s.recordRAG))
	mux.Handle("POST /records/{id}/dates", s.auth(register.RoleCoordinator, s.recordDate))
	mux.Handle("GET /export/register.csv", s.auth(register.RoleViewer, s.exportCSV))
	mux.Handle("GET /export/register.xlsx", s.auth(register.RoleViewer, s.exportXLSX))

	mux.Handle("GET /users", s.auth(register.RoleAdmin, s.users))
	mux.Handle("POST /users", s.auth(register.RoleAdmin, s.userAdd))
	mux.Handle("POST /users/{name}", s.auth(register.RoleAdmin, s.userChange))

	mux.HandleFunc("/", s.notFound)
	return securityHeaders(mux)
}

// notFound answers an unknown path: the sign-in page for someone without
// a session, so that even a 404 tells an anonymous caller nothing.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.session(r); !ok {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.NotFound(w, r)
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

// HTTPServer is an http.Server for the pages on Options.Addr, with
// timeouts that keep slow or idle clients from holding connections.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // an export of the whole register
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
