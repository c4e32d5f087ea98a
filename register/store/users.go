package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Roles of the coordinators' accounts: viewers read, coordinators act on
// cases and records, admins also manage the accounts.
const (
	RoleViewer      = "viewer"
	RoleCoordinator = "coordinator"
	RoleAdmin       = "admin"
)

// ValidRole reports whether role is one of the three roles.
func ValidRole(role string) bool {
	return role == RoleViewer || role == RoleCoordinator || role == RoleAdmin
}

// ErrUserExists is returned when an account name is taken.
var ErrUserExists = errors.New("register: an account with that name exists")

// User is a coordinator's account. PasswordHash is an encoded hash (the
// review package makes and checks it); the store never sees a password.
type User struct {
	ID           int64
	Name         string
	Role         string
	PasswordHash string
	TOTPSecret   string // "" when the account has no second factor
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

type userRow struct {
	ID           int64     `db:"id"`
	Name         string    `db:"name"`
	Role         string    `db:"role"`
	PasswordHash string    `db:"password_hash"`
	TOTPSecret   []byte    `db:"totp_secret"`
	Disabled     bool      `db:"disabled"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

const userCols = `id, name, role, password_hash, totp_secret, disabled, created_at, updated_at`

func (s *Store) userFromRow(r userRow) (User, error) {
	secret, err := s.decString("users.totp_secret", r.TOTPSecret)
	if err != nil {
		return User{}, err
	}
	return User{ID: r.ID, Name: r.Name, Role: r.Role, PasswordHash: r.PasswordHash, TOTPSecret: secret,
		Disabled: r.Disabled, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}, nil
}

// normaliseUserName is how account names compare: case and surrounding
// space do not matter, so "Alice" cannot be added beside "alice".
func normaliseUserName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// AddUser creates an account; actor is who added it ("cli" for dsr user add).
func (s *Store) AddUser(ctx context.Context, name, role, passwordHash, actor string) (User, error) {
	name = normaliseUserName(name)
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n") {
		return User{}, errors.New("add user: the name must be 1 to 64 characters without spaces")
	}
	if !ValidRole(role) {
		return User{}, fmt.Errorf("add user: unknown role %q (want viewer, coordinator or admin)", role)
	}
	if passwordHash == "" || actor == "" {
		return User{}, errors.New("add user: a password hash and an actor are required")
	}
	var u User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := s.get(ctx, tx, &n, `SELECT COUNT(*) FROM users WHERE name = ?`, name); err != nil {
			return err
		}
		if n > 0 {
			return ErrUserExists
		}
		now := s.stamp()
		id, err := s.insert(ctx, tx, `INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, name, role, passwordHash, false, now, now)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		u = User{ID: id, Name: name, Role: role, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "user.add", Entity: "user", EntityID: id,
			Detail: "name=" + name + " role=" + role})
	})
	if err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	return u, nil
}

// UserByName finds an account by name (any case).
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	return s.oneUser(ctx, s.db, "name = ?", normaliseUserName(name))
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.oneUser(ctx, s.db, "id = ?", id)
}

func (s *Store) oneUser(ctx context.Context, q queryer, where string, arg any) (User, error) {
	var r userRow
	err := s.get(ctx, q, &r, `SELECT `+userCols+` FROM users WHERE `+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("read user: %w", err)
	}
	return s.userFromRow(r)
}

// ListUsers lists every account by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.sel(ctx, s.db, &rows, `SELECT `+userCols+` FROM users ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := convertRows(rows, s.userFromRow)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UserChange is a change to an account; nil fields stay as they are.
type UserChange struct {
	Role         *string
	PasswordHash *string
	// TOTPSecret sets the second factor; a pointer to "" removes it.
	TOTPSecret *string
	Disabled   *bool
}

