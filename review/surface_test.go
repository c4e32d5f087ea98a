package review

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"dsr-intake/register/store"
)

func TestHSTSOnlyWithSecureCookies(t *testing.T) {
	for _, secure := range []bool{true, false} {
		f := newFixture(t, fixtureOptions{secure: secure})
		c := f.client(t)
		for _, p := range []string{"/signin", "/static/app.css", "/no/such/page"} {
			resp, _ := c.get(p)
			hsts := resp.Header.Get("Strict-Transport-Security")
			if secure != strings.Contains(hsts, "max-age=") {
				t.Errorf("secure=%t %s: Strict-Transport-Security %q", secure, p, hsts)
			}
		}
	}
}

func TestNoDirectoryListings(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, c := range []*client{f.client(t), f.signedIn(t, adminName, adminPass)} {
		for _, p := range []string{"/static/", "/static/nhsuk/", "/static/nhsuk/assets/", "/static/nhsuk/assets/images/",
			"/assets/", "/assets/images/", "/static/nhsuk", "/static//nhsuk/"} {
			resp, body := c.get(p)
			if resp.StatusCode == http.StatusOK || strings.Contains(body, ".svg") || strings.Contains(body, ".css\"") {
				t.Errorf("%s: %d\n%.300s", p, resp.StatusCode, body)
			}
		}
	}
}

func TestTOTPRequiredByRole(t *testing.T) {
	f := newSigninFixture(t, "sqlite", Options{RequireTOTP: []string{store.RoleCoordinator}})
	c := f.client(t)
	c.get("/signin")
	if s, body := attempt(t, c, coordinatorName, coordinatorPass, ""); s != http.StatusUnauthorized || !strings.Contains(body, signinTOTPNeededText) {
		t.Fatalf("a coordinator without an app: %d", s)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Bromley DSR", AccountName: coordinatorName})
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	if err := f.store.UpdateUser(context.Background(), coordinatorName, store.UserChange{TOTPSecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.get("/signin")
	if resp, body := c.post("/signin", url.Values{"name": {coordinatorName}, "password": {coordinatorPass}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the app's code: %d\n%s", resp.StatusCode, body)
	}
	if _, err := New(Options{Store: f.store, RequireTOTP: []string{"admins"}}); err == nil {
		t.Error("two-factor required for a role that does not exist")
	}
}

// A change to an account ends every session it has, wherever signed in.
func TestSessionsEndOnAccountChange(t *testing.T) {
	role, pass, off := store.RoleViewer, "", true
	h, err := HashPassword("another long password")
	if err != nil {
		t.Fatal(err)
	}
	pass = h
	for _, tc := range []struct {
		name   string
		change store.UserChange
	}{
		{"password", store.UserChange{PasswordHash: &pass}},
		{"role", store.UserChange{Role: &role}},
		{"disabled", store.UserChange{Disabled: &off}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSigninFixture(t, "sqlite", Options{})
			a, b := f.signedIn(t, coordinatorName, coordinatorPass), f.signedIn(t, coordinatorName, coordinatorPass)
			if err := f.store.UpdateUser(context.Background(), coordinatorName, tc.change, "test"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client{a, b} {
				if resp, _ := c.get("/queue"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
					t.Errorf("a session after the %s changed: %d", tc.name, resp.StatusCode)
				}
			}
		})
	}
}
