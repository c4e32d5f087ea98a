package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"dsr-intake/config"
	"dsr-intake/intake"
	"dsr-intake/intake/outbox"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// SchedulerOptions configures the digests and reminders.
type SchedulerOptions struct {
	Store    *store.Store
	Composer *outbox.Composer // From address and Message-IDs
	Digests  []DigestSpec
	// TimeZone is where schedules without a TZ= prefix run and where
	// dates in digests are written; "" means Europe/London.
	TimeZone  string
	ReviewURL string // the review pages, linked from every digest
	// ReminderAfter is how long a query waits for a reply before its one
	// reminder; zero turns reminders (and no-reply escalation) off.
	ReminderAfter time.Duration
	// NoReplyAfter, counted from the query like ReminderAfter, is when an
	// unanswered case goes to review as no_reply; the escalation waits at
	// least NoReplyAfter-ReminderAfter after the reminder itself.
	NoReplyAfter time.Duration
	// ReminderSchedule is when reminders go out (a cron spec); "" means
	// 10:00 on weekdays.
	ReminderSchedule string
	// MaxRemindersPerRecipient caps reminders to one address in 24 hours;
	// zero means no cap.
	MaxRemindersPerRecipient int
	Health                   *intake.Health // optional: the digest's intake health
	Sender                   *outbox.Sender // optional: kicked when mail is queued
	Now                      func() time.Time
	Log                      *slog.Logger

	// Actions is when the register's actions fall due, for the digest's
	// overdue list; zero parts take the national policy's defaults.
	Actions register.DuePolicy
}

// DefaultReminderSchedule sends reminders in office hours.
const DefaultReminderSchedule = "0 10 * * 1-5"

// Scheduler sends digests at their slots, exactly once per slot across
// restarts and daemons sharing a database, and reminders for unanswered
// queries. Tick does the work due at an instant; Run drives Tick from cron
// in production, and tests call Tick with a clock of their own.
type Scheduler struct {
	opt       SchedulerOptions
	loc       *time.Location
	digests   []scheduledDigest
	reminders cron.Schedule
	log       *slog.Logger

	mu        sync.Mutex // one Tick at a time
	lastSweep time.Time  // the last reminder sweep (in memory: sweeps are idempotent)
}

type scheduledDigest struct {
	spec  DigestSpec
	sched cron.Schedule
}

// NewScheduler checks the digests' schedules and sections.
func NewScheduler(o SchedulerOptions) (*Scheduler, error) {
	if o.Store == nil || o.Composer == nil {
		return nil, errors.New("scheduler: a store and a composer are required")
	}
	if o.TimeZone == "" {
		o.TimeZone = "Europe/London"
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("scheduler: time zone %q: %w", o.TimeZone, err)
	}
	s := &Scheduler{opt: o, loc: loc, log: o.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	for i, d := range o.Digests {
		if d.Name == "" {
			return nil, fmt.Errorf("digest %d: no name", i)
		}
		if seen[d.Name] {
			// The name is the slot ledger's key: two digests of one name
			// would take each other's slots.
			return nil, fmt.Errorf("digest %q: the name is used twice", d.Name)
		}
		seen[d.Name] = true
		sched, err := config.ParseSchedule(d.Schedule, o.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("digest %q: %w", d.Name, err)
		}
		if len(d.Recipients) == 0 {
			return nil, fmt.Errorf("digest %q: no recipients", d.Name)
		}
		for _, sec := range d.Sections {
			if !knownSection(sec) {
				return nil, fmt.Errorf("digest %q: unknown section %q (known: %s)", d.Name, sec, strings.Join(DigestSections(), ", "))
			}
		}
		s.digests = append(s.digests, scheduledDigest{spec: d.withDefaults(), sched: sched})
	}
	if o.ReminderAfter > 0 {
		spec := o.ReminderSchedule
		if spec == "" {
			spec = DefaultReminderSchedule
		}
		if s.reminders, err = config.ParseSchedule(spec, o.TimeZone); err != nil {
			return nil, fmt.Errorf("reminder schedule: %w", err)
		}
	}
	return s, nil
}

// maxCatchUp bounds how far back a catch-up looks for the latest missed
// slot, so a schedule of every minute after a year down stays cheap.
const maxCatchUp = 400 * 24 * time.Hour

// dueSlot is the latest slot of sched after last and at or before now, as
// a UTC instant; ok is false when none is due. Missed slots collapse into
// the latest one: a digest is sent once after downtime, not once per
// missed slot. A slot whose wall-clock time repeats the one before it
// (01:30 twice when the clocks go back) is not a new slot.
func dueSlot(sched cron.Schedule, last, now time.Time) (slot time.Time, ok bool) {
	from := last
	if now.Sub(from) > maxCatchUp {
		from = now.Add(-maxCatchUp)
	}
	loc := time.UTC
	if ss, isSpec := sched.(*cron.SpecSchedule); isSpec && ss.Location != nil {
		loc = ss.Location
	}
	wall := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") }
	prev := wall(last)
	for t := sched.Next(from); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		if w := wall(t); w != prev {
			slot, ok, prev = t.UTC(), true, w
		}
	}
	return slot, ok
}