// UpdateUser changes an account. Changing the password, the role, the
// second factor or disabling the account ends all its sessions, so a
// stolen session does not outlive the fix.
func (s *Store) UpdateUser(ctx context.Context, name string, c UserChange, actor string) error {
	if actor == "" {
		return errors.New("update user: no actor")
	}
	if c.Role != nil && !ValidRole(*c.Role) {
		return fmt.Errorf("update user: unknown role %q", *c.Role)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.oneUser(ctx, tx, "name = ?"+s.forUpdate(), normaliseUserName(name))
		if err != nil {
			return err
		}
		now := s.stamp()
		var sets []string
		var args []any
		var what []string
		if c.Role != nil {
			sets, args, what = append(sets, "role = ?"), append(args, *c.Role), append(what, "role="+*c.Role)
		}
		if c.PasswordHash != nil {
			if *c.PasswordHash == "" {
				return errors.New("empty password hash")
			}
			sets, args, what = append(sets, "password_hash = ?"), append(args, *c.PasswordHash), append(what, "password")
		}
		if c.TOTPSecret != nil {
			ct, err := s.encString("users.totp_secret", *c.TOTPSecret)
			if err != nil {
				return err
			}
			sets, args = append(sets, "totp_secret = ?"), append(args, ct)
			what = append(what, map[bool]string{true: "totp=off", false: "totp=on"}[*c.TOTPSecret == ""])
		}
		if c.Disabled != nil {
			sets, args = append(sets, "disabled = ?"), append(args, *c.Disabled)
			what = append(what, fmt.Sprintf("disabled=%t", *c.Disabled))
		}
		if len(sets) == 0 {
			return nil
		}
		sets, args = append(sets, "updated_at = ?"), append(args, now, u.ID)
		if _, err := s.exec(ctx, tx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Action: "user.update", Entity: "user", EntityID: u.ID,
			Detail: "name=" + u.Name + " " + strings.Join(what, " ")})
	})
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// Session is a signed-in browser. ID is the hash of the cookie's token.
type Session struct {
	ID        string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	SeenAt    time.Time
}

// CreateSession starts a session for a user who has just signed in, and
// audits the sign-in.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	if sess.ID == "" || sess.CSRF == "" || sess.UserID == 0 {
		return errors.New("create session: id, csrf token and user are required")
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		u, err := s.oneUser(ctx, tx, "id = ?", sess.UserID)
		if err != nil {
			return err
		}
		now := s.stamp()
		if _, err := s.exec(ctx, tx, `INSERT INTO sessions (id, user_id, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, sess.CSRF, now, now); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return s.audit(ctx, tx, AuditEntry{At: now, Actor: u.Name, Action: "user.signin", Entity: "user", EntityID: u.ID})
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser returns a session and its account, ErrNotFound when there
// is no such session or its account is disabled. Timeouts are the
// caller's to judge from CreatedAt and SeenAt.
func (s *Store) SessionUser(ctx context.Context, id string) (Session, User, error) {
	var r struct {
		ID        string    `db:"id"`
		UserID    int64     `db:"user_id"`
		CSRF      string    `db:"csrf"`
		CreatedAt time.Time `db:"created_at"`
		SeenAt    time.Time `db:"seen_at"`
	}
	err := s.get(ctx, s.db, &r, `SELECT id, user_id, csrf, created_at, seen_at FROM sessions WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, ErrNotFound
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("read session: %w", err)
	}
	u, err := s.UserByID(ctx, r.UserID)
	if err != nil {
		return Session{}, User{}, fmt.Errorf("read session: %w", err)
	}
	if u.Disabled {
		return Session{}, User{}, ErrNotFound
	}
	return Session{ID: r.ID, UserID: r.UserID, CSRF: r.CSRF, CreatedAt: r.CreatedAt.UTC(), SeenAt: r.SeenAt.UTC()}, u, nil
}

// TouchSession records that a session was used now (the idle timeout
// counts from here).
func (s *Store) TouchSession(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, s.db, `UPDATE sessions SET seen_at = ? WHERE id = ?`, s.stamp(), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// EndSession deletes a session (sign-out, or a timeout found); actor and
// why go to the audit log when the session existed.
func (s *Store) EndSession(ctx context.Context, id, actor, why string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var userID int64
		err := s.get(ctx, tx, &userID, `SELECT user_id FROM sessions WHERE id = ?`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditEntry{Actor: actor, Action: "user.signout", Entity: "user", EntityID: userID, Detail: why})
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// ExpireSessions deletes sessions idle since before idleBefore or started
// before startedBefore, and returns how many went.
func (s *Store) ExpireSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error) {
	res, err := s.exec(ctx, s.db, `DELETE FROM sessions WHERE seen_at < ? OR created_at < ?`, utc(idleBefore), utc(startedBefore))
	if err != nil {
		return 0, fmt.Errorf("expire sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
