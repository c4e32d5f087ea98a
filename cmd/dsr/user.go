package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pquerna/otp/totp"
	"golang.org/x/term"

	"dsr-intake/register/store"
	"dsr-intake/review"
)

const userUsage = `usage:
  dsr user add NAME --role coordinator|viewer|admin [--config FILE]
      add an account; the password is asked for (or read from the first line of stdin)
  dsr user passwd NAME      set a new password (the same way)
  dsr user role NAME ROLE   change the account's role
  dsr user disable NAME     stop the account signing in (its sessions end)
  dsr user enable NAME
  dsr user totp NAME [--off]
      set up a security code (prints the authenticator app's key), or remove it
  dsr user list
`

// userActor is the audit log's actor for changes made with this command.
const userActor = "cli"

// cmdUser manages the coordinators' accounts of the review pages.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	sub, rest := args[0], args[1:]
	// The account name comes first (dsr user add NAME --role ...); the
	// flag package stops at the first word that is not a flag, so take the
	// words before the flags out first.
	var words []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		words, rest = append(words, rest[0]), rest[1:]
	}
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
	role := fs.String("role", "", "the account's `ROLE`: coordinator, viewer or admin")
	off := fs.Bool("off", false, "with totp: remove the security code")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	words = append(words, fs.Args()...)
	want := map[string]int{"add": 1, "passwd": 1, "role": 2, "disable": 1, "enable": 1, "totp": 1, "list": 0}
	n, ok := want[sub]
	if !ok || len(words) != n {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	if sub == "add" && !store.ValidRole(*role) {
		fmt.Fprintln(stderr, "dsr user add: --role must be coordinator, viewer or admin")
		return 2
	}
	return withStore(ctx, "dsr user "+sub, *cfgPath, stderr, func(s *store.Store) error {
		return userCommand(ctx, s, sub, words, *role, *off, stdin, stdout, stderr)
	})
}

func userCommand(ctx context.Context, s *store.Store, sub string, words []string, role string, off bool,
	stdin io.Reader, stdout, stderr io.Writer) error {
	switch sub {
	case "list":
		users, err := s.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			code := ""
			if u.TOTPSecret != "" {
				code = " security-code"
			}
			fmt.Fprintf(stdout, "%-24s %-12s %s%s\n", u.Name, u.Role, status, code)
		}
		return nil
	case "add":
		hash, err := newPasswordHash(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := s.AddUser(ctx, words[0], role, hash, userActor)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", u.Name, u.Role)
		return nil
	case "passwd":
		if _, err := s.UserByName(ctx, words[0]); err != nil {
			return err
		}
		hash, err := newPasswordHash(stdin, stderr)
		if err != nil {
			return err
		}
		return s.UpdateUser(ctx, words[0], store.UserChange{PasswordHash: &hash}, userActor)
	case "role":
		r := words[1]
		return s.UpdateUser(ctx, words[0], store.UserChange{Role: &r}, userActor)
	case "disable", "enable":
		d := sub == "disable"
		return s.UpdateUser(ctx, words[0], store.UserChange{Disabled: &d}, userActor)
	case "totp":
		if off {
			none := ""
			return s.UpdateUser(ctx, words[0], store.UserChange{TOTPSecret: &none}, userActor)
		}
		u, err := s.UserByName(ctx, words[0])
		if err != nil {
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "Bromley DSR", AccountName: u.Name})
		if err != nil {
			return err
		}
		secret := key.Secret()
		if err := s.UpdateUser(ctx, u.Name, store.UserChange{TOTPSecret: &secret}, userActor); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Add this key to %s's authenticator app, then sign in with its 6-digit code:\n  key: %s\n  or the link: %s\n",
			u.Name, secret, key.URL())
		return nil
	}
	return fmt.Errorf("unknown command %q", sub)
}

// newPasswordHash reads a new password, twice from a terminal without
// echo, or once from the first line of stdin (for scripts), and hashes it.
func newPasswordHash(stdin io.Reader, stderr io.Writer) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "The same again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		pw = string(a)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < review.MinPasswordLength {
		return "", fmt.Errorf("the password must be at least %d characters long", review.MinPasswordLength)
	}
	return review.HashPassword(pw)
}
