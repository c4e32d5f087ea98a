package review

import (
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"dsr-intake/register/store"
)

// What the sign-in page says; the limits are in limiter.go.
const (
	signinFailureText  = "The name, password or security code is not right."
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
	// A slot for the password check first: when every slot is taken the
	// answer costs nothing, not even a database write.
	release, ok := s.checks.tryAcquire()
	if !ok {
		if n := s.checks.turnAway(s.now()); n > 0 {
			s.log.Warn("sign-ins turned away: every password check busy", "since_last_report", n)
		}
		retryAfter(w, 2*time.Second)
		fail(http.StatusTooManyRequests, signinBusyText)
		return
	}
	defer release()
	claim, err := s.store.ClaimSignin(ctx, name, s.proxies.clientAddr(r), s.signinLimits)
	if err != nil {
		s.log.Error("claim sign-in attempt", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	switch claim.Refused {
	case "":
	case store.SigninClientLimit:
		s.log.Warn("sign-in refused: too many failures from the client")
		retryAfter(w, claim.RetryAfter)
		fail(http.StatusTooManyRequests, signinClientLimitText)
		return
	default:
		s.log.Warn("sign-in refused: the account's delay after failures has not passed")
		retryAfter(w, claim.RetryAfter)
		fail(http.StatusTooManyRequests, signinDelayText(claim.RetryAfter))
		return
	}
	settle := func(ok bool, why string) {
		if err := s.store.SettleSignin(ctx, claim.ID, ok, why); err != nil {
			s.log.Error("record sign-in attempt", "err", err)
		}
	}
	u, err := s.store.UserByName(ctx, name)
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash // the same work whether or not the account exists
	}
	match := s.checks.check(hash, password)
	release() // the rest needs no slot
	why, msg := "", signinFailureText
	switch {
	case err != nil:
		why = "unknown_user"
	case !match:
		why = "bad_password"
	case u.Disabled:
		why = "disabled"
	case u.TOTPSecret == "" && s.requireTOTP[u.Role]:
		why, msg = "totp_required", signinTOTPNeededText
	case u.TOTPSecret != "" && !totp.Validate(code, u.TOTPSecret):
		why = "bad_code"
	}
	if why != "" {
		settle(false, why)
		fail(http.StatusUnauthorized, msg)
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
	settle(true, "")
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
