package mailbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Authenticator logs in to IMAP and SMTP servers. Build one with
// PasswordAuth or XOAuth2Auth; the set is closed so that every way of
// logging in is known to respect the TLS rules of DialIMAP and SendMail.
type Authenticator interface {
	// String names the method for logs and errors; it never holds a secret.
	String() string
	// SASLClient returns a client for one login, with a fresh credential.
	SASLClient(ctx context.Context, username string) (sasl.Client, error)
	// LoginFailed tells the authenticator the server refused the credential.
	LoginFailed()
	imapLogin(ctx context.Context, c *imapclient.Client, username string) error
}

// PasswordAuth logs in with a password: AUTHENTICATE PLAIN where the server
// offers it, LOGIN otherwise. Read the password from a file or the
// environment (see config.Secret), never from the configuration file itself.
func PasswordAuth(password string) Authenticator { return passwordAuth{password: password} }

type passwordAuth struct{ password string }

func (passwordAuth) String() string { return "password" }

func (a passwordAuth) SASLClient(_ context.Context, username string) (sasl.Client, error) {
	return sasl.NewPlainClient("", username, a.password), nil
}

func (passwordAuth) LoginFailed() {}

func (a passwordAuth) imapLogin(ctx context.Context, c *imapclient.Client, username string) error {
	caps := c.Caps()
	if caps.Has(imap.AuthCap(sasl.Plain)) {
		return runBounded(ctx, c, func() error {
			return c.Authenticate(sasl.NewPlainClient("", username, a.password))
		})
	}
	if caps.Has(imap.CapLoginDisabled) {
		return errors.New("server offers neither AUTH=PLAIN nor LOGIN")
	}
	return runBounded(ctx, c, func() error { return c.Login(username, a.password).Wait() })
}

// runBounded runs f, closing the connection if ctx ends first.
func runBounded(ctx context.Context, c *imapclient.Client, f func() error) error {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := f(); err != nil {
		return ContextError(ctx, err)
	}
	return nil
}

// imapSASLLogin runs one AUTHENTICATE exchange with a fresh SASL client.
func imapSASLLogin(ctx context.Context, a Authenticator, mech string, c *imapclient.Client, username string) error {
	if !c.Caps().Has(imap.AuthCap(mech)) {
		return fmt.Errorf("server does not offer AUTH=%s", mech)
	}
	cl, err := a.SASLClient(ctx, username)
	if err != nil {
		return err
	}
	if err := runBounded(ctx, c, func() error { return c.Authenticate(cl) }); err != nil {
		a.LoginFailed()
		if xc, ok := cl.(*xoauth2Client); ok && xc.serverErr != "" {
			return fmt.Errorf("%w (server: %s)", err, xc.serverErr)
		}
		return err
	}
	return nil
}
