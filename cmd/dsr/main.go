// Command dsr is dsr-intake: the daemon that reads the Bromley DSR inbox,
// and the tools around it (check, migrate, keys, users, digests, demo).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `dsr: the Bromley DSR intake

Usage:
  dsr check [--config FILE] [--today YYYY-MM-DD] [--json] [--fields] FILE.eml...
      read saved emails and print what the intake would decide (no server, no database)
  dsr demo [--addr 127.0.0.1:8080] [--samples DIR] [-v]
      everything in one process with the sample referrals: try it first
  dsr run [--config FILE] [--once] [--cpuprofile FILE] [--memprofile FILE]
      watch the DSR inbox (with --once: process what is there and the outbox, then exit)
  dsr migrate [--config FILE]
      bring the register's schema up to date (dsr run also does this on start)
  dsr config check [--config FILE]
      check the configuration and that its secrets can be read
  dsr digest preview [--config FILE] [--html] [NAME]
      print what a digest (each digest without NAME) would say now
  dsr digest send [--config FILE] NAME
      send a digest now, through the outbox
  dsr keys init [--out FILE]
      make a new keyring (data key + blind-index key)
  dsr keys add-key --in FILE --id ID
      print the keyring with a new current data key (then dsr keys rotate)
  dsr keys rotate [--config FILE]
      re-encrypt everything under the keyring's current key
  dsr user add NAME --role coordinator|viewer|admin [--config FILE]
      add an account for the review pages (password from a prompt or stdin)
  dsr user passwd NAME [--config FILE]
      set a new password (the same way)
  dsr user role NAME ROLE [--config FILE]
      change an account's role
  dsr user disable NAME [--config FILE]
      stop an account signing in (its sessions end)
  dsr user enable NAME [--config FILE]
      let a disabled account sign in again
  dsr user totp NAME [--off] [--config FILE]
      set up a security code (prints the authenticator app's key), or remove it
  dsr user list [--config FILE]
      list the accounts with their roles
  dsr version

The configuration file comes from --config or $DSR_CONFIG; dsr.example.toml
documents every key.

Run "dsr COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line; it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return cmdCheck(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "config":
		return cmdConfig(ctx, rest, stdout, stderr)
	case "digest":
		return cmdDigest(ctx, rest, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdin, stdout, stderr)
	case "parse-pdf":
		return cmdParsePDF(ctx, rest, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "dsr", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "dsr: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
