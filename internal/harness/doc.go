// Package harness is the tests' real servers and browser: a private
// Dovecot (NewDovecot for tests, StartDovecot for cmd/dsrbench), go-imap's
// in-memory IMAP server (MemIMAP), an SMTP sink (go-smtp), a throwaway
// PKI, a PostgreSQL database per test (PostgresDB), and headless Chromium
// (NewBrowser). It is for tests and the bench only.
package harness
