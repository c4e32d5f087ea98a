package intake

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dsr-intake/internal/harness"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

var (
	dsrBinOnce sync.Once
	dsrBin     string
	dsrBinErr  error
)

// buildDSR builds the dsr command once per test run, so tests can run the
// real daemon as a separate process and kill it.
func buildDSR(t *testing.T) string {
	t.Helper()
	dsrBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dsr-bin-")
		if err != nil {
			dsrBinErr = err
			return
		}
		dsrBin = filepath.Join(dir, "dsr")
		out, err := exec.Command("go", "build", "-o", dsrBin, "../cmd/dsr").CombinedOutput()
		if err != nil {
			dsrBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if dsrBinErr != nil {
		t.Fatal(dsrBinErr)
	}
	return dsrBin
}

// uniqueCopy gives a sample a Message-ID of its own (and so a content hash
// of its own), keeping the original as another header.
func uniqueCopy(raw []byte, id string) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), "message-id:") {
			lines[i] = "X-Original-" + l
		}
	}
	out := "Message-ID: <" + id + ">\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	return append([]byte(out), body...)
}

// daemonConfig writes a configuration for the dsr binary against the test
// Dovecot and SMTP sink, with its register on SQLite in dir.
func daemonConfig(t *testing.T, dc *harness.Dovecot, sink *harness.SMTPSink, dir string) string {
	t.Helper()
	return daemonConfigWith(t, dc, sink, dir, sqliteDB(dir), "")
}

// sqliteDB is the register in dir that daemonConfig configures.
func sqliteDB(dir string) crashDB {
	return crashDB{driver: "sqlite", dsn: filepath.Join(dir, "dsr.db")}
}

// daemonStore opens the SQLite register of the daemon configured in dir
// (by daemonConfig), closed when the test ends.
func daemonStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	return openDaemonStore(t, dir, sqliteDB(dir))
}

