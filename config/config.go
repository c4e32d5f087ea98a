// Package config reads dsr-intake's TOML configuration, fills in the
// defaults and checks it, with messages that name the key and the fix.
// Secrets are never in the file itself: the file names a file or an
// environment variable that holds them.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"dsr-intake/parser"
)

// Config is the whole configuration.
type Config struct {
	IMAP     IMAP     `toml:"imap"`
	SMTP     SMTP     `toml:"smtp"`
	Database Database `toml:"database"`
	Keys     Keys     `toml:"keys"`
	Intake   Intake   `toml:"intake"`
	Limits   Limits   `toml:"limits"`
	Web      Web      `toml:"web"`
	Log      Log      `toml:"log"`
	Forms    Forms    `toml:"forms"`
	Digests  []Digest `toml:"digest"`
	Actions  Actions  `toml:"actions"`
	// Path is the file the configuration was read from ("" for defaults).
	Path string `toml:"-"`
}

// Secret names where a secret is kept: a file or an environment variable.
type Secret struct {
	File string `toml:"file"`
	Env  string `toml:"env"`
}

// IsSet reports whether the secret names a source.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" }

// Read returns the secret's value, trimmed of surrounding white space.
// An empty secret is an error: an empty password file is a mistake, not
// a password.
func (s Secret) Read() (string, error) {
	var v string
	switch {
	case s.File != "" && s.Env != "":
		return "", errors.New("give a file or an environment variable, not both")
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		if v = strings.TrimSpace(string(b)); v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
	case s.Env != "":
		if v = strings.TrimSpace(os.Getenv(s.Env)); v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
	default:
		return "", errors.New("no file or env given")
	}
	return v, nil
}

// OAuth2 configures XOAUTH2 logins. Exactly one way to get a token:
// a refresh token, client credentials, or an operator's command.
type OAuth2 struct {
	TokenURL     string   `toml:"token_url"` // default: Microsoft's for the tenant
	Tenant       string   `toml:"tenant"`
	ClientID     string   `toml:"client_id"`
	ClientSecret Secret   `toml:"client_secret"`
	RefreshToken Secret   `toml:"refresh_token"`
	Scopes       []string `toml:"scopes"`
	Command      []string `toml:"token_command"`
}

// IMAP is the DSR inbox.
type IMAP struct {
	Addr       string  `toml:"addr"`
	TLS        string  `toml:"tls"` // implicit, starttls, insecure (loopback only)
	CAFile     string  `toml:"ca_file"`
	ServerName string  `toml:"server_name"`
	Username   string  `toml:"username"`
	Auth       string  `toml:"auth"` // password or xoauth2
	Password   Secret  `toml:"password"`
	OAuth2     OAuth2  `toml:"oauth2"`
	Mailbox    string  `toml:"mailbox"`
	Folders    Folders `toml:"folders"`
}

// Folders are where messages go once decided.
type Folders struct {
	Processed  string `toml:"processed"`
	Queried    string `toml:"queried"`
	Review     string `toml:"review"`
	Ignored    string `toml:"ignored"`
	Quarantine string `toml:"quarantine"`
}

// SMTP sends the queries and digests.
type SMTP struct {
	Addr       string `toml:"addr"`
	TLS        string `toml:"tls"`
	CAFile     string `toml:"ca_file"`
	ServerName string `toml:"server_name"`
	Username   string `toml:"username"`
	Auth       string `toml:"auth"` // password, xoauth2 or none
	Password   Secret `toml:"password"`
	OAuth2     OAuth2 `toml:"oauth2"`
	From       string `toml:"from"`      // the DSR inbox address queries come from
	FromName   string `toml:"from_name"` // display name
	HeloName   string `toml:"helo_name"`
	// SendLease is how long an email claimed for sending is left to its
	// sender: after a crash between claiming and sending, the next daemon
	// sends it once the lease has run out.
	SendLease Duration `toml:"send_lease"`

	// An email that fails is tried again after RetryInitial, then after
	// waits that double up to RetryCeiling, until it has been failing for
	// RetryLifetime; then it is given up (a query's case goes to review).
	RetryInitial  Duration `toml:"retry_initial"`
	RetryCeiling  Duration `toml:"retry_ceiling"`
	RetryLifetime Duration `toml:"retry_lifetime"`
	// SentFolder, when set, is the [imap] account's folder where the mail
	// service files what was submitted over SMTP ("Sent Items"): an email a
	// crashed daemon may have sent is looked up there before it is sent
	// again. Empty: no look-up.
	SentFolder string `toml:"sent_folder"`
}

