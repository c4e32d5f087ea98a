package parser

import (
	"strings"
	"testing"
	"unicode"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"20/11/2026", "2026-11-20"},
		{"4/4/2013", "2013-04-04"},
		{"04-04-2013", "2013-04-04"},
		{"04.04.2013", "2013-04-04"},
		{" 29/02/2024 ", "2024-02-29"},
		{"29/02/2023", ""}, // no such day
		{"2026-11-25", "2026-11-25"},
		{"1 March 2012", "2012-03-01"},
		{"1st Sept 2012", "2012-09-01"},
		{"12 Dec. 2012", "2012-12-12"},
		{"23-Nov-2026", "2026-11-23"},      // Acrobat's dd-mmm-yyyy
		{"23/November/2026", "2026-11-23"}, // typed with the numeric separators
		{"Monday, 23 November 2026", "2026-11-23"},
		{"Mon 23 Nov 2026", "2026-11-23"},
		{"Wednesday 1st April 2026", "2026-04-01"},
		{"November 23, 2026", "2026-11-23"}, // the month is a word: no guess
		{"Nov 3 2026", "2026-11-03"},
		{"2026/11/23", "2026-11-23"},
		{"Funday, 23 November 2026", ""},
		{"23-Nov-26", ""}, // two-digit years are ambiguous
		{"Smarch 3, 2026", ""},
		{"11/25/2026", ""}, // month first: never guessed
		{"25/13/2026", ""},
		{"yesterday", ""},
		{"20/11/26", ""}, // two-digit years are ambiguous
		{"01/01/1850", ""},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseDate(%q) = %s, want an error", tt.in, got.Format("2006-01-02"))
		case tt.want != "" && err != nil:
			t.Errorf("ParseDate(%q): %v", tt.in, err)
		case tt.want != "" && got.Format("2006-01-02") != tt.want:
			t.Errorf("ParseDate(%q) = %s, want %s", tt.in, got.Format("2006-01-02"), tt.want)
		}
	}
}

func TestParseYesNo(t *testing.T) {
	tests := []struct {
		in           string
		value, blank bool
		err          bool
	}{
		{"Yes", true, false, false},
		{"no", false, false, false},
		{"Y", true, false, false},
		{"N", false, false, false},
		{"true", true, false, false},
		{"Off", false, false, false},
		{"On", true, false, false},
		{"✓", true, false, false},
		{"✓ Yes   No", true, false, false},
		{"Yes    ✓ No", false, false, false},
		{"☐ Yes ☒ No", false, false, false},
		{"☒ Yes ☐ No", true, false, false},
		{"✓Yes No", true, false, false},
		{"Yes   No", false, true, false},
		{"", false, true, false},
		{"perhaps", false, false, true},
		{"Yes.", true, false, false},
		{"YES - diagnosed by CAMHS in 2020", true, false, false},
		{"No (awaiting assessment)", false, false, false},
		{"No, not yet", false, false, false},
		{"Not known", false, false, true},
		{"Nobody has assessed", false, false, true},
		{"Yes and no", false, true, false}, // both: no answer
		// OCR of "☐ Yes ☑ No" with the tick read as a letter and glued
		// to its option: both options are there, the answer is not known
		// (read as the first word, it was Yes).
		{"Yes MNo", false, true, false},
		{"&Yes © No", false, true, false},
		{"Yes. Nobody objects", true, false, false},
	}
	for _, tt := range tests {
		v, blank, err := ParseYesNo(tt.in)
		if (err != nil) != tt.err || v != tt.value || blank != tt.blank {
			t.Errorf("ParseYesNo(%q) = %v, blank %v, err %v; want %v, %v, err %v", tt.in, v, blank, err, tt.value, tt.blank, tt.err)
		}
	}
}

// mustSpec is a form's field, which a test names.
func mustSpec(t *testing.T, k FormKind, name string) FieldSpec {
	t.Helper()
	s, ok := Spec(k, name)
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return s
}

func TestNormalise(t *testing.T) {
	spec := func(k FormKind, name string) FieldSpec { return mustSpec(t, k, name) }
	tests := []struct {
		spec    FieldSpec
		in      string
		want    string
		invalid bool
	}{
		{spec(Referral, "cyp_nhs_number"), "999 314 9586", "9993149586", false},
		{spec(Referral, "cyp_nhs_number"), "999-314-9586", "9993149586", false},
		{spec(Referral, "cyp_nhs_number"), "99931495", "99931495", false}, // wrong length is a rule, not a reading problem
		{spec(Referral, "cyp_nhs_number"), "NHS 999", "", true},
		{spec(Referral, "rag_rating"), " red ", "Red", false},
		{spec(Referral, "rag_rating"), "Purple", "", true},
		{spec(Referral, "rag_rating"), "RED - at high risk of admission", "Red", false},
		{spec(Referral, "rag_rating"), "Amber (see below)", "Amber", false},
		{spec(Referral, "rag_rating"), "Red (was Amber)", "", true},
		{spec(Referral, "rag_rating"), "Between Amber and Red", "", true},
		{spec(Referral, "rag_rating"), "G", "Green", false},
		{spec(Referral, "cyp_gender"), "M", "Male", false},
		{spec(Referral, "cyp_gender"), "F.", "Female", false},
		{spec(Referral, "rag_rating"), "a", "", true}, // a speck on a scan, more likely than an answer
		{spec(Referral, "cyp_gender"), "X", "", true},
		{spec(Consent, "yp_has_capacity"), "N", "", true}, // No or Not assessed
		{spec(Consent, "consent_basis"), "person with parental responsibility", BasisParental, false},
		{spec(Consent, "consent_basis"), "Young person (16 or over, with capacity)", BasisYoungPerson, false},
		{spec(Consent, "yp_has_capacity"), "not assessed", CapacityNotAssessed, false},
		{spec(Referral, "cyp_address"), "  31 Kingsway \r\n  Petts   Wood\r\n\r\n", "31 Kingsway\nPetts Wood", false},
		{spec(Referral, "cyp_dob"), "   ", "", false},
		{spec(Referral, "dx_autism"), "Yes   No", "", false}, // an unticked pair is blank
		// A lone unticked box, from a Word form or its print: No for a
		// Yes/No field, no answer for any other.
		{spec(Consent, "share_education"), "☐", "false", false},
		{spec(Referral, "svc_other"), "☐", "", false},
	}
	for _, tt := range tests {
		got, err := Normalise(tt.spec, tt.in)
		if (err != nil) != tt.invalid || got != tt.want {
			t.Errorf("Normalise(%s, %q) = %q, %v; want %q, invalid %v", tt.spec.Name, tt.in, got, err, tt.want, tt.invalid)
		}
	}
}

