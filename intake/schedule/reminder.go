package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dsr-intake/register/store"
)

// ReminderReport is what one reminder sweep did.
type ReminderReport struct {
	Queued  int // reminders written to the outbox
	Capped  int // held back by the per-address cap (tried again next sweep)
	NoReply int // cases sent to review as no_reply
}

// Reminders sends the one polite reminder of every query unanswered for
// ReminderAfter, threaded with the query, and sends to review as no_reply
// the cases still unanswered NoReplyAfter after the query (and at least
// NoReplyAfter-ReminderAfter after the reminder). Both are idempotent per
// query, in the store, so two daemons sweeping at once do each once.
func (s *Scheduler) Reminders(ctx context.Context, now time.Time) (ReminderReport, error) {
	var rep ReminderReport
	after, noReply := s.opt.ReminderAfter, s.opt.NoReplyAfter
	if after <= 0 {
		return rep, nil
	}
	pending, err := s.opt.Store.PendingQueries(ctx, now.Add(-after))
	if err != nil {
		return rep, fmt.Errorf("reminders: %w", err)
	}
	var errs []error
	for _, q := range pending {
		switch {
		case q.RemindedAt == nil:
			res, err := s.opt.Store.AddReminder(ctx, q.QueryID, s.reminder(q, now), s.opt.MaxRemindersPerRecipient)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch res {
			case store.ReminderQueued:
				rep.Queued++
				s.log.Info("reminder queued", "case", q.CaseRef)
			case store.ReminderCapped:
				rep.Capped++
				s.log.Warn("reminder held back: the address had its reminders for the day", "case", q.CaseRef)
			}
		case noReply > after && q.NoReplyAt == nil && !now.Before(q.SentAt.Add(noReply)) &&
			!now.Before(q.RemindedAt.Add(noReply-after)):
			msg := fmt.Sprintf("The referrer has not replied to our query of %s or to the reminder of %s. A coordinator decides what happens next.",
				s.date(q.SentAt), s.date(*q.RemindedAt))
			ok, err := s.opt.Store.NoReply(ctx, q.QueryID, msg)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				rep.NoReply++
				s.log.Info("case sent to review: no reply", "case", q.CaseRef)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("reminders: %w", err)
	}
	return rep, nil
}

func (s *Scheduler) date(t time.Time) string { return t.In(s.loc).Format("2 January 2006") }

// reminder is a query's reminder: short, kind, threaded with the query and
// carrying the case reference only, never the child's details (the query
// itself holds what is missing).
func (s *Scheduler) reminder(q store.PendingQuery, now time.Time) store.OutboxMessage {
	subject := q.Subject
	if !strings.Contains(subject, "Reminder:") {
		subject = addReminderPrefix(subject, s.opt.Composer.SecureTag)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nOn %s we wrote to you about referral %s to the Bromley Dynamic Support Register (DSR), ", s.date(q.SentAt), q.CaseRef)
	b.WriteString("asking for a little more information before we can go ahead. We have not had a reply yet, so this is a gentle reminder.\n\n")
	fmt.Fprintf(&b, "Please reply to our earlier email (or to this one) with the missing or corrected form attached, and keep %s in the subject so it joins the referral.\n\n", q.CaseRef)
	if s.opt.NoReplyAfter > s.opt.ReminderAfter {
		fmt.Fprintf(&b, "If we have not heard from you by %s, a DSR coordinator will look at the referral and decide what to do next.\n\n",
			s.date(now.Add(s.opt.NoReplyAfter-s.opt.ReminderAfter)))
	}
	b.WriteString("If you have already replied, or the referral is no longer needed, please let us know.\n\nBromley DSR\n")
	refs := append(append([]string{}, q.References...), q.MessageID)
	return store.OutboxMessage{Kind: "reminder", To: q.To, Subject: subject, Body: b.String(),
		MessageID: s.opt.Composer.NewMessageID(), InReplyTo: q.MessageID, References: refs, CaseID: q.CaseID}
}

// addReminderPrefix puts "Reminder:" after a secure tag the query's
// subject starts with, so NHSmail still sees the tag first.
func addReminderPrefix(subject, tag string) string {
	if tag != "" && strings.HasPrefix(subject, tag) {
		return tag + " Reminder: " + strings.TrimSpace(strings.TrimPrefix(subject, tag))
	}
	return "Reminder: " + subject
}