// Database is the register.
type Database struct {
	Driver string `toml:"driver"` // sqlite or postgres
	DSN    string `toml:"dsn"`    // sqlite: a file path; postgres: a URL (a password goes in dsn_secret)
	// DSNSecret, when set, holds the whole DSN instead of DSN (for
	// PostgreSQL URLs with a password).
	DSNSecret Secret `toml:"dsn_secret"`
}

// Keys locates the encryption keys.
type Keys struct {
	Secret
}

// Intake tunes the daemon.
type Intake struct {
	Poll             string        `toml:"poll"`         // cron spec for the polling safety net
	MaxIdle          Duration      `toml:"max_idle"`     // IDLE re-issued after this
	Watchdog         Duration      `toml:"watchdog"`     // no successful fetch for this long is an error
	MaxAttempts      int           `toml:"max_attempts"` // failures before a message is quarantined
	TimeZone         string        `toml:"time_zone"`
	SecureDomains    []string      `toml:"secure_domains"`     // where identifiable data may be emailed
	SecureSubjectTag string        `toml:"secure_subject_tag"` // e.g. "[secure]" to let NHSmail encrypt
	AllowDomains     []string      `toml:"allow_domains"`      // optional sender allow list
	AuthServID       string        `toml:"authserv_id"`        // whose Authentication-Results to believe
	MaxQueriesCase   int           `toml:"max_queries_per_case"`
	MaxQueriesSender int           `toml:"max_queries_per_sender_per_day"`
	Acknowledge      bool          `toml:"acknowledge"`
	ReviewURL        string        `toml:"review_url"`
	ReminderAfter    Duration      `toml:"reminder_after"`
	NoReplyAfter     Duration      `toml:"no_reply_after"`
	ReminderSchedule string        `toml:"reminder_schedule"`                   // when reminders and no-reply escalations go out
	MaxRemindersRcpt int           `toml:"max_reminders_per_recipient_per_day"` // reminders to one address in 24 hours
	Workers          int           `toml:"workers"`
	pollSchedule     cron.Schedule // parsed Poll
}

// PollSchedule is the parsed polling schedule (valid after Load).
func (i Intake) PollSchedule() cron.Schedule { return i.pollSchedule }

// Limits bound what one email may cost (see parser.Limits).
type Limits struct {
	MaxMessageMB      int      `toml:"max_message_mb"`
	MaxAttachments    int      `toml:"max_attachments"`
	MaxAttachmentMB   int      `toml:"max_attachment_mb"`
	MaxParts          int      `toml:"max_parts"`
	MaxDepth          int      `toml:"max_depth"`
	MaxDOCXUnpackedMB int      `toml:"max_docx_unpacked_mb"`
	MaxPDFPages       int      `toml:"max_pdf_pages"`
	MaxPDFObjects     int      `toml:"max_pdf_objects"`
	PDFTimeout        Duration `toml:"pdf_timeout"`
	PDFMemoryMB       int      `toml:"pdf_memory_mb"`
	IsolatePDF        *bool    `toml:"isolate_pdf"`
	OCRTimeout        Duration `toml:"ocr_timeout"` // reading one scan or photo by OCR (0: 90s)
}

// Web serves the coordinators' pages.
type Web struct {
	Addr         string   `toml:"addr"`
	SecureCookie *bool    `toml:"secure_cookie"`
	IdleTimeout  Duration `toml:"idle_timeout"`
	MaxSession   Duration `toml:"max_session"`
	// MetricsAddr is where /metrics and the detailed /healthz and /readyz
	// listen, apart from the pages ("" for none); loopback unless
	// MetricsToken is set. MetricsToken, when set, is the bearer token
	// /metrics and the detailed health need, and serves them on the
	// pages' address too.
	MetricsAddr  string `toml:"metrics_addr"`
	MetricsToken Secret `toml:"metrics_token"`
	// TrustedProxies are the reverse proxies (addresses or ranges) whose
	// X-Forwarded-For names the client for sign-in limits.
	TrustedProxies []string `toml:"trusted_proxies"`
	// RequireTOTP lists the roles that must sign in with an authenticator
	// app's code.
	RequireTOTP []string `toml:"require_totp"`
	// PasswordChecks bounds the password checks run at once (0: two per CPU).
	PasswordChecks int `toml:"password_checks"`
	// Sign-in limits: over SigninWindow, SigninClientFailures failures
	// from one client refuse it; after SigninAccountFailures failures on
	// an account, each attempt waits SigninDelay after the last failure,
	// doubling to SigninMaxDelay.
	SigninWindow          Duration `toml:"signin_window"`
	SigninClientFailures  int      `toml:"signin_client_failures"`
	SigninAccountFailures int      `toml:"signin_account_failures"`
	SigninDelay           Duration `toml:"signin_delay"`
	SigninMaxDelay        Duration `toml:"signin_max_delay"`
}

