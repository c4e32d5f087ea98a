package register

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"dsr-intake/parser"
)

// consentCodes are the reasons that say consent is not (yet) valid.
var consentCodes = []string{
	CodeConsentNotGiven, CodeFactsheetNotGiven, CodeConsentSelfUnder16,
	CodeConsentSelfWithoutCapacity, CodeConsentParentForCapable16,
	CodeConsentSignatoryWithoutPR, CodeConsentMismatch, CodeBestInterestDecision,
	CodeMissingReferralForm, CodeMissingConsentForm,
}

// byteSource turns fuzz input into choices; when it runs out it answers 0.
type byteSource struct{ b []byte }

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	return v % n
}

// mutate applies up to n random changes to a valid pair: drop a field or
// a form, flip a yes/no, change the basis, the capacity, the dates and
// ages, the names and the NHS number, mark a value unreadable.
func mutate(in *Input, intn func(int) int, n int) {
	sub := in.Submission
	pick := func() *parser.Form {
		if intn(2) == 0 {
			return sub.Referral
		}
		return sub.Consent
	}
	yesNo := []string{"dx_learning_disability", "dx_autism", "mh_high_risk_admission", "consent_given", "factsheet_given", "signatory_has_pr", "parent_has_pr"}
	dates := []string{"referral_date", "cyp_dob", "signed_date", "bid_date", "admission_date"}
	for range n {
		switch intn(12) {
		case 0: // drop a field
			if f := pick(); f != nil {
				specs := parser.Fields(f.Kind)
				delete(f.Values, specs[intn(len(specs))].Name)
			}
		case 1: // flip or set a yes/no
			name := yesNo[intn(len(yesNo))]
			for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
				if f != nil && intn(2) == 0 {
					f.Values[name] = []string{"true", "false"}[intn(2)]
				}
			}
		case 2:
			if sub.Consent != nil {
				sub.Consent.Values["consent_basis"] = []string{parser.BasisYoungPerson, parser.BasisParental, parser.BasisBestInterest, ""}[intn(4)]
			}
		case 3:
			if sub.Consent != nil {
				sub.Consent.Values["yp_has_capacity"] = []string{parser.CapacityYes, parser.CapacityNo, parser.CapacityNotAssessed, ""}[intn(4)]
			}
		case 4: // a date of birth near a birthday that matters, or anywhere
			ref := date("2026-11-20") // validInput's referral date
			age := []int{12, 15, 16, 17, 18, 19}[intn(6)]
			off := []int{-1, 0, 1, intn(400) - 200}[intn(4)]
			d := ref.AddDate(-age, 0, off).Format(time.DateOnly)
			if intn(8) == 0 {
				d = testToday.AddDate(-20, 0, intn(20*366+40)).Format(time.DateOnly)
			}
			for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
				if f != nil && intn(8) != 0 {
					f.Values["cyp_dob"] = d
				}
			}
			if sub.Consent != nil && intn(2) == 0 {
				sub.Consent.Values["yp_has_capacity"] = []string{parser.CapacityYes, parser.CapacityNo, parser.CapacityNotAssessed, ""}[intn(4)]
			}
		case 5: // another date moved around today
			if f := pick(); f != nil {
				f.Values[dates[intn(len(dates))]] = testToday.AddDate(0, 0, intn(800)-780).Format(time.DateOnly)
			}
		case 6:
			if f := pick(); f != nil {
				f.Values["cyp_nhs_number"] = []string{"9993149586", "9995628198", "9993149587", "999314958", "9990000000"}[intn(5)]
			}
		case 7:
			if sub.Consent != nil {
				sub.Consent.Values["cyp_full_name"] = []string{"Lily Chambers", "LILY ROSE CHAMBERS", "Lucy Chambers", "Chambers", "Lil Chambers", "Lily Chambers-Smith"}[intn(6)]
			}
		case 8:
			if sub.Referral != nil {
				sub.Referral.Values["rag_rating"] = []string{"Blue", "Red", "Amber", "Green"}[intn(4)]
			}
		case 9: // mark a field unreadable
			if f := pick(); f != nil {
				specs := parser.Fields(f.Kind)
				name := specs[intn(len(specs))].Name
				delete(f.Values, name)
				f.Invalid[name] = "??"
			}
		case 10: // drop a form, or move it to the case's earlier forms
			switch intn(4) {
			case 0:
				sub.Referral = nil
			case 1:
				sub.Consent = nil
			case 2:
				in.Earlier.Referral, sub.Referral = sub.Referral, nil
			case 3:
				in.Earlier.Consent, sub.Consent = sub.Consent, nil
			}
		case 11:
			sub.Attachments = append(sub.Attachments, parser.Attachment{Filename: "x.pdf",
				Kind: []parser.AttachmentKind{parser.KindUnreadable, parser.KindUnsupported, parser.KindNotForm}[intn(3)]})
		}
	}
}

