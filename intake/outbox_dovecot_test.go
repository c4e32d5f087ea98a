package intake

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// daemonProc is the real dsr daemon running as a process, with its logs.
type daemonProc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

func startDaemon(t *testing.T, bin, cfgPath string) *daemonProc {
	t.Helper()
	p := &daemonProc{cmd: exec.Command(bin, "run", "--config", cfgPath), logs: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

// kill sends sig and waits for the process to end.
func (p *daemonProc) kill(sig syscall.Signal) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
}

// appendSamples puts n unique copies of the samples in the inbox
// (fillInbox) and returns the Message-IDs of those that will be queried.
func appendSamples(t *testing.T, dc *harness.Dovecot, n int, prefix string) (queried []string) {
	t.Helper()
	for id, folder := range fillInbox(t, dc, n, prefix) {
		if folder == "Queried" {
			queried = append(queried, id)
		}
	}
	return queried
}

// deliveredByInReplyTo counts the sink's messages by the Message-ID they
// answer (a query threads to the email it queries).
func deliveredByInReplyTo(t *testing.T, sink *harness.SMTPSink) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range sink.Messages() {
		sub, err := parser.New(parser.Options{}).Parse(context.Background(), m.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range sub.InReplyTo {
			out[strings.Trim(id, "<>")]++
		}
	}
	return out
}

// outage is the real daemon's set-up for the outbox's outage tests, with
// the retry clock shortened through the configuration: waits of 100ms
// doubling to 500ms (the defaults are 1s to an hour) for lifetime.
type outage struct {
	bin, dir, cfgPath string
	dc                *harness.Dovecot
	sink              *harness.SMTPSink
}

func startOutage(t *testing.T, lifetime string) outage {
	t.Helper()
	if testing.Short() {
		t.Skip("outage test: skipped with -short")
	}
	o := outage{bin: buildDSR(t), dc: harness.NewDovecot(t), sink: harness.NewSMTPSink(t), dir: t.TempDir()}
	o.cfgPath = daemonConfigWith(t, o.dc, o.sink, o.dir, sqliteDB(o.dir), "retry_initial = \"100ms\"\nretry_ceiling = \"500ms\"\nretry_lifetime = \""+lifetime+"\"")
	return o
}

// TestOutboxOutlastsOutageDovecot: the SMTP server answers 451 for longer
// than the old outbox lasted (eight tries), the daemon is killed and
// restarted twice during the outage, and once the server accepts again
// every query is delivered exactly once. The clock is shortened through
// the configuration: waits of 100ms doubling to 500ms, where the defaults
// are 1s to an hour.
func TestOutboxOutlastsOutageDovecot(t *testing.T) {
	o := startOutage(t, "2m")
	bin, dc, sink, dir, cfgPath := o.bin, o.dc, o.sink, o.dir, o.cfgPath
	const outage = 15 * time.Second
	outageEnds := time.Now().Add(outage)
	sink.RefuseUntil(outageEnds)
	queried := appendSamples(t, dc, 16, "outage")
	if len(queried) == 0 {
		t.Fatal("no sample is queried")
	}

	d := startDaemon(t, bin, cfgPath)
	for range 2 {
		time.Sleep(5 * time.Second)
		d.kill(syscall.SIGKILL)
		d = startDaemon(t, bin, cfgPath)
	}
	if time.Now().After(outageEnds) {
		t.Fatal("the restarts took longer than the outage: lengthen it")
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(deliveredByInReplyTo(t, sink)) < len(queried) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	// A little longer, for any duplicate to show.
	time.Sleep(time.Second)
	d.kill(syscall.SIGTERM)

	got := deliveredByInReplyTo(t, sink)
	for _, id := range queried {
		if got[id] != 1 {
			t.Errorf("the query about %s was delivered %d times, want once", id, got[id])
		}
	}
	if len(got) != len(queried) {
		t.Errorf("%d emails delivered, want the %d queries", len(got), len(queried))
	}
	refusals := sink.Refusals()
	if refusals <= 8*len(queried) {
		t.Errorf("%d refusals for %d queries: the outage did not outlast eight tries each", refusals, len(queried))
	}
	// Every query row is sent, after more answered tries than the old
	// outbox allowed; none was given up.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "dsr.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, state, tries FROM outbox WHERE kind = 'query'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, tries int64
		var state string
		if err := rows.Scan(&id, &state, &tries); err != nil {
			t.Fatal(err)
		}
		n++
		if state != store.OutboxSent || tries <= 8 {
			t.Errorf("outbox %d: %s after %d tries; want sent after more than 8", id, state, tries)
		}
	}
	if n != len(queried) {
		t.Errorf("%d query rows, want %d", n, len(queried))
	}
	if strings.Contains(d.logs.String(), "given up") || strings.Contains(d.logs.String(), "not delivered") {
		t.Errorf("something was given up:\n%s", d.logs.String())
	}
	t.Logf("%d queries, %d refusals over a %v outage with two restarts, each delivered once", len(queried), refusals, outage)
}

// TestOutboxGivesUpToReviewDovecot: with the server refusing for longer
// than the retry lifetime (3s here; 3 days by default), a query is given up,
// its case goes to the review queue as query_not_delivered, and the log
// says so as an error naming the case; a restart during the outage does
// not change that.
func TestOutboxGivesUpToReviewDovecot(t *testing.T) {
	o := startOutage(t, "3s")
	bin, dc, sink, dir, cfgPath := o.bin, o.dc, o.sink, o.dir, o.cfgPath
	sink.RefuseUntil(time.Now().Add(time.Hour))
	queried := appendSamples(t, dc, len(sampleNames(t)), "lost")
	if len(queried) == 0 {
		t.Fatal("no sample is queried")
	}

	d := startDaemon(t, bin, cfgPath)
	time.Sleep(2 * time.Second)
	d.kill(syscall.SIGTERM)
	first := d.logs.String()
	d = startDaemon(t, bin, cfgPath)
	db := daemonStore(t, dir)
	ctx := context.Background()
	lost := func() []store.ReviewItem {
		items, err := db.ReviewQueue(ctx, store.ReviewFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []store.ReviewItem
		for _, it := range items {
			if len(it.Codes) == 1 && it.Codes[0] == register.CodeQueryNotDelivered {
				out = append(out, it)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(lost()) < len(queried) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	d.kill(syscall.SIGTERM)
	logs := first + d.logs.String()

	items := lost()
	if len(items) != len(queried) {
		t.Fatalf("%d cases in review as query_not_delivered, want %d\n%s", len(items), len(queried), logs)
	}
	for _, it := range items {
		if it.CaseState != store.CaseInReview {
			t.Errorf("case %s is %s, want in review", it.CaseRef, it.CaseState)
		}
		line := ""
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, "query not delivered") && strings.Contains(l, `"case":"`+it.CaseRef+`"`) {
				line = l
			}
		}
		if line == "" {
			t.Errorf("no error logged naming case %s", it.CaseRef)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d emails delivered during the outage", n)
	}
	// /metrics shows them.
	rec := httptest.NewRecorder()
	NewMetrics(&Health{}, db).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := fmt.Sprintf("\ndsr_queries_not_delivered %d\n", len(queried)); !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics lacks %q:\n%s", strings.TrimSpace(want), rec.Body.String())
	}
}
