package parser

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// expectedSample is the part of a sample's expected.json the parser answers for.
type expectedSample struct {
	Outcome string            `json:"outcome"`
	Fields  map[string]string `json:"fields"`
}

// TestParseSamples reads every sample email and checks the fields its
// expected.json names, from whichever form carries them.
func TestParseSamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i]) // the sample folders, not the README beside them
	}
	p := New(Options{})
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "message.eml"))
			if err != nil {
				t.Fatal(err)
			}
			var exp expectedSample
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			sub, err := p.Parse(context.Background(), raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if exp.Outcome == "ignore" && !sub.AutoReply {
				t.Errorf("an automatic reply was not recognised")
			}
			for name, want := range exp.Fields {
				got := sub.Referral.Get(name)
				if _, onReferral := Spec(Referral, name); !onReferral || sub.Referral == nil {
					got = sub.Consent.Get(name)
				}
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, a := range sub.Attachments {
				if a.Kind == KindUnreadable {
					t.Errorf("attachment %s unreadable: %s", a.Filename, a.Error)
				}
			}
		})
	}
}