// Log configures logging.
type Log struct {
	Format string `toml:"format"` // text or json
	Level  string `toml:"level"`  // debug, info, warn, error
}

// Forms maps other editions of the forms onto the canonical fields.
type Forms struct {
	Referral FormAliases `toml:"referral"`
	Consent  FormAliases `toml:"consent"`
}

// FormAliases is one form's extra field names, labels and titles.
type FormAliases struct {
	Fields map[string]string `toml:"fields"`
	Labels map[string]string `toml:"labels"`
	Titles []string          `toml:"titles"`
}

// Digest is one scheduled briefing.
type Digest struct {
	Name       string   `toml:"name"`
	Schedule   string   `toml:"schedule"`
	Recipients []string `toml:"recipients"`
	Sections   []string `toml:"sections"`
	// The thresholds of three sections; zero means the default (7d, 183d,
	// 183d).
	QueueOlderThan  Duration `toml:"queue_older_than"`
	Turning18Within Duration `toml:"turning_18_within"`
	CETRReviewAfter Duration `toml:"cetr_review_after"`
}

// Duration is a time.Duration written as "90s", "5m", "2h" or "14d".
type Duration struct{ time.Duration }

// UnmarshalText reads Go durations, and whole days as "Nd".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			d.Duration = time.Duration(days) * 24 * time.Hour
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 90s, 5m, 2h or 14d", s)
	}
	d.Duration = v
	return nil
}

// Default is the configuration with nothing set.
func Default() *Config {
	t := true
	return &Config{
		IMAP: IMAP{TLS: "implicit", Auth: "password", Mailbox: "INBOX", Folders: Folders{
			Processed: "Processed", Queried: "Queried", Review: "Review", Ignored: "Ignored", Quarantine: "Quarantine",
		}},
		SMTP: SMTP{TLS: "starttls", Auth: "password", FromName: "Bromley DSR", SendLease: Duration{2 * time.Minute},
			RetryInitial: Duration{time.Second}, RetryCeiling: Duration{time.Hour}, RetryLifetime: Duration{72 * time.Hour}},
		Database: Database{Driver: "sqlite", DSN: "dsr.db"},
		Intake: Intake{
			Poll: "@every 5m", MaxIdle: Duration{25 * time.Minute}, Watchdog: Duration{30 * time.Minute},
			MaxAttempts: 3, TimeZone: "Europe/London", SecureDomains: []string{"nhs.net", "gov.uk"},
			MaxQueriesCase: 5, MaxQueriesSender: 20, ReminderAfter: Duration{7 * 24 * time.Hour},
			NoReplyAfter:     Duration{14 * 24 * time.Hour},
			ReminderSchedule: "0 10 * * 1-5", MaxRemindersRcpt: 5,
		},
		Limits: Limits{
			MaxMessageMB: 40, MaxAttachments: 30, MaxAttachmentMB: 35, MaxParts: 300, MaxDepth: 8,
			MaxDOCXUnpackedMB: 50, MaxPDFPages: 60, MaxPDFObjects: 50000, PDFTimeout: Duration{10 * time.Second},
			PDFMemoryMB: 1024, IsolatePDF: &t,
		},
		Web: Web{Addr: "127.0.0.1:8080", SecureCookie: &t, IdleTimeout: Duration{30 * time.Minute}, MaxSession: Duration{12 * time.Hour},
			MetricsAddr: "127.0.0.1:9464", RequireTOTP: []string{"admin"},
			SigninWindow: Duration{15 * time.Minute}, SigninClientFailures: 30, SigninAccountFailures: 5,
			SigninDelay: Duration{15 * time.Second}, SigninMaxDelay: Duration{2 * time.Minute}},
		Log: Log{Format: "text", Level: "info"},
	}
}