// checkInvariants: no consent reason and no missing form ever comes out
// as register; register only with no reasons; and a register decision
// holds up against an independent reading of the policy.
func checkInvariants(t *testing.T, in Input) {
	t.Helper()
	d := Assess(in)
	again := Assess(in)
	if d.Outcome != again.Outcome || !slices.Equal(d.Codes(), again.Codes()) {
		t.Fatalf("Assess is not deterministic: %v then %v", d.Codes(), again.Codes())
	}
	if (d.Outcome == OutcomeRegister) != (len(d.Reasons) == 0) {
		t.Fatalf("outcome %s with reasons %v", d.Outcome, d.Codes())
	}
	for _, r := range d.Reasons {
		if slices.Contains(consentCodes, r.Code) && d.Outcome == OutcomeRegister {
			t.Fatalf("register with %s", r.Code)
		}
		if r.Message == "" || strings.Contains(r.Message, "_") {
			t.Fatalf("%s: bad message %q", r.Code, r.Message)
		}
	}
	cur := Current(in.Submission, in.Earlier)
	if cur.Referral == nil || cur.Consent == nil {
		if d.Outcome == OutcomeRegister {
			t.Fatal("register without both forms")
		}
		return
	}
	if d.Outcome != OutcomeRegister {
		return
	}
	if why := policyRefuses(cur.Referral, cur.Consent); why != "" {
		t.Fatalf("register, but %s\ncodes %v", why, d.Codes())
	}
}

// policyRefuses reads FORMS.md's validity rules 3 to 5 afresh (ages by
// calendar arithmetic, not by ageOn) and says why a pair must not be
// registered, "" when it may.
func policyRefuses(ref, con *parser.Form) string {
	dob, ok1 := ref.DateOf("cyp_dob")
	on, ok2 := ref.DateOf("referral_date")
	if !ok1 || !ok2 {
		return "date of birth or referral date unknown"
	}
	// time.AddDate takes 29 February to 1 March in a common year: the
	// same convention as the rules.
	adult := !dob.AddDate(18, 0, 0).After(on)
	sixteen := !dob.AddDate(16, 0, 0).After(on)
	if adult {
		return "18 or over"
	}
	if on.After(testToday) || dob.After(on) {
		return "a date in the future"
	}
	ld, _ := ref.Bool("dx_learning_disability")
	au, _ := ref.Bool("dx_autism")
	risk, _ := ref.Bool("mh_high_risk_admission")
	if !(ld || au) || !risk {
		return "not eligible"
	}
	if !ValidNHSNumber(ref.Get("cyp_nhs_number")) {
		return "NHS number invalid"
	}
	if con.Get("cyp_dob") != ref.Get("cyp_dob") {
		return "dates of birth differ"
	}
	if n := con.Get("cyp_nhs_number"); n != "" && n != ref.Get("cyp_nhs_number") {
		return "NHS numbers differ"
	}
	given, _ := con.Bool("consent_given")
	sheet, _ := con.Bool("factsheet_given")
	if !given || !sheet {
		return "consent or fact sheet not given"
	}
	signed, ok := con.DateOf("signed_date")
	if !ok || signed.Before(dob) || signed.After(testToday) {
		return "signed date wrong"
	}
	// Consent is judged on the day it was signed too; the stricter of the
	// two readings wins.
	sixteenSigned := !dob.AddDate(16, 0, 0).After(signed)
	capacity := con.Get("yp_has_capacity")
	switch con.Get("consent_basis") {
	case parser.BasisYoungPerson:
		if !sixteen || !sixteenSigned || capacity != parser.CapacityYes {
			return "self-consent not valid"
		}
	case parser.BasisParental:
		pr, _ := con.Bool("signatory_has_pr")
		if !pr {
			return "signatory without parental responsibility"
		}
		if (sixteen || sixteenSigned) && capacity != parser.CapacityNo {
			return "parental consent for a 16+ not known to lack capacity"
		}
	default:
		return "no valid consent basis (best interest decisions go to review)"
	}
	return ""
}

func TestAssessProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	registered := 0
	const runs = 4000
	for i := range runs {
		in := validInput()
		mutate(&in, rng.IntN, 1+rng.IntN(4))
		checkInvariants(t, in)
		if Assess(in).Outcome == OutcomeRegister {
			registered++
		}
		if t.Failed() {
			t.Fatalf("run %d", i)
		}
	}
	// The mutations must leave some pairs valid, or the register branch
	// of the invariant is never tried.
	if registered < runs/20 {
		t.Errorf("only %d of %d mutated pairs registered: the property barely tests register", registered, runs)
	}
}

// TestAssessConsentDatesProperty generates ages and dates around the 16th
// birthday: no self-consent signed before the 16th birthday, and no
// parental consent for a young person who is 16 or over with capacity on
// the referral date, is ever register (each is reported by its own code);
// and a pair the policy, read afresh, allows is registered, so the rule
// does not refuse more than it should.
func TestAssessConsentDatesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2026))
	// near is a date a day either side of d, d itself, or within a year.
	near := func(d time.Time) time.Time {
		switch rng.IntN(4) {
		case 0:
			return d.AddDate(0, 0, -1)
		case 1:
			return d
		case 2:
			return d.AddDate(0, 0, 1)
		}
		return d.AddDate(0, 0, rng.IntN(731)-365)
	}
	capacities := []string{parser.CapacityYes, parser.CapacityNo, parser.CapacityNotAssessed, ""}
	const runs = 20000
	var selfEarly, parentCapable, registered int
	for i := range runs {
		referral := testToday.AddDate(0, 0, -rng.IntN(90))
		born := near(referral).AddDate(-16, 0, 0)
		if rng.IntN(8) == 0 {
			// Born on 29 February, referred around the 16th birthday.
			born, referral = date("2008-02-29"), date("2024-02-27").AddDate(0, 0, rng.IntN(5))
		}
		sixteenth := born.AddDate(16, 0, 0)
		signed := near(sixteenth)
		if rng.IntN(3) == 0 {
			signed = referral.AddDate(0, 0, -rng.IntN(30))
		}
		if signed.After(testToday) {
			signed = testToday
		}
		self := rng.IntN(2) == 0
		capacity := capacities[rng.IntN(len(capacities))]

		in := validInput()
		dob(born.Format(time.DateOnly))(&in)
		set(parser.Referral, "referral_date", referral.Format(time.DateOnly))(&in)
		set(parser.Consent, "signed_date", signed.Format(time.DateOnly))(&in)
		if self {
			selfConsent(capacity)(&in)
		} else if capacity != "" {
			in.Submission.Consent.Values["yp_has_capacity"] = capacity
		}
		d := Assess(in)
		codes := d.Codes()
		dates := fmt.Sprintf("born %s, referred %s, signed %s, self %v, capacity %q", born.Format(time.DateOnly),
			referral.Format(time.DateOnly), signed.Format(time.DateOnly), self, capacity)

		if self && signed.Before(sixteenth) {
			selfEarly++
			if d.Outcome == OutcomeRegister || !slices.Contains(codes, CodeConsentSelfUnder16) {
				t.Fatalf("run %d: self-consent signed before the 16th birthday: %s %v (%s)", i, d.Outcome, codes, dates)
			}
		}
		if !self && !sixteenth.After(referral) && capacity == parser.CapacityYes {
			parentCapable++
			if d.Outcome == OutcomeRegister || !slices.Contains(codes, CodeConsentParentForCapable16) {
				t.Fatalf("run %d: parental consent for a capable 16-year-old: %s %v (%s)", i, d.Outcome, codes, dates)
			}
		}
		why := policyRefuses(in.Submission.Referral, in.Submission.Consent)
		if (why == "") != (d.Outcome == OutcomeRegister) {
			t.Fatalf("run %d: %s %v, but the policy says %q (%s)", i, d.Outcome, codes, why, dates)
		}
		if d.Outcome == OutcomeRegister {
			registered++
		}
	}
	// Every branch must be tried often, or the property says little.
	for what, n := range map[string]int{"self-consent signed at 15": selfEarly, "parental consent for a capable 16+": parentCapable, "registered": registered} {
		if n < runs/20 {
			t.Errorf("only %d of %d runs were %s", n, runs, what)
		}
	}
}

func FuzzAssess(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 0, 3, 1, 4, 7})
	f.Add([]byte{4, 3, 0, 2, 1, 3, 0})
	f.Add([]byte{10, 3, 7, 2})
	f.Add([]byte{9, 1, 5, 6, 0, 2})
	f.Fuzz(func(t *testing.T, script []byte) {
		in := validInput()
		src := &byteSource{b: script}
		mutate(&in, src.intn, len(script)/2)
		checkInvariants(t, in)
	})
}
