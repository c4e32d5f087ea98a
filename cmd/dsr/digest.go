package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"dsr-intake/config"
	"dsr-intake/intake"
	"dsr-intake/intake/mailbox"
	"dsr-intake/intake/outbox"
	"dsr-intake/intake/schedule"
	"dsr-intake/register/store"
)

// newScheduler builds the digest and reminder scheduler from the
// configuration; health and sender may be nil (dsr digest has neither a
// mailbox watcher nor, without SMTP, a sender).
func newScheduler(cfg *config.Config, db *store.Store, composer *outbox.Composer, health *intake.Health,
	sender *outbox.Sender, log *slog.Logger) (*schedule.Scheduler, error) {
	specs := make([]schedule.DigestSpec, 0, len(cfg.Digests))
	for _, d := range cfg.Digests {
		specs = append(specs, schedule.DigestSpec{Name: d.Name, Schedule: d.Schedule, Recipients: d.Recipients, Sections: d.Sections,
			ReviewOlderThan: d.QueueOlderThan.Duration, Age18Within: d.Turning18Within.Duration, CETRReviewAfter: d.CETRReviewAfter.Duration})
	}
	in := cfg.Intake
	return schedule.NewScheduler(schedule.SchedulerOptions{
		Store: db, Composer: composer, Digests: specs, TimeZone: in.TimeZone, ReviewURL: in.ReviewURL,
		ReminderAfter: in.ReminderAfter.Duration, NoReplyAfter: in.NoReplyAfter.Duration, ReminderSchedule: in.ReminderSchedule,
		MaxRemindersPerRecipient: in.MaxRemindersRcpt, Health: health, Sender: sender, Log: log.With("component", "schedule"),
		Actions: cfg.Actions.DuePolicy(),
	})
}

// composerFor is the Composer the configuration describes.
func composerFor(cfg *config.Config) *outbox.Composer {
	c := &outbox.Composer{From: cfg.SMTP.From, FromName: cfg.SMTP.FromName, SecureDomains: cfg.Intake.SecureDomains,
		SecureTag: cfg.Intake.SecureSubjectTag, Acknowledge: cfg.Intake.Acknowledge}
	if c.From == "" {
		c.From = cfg.IMAP.Username
	}
	return c
}

const digestUsage = `Usage:
  dsr digest preview [--config FILE] [--html] [NAME]
      print what the digest (every digest without NAME) would say now; nothing is sent
  dsr digest send [--config FILE] NAME
      queue the digest now and, when SMTP is configured, send the outbox
`

func cmdDigest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "preview" && args[0] != "send") {
		fmt.Fprint(stderr, digestUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("digest "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (default $DSR_CONFIG)")
	html := false
	if sub == "preview" {
		fs.BoolVar(&html, "html", false, "print the HTML part instead of the plain text")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	names := fs.Args()
	if (sub == "send" && len(names) != 1) || len(names) > 1 {
		fmt.Fprint(stderr, digestUsage)
		return 2
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 2
	}
	log := newLogger(cfg.Log, stderr)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "dsr digest:", err)
		return 1
	}
	defer db.Close()
	composer := composerFor(cfg)
	var sender *outbox.Sender
	if sub == "send" && cfg.SMTP.Addr != "" {
		auth, err := authenticator(ctx, "smtp", cfg.SMTP.Auth, cfg.SMTP.Password, cfg.SMTP.OAuth2)
		if err != nil {
			fmt.Fprintln(stderr, "dsr digest:", err)
			return 1
		}
		sender = &outbox.Sender{Store: db, Composer: composer, Log: log.With("component", "outbox"), Lease: cfg.SMTP.SendLease.Duration,
			Retry: retryPolicy(cfg.SMTP),
			SMTP: outbox.SMTPConfig{Addr: cfg.SMTP.Addr, TLS: mailbox.TLSMode(cfg.SMTP.TLS), CAFile: cfg.SMTP.CAFile,
				ServerName: cfg.SMTP.ServerName, Username: cfg.SMTP.Username, Auth: auth, HeloName: cfg.SMTP.HeloName}}
	}
	sc, err := newScheduler(cfg, db, composer, nil, nil, log)
	if err != nil {
		fmt.Fprintln(stderr, "dsr digest:", err)
		return 2
	}
	if len(names) == 0 {
		names = sc.Digests()
		if len(names) == 0 {
			fmt.Fprintln(stderr, "dsr digest: the configuration has no [[digest]]")
			return 2
		}
	}
	now := time.Now()
	for i, name := range names {
		var mail schedule.DigestMail
		if sub == "preview" {
			mail, err = sc.Preview(ctx, name, now)
		} else {
			mail, err = sc.SendNow(ctx, name, now)
		}
		if errors.Is(err, schedule.ErrUnknownDigest) {
			fmt.Fprintf(stderr, "dsr digest: no digest named %q (the configuration has: %s)\n", name, strings.Join(sc.Digests(), ", "))
			return 2
		}
		if err != nil {
			fmt.Fprintln(stderr, "dsr digest:", err)
			return 1
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if sub == "send" {
			fmt.Fprintf(stdout, "queued %q for %s\n", name, strings.Join(mail.Recipients, ", "))
			continue
		}
		next, _ := sc.Next(name, now)
		fmt.Fprintf(stdout, "To: %s\nSubject: %s\nNext scheduled: %s\n\n", strings.Join(mail.Recipients, ", "), mail.Subject,
			next.Format("Mon 2 Jan 2006 15:04 MST"))
		if html {
			fmt.Fprint(stdout, mail.HTML)
		} else {
			fmt.Fprint(stdout, mail.Text)
		}
	}
	if sender != nil {
		n, err := sender.Drain(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "dsr digest: outbox:", err)
			return 1
		}
		fmt.Fprintf(stdout, "sent %d email(s)\n", n)
	} else if sub == "send" {
		fmt.Fprintln(stdout, "no [smtp] addr: the digest waits in the outbox for dsr run")
	}
	return 0
}
