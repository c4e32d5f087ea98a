package mailbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TLSMode says how a mail connection is protected.
type TLSMode string

const (
	// TLSImplicit starts TLS as soon as the TCP connection is up (IMAP 993, SMTP 465).
	TLSImplicit TLSMode = "implicit"
	// TLSStartTLS upgrades a plaintext connection with STARTTLS (IMAP 143, SMTP 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSInsecure sends everything, credentials included, in clear text. It is
	// refused unless the host is a loopback address: it exists for tests and the
	// in-process demo server.
	TLSInsecure TLSMode = "insecure"
)

// Folders names the folder each outcome's messages are moved to.
type Folders struct {
	Processed  string
	Queried    string
	Review     string
	Ignored    string
	Quarantine string
}

// DefaultFolders returns the folder names used when the configuration gives none.
func DefaultFolders() Folders {
	return Folders{
		Processed:  "Processed",
		Queried:    "Queried",
		Review:     "Review",
		Ignored:    "Ignored",
		Quarantine: "Quarantine",
	}
}

// WithDefaults fills empty names from DefaultFolders.
func (f Folders) WithDefaults() Folders {
	d := DefaultFolders()
	pick := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	return Folders{
		Processed:  pick(f.Processed, d.Processed),
		Queried:    pick(f.Queried, d.Queried),
		Review:     pick(f.Review, d.Review),
		Ignored:    pick(f.Ignored, d.Ignored),
		Quarantine: pick(f.Quarantine, d.Quarantine),
	}
}

// All returns the folder names in a fixed order, without duplicates.
func (f Folders) All() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range []string{f.Processed, f.Queried, f.Review, f.Ignored, f.Quarantine} {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// IMAPConfig says where the watched mailbox is and how to log in to it.
type IMAPConfig struct {
	// Addr is host:port, e.g. "outlook.office365.com:993".
	Addr string
	// TLS is TLSImplicit (the default when empty), TLSStartTLS or TLSInsecure.
	TLS TLSMode
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// ServerName is the name the certificate must carry; the host of Addr when empty.
	ServerName string
	Username   string
	Auth       Authenticator
	// Mailbox is the folder watched; "INBOX" when empty.
	Mailbox string
	// Folders are the outcome folders; empty names take the defaults.
	Folders Folders
	// PollInterval is how often WaitForChange sends NOOP on a server without
	// IDLE; one minute when zero.
	PollInterval time.Duration
	// DialTimeout bounds the TCP connect; 30 seconds when zero.
	DialTimeout time.Duration
	Logger      *slog.Logger
}

// MailboxName is the watched mailbox: Mailbox, or INBOX when it is empty.
func (c IMAPConfig) MailboxName() string {
	if c.Mailbox == "" {
		return "INBOX"
	}
	return c.Mailbox
}

// MessageInfo is what List knows of a message without reading it.
type MessageInfo struct {
	UID uint32
	// Size is the server's RFC822.SIZE, which some servers only estimate:
	// Fetch enforces its limit on the bytes actually received as well.
	Size         int64
	InternalDate time.Time
	// Deleted is set when the message carries \Deleted but is still there, as
	// after a COPY fallback on a server without UIDPLUS.
	Deleted bool
}

var (
	// ErrNoMessage is returned when the UID is not (or no longer) in the mailbox.
	ErrNoMessage = errors.New("no message with that UID")
)

// Mailbox is one authenticated IMAP connection with the watched folder
// selected. It is not safe for concurrent use.
type Mailbox struct {
	c       *imapclient.Client
	cfg     IMAPConfig
	log     *slog.Logger
	folders Folders

	uidValidity uint32
	caps        imap.CapSet
	// idleEvery is idleSegment; tests shorten it.
	idleEvery time.Duration

	// newMail gets a token, without blocking, when the server reports EXISTS.
	// The unilateral data handler runs on go-imap's reader goroutine, so it
	// must never wait.
	newMail chan struct{}

	closeOnce sync.Once
}

// DialIMAP connects, verifies TLS, logs in and selects cfg.Mailbox.
func DialIMAP(ctx context.Context, cfg IMAPConfig) (*Mailbox, error) {
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSImplicit
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Minute
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.Auth == nil {
		return nil, errors.New("imap: no authenticator configured")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("imap", cfg.Addr)

	tlsConf, err := TLSConfig(cfg.Addr, cfg.TLS, cfg.CAFile, cfg.ServerName)
	if err != nil {
		return nil, fmt.Errorf("imap: %w", err)
	}

	m := &Mailbox{
		cfg:     cfg,
		log:     log,
		folders: cfg.Folders.WithDefaults(),
		newMail: make(chan struct{}, 1),

		idleEvery: idleSegment,
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConf,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					m.signalNewMail()
				}
			},
		},
	}

	conn, err := dialContext(ctx, cfg.Addr, cfg.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("imap: dial %s: %w", cfg.Addr, err)
	}
	// Until the client owns the connection, ctx ending must still unblock
	// the TLS handshake and the greeting.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	switch cfg.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap: tls handshake with %s: %w", cfg.Addr, ContextError(ctx, err))
		}
		m.c = imapclient.New(tc, opts)
	case TLSStartTLS:
		m.c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			return nil, fmt.Errorf("imap: starttls with %s: %w", cfg.Addr, ContextError(ctx, err))
		}
	case TLSInsecure:
		m.c = imapclient.New(conn, opts)
	}
	if err := m.c.WaitGreeting(); err != nil {
		m.c.Close()
		return nil, fmt.Errorf("imap: greeting from %s: %w", cfg.Addr, ContextError(ctx, err))
	}

	if err := m.login(ctx); err != nil {
		m.c.Close()
		return nil, err
	}
	sel, err := m.c.Select(cfg.Mailbox, nil).Wait()
	if err != nil {
		m.c.Close()
		return nil, fmt.Errorf("imap: select %q: %w", cfg.Mailbox, ContextError(ctx, err))
	}
	m.uidValidity = sel.UIDValidity
	// Capabilities change at login; read them once now that they are final.
	m.caps = m.c.Caps()
	if m.caps == nil {
		m.c.Close()
		return nil, fmt.Errorf("imap: no capability list from %s: %w", cfg.Addr, ContextError(ctx, errors.New("timed out")))
	}
	// The select may already have reported messages; the first sync lists
	// them anyway, so a stale token would only cost one extra scan.
	m.drainNewMail()
	log.Debug("imap connected", "mailbox", cfg.Mailbox, "uidvalidity", m.uidValidity,
		"messages", sel.NumMessages, "idle", m.caps.Has(imap.CapIdle), "move", m.caps.Has(imap.CapMove),
		"uidplus", m.caps.Has(imap.CapUIDPlus))
	return m, nil
}

