package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"dsr-intake/intake"
	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
	"dsr-intake/review"
)

// demo is everything `dsr demo` runs in one process: an in-memory IMAP
// server holding the sample referrals, an SMTP sink, a register in a
// temporary folder, the daemon and the coordinators' pages.
type demo struct {
	dir      string
	imapAddr string
	smtpAddr string
	webAddr  string
	user     string
	password string
	store    *store.Store
	daemon   *intake.Daemon
	sender   *outbox.Sender
	web      *http.Server
	// metrics serves /metrics and the detailed health on a loopback port
	// of its own, as web.metrics_addr does for dsr run.
	metrics     *http.Server
	metricsAddr string
	sink        *demoSink
	tally       *demoTally
	imapSrv     *imapserver.Server
	smtpSrv     *smtp.Server
	stop        []func()
	// seeded says what the demo register holds before the inbox is read.
	seeded string
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	samples := fs.String("samples", filepath.Join("testdata", "samples"), "`DIR` of sample emails (*/message.eml or *.eml)")
	addr := fs.String("addr", "127.0.0.1:8080", "`ADDR` for the review pages")
	verbose := fs.Bool("v", false, "log everything the daemon does")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	d, err := startDemo(ctx, *samples, *addr, stdout, logger)
	if err != nil {
		fmt.Fprintln(stderr, "dsr demo:", err)
		return 1
	}
	defer d.Close()
	fmt.Fprintf(stdout, `
dsr-intake demo
  review pages:  http://%s/
  metrics:       http://%s/metrics (and /healthz, /readyz in detail)
  sign in as:    %s
  password:      %s
  IMAP inbox:    %s (in memory; the samples are being processed)
  SMTP sink:     %s (queries the intake sends are printed here)
  register:      %s (removed on exit)
  %s

Press Ctrl-C to stop.
`, d.webAddr, d.metricsAddr, d.user, d.password, d.imapAddr, d.smtpAddr, d.dir, d.seeded)
	select {
	case <-d.tally.done:
		fmt.Fprintf(stdout, "\n%s\n", d.tally.summary())
		<-ctx.Done()
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "\nstopping the demo")
	return 0
}

// startDemo starts the demo's servers and the daemon; Close stops them
// and removes the temporary folder.
func startDemo(ctx context.Context, samplesDir, webAddr string, out io.Writer, logger *slog.Logger) (_ *demo, err error) {
	emails, err := demoEmails(samplesDir)
	if err != nil {
		return nil, err
	}
	d := &demo{}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.dir, err = os.MkdirTemp("", "dsr-demo-"); err != nil {
		return nil, err
	}
	keys, err := store.GenerateKeyring()
	if err != nil {
		return nil, err
	}
	clock := &demoClock{}
	if d.store, err = store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(d.dir, "dsr.db"), Keys: keys, Logger: logger,
		Now: clock.Now}); err != nil {
		return nil, err
	}
	// Children across the four ratings, referred over 12 weeks, with
	// actions done, due and overdue: the register a DSR runs on.
	if d.seeded, err = seedDemoRegister(ctx, d.store, clock); err != nil {
		return nil, err
	}

	// The inbox.
	const mailboxUser = "bromley.dsr@demo.nhs.net"
	imapPassword := randomPassword()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(mailboxUser, imapPassword)
	if err := u.Create("INBOX", nil); err != nil {
		return nil, err
	}
	for _, raw := range emails {
		if _, err := u.Append("INBOX", bytesLiteral(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
			return nil, fmt.Errorf("fill the demo inbox: %w", err)
		}
	}
	mem.AddUser(u)
	d.imapSrv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // loopback only, and only for the demo
		Logger:       log.New(io.Discard, "", 0),
	})
	imapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go d.imapSrv.Serve(imapLn)
	d.imapAddr = imapLn.Addr().String()

	// The SMTP sink.
	d.sink = &demoSink{out: out}
	d.smtpSrv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &demoSession{sink: d.sink}, nil }))
	d.smtpSrv.Domain = "localhost"
	d.smtpSrv.AllowInsecureAuth = true
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go d.smtpSrv.Serve(smtpLn)
	d.smtpAddr = smtpLn.Addr().String()

	// The intake.
	composer := &outbox.Composer{From: mailboxUser, FromName: "Bromley DSR (demo)", SecureDomains: []string{"nhs.net", "gov.uk"}}
	p := parser.New(parser.Options{Logger: logger})
	pipeline := &intake.Pipeline{Parser: p, Store: d.store, Composer: composer, Log: logger.With("component", "pipeline")}
	health := &intake.Health{}
	d.sender = &outbox.Sender{Store: d.store, Composer: composer, SMTP: outbox.SMTPConfig{Addr: d.smtpAddr, TLS: mailbox.TLSInsecure},
		MaxQueriesPerCase: 5, MaxQueriesPerSender: 20, Log: logger.With("component", "outbox")}
	d.daemon = &intake.Daemon{
		IMAP: mailbox.IMAPConfig{Addr: d.imapAddr, TLS: mailbox.TLSInsecure, Username: mailboxUser, Auth: mailbox.PasswordAuth(imapPassword),
			Logger: logger.With("component", "imap"), PollInterval: 5 * time.Second},
		Pipeline: pipeline, Sender: d.sender, Store: d.store, Health: health, MaxIdle: 20 * time.Second,
		Metrics: intake.NewMetrics(health, d.store), Log: logger.With("component", "daemon"),
	}
	d.tally = &demoTally{total: len(emails), counts: map[register.Outcome]int{}, done: make(chan struct{})}
	d.daemon.OnProcessed = d.tally.add

	// The pages, with a coordinator account.
	d.user, d.password = "demo", randomPassword()
	hash, err := review.HashPassword(d.password)
	if err != nil {
		return nil, err
	}
	if _, err := d.store.AddUser(ctx, d.user, "admin", hash, "demo"); err != nil {
		return nil, err
	}
	pages, err := review.New(review.Options{Store: d.store, Logger: logger, SecureCookie: false, Addr: webAddr, Composer: composer, Parser: p,
		Pipeline: pipeline, Health: health.Snapshot})
	if err != nil {
		return nil, err
	}
	webLn, err := net.Listen("tcp", webAddr)
	if err != nil {
		if webLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	d.webAddr = webLn.Addr().String()
	ops := newOperations(d.daemon, d.store, time.Now(), "")
	d.web = serveHTTP(webLn, pagesHandler(pages, ops), logger)
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.metricsAddr = metricsLn.Addr().String()
	d.metrics = serveHTTP(metricsLn, metricsHandler(ops), logger)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = d.daemon.Run(runCtx) }()
	go func() { defer wg.Done(); d.sender.Run(runCtx, 2*time.Second) }()
	d.stop = append(d.stop, func() { cancel(); wg.Wait() })
	return d, nil
}

