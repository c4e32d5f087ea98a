package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
	once := fs.Bool("once", false, "process what is in the mailbox and the outbox, then exit")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process to `FILE` (for make bench; the PDF children are not in it)")
	memProfile := fs.String("memprofile", "", "write a heap profile (every allocation since start) to `FILE` on exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "dsr run:", err)
			return 1
		}
		defer stop()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				fmt.Fprintln(stderr, "dsr run:", err)
			}
		}()
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 2
	}
	// A soft heap limit the size of the work: Go lets the heap grow to
	// twice the live set by default, which for one large email is twice
	// what it needs. GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(2*(int64(cfg.Limits.MaxMessageMB)<<20) + 64<<20)
	}
	// --once serves no pages: building them (an Argon2id hash of 19 MiB
	// for timing-safe sign-in among it) would only raise its peak memory.
	a, err := newApp(ctx, cfg, stderr, !*once)
	if err != nil {
		fmt.Fprintln(stderr, "dsr run:", err)
		return 1
	}
	defer a.Close()
	if *once {
		return a.runOnce(ctx, stdout, stderr)
	}
	a.log.Info("dsr-intake starting", "mailbox", cfg.IMAP.Mailbox, "database", cfg.Database.Driver)
	done := make(chan struct{})
	if a.sender != nil {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		go func() { defer close(done); a.sender.Run(sctx, a.sender.Retry.Tick()) }()
		defer func() { cancel(); <-done }()
	}
	for _, l := range []struct {
		name, addr string
		h          http.Handler
	}{{"review pages", cfg.Web.Addr, a.pages}, {"metrics", cfg.Web.MetricsAddr, a.metrics}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			fmt.Fprintf(stderr, "dsr run: %s: %v\n", l.name, err)
			return 1
		}
		srv := serveHTTP(ln, l.h, a.log)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		a.log.Info(l.name+" listening", "addr", ln.Addr().String())
	}
	sched, err := newScheduler(cfg, a.store, a.composer, a.daemon.Health, a.sender, a.log)
	if err != nil {
		fmt.Fprintln(stderr, "dsr run:", err)
		return 1
	}
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		if err := sched.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("schedules stopped", "err", err)
		}
	}()
	defer func() { <-schedDone }()
	if err := a.daemon.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "dsr run:", err)
		return 1
	}
	a.log.Info("dsr-intake stopped")
	return 0
}

// startCPUProfile profiles this process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}

// runOnce processes the mailbox once, drains the outbox and prints a
// summary of outcomes.
func (a *app) runOnce(ctx context.Context, stdout, stderr io.Writer) int {
	counts := map[register.Outcome]int{}
	progress := newProgress(stderr)
	a.daemon.OnProcessed = func(o register.Outcome) {
		counts[o]++
		progress.tick()
	}
	var moves onceMoves
	a.daemon.OnMoved = moves.moved
	a.daemon.OnReconciled = func(n int) { moves.reconciled += n }
	err := a.daemon.RunOnce(ctx)
	progress.done()
	code := 0
	if err != nil {
		fmt.Fprintln(stderr, "dsr run --once:", err)
		code = 1
	}
	sent := 0
	if a.sender != nil {
		n, err := a.sender.Drain(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "dsr run --once: outbox:", err)
			code = 1
		}
		sent = n
		fmt.Fprintf(stdout, "sent %d email(s)\n", n)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(stdout, "processed %d message(s): register %d, query %d, review %d, ignore %d, quarantined %d\n",
		total, counts[register.OutcomeRegister], counts[register.OutcomeQuery], counts[register.OutcomeReview],
		counts[register.OutcomeIgnore], counts["quarantined"])
	fmt.Fprintln(stdout, moves.summary())
	a.log.Info("run --once done", "processed", total, "moved", moves.total, "reconciled", moves.reconciled, "sent", sent)
	return code
}

// onceMoves is what a --once run moved out of the inbox, by folder, and
// how many earlier moves it found unrecorded: a run that only moves emails
// decided before (after a crash) decides nothing, and says what it did.
type onceMoves struct {
	total      int
	folders    []string
	byFolder   map[string]int
	reconciled int
}

func (m *onceMoves) moved(folder string, n int) {
	if m.byFolder == nil {
		m.byFolder = map[string]int{}
	}
	if _, ok := m.byFolder[folder]; !ok {
		m.folders = append(m.folders, folder)
	}
	m.byFolder[folder] += n
	m.total += n
}

