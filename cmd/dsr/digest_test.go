package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDigestCommand: preview prints a digest and queues nothing; send
// queues it for every recipient; unknown names and bad usage are refused.
func TestDigestCommand(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, `[intake]
review_url = "https://dsr.example.nhs.uk/review"
[[digest]]
name = "panel"
schedule = "0 7 * * 1"
recipients = ["panel@nhs.net", "chair@nhs.net"]
[[digest]]
name = "queue"
schedule = "CRON_TZ=UTC 30 8 * * *"
recipients = ["coord@nhs.net"]
sections = ["queue", "health"]
`)
	dsr := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := run(ctx, append([]string{"digest"}, args...), nil, &o, &e)
		return code, o.String(), e.String()
	}
	code, o, e := dsr("preview", "--config", cfg)
	if code != 0 || !strings.Contains(o, "Subject: Bromley DSR digest: panel") || !strings.Contains(o, "Subject: Bromley DSR digest: queue") ||
		!strings.Contains(o, "Children on the register: 0") || !strings.Contains(o, "https://dsr.example.nhs.uk/review") {
		t.Fatalf("preview: %d\n%s\n%s", code, o, e)
	}
	// The queue digest has only its two sections.
	_, o, _ = dsr("preview", "--config", cfg, "queue")
	if strings.Contains(o, "The register") || !strings.Contains(o, "The review queue") || !strings.Contains(o, "The intake") {
		t.Fatalf("sections of the queue digest:\n%s", o)
	}
	if code, o, _ = dsr("preview", "--config", cfg, "--html", "panel"); code != 0 || !strings.Contains(o, "<h2") {
		t.Fatalf("html preview: %d\n%s", code, o)
	}
	if code, o, _ = dsr("send", "--config", cfg, "panel"); code != 0 || !strings.Contains(o, `queued "panel" for panel@nhs.net, chair@nhs.net`) {
		t.Fatalf("send: %d\n%s", code, o)
	}
	// The next preview counts from the digest just sent.
	if _, o, _ = dsr("preview", "--config", cfg, "panel"); !strings.Contains(o, "Since the last digest") {
		t.Fatalf("preview after send:\n%s", o)
	}
	for _, args := range [][]string{{"send", "--config", cfg, "nosuch"}, {"send", "--config", cfg}, {"frobnicate"}} {
		if code, _, e := dsr(args...); code != 2 || e == "" {
			t.Errorf("dsr digest %v: exit %d, %q", args, code, e)
		}
	}
}
