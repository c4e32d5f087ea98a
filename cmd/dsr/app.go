package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"dsr-intake/config"
	"dsr-intake/intake"
	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/register/store"
	"dsr-intake/review"
)

// app is the daemon's parts, wired from a configuration.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	store  *store.Store
	daemon *intake.Daemon
	sender *outbox.Sender
	pages  http.Handler // the review pages with /healthz, /readyz (and /metrics behind a token)
	// metrics is /metrics with the detailed health, for web.metrics_addr.
	metrics http.Handler
	// composer writes the intake's emails; shared by the pipeline, the
	// sender, the pages and the scheduler.
	composer *outbox.Composer
}

// newLogger writes log/slog records as text or JSON. Records carry case
// references, never personal values.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func keyringSpec(k config.Keys) (string, error) {
	switch {
	case k.File != "":
		return "file:" + k.File, nil
	case k.Env != "":
		return "env:" + k.Env, nil
	}
	return "", errors.New(`keys: set file = "/path/to/keyring" or env = "DSR_KEYS" (create one with dsr keys init)`)
}

// openStore opens (and migrates) the register the configuration names.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	spec, err := keyringSpec(cfg.Keys)
	if err != nil {
		return nil, err
	}
	keys, err := store.LoadKeyring(spec)
	if err != nil {
		return nil, err
	}
	dsn := cfg.Database.DSN
	if cfg.Database.DSNSecret.IsSet() {
		if dsn, err = cfg.Database.DSNSecret.Read(); err != nil {
			return nil, fmt.Errorf("database.dsn_secret: %w", err)
		}
	}
	return store.Open(ctx, store.Options{Driver: cfg.Database.Driver, DSN: dsn, Keys: keys, Logger: log})
}

// authenticator builds the IMAP or SMTP login from its section.
func authenticator(ctx context.Context, section, kind string, password config.Secret, o config.OAuth2) (mailbox.Authenticator, error) {
	switch kind {
	case "none":
		return nil, nil
	case "password":
		pw, err := password.Read()
		if err != nil {
			return nil, fmt.Errorf("%s.password: %w", section, err)
		}
		return mailbox.PasswordAuth(pw), nil
	case "xoauth2":
		ts, err := tokenSource(ctx, section, o)
		if err != nil {
			return nil, err
		}
		return mailbox.XOAuth2Auth(ts), nil
	}
	return nil, fmt.Errorf("%s.auth: %q is not password, xoauth2 or none", section, kind)
}

func tokenSource(ctx context.Context, section string, o config.OAuth2) (oauth2.TokenSource, error) {
	if len(o.Command) > 0 {
		return mailbox.CommandTokenSource(o.Command), nil
	}
	mo := mailbox.MicrosoftOAuth{Tenant: o.Tenant, ClientID: o.ClientID, TokenURL: o.TokenURL, Scopes: o.Scopes}
	if o.RefreshToken.IsSet() {
		rt, err := o.RefreshToken.Read()
		if err != nil {
			return nil, fmt.Errorf("%s.oauth2.refresh_token: %w", section, err)
		}
		mo.RefreshToken = rt
	}
	if o.ClientSecret.IsSet() {
		cs, err := o.ClientSecret.Read()
		if err != nil {
			return nil, fmt.Errorf("%s.oauth2.client_secret: %w", section, err)
		}
		mo.ClientSecret = cs
	}
	ts, err := mailbox.MicrosoftTokenSource(ctx, mo)
	if err != nil {
		return nil, fmt.Errorf("%s.oauth2: %w", section, err)
	}
	return ts, nil
}

