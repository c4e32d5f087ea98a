package parser

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Mapping maps the field names and printed labels found in documents onto
// canonical fields. FORMS.md's names and labels are always known; an
// operator adds others (an older edition, a neighbouring borough's form)
// in configuration.
type Mapping struct {
	names  map[FormKind]map[string]string // normalised name → canonical
	labels map[FormKind]map[string]string // normalised label → canonical
	titles map[FormKind][]string          // normalised title fragments
}

// Aliases is the operator's extra mapping for one form kind.
type Aliases struct {
	Fields map[string]string // document field name → canonical name
	Labels map[string]string // printed label → canonical name
	Titles []string          // title text that identifies the form
}

// DefaultMapping knows FORMS.md's field names, labels and titles.
func DefaultMapping() *Mapping {
	m := &Mapping{
		names:  map[FormKind]map[string]string{Referral: {}, Consent: {}},
		labels: map[FormKind]map[string]string{Referral: {}, Consent: {}},
		titles: map[FormKind][]string{
			Referral: {labelKey("DSR-REFERRAL"), labelKey("Referral Form")},
			Consent:  {labelKey("DSR-CONSENT"), labelKey("Consent Form")},
		},
	}
	for _, k := range []FormKind{Referral, Consent} {
		for _, f := range Fields(k) {
			m.names[k][nameKey(f.Name)] = f.Name
			m.labels[k][labelKey(f.Label)] = f.Name
		}
	}
	return m
}

// NewMapping is the default mapping with the operator's aliases added.
// Unknown canonical names are reported, so a typo in the configuration is
// found at start-up rather than as a silently missing field.
func NewMapping(extra map[FormKind]Aliases) (*Mapping, error) {
	m := DefaultMapping()
	for k, a := range extra {
		if k != Referral && k != Consent {
			return nil, &MappingError{Kind: k, Problem: "unknown form (use referral or consent)"}
		}
		for name, canon := range a.Fields {
			if _, ok := Spec(k, canon); !ok {
				return nil, &MappingError{Kind: k, Key: name, Problem: "maps to unknown field " + canon}
			}
			m.names[k][nameKey(name)] = canon
		}
		for label, canon := range a.Labels {
			if _, ok := Spec(k, canon); !ok {
				return nil, &MappingError{Kind: k, Key: label, Problem: "maps to unknown field " + canon}
			}
			m.labels[k][labelKey(label)] = canon
		}
		for _, t := range a.Titles {
			m.titles[k] = append(m.titles[k], labelKey(t))
		}
	}
	return m, nil
}

// MappingError names the configuration entry that cannot be used.
type MappingError struct {
	Kind    FormKind
	Key     string
	Problem string
}

func (e *MappingError) Error() string {
	if e.Key == "" {
		return "forms." + string(e.Kind) + ": " + e.Problem
	}
	return "forms." + string(e.Kind) + ": " + e.Key + ": " + e.Problem
}

// Labels returns every label the mapping knows for a form kind, as
// normalised keys (see LabelKey). Readers of page text use it to find
// where labels are.
func (m *Mapping) Labels(k FormKind) map[string]string {
	return m.labels[k]
}

// LabelKey normalises a printed label for lookup: lower case, accents and
// punctuation dropped, spaces folded, a trailing colon or asterisk ignored.
func LabelKey(s string) string { return labelKey(s) }

func labelKey(s string) string {
	if k, ok := fastLabelKey(s); ok {
		return k
	}
	return unicodeLabelKey(s)
}

