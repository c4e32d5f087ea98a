package intake

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"dsr-intake/register/store"
)

// TestDaemonSurvivesRestartsDovecot runs the daemon (IDLE, reconnects) and
// the outbox sender while Dovecot is restarted mid-run and the SMTP server
// refuses mail for a while: nothing is lost and nothing is done twice.
func TestDaemonSurvivesRestartsDovecot(t *testing.T) {
	e := newE2E(t)
	e.sender.Now = nil // real time: retries are scheduled by the clock
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	e.sink.RefuseNext(3) // the SMTP server is "down" for the first attempts
	wg.Add(2)
	go func() { defer wg.Done(); e.sender.Run(ctx, 200*time.Millisecond) }()
	go func() { defer wg.Done(); _ = e.daemon.Run(ctx) }()

	names := sampleNames(t)
	const total = 24
	wantQueries := 0
	for i := 0; i < total; i++ {
		name := names[i%len(names)]
		e.dc.Append(t, "INBOX", uniqueCopy(readSample(t, name), fmt.Sprintf("restart-%02d@test.example", i)))
		if expectedOutcome(t, name) == "query" {
			wantQueries++
		}
		if i == total/2 {
			e.dc.Restart(t) // mid-run, with the daemon connected or idling
		}
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		done := len(e.dc.Messages(t, "INBOX")) == 0 && len(e.sink.Messages()) >= wantQueries
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if n := len(e.dc.Messages(t, "INBOX")); n != 0 {
		t.Fatalf("%d messages still in INBOX after the restart", n)
	}
	moved := 0
	for _, f := range []string{"Processed", "Queried", "Review", "Ignored"} {
		moved += len(e.dc.Messages(t, f))
	}
	if moved != total {
		t.Errorf("%d messages in the outcome folders, want %d", moved, total)
	}
	if q := e.dc.Messages(t, "Quarantine"); len(q) != 0 {
		t.Errorf("%d messages quarantined", len(q))
	}
	if got := len(e.sink.Messages()); got != wantQueries {
		t.Errorf("sink received %d queries, want %d (each once, after the refusals)", got, wantQueries)
	}
	queue, err := e.store.ReviewQueue(context.Background(), store.ReviewFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if want := total / len(names) * 2; len(queue) != want {
		t.Errorf("%d review items, want %d", len(queue), want)
	}
	if h := e.daemon.Health.Snapshot(); h.LastFetchOK.IsZero() {
		t.Error("health does not show a successful fetch")
	}
}
