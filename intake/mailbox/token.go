package mailbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/microsoft"
)

// Scopes for Microsoft 365 mail. The app-only (client credentials) flow
// takes the .default scope of the Outlook resource; the delegated
// (refresh token) flow names the permissions.
const (
	MicrosoftAppScope  = "https://outlook.office.com/.default"
	MicrosoftIMAPScope = "https://outlook.office.com/IMAP.AccessAsUser.All"
	MicrosoftSMTPScope = "https://outlook.office.com/SMTP.Send"
)

// commandTokenTimeout bounds the operator's token command.
const commandTokenTimeout = 30 * time.Second

// maxTokenOutput bounds what we read from the token command.
const maxTokenOutput = 64 << 10

// CommandTokenSource runs argv (no shell) whenever a token is needed. The
// command prints either the bare access token or JSON with access_token and
// expires_in (seconds) or expiry (RFC 3339). A bare token has no known
// expiry, so it is fetched anew for every login.
func CommandTokenSource(argv []string) oauth2.TokenSource {
	return &commandTokenSource{argv: append([]string(nil), argv...), now: time.Now}
}

type commandTokenSource struct {
	argv []string
	now  func() time.Time
}

func (s *commandTokenSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

func (s *commandTokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if len(s.argv) == 0 {
		return nil, errors.New("token command: empty command")
	}
	ctx, cancel := context.WithTimeout(ctx, commandTokenTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxTokenOutput, 4<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// stderr may explain the failure; the token itself is on stdout,
		// which we never echo.
		return nil, fmt.Errorf("token command %s: %w: %s", s.argv[0], err, strings.TrimSpace(stderr.String()))
	}
	if stdout.overflow {
		return nil, fmt.Errorf("token command %s: output longer than %d bytes", s.argv[0], maxTokenOutput)
	}
	out := bytes.TrimSpace(stdout.Bytes())
	if len(out) == 0 {
		return nil, fmt.Errorf("token command %s: printed nothing", s.argv[0])
	}
	if out[0] != '{' {
		if bytes.ContainsAny(out, " \t\r\n") {
			return nil, fmt.Errorf("token command %s: output is neither one token nor JSON", s.argv[0])
		}
		return &oauth2.Token{AccessToken: string(out), TokenType: "Bearer"}, nil
	}
	var j struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Expiry      time.Time       `json:"expiry"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		return nil, fmt.Errorf("token command %s: parse JSON output: %w", s.argv[0], err)
	}
	if j.AccessToken == "" {
		return nil, fmt.Errorf("token command %s: JSON output has no access_token", s.argv[0])
	}
	tok := &oauth2.Token{AccessToken: j.AccessToken, TokenType: j.TokenType, Expiry: j.Expiry}
	if len(j.ExpiresIn) > 0 {
		// Azure CLI and others print expires_in as a string.
		var secs int64
		raw := strings.Trim(string(j.ExpiresIn), `"`)
		if _, err := fmt.Sscan(raw, &secs); err != nil || secs <= 0 {
			return nil, fmt.Errorf("token command %s: bad expires_in %q", s.argv[0], raw)
		}
		tok.Expiry = s.now().Add(time.Duration(secs) * time.Second)
	}
	return tok, nil
}

