package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestSeedDemoRegister: the demo register holds children in all four
// ratings, referred over the last 12 weeks, with actions overdue and due
// soon, valid test-range NHS numbers, and nothing sent or to review.
func TestSeedDemoRegister(t *testing.T) {
	ctx := context.Background()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := &demoClock{}
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "dsr.db"), Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	line, err := seedDemoRegister(ctx, st, clock)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "demo register: 12 children referred over the last 12 weeks (Red 3, Amber 3, Green 3, Blue 3); ") {
		t.Errorf("summary %q", line)
	}
	recs, err := st.ExportRecords(ctx, "test", "test")
	if err != nil || len(recs) != len(demoChildren) {
		t.Fatalf("%d records (%v)", len(recs), err)
	}
	now := time.Now()
	var oldest, newest time.Time
	for _, r := range recs {
		if !register.ValidNHSNumber(r.NHSNumber) || !strings.HasPrefix(r.NHSNumber, "999") {
			t.Errorf("NHS number %s is not a valid test-range number", r.NHSNumber)
		}
		if oldest.IsZero() || r.CreatedAt.Before(oldest) {
			oldest = r.CreatedAt
		}
		if r.CreatedAt.After(newest) {
			newest = r.CreatedAt
		}
	}
	if now.Sub(oldest) < 11*7*24*time.Hour || now.Sub(oldest) > (12*7+1)*24*time.Hour || now.Sub(newest) > 7*24*time.Hour {
		t.Errorf("referrals from %s to %s: not spread over the last 12 weeks", oldest, newest)
	}
	due, err := st.DueActions(ctx, register.DefaultDuePolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	var overdue, soon int
	for _, a := range due {
		if a.Overdue {
			overdue++
		} else if a.Soon {
			soon++
		}
	}
	if overdue == 0 || soon == 0 || !strings.HasSuffix(line, strconv.Itoa(overdue)+" actions overdue, "+strconv.Itoa(soon)+" due soon") {
		t.Errorf("%d overdue, %d due soon; summary %q", overdue, soon, line)
	}
	if items, _ := st.ReviewQueue(ctx, store.ReviewFilter{}); len(items) != 0 {
		t.Errorf("seeding put %d items in review", len(items))
	}
	if got := clock.Now(); time.Since(got) > time.Minute {
		t.Errorf("the clock was left at %s", got)
	}
}
