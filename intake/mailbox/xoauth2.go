package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
)

// xoauth2Mech is Google's and Microsoft's pre-standard SASL mechanism. go-sasl
// does not ship it (its maintainer points to OAUTHBEARER), but Microsoft 365
// offers only PLAIN and XOAUTH2.
const xoauth2Mech = "XOAUTH2"

// tokenEarlyRefresh is how long before expiry a cached token is replaced, so
// a login never starts with a token about to lapse mid-session.
const tokenEarlyRefresh = 5 * time.Minute

// XOAuth2Auth logs in with SASL XOAUTH2, taking a token from ts for every
// login. Tokens are cached and replaced tokenEarlyRefresh before they
// expire, and dropped when a server refuses one. ts should not cache on its
// own (the constructors in this package do not), or the early refresh cannot
// take effect.
func XOAuth2Auth(ts oauth2.TokenSource) Authenticator {
	return &xoauth2Auth{ts: newCachedTokenSource(ts, tokenEarlyRefresh, time.Now)}
}

type xoauth2Auth struct{ ts *cachedTokenSource }

func (*xoauth2Auth) String() string { return "xoauth2" }

func (a *xoauth2Auth) SASLClient(ctx context.Context, username string) (sasl.Client, error) {
	tok, err := a.ts.TokenContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("get oauth2 token: %w", err)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("get oauth2 token: empty access token")
	}
	return &xoauth2Client{username: username, token: tok.AccessToken}, nil
}

func (a *xoauth2Auth) LoginFailed() { a.ts.Invalidate() }

func (a *xoauth2Auth) imapLogin(ctx context.Context, c *imapclient.Client, username string) error {
	return imapSASLLogin(ctx, a, xoauth2Mech, c, username)
}

// xoauth2Client is the client side of XOAUTH2: one initial response
// "user=U^Aauth=Bearer T^A^A".
type xoauth2Client struct {
	username, token string
	// serverErr keeps the server's JSON error challenge for the error message.
	serverErr string
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return xoauth2Mech, []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the only challenge a server sends, its JSON error report, with
// the empty response the protocol asks for; the server then fails the
// command.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	var report struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	if json.Unmarshal(challenge, &report) == nil && report.Status != "" {
		c.serverErr = strings.TrimSpace("status " + report.Status + " " + report.Scope)
	}
	return []byte{}, nil
}
