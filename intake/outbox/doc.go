// Package outbox writes and sends the intake's emails: the Composer turns
// decisions into queries and acknowledgements (kind, plain, threaded to
// the referrer's email, without names outside the secure domains) and
// renders them as RFC 5322; the Sender drains the store's outbox over
// SMTP, exactly once within SMTP's limits (and, with a SentFolder, where
// the mail service files what it sent), retrying for a RetryPolicy's
// lifetime and holding queries over a loop limit to the next day; SendMail
// submits one message (STARTTLS or implicit TLS), and IsPermanent tells a
// rejection (5xx) from a failure worth retrying.
package outbox
