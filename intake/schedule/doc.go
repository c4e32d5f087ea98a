// Package schedule sends the coordinators' digests and the referrers'
// reminders: the Scheduler runs them on cron schedules, claims each slot in
// the store so two daemons send it once, renders the digests (case
// references and initials only) and queues them and the reminders in the
// outbox.
package schedule