// limitedBuffer keeps at most max bytes and remembers that it dropped some.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// contextTokenSource is a source that can be bounded by a context.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// cachedTokenSource reuses a token until early before its expiry. Tokens
// without an expiry are not reused: we cannot know they are still good.
type cachedTokenSource struct {
	src   oauth2.TokenSource
	early time.Duration
	now   func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

func newCachedTokenSource(src oauth2.TokenSource, early time.Duration, now func() time.Time) *cachedTokenSource {
	return &cachedTokenSource{src: src, early: early, now: now}
}

func (s *cachedTokenSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext returns the cached token or fetches one, giving up when ctx
// ends (a source without contexts is left to finish in the background).
func (s *cachedTokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && !s.tok.Expiry.IsZero() && s.now().Add(s.early).Before(s.tok.Expiry) {
		return s.tok, nil
	}
	var tok *oauth2.Token
	var err error
	if cs, ok := s.src.(contextTokenSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		type result struct {
			tok *oauth2.Token
			err error
		}
		ch := make(chan result, 1)
		go func() {
			t, e := s.src.Token()
			ch <- result{t, e}
		}()
		select {
		case r := <-ch:
			tok, err = r.tok, r.err
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("token source returned no token")
	}
	s.tok = tok
	return tok, nil
}

// Invalidate forgets the cached token, after a server refused it.
func (s *cachedTokenSource) Invalidate() {
	s.mu.Lock()
	s.tok = nil
	s.mu.Unlock()
}

// MicrosoftOAuth describes an Entra ID (Azure AD) app registration for
// Microsoft 365 mail.
type MicrosoftOAuth struct {
	// Tenant is the directory (tenant) ID or domain.
	Tenant   string
	ClientID string
	// ClientSecret is read by the caller (config.Secret). Empty is allowed for a public
	// client with a refresh token.
	ClientSecret string
	// RefreshToken selects the delegated flow; without it the client
	// credentials (app-only) flow is used.
	RefreshToken string
	// Scopes default to MicrosoftAppScope (client credentials) or
	// MicrosoftIMAPScope plus offline_access (refresh token).
	Scopes []string
	// TokenURL overrides the tenant's v2.0 token endpoint (tests, sovereign clouds).
	TokenURL string
}

// MicrosoftTokenSource returns a non-caching source of access tokens for
// XOAuth2Auth. ctx is used for the token endpoint's HTTP requests, so it
// should live as long as the daemon.
func MicrosoftTokenSource(ctx context.Context, c MicrosoftOAuth) (oauth2.TokenSource, error) {
	if c.ClientID == "" {
		return nil, errors.New("microsoft oauth: client id is required")
	}
	endpoint := microsoft.AzureADEndpoint(c.Tenant)
	if c.TokenURL != "" {
		endpoint.TokenURL = c.TokenURL
	} else if c.Tenant == "" {
		return nil, errors.New("microsoft oauth: tenant is required")
	}
	if c.RefreshToken == "" {
		if c.ClientSecret == "" {
			return nil, errors.New("microsoft oauth: client credentials need a client secret")
		}
		scopes := c.Scopes
		if len(scopes) == 0 {
			scopes = []string{MicrosoftAppScope}
		}
		cc := &clientcredentials.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: endpoint.TokenURL,
			Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams,
		}
		// clientcredentials.Config.Token fetches anew on every call,
		// unlike its TokenSource, which caches until 10 s before expiry.
		return tokenSourceFunc(func(ctx2 context.Context) (*oauth2.Token, error) {
			mctx, cancel := mergeCtx(ctx, ctx2)
			defer cancel()
			return cc.Token(mctx)
		}), nil
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = []string{MicrosoftIMAPScope, "offline_access"}
	}
	var mu sync.Mutex
	refresh := c.RefreshToken
	return tokenSourceFunc(func(ctx2 context.Context) (*oauth2.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		// oauth2.Config's refresh sends no scope, which Microsoft's v2.0
		// endpoint documents as required; clientcredentials lets us send
		// a refresh_token grant with scopes, and never caches.
		cc := &clientcredentials.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: endpoint.TokenURL,
			Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}},
		}
		mctx, cancel := mergeCtx(ctx, ctx2)
		defer cancel()
		tok, err := cc.Token(mctx)
		if err != nil {
			return nil, err
		}
		// Microsoft rotates refresh tokens; keep the newest in memory.
		// (Persisting it is the operator's business: the old one stays
		// valid for its own lifetime.)
		if tok.RefreshToken != "" {
			refresh = tok.RefreshToken
		}
		return tok, nil
	}), nil
}

// tokenSourceFunc adapts a function to oauth2.TokenSource and contextTokenSource.
type tokenSourceFunc func(ctx context.Context) (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f(context.Background()) }

func (f tokenSourceFunc) TokenContext(ctx context.Context) (*oauth2.Token, error) { return f(ctx) }

// mergeCtx keeps base's values (oauth2 reads its HTTP client from them) and
// ends when either context ends. The caller must call the returned cancel.
func mergeCtx(base, bound context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(base)
	stop := context.AfterFunc(bound, func() { cancel(context.Cause(bound)) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}