func TestMappingAliases(t *testing.T) {
	m, err := NewMapping(map[FormKind]Aliases{
		Referral: {
			Fields: map[string]string{"ChildForename": "cyp_first_names", "NHSNo": "cyp_nhs_number"},
			Labels: map[string]string{"Forename(s) of child:": "cyp_first_names"},
			Titles: []string{"Lewisham DSR Referral"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rf := &RawForm{
		Source:  "acroform",
		ByName:  map[string]string{"form1.page1.ChildForename": "Zoë", "NHSNo": "999 105 8834", "cyp_surname": "Ng"},
		ByLabel: []LabelValue{{Label: "FORENAME(S) OF CHILD", Value: "ignored: the name came first"}},
	}
	f := m.Map(Referral, rf)
	if f.Get("cyp_first_names") != "Zoë" || f.Get("cyp_nhs_number") != "9991058834" || f.Get("cyp_surname") != "Ng" {
		t.Errorf("mapped values = %v", f.Values)
	}
	if k := m.KindFromTitle("LEWISHAM DSR REFERRAL (2024 edition)"); k != Referral {
		t.Errorf("title alias gave %q", k)
	}
	if _, err := NewMapping(map[FormKind]Aliases{Consent: {Fields: map[string]string{"x": "cyp_first_names"}}}); err == nil || !strings.Contains(err.Error(), "cyp_first_names") {
		t.Errorf("an alias to a field the consent form does not have: err = %v", err)
	}
}

func TestClassify(t *testing.T) {
	m := DefaultMapping()
	tests := []struct {
		name string
		rf   RawForm
		want FormKind
	}{
		{"consent by field names", RawForm{ByName: map[string]string{"cyp_full_name": "", "consent_basis": "", "signed_date": "", "cyp_dob": ""}}, Consent},
		{"referral by labels", RawForm{ByLabel: []LabelValue{{"Date of referral", ""}, {"Surname", ""}, {"Proposed RAG rating", ""}, {"Date of birth", ""}}}, Referral},
		{"shared labels alone decide nothing", RawForm{ByLabel: []LabelValue{{"Date of birth", ""}, {"NHS number", ""}, {"Relationship to child", ""}}}, ""},
		{"title", RawForm{Title: "OFFICIAL-SENSITIVE when completed · DSR-CONSENT · Version 3.2"}, Consent},
		{"a letter", RawForm{Title: "Letter to GP", ByLabel: []LabelValue{{"Dear", "Dr"}}}, ""},
	}
	for _, tt := range tests {
		if got := m.Classify(&tt.rf); got != tt.want {
			t.Errorf("%s: Classify = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFoldName(t *testing.T) {
	if FoldName("  ZOË   Smith-Jones ") != FoldName("zoe smith jones") {
		t.Errorf("%q != %q", FoldName("  ZOË   Smith-Jones "), FoldName("zoe smith jones"))
	}
	if FoldName("Nguyễn") != "nguyen" {
		t.Errorf("FoldName(Nguyễn) = %q", FoldName("Nguyễn"))
	}
}

// cleanTextSlow is cleanText without its fast path, the oracle for it.
func cleanTextSlow(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		out = append(out, strings.Join(strings.FieldsFunc(l, unicode.IsSpace), " "))
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

// TestCleanTextFastPath: a text cleanText gives back untouched (no
// allocation) is exactly what cleaning it gives, over every string of up
// to six characters from an alphabet of letters and white space.
func TestCleanTextFastPath(t *testing.T) {
	alphabet := []string{"a", "b", " ", "\n", "\r", "\t", "\u00a0", "é"}
	fast := 0
	var walk func(s string, n int)
	walk = func(s string, n int) {
		if got, want := cleanText(s), cleanTextSlow(s); got != want {
			t.Fatalf("cleanText(%q) = %q, want %q", s, got, want)
		}
		if alreadyClean(s) {
			fast++
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			walk(s+c, n-1)
		}
	}
	walk("", 6)
	if fast < 100 {
		t.Errorf("only %d strings took the fast path", fast)
	}
}
