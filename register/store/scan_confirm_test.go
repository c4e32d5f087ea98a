package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

// scanToday is the day the rules judge the scanned case's dates against,
// the rules tests' fixed today.
var scanToday = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func TestConfirmScannedFormsSQLite(t *testing.T) { testConfirmScannedForms(t, stSQLiteDB(t)) }

func TestConfirmScannedFormsPostgres(t *testing.T) {
	p := stNewPostgres(t)
	testConfirmScannedForms(t, p.newDB(t))
}

// A case whose forms were read by OCR goes to review; the coordinator's
// correction and confirmation registers the child with the corrected
// value, and the audit names the field changed but not its value.
func testConfirmScannedForms(t *testing.T, o Options) {
	ctx := context.Background()
	s := stOpen(t, o, stKeys(t))
	c := stQuillon
	ref, con := stReferral(c), stConsent(c, parser.BasisParental)
	ref.Values["referrer_role"] = "Socia1 worker" // OCR read a one for the l
	for _, f := range []*parser.Form{ref, con} {
		f.Source = parser.SourceOCR
		f.Invalid = map[string]string{}
		f.OCR = &parser.OCRForm{Pages: []parser.OCRPageSize{{Width: 1654, Height: 2339}}, Fields: map[string]parser.OCRField{
			"referrer_role": {Text: "Socia1 worker", Confidence: 0.71, Page: 3, Box: [4]int{500, 700, 300, 30}},
		}}
	}
	sub := &parser.Submission{Referral: ref, Consent: con}
	in := stMessage("scan-1@example.org", sub)
	a, err := s.Apply(ctx, in, func(earlier register.CaseForms) register.Decision {
		return register.Assess(register.Input{Submission: sub, Earlier: earlier, Today: scanToday})
	}, stCompose(sub))
	if err != nil {
		t.Fatal(err)
	}
	if a.Decision.Outcome != register.OutcomeReview || !slices.Equal(a.Decision.Codes(), []string{register.CodeConfirmScannedForm}) {
		t.Fatalf("scanned case: %s %v, want review [confirm_scanned_form]", a.Decision.Outcome, a.Decision.Codes())
	}
	items, err := s.ReviewQueue(ctx, ReviewFilter{CaseID: a.Case.ID})
	if err != nil || len(items) != 1 {
		t.Fatalf("review items %v, %v", items, err)
	}
	conf := ScanConfirmation{
		CaseAction: CaseAction{CaseID: a.Case.ID, ReviewID: items[0].ID, Actor: "alice", Action: "confirm_scan"},
		Values: map[parser.FormKind]map[string]string{
			parser.Referral: {"referrer_role": "Social worker", "cyp_first_names": c.First, "cyp_dob": "14/03/2012"},
			parser.Consent:  {"consent_given": "Yes"},
		},
		Today: scanToday,
	}
	got, err := s.ConfirmScannedForms(ctx, conf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision.Outcome != register.OutcomeRegister || got.RecordID == 0 {
		t.Fatalf("confirmed: %s %v record %d, want register", got.Decision.Outcome, got.Decision.Codes(), got.RecordID)
	}
	if !slices.Equal(got.Changed, []string{"referral.referrer_role"}) {
		t.Errorf("changed %v, want only referral.referrer_role (the others were typed as read)", got.Changed)
	}
	rec, err := s.Record(ctx, got.RecordID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Surname != c.Surname || rec.NHSNumber != c.NHS {
		t.Errorf("record %s %s, want the child's", rec.Surname, rec.NHSNumber)
	}
	cs, err := s.Case(ctx, a.Case.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Forms.Referral.Get("referrer_role") != "Social worker" {
		t.Errorf("referrer role %q, want the correction", cs.Forms.Referral.Get("referrer_role"))
	}
	if cs.State != CaseRegistered || cs.Forms.Referral.OCR.ConfirmedBy != "alice" || cs.Forms.Consent.OCR.ConfirmedAt.IsZero() {
		t.Errorf("case %s, referral confirmed by %q", cs.State, cs.Forms.Referral.OCR.ConfirmedBy)
	}
	it, err := s.Review(ctx, items[0].ID)
	if err != nil || it.State != ReviewResolved || it.ResolvedBy != "alice" {
		t.Errorf("review item %+v, %v", it, err)
	}
	entries, err := s.Audit(ctx, AuditFilter{Action: "case.confirm_scan", Actor: "alice"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("case.confirm_scan audit: %v %v", entries, err)
	}
	if d := entries[0].Detail; !strings.Contains(d, "changed=referral.referrer_role") || !strings.Contains(d, "outcome=register") || strings.Contains(d, "Social") {
		t.Errorf("audit detail %q: want the field changed and the outcome, never the value", d)
	}
	if _, err := s.ConfirmScannedForms(ctx, conf); !errors.Is(err, ErrCaseState) {
		t.Errorf("second confirmation: %v, want ErrCaseState", err)
	}
}