// Tick does what is due at now: each digest's latest unsent slot (so the
// first Tick after a restart catches up, once), and the reminder sweep
// when a reminder slot has passed since the last one. A digest seen for
// the first time records a baseline instead: slots before it are not sent.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	queued := false
	for _, d := range s.digests {
		sent, err := s.tickDigest(ctx, d, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest %q: %w", d.spec.Name, err))
		}
		queued = queued || sent
	}
	if s.reminders != nil {
		switch {
		case s.lastSweep.IsZero():
			s.lastSweep = now
		case dueAfter(s.reminders, s.lastSweep, now):
			rep, err := s.Reminders(ctx, now)
			if err != nil {
				errs = append(errs, err)
			} else {
				s.lastSweep = now
			}
			queued = queued || rep.Queued > 0
		}
	}
	if queued && s.opt.Sender != nil {
		s.opt.Sender.Kick()
	}
	return errors.Join(errs...)
}

func dueAfter(sched cron.Schedule, last, now time.Time) bool {
	next := sched.Next(last)
	return !next.IsZero() && !next.After(now)
}

func (s *Scheduler) tickDigest(ctx context.Context, d scheduledDigest, now time.Time) (bool, error) {
	last, ok, err := s.opt.Store.LastDigestRun(ctx, d.spec.Name, store.DigestScheduled, store.DigestBaseline)
	if err != nil {
		return false, err
	}
	if !ok {
		f, err := s.opt.Store.DigestFigures(ctx, store.DigestQuery{Since: now, Until: now, Today: now.In(s.loc)})
		if err != nil {
			return false, err
		}
		if _, err := s.opt.Store.ClaimDigest(ctx, store.DigestClaim{Name: d.spec.Name, Slot: now, Kind: store.DigestBaseline, RAG: f.ByRAG}); err != nil {
			return false, err
		}
		s.log.Info("digest baseline recorded", "digest", d.spec.Name, "next", d.sched.Next(now))
		return false, nil
	}
	slot, due := dueSlot(d.sched, last.Slot, now)
	if !due {
		return false, nil
	}
	mail, err := s.build(ctx, d.spec, now)
	if err != nil {
		return false, err
	}
	claimed, err := s.opt.Store.ClaimDigest(ctx, store.DigestClaim{Name: d.spec.Name, Slot: slot, Kind: store.DigestScheduled,
		RAG: mail.Figures.ByRAG, Messages: mail.Messages(s.opt.Composer)})
	if err != nil {
		return false, err
	}
	if claimed {
		s.log.Info("digest queued", "digest", d.spec.Name, "slot", slot, "recipients", len(d.spec.Recipients))
	}
	return claimed, nil
}

// Run sends digests and reminders on their schedules until ctx ends. It
// first catches up on what was missed while no daemon ran.
func (s *Scheduler) Run(ctx context.Context) error {
	l := cronLogger{s.log}
	c := cron.New(cron.WithLocation(s.loc), cron.WithLogger(l),
		// Recover outermost: cron has no panic recovery of its own.
		cron.WithChain(cron.Recover(l), cron.SkipIfStillRunning(l)))
	job := cron.FuncJob(func() {
		if err := s.Tick(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.Error("scheduled work", "err", err)
		}
	})
	for _, d := range s.digests {
		c.Schedule(d.sched, job)
	}
	if s.reminders != nil {
		c.Schedule(s.reminders, job)
	}
	if err := s.Tick(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.log.Error("catch-up at start", "err", err)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

func (s *Scheduler) now() time.Time {
	if s.opt.Now != nil {
		return s.opt.Now()
	}
	return time.Now()
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
