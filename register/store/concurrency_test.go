package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dsr-intake/parser"
)

// The two-process test re-runs this test binary as children, selected by
// these variables, rather than through a TestMain, which the package's
// other tests would have to share.
const (
	stChildEnv      = "DSR_STORE_TEST_CHILD" // child number
	stChildDSNEnv   = "DSR_STORE_TEST_CHILD_DSN"
	stChildKeysEnv  = "DSR_STORE_TEST_CHILD_KEYS"
	stChildStartEnv = "DSR_STORE_TEST_CHILD_START" // unix nanoseconds: both start together
)

var stConcurrentNHS = []string{"9993149586", "9995628198", "9991058834", "9999437753", "9990920516"}

// stConcurrentMessages is the mail both children apply: five children,
// several referrals each (re-referrals), every third one lacking consent
// so it is queried and puts an email in the outbox.
func stConcurrentMessages() []Incoming {
	rags := []string{"Amber", "Red", "Green", "Blue"}
	var out []Incoming
	for i := range 15 {
		c := stChild{First: "Child" + strconv.Itoa(i%5), Surname: "Concurrent", NHS: stConcurrentNHS[i%5], DOB: "2014-01-0" + strconv.Itoa(1+i%5), RAG: rags[i%4]}
		sub := &parser.Submission{Referral: stReferral(c), From: fmt.Sprintf("referrer%d@example.org", i%3)}
		if i%3 != 0 {
			sub.Consent = stConsent(c, parser.BasisParental)
		}
		out = append(out, stMessage(fmt.Sprintf("conc-%d@example.org", i), sub))
	}
	return out
}

// TestStoreChildProcess is one of the two processes of
// TestStorePostgresConcurrent; run by itself it skips.
func TestStoreChildProcess(t *testing.T) {
	who := os.Getenv(stChildEnv)
	if who == "" {
		t.Skip("helper process for TestStorePostgresConcurrent")
	}
	keys, err := LoadKeyring("env:" + stChildKeysEnv)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := strconv.ParseInt(os.Getenv(stChildStartEnv), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	ctx := context.Background()
	// Both children open (and so migrate) at the same moment.
	s, err := Open(ctx, Options{Driver: "postgres", DSN: os.Getenv(stChildDSNEnv), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs := stConcurrentMessages()
	if who == "1" {
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, in := range msgs {
		a, err := s.Apply(ctx, in, stRules(in.Submission), stCompose(in.Submission))
		if err != nil {
			t.Fatalf("apply %s: %v", in.MessageID, err)
		}
		fmt.Fprintf(out, "CHILD applied %s %v %s %d\n", in.Hash, a.Duplicate, a.Case.Ref, a.RecordID)
		// Send as we go, so claims race with the other child's applies.
		if err := stSendDue(ctx, s, out); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := stSendDue(ctx, s, out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stSendDue(ctx context.Context, s *Store, out *bufio.Writer) error {
	for {
		items, err := s.ClaimOutbox(ctx, time.Now(), 2, time.Minute)
		if err != nil || len(items) == 0 {
			return err
		}
		for _, it := range items {
			fmt.Fprintf(out, "CHILD sent %d\n", it.ID)
			if err := s.MarkSent(ctx, it.ID, time.Now()); err != nil {
				return err
			}
		}
	}
}

// TestStorePostgresConcurrent runs two processes applying the same mail and
// sending the outbox against one PostgreSQL: no case reference, record or
// sent email may come out twice, and no reference number may be skipped.
func TestStorePostgresConcurrent(t *testing.T) {
	p := stNewPostgres(t)
	o := p.newDB(t)
	keys := stKeys(t)
	start := time.Now().Add(700 * time.Millisecond)
	outs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStoreChildProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), stChildEnv+"="+strconv.Itoa(i), stChildDSNEnv+"="+o.DSN,
				stChildKeysEnv+"="+string(keys.Marshal()), stChildStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10))
			cmd.Stdout = &outs[i]
			cmd.Stderr = &outs[i]
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i].String())
		}
	}

	applied := map[string]int{} // hash -> times applied (not as a duplicate)
	perChild := [2]int{}
	refs := map[string]bool{}
	sent := map[int64]int{}
	for i := range 2 {
		for _, line := range strings.Split(outs[i].String(), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 4 && f[0] == "CHILD" && f[1] == "applied":
				if f[3] == "false" {
					applied[f[2]]++
					perChild[i]++
					if len(f) >= 5 {
						if refs[f[4]] && f[4] != "" {
							// A re-referral gets a new case; one case per message.
							t.Errorf("case reference %s given to two messages", f[4])
						}
						refs[f[4]] = true
					}
				}
			case len(f) == 3 && f[0] == "CHILD" && f[1] == "sent":
				id, _ := strconv.ParseInt(f[2], 10, 64)
				sent[id]++
			}
		}
	}
	msgs := stConcurrentMessages()
	t.Logf("messages applied by each child: %v", perChild)
	for _, in := range msgs {
		if applied[in.Hash] != 1 {
			t.Errorf("message %s applied %d times", in.MessageID, applied[in.Hash])
		}
	}

	s := stOpen(t, o, keys)
	ctx := context.Background()
	// Whatever the children left unsent (an email written after the other
	// child's last claim) is sent now.
	items, err := s.ClaimOutbox(ctx, time.Now(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		sent[it.ID]++
	}
	var outboxIDs []int64
	if err := s.db.Select(&outboxIDs, "SELECT id FROM outbox"); err != nil {
		t.Fatal(err)
	}
	if len(outboxIDs) != 5 {
		t.Errorf("%d outbox rows, want 5 (one per query)", len(outboxIDs))
	}
	for _, id := range outboxIDs {
		if sent[id] != 1 {
			t.Errorf("outbox row %d sent %d times", id, sent[id])
		}
	}
	var cases struct {
		N      int `db:"n"`
		MaxSeq int `db:"max_seq"`
	}
	if err := s.db.Get(&cases, "SELECT COUNT(*) AS n, MAX(seq) AS max_seq FROM cases WHERE year = 2026"); err != nil {
		t.Fatal(err)
	}
	if cases.N != len(msgs) || cases.MaxSeq != len(msgs) {
		t.Errorf("%d cases, highest number %d; want %d and no gaps", cases.N, cases.MaxSeq, len(msgs))
	}
	var records int
	if err := s.db.Get(&records, "SELECT COUNT(*) FROM records"); err != nil {
		t.Fatal(err)
	}
	if records != len(stConcurrentNHS) {
		t.Errorf("%d records, want one per child (%d)", records, len(stConcurrentNHS))
	}
	for _, nhs := range stConcurrentNHS {
		r, err := s.RecordByNHS(ctx, nhs, "test")
		if err != nil {
			t.Fatalf("record %s: %v", nhs, err)
		}
		// Children 0..4 get three messages each, of which those with
		// consent (i%3 != 0) register.
		if len(r.Referrals) != 2 || len(r.RAGHistory) == 0 {
			t.Errorf("record %d: %d referrals, %d RAG changes", r.ID, len(r.Referrals), len(r.RAGHistory))
		}
	}
}
