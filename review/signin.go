package review

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"dsr-intake/register/store"
)

// Sign-in rate limits: failures counted over signinWindow, per account name
// and per client address. The address limit is higher because behind the
// organisation's proxy every coordinator may share one address.
const (
	signinWindow       = 15 * time.Minute
	maxFailuresByName  = 5
	maxFailuresByAddr  = 50
	signinFailureText  = "The name, password or security code is not right."
	signinLimitedText  = "There have been too many failed attempts to sign in. Wait 15 minutes, then try again."
	signinExpiredText  = "The sign-in form expired. Try again."
	maxSigninFieldSize = 1024
)

type signinData struct {
	Error string
	Name  string
}

// signinPage shows the form, and gives the browser the token the form
// must carry back. It shows even to someone signed in: signing in again
// (as someone else, say) replaces their session.
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if !s.ensureSigninToken(w, r) {
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", page{Title: "Sign in", D: signinData{}})
}

func (s *Server) ensureSigninToken(w http.ResponseWriter, r *http.Request) bool {
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) >= 40 && len(c.Value) <= 64 {
		return true
	}
	token, err := randomToken()
	if err != nil {
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return false
	}
	c := s.cookie(signinCookie, token, 3600)
	http.SetCookie(w, c)
	r.AddCookie(c) // so this render puts the same token in the form
	return true
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	fail := func(status int, msg string) {
		if !s.ensureSigninToken(w, r) {
			return
		}
		shown := name
		if len(shown) > 64 {
			shown = ""
		}
		s.render(w, r, nil, status, "signin", page{Title: "Sign in", D: signinData{Error: msg, Name: shown}})
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), c.Value) {
		fail(http.StatusForbidden, signinExpiredText)
		return
	}
	if name == "" || password == "" || len(name) > maxSigninFieldSize || len(password) > maxSigninFieldSize {
		fail(http.StatusUnauthorized, signinFailureText)
		return
	}
	ctx := r.Context()
	addr := remoteAddr(r)
	byName, byAddr, err := s.store.LoginFailures(ctx, name, addr, s.now().Add(-signinWindow))
	if err != nil {
		s.log.Error("count sign-in failures", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	record := func(ok bool, why string) {
		if err := s.store.RecordLoginAttempt(ctx, name, addr, ok, why); err != nil {
			s.log.Error("record sign-in attempt", "err", err)
		}
	}
	if byName >= maxFailuresByName || byAddr >= maxFailuresByAddr {
		record(false, "rate_limited")
		s.log.Warn("sign-in refused: too many failures")
		fail(http.StatusTooManyRequests, signinLimitedText)
		return
	}
	u, err := s.store.UserByName(ctx, name)
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash // the same work whether or not the account exists
	}
	match, _ := CheckPassword(hash, password)
	why := ""
	switch {
	case err != nil:
		why = "unknown_user"
	case !match:
		why = "bad_password"
	case u.Disabled:
		why = "disabled"
	case u.TOTPSecret != "" && !totp.Validate(code, u.TOTPSecret):
		why = "bad_code"
	}
	if why != "" {
		record(false, why)
		fail(http.StatusUnauthorized, signinFailureText)
		return
	}
	// A new session every time: a token planted before sign-in (session
	// fixation) never becomes a signed-in one.
	if old, err := r.Cookie(s.sessionCookie()); err == nil && old.Value != "" {
		if err := s.store.EndSession(ctx, sessionID(old.Value), u.Name, "replaced_at_signin"); err != nil {
			s.log.Error("end old session", "err", err)
		}
	}
	token, err1 := randomToken()
	csrf, err2 := randomToken()
	if err1 != nil || err2 != nil {
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	if err := s.store.CreateSession(ctx, store.Session{ID: sessionID(token), UserID: u.ID, CSRF: csrf}); err != nil {
		s.log.Error("create session", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	record(true, "")
	// Sign-in is rare enough to sweep the register of ended sessions here,
	// with no goroutine of its own.
	if _, err := s.store.ExpireSessions(ctx, s.now().Add(-s.idle), s.now().Add(-s.maxAge)); err != nil {
		s.log.Error("expire sessions", "err", err)
	}
	http.SetCookie(w, s.cookie(s.sessionCookie(), token, 0))
	http.SetCookie(w, s.cookie(signinCookie, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.store.EndSession(r.Context(), p.sess.ID, p.user.Name, "signout"); err != nil {
		s.log.Error("sign out", "err", err)
	}
	http.SetCookie(w, s.cookie(s.sessionCookie(), "", -1))
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
