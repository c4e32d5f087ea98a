package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"dsr-intake/register/store"
	"dsr-intake/review"
)

func TestUserCommand(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "")
	dsr := func(stdin string, args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := run(ctx, append([]string{"user"}, args...), strings.NewReader(stdin), &o, &e)
		return code, o.String(), e.String()
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"a long enough password\n", []string{"add", "Alice", "--role", "coordinator", "--config", cfg}, 0, "added alice (coordinator)"},
		{"a long enough password\n", []string{"add", "alice", "--role", "viewer", "--config", cfg}, 1, ""},
		{"short\n", []string{"add", "bob", "--role", "viewer", "--config", cfg}, 1, ""},
		{"a long enough password\n", []string{"add", "bob", "--role", "root", "--config", cfg}, 2, ""},
		{"", []string{"add", "--config", cfg}, 2, ""},
		{"", []string{"role", "alice", "admin", "--config", cfg}, 0, ""},
		{"", []string{"disable", "alice", "--config", cfg}, 0, ""},
		{"", []string{"totp", "alice", "--config", cfg}, 0, "otpauth://totp/"},
		{"", []string{"list", "--config", cfg}, 0, "alice                    admin        disabled security-code"},
		{"another long password\n", []string{"passwd", "alice", "--config", cfg}, 0, ""},
		{"", []string{"frobnicate", "--config", cfg}, 2, ""},
	} {
		code, o, e := dsr(tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(o, tc.out) {
			t.Errorf("dsr user %v: code %d (want %d), out %q, err %q", tc.args, code, tc.code, o, e)
		}
	}
	// The password set last is the one the pages accept; the audit log
	// names the command as the actor.
	c, err := loadTestStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := c.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := review.CheckPassword(u.PasswordHash, "another long password"); !ok {
		t.Error("passwd did not set the password")
	}
	entries, err := c.Audit(ctx, store.AuditFilter{Entity: "user", Actor: userActor})
	if err != nil || len(entries) != 5 {
		t.Errorf("audit: %d entries, %v", len(entries), err)
	}
}

func loadTestStore(ctx context.Context, path string) (*store.Store, error) {
	var e bytes.Buffer
	cfg, ok := loadConfig(path, &e)
	if !ok {
		return nil, fmt.Errorf("load config: %s", e.String())
	}
	return openStore(ctx, cfg, newLogger(cfg.Log, &e))
}
