package parser

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMailersWriteReferrals: sample 01's two forms, under names no
// sender's tool makes easy (accents, an en dash, brackets and a comma, 99
// letters: RFC 2231 continuations, encoded words or raw UTF-8, as each
// writer chooses), sent by mail programs nobody here wrote: mutt, s-nail
// (mailx), mpack, Perl's MIME::Lite and Email::MIME, and Python's email
// package. Each email reads as the sample does: the same files, names and
// bytes, the same forms with the same values; and every file name as
// Python's email package reads it.
func TestMailersWriteReferrals(t *testing.T) {
	clean := parseSample(t, "01-fillable-pdf-happy")
	var referral, consent []byte
	for _, a := range clean.Attachments {
		switch a.Kind {
		case KindReferral:
			referral = a.Data
		case KindConsent:
			consent = a.Data
		}
	}
	if referral == nil || consent == nil || clean.Referral == nil || clean.Consent == nil {
		t.Fatal("sample 01's forms not found")
	}
	dir := t.TempDir()
	names := []string{"DSR Référral Form – Lily Chambers (final, signed) 20 Nov 2026 for the Dynamic Support Register.pdf", "Consent – Lily Chambers.pdf"}
	var paths []string
	for i, data := range [][]byte{referral, consent} {
		p := filepath.Join(dir, names[i])
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	const subject = "DSR referral – L.C."
	body := filepath.Join(dir, "body.txt")
	if err := os.WriteFile(body, []byte("Dear DSR team,\n\nReferral and consent for L.C. attached — thank you.\n\nDr Priya Raman\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// capture stands in for sendmail: the message, as the writer hands it
	// to the mail system, into the file $CAPTURE.
	capture := filepath.Join(dir, "capture.sh")
	if err := os.WriteFile(capture, []byte("#!/bin/sh\ncat > \"$CAPTURE\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	const perlMIMELite = `use MIME::Lite; use Encode;
my $m = MIME::Lite->new(From => 'Dr Priya Raman <priya.raman@nhs.net>', To => 'dsr@example.nhs.uk',
	Subject => Encode::encode('MIME-Header', Encode::decode('UTF-8', shift @ARGV)), Type => 'multipart/mixed');
$m->attach(Type => 'text/plain; charset=UTF-8', Data => "Dear DSR team,\n\nReferral attached.\n");
for my $f (@ARGV) { (my $n = $f) =~ s{.*/}{}; $m->attach(Type => 'application/pdf', Path => $f, Filename => $n, Disposition => 'attachment'); }
print $m->as_string;
`
	const perlEmailMIME = `use Email::MIME; use Encode;
my $subject = Encode::decode('UTF-8', shift @ARGV);
my @parts = (Email::MIME->create(attributes => {content_type => 'text/plain', charset => 'UTF-8', encoding => 'quoted-printable'},
	body_str => "Dear DSR team,\n\nReferral attached \x{2014} thanks.\n"));
for my $f (@ARGV) { (my $n = $f) =~ s{.*/}{}; open my $fh, '<:raw', $f or die; local $/; my $d = <$fh>;
	push @parts, Email::MIME->create(attributes => {content_type => 'application/pdf', disposition => 'attachment', encoding => 'base64',
		filename => Encode::decode('UTF-8', $n), name => Encode::decode('UTF-8', $n)}, body => $d); }
print Email::MIME->create(header_str => [From => 'Dr Priya Raman <priya.raman@nhs.net>', To => 'dsr@example.nhs.uk', Subject => $subject],
	parts => \@parts)->as_string;
`
	const pythonEmail = `import sys, os, email.message, email.policy
m = email.message.EmailMessage(policy=email.policy.SMTP)
m['From'] = 'Dr Priya Raman <priya.raman@nhs.net>'; m['To'] = 'dsr@example.nhs.uk'; m['Subject'] = sys.argv[1]
m.set_content('Dear DSR team,\n\nReferral attached \u2014 thanks.\n')
for f in sys.argv[2:]:
    m.add_attachment(open(f, 'rb').read(), maintype='application', subtype='pdf', filename=os.path.basename(f))
sys.stdout.buffer.write(m.as_bytes())
`
	for _, w := range []struct {
		name, tool string
		// args are the tool's arguments; the message is written to out
		// (by capture where the tool sends it, else on its output).
		args func(out string) []string
		// files are how many of the two forms it sends: mpack sends one
		// file a message.
		files int
		// peer is how Python's email package reads the names: as we do
		// (""), or otherwise, for the reason given below.
		peer string
	}{
		{"mutt", "mutt", func(string) []string {
			return append([]string{"-n", "-F", "/dev/null", "-e", "set sendmail=" + capture + "; set from=\"Dr Priya Raman <priya.raman@nhs.net>\"; set use_from=yes; set charset=utf-8; set send_charset=utf-8",
				"-s", subject, "-a"}, append(slices.Clone(paths), "--", "dsr@example.nhs.uk")...)
		}, 2, ""},
		{"s-nail", "s-nail", func(string) []string {
			return []string{"-:/", "-Sv15-compat", "-Smta=" + capture, "-Sfrom=Dr Priya Raman <priya.raman@nhs.net>", "-Sttycharset=utf-8",
				"-s", subject, "-a", paths[0], "-a", paths[1], "dsr@example.nhs.uk"}
		}, 2, ""},
		{"mpack", "mpack", func(out string) []string {
			return []string{"-s", subject, "-d", body, "-o", out, paths[0]}
		}, 1, raw8bit},
		{"Perl's MIME::Lite", "perl", func(string) []string { return append([]string{"-e", perlMIMELite, subject}, paths...) }, 2, raw8bit},
		{"Perl's Email::MIME", "perl", func(string) []string { return append([]string{"-e", perlEmailMIME, subject}, paths...) }, 2, asciiFallback},
		{"Python's email", "python3", func(string) []string { return append([]string{"-c", pythonEmail, subject}, paths...) }, 2, ""},
	} {
		t.Run(w.name, func(t *testing.T) {
			tool := needPeer(t, w.tool)
			out := filepath.Join(dir, strings.ReplaceAll(w.name, " ", "-")+".eml")
			cmd := exec.Command(tool, w.args(out)...)
			cmd.Env = append(os.Environ(), "CAPTURE="+out, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME="+dir)
			cmd.Stdin = bytes.NewReader([]byte("Dear DSR team,\n\nReferral attached.\n"))
			stdout, err := cmd.Output()
			if err != nil {
				stderr := ""
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("%s: %v: %s", w.tool, err, stderr)
			}
			if len(stdout) > 0 {
				if err := os.WriteFile(out, stdout, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("no message written: %v", err)
			}
			sub, err := New(Options{}).Parse(context.Background(), raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if sub.Subject != subject {
				t.Errorf("subject %q, want %q", sub.Subject, subject)
			}
			var got []string
			for _, a := range sub.Attachments {
				got = append(got, a.Filename)
				want := referral
				if a.Filename == names[1] {
					want = consent
				}
				if !bytes.Equal(a.Data, want) {
					t.Errorf("%s: %d bytes, not the form sent (%d)", a.Filename, len(a.Data), len(want))
				}
			}
			if want := names[:w.files]; !slices.Equal(got, want) {
				t.Errorf("attachments %q, want %q", got, want)
			}
			peer := pythonPeer[struct {
				Parts []pythonPart `json:"parts"`
			}](t, "email_parts.py", []string{out})[0].Parts
			var peerNames []string
			for _, p := range peer {
				peerNames = append(peerNames, sanitiseFilename(p.Filename))
			}
			switch w.peer {
			case raw8bit:
				// The names are raw UTF-8 in the header (RFC 6532), which
				// Python's header parser turns to U+FFFD; mutt and
				// Thunderbird show the letters, as we read them.
				// Everything else in the names agrees.
				if !slices.Equal(mapStrings(got, asciiOnly), mapStrings(peerNames, asciiOnly)) || !strings.ContainsRune(strings.Join(peerNames, ""), '\uFFFD') {
					t.Errorf("names %q, Python's email %q: want the same but for the 8-bit letters", got, peerNames)
				}
			case asciiFallback:
				// Email::MIME writes each name twice: in full (RFC 2231,
				// UTF-8) and as an ASCII stand-in, cut short. Python
				// takes the stand-in; we take the full name, as RFC
				// 2231's encoded form is meant to be taken over it
				// (RFC 6266 4.3 says so of HTTP's) and Thunderbird does.
				for i, n := range peerNames {
					if !strings.Contains(strings.Join(strings.Fields(string(raw)), " "), `filename="`+n+`"`) || n == got[i] {
						t.Errorf("Python's email reads %q: not the ASCII stand-in beside our %q", n, got[i])
					}
				}
			default:
				if !slices.Equal(got, peerNames) {
					t.Errorf("names %q, Python's email %q", got, peerNames)
				}
			}
			if sub.Referral == nil || !maps.Equal(sub.Referral.Values, clean.Referral.Values) {
				t.Errorf("referral not read as the sample's")
			}
			if w.files == 2 && (sub.Consent == nil || !maps.Equal(sub.Consent.Values, clean.Consent.Values)) {
				t.Errorf("consent not read as the sample's")
			}
		})
	}
}

// How Python's email package reads a writer's file names, where it does
// not read them as we do (TestMailersWriteReferrals).
const (
	raw8bit       = "raw 8-bit"
	asciiFallback = "ASCII stand-in"
)

// asciiOnly is s without its letters outside ASCII.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0x7F {
			return -1
		}
		return r
	}, s)
}

// mapStrings is f of each of ss.
func mapStrings(ss []string, f func(string) string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}
