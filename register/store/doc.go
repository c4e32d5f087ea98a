// Package store keeps the register: cases, records, the messages received
// (raw, encrypted), the review queue, the outbox, digests and reminders,
// users and sessions, and the audit log, in SQLite or PostgreSQL. Personal
// data is sealed with a keyring (AES-GCM, keys named so they can rotate)
// and found by blind indexes; the schema comes from embedded migrations.
// Apply decides and records one email in one transaction; a mailbox lock
// keeps two daemons from watching one inbox.
package store