func (m *onceMoves) summary() string {
	parts := make([]string, len(m.folders))
	for i, f := range m.folders {
		parts[i] = fmt.Sprintf("%s %d", f, m.byFolder[f])
	}
	s := fmt.Sprintf("moved %d message(s) out of the inbox", m.total)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s + fmt.Sprintf("; recorded %d earlier move(s) found in the folders", m.reconciled)
}

// progress shows a count on a terminal, and a log line every so often
// otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	n        int
	last     time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, last: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) tick() {
	p.n++
	switch {
	case p.terminal:
		fmt.Fprintf(p.w, "\r%d message(s) processed", p.n)
	case time.Since(p.last) > 10*time.Second:
		fmt.Fprintf(p.w, "%s %d message(s) processed\n", time.Now().Format(time.TimeOnly), p.n)
		p.last = time.Now()
	}
}

func (p *progress) done() {
	if p.terminal && p.n > 0 {
		fmt.Fprintln(p.w)
	}
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Opening the store migrates; this only reports the version.
	return withStore(ctx, "dsr migrate", *cfgPath, stderr, func(s *store.Store) error {
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "register schema at version %d\n", v)
		return nil
	})
}

// withStore loads the configuration, opens (and migrates) the register,
// runs fn and closes it; it returns the exit code, having said what went
// wrong under the command's name.
func withStore(ctx context.Context, name, cfgPath string, stderr io.Writer, fn func(*store.Store) error) int {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return 2
	}
	s, err := openStore(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	defer s.Close()
	if err := fn(s); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: dsr config check [--config FILE]")
		return 2
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 1
	}
	if cfg.IMAP.Addr == "" {
		fmt.Fprintln(stderr, `dsr config check: imap.addr: set the DSR inbox's host:port (NHSmail: "outlook.office365.com:993")`)
		return 1
	}
	// Secrets are read, not just named: a missing file is found now.
	for _, s := range []struct {
		name string
		read func() error
	}{
		{"keys", func() error { _, err := keyringSpec(cfg.Keys); return err }},
		{"imap login", func() error {
			_, err := authenticator(ctx, "imap", cfg.IMAP.Auth, cfg.IMAP.Password, cfg.IMAP.OAuth2)
			return err
		}},
	} {
		if err := s.read(); err != nil {
			fmt.Fprintf(stderr, "dsr config check: %s: %v\n", s.name, err)
			return 1
		}
	}
	spec, _ := keyringSpec(cfg.Keys)
	if _, err := store.LoadKeyring(spec); err != nil {
		fmt.Fprintln(stderr, "dsr config check:", err)
		return 1
	}
	fmt.Fprintln(stdout, scanStatus(ctx))
	fmt.Fprintln(stdout, "configuration OK")
	return 0
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: dsr keys init [--out FILE] | dsr keys add-key --in FILE --id ID | dsr keys rotate [--config FILE]")
		return 2
	}
	switch args[0] {
	case "init":
		fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
		fs.SetOutput(stderr)
		out := fs.String("out", "", "write the new keyring to `FILE` (mode 0600) instead of stdout")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		k, err := store.GenerateKeyring()
		if err != nil {
			fmt.Fprintln(stderr, "dsr keys init:", err)
			return 1
		}
		if *out == "" {
			stdout.Write(k.Marshal())
			return 0
		}
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "dsr keys init:", err)
			return 1
		}
		if _, err := f.Write(k.Marshal()); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "dsr keys init:", err)
			return 1
		}
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "dsr keys init:", err)
			return 1
		}
		fmt.Fprintf(stdout, "keyring written to %s; keep a copy somewhere safe: without it the register cannot be read\n", *out)
		return 0
	case "rotate":
		fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		return withStore(ctx, "dsr keys rotate", *cfgPath, stderr, func(s *store.Store) error {
			n, err := s.RotateKeys(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "re-encrypted %d value(s) under the current key\n", n)
			return nil
		})
	case "add-key":
		fs := flag.NewFlagSet("keys add-key", flag.ContinueOnError)
		fs.SetOutput(stderr)
		in := fs.String("in", "", "the keyring `FILE` to read")
		id := fs.String("id", "", "the new key's `ID` (letters, digits, - and _)")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		k, err := store.LoadKeyring("file:" + *in)
		if err != nil {
			fmt.Fprintln(stderr, "dsr keys add-key:", err)
			return 1
		}
		k2, err := k.WithNewKey(*id)
		if err != nil {
			fmt.Fprintln(stderr, "dsr keys add-key:", err)
			return 1
		}
		stdout.Write(k2.Marshal())
		return 0
	}
	fmt.Fprintf(stderr, "dsr keys: unknown subcommand %q\n", args[0])
	return 2
}
