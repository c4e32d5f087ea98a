package main

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"dsr-intake/intake"
	"dsr-intake/register/store"
	"dsr-intake/review"
)

// newHTTPServer is every HTTP server dsr starts (the pages, the metrics):
// timeouts so a slow or idle client cannot hold a connection, and a bound
// on request headers.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // an export of the whole register
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves h on ln with newHTTPServer until the server is shut down.
func serveHTTP(ln net.Listener, h http.Handler, log *slog.Logger) *http.Server {
	srv := newHTTPServer(h, log)
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("web server", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return srv
}

// operations are /metrics, /healthz and /readyz.
type operations struct {
	metrics http.Handler // nil when the daemon has none
	healthz http.Handler
	readyz  http.Handler
	token   string // the bearer token for the detail; "" for none
}

func newOperations(d *intake.Daemon, db *store.Store, started time.Time, token string) operations {
	o := operations{healthz: intake.HealthHandler(d.Health, d.Watchdog, started), readyz: intake.ReadyHandler(d.Health, db), token: token}
	if d.Metrics != nil {
		o.metrics = d.Metrics.Handler()
	}
	return o
}

// authorised reports whether r carries the bearer token.
func (o operations) authorised(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && o.token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(o.token)) == 1
}

// detailed is what only the token's holder may see: 401 without it.
func (o operations) detailed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.authorised(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dsr metrics"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// terse answers health with its status and "ok" or "unavailable" only,
// to anyone; the token's holder gets the detail.
func (o operations) terse(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.authorised(r) {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusOnly{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(sw.code)
		if sw.code == http.StatusOK {
			_, _ = w.Write([]byte("ok\n"))
		} else {
			_, _ = w.Write([]byte("unavailable\n"))
		}
	})
}

// statusOnly keeps a response's status and drops the rest.
type statusOnly struct {
	header http.Header
	code   int
	wrote  bool
}

func (s *statusOnly) Header() http.Header { return s.header }
func (s *statusOnly) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
}
func (s *statusOnly) Write(b []byte) (int, error) { s.wrote = true; return len(b), nil }

// pagesHandler is what the pages' address serves: the pages, /healthz
// and /readyz without detail, and /metrics only behind the token (when
// there is none, /metrics is just another page an anonymous caller is
// sent to sign in for). All of it carries the pages' security headers.
func pagesHandler(pages *review.Server, o operations) http.Handler {
	mux := http.NewServeMux()
	if o.metrics != nil && o.token != "" {
		mux.Handle("GET /metrics", o.detailed(o.metrics))
	}
	mux.Handle("GET /healthz", o.terse(o.healthz))
	mux.Handle("GET /readyz", o.terse(o.readyz))
	mux.Handle("/", pages.Handler())
	return pages.Protect(mux)
}

// metricsHandler is what web.metrics_addr serves: /metrics and the
// detailed health, behind the token when there is one, and nothing else.
func metricsHandler(o operations) http.Handler {
	guard := func(h http.Handler) http.Handler {
		if o.token == "" {
			return h // loopback only: config refuses anything else without a token
		}
		return o.detailed(h)
	}
	mux := http.NewServeMux()
	if o.metrics != nil {
		mux.Handle("GET /metrics", guard(o.metrics))
	}
	mux.Handle("GET /healthz", guard(o.healthz))
	mux.Handle("GET /readyz", guard(o.readyz))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// warnMissingTOTP says at start which accounts cannot sign in because
// their role needs an authenticator app and they have none, so that the
// first to find out is not an admin at the sign-in page.
func warnMissingTOTP(ctx context.Context, db *store.Store, roles []string, log *slog.Logger) {
	if len(roles) == 0 {
		return
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		log.Error("list accounts", "err", err)
		return
	}
	var missing []string
	for _, u := range users {
		if !u.Disabled && u.TOTPSecret == "" && slices.Contains(roles, u.Role) {
			missing = append(missing, u.Name)
		}
	}
	if len(missing) > 0 {
		log.Warn("these accounts cannot sign in until an authenticator app is set up with dsr user totp NAME ([web] require_totp)",
			"accounts", strings.Join(missing, ","))
	}
}
