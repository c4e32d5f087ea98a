package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// quirkFiles are the damaged copies of the samples that make.py writes
// (testdata/mime-quirks/INDEX.md says how each was damaged).
func quirkFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "mime-quirks", "*.eml"))
	if err != nil || len(files) < 15 {
		t.Fatalf("%d damaged samples (want 15 or more): %v", len(files), err)
	}
	return files
}

// cleanSample is the sample a damaged copy was made from: the number
// its name starts with.
func cleanSample(t *testing.T, quirk string) string {
	t.Helper()
	num, _, _ := strings.Cut(filepath.Base(quirk), "-")
	m, err := filepath.Glob(filepath.Join("..", "testdata", "samples", num+"-*", "message.eml"))
	if err != nil || len(m) != 1 {
		t.Fatalf("no sample %s for %s: %v", num, quirk, err)
	}
	return m[0]
}

// TestMIMEQuirks reads each sample damaged the way a real mailer damages
// MIME and asserts the referral and consent come out exactly as from the
// clean email: the same attachments (name, type, bytes), the same fields
// and invalid fields, and no problem reported, since nothing was lost.
func TestMIMEQuirks(t *testing.T) {
	p := New(Options{})
	for _, file := range quirkFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			clean := parseFile(t, p, cleanSample(t, file))
			got := parseFile(t, p, file)
			if len(got.Problems) > 0 {
				t.Errorf("problems reported though nothing was lost: %q", got.Problems)
			}
			if clean.Referral == nil || clean.Consent == nil {
				t.Fatalf("the clean sample has no referral or no consent")
			}
			for _, pair := range []struct {
				name       string
				want, have *Form
			}{{"referral", clean.Referral, got.Referral}, {"consent", clean.Consent, got.Consent}} {
				if pair.have == nil {
					t.Errorf("no %s form read", pair.name)
					continue
				}
				if !maps.Equal(pair.have.Values, pair.want.Values) || !maps.Equal(pair.have.Invalid, pair.want.Invalid) {
					t.Errorf("%s differs from the clean one:\n got %v %v\nwant %v %v", pair.name,
						pair.have.Values, pair.have.Invalid, pair.want.Values, pair.want.Invalid)
				}
			}
			if len(got.Attachments) != len(clean.Attachments) {
				t.Fatalf("%d attachments, the clean email has %d", len(got.Attachments), len(clean.Attachments))
			}
			for i, a := range got.Attachments {
				c := clean.Attachments[i]
				wantName := c.Filename
				if strings.Contains(file, "utf7") && strings.Contains(wantName, "Referral") {
					wantName = strings.Replace(wantName, " - ", " \u2013 ", 1)
				}
				if a.Filename != wantName || a.ContentType != c.ContentType || a.Kind != c.Kind || !bytes.Equal(a.Data, c.Data) {
					t.Errorf("attachment %d: %q %s %s %d bytes, want %q %s %s %d bytes", i,
						a.Filename, a.ContentType, a.Kind, len(a.Data), wantName, c.ContentType, c.Kind, len(c.Data))
				}
			}
			if strings.Contains(got.Body, "begin 644") {
				t.Errorf("the uuencoded files were left in the body")
			}
			if !strings.Contains(file, "utf7") && strings.TrimSpace(got.Body) != strings.TrimSpace(clean.Body) {
				t.Errorf("body %q, want %q", got.Body, clean.Body)
			}
			if strings.Contains(file, "utf7") {
				if !strings.Contains(got.Body, "attached \u2013 Fran\u00e7oise") {
					t.Errorf("UTF-7 body not decoded: %q", got.Body)
				}
				if got.Subject != "DSR referral \u2013 L.C." {
					t.Errorf("UTF-7 subject = %q", got.Subject)
				}
			}
		})
	}
}

func parseFile(t *testing.T, p *Parser, file string) *Submission {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := p.Parse(context.Background(), raw)
	if err != nil {
		t.Fatalf("Parse %s: %v", file, err)
	}
	return sub
}

// pythonPart is one attachment as scripts/compat/email_parts.py lists it.
type pythonPart struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// TestMIMEPartsMatchPython compares the attachments found in every
// sample and damaged sample with those Python's email package finds: the
// same file names, content types and decoded sizes, in order. Python does
// not look for uuencoded files inside a text body, so there it finds none
// and the parser its two forms.
func TestMIMEPartsMatchPython(t *testing.T) {
	files := quirkFiles(t)
	samples, _ := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	files = append(files, samples...)
	recs := pythonPeer[struct {
		Parts []pythonPart `json:"parts"`
	}](t, "email_parts.py", files)
	p := New(Options{})
	for i, rec := range recs {
		sub := parseFile(t, p, files[i])
		var ours []pythonPart
		for _, a := range sub.Attachments {
			ours = append(ours, pythonPart{a.Filename, a.ContentType, a.Size})
		}
		want := rec.Parts
		for j := range want {
			want[j].Filename = sanitiseFilename(want[j].Filename)
		}
		if strings.HasSuffix(files[i], "uuencode-in-body.eml") {
			if len(want) != 0 || len(ours) != 2 {
				t.Errorf("%s: Python %v, ours %v; want none and two", files[i], want, ours)
			}
			continue
		}
		if !slices.Equal(ours, want) {
			t.Errorf("%s:\n ours   %v\n Python %v", files[i], ours, want)
		}
	}
}

// pythonPeer runs scripts/compat/script, the peer written with Python's
// email package, over files and returns its record for each, in order
// (one JSON line a file, decoded into T). It skips the test without
// python3, and fails it when a line names another file or holds the
// script's error.
func pythonPeer[T any](t *testing.T, script string, files []string) []T {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	out, err := exec.Command(py, append([]string{filepath.Join("..", "scripts", "compat", script)}, files...)...).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%s: %d results for %d files", script, len(lines), len(files))
	}
	recs := make([]T, len(lines))
	for i, line := range lines {
		var head struct {
			File  string `json:"file"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &head); err != nil || head.File != files[i] || head.Error != "" {
			t.Fatalf("%s, line %d: %v %q %s", script, i+1, err, head.File, head.Error)
		}
		if err := json.Unmarshal([]byte(line), &recs[i]); err != nil {
			t.Fatalf("%s, line %d: %v", script, i+1, err)
		}
	}
	return recs
}
