// Package intake watches the DSR inbox and turns each referral email into
// a committed decision: the Daemon (connect, lock the mailbox, sync,
// reconcile the store with the folders, wait for mail, reconnect), the
// Pipeline (parse, check the sender's Trust,
// assess, apply in the store's one transaction), the intake's Health, and
// its Prometheus metrics and /healthz and /readyz handlers.
//
// A message leaves the inbox only after its decision is committed and
// durable, so a crash at any point means the next run sees it again,
// recognises it by its content hash and only moves it.
//
// The mail plumbing is in intake/mailbox (IMAP), the emails sent are
// intake/outbox's, and the digests and reminders intake/schedule's.
package intake
