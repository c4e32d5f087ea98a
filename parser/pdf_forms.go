package parser

import (
	"math"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Markers printed on the DSR forms; a page that carries one starts that form.
var pageMarkers = []struct {
	text string
	kind FormKind
}{
	{"DSR-REFERRAL", Referral},
	{"DSR-CONSENT", Consent},
}

// pageMarker is the form whose code the page prints, "" for none or both.
func pageMarker(pt *pageText) FormKind {
	var found FormKind
	for _, mk := range pageMarkers {
		if strings.Contains(pt.raw, mk.text) {
			if found != "" && found != mk.kind {
				return ""
			}
			found = mk.kind
		}
	}
	return found
}

// maxBodyTitle is the longest line (in bytes) read as a title set in
// body-size type; the DSR titles are under 80.
const maxBodyTitle = 100

// pageKind says which form a page starts, "" for a continuation page.
// Only markers and large-type titles count: body text names the other
// form too ("send with the DSR consent form").
func pageKind(m *Mapping, pt *pageText) FormKind {
	if found := pageMarker(pt); found != "" {
		return found
	}
	if k := m.KindFromTitle(strings.Join(pt.big, " ")); k != "" {
		return k
	}
	// A title set in body-size type: one of the first lines alone. A
	// long line is a sentence ("Please return this form with the DSR
	// referral form", atop a Word form's second page), not a title.
	var kind FormKind
	for i, c := range pt.chunks {
		if i >= 8 {
			break
		}
		if len(c.text) > maxBodyTitle {
			continue
		}
		if k := m.KindFromTitle(c.text); k != "" {
			if kind != "" && kind != k {
				return ""
			}
			kind = k
		}
	}
	return kind
}

type segment struct {
	kind  FormKind
	pages []int
}

// segmentPages splits a document into forms: a page with a kind different
// from the current form's starts a new form (a combined PDF is referral
// pages then the consent page); pages without one continue the current.
func segmentPages(kinds []FormKind) []segment {
	var segs []segment
	for i, k := range kinds {
		switch {
		case len(segs) == 0:
			segs = append(segs, segment{kind: k, pages: []int{i}})
		case k != "" && segs[len(segs)-1].kind == "":
			segs[len(segs)-1].kind = k
			segs[len(segs)-1].pages = append(segs[len(segs)-1].pages, i)
		case k != "" && k != segs[len(segs)-1].kind:
			segs = append(segs, segment{kind: k, pages: []int{i}})
		default:
			segs[len(segs)-1].pages = append(segs[len(segs)-1].pages, i)
		}
	}
	return segs
}

// fieldPageKinds says which form each page is from the AcroForm fields
// on it: a page whose fields map to one form's own fields (at least two,
// and none of the other form's; the date of birth and NHS number are on
// both) is that form's. "" where the fields do not tell: no fields, only
// shared or unknown names, or some of each form's.
func fieldPageKinds(m *Mapping, fields []acroField, pages int) []FormKind {
	kinds := make([]FormKind, pages)
	counts := make([][2]int, pages)
	for _, f := range fields {
		if f.page < 0 || f.page >= pages || f.noAnswer {
			continue
		}
		for i, k := range []FormKind{Referral, Consent} {
			if canon, _, ok := m.fieldName(k, f.name); ok && !sharedField(canon) {
				counts[f.page][i]++
			}
		}
	}
	for p, c := range counts {
		switch {
		case c[0] >= 2 && c[1] == 0:
			kinds[p] = Referral
		case c[1] >= 2 && c[0] == 0:
			kinds[p] = Consent
		}
	}
	return kinds
}

// assembleForms builds one RawForm per form found in the document, from
// each page's kind. Page text is read only where it is needed: the pages
// of a form without filled fields, whose values are printed beside their
// labels.
func assembleForms(m *Mapping, trailer pdf.Value, kinds []FormKind, d *docText, fields []acroField) ([]*RawForm, error) {
	segs := segmentPages(kinds)
	segOf := map[int]int{}
	for si, s := range segs {
		for _, p := range s.pages {
			segOf[p] = si
		}
	}
	segFields := make([][]acroField, len(segs))
	for _, f := range fields {
		si, ok := segOf[f.page]
		if !ok {
			si = 0
		}
		segFields[si] = append(segFields[si], f)
	}
	infoTitle := safeText(func() string { return trailer.Key("Info").Key("Title").Text() })

	var forms []*RawForm
	for si, s := range segs {
		rf := &RawForm{Kind: s.kind}
		filled := anyFilled(segFields[si])
		if !filled {
			for _, p := range s.pages {
				if _, err := d.text(p); err != nil {
					return nil, err
				}
			}
		}
		// The title is a hint for a form of unknown kind; a filled form's
		// pages that were not read give none.
		for _, p := range s.pages {
			if t := d.texts[p]; t != nil && len(t.big) > 0 {
				rf.Title = strings.Join(t.big, " ")
				break
			}
		}
		for _, p := range s.pages {
			if t := d.texts[p]; t != nil && s.kind != "" && pageMarker(t) == s.kind {
				rf.Marked = true
			}
		}
		if rf.Title == "" {
			rf.Title = infoTitle
		}
		if len(rf.Title) > 300 {
			rf.Title = strings.ToValidUTF8(rf.Title[:300], "")
		}
		rf.ByName = fieldsByName(segFields[si], filled)
		if filled {
			rf.Source = "acroform"
			if s.kind != "" {
				lvs, err := unnamedFieldValues(m, s, d, segFields[si])
				if err != nil {
					return nil, err
				}
				rf.ByLabel = lvs
			}
		} else {
			rf.Source = "pdf-text"
			labels := m.Labels(s.kind)
			if s.kind == "" {
				labels = unionLabels(m)
			}
			var tail *labelTail
			for _, p := range s.pages {
				pt := d.texts[p]
				pt.textRight = pageRight(d.pages[p]) - 72
				lvs, next := findLabelValues(pt, labels)
				if tail != nil {
					if v := continuedAnswer(pt, tail, labels); v != "" {
						rf.ByLabel[tail.at].Value = v
					}
				}
				if tail = next; tail != nil {
					tail.at += len(rf.ByLabel)
				}
				rf.ByLabel = append(rf.ByLabel, lvs...)
			}
		}
		if rf.Kind == "" && len(rf.ByName) == 0 && !anyValue(rf.ByLabel) {
			continue
		}
		forms = append(forms, rf)
	}
	return forms, nil
}

// fieldsByName is every AcroForm field of a form by name, the first of
// a name winning, push buttons and signatures only where no field that
// holds an answer has their name; nil when there are none. In a form
// with nothing filled every value is blank: an unticked box is "Off"
// there, which would read as a No, and such a form's answers are
// printed beside its labels if anywhere (a blank field stays missing).
func fieldsByName(fields []acroField, filled bool) map[string]string {
	if len(fields) == 0 {
		return nil
	}
	byName := map[string]string{}
	for _, pass := range []bool{false, true} {
		for _, f := range fields {
			if _, dup := byName[f.name]; dup || f.noAnswer != pass {
				continue
			}
			byName[f.name] = ""
			if filled {
				byName[f.name] = f.value
			}
		}
	}
	return byName
}

func anyValue(lvs []LabelValue) bool {
	for _, lv := range lvs {
		if strings.TrimSpace(lv.Value) != "" {
			return true
		}
	}
	return false
}

func unionLabels(m *Mapping) map[string]string {
	u := map[string]string{}
	for _, k := range []FormKind{Referral, Consent} {
		for key, canon := range m.Labels(k) {
			u[key] = canon
		}
	}
	return u
}

// pageRight is the right edge of the page's media box (inherited from the
// page tree like every page attribute), 0 when it cannot be read.
func pageRight(p pdf.Page) (right float64) {
	defer func() {
		if recover() != nil {
			right = 0
		}
	}()
	v := p.V
	for i := 0; i < maxFieldDepth && v.Kind() == pdf.Dict; i++ {
		if box := v.Key("MediaBox"); box.Kind() == pdf.Array && box.Len() == 4 {
			r := math.Max(box.Index(0).Float64(), box.Index(2).Float64())
			if math.IsNaN(r) || math.IsInf(r, 0) || r > 1e5 {
				return 0
			}
			return r
		}
		v = v.Key("Parent")
	}
	return 0
}

// safeText reads an optional string, treating a library panic as absent.
func safeText(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return f()
}
