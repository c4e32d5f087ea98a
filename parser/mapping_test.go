package parser

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFieldNameRenamedByMerge(t *testing.T) {
	m := DefaultMapping()
	tests := []struct {
		kind    FormKind
		name    string
		canon   string // "" when the name is not the form's
		renamed bool
	}{
		{Consent, "cyp_dob", "cyp_dob", false},
		{Consent, "cyp_dob+1", "cyp_dob", true},  // qpdf --pages
		{Consent, "1.cyp_dob", "cyp_dob", false}, // pdftk cat: a qualifier
		{Consent, "cyp_nhs_number_2", "cyp_nhs_number", true},
		{Consent, "cyp_nhs_number#1", "cyp_nhs_number", true},
		{Consent, "signed_date-3", "signed_date", true},
		{Consent, "signed_date.1", "signed_date", true},
		{Consent, "signed_date (1)", "signed_date", true},
		{Consent, "form1[0].signed_date[1]", "signed_date", true},
		{Consent, "form1[0].signed_date[0]", "signed_date", false},
		{Referral, "cyp_dob+12", "cyp_dob", true},
		{Referral, "cyp_dob+", "", false},  // no number: not a rename
		{Referral, "cyp_dob12", "", false}, // no separator
		{Referral, "+1", "", false},
		{Referral, "Text1_1", "", false},
		{Referral, "cyp_full_name+1", "", false}, // the consent's, not the referral's
	}
	for _, tt := range tests {
		canon, renamed, ok := m.fieldName(tt.kind, tt.name)
		if canon != tt.canon || renamed != tt.renamed || ok != (tt.canon != "") {
			t.Errorf("fieldName(%s, %q) = %q, %v, %v; want %q, %v", tt.kind, tt.name, canon, renamed, ok, tt.canon, tt.renamed)
		}
	}
}

// A form carrying a field under its own name and renamed (a merge gone
// wrong) keeps the value of its own name, every time.
func TestMapExactNameBeforeRenamed(t *testing.T) {
	m := DefaultMapping()
	rf := &RawForm{ByName: map[string]string{"cyp_dob+1": "01/01/2010", "cyp_dob": "14/02/2012", "cyp_dob_2": "02/02/2011"}}
	for range 20 {
		if got := m.Map(Consent, rf).Get("cyp_dob"); got != "2012-02-14" {
			t.Fatalf("cyp_dob = %q, want the unrenamed field's 2012-02-14", got)
		}
	}
}

func TestClassifyCountsDistinctFields(t *testing.T) {
	m := DefaultMapping()
	labels := func(ls ...string) []LabelValue {
		var out []LabelValue
		for _, l := range ls {
			out = append(out, LabelValue{Label: l})
		}
		return out
	}
	names := func(ns ...string) map[string]string {
		out := map[string]string{}
		for _, n := range ns {
			out[n] = ""
		}
		return out
	}
	tests := []struct {
		name string
		rf   RawForm
		hint FormKind
		want FormKind
	}{
		{"a tax return's three Date labels", RawForm{ByLabel: labels("Date", "Date", "Date")}, "", ""},
		{"ten Gender groups", RawForm{ByLabel: labels(strings.Split(strings.Repeat("Gender:,", 10), ",")[:10]...)}, "", ""},
		{"ten Gender fields by name", RawForm{ByName: names("cyp_gender", "a.cyp_gender", "b.cyp_gender", "cyp_gender+1", "cyp_gender_2")}, "", ""},
		{"a Consent Form title without its fields", RawForm{Title: "Photography Consent Form", ByLabel: labels("Date", "Signature")}, "", ""},
		{"a reader's title kind without the fields", RawForm{Kind: Consent, Title: "Consent Form", ByLabel: labels("Date", "Date", "Date")}, "", ""},
		{"a file name hint without the fields", RawForm{ByLabel: labels("Date", "Date")}, Consent, ""},
		{"the printed code alone", RawForm{Kind: Referral, Marked: true}, "", Referral},
		{"three distinct referral labels", RawForm{ByLabel: labels("Surname", "Gender", "Ethnicity", "Surname")}, "", Referral},
		{"a title picks a tie", RawForm{Title: "Consent Form", ByLabel: labels("Surname", "Gender", "Ethnicity", "Date", "Signature (typed name accepted)", "Consent is given by")}, "", Consent},
		{"the hint picks a tie", RawForm{ByLabel: labels("Surname", "Gender", "Ethnicity", "Date", "Signature (typed name accepted)", "Consent is given by")}, Referral, Referral},
		{"a tie without a hint", RawForm{ByLabel: labels("Surname", "Gender", "Ethnicity", "Date", "Signature (typed name accepted)", "Consent is given by")}, "", ""},
		{"a hint against the fields", RawForm{ByName: names("cyp_full_name", "consent_basis", "signed_date", "consent_given")}, Referral, Consent},
		{"merged names count once", RawForm{ByName: names("signed_date", "signed_date+1", "1.signed_date", "consent_basis")}, "", ""},
	}
	for _, tt := range tests {
		if got := m.classifyHinted(&tt.rf, tt.hint); got != tt.want {
			t.Errorf("%s: classifyHinted = %q, want %q (distinct %v)", tt.name, got, tt.want, m.distinctFields(&tt.rf))
		}
	}
}

