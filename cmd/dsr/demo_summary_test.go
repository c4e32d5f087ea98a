package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/register"
)

// lockedBuffer is a bytes.Buffer the demo's goroutines can write to while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoSummary runs `dsr demo` over the samples and waits for the line
// that says what the intake decided: it must come after the demo's banner,
// and count exactly the outcomes the samples' expected.json files give.
func TestDemoSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	samples := filepath.Join("..", "..", "testdata", "samples")
	files, err := filepath.Glob(filepath.Join(samples, "*", "expected.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	want := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var exp struct{ Outcome string }
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want[exp.Outcome]++
	}
	// Written out here, not by demoSummary, so the test checks the words.
	var parts []string
	for _, o := range []struct{ outcome, word string }{
		{"register", "registered"}, {"query", "queried"}, {"review", "for review"}, {"ignore", "ignored"},
	} {
		if n := want[o.outcome]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o.word))
		}
	}
	wantLine := fmt.Sprintf("demo inbox processed: %d emails — %s", len(files), strings.Join(parts, ", "))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- cmdDemo(ctx, []string{"--samples", samples, "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(stdout.String(), "demo inbox processed:") {
		select {
		case c := <-code:
			t.Fatalf("dsr demo ended (exit %d) before its summary:\n%s\n%s", c, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no summary within 90s:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("dsr demo exit %d: %s", c, stderr.String())
	}
	out := stdout.String()
	banner := strings.Index(out, "Press Ctrl-C to stop.")
	var got string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "demo inbox processed:") {
			got = line
		}
	}
	if got != wantLine {
		t.Errorf("summary %q, want %q", got, wantLine)
	}
	if banner < 0 || strings.Index(out, "demo inbox processed:") < banner {
		t.Errorf("the summary is not after the banner:\n%s", out)
	}
}

func TestDemoSummaryWords(t *testing.T) {
	tests := []struct {
		counts map[register.Outcome]int
		want   string
	}{
		{map[register.Outcome]int{register.OutcomeRegister: 3, register.OutcomeQuery: 2, register.OutcomeReview: 2, register.OutcomeIgnore: 1},
			"demo inbox processed: 8 emails — 3 registered, 2 queried, 2 for review, 1 ignored"},
		{map[register.Outcome]int{register.OutcomeRegister: 1},
			"demo inbox processed: 1 email — 1 registered"},
		{map[register.Outcome]int{register.OutcomeIgnore: 2, "quarantined": 1, register.OutcomeQuery: 0},
			"demo inbox processed: 3 emails — 2 ignored, 1 quarantined"},
		{map[register.Outcome]int{register.OutcomeReview: 1, "surprise": 2},
			"demo inbox processed: 3 emails — 1 for review, 2 surprise"},
	}
	for _, tc := range tests {
		if got := demoSummary(tc.counts); got != tc.want {
			t.Errorf("demoSummary(%v) = %q, want %q", tc.counts, got, tc.want)
		}
	}
}
