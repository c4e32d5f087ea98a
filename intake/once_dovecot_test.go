package intake

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"dsr-intake/intake/outbox"
	"dsr-intake/internal/harness"
	"dsr-intake/parser"
)

// TestRunOnceSummaryDovecot: a `dsr run --once` that only finishes what a
// killed daemon left (emails decided but still in the inbox, and a move
// not recorded) decides nothing, and says what it moved and recorded.
func TestRunOnceSummaryDovecot(t *testing.T) {
	bin := buildDSR(t)
	dc := harness.NewDovecot(t)
	sink := harness.NewSMTPSink(t)
	dir := t.TempDir()
	cfgPath := daemonConfig(t, dc, sink, dir)
	sample := ""
	for _, name := range sampleNames(t) {
		if expectedOutcome(t, name) == "register" {
			sample = name
			break
		}
	}
	dc.Append(t, "INBOX", uniqueCopy(readSample(t, sample), "once-1@test.example"))
	dc.Append(t, "INBOX", uniqueCopy(readSample(t, sample), "once-2@test.example"))
	dc.Append(t, "Processed", uniqueCopy(readSample(t, sample), "once-3@test.example"))

	// The killed daemon decided all three and moved the third.
	ctx := context.Background()
	db := daemonStore(t, dir)
	composer := &outbox.Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net"}}
	p := &Pipeline{Parser: parser.New(parser.Options{}), Store: db, Composer: composer}
	for _, folder := range []string{"INBOX", "Processed"} {
		for _, m := range dc.Messages(t, folder) {
			if _, err := p.Process(ctx, Location{Mailbox: "INBOX", UIDValidity: 1, UID: m.UID}, m.Raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()

	out, err := exec.Command(bin, "run", "--config", cfgPath, "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("dsr run --once: %v\n%s", err, out)
	}
	for _, want := range []string{
		"processed 0 message(s)",
		"moved 2 message(s) out of the inbox: Processed 2; recorded 1 earlier move(s) found in the folders",
		`"msg":"run --once done"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if n := len(dc.Messages(t, "INBOX")); n != 0 {
		t.Errorf("%d messages left in the inbox", n)
	}
}
