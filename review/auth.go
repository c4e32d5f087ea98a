package review

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"dsr-intake/register/store"
)

// principal is the signed-in coordinator a handler acts for.
type principal struct {
	user store.User
	sess store.Session
}

type handler func(w http.ResponseWriter, r *http.Request, p *principal)

// signinCookie carries the token that the sign-in form must echo, so a
// third-party page cannot sign a browser in to an account of its choosing
// (login CSRF).
const signinCookie = "dsr_signin"

// sessionCookie is named with the __Host- prefix when Secure, which makes
// the browser refuse it from plain HTTP or with a Domain attribute.
func (s *Server) sessionCookie() string {
	if s.secure {
		return "__Host-dsr_session"
	}
	return "dsr_session"
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionID is what the register stores of a session token: its hash, so
// the database alone cannot be used to ride a session.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// session finds the request's live session; one past its idle or absolute
// timeout is ended here.
func (s *Server) session(r *http.Request) (store.Session, store.User, bool) {
	c, err := r.Cookie(s.sessionCookie())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return store.Session{}, store.User{}, false
	}
	sess, u, err := s.store.SessionUser(r.Context(), sessionID(c.Value))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("read session", "err", err)
		}
		return store.Session{}, store.User{}, false
	}
	now := s.now()
	why := ""
	switch {
	case now.Sub(sess.SeenAt) > s.idle:
		why = "idle_timeout"
	case now.Sub(sess.CreatedAt) > s.maxAge:
		why = "absolute_timeout"
	}
	if why != "" {
		if err := s.store.EndSession(r.Context(), sess.ID, u.Name, why); err != nil {
			s.log.Error("end session", "err", err)
		}
		return store.Session{}, store.User{}, false
	}
	return sess, u, true
}

var roleRank = map[string]int{store.RoleViewer: 1, store.RoleCoordinator: 2, store.RoleAdmin: 3}

// can reports whether a role may do what needs role min: admins can do
// all a coordinator can, coordinators all a viewer can.
func can(role, min string) bool { return roleRank[role] >= roleRank[min] && roleRank[min] > 0 }

// maxFormBytes bounds a form post; the longest field is an edited query.
const maxFormBytes = 256 << 10

// auth wraps a handler: a session is required (an anonymous GET is sent to
// the sign-in page, anything else refused), a form must carry the
// session's CSRF token, and the account's role must reach min.
func (s *Server) auth(min string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, u, ok := s.session(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Your session has ended. Sign in again.", http.StatusUnauthorized)
			return
		}
		p := &principal{user: u, sess: sess}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "The form could not be read.", http.StatusBadRequest)
				return
			}
			if !sameToken(r.PostForm.Get("csrf"), sess.CSRF) {
				s.log.Warn("form refused: missing or wrong CSRF token", "user", u.Name, "path", r.URL.Path)
				s.problem(w, r, p, http.StatusForbidden, "This form has expired",
					"The page was open too long or came from elsewhere. Go back, reload the page and try again.")
				return
			}
		}
		if !can(u.Role, min) {
			s.forbidden(w, r, p, min)
			return
		}
		// The idle clock restarts at most once a minute, to spare the
		// database a write for every page.
		if s.now().Sub(sess.SeenAt) > time.Minute {
			if err := s.store.TouchSession(r.Context(), sess.ID); err != nil {
				s.log.Error("touch session", "err", err)
			}
		}
		h(w, r, p)
	})
}
