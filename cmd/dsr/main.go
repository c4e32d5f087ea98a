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
  dsr check [--config FILE] [--today YYYY-MM-DD] [--json] FILE.eml...
      read saved emails and print what the intake would decide (no server, no database)
  dsr version

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
	case "parse-pdf":
		return cmdParsePDF(ctx, stdin, stdout, stderr)
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