// newApp wires the daemon from a checked configuration, with the review
// pages (and /metrics, /healthz) when web is set.
func newApp(ctx context.Context, cfg *config.Config, logw io.Writer, web bool) (*app, error) {
	log := newLogger(cfg.Log, logw)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: db}
	ok := false
	defer func() {
		if !ok {
			db.Close()
		}
	}()
	p, why, err := newParser(cfg)
	if err != nil {
		return nil, err
	}
	if why != "" {
		log.Warn("scanned forms will not be read: they stay unreadable attachments for a coordinator", "why", why)
	}
	composer := composerFor(cfg)
	a.composer = composer
	pipeline := &intake.Pipeline{
		Parser: p, Store: db, Composer: composer,
		Trust: intake.Trust{AuthServID: cfg.Intake.AuthServID, AllowDomains: cfg.Intake.AllowDomains},
		Log:   log.With("component", "pipeline"),
	}
	imapAuth, err := authenticator(ctx, "imap", cfg.IMAP.Auth, cfg.IMAP.Password, cfg.IMAP.OAuth2)
	if err != nil {
		return nil, err
	}
	f := cfg.IMAP.Folders
	a.daemon = &intake.Daemon{
		IMAP: mailbox.IMAPConfig{
			Addr: cfg.IMAP.Addr, TLS: mailbox.TLSMode(cfg.IMAP.TLS), CAFile: cfg.IMAP.CAFile, ServerName: cfg.IMAP.ServerName,
			Username: cfg.IMAP.Username, Auth: imapAuth, Mailbox: cfg.IMAP.Mailbox,
			Folders: mailbox.Folders{Processed: f.Processed, Queried: f.Queried, Review: f.Review, Ignored: f.Ignored, Quarantine: f.Quarantine},
			Logger:  log.With("component", "imap"),
		},
		Pipeline: pipeline, Store: db,
		MaxMessageBytes: int64(cfg.Limits.MaxMessageMB) << 20, MaxAttempts: cfg.Intake.MaxAttempts,
		MaxIdle: cfg.Intake.MaxIdle.Duration, Workers: cfg.Intake.Workers, Poll: cfg.Intake.PollSchedule(), Watchdog: cfg.Intake.Watchdog.Duration,
		AttachmentBound: p.AttachmentBound(),
		Log:             log.With("component", "daemon"), Health: &intake.Health{},
	}
	a.daemon.Metrics = intake.NewMetrics(a.daemon.Health, db)
	if cfg.SMTP.Addr != "" {
		smtpAuth, err := authenticator(ctx, "smtp", cfg.SMTP.Auth, cfg.SMTP.Password, cfg.SMTP.OAuth2)
		if err != nil {
			return nil, err
		}
		a.sender = &outbox.Sender{
			Store: db, Composer: composer,
			SMTP: outbox.SMTPConfig{Addr: cfg.SMTP.Addr, TLS: mailbox.TLSMode(cfg.SMTP.TLS), CAFile: cfg.SMTP.CAFile,
				ServerName: cfg.SMTP.ServerName, Username: cfg.SMTP.Username, Auth: smtpAuth, HeloName: cfg.SMTP.HeloName},
			Lease: cfg.SMTP.SendLease.Duration, Retry: retryPolicy(cfg.SMTP),
			MaxQueriesPerCase: cfg.Intake.MaxQueriesCase, MaxQueriesPerSender: cfg.Intake.MaxQueriesSender,
			Log: log.With("component", "outbox"),
		}
		if cfg.SMTP.SentFolder != "" {
			a.sender.Sent = outbox.SentFolder{IMAP: a.daemon.IMAP, Folder: cfg.SMTP.SentFolder}
		}
		a.daemon.Sender = a.sender
	}
	if web {
		pages, err := review.New(review.Options{Store: db, Logger: log.With("component", "web"),
			SecureCookie: cfg.Web.SecureCookie == nil || *cfg.Web.SecureCookie, Addr: cfg.Web.Addr,
			IdleTimeout: cfg.Web.IdleTimeout.Duration, MaxSession: cfg.Web.MaxSession.Duration,
			Health: a.daemon.Health.Snapshot, Composer: composer, Parser: p, Pipeline: pipeline,
			Signin: store.SigninLimits{Window: cfg.Web.SigninWindow.Duration, ClientFailures: cfg.Web.SigninClientFailures,
				AccountFailures: cfg.Web.SigninAccountFailures, Delay: cfg.Web.SigninDelay.Duration, MaxDelay: cfg.Web.SigninMaxDelay.Duration},
			PasswordChecks: cfg.Web.PasswordChecks, TrustedProxies: cfg.Web.TrustedProxies, RequireTOTP: cfg.Web.RequireTOTP,
			Actions: review.ActionOptions{Policy: cfg.Actions.DuePolicy(), ViewersExport: cfg.Actions.Export == "viewer",
				NotEligibleHelp: cfg.Actions.NotEligibleHelp}})
		if err != nil {
			return nil, err
		}
		token := ""
		if cfg.Web.MetricsToken.IsSet() {
			if token, err = cfg.Web.MetricsToken.Read(); err != nil {
				return nil, fmt.Errorf("web.metrics_token: %w", err)
			}
		}
		warnMissingTOTP(ctx, db, cfg.Web.RequireTOTP, log)
		ops := newOperations(a.daemon, db, time.Now(), token)
		a.pages = pagesHandler(pages, ops)
		a.metrics = metricsHandler(ops)
	}
	ok = true
	return a, nil
}

func (a *app) Close() error { return a.store.Close() }

// loadConfig reads the configuration, or says how to get one.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	if path == "" {
		path = os.Getenv("DSR_CONFIG")
	}
	if path == "" {
		fmt.Fprintln(stderr, "dsr: no configuration: use --config FILE or set DSR_CONFIG (see dsr.example.toml)")
		return nil, false
	}
	cfg, err := config.Load(path)
	if err != nil {
		var p config.Problems
		if errors.As(err, &p) {
			fmt.Fprintf(stderr, "dsr: %s has %d problem(s):\n  %s\n", path, len(p), strings.Join(p, "\n  "))
			return nil, false
		}
		fmt.Fprintln(stderr, "dsr:", err)
		return nil, false
	}
	return cfg, true
}

// retryPolicy is the outbox's retry policy as configured.
func retryPolicy(s config.SMTP) outbox.RetryPolicy {
	return outbox.RetryPolicy{Initial: s.RetryInitial.Duration, Ceiling: s.RetryCeiling.Duration, Lifetime: s.RetryLifetime.Duration}
}
