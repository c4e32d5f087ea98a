package schedule

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// TestDigestOverdueActions: the digest lists the register's overdue
// actions by case reference, follows the area's policy and the actions
// recorded, and carries no name, initials, date of birth or NHS number.
func TestDigestOverdueActions(t *testing.T) {
	db := newSQLiteDB(t)
	clock := &dgClock{t: lon(2026, 10, 1, 9, 0)}
	s := db.open(t, clock)
	ctx := context.Background()
	applied := map[string]store.Applied{}
	for _, k := range dgKids[:4] { // Red, Blue, Amber, Green
		applied[k.First] = applyKid(t, s, k, false)
	}
	clock.set(lon(2026, 12, 7, 9, 0))
	sc := newTestScheduler(t, s, clock, func(o *SchedulerOptions) {
		o.Actions = register.DuePolicy{RedCETRWithinDays: 14}
		o.Digests[0].Sections = []string{SectionActions}
	})
	mail, err := sc.Preview(ctx, "panel", clock.now())
	if err != nil {
		t.Fatal(err)
	}
	red, blue, amber := applied["Wilhelmina"].Case.Ref, applied["Thaddeus"].Case.Ref, applied["Clementine"].Case.Ref
	for _, want := range []string{
		"The register's actions past their due date: 3",
		red + ": C(E)TR (rated Red), due 15 October 2026 (53 days overdue)",
		red + ": Key worker referral (rated Red), due 29 October 2026",
		amber + ": Key worker referral (rated Amber), due 29 October 2026",
	} {
		if !strings.Contains(mail.Text, want) || !strings.Contains(mail.HTML, html.EscapeString(want)) {
			t.Errorf("the digest does not say %q:\n%s", want, mail.Text)
		}
	}
	// The Blue child's inpatient C(E)TR falls due three months from the
	// rating on 1 October: not yet overdue.
	if strings.Contains(mail.Text, blue+":") {
		t.Errorf("the digest lists the inpatient C(E)TR before it is due:\n%s", mail.Text)
	}
	if strings.Count(mail.Text, applied["Barnaby"].Case.Ref) != 0 {
		t.Errorf("a Green child with nothing due is listed:\n%s", mail.Text)
	}

	// Recorded actions leave the list.
	for _, a := range []store.RecordAction{
		{RecordID: applied["Wilhelmina"].RecordID, Kind: register.ActionCETR, Variant: register.CETRCommunity, On: "2026-12-01"},
		{RecordID: applied["Wilhelmina"].RecordID, Kind: register.ActionKeyWorker, On: "2026-12-02", Name: "Rosalind Achterberg"},
	} {
		a.Actor = "coord.al"
		if _, err := s.AddRecordAction(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mail, err = sc.Preview(ctx, "panel", clock.now())
	if err != nil {
		t.Fatal(err)
	}
	// The C(E)TR section counts a C(E)TR recorded as an action.
	if f := mail.Figures; len(f.CETRMissing) != 1 || f.CETRMissing[0].Ref != blue {
		t.Errorf("children with no C(E)TR: %+v; want only %s", f.CETRMissing, blue)
	}
	if strings.Contains(mail.Text, red+":") || !strings.Contains(mail.Text, "past their due date: 1") {
		t.Errorf("after the Red child's C(E)TR and key worker:\n%s", mail.Text)
	}

	// Nothing personal, not even initials or the key worker's name.
	clock.set(clock.now().Add(24 * time.Hour))
	mail, err = sc.Preview(ctx, "panel", clock.now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range dgKids {
		dob, _ := time.Parse("2006-01-02", k.DOB)
		for _, bad := range []string{k.First, k.Surname, k.NHS, k.NHS[:3] + " " + k.NHS[3:6] + " " + k.NHS[6:], k.DOB,
			dob.Format("2 January 2006"), dob.Format("02/01/2006"), k.First[:1] + "." + k.Surname[:1] + ".", "Achterberg"} {
			if strings.Contains(mail.Text, bad) || strings.Contains(mail.HTML, bad) || strings.Contains(mail.Subject, bad) {
				t.Errorf("the digest carries %q", bad)
			}
		}
	}
}

// TestDigestReasonWords: the digest's review queue gives reasons in the
// coordinators' words, not codes.
func TestDigestReasonWords(t *testing.T) {
	got := reasonWords([]string{register.CodeAge18OrOver, "missing_field:cyp_dob", "processing_failed"})
	want := "The young person is 18 or over; Missing: Date of birth; The email could not be processed"
	if got != want {
		t.Errorf("reasonWords = %q; want %q", got, want)
	}
}
