package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

func TestRecordActionsSQLite(t *testing.T) { testRecordActions(t, stSQLiteDB) }

func TestRecordActionsPostgres(t *testing.T) {
	p := stNewPostgres(t)
	testRecordActions(t, p.newDB)
}

// testRecordActions: the register's actions are kept dated with their
// history, the free text sealed; the due list follows the ratings and the
// actions; a withdrawal erases the free text.
func testRecordActions(t *testing.T, newDB stDB) {
	ctx := context.Background()
	o := newDB(t)
	now := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	s := stOpen(t, o, stKeys(t))
	amber := stApply(t, s, stMessage("act-1@example.org", &parser.Submission{
		Referral: stReferral(stQuillon), Consent: stConsent(stQuillon, parser.BasisParental)}))
	green := stApply(t, s, stMessage("act-2@example.org", &parser.Submission{
		Referral: stReferral(stPerpetua), Consent: stConsent(stPerpetua, parser.BasisParental)}))
	if amber.RecordID == 0 || green.RecordID == 0 {
		t.Fatalf("not registered: %+v %+v", amber, green)
	}
	now = time.Date(2026, 10, 10, 9, 0, 0, 0, time.UTC)
	if err := s.ChangeRAG(ctx, green.RecordID, "Red", "coord.al", "Placement at risk"); err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	due := func() map[string]string {
		t.Helper()
		got, err := s.DueActions(ctx, register.DefaultDuePolicy(), today)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range got {
			k := a.CaseRef + " " + a.What
			out[k] = a.Due.Format("2006-01-02")
			if !a.Overdue {
				out[k] += " not overdue"
			}
		}
		return out
	}
	want := map[string]string{
		amber.Case.Ref + " Key worker referral (rated Amber)": "2026-10-29",
		green.Case.Ref + " C(E)TR (rated Red)":                "2026-11-07",
		green.Case.Ref + " Key worker referral (rated Red)":   "2026-11-07",
	}
	if got := due(); !mapsEqual(got, want) {
		t.Fatalf("due before any action:\n got %v\nwant %v", got, want)
	}

	for _, bad := range []RecordAction{
		{RecordID: green.RecordID, Kind: "birthday", On: "2026-11-01", Actor: "coord.al"},
		{RecordID: green.RecordID, Kind: register.ActionCETR, On: "2026-11-01", Actor: "coord.al"},
		{RecordID: green.RecordID, Kind: register.ActionKeyWorker, On: "2026-11-01", Actor: "coord.al"},
		{RecordID: green.RecordID, Kind: register.ActionSetting, Variant: register.SettingHospital, On: "2026-11-01", Until: "2026-10-01", Actor: "coord.al"},
		{RecordID: green.RecordID, Kind: register.ActionLAEP, On: "01/11/2026", Actor: "coord.al"},
	} {
		if _, err := s.AddRecordAction(ctx, bad); !errors.Is(err, ErrInvalidAction) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	if _, err := s.AddRecordAction(ctx, RecordAction{RecordID: 9999, Kind: register.ActionLAEP, On: "2026-11-01", Actor: "coord.al"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an action on no record: %v", err)
	}

	const worker = "Imogen Threadgold-Okafor"
	for _, a := range []RecordAction{
		{RecordID: green.RecordID, Kind: register.ActionCETR, Variant: register.CETRCommunity, On: "2026-11-20", Next: "2027-02-20", Outcome: "Crisis plan agreed"},
		{RecordID: green.RecordID, Kind: register.ActionKeyWorker, On: "2026-11-21", Name: worker},
		{RecordID: amber.RecordID, Kind: register.ActionSetting, Variant: register.SettingHospital, On: "2026-11-01"},
		{RecordID: amber.RecordID, Kind: register.ActionLAEP, On: "2026-11-02", Outcome: "Bed found"},
	} {
		a.Actor = "coord.al"
		if _, err := s.AddRecordAction(ctx, a); err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
	}
	want = map[string]string{
		amber.Case.Ref + " Key worker referral (rated Amber)": "2026-10-29",
		amber.Case.Ref + " Inpatient C(E)TR (in hospital)":    "2027-02-01 not overdue",
	}
	if got := due(); !mapsEqual(got, want) {
		t.Fatalf("due after the actions:\n got %v\nwant %v", got, want)
	}
	// Discharged: the inpatient C(E)TR is no longer due.
	if _, err := s.AddRecordAction(ctx, RecordAction{RecordID: amber.RecordID, Kind: register.ActionSetting, Variant: register.SettingHospital,
		On: "2026-11-01", Until: "2026-11-30", Actor: "coord.al"}); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 1 {
		t.Fatalf("due after discharge: %v", got)
	}

	acts, err := s.RecordActions(ctx, green.RecordID)
	if err != nil || len(acts) != 2 || acts[0].Kind != register.ActionCETR || acts[0].Outcome != "Crisis plan agreed" ||
		acts[0].Next != "2027-02-20" || acts[1].Name != worker || acts[1].Actor != "coord.al" {
		t.Fatalf("actions %+v (%v)", acts, err)
	}
	var details [][]byte
	if err := s.db.Select(&details, "SELECT detail FROM record_actions"); err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		if bytes.Contains(d, []byte("Threadgold")) || bytes.Contains(d, []byte("Crisis plan")) {
			t.Fatalf("an action's free text is stored in the clear")
		}
	}
	audit, _ := s.Audit(ctx, AuditFilter{Action: "record.action", EntityID: green.RecordID})
	if len(audit) != 2 || audit[0].Detail != "kind=key_worker" || audit[1].Detail != "kind=cetr variant=community" {
		t.Fatalf("audit %+v", audit)
	}

	if err := s.WithdrawConsent(ctx, green.RecordID, "coord.al", "Parent withdrew"); err != nil {
		t.Fatal(err)
	}
	acts, err = s.RecordActions(ctx, green.RecordID)
	if err != nil || len(acts) != 2 || acts[1].Name != "" || acts[0].Outcome != "" || acts[0].On != "2026-11-20" {
		t.Fatalf("actions after withdrawal %+v (%v)", acts, err)
	}
	if _, err := s.AddRecordAction(ctx, RecordAction{RecordID: green.RecordID, Kind: register.ActionLAEP, On: "2026-12-01", Actor: "coord.al"}); err == nil {
		t.Fatal("an action on a withdrawn record was kept")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
