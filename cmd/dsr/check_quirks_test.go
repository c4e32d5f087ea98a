package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCheckMIMEQuirks runs `dsr check --json` over the samples damaged
// the way real mailers damage MIME (parser/testdata/mime-quirks) and
// asserts each comes out exactly as its clean sample: the same outcome,
// reasons, referral and consent.
func TestCheckMIMEQuirks(t *testing.T) {
	quirks, err := filepath.Glob(filepath.Join("..", "..", "parser", "testdata", "mime-quirks", "*.eml"))
	if err != nil || len(quirks) < 15 {
		t.Fatalf("%d damaged samples: %v", len(quirks), err)
	}
	clean := map[string]string{}
	var files []string
	for _, q := range quirks {
		num, _, _ := strings.Cut(filepath.Base(q), "-")
		if _, ok := clean[num]; !ok {
			m, err := filepath.Glob(filepath.Join("..", "..", "testdata", "samples", num+"-*", "message.eml"))
			if err != nil || len(m) != 1 {
				t.Fatalf("no sample %s: %v", num, err)
			}
			clean[num] = m[0]
			files = append(files, m[0])
		}
	}
	files = append(files, quirks...)
	byFile := checkJSON(t, files)
	for _, q := range quirks {
		num, _, _ := strings.Cut(filepath.Base(q), "-")
		got, want := byFile[q], byFile[clean[num]]
		if want.Outcome == "" || want.Referral == nil || want.Consent == nil {
			t.Fatalf("sample %s: no outcome or forms: %+v", num, want)
		}
		if got.Outcome != want.Outcome || !reflect.DeepEqual(got.Reasons, want.Reasons) ||
			!reflect.DeepEqual(got.Referral, want.Referral) || !reflect.DeepEqual(got.Consent, want.Consent) {
			t.Errorf("%s: outcome %s %s, the clean sample %s %s (or the forms differ)",
				filepath.Base(q), got.Outcome, got.Reasons, want.Outcome, want.Reasons)
		}
		if len(got.Problems) > 0 {
			t.Errorf("%s: problems %q", filepath.Base(q), got.Problems)
		}
	}
}

// checkResultJSON is what a test compares of one line of `dsr check --json`.
type checkResultJSON struct {
	File     string            `json:"file"`
	Outcome  string            `json:"outcome"`
	Reasons  []json.RawMessage `json:"reasons"`
	Referral map[string]any    `json:"referral"`
	Consent  map[string]any    `json:"consent"`
	Problems []string          `json:"problems"`
}

// checkJSON runs `dsr check --json` on the sample's reference date over
// files and gives each file's result.
func checkJSON(t *testing.T, files []string) map[string]checkResultJSON {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"check", "--json", "--today", "2026-11-25"}, files...), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	byFile := map[string]checkResultJSON{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r checkResultJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		byFile[r.File] = r
	}
	return byFile
}