// unicodeLabelKey is labelKey of any string.
func unicodeLabelKey(s string) string {
	s = foldAccents(strings.ToLower(s))
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// fastLabelKey is labelKey where no Unicode normalisation is needed:
// reading a flattened form asks about every text run on its pages, and
// normalising each (foldAccents' NFD) was most of the time spent pairing
// labels with values. It takes strings of ASCII and of other characters
// that are neither letters nor digits and that lower-casing and NFD leave
// as they are, in place (no decomposition, canonical class 0, not a
// combining mark): check boxes, dashes, curly quotes. There lower-casing
// changes only A-Z, and such a character is a separator as in labelKey.
// ok is false for any other string (accented or non-Latin letters).
func fastLabelKey(s string) (key string, ok bool) {
	var buf [128]byte
	b, ok := appendFastLabelKey(buf[:0], s)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendFastLabelKey appends fastLabelKey(s) to b.
func appendFastLabelKey(b []byte, s string) ([]byte, bool) {
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !plainSeparator(r, s[i:]) {
				return b, false
			}
			space = true
			i += n
			continue
		}
		i++
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return b, true
}

// plainSeparator says whether r, the first rune of s, is a character
// that labelKey reads as a separator without normalising: not a letter,
// digit or combining mark, unchanged by lower-casing, and left in place
// by NFD (see fastLabelKey). An invalid byte is not.
func plainSeparator(r rune, s string) bool {
	if r == utf8.RuneError || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.ToLower(r) != r {
		return false
	}
	p := norm.NFD.PropertiesString(s)
	return p.CCC() == 0 && len(p.Decomposition()) == 0
}

// nameKey normalises a field name: AcroForm names are often qualified
// ("form1.page1.cyp_dob"), so the last part counts, and case, dashes and
// spaces do not.
func nameKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, "[0]")
	if i := strings.LastIndexByte(s, '.'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// fieldName is the canonical field a document's field name stands for on
// form k. Tools that merge two filled forms into one PDF rename the
// second form's fields whose names clash: qpdf appends "+1", pdftk
// prefixes "1." (nameKey drops qualifiers), others append "_1", "#1",
// "-1" or "(1)". Such a name stands for the name without the suffix when
// only that is known; renamed says so.
func (m *Mapping) fieldName(k FormKind, name string) (canon string, renamed, ok bool) {
	if canon, ok := m.names[k][nameKey(name)]; ok {
		return canon, false, true
	}
	if base, cut := clashBase(name); cut {
		if canon, ok := m.names[k][nameKey(base)]; ok {
			return canon, true, true
		}
	}
	return "", false, false
}

// clashBase strips one renaming suffix (a separator and digits, or digits
// in brackets) from a field name.
func clashBase(name string) (string, bool) {
	s := strings.TrimSpace(name)
	if n := len(s); n > 2 && (s[n-1] == ')' || s[n-1] == ']') {
		open := strings.LastIndexAny(s, "([")
		if open <= 0 || !allDigits(s[open+1:n-1]) {
			return name, false
		}
		return strings.TrimRight(s[:open], " _"), true
	}
	t := strings.TrimRight(s, "0123456789")
	if t == s || len(t) < 2 || !strings.ContainsRune("+_#-. ", rune(t[len(t)-1])) {
		return name, false
	}
	return t[:len(t)-1], true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// foldAccents removes combining marks, so Zoë and Zoe compare equal.
func foldAccents(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FoldName is how names are compared: case, accents, spaces and hyphens
// do not matter.
func FoldName(s string) string {
	return strings.Join(strings.Fields(labelKey(s)), " ")
}

// Classify says which form a raw form is: the form whose code
// (DSR-REFERRAL, DSR-CONSENT) it prints, otherwise the form whose own
// fields it carries, by name or printed label, if there are enough of
// them (see classifyHinted). Empty when it is neither.
func (m *Mapping) Classify(rf *RawForm) FormKind { return m.classifyHinted(rf, "") }

// minDistinctFields is how many distinct fields of one form, and of that
// form only, a document must carry to be that form without printing its
// code. Each field counts once however often its label is printed: a tax
// return prints "Date" three times and a form demo "Gender:" ten times,
// and neither is a DSR form.
const minDistinctFields = 3

// classifyHinted is Classify with a hint from outside the document (its
// file name). A hint, or the form's title, picks between the two forms
// but is never enough alone: a "Consent Form" for school photographs is
// not the DSR consent form.
func (m *Mapping) classifyHinted(rf *RawForm, hint FormKind) FormKind {
	if rf.Marked && rf.Kind != "" {
		return rf.Kind
	}
	if k := dsrCode(rf.Title); k != "" {
		return k
	}
	n := m.distinctFields(rf)
	for _, h := range []FormKind{rf.Kind, m.KindFromTitle(rf.Title), hint} {
		if h == "" {
			continue
		}
		if n[h] >= minDistinctFields && n[h] >= n[otherKind(h)] {
			return h
		}
		break
	}
	switch {
	case n[Referral] > n[Consent] && n[Referral] >= minDistinctFields:
		return Referral
	case n[Consent] > n[Referral] && n[Consent] >= minDistinctFields:
		return Consent
	}
	return ""
}

// distinctFields counts, for each form, the distinct canonical fields a
// raw form carries that only that form has (by name or label).
func (m *Mapping) distinctFields(rf *RawForm) map[FormKind]int {
	n := map[FormKind]int{}
	for _, k := range []FormKind{Referral, Consent} {
		seen := map[string]bool{}
		for name := range rf.ByName {
			if canon, _, ok := m.fieldName(k, name); ok && !sharedField(canon) {
				seen[canon] = true
			}
		}
		for _, lv := range rf.ByLabel {
			if canon, label, _, ok := m.label(k, lv, rf.LabelCells()); ok && !sharedField(canon) && !m.labelOnBoth(label) {
				seen[canon] = true
			}
		}
		n[k] = len(seen)
	}
	return n
}

func otherKind(k FormKind) FormKind {
	if k == Referral {
		return Consent
	}
	return Referral
}

// dsrCode is the form whose code a text prints: DSR-REFERRAL or
// DSR-CONSENT, one and not the other.
func dsrCode(text string) FormKind {
	u := strings.ToUpper(text)
	ref, con := strings.Contains(u, "DSR-REFERRAL"), strings.Contains(u, "DSR-CONSENT")
	switch {
	case ref && !con:
		return Referral
	case con && !ref:
		return Consent
	}
	return ""
}

// KindFromTitle classifies by title text alone.
func (m *Mapping) KindFromTitle(title string) FormKind {
	t := labelKey(title)
	if t == "" {
		return ""
	}
	for _, k := range []FormKind{Referral, Consent} {
		for _, frag := range m.titles[k] {
			if strings.Contains(t, frag) {
				return k
			}
		}
	}
	return ""
}

func sharedField(canon string) bool {
	return canon == "cyp_dob" || canon == "cyp_nhs_number"
}

func (m *Mapping) labelOnBoth(label string) bool {
	k := labelKey(label)
	_, r := m.labels[Referral][k]
	_, c := m.labels[Consent][k]
	return r && c
}

// Map turns a raw form into a canonical form of kind k: names first, then
// labels for fields the names did not fill; each value normalised.
func (m *Mapping) Map(k FormKind, rf *RawForm) *Form {
	f := &Form{Kind: k, Source: rf.Source, Values: map[string]string{}, Invalid: map[string]string{}}
	set := func(canon, raw string) {
		if f.Has(canon) {
			return
		}
		spec, _ := Spec(k, canon)
		v, err := Normalise(spec, raw)
		switch {
		case err != nil:
			f.Invalid[canon] = cleanText(raw)
		case v != "":
			f.Values[canon] = v
		}
	}
	// Exact names first, then names a merging tool renamed, each in name
	// order, so that which value wins never depends on map order.
	names := make([]string, 0, len(rf.ByName))
	for name := range rf.ByName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, renamedPass := range []bool{false, true} {
		for _, name := range names {
			if canon, renamed, ok := m.fieldName(k, name); ok && renamed == renamedPass {
				set(canon, rf.ByName[name])
			}
		}
	}
	for _, lv := range rf.ByLabel {
		if canon, _, value, ok := m.label(k, lv, rf.LabelCells()); ok {
			set(canon, value)
		}
	}
	return f
}

// maxLabelWords bounds how many words of a label cell are tried as a
// label followed by an answer: the longest label is ten words.
const maxLabelWords = 16

// label finds the field a label-value pair fills on form k, with the
// printed label and the value. When labels are table cells (cells), a
// label cell holding more than a known label, its value cell empty, is
// a known label with the answer typed after it ("Surname: Novák", or the
// answer on a line of its own): people click into the shaded cell as
// often as the one beside it, and a coordinator reads the answer where
// it stands. The longest known label wins; words after it in brackets
// are the label's own note, and a second label is another edition's
// layout, not an answer.
func (m *Mapping) label(k FormKind, lv LabelValue, cells bool) (canon, label, value string, ok bool) {
	if canon, ok := m.labels[k][labelKey(lv.Label)]; ok {
		return canon, lv.Label, lv.Value, true
	}
	if !cells || lv.Value != "" {
		return "", "", "", false
	}
	label, rest, ok := labelHead(lv.Label, func(p string) bool { _, ok := m.labels[k][labelKey(p)]; return ok })
	if !ok || m.labelOnEither(rest) {
		return "", "", "", false
	}
	canon = m.labels[k][labelKey(label)]
	// The answer is read as the value cell's would be: ticked boxes, a
	// prompt left in place.
	if value = finishValue(rest); value == "" {
		return "", "", "", false
	}
	return canon, label, value, true
}

// labelHead reads a label cell holding a label and the answer typed after
// it: the longest known label (isLabel) that s starts with, ending at a
// word within maxLabelWords words, and what follows it, the separators
// between taken off. ok is false when no label leads, nothing follows, or
// what follows is in brackets (the label's own note). The Word reader's
// cells (Mapping.label) and a printed form's lines (splitAtSpace) read so.
func labelHead(s string, isLabel func(string) bool) (label, rest string, ok bool) {
	words := 0
	for i, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || i == 0 {
			continue
		}
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); !unicode.IsLetter(prev) && !unicode.IsDigit(prev) && prev != ')' {
			continue // within a run of separators: tried at its start
		}
		if words++; words > maxLabelWords {
			break
		}
		if isLabel(s[:i]) {
			label = s[:i]
		}
	}
	if label == "" {
		return "", "", false
	}
	// A label ending in a bracket ("First name(s)") is also found
	// without it, so a bracket may lead what is left.
	rest = strings.TrimLeft(s[len(label):], " \t\n:;.,-–—=>|)")
	if rest == "" || strings.ContainsAny(rest[:1], "([{*") {
		return "", "", false
	}
	return label, rest, true
}

// labelOnEither says whether s is a label of either form.
func (m *Mapping) labelOnEither(s string) bool {
	k := labelKey(s)
	_, r := m.labels[Referral][k]
	_, c := m.labels[Consent][k]
	return r || c
}
