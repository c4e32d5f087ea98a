// Package mailbox is the intake's IMAP client, a small API of our own so
// that the beta go-imap client touches as little of the code as possible:
//
//   - DialIMAP opens a verified TLS (implicit or STARTTLS) connection, logs in
//     with a password or OAuth2 XOAUTH2 (Microsoft 365), and selects the inbox.
//     The returned Mailbox lists messages by UID and RFC822.SIZE, streams one
//     message with BODY.PEEK[] (never marking it read) under a size limit,
//     moves it to an outcome folder safely (MOVE, or COPY and only then
//     \Deleted + UID EXPUNGE), and waits for new mail with IDLE or polling.
//     It finds a message by Message-ID (SearchMessageID), in another folder
//     examined read-only (Examine, then Reselect) and by content (Holds).
//   - A Mailbox is one connection and is not safe for concurrent use. Any
//     error other than parser.ErrTooLarge, ErrNoMessage or a failed move may
//     leave it dead: close it, wait Backoff(attempt), and dial again.
//   - The Authenticators (PasswordAuth, XOAuth2Auth with the token sources
//     CommandTokenSource and MicrosoftTokenSource), TLS modes and TLSConfig
//     serve SMTP too (intake/outbox).
//
// Every call that waits takes a context. go-imap has no contexts of its own,
// so when a context ends during an IMAP call the connection is closed and the
// Mailbox is spent.
package mailbox