// Load reads a TOML file over the defaults and checks it. An unknown key
// is an error: a misspelt key silently ignored is how a daemon ends up
// watching the wrong mailbox.
func Load(path string) (*Config, error) {
	c := Default()
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key(s) %s: check the spelling against dsr.example.toml", path, strings.Join(keys, ", "))
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Problems is every problem found in a configuration.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// CheckForms checks only what `dsr check` needs: limits and form mapping.
func (c *Config) CheckForms() error {
	var p Problems
	if _, err := c.Mapping(); err != nil {
		p = append(p, err.Error()+": use a field name from docs/forms.md")
	}
	if c.Limits.MaxMessageMB <= 0 || c.Limits.MaxAttachmentMB <= 0 {
		p = append(p, "limits.max_message_mb and limits.max_attachment_mb must be positive")
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// Check validates everything, reporting every problem at once.
func (c *Config) Check() error {
	var p Problems
	if err := c.CheckForms(); err != nil {
		p = append(p, err.(Problems)...)
	}
	p = append(p, checkTLS("imap", c.IMAP.Addr, c.IMAP.TLS)...)
	switch c.IMAP.Auth {
	case "password":
		if c.IMAP.Addr != "" && !c.IMAP.Password.IsSet() {
			p = append(p, `imap.password: set file = "/path" or env = "VAR" (a password is never written in the config)`)
		}
	case "xoauth2":
		p = append(p, checkOAuth2("imap.oauth2", c.IMAP.OAuth2)...)
	default:
		p = append(p, fmt.Sprintf("imap.auth: %q is not password or xoauth2", c.IMAP.Auth))
	}
	if c.SMTP.Addr != "" {
		p = append(p, checkTLS("smtp", c.SMTP.Addr, c.SMTP.TLS)...)
		if c.SMTP.From == "" {
			p = append(p, "smtp.from: set the DSR inbox address queries are sent from")
		}
		switch c.SMTP.Auth {
		case "password":
			if !c.SMTP.Password.IsSet() {
				p = append(p, `smtp.password: set file = "/path" or env = "VAR"`)
			}
		case "xoauth2":
			p = append(p, checkOAuth2("smtp.oauth2", c.SMTP.OAuth2)...)
		case "none":
		default:
			p = append(p, fmt.Sprintf("smtp.auth: %q is not password, xoauth2 or none", c.SMTP.Auth))
		}
	}
	switch c.Database.Driver {
	case "sqlite", "postgres":
	default:
		p = append(p, fmt.Sprintf("database.driver: %q is not sqlite or postgres", c.Database.Driver))
	}
	if c.Database.Driver == "postgres" && strings.Contains(c.Database.DSN, "password=") {
		p = append(p, "database.dsn: do not put a password in the config; use dsn_secret")
	}
	tz := c.Intake.TimeZone
	if _, err := time.LoadLocation(tz); err != nil {
		p = append(p, fmt.Sprintf("intake.time_zone: %q is not a time zone (try Europe/London)", tz))
		tz = "" // reported once, here, not again with every schedule
	}
	sched, err := ParseSchedule(c.Intake.Poll, tz)
	if err != nil {
		p = append(p, fmt.Sprintf("intake.poll: %v (try \"@every 5m\" or \"*/5 * * * *\")", err))
	}
	c.Intake.pollSchedule = sched
	if c.Intake.MaxIdle.Duration <= 0 || c.Intake.MaxIdle.Duration >= 29*time.Minute {
		p = append(p, "intake.max_idle: must be above 0 and under 29m (servers drop IDLE after 30 minutes)")
	}
	if c.SMTP.SendLease.Duration < 5*time.Second {
		p = append(p, "smtp.send_lease: must be at least 5s (longer than sending one email takes)")
	}
	p = append(p, c.SMTP.checkRetry()...)
	if c.Intake.MaxAttempts < 1 {
		p = append(p, "intake.max_attempts: must be at least 1")
	}
	if c.Intake.ReminderAfter.Duration > 0 {
		if _, err := ParseSchedule(c.Intake.ReminderSchedule, tz); err != nil {
			p = append(p, fmt.Sprintf("intake.reminder_schedule: %v (try \"0 10 * * 1-5\")", err))
		}
		if c.Intake.NoReplyAfter.Duration > 0 && c.Intake.NoReplyAfter.Duration <= c.Intake.ReminderAfter.Duration {
			p = append(p, "intake.no_reply_after: must be longer than reminder_after (both count from the query), or 0 for no escalation")
		}
	}
	for i, d := range c.Digests {
		if d.Name == "" {
			p = append(p, fmt.Sprintf("digest[%d].name: give the digest a name", i))
		}
		if _, err := ParseSchedule(d.Schedule, tz); err != nil {
			p = append(p, fmt.Sprintf("digest[%d].schedule: %v", i, err))
		}
		if len(d.Recipients) == 0 {
			p = append(p, fmt.Sprintf("digest[%d].recipients: list at least one address", i))
		}
	}
	p = append(p, c.Web.check()...)
	p = append(p, c.Actions.check()...)
	switch c.Log.Format {
	case "text", "json":
	default:
		p = append(p, fmt.Sprintf("log.format: %q is not text or json", c.Log.Format))
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func checkTLS(section, addr, mode string) []string {
	var p []string
	switch mode {
	case "implicit", "starttls":
	case "insecure":
		host, _, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			p = append(p, section+".tls: insecure is only allowed to a loopback address; use implicit or starttls")
		}
	default:
		p = append(p, fmt.Sprintf("%s.tls: %q is not implicit, starttls or insecure", section, mode))
	}
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			p = append(p, fmt.Sprintf("%s.addr: %q is not host:port", section, addr))
		}
	}
	return p
}

func checkOAuth2(section string, o OAuth2) []string {
	n := 0
	if o.RefreshToken.IsSet() {
		n++
	}
	if len(o.Command) > 0 {
		n++
	}
	if o.ClientSecret.IsSet() && !o.RefreshToken.IsSet() {
		n++
	}
	switch {
	case n == 0:
		return []string{section + ": set refresh_token, client_secret (client credentials) or token_command"}
	case n > 1:
		return []string{section + ": set only one of refresh_token, client credentials or token_command"}
	}
	if len(o.Command) == 0 && o.ClientID == "" {
		return []string{section + ".client_id: required with refresh_token or client_secret"}
	}
	if len(o.Command) == 0 && o.Tenant == "" && o.TokenURL == "" {
		return []string{section + ": set tenant (Microsoft 365) or token_url"}
	}
	return nil
}

// ParseSchedule parses a cron spec (five fields or a descriptor such as
// @daily or @every 5m), in the time zone tz unless the spec names its own
// with TZ= or CRON_TZ=. robfig/cron panics on some malformed specs
// ("CRON_TZ=X" alone); that is an error here.
func ParseSchedule(spec, tz string) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "CRON_TZ=") && tz != "" {
		spec = "CRON_TZ=" + tz + " " + spec
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("%q is not a schedule", spec)
		}
	}()
	sched, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a schedule: %w", spec, err)
	}
	return sched, nil
}

