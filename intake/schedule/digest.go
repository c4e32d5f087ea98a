package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dsr-intake/intake"
	"dsr-intake/intake/outbox"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// DigestSpec is one configured digest.
type DigestSpec struct {
	Name string
	// Schedule is a cron spec; without a TZ= prefix it runs in the
	// scheduler's time zone.
	Schedule   string
	Recipients []string
	Sections   []string // DigestSections; empty means all
	// ReviewOlderThan lists review items waiting longer; 0 means 7 days.
	ReviewOlderThan time.Duration
	// Age18Within lists children turning 18 within it; 0 means 183 days.
	Age18Within time.Duration
	// CETRReviewAfter is when a C(E)TR is due again; 0 means 183 days.
	CETRReviewAfter time.Duration
}

// Digest sections, in the order a digest shows them.
const (
	SectionSinceLast = "since_last" // since the last digest: referrals, children added, RAG changes, withdrawals
	SectionRegister  = "register"   // the register by RAG, with change since the last digest
	SectionQueue     = "queue"      // the review queue
	SectionQueries   = "queries"    // queries waiting for replies, reminders, no-reply cases
	SectionTurning18 = "turning_18" // children turning 18
	SectionCETR      = "cetr"       // Red and Blue children without a C(E)TR or past its review
	SectionHealth    = "health"     // the intake's health
	SectionActions   = "actions"    // the register's overdue actions, by case reference
)

// DigestSections lists every section name.
func DigestSections() []string {
	return []string{SectionSinceLast, SectionRegister, SectionQueue, SectionQueries, SectionTurning18, SectionCETR, SectionActions, SectionHealth}
}

func knownSection(s string) bool { return slices.Contains(DigestSections(), s) }

func (d DigestSpec) withDefaults() DigestSpec {
	const day = 24 * time.Hour
	if d.ReviewOlderThan <= 0 {
		d.ReviewOlderThan = 7 * day
	}
	if d.Age18Within <= 0 {
		d.Age18Within = 183 * day
	}
	if d.CETRReviewAfter <= 0 {
		d.CETRReviewAfter = 183 * day
	}
	if len(d.Sections) == 0 {
		d.Sections = DigestSections()
	}
	return d
}

func (d DigestSpec) has(section string) bool { return slices.Contains(d.Sections, section) }

// DigestMail is a digest rendered: the figures it was made from and its
// plain-text and HTML bodies. It carries case references and initials
// only.
type DigestMail struct {
	Name       string
	Recipients []string
	Subject    string
	Text       string
	HTML       string
	Figures    store.DigestFigures
	// PrevRAG is the register by RAG at the previous digest (nil if none).
	PrevRAG map[string]int
	PrevAt  time.Time // when the previous digest (or the baseline) was made; zero if none
	// Overdue are the register's overdue actions (SectionActions).
	Overdue []register.DueAction
}

// Messages are the digest's outbox emails, one per recipient, each with a
// Message-ID of its own.
func (m DigestMail) Messages(c *outbox.Composer) []store.OutboxMessage {
	out := make([]store.OutboxMessage, 0, len(m.Recipients))
	for _, to := range m.Recipients {
		out = append(out, store.OutboxMessage{Kind: "digest", To: to, Subject: m.Subject, Body: m.Text, HTML: m.HTML,
			MessageID: c.NewMessageID()})
	}
	return out
}

// ErrUnknownDigest is returned for a digest name not in the configuration.
var ErrUnknownDigest = errors.New("no digest of that name")

func (s *Scheduler) spec(name string) (DigestSpec, error) {
	for _, d := range s.digests {
		if d.spec.Name == name {
			return d.spec, nil
		}
	}
	return DigestSpec{}, fmt.Errorf("%w: %q", ErrUnknownDigest, name)
}

// Digests lists the configured digests' names.
func (s *Scheduler) Digests() []string {
	out := make([]string, len(s.digests))
	for i, d := range s.digests {
		out[i] = d.spec.Name
	}
	return out
}

// Next is a digest's next slot after t.
func (s *Scheduler) Next(name string, t time.Time) (time.Time, error) {
	for _, d := range s.digests {
		if d.spec.Name == name {
			return d.sched.Next(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownDigest, name)
}

// Preview renders what the named digest would say at now, sending
// nothing.
func (s *Scheduler) Preview(ctx context.Context, name string, now time.Time) (DigestMail, error) {
	spec, err := s.spec(name)
	if err != nil {
		return DigestMail{}, err
	}
	return s.build(ctx, spec, now)
}

// SendNow queues the named digest at once, by hand (dsr digest send). It
// counts as the last digest of its kind for the next one's "since", but
// takes no schedule slot: the next scheduled digest still goes out.
func (s *Scheduler) SendNow(ctx context.Context, name string, now time.Time) (DigestMail, error) {
	spec, err := s.spec(name)
	if err != nil {
		return DigestMail{}, err
	}
	mail, err := s.build(ctx, spec, now)
	if err != nil {
		return DigestMail{}, err
	}
	claimed, err := s.opt.Store.ClaimDigest(ctx, store.DigestClaim{Name: name, Slot: now, Kind: store.DigestManual,
		RAG: mail.Figures.ByRAG, Messages: mail.Messages(s.opt.Composer)})
	if err != nil {
		return DigestMail{}, err
	}
	if !claimed {
		return DigestMail{}, fmt.Errorf("digest %q: a digest was already queued at this instant", name)
	}
	if s.opt.Sender != nil {
		s.opt.Sender.Kick()
	}
	return mail, nil
}

// build gathers the figures since the digest's last run and renders them.
func (s *Scheduler) build(ctx context.Context, spec DigestSpec, now time.Time) (DigestMail, error) {
	prev, ok, err := s.opt.Store.LastDigestRun(ctx, spec.Name)
	if err != nil {
		return DigestMail{}, err
	}
	since := now.Add(-7 * 24 * time.Hour)
	if ok && prev.CreatedAt.Before(now) {
		since = prev.CreatedAt
	}
	f, err := s.opt.Store.DigestFigures(ctx, store.DigestQuery{Since: since, Until: now, Today: now.In(s.loc),
		ReviewOlderThan: spec.ReviewOlderThan, Age18Within: spec.Age18Within, CETRReviewAfter: spec.CETRReviewAfter})
	if err != nil {
		return DigestMail{}, err
	}
	m := DigestMail{Name: spec.Name, Recipients: slices.Clone(spec.Recipients), Figures: f}
	if spec.has(SectionActions) {
		if m.Overdue, err = s.overdue(ctx, now); err != nil {
			return DigestMail{}, err
		}
	}
	if ok {
		m.PrevRAG, m.PrevAt = prev.RAG, prev.CreatedAt
	}
	var health *intake.HealthSnapshot
	if s.opt.Health != nil {
		h := s.opt.Health.Snapshot()
		health = &h
	}
	r := digestRenderer{spec: spec, loc: s.loc, now: now, reviewURL: s.opt.ReviewURL, mail: &m, health: health}
	m.Subject = fmt.Sprintf("Bromley DSR digest: %s, %s", spec.Name, now.In(s.loc).Format("Monday 2 January 2006"))
	if m.Text, m.HTML, err = r.render(); err != nil {
		return DigestMail{}, err
	}
	return m, nil
}

// dotted writes initials as "L.C.".
func dotted(initials string) string {
	if initials == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range initials {
		b.WriteRune(r)
		b.WriteByte('.')
	}
	return b.String()
}
