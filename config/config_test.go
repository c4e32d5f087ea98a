package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestExampleLoads: dsr.example.toml is a valid configuration, and it
// documents every key the configuration has.
func TestExampleLoads(t *testing.T) {
	path := filepath.Join("..", "dsr.example.toml")
	c, err := Load(path)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if c.IMAP.Auth != "xoauth2" || c.Intake.MaxIdle.Duration != 25*time.Minute || c.Intake.ReminderAfter.Duration != 7*24*time.Hour {
		t.Errorf("example values not read: %+v", c.Intake)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range tomlKeys(reflect.TypeOf(Config{})) {
		if !regexp.MustCompile(`(?m)^#?\s*`+regexp.QuoteMeta(key)+`\s*=`).Match(text) &&
			!strings.Contains(string(text), "["+key+"]") && !strings.Contains(string(text), "."+key+"]") && !strings.Contains(string(text), "[["+key+"]]") {
			t.Errorf("dsr.example.toml does not document %q", key)
		}
	}
}

// tomlKeys lists the leaf key names of a config struct.
func tomlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			keys = append(keys, tag)
			keys = append(keys, tomlKeys(ft.Elem())...)
			continue
		}
		if f.Anonymous && ft.Kind() == reflect.Struct {
			keys = append(keys, tomlKeys(ft)...)
			continue
		}
		switch {
		case ft == reflect.TypeOf(Secret{}), ft == reflect.TypeOf(Duration{}):
			keys = append(keys, tag)
		case ft.Kind() == reflect.Struct:
			keys = append(keys, tomlKeys(ft)...)
		case tag != "":
			keys = append(keys, tag)
		}
	}
	return keys
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dsr.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // fragments each problem message must contain
	}{
		{"unknown key", "[imap]\nadress = \"x:1\"\n", []string{"unknown key", "imap.adress"}},
		{"password inline is not a thing", "[imap]\naddr = \"mail.example:993\"\nusername = \"u\"\n", []string{"imap.password", "file"}},
		{"insecure to a remote host", "[imap]\naddr = \"mail.example:143\"\ntls = \"insecure\"\npassword = { env = \"X\" }\n", []string{"imap.tls", "loopback"}},
		{"bad poll", "[intake]\npoll = \"every five minutes\"\n", []string{"intake.poll"}},
		{"CRON_TZ alone does not panic", "[intake]\npoll = \"CRON_TZ=Europe/London\"\n", []string{"intake.poll"}},
		{"idle too long", "[intake]\nmax_idle = \"45m\"\n", []string{"intake.max_idle", "29m"}},
		{"bad duration", "[intake]\nwatchdog = \"soon\"\n", []string{"duration"}},
		{"bad time zone", "[intake]\ntime_zone = \"Mars/Olympus\"\n", []string{"intake.time_zone"}},
		{"mapping to an unknown field", "[forms.referral.fields]\n\"ChildName\" = \"child_name\"\n", []string{"forms.referral", "child_name"}},
		{"digest without recipients", "[[digest]]\nname = \"panel\"\nschedule = \"0 7 * * 1\"\n", []string{"digest[0].recipients"}},
		{"xoauth2 without a token source", "[imap]\nauth = \"xoauth2\"\n", []string{"imap.oauth2"}},
		{"metrics off loopback without a token", "[web]\nmetrics_addr = \"0.0.0.0:9464\"\n", []string{"web.metrics_addr", "metrics_token"}},
		{"metrics on the pages' address", "[web]\naddr = \"127.0.0.1:8080\"\nmetrics_addr = \"127.0.0.1:8080\"\n", []string{"web.metrics_addr", "differ"}},
		{"proxy by name", "[web]\ntrusted_proxies = [\"proxy.example\"]\n", []string{"web.trusted_proxies", "proxy.example"}},
		{"two-factor for no role", "[web]\nrequire_totp = [\"admins\"]\n", []string{"web.require_totp", "admins"}},
		{"delay capped below itself", "[web]\nsignin_delay = \"1m\"\nsignin_max_delay = \"30s\"\n", []string{"web.signin_delay"}},
		{"retry ceiling below its first wait", "[smtp]\nretry_initial = \"10m\"\nretry_ceiling = \"1m\"\n", []string{"smtp.retry_ceiling"}},
		{"retry lifetime shorter than one wait", "[smtp]\nretry_lifetime = \"30m\"\n", []string{"smtp.retry_lifetime"}},
		{"no first wait", "[smtp]\nretry_initial = \"0s\"\n", []string{"smtp.retry_initial"}},
		{"several problems at once", "[database]\ndriver = \"mysql\"\n[log]\nformat = \"xml\"\n", []string{"database.driver", "log.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(write(t, tt.text))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadMinimal(t *testing.T) {
	c, err := Load(write(t, "[keys]\nfile = \"/etc/dsr/keyring\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Driver != "sqlite" || c.IMAP.Folders.Quarantine != "Quarantine" || c.Intake.PollSchedule() == nil {
		t.Errorf("defaults missing: %+v", c)
	}
	// Outside the demo, admins need a second factor, metrics stay on
	// loopback, and sessions end after 30 minutes idle or 12 hours.
	w := c.Web
	if !slices.Equal(w.RequireTOTP, []string{"admin"}) || !loopbackAddr(w.MetricsAddr) || w.IdleTimeout.Duration != 30*time.Minute ||
		w.MaxSession.Duration != 12*time.Hour || len(w.TrustedProxies) != 0 || w.SigninAccountFailures < 1 || w.SigninMaxDelay.Duration < w.SigninDelay.Duration {
		t.Errorf("web defaults: %+v", w)
	}
	d := c.Intake.PollSchedule()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if next := d.Next(now); next.Sub(now) != 5*time.Minute {
		t.Errorf("default poll next = %v", next)
	}
	if r := c.SMTP; r.RetryInitial.Duration != time.Second || r.RetryCeiling.Duration != time.Hour ||
		r.RetryLifetime.Duration != 72*time.Hour || r.SentFolder != "" {
		t.Errorf("outbox retry defaults = %v, %v, %v, sent folder %q; want 1s, 1h, 3 days and no look-up",
			r.RetryInitial, r.RetryCeiling, r.RetryLifetime, r.SentFolder)
	}
	l := c.ParserLimits()
	if l.MaxMessageBytes != 40<<20 || l.PDFTimeout != 10*time.Second {
		t.Errorf("parser limits = %+v", l)
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pw")
	os.WriteFile(good, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("DSR_TEST_SECRET", "  from-env\n")
	tests := []struct {
		s       Secret
		want    string
		wantErr bool
	}{
		{Secret{File: good}, "s3cret", false},
		{Secret{Env: "DSR_TEST_SECRET"}, "from-env", false},
		{Secret{File: empty}, "", true},
		{Secret{File: filepath.Join(dir, "absent")}, "", true},
		{Secret{Env: "DSR_TEST_SECRET_UNSET"}, "", true},
		{Secret{File: good, Env: "DSR_TEST_SECRET"}, "", true},
		{Secret{}, "", true},
	}
	for _, tt := range tests {
		got, err := tt.s.Read()
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%+v.Read() = %q, %v", tt.s, got, err)
		}
	}
}