// Mapping builds the parser's field mapping from the forms section.
func (c *Config) Mapping() (*parser.Mapping, error) {
	return parser.NewMapping(map[parser.FormKind]parser.Aliases{
		parser.Referral: {Fields: c.Forms.Referral.Fields, Labels: c.Forms.Referral.Labels, Titles: c.Forms.Referral.Titles},
		parser.Consent:  {Fields: c.Forms.Consent.Fields, Labels: c.Forms.Consent.Labels, Titles: c.Forms.Consent.Titles},
	})
}

// ParserLimits converts the limits section.
func (c *Config) ParserLimits() parser.Limits {
	l := c.Limits
	return parser.Limits{
		MaxMessageBytes:     int64(l.MaxMessageMB) << 20,
		MaxAttachments:      l.MaxAttachments,
		MaxAttachmentBytes:  int64(l.MaxAttachmentMB) << 20,
		MaxParts:            l.MaxParts,
		MaxDepth:            l.MaxDepth,
		MaxDOCXUncompressed: int64(l.MaxDOCXUnpackedMB) << 20,
		MaxPDFPages:         l.MaxPDFPages,
		MaxPDFObjects:       l.MaxPDFObjects,
		PDFTimeout:          l.PDFTimeout.Duration,
		PDFMemoryBytes:      int64(l.PDFMemoryMB) << 20,
		OCRTimeout:          l.OCRTimeout.Duration,
	}
}

// checkRetry checks the outbox's retry policy.
func (s SMTP) checkRetry() []string {
	var p []string
	if s.RetryInitial.Duration <= 0 {
		p = append(p, `smtp.retry_initial: must be positive, e.g. "1s"`)
	}
	if s.RetryCeiling.Duration < s.RetryInitial.Duration {
		p = append(p, `smtp.retry_ceiling: must be at least retry_initial, e.g. "1h"`)
	}
	if s.RetryLifetime.Duration < s.RetryCeiling.Duration {
		p = append(p, `smtp.retry_lifetime: must be at least retry_ceiling (an email is tried more than once), e.g. "3d"`)
	}
	return p
}