// TestFastLabelKeyAgrees checks labelKey's fast path against the
// Unicode one: on every printable ASCII character, labels as printed,
// runs of punctuation and spaces, and every character of the BMP beside
// letters; and that what needs normalising is left to the Unicode path.
func TestFastLabelKeyAgrees(t *testing.T) {
	ins := []string{"", " ", "Surname:", "  Date of birth (DD/MM/YYYY) *", "NHS No.", "Share with: SELECT key worker",
		"e-mail\taddress\n", "A1-b2_C3", "...", "Yes   No", "\x00\x1f\x7f", "\u2610 Yes \u2611 No", "Parent\u2019s name \u2013 carer",
		"\u00a0Name", "Date\u2010of"}
	for c := 0; c < utf8.RuneSelf; c++ {
		ins = append(ins, string(rune(c)), "a"+string(rune(c))+"B", string(rune(c))+" x "+string(rune(c)))
	}
	for _, k := range []FormKind{Referral, Consent} {
		for label := range DefaultMapping().Labels(k) {
			ins = append(ins, label, strings.ToUpper(label)+":")
		}
	}
	fast := 0
	for r := rune(0x80); r < 0x10000; r++ {
		ins = append(ins, "Name"+string(r)+"x", string(r)+"A", "b"+string(r))
	}
	for _, s := range ins {
		got, ok := fastLabelKey(s)
		if !ok {
			continue
		}
		fast++
		if want := unicodeLabelKey(s); got != want {
			t.Errorf("fastLabelKey(%q) = %q; want %q", s, got, want)
		}
	}
	if fast < 30000 { // the ASCII strings and the BMP's symbols and punctuation
		t.Errorf("only %d of %d strings took the fast path", fast, len(ins))
	}
	for _, s := range []string{"Zoë", "naïve:", "e\u0301", "\u2126", "a\u226eb", "\xff", "\u00c5", "\u0410"} {
		if _, ok := fastLabelKey(s); ok {
			t.Errorf("fastLabelKey(%q) took a string that needs normalising", s)
		}
		if labelKey(s) != unicodeLabelKey(s) {
			t.Errorf("labelKey(%q) differs from the Unicode path", s)
		}
	}
}

// An answer typed into a Word form's label cell, its value cell left
// empty, is read after the label; what only looks like one is not.
func TestMapAnswerInLabelCell(t *testing.T) {
	m := DefaultMapping()
	tests := []struct {
		name   string
		kind   FormKind
		source string
		lv     LabelValue
		canon  string // "" when no field is filled
		value  string // the normalised value
	}{
		{"after a colon", Referral, "docx", LabelValue{Label: "Surname: Novák"}, "cyp_surname", "Novák"},
		{"after a space", Referral, "docx", LabelValue{Label: "Surname Novák"}, "cyp_surname", "Novák"},
		{"no space after the colon", Referral, "odt", LabelValue{Label: "Surname:Novák"}, "cyp_surname", "Novák"},
		{"a dash", Referral, "rtf", LabelValue{Label: "Postcode - BR2 9HE"}, "cyp_postcode", "BR2 9HE"},
		{"lines of its own keep their breaks", Referral, "docx", LabelValue{Label: "Address\nFlat 12\n40 Masons Hill"}, "cyp_address", "Flat 12\n40 Masons Hill"},
		{"a label ending in a bracket", Referral, "doc", LabelValue{Label: "First name(s) Amelia Rose"}, "cyp_first_names", "Amelia Rose"},
		{"no space after the bracket", Referral, "docx", LabelValue{Label: "First name(s)Amelia"}, "cyp_first_names", "Amelia"},
		{"the longest label wins", Referral, "docx", LabelValue{Label: "Date of admission 01/11/2026"}, "admission_date", "2026-11-01"},
		{"a date", Referral, "docx", LabelValue{Label: "Date of birth: 20/02/2014"}, "cyp_dob", "2014-02-20"},
		{"a yes/no", Referral, "docx", LabelValue{Label: "Diagnosed autism Yes"}, "dx_autism", "true"},
		{"a choice", Referral, "docx", LabelValue{Label: "Proposed RAG rating: Red"}, "rag_rating", "Red"},
		{"the consent form", Consent, "docx", LabelValue{Label: "Name of child / young person: Amelia Novák"}, "cyp_full_name", "Amelia Novák"},
		{"the label alone", Referral, "docx", LabelValue{Label: "Surname"}, "", ""},
		{"the label and a colon", Referral, "docx", LabelValue{Label: "Surname:"}, "", ""},
		{"a note in brackets is the label's", Referral, "docx", LabelValue{Label: "Surname (family name)"}, "", ""},
		{"a second label is another layout", Referral, "docx", LabelValue{Label: "Surname\nKnown as"}, "", ""},
		{"Word's prompt", Referral, "docx", LabelValue{Label: "Surname Click or tap here to enter text."}, "", ""},
		{"a word that only begins like a label", Referral, "docx", LabelValue{Label: "Surnames of siblings"}, "", ""},
		{"a value cell filled in", Referral, "docx", LabelValue{Label: "Surname: Novák", Value: "Nováková"}, "", ""},
		{"a flattened PDF's text is not a cell", Referral, "pdf-text", LabelValue{Label: "Surname: Novák"}, "", ""},
		{"a scan's text is not a cell", Referral, "", LabelValue{Label: "Surname Novák"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := m.Map(tt.kind, &RawForm{Source: tt.source, ByLabel: []LabelValue{tt.lv}})
			if tt.canon == "" {
				if len(f.Values) != 0 || len(f.Invalid) != 0 {
					t.Errorf("values %q, invalid %q; want none", f.Values, f.Invalid)
				}
				return
			}
			if got := f.Get(tt.canon); got != tt.value || len(f.Values) != 1 {
				t.Errorf("%s = %q (values %q), want %q alone", tt.canon, got, f.Values, tt.value)
			}
		})
	}
}
