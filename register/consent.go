package register

import (
	"strings"

	"dsr-intake/parser"
)

// checkConsentPath applies FORMS.md "Validity rules" 5: who may consent at
// what age, that consent and the fact sheet were given, and that a best
// interest decision goes to a coordinator.
//
// A young person of 16 or over is presumed able to decide for themselves,
// so parental consent stands only when the form records that they lack
// capacity ("No"). "Not assessed" or a blank leaves neither path valid:
// the referrer is asked to record capacity, never is a child registered on
// a consent that may not be theirs to give.
//
// Consent is judged on the referral date and on the day it was signed,
// and where the two disagree the stricter reading wins: self-consent needs
// 16 on both dates (a form signed at 15 does not become the young
// person's own consent by their birthday), and parental consent for a
// young person with capacity fails if they were 16 on either date (a
// parent's signature from before the birthday does not speak for a capable
// 16-year-old).
func (a *assessor) checkConsentPath(con *parser.Form) {
	switch a.basis {
	case parser.BasisYoungPerson:
		switch {
		case a.consentUnder16():
			a.add(CodeConsentSelfUnder16, a.msgSelfUnder16())
		case a.consent16Plus() && a.capacity != parser.CapacityYes:
			a.add(CodeConsentSelfWithoutCapacity, msgSelfWithoutCapacity(a.child, a.capacity))
		}
	case parser.BasisParental:
		if a.consent16Plus() && (a.capacity == parser.CapacityYes || a.capacity == parser.CapacityNotAssessed) {
			a.add(CodeConsentParentForCapable16, a.msgParentForCapable())
		}
		if pr, ok := con.Bool("signatory_has_pr"); ok && !pr {
			a.add(CodeConsentSignatoryWithoutPR, msgSignatoryWithoutPR(a.child))
		}
	case parser.BasisBestInterest:
		// Complete or not, a person confirms it; what is missing is also
		// reported as missing fields.
		a.add(CodeBestInterestDecision, msgBestInterest(a.child))
	}
	if given, ok := con.Bool("consent_given"); ok && !given && a.basis != parser.BasisBestInterest {
		a.add(CodeConsentNotGiven, msgConsentNotGiven(a.child))
	}
	if fs, ok := con.Bool("factsheet_given"); ok && !fs {
		a.add(CodeFactsheetNotGiven, msgFactsheetNotGiven())
	}
}

// consentUnder16 reports whether the young person was under 16 on the
// referral date or on the day the consent was signed.
func (a *assessor) consentUnder16() bool {
	return (a.hasAge && a.age < 16) || (a.hasSigned && a.signedAge < 16)
}

// consent16Plus reports whether the young person was 16 or over on the
// referral date or on the day the consent was signed: then their capacity
// decides who may consent.
func (a *assessor) consent16Plus() bool {
	return (a.hasAge && a.age >= 16) || (a.hasSigned && a.signedAge >= 16)
}

// checkSameChild: the consent form names the child of the referral. Names
// are compared tolerantly; the date of birth and NHS number exactly.
func (a *assessor) checkSameChild(ref, con *parser.Form) {
	if ref == nil {
		return
	}
	var differ []string
	if full := con.Get("cyp_full_name"); full != "" && ref.Get("cyp_surname") != "" && ref.Get("cyp_first_names") != "" {
		if !SameName(full, ref.Get("cyp_first_names"), ref.Get("cyp_surname"), ref.Get("cyp_known_as")) {
			differ = append(differ, "name")
		}
	}
	if r, c := ref.Get("cyp_dob"), con.Get("cyp_dob"); r != "" && c != "" && r != c {
		differ = append(differ, "date of birth")
	}
	if r, c := ref.Get("cyp_nhs_number"), con.Get("cyp_nhs_number"); r != "" && c != "" && r != c {
		differ = append(differ, "NHS number")
	}
	if len(differ) > 0 {
		a.add(CodeConsentMismatch, msgMismatch(differ))
	}
}

// SameName reports whether the name on the consent form (full) names the
// child of the referral form. Case, accents, spacing, hyphens and
// apostrophes do not matter, nor the order of the words. Every word of the
// surname must be there, and at least one first name or the Known as name
// with nothing else: "Zoë Smith-Jones", "zoe smith jones", "Jones Smith
// Zoe", "Zo Smith-Jones" (Known as Zo) and "Zoe Ann Smith-Jones" all name
// Zoë Ann Smith-Jones; "Zoe Smith" and "Zoe Smith-Jones-Brown" do not.
func SameName(full, firstNames, surname, knownAs string) bool {
	c := nameWords(full)
	sur := nameWords(surname)
	given := append(nameWords(firstNames), nameWords(knownAs)...)
	if len(c) == 0 || len(sur) == 0 {
		return false
	}
	if wordsMatch(c, sur, given) {
		return true
	}
	// Spacing inside a name: "MaryAnn" for "Mary-Ann", "OBrien" for
	// "O'Brien". Compare with every space removed.
	joined := strings.Join(c, "")
	s := strings.Join(sur, "")
	for _, g := range [][]string{nameWords(firstNames), nameWords(knownAs), firstOnly(firstNames)} {
		if len(g) == 0 {
			continue
		}
		gj := strings.Join(g, "")
		if joined == gj+s || joined == s+gj {
			return true
		}
	}
	return false
}

func nameWords(s string) []string {
	s = strings.NewReplacer("'", "", "\u2019", "", "`", "").Replace(s)
	return strings.Fields(parser.FoldName(s))
}

func firstOnly(firstNames string) []string {
	w := nameWords(firstNames)
	if len(w) > 1 {
		return w[:1]
	}
	return nil
}

// wordsMatch: c holds every surname word, and what is left is at least
// one word, each a given name.
func wordsMatch(c, sur, given []string) bool {
	left := append([]string(nil), c...)
	for _, s := range sur {
		i := indexOf(left, s)
		if i < 0 {
			return false
		}
		left = append(left[:i], left[i+1:]...)
	}
	if len(left) == 0 {
		return false
	}
	for _, w := range left {
		if indexOf(given, w) < 0 {
			return false
		}
	}
	return true
}

func indexOf(ws []string, w string) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}
