// Command dsrbench is the harness behind `make bench`: it starts a private
// Dovecot on loopback with TLS, fills its INBOX from the project's sample
// emails, and measures dsr against the fetch itself (mbsync copying the
// same INBOX), on SQLite and PostgreSQL; dsr's peak memory; the time from
// APPEND to a committed decision while the daemon IDLEs; and `dsr check`
// against pdftotext; and dsr's memory under bursts of parallel sign-ins
// (-only signin); and dsr reading scanned emails by OCR (-only ocr). It prints a Markdown report (and writes it to -out).
//
// It is a measuring tool, not a test: nothing is asserted, the targets
// are printed next to the figures.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register/store"
)

type options struct {
	dsr, samples, out, work, pg, only string
	n, reps, memSmall, memLarge       int
	bigMB, latencyN, checkN, ocrN     int
	ocrDir                            string
	keep                              bool
	cpuProfile, memProfile            string
	rtt                               time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsr, "dsr", "bin/dsr", "the dsr `binary` to measure")
	flag.StringVar(&o.samples, "samples", "testdata/samples", "sample emails `dir` (*/message.eml)")
	flag.StringVar(&o.out, "out", "", "also write the report to `FILE`")
	flag.StringVar(&o.work, "work", "", "working `dir` (default: a new temporary one, removed after)")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL `URL` to create scratch databases on (empty: skip)")
	flag.StringVar(&o.only, "only", "intake,pg,memory,latency,check,signin,ocr", "which `parts` to run")
	flag.IntVar(&o.n, "n", 2000, "emails in the timed INBOX")
	flag.IntVar(&o.reps, "reps", 3, "alternating repetitions of mbsync and dsr")
	flag.IntVar(&o.memSmall, "mem-small", 1000, "emails for the first memory run")
	flag.IntVar(&o.memLarge, "mem-large", 10000, "emails for the second memory run")
	flag.IntVar(&o.bigMB, "big-mb", 30, "size in MB of the one large attachment")
	flag.IntVar(&o.latencyN, "latency-n", 10, "APPEND-to-decision samples")
	flag.IntVar(&o.checkN, "check-n", 40, "emails for dsr check against pdftotext")
	flag.StringVar(&o.ocrDir, "ocr-dir", "parser/testdata/ocr", "scanned emails `dir` (*.eml) for the OCR part")
	flag.IntVar(&o.ocrN, "ocr-n", 0, "scanned emails in the OCR mailbox, cycled (0: each of -ocr-dir once)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.DurationVar(&o.rtt, "rtt", 0, "add this round-trip time between the IMAP clients (mbsync and dsr) and Dovecot, as to a distant server")
	flag.StringVar(&o.memProfile, "memprofile", "", "write the allocations of the one-large-email `dsr run --once` to `FILE`")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each timed `dsr run --once` to `PREFIX`-<driver>.prof (the last run's is kept)")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "dsrbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	o       options
	dsr     string
	work    string
	dc      *harness.Dovecot
	imap    string // the address mbsync and dsr reach Dovecot at (-rtt: a delay proxy's)
	samples []sample
	report  strings.Builder
}

func (b *bench) printf(format string, args ...any) {
	fmt.Fprintf(&b.report, format, args...)
	fmt.Printf(format, args...)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	dsr, err := filepath.Abs(o.dsr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dsr); err != nil {
		return fmt.Errorf("dsr binary: %w (make build)", err)
	}
	samples, err := loadSamples(o.samples)
	if err != nil {
		return err
	}
	work := o.work
	if work == "" {
		// Short: Dovecot's socket paths are limited to 107 bytes.
		if work, err = os.MkdirTemp("", "dsrb-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	// Dovecot's mail user must be able to traverse it.
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	dc, err := harness.StartDovecot(filepath.Join(work, "dovecot"))
	if err != nil {
		return err
	}
	defer dc.Stop()
	b := &bench{o: o, dsr: dsr, work: work, dc: dc, imap: dc.Addr, samples: samples}
	b.printf("## Figures (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.printf("Machine: %s\n\n", machine())
	if o.rtt > 0 {
		p, err := startDelayProxy(dc.Addr, o.rtt)
		if err != nil {
			return fmt.Errorf("delay proxy: %w", err)
		}
		defer p.Close()
		b.imap = p.Addr()
		b.printf("IMAP round trip: %s added between the clients (mbsync and dsr) and Dovecot.\n\n", o.rtt)
	}
	parts := strings.Split(o.only, ",")
	for _, p := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"intake", func(ctx context.Context) error { return b.intake(ctx, "sqlite") }},
		{"pg", func(ctx context.Context) error { return b.intake(ctx, "postgres") }},
		{"memory", b.memory},
		{"latency", b.latency},
		{"check", b.check},
		{"signin", b.signin},
		{"ocr", b.ocr},
	} {
		if !slices.Contains(parts, p.name) {
			continue
		}
		if p.name == "pg" && o.pg == "" {
			b.printf("PostgreSQL: skipped (no -pg URL)\n\n")
			continue
		}
		if p.name == "pg" {
			c, err := pgx.Connect(ctx, o.pg)
			if err != nil {
				b.printf("PostgreSQL: skipped (cannot connect to -pg: %v)\n\n", err)
				continue
			}
			c.Close(ctx)
		}
		logf("part %s", p.name)
		if err := p.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(b.report.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
			cpu = string(m[1])
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
			mem = fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d CPUs (nproc), %s, Linux %s", cpu, numCPU(), mem, kernel)
}

// snapshot makes (once) a Maildir holding n copies of the samples in INBOX.
func (b *bench) snapshot(n int, prefix string) (string, int64, error) {
	dir := filepath.Join(b.work, fmt.Sprintf("snap-%s-%d", prefix, n))
	size, err := writeMaildir(dir, n, mailbox(b.samples, n, prefix), b.dc.MailUID, b.dc.MailGID)
	return dir, size, err
}

// dsrConfig writes a configuration for dsr against the bench Dovecot, with
// a fresh keyring and any further [limits] lines. Queries stay queued in
// the outbox: no SMTP server.
func (b *bench) dsrConfig(dir, driver, dsn string, maxMessageMB int, limits ...string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	keys, err := store.GenerateKeyring()
	if err != nil {
		return "", err
	}
	keyFile := filepath.Join(dir, "keyring")
	if err := os.WriteFile(keyFile, keys.Marshal(), 0o600); err != nil {
		return "", err
	}
	pwFile := filepath.Join(dir, "imap-password")
	if err := os.WriteFile(pwFile, []byte(b.dc.Password), 0o600); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`
[imap]
addr = %q
tls = "implicit"
ca_file = %q
username = %q
auth = "password"
password = { file = %q }

[smtp]
addr = ""

[database]
driver = %q
dsn = %q

[keys]
file = %q

[intake]
poll = "@every 1m"
max_queries_per_case = 100
max_queries_per_sender_per_day = 100000

[limits]
max_message_mb = %d
%s

[log]
format = "json"
level = "info"
`, b.imap, b.dc.CAFile, b.dc.User, pwFile, driver, dsn, keyFile, maxMessageMB, strings.Join(limits, "\n"))
	path := filepath.Join(dir, "dsr.toml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

var processedRe = regexp.MustCompile(`processed (\d+) message`)

// outcomesRe is the outcomes' line of dsr run --once, logged with each
// timed run: a change that is faster because it decides differently
// shows there.
var outcomesRe = regexp.MustCompile(`processed \d+ message\(s\):[^\n]*`)

// dsrOnce runs `dsr run --once` on a fresh register (SQLite file or
// PostgreSQL database) and checks it processed want messages.
func (b *bench) dsrOnce(ctx context.Context, every time.Duration, driver string, want, maxMessageMB int, limits ...string) (procResult, error) {
	dir, err := os.MkdirTemp(b.work, "dsr-")
	if err != nil {
		return procResult{}, err
	}
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "dsr.db")
	var pg *scratch
	if driver == "postgres" {
		if pg, err = b.scratchDB(ctx); err != nil {
			return procResult{}, err
		}
		defer pg.drop()
		dsn = pg.dsn
	}
	cfg, err := b.dsrConfig(dir, driver, dsn, maxMessageMB, limits...)
	if err != nil {
		return procResult{}, err
	}
	args := []string{"run", "--config", cfg, "--once"}
	if b.o.memProfile != "" && want == 1 {
		p, err := filepath.Abs(b.o.memProfile)
		if err != nil {
			return procResult{}, err
		}
		args = append(args, "--memprofile", p)
	}
	if b.o.cpuProfile != "" && want == b.o.n {
		p, err := filepath.Abs(b.o.cpuProfile + "-" + driver + ".prof")
		if err != nil {
			return procResult{}, err
		}
		args = append(args, "--cpuprofile", p)
	}
	server0 := pg.serverCPU(ctx)
	res, err := runMeasured(ctx, every, dir, b.dsr, args...)
	if err != nil {
		return res, err
	}
	if server1 := pg.serverCPU(ctx); server0 >= 0 && server1 >= 0 {
		res.ServerCPU = server1 - server0
	}
	m := processedRe.FindStringSubmatch(res.Stdout)
	if m == nil || m[1] != strconv.Itoa(want) {
		return res, fmt.Errorf("dsr processed %v, want %d:\n%s\n%s", m, want, res.Stdout, harness.Tail([]byte(res.Stderr), 2000))
	}
	if left, err := b.dc.Count("INBOX"); err != nil || left != 0 {
		return res, fmt.Errorf("INBOX after dsr: %d left (%v)", left, err)
	}
	return res, nil
}

// scratch is a database of its own on the -pg server.
type scratch struct {
	admin      *pgx.Conn
	name, dsn  string
	postmaster int // the server's first process, 0 when not on this machine
}

// scratchDB creates a database of its own on the -pg server.
func (b *bench) scratchDB(ctx context.Context) (*scratch, error) {
	admin, err := pgx.Connect(ctx, b.o.pg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &scratch{admin: admin, name: fmt.Sprintf("dsrbench_%d", time.Now().UnixNano())}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+s.name); err != nil {
		admin.Close(ctx)
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(b.o.pg)
	if err != nil {
		s.drop()
		return nil, err
	}
	u.Path = "/" + s.name
	s.dsn = u.String()
	// The backend serving this connection is the postmaster's child, if
	// the server runs here.
	var backend int
	if err := admin.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err == nil {
		if f, err := statFields(backend); err == nil {
			s.postmaster, _ = strconv.Atoi(f[1])
		}
	}
	return s, nil
}

func (s *scratch) drop() {
	_, _ = s.admin.Exec(context.Background(), "DROP DATABASE "+s.name+" WITH (FORCE)")
	s.admin.Close(context.Background())
}

// serverCPU is the CPU the whole PostgreSQL server has used so far, once
// every other connection to the scratch database has ended (a backend's
// time reaches the postmaster's count when it has exited and been waited
// for); -1 when it cannot be read (no database, or a server elsewhere).
// Other clients of the same server are counted too: run it on a quiet one.
func (s *scratch) serverCPU(ctx context.Context) time.Duration {
	if s == nil || s.postmaster == 0 {
		return -1
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		err := s.admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", s.name).Scan(&n)
		if err != nil || n == 0 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond) // the postmaster waits for its exited backends
	t, err := treeCPU(s.postmaster)
	if err != nil {
		return -1
	}
	return t
}

// mbsync copies the INBOX to a fresh local Maildir.
func (b *bench) mbsync(ctx context.Context, want int) (procResult, error) {
	dir, err := os.MkdirTemp(b.work, "mbsync-")
	if err != nil {
		return procResult{}, err
	}
	defer os.RemoveAll(dir)
	rc := fmt.Sprintf(`IMAPAccount bench
Host localhost
Port %s
User %s
Pass %s
SSLType IMAPS
CertificateFile %s
SystemCertificates no

IMAPStore remote
Account bench

MaildirStore local
Path %s/mail/
Inbox %s/mail/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Sync Pull
Create Near
SyncState *
`, portOf(b.imap), b.dc.User, b.dc.Password, b.dc.CAFile, dir, dir)
	if err := os.Mkdir(filepath.Join(dir, "mail"), 0o700); err != nil {
		return procResult{}, err
	}
	rcFile := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(rcFile, []byte(rc), 0o600); err != nil {
		return procResult{}, err
	}
	res, err := runMeasured(ctx, sampleTimed, dir, "mbsync", "-q", "-c", rcFile, "inbox")
	if err != nil {
		return res, err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "INBOX", "*", "*"))
	if len(files) != want {
		return res, fmt.Errorf("mbsync copied %d messages, want %d", len(files), want)
	}
	return res, nil
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

func (b *bench) intake(ctx context.Context, driver string) error {
	snap, size, err := b.snapshot(b.o.n, "intake")
	if err != nil {
		return err
	}
	var ms, ds []procResult
	for rep := 0; rep < b.o.reps; rep++ {
		if err := b.dc.Restore(snap); err != nil {
			return err
		}
		m, err := b.mbsync(ctx, b.o.n)
		if err != nil {
			return err
		}
		ms = append(ms, m)
		if err := b.dc.Restore(snap); err != nil {
			return err
		}
		d, err := b.dsrOnce(ctx, sampleTimed, driver, b.o.n, 40)
		if err != nil {
			return err
		}
		ds = append(ds, d)
		server := ""
		if d.ServerCPU >= 0 && driver == "postgres" {
			server = fmt.Sprintf("; PostgreSQL server %s", perEmail(d.ServerCPU, b.o.n))
		}
		logf("%s rep %d: mbsync %s, dsr %s (cpu %s user %s sys waited for, %s of children alive at exit: %s per email, dsr and its children; dsr itself %s%s)",
			driver, rep+1, m.Wall.Round(time.Millisecond), d.Wall.Round(time.Millisecond), d.UserCPU.Round(time.Millisecond), d.Sys.Round(time.Millisecond),
			d.UnwaitedCPU.Round(time.Millisecond), perEmail(d.CPU(), b.o.n), perEmail(d.OwnCPU, b.o.n), server)
		if m := outcomesRe.FindString(d.Stdout); m != "" {
			logf("  %s", m)
		}
		// The daemon's own account of its serial stages.
		for _, line := range strings.Split(d.Stderr, "\n") {
			if strings.Contains(line, "sync done") {
				logf("  %s", line)
			}
		}
	}
	wall := func(r procResult) time.Duration { return r.Wall }
	cpu := func(r procResult) time.Duration { return r.CPU() }
	mm, dm := median(mapRes(ms, wall)), median(mapRes(ds, wall))
	rate := func(d time.Duration) float64 { return float64(b.o.n) / d.Seconds() }
	withServer := driver == "postgres" && ds[0].ServerCPU >= 0
	b.printf("### Intake of %d emails (%.1f MB, mean %.0f KB) on %s\n\n", b.o.n, float64(size)/(1<<20), float64(size)/float64(b.o.n)/1024, driver)
	b.printf("CPU is user + system time: dsr's includes its PDF children's (from `wait4` for those it waited for, sampled from /proc for those alive when it exited)")
	if withServer {
		b.printf("; the PostgreSQL server's is every server process's over the run (other clients of the server included)")
	}
	b.printf("; dsr itself is its own share, sampled from /proc.\n\n| run | mbsync (copy to Maildir) | mbsync CPU per email | dsr run --once | dsr CPU per email (dsr + children) | of which dsr itself |")
	if withServer {
		b.printf(" PostgreSQL server CPU per email |")
	}
	b.printf("\n|---|---|---|---|---|---|%s\n", map[bool]string{true: "---|"}[withServer])
	for i := range ms {
		b.printf("| %d | %s | %s | %s | %s | %s |", i+1, ms[i].Wall.Round(time.Millisecond), perEmail(ms[i].CPU(), b.o.n),
			ds[i].Wall.Round(time.Millisecond), perEmail(ds[i].CPU(), b.o.n), perEmail(ds[i].OwnCPU, b.o.n))
		if withServer {
			b.printf(" %s |", perEmail(ds[i].ServerCPU, b.o.n))
		}
		b.printf("\n")
	}
	b.printf("| **median** | **%s** (%.0f emails/s) | %s | **%s** (%.0f emails/s) | **%s** | %s |", mm.Round(time.Millisecond), rate(mm),
		perEmail(median(mapRes(ms, cpu)), b.o.n), dm.Round(time.Millisecond), rate(dm), perEmail(median(mapRes(ds, cpu)), b.o.n),
		perEmail(median(mapRes(ds, func(r procResult) time.Duration { return r.OwnCPU })), b.o.n))
	if withServer {
		b.printf(" %s |", perEmail(median(mapRes(ds, func(r procResult) time.Duration { return r.ServerCPU })), b.o.n))
	}
	b.printf("\n\n")
	ratio := rate(dm) / rate(mm)
	last := ds[len(ds)-1]
	b.printf("Intake rate / mbsync rate = **%.2f** (target ≥ 0.5: %s). Last dsr run: %s CPU (dsr and its children), dsr peak RSS %s, PDF children peak %s (at most %d at once).\n\n",
		ratio, verdict(ratio >= 0.5), last.CPU().Round(time.Millisecond),
		mib(last.ParentHWMKB), mib(last.ChildrenKB), last.MaxChildren)
	return nil
}

// perEmail formats d spread over n emails, in milliseconds.
func perEmail(d time.Duration, n int) string {
	return fmt.Sprintf("%.2f ms", d.Seconds()*1000/float64(n))
}

func mapRes(rs []procResult, f func(procResult) time.Duration) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func (b *bench) memory(ctx context.Context) error {
	b.printf("### Peak memory of dsr run --once (SQLite)\n\n")
	b.printf("| mailbox | wall | dsr's own peak (VmHWM) | PDF children, summed peak | dsr + children peak | ru_maxrss (/usr/bin/time -v) |\n|---|---|---|---|---|---|\n")
	var peaks []int64
	for _, n := range []int{b.o.memSmall, b.o.memLarge} {
		snap, size, err := b.snapshot(n, fmt.Sprintf("mem%d", n))
		if err != nil {
			return err
		}
		if err := b.dc.Restore(snap); err != nil {
			return err
		}
		res, err := b.dsrOnce(ctx, samplePeaks, "sqlite", n, 40)
		if err != nil {
			return err
		}
		_ = os.RemoveAll(snap)
		peaks = append(peaks, res.ParentHWMKB)
		logf("memory %d: %s", n, mib(res.ParentHWMKB))
		b.printf("| %d emails (%.0f MB) | %s | %s | %s | %s | %s |\n", n, float64(size)/(1<<20), res.Wall.Round(time.Second),
			mib(res.ParentHWMKB), mib(res.ChildrenKB), mib(res.TotalPeakKB), mib(res.MaxRSSKB))
	}
	// One email with one big attachment; the message limit is raised so
	// that it is read, not quarantined unread as oversize.
	raw, err := bigAttachmentEmail(b.samples[0].Raw, b.o.bigMB<<20, "<big-attachment@bench.example>")
	if err != nil {
		return err
	}
	dir := filepath.Join(b.work, "snap-big")
	if _, err := writeMaildir(dir, 1, func(int) []byte { return raw }, b.dc.MailUID, b.dc.MailGID); err != nil {
		return err
	}
	if err := b.dc.Restore(dir); err != nil {
		return err
	}
	limit := len(raw)>>20 + 5
	res, err := b.dsrOnce(ctx, samplePeaks, "sqlite", 1, limit)
	if err != nil {
		return err
	}
	b.printf("| 1 email, one %d MB PDF (message %.1f MB; max_message_mb = %d) | %s | %s | %s | %s | %s |\n\n", b.o.bigMB,
		float64(len(raw))/(1<<20), limit, res.Wall.Round(time.Millisecond), mib(res.ParentHWMKB), mib(res.ChildrenKB),
		mib(res.TotalPeakKB), mib(res.MaxRSSKB))
	if len(peaks) == 2 {
		growth := float64(peaks[1])/float64(peaks[0]) - 1
		bound := int64(2*b.o.bigMB+64) << 10
		b.printf("%d-email peak vs %d-email peak: %+.1f%% (target within ±10%%: %s). Largest attachment %d MB: dsr's peak %s against the bound 2 × %d MB + 64 MB = %d MB (%s).\n\n",
			b.o.memLarge, b.o.memSmall, 100*growth, verdict(growth <= 0.10 && growth >= -0.10), b.o.bigMB, mib(res.ParentHWMKB), b.o.bigMB, bound>>10, verdict(res.ParentHWMKB <= bound))
	}
	return nil
}

var decidedRe = regexp.MustCompile(`"msg":"message decided"`)

func (b *bench) latency(ctx context.Context) error {
	empty := filepath.Join(b.work, "snap-empty")
	if _, err := writeMaildir(empty, 0, nil, b.dc.MailUID, b.dc.MailGID); err != nil {
		return err
	}
	if err := b.dc.Restore(empty); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(b.work, "daemon-")
	if err != nil {
		return err
	}
	cfg, err := b.dsrConfig(dir, "sqlite", filepath.Join(dir, "dsr.db"), 40)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, b.dsr, "run", "--config", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	decided := make(chan time.Time, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if decidedRe.Match(sc.Bytes()) {
				decided <- time.Now()
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	// The daemon connects, finds the INBOX empty and IDLEs.
	time.Sleep(3 * time.Second)
	c, err := b.dc.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	var lat []time.Duration
	for i := 0; i < b.o.latencyN; i++ {
		s := b.samples[i%len(b.samples)]
		raw := uniqueCopy(s.Raw, fmt.Sprintf("latency-%03d@bench.example", i))
		t0 := time.Now()
		if err := harness.AppendMessage(c, "INBOX", raw); err != nil {
			return err
		}
		select {
		case t1 := <-decided:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(30 * time.Second):
			return errors.New("no decision 30 s after APPEND")
		}
		// Back in IDLE before the next one.
		time.Sleep(500 * time.Millisecond)
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	b.printf("### APPEND to committed decision, daemon IDLE (SQLite, loopback TLS)\n\n")
	b.printf("%d emails appended one at a time (each sample in turn): median **%s**, max %s, min %s (target < 1 s: %s).\n\n",
		len(lat), median(lat).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), sorted[0].Round(time.Millisecond),
		verdict(sorted[len(sorted)-1] < time.Second))
	return nil
}

func (b *bench) check(ctx context.Context) error {
	dir := filepath.Join(b.work, "check")
	pdfDir := filepath.Join(dir, "pdf")
	if err := os.MkdirAll(pdfDir, 0o755); err != nil {
		return err
	}
	p := parser.New(parser.Options{})
	var emls, pdfs []string
	msg := mailbox(b.samples, b.o.checkN, "check")
	for i := 0; i < b.o.checkN; i++ {
		raw := msg(i)
		f := filepath.Join(dir, fmt.Sprintf("%03d.eml", i))
		if err := os.WriteFile(f, raw, 0o644); err != nil {
			return err
		}
		emls = append(emls, f)
		sub, err := p.Parse(ctx, raw)
		if err != nil {
			return err
		}
		for j, a := range sub.Attachments {
			if a.Detected != "pdf" {
				continue
			}
			pf := filepath.Join(pdfDir, fmt.Sprintf("%03d-%d.pdf", i, j))
			if err := os.WriteFile(pf, a.Data, 0o644); err != nil {
				return err
			}
			pdfs = append(pdfs, pf)
		}
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		b.printf("dsr check vs pdftotext: skipped (pdftotext missing: apt-get install poppler-utils)\n\n")
		return nil
	}
	var dt, pt []time.Duration
	for rep := 0; rep < b.o.reps; rep++ {
		res, err := runMeasured(ctx, sampleTimed, dir, b.dsr, append([]string{"check", "--json"}, emls...)...)
		if err != nil {
			return err
		}
		if got := strings.Count(res.Stdout, "\n"); got != len(emls) {
			return fmt.Errorf("dsr check printed %d lines for %d emails", got, len(emls))
		}
		dt = append(dt, res.Wall)
		start := time.Now()
		for _, f := range pdfs {
			c := exec.CommandContext(ctx, "pdftotext", "-q", f, "-")
			c.Stdout = io.Discard
			if err := c.Run(); err != nil {
				return fmt.Errorf("pdftotext %s: %w", f, err)
			}
		}
		pt = append(pt, time.Since(start))
	}
	d, pm := median(dt), median(pt)
	ratio := d.Seconds() / pm.Seconds()
	b.printf("### dsr check over %d saved emails vs pdftotext over their %d PDFs\n\n", len(emls), len(pdfs))
	b.printf("Median of %d: `dsr check --json` %s; `pdftotext` (one run per PDF, in turn) %s. Ratio **%.2f** (target ≤ 0.25: %s).\n\n",
		b.o.reps, d.Round(time.Millisecond), pm.Round(time.Millisecond), ratio, verdict(ratio <= 0.25))
	return nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