// Close stops everything and leaves nothing behind.
func (d *demo) Close() {
	for i := len(d.stop) - 1; i >= 0; i-- {
		d.stop[i]()
	}
	for _, srv := range []*http.Server{d.web, d.metrics} {
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
		}
	}
	if d.smtpSrv != nil {
		_ = d.smtpSrv.Close()
	}
	if d.imapSrv != nil {
		_ = d.imapSrv.Close()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// demoEmails reads the sample emails: DIR/*/message.eml and DIR/*.eml.
func demoEmails(dir string) ([][]byte, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "message.eml"))
	more, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	files = append(files, more...)
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no sample emails in %s: run dsr demo from the repository's top folder (make demo), or give --samples DIR", dir)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func randomPassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type literal struct {
	*bytes.Reader
}

func (l literal) Size() int64 { return int64(l.Reader.Len()) }

func bytesLiteral(b []byte) imap.LiteralReader { return literal{bytes.NewReader(b)} }

// demoTally counts what the intake decided about the demo's inbox, so the
// demo can say so once every email has been through it.
type demoTally struct {
	mu     sync.Mutex
	total  int
	n      int
	counts map[register.Outcome]int
	done   chan struct{} // closed when total emails have been decided
}

func (t *demoTally) add(o register.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[o]++
	t.n++
	if t.n == t.total {
		close(t.done)
	}
}

func (t *demoTally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return demoSummary(t.counts)
}

// demoSummary says what the intake decided, in the outcomes' order, the
// ones that did not happen left out: "demo inbox processed: 8 emails — 3
// registered, 2 queried, 2 for review, 1 ignored".
func demoSummary(counts map[register.Outcome]int) string {
	words := []struct {
		o    register.Outcome
		word string
	}{{register.OutcomeRegister, "registered"}, {register.OutcomeQuery, "queried"}, {register.OutcomeReview, "for review"},
		{register.OutcomeIgnore, "ignored"}, {"quarantined", "quarantined"}}
	total := 0
	var parts []string
	seen := map[register.Outcome]bool{}
	for _, w := range words {
		seen[w.o] = true
		if n := counts[w.o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, w.word))
		}
	}
	var other []string
	for o, n := range counts {
		total += n
		if !seen[o] && n > 0 {
			other = append(other, fmt.Sprintf("%d %s", n, o))
		}
	}
	sort.Strings(other)
	parts = append(parts, other...)
	emails := "emails"
	if total == 1 {
		emails = "email"
	}
	return fmt.Sprintf("demo inbox processed: %d %s — %s", total, emails, strings.Join(parts, ", "))
}

// demoSink prints what the intake sends and keeps it for the pages' tests.
type demoSink struct {
	mu   sync.Mutex
	out  io.Writer
	msgs [][]byte
}

func (s *demoSink) add(to []string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, data)
	subject, body := "", ""
	if mr, err := mail.CreateReader(bytes.NewReader(data)); err == nil {
		subject, _ = mr.Header.Subject()
		if p, err := mr.NextPart(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(p.Body, 4096))
			body = string(b)
		}
	}
	fmt.Fprintf(s.out, "\n--- email sent to %s: %s\n%s\n---\n", strings.Join(to, ", "), subject, strings.TrimSpace(body))
}

func (s *demoSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type demoSession struct {
	sink *demoSink
	to   []string
}

func (s *demoSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *demoSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *demoSession) Data(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 20<<20))
	if err != nil {
		return err
	}
	s.sink.add(s.to, b)
	return nil
}
func (s *demoSession) Reset()        { s.to = nil }
func (s *demoSession) Logout() error { return nil }
