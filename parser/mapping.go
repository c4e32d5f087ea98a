package parser

import (
	"strings"
	"unicode"

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

// Classify says which form a raw form is: its own Kind if the reader knew,
// otherwise the form whose field names or labels it carries most of,
// otherwise its title. Empty when it is neither.
func (m *Mapping) Classify(rf *RawForm) FormKind {
	if rf.Kind != "" {
		return rf.Kind
	}
	score := map[FormKind]int{}
	for _, k := range []FormKind{Referral, Consent} {
		for name := range rf.ByName {
			if canon, ok := m.names[k][nameKey(name)]; ok && !sharedField(canon) {
				score[k]++
			}
		}
		for _, lv := range rf.ByLabel {
			if canon, ok := m.labels[k][labelKey(lv.Label)]; ok && !sharedField(canon) && !m.labelOnBoth(lv.Label) {
				score[k]++
			}
		}
	}
	switch {
	case score[Referral] > score[Consent] && score[Referral] >= 3:
		return Referral
	case score[Consent] > score[Referral] && score[Consent] >= 3:
		return Consent
	}
	return m.KindFromTitle(rf.Title)
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
	for name, raw := range rf.ByName {
		if canon, ok := m.names[k][nameKey(name)]; ok {
			set(canon, raw)
		}
	}
	for _, lv := range rf.ByLabel {
		if canon, ok := m.labels[k][labelKey(lv.Label)]; ok {
			set(canon, lv.Value)
		}
	}
	return f
}