// openDaemonStore opens the register db of the daemon configured in dir,
// with the keyring there, closed when the test ends.
func openDaemonStore(t *testing.T, dir string, cdb crashDB) *store.Store {
	t.Helper()
	keys, err := store.LoadKeyring("file:" + filepath.Join(dir, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Options{Driver: cdb.driver, DSN: cdb.dsn, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// daemonConfigWith is daemonConfig with the register on db and more [smtp]
// settings (TOML lines).
func daemonConfigWith(t *testing.T, dc *harness.Dovecot, sink *harness.SMTPSink, dir string, db crashDB, smtpExtra string) string {
	t.Helper()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := write("keyring", string(keys.Marshal()))
	imapPw := write("imap-password", dc.Password)
	smtpPw := write("smtp-password", sink.Password)
	cfg := fmt.Sprintf(`
[imap]
addr = %q
tls = "implicit"
ca_file = %q
username = %q
password = { file = %q }

[smtp]
addr = %q
tls = "starttls"
ca_file = %q
username = %q
password = { file = %q }
from = "bromley.dsr@nhs.net"
send_lease = "5s"
%s

[database]
driver = %q
dsn = %q

[keys]
file = %q

[intake]
poll = "@every 1m"
max_attempts = 3
max_queries_per_case = 100
max_queries_per_sender_per_day = 10000

[log]
format = "json"
level = "info"
`, dc.Addr, dc.CAFile, dc.User, imapPw, sink.Addr, sink.CAFile, sink.User, smtpPw, smtpExtra,
		db.driver, db.dsn, keyFile)
	return write("dsr.toml", cfg)
}

// TestCrashRecoveryDovecot kills the real daemon with SIGKILL at random
// points while it works through a few hundred emails, restarts it each
// time, and then checks that every email ended in exactly one folder, the
// one of its outcome, with exactly one effect, and that every query was
// written once and delivered.
func TestCrashRecoveryDovecot(t *testing.T) { crashRecovery(t, false) }

// TestCrashRecoverySentFolderDovecot is the crash test with the SMTP sink
// filing what it accepts in the mailbox's Sent Items, as Microsoft 365
// does for SMTP client submission, and smtp.sent_folder set: an email a
// killed daemon sent is found there and not sent again.
func TestCrashRecoverySentFolderDovecot(t *testing.T) { crashRecovery(t, true) }

func crashRecovery(t *testing.T, sentFolder bool) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	dir := t.TempDir()
	testCrashRecovery(t, dir, sqliteDB(dir), sentFolder)
}

// TestCrashRecoveryPostgresDovecot is TestCrashRecoveryDovecot with the
// register on PostgreSQL, where a decision commits as a few pipelines of
// statements (register/store's applyPipelined): a kill between them must
// leave none of it.
func TestCrashRecoveryPostgresDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	testCrashRecovery(t, t.TempDir(), crashDB{driver: "postgres", dsn: harness.PostgresDB(t, "dsr_crash_")}, false)
}

// crashDB is the register's database for the crash tests.
type crashDB struct{ driver, dsn string }

// sqlDriver is the database/sql driver and DSN that read db directly
// (SQLite read-only).
func (db crashDB) sqlDriver() (driver, dsn string) {
	if db.driver == "sqlite" {
		return "sqlite", "file:" + db.dsn + "?mode=ro"
	}
	return "pgx", db.dsn
}

func testCrashRecovery(t *testing.T, dir string, cdb crashDB, sentFolder bool) {
	bin := buildDSR(t)
	dc := harness.NewDovecot(t)
	sink := harness.NewSMTPSink(t)
	// The server takes a while to answer after taking each email, as
	// Microsoft 365 does: a kill in that time is a kill after the send.
	sink.AnswerAfter(300 * time.Millisecond)
	extra := ""
	if sentFolder {
		sink.FileSentCopies(t, dc, "Sent Items")
		extra = `sent_folder = "Sent Items"`
	}
	cfgPath := daemonConfigWith(t, dc, sink, dir, cdb, extra)

	const total = 200
	names := sampleNames(t)
	wantFolder := map[string]string{} // Message-ID -> folder
	folderOf := map[string]string{"register": "Processed", "query": "Queried", "review": "Review", "ignore": "Ignored"}
	wantQueries := 0
	c := dc.Client(t)
	for i := 0; i < total; i++ {
		name := names[i%len(names)]
		id := fmt.Sprintf("crash-%03d@test.example", i)
		raw := uniqueCopy(readSample(t, name), id)
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		o := expectedOutcome(t, name)
		wantFolder[id] = folderOf[o]
		if o == "query" {
			wantQueries++
		}
	}
	c.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for round := 0; round < 12; round++ {
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
		if strings.Contains(logs.String(), `"level":"ERROR"`) && strings.Contains(logs.String(), "panic") {
			t.Fatalf("daemon panicked:\n%s", logs.String())
		}
	}
	// Then let it finish: --once until the inbox is empty, and at least
	// once, since it also drains the outbox (a daemon fast enough to empty
	// the inbox between kills may have been killed before sending). Emails
	// a killed daemon had claimed but not sent are left to it for the
	// send lease (5s here): wait that out first, so that they are sent
	// by the last run.
	time.Sleep(5 * time.Second)
	for i := 0; i == 0 || (i < 10 && len(dc.Messages(t, "INBOX")) > 0); i++ {
		out, err := exec.Command(bin, "run", "--config", cfgPath, "--once").CombinedOutput()
		if err != nil {
			t.Fatalf("dsr run --once: %v\n%s", err, out)
		}
	}

	db := openDaemonStore(t, dir, cdb)
	ctx := context.Background()

	// Every message in exactly one folder, the right one, and recorded as
	// decided with the outcome of that folder.
	outcomeOf := map[string]register.Outcome{"Processed": register.OutcomeRegister, "Queried": register.OutcomeQuery,
		"Review": register.OutcomeReview, "Ignored": register.OutcomeIgnore}
	seen := map[string]string{}
	for _, folder := range []string{"INBOX", "Processed", "Queried", "Review", "Ignored", "Quarantine"} {
		for _, m := range dc.Messages(t, folder) {
			sub, err := parser.New(parser.Options{}).Parse(context.Background(), m.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if prev, dup := seen[sub.MessageID]; dup {
				t.Errorf("%s is in both %s and %s", sub.MessageID, prev, folder)
			}
			seen[sub.MessageID] = folder
			st, err := db.MessageState(ctx, parser.Hash(m.Raw))
			if err != nil {
				t.Fatal(err)
			}
			if st.Outcome != outcomeOf[folder] || (st.State != store.MessageDecided && st.State != store.MessageMoved) {
				t.Errorf("%s in %s: db says state %q outcome %q", sub.MessageID, folder, st.State, st.Outcome)
			}
		}
	}
	for id, want := range wantFolder {
		if seen[id] != want {
			t.Errorf("%s is in %q, want %q", id, seen[id], want)
		}
	}

	// Exactly one effect each: the review items and the register's records.
	queue, err := db.ReviewQueue(ctx, store.ReviewFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wantReview := 0
	for _, f := range wantFolder {
		if f == "Review" {
			wantReview++
		}
	}
	if len(queue) != wantReview {
		t.Errorf("%d review items, want %d", len(queue), wantReview)
	}
	records, err := db.ListRecords(ctx, store.RecordFilter{Actor: "test", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 {
		t.Errorf("%d records, want 3: re-referrals of the same child must update one record", len(records))
	}

	// Queries: every one delivered, under one Message-ID each. A kill
	// between the server's acceptance and the outbox row's commit can make
	// one email go twice (with the same Message-ID, so mail clients show
	// it once); that is the only duplicate allowed, at most one per kill.
	byID := map[string]int{}
	for _, m := range sink.Messages() {
		sub, err := parser.New(parser.Options{}).Parse(ctx, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		byID[sub.MessageID]++
	}
	if len(byID) != wantQueries {
		t.Errorf("%d distinct queries delivered, want %d", len(byID), wantQueries)
		for _, row := range unsentOutbox(t, cdb) {
			t.Logf("unsent: %s", row)
		}
	}
	dups := 0
	for _, n := range byID {
		dups += n - 1
	}
	if dups > kills {
		t.Errorf("%d duplicate deliveries for %d kills", dups, kills)
	}
	// No row left saying its message is in the inbox when it is not: a
	// kill between a move and its recording is reconciled on the next
	// start.
	stuck := stuckRows(t, cdb, len(dc.Messages(t, "INBOX")))
	if stuck != 0 {
		t.Errorf("%d rows decided but not recorded as moved, their messages gone from the inbox", stuck)
	}
	if sentFolder {
		// Every email the server took is in Sent Items before the server
		// answers, so none is sent twice.
		if dups != 0 {
			t.Errorf("%d duplicate deliveries with the sent folder look-up, want none", dups)
		}
		if n := len(dc.Messages(t, "Sent Items")); n != len(sink.Messages()) {
			t.Errorf("%d copies in Sent Items for %d emails accepted", n, len(sink.Messages()))
		}
	}
	t.Logf("%d emails, %d kills, %d queries delivered, %d resent after a kill, %d stuck rows (sent folder look-up: %v)",
		total, kills, len(byID), dups, stuck, sentFolder)
}

// stuckRows counts the messages recorded as decided in the inbox beyond
// the inboxLeft still there.
func stuckRows(t *testing.T, cdb crashDB, inboxLeft int) int {
	t.Helper()
	db, err := sql.Open(cdb.sqlDriver())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM messages WHERE state = 'decided'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return max(n-inboxLeft, 0)
}

// unsentOutbox describes the outbox rows not sent, for a failure message.
func unsentOutbox(t *testing.T, cdb crashDB) []string {
	db, err := sql.Open(cdb.sqlDriver())
	if err != nil {
		t.Log(err)
		return nil
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, state, attempts, COALESCE(CAST(claimed_until AS TEXT), ''), CAST(next_try_at AS TEXT) FROM outbox WHERE state <> 'sent'`)
	if err != nil {
		t.Log(err)
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, attempts int64
		var state, claimed, next string
		if err := rows.Scan(&id, &state, &attempts, &claimed, &next); err != nil {
			t.Log(err)
			return out
		}
		out = append(out, fmt.Sprintf("outbox %d %s attempts=%d claimed_until=%s next_try_at=%s", id, state, attempts, claimed, next))
	}
	return out
}
