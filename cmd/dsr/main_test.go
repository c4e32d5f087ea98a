package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for dsr when the PDF reader
// starts its child process ("parse-pdf"), exactly as the real binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "parse-pdf" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testConfig writes a configuration with a fresh keyring and a SQLite
// register in a temporary folder, plus the extra TOML given, and returns
// its path.
func testConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keyring")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"keys", "init", "--out", keys}, nil, io.Discard, &errb); code != 0 {
		t.Fatalf("keys init: %d %s", code, errb.String())
	}
	cfg := filepath.Join(dir, "dsr.toml")
	text := fmt.Sprintf("[database]\ndsn = %q\n[keys]\nfile = %q\n", filepath.Join(dir, "dsr.db"), keys) + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type sampleExpectation struct {
	Outcome string            `json:"outcome"`
	Reasons []string          `json:"reasons"`
	Fields  map[string]string `json:"fields"`
}

// TestCheckSamples runs `dsr check --json --today 2026-11-25` over every
// sample: exactly the expected outcome, at least the expected reasons, and
// the expected field values, as JSON Lines.
func TestCheckSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "samples", "*", "message.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"check", "--json", "--today", "2026-11-25"}, files...), nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines of JSON for %d files", len(lines), len(files))
	}
	for i, line := range lines {
		var got struct {
			File    string `json:"file"`
			Outcome string `json:"outcome"`
			Reasons []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"reasons"`
			Referral map[string]any `json:"referral"`
			Consent  map[string]any `json:"consent"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if got.File != files[i] {
			t.Errorf("line %d is for %s, want %s", i+1, got.File, files[i])
		}
		var exp sampleExpectation
		b, err := os.ReadFile(filepath.Join(filepath.Dir(files[i]), "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(files[i]))
		if got.Outcome != exp.Outcome {
			t.Errorf("%s: outcome %s, want %s (reasons %v)", name, got.Outcome, exp.Outcome, got.Reasons)
		}
		codes := map[string]bool{}
		for _, r := range got.Reasons {
			codes[r.Code] = true
			if r.Message == "" {
				t.Errorf("%s: reason %s has no message", name, r.Code)
			}
		}
		for _, want := range exp.Reasons {
			if !codes[want] {
				t.Errorf("%s: reason %s missing from %v", name, want, got.Reasons)
			}
		}
		for field, want := range exp.Fields {
			v, ok := got.Referral[field]
			if !ok {
				v = got.Consent[field]
			}
			if v != want {
				t.Errorf("%s: %s = %v, want %q", name, field, v, want)
			}
		}
	}
}

// TestCheckJSONTypes pins the JSON shapes the issue asks for: yes/no as
// booleans, NHS numbers as 10 digits, dates as YYYY-MM-DD, blank fields
// absent.
func TestCheckJSONTypes(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "samples", "03-docx-happy", "message.eml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "--json", "--today", "2026-11-25", file}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Referral    map[string]any `json:"referral"`
		Consent     map[string]any `json:"consent"`
		Attachments []struct {
			Filename, ContentType, Kind string
		} `json:"attachments"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Referral["dx_autism"] != true || got.Consent["share_psg"] != false {
		t.Errorf("yes/no not booleans: dx_autism %v share_psg %v", got.Referral["dx_autism"], got.Consent["share_psg"])
	}
	if got.Referral["cyp_nhs_number"] != "9991058834" || got.Referral["cyp_dob"] != "2014-02-20" {
		t.Errorf("nhs %v dob %v", got.Referral["cyp_nhs_number"], got.Referral["cyp_dob"])
	}
	if _, ok := got.Referral["cyp_known_as"]; ok {
		t.Error("a blank field is present")
	}
	if got.Referral["rag_rating"] != "Red" || got.Consent["consent_basis"] != "Person with parental responsibility" {
		t.Errorf("choices: %v, %v", got.Referral["rag_rating"], got.Consent["consent_basis"])
	}
	if len(got.Attachments) != 2 || got.Attachments[0].Kind != "referral" || got.Attachments[1].Kind != "consent" {
		t.Errorf("attachments %+v", got.Attachments)
	}
}

// TestCheckBounce: dsr check says an email is a mail system's and which
// of our emails it returns undelivered, in both forms, so that an
// operator can see why the daemon sent a case to review.
func TestCheckBounce(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "thirdparty", "dsn", "sisimai-lhost-exim-01.eml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "--json", file}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Outcome     string   `json:"outcome"`
		Automatic   string   `json:"automatic"`
		Undelivered []string `json:"undelivered"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Outcome != "ignore" || got.Automatic == "" || len(got.Undelivered) != 1 || got.Undelivered[0] != "E1P1ce6-000Egt-GZ@e1.example.org" {
		t.Errorf("%+v", got)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"check", file}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "returns undelivered: <E1P1ce6-000Egt-GZ@e1.example.org>") {
		t.Errorf("summary: %s", stdout.String())
	}
}

// TestCheckErrors: an unreadable file is reported on stderr and the exit is
// non-zero, after the other files were done.
func TestCheckErrors(t *testing.T) {
	good := filepath.Join("..", "..", "testdata", "samples", "08-automatic-reply", "message.eml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check", "--json", "no-such-file.eml", good}, nil, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "no-such-file.eml") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"outcome":"ignore"`) {
		t.Errorf("the good file after the bad one was not checked: %q", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"check", "--today", "25/11/2026", good}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("a bad --today gave exit %d", code)
	}
}

// TestCheckSummaryHasNoPersonalData: the readable summary is for a
// coordinator's terminal and logs; without --fields it carries no names,
// dates of birth or NHS numbers.
func TestCheckSummaryHasNoPersonalData(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "samples", "01-fillable-pdf-happy", "message.eml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "--today", "2026-11-25", file}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "REGISTER") {
		t.Errorf("summary lacks the outcome: %s", out)
	}
	// The attachment file names carry the child's name in this sample, as
	// referrers name them; the fields themselves must not appear.
	for _, pii := range []string{"9993149586", "999 314 9586", "04/04/2013", "2013-04-04", "Kingsway"} {
		if strings.Contains(out, pii) {
			t.Errorf("summary shows %q", pii)
		}
	}
}

// TestConfigCheck: dsr config check names what is wrong, reads the secrets
// it names, and passes a complete configuration.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var keys bytes.Buffer
	if code := run(context.Background(), []string{"keys", "init"}, nil, &keys, io.Discard); code != 0 {
		t.Fatal("keys init failed")
	}
	keyFile := write("keyring", keys.String())
	pw := write("pw", "secret")
	base := "[keys]\nfile = \"" + keyFile + "\"\n[database]\ndsn = \"" + filepath.Join(dir, "dsr.db") + "\"\n"
	tests := []struct {
		name, text, want string
		code             int
	}{
		{"no inbox", base, "imap.addr", 1},
		{"password file missing", base + "[imap]\naddr = \"mail.example:993\"\nusername = \"u\"\npassword = { file = \"" + filepath.Join(dir, "nope") + "\" }\n", "imap.password", 1},
		{"complete", base + "[imap]\naddr = \"mail.example:993\"\nusername = \"u\"\npassword = { file = \"" + pw + "\" }\n", "configuration OK", 0},
		{"keyring missing", "[keys]\nfile = \"" + filepath.Join(dir, "nokeys") + "\"\n[imap]\naddr = \"mail.example:993\"\npassword = { file = \"" + pw + "\" }\n", "keyring", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(context.Background(), []string{"config", "check", "--config", write("dsr.toml", tt.text)}, nil, &out, &out)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, output %q; want exit %d mentioning %q", code, out.String(), tt.code, tt.want)
			}
		})
	}
}
