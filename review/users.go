package review

import (
	"errors"
	"net/http"

	"dsr-intake/register/store"
)

type usersData struct {
	Users []store.User
	Roles []string
	Error string
	Name  string
}

var roles = []string{store.RoleViewer, store.RoleCoordinator, store.RoleAdmin}

// users lists the accounts, for admins.
func (s *Server) users(w http.ResponseWriter, r *http.Request, p *principal) {
	s.usersPage(w, r, p, http.StatusOK, usersData{})
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p *principal, status int, d usersData) {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, p, "read the accounts", err)
		return
	}
	d.Users, d.Roles = us, roles
	s.render(w, r, p, status, "users", page{Title: "Accounts", Nav: "users", D: d})
}

// userAdd creates an account with a first password the admin passes on.
func (s *Server) userAdd(w http.ResponseWriter, r *http.Request, p *principal) {
	name, role, pw := formText(r, "name"), r.PostForm.Get("role"), r.PostForm.Get("password")
	again := func(msg string) {
		s.usersPage(w, r, p, http.StatusBadRequest, usersData{Error: msg, Name: name})
	}
	if !store.ValidRole(role) {
		again("Choose a role.")
		return
	}
	if len(pw) < MinPasswordLength {
		again("The password must be at least 12 characters long.")
		return
	}
	hash, err := HashPassword(pw)
	if err != nil {
		s.fail(w, r, p, "add the account", err)
		return
	}
	if _, err := s.store.AddUser(r.Context(), name, role, hash, p.user.Name); err != nil {
		if errors.Is(err, store.ErrUserExists) {
			again("An account with that name already exists.")
			return
		}
		again("The name must be 1 to 64 characters without spaces.")
		return
	}
	http.Redirect(w, r, "/users?done=user", http.StatusSeeOther)
}

// userChange changes an account's role, or disables or enables it. An
// admin cannot disable or demote their own account, so the register is
// never left without one.
func (s *Server) userChange(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	var c store.UserChange
	switch r.PostForm.Get("action") {
	case "role":
		role := r.PostForm.Get("role")
		if !store.ValidRole(role) {
			s.usersPage(w, r, p, http.StatusBadRequest, usersData{Error: "Choose a role."})
			return
		}
		c.Role = &role
	case "disable":
		yes := true
		c.Disabled = &yes
	case "enable":
		no := false
		c.Disabled = &no
	default:
		http.NotFound(w, r)
		return
	}
	if name == p.user.Name && (c.Disabled != nil || (c.Role != nil && *c.Role != store.RoleAdmin)) {
		s.usersPage(w, r, p, http.StatusBadRequest, usersData{Error: "You cannot disable or demote your own account."})
		return
	}
	if err := s.store.UpdateUser(r.Context(), name, c, p.user.Name); err != nil {
		s.actionFailed(w, r, p, "change the account", err)
		return
	}
	http.Redirect(w, r, "/users?done=user", http.StatusSeeOther)
}