func (m *Mailbox) login(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("imap: login: %w", err)
	}
	err := m.cfg.Auth.imapLogin(ctx, m.c, m.cfg.Username)
	if err != nil {
		return fmt.Errorf("imap: login as %q with %s: %w", m.cfg.Username, m.cfg.Auth, ContextError(ctx, err))
	}
	return nil
}

// UIDValidity is the selected folder's UIDVALIDITY at selection. When it
// differs from the value stored with earlier UIDs, those UIDs mean nothing.
func (m *Mailbox) UIDValidity() uint32 { return m.uidValidity }

// Folders returns the outcome folders with defaults filled in.
func (m *Mailbox) Folders() Folders { return m.folders }

// Noop asks the server for pending updates and proves the connection is alive.
func (m *Mailbox) Noop(ctx context.Context) error {
	return m.do(ctx, "noop", func() error { return m.c.Noop().Wait() })
}

// Close logs out politely if it can, and always closes the connection.
func (m *Mailbox) Close() error {
	var err error
	m.closeOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = m.c.Logout().Wait()
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		case <-m.c.Closed():
		}
		if cerr := m.c.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && !isClosedErr(cerr) {
			err = fmt.Errorf("imap: close: %w", cerr)
		}
	})
	return err
}

// do runs one exchange with ctx bounding it: go-imap has no context, so when
// ctx ends the connection is closed, which unblocks every wait on it.
func (m *Mailbox) do(ctx context.Context, what string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("imap: %s: %w", what, err)
	}
	stop := context.AfterFunc(ctx, func() { m.c.Close() })
	err := f()
	stop()
	if err != nil {
		return fmt.Errorf("imap: %s: %w", what, ContextError(ctx, err))
	}
	return nil
}

func (m *Mailbox) signalNewMail() {
	select {
	case m.newMail <- struct{}{}:
	default:
	}
}

func (m *Mailbox) drainNewMail() bool {
	select {
	case <-m.newMail:
		return true
	default:
		return false
	}
}

// ContextError prefers the context's error: after we close a connection because
// ctx ended, go-imap reports a bare "use of closed connection".
func ContextError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

func isClosedErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "use of closed network connection")
}

// dialContext connects TCP, bounded by both ctx and timeout.
func dialContext(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "tcp", addr)
}

// TLSConfig verifies certificates against the system roots plus caFile, and
// refuses plaintext to anything but loopback.
func TLSConfig(addr string, mode TLSMode, caFile, serverName string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	switch mode {
	case TLSImplicit, TLSStartTLS:
	case TLSInsecure:
		if !isLoopback(host) {
			return nil, fmt.Errorf("plaintext (tls mode %q) refused for %s: only loopback hosts may skip TLS", mode, host)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown tls mode %q (want implicit, starttls or insecure)", mode)
	}
	if serverName == "" {
		serverName = host
	}
	conf := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
