package parser

import (
	"math"
	"strings"

	"github.com/ledongthuc/pdf"
)

// A filled form whose fields are named otherwise than the mapping knows
// (the form made again in Acrobat, whose field detection names fields
// "Text1" or after the words beside them; an edition whose names changed)
// holds every answer where pdftk and every viewer read it, and none under
// a name we know: the referrer would be asked for every field they filled
// in. Such a field's value is laid out where its widgets are, as a viewer
// shows it and a print flattens it, and read against the page's printed
// labels as a flattened form is. Names the mapping knows are read by name
// as before; the layout is only done for a form that has some others.

// unnamedFieldValues reads a form's fields of names the mapping does not
// know by the labels printed beside them: none when it has none filled.
// Only a form whose kind its pages or its other fields gave is read so,
// as a third-party form's fields are no answers of ours.
func unnamedFieldValues(m *Mapping, s segment, d *docText, fields []acroField) ([]LabelValue, error) {
	var unnamed []acroField
	for _, f := range fields {
		if unnamedFilled(m, f) {
			unnamed = append(unnamed, f)
		}
	}
	if len(unnamed) == 0 {
		return nil, nil
	}
	labels := m.Labels(s.kind)
	var lvs []LabelValue
	for _, p := range s.pages {
		extra := safeFieldGlyphs(unnamed, p)
		if len(extra) == 0 {
			continue
		}
		pt, err := d.textWith(p, extra)
		if err != nil {
			return nil, err
		}
		pt.textRight = pageRight(d.pages[p]) - 72
		found, _ := findLabelValues(pt, labels)
		lvs = append(lvs, found...)
	}
	return lvs, nil
}

// unnamedFilled reports whether f holds an answer under a name neither
// form's mapping knows.
func unnamedFilled(m *Mapping, f acroField) bool {
	if f.noAnswer || f.value == "" || f.value == "Off" || len(f.widgets) == 0 {
		return false
	}
	for _, k := range []FormKind{Referral, Consent} {
		if _, _, ok := m.fieldName(k, f.name); ok {
			return false
		}
	}
	return true
}

// ffMultiline is a text field's multi-line flag (PDF 32000-1:2008, 12.7.4.3).
const ffMultiline = 1 << 12

// fieldGlyphs lays out the values of the fields in fs shown on page p: a
// text field's lines from the top of a multi-line box, or the middle of a
// one-line box, at its appearance's font size; a tick in a check box or
// radio button that is on. Widths are estimated (half the size a
// character), as for free text: only the places matter.
func fieldGlyphs(fs []acroField, p int) []glyph {
	var out []glyph
	for _, f := range fs {
		if f.page != p {
			continue
		}
		button := inherited(f.field, "FT").Name() == "Btn"
		multiline := inherited(f.field, "Ff").Int64()&ffMultiline != 0
		for _, wd := range f.widgets {
			x0, y0, x1, y1, ok := annotRect(wd)
			if !ok || wd.Key("F").Int64()&2 != 0 {
				continue // nowhere, or hidden: what a viewer does not show
			}
			if button {
				if as := wd.Key("AS").Name(); as == "Off" || (as == "" && len(f.widgets) > 1) {
					continue
				}
				// A box is drawn on the line of the words beside it: the
				// tick stands on its bottom, as tall as the box.
				size := math.Min(x1-x0, y1-y0)
				out = append(out, glyph{x: (x0+x1)/2 - size/2, y: y0, w: size, size: size, s: "✓"})
				continue
			}
			size := fieldFontSize(wd, f.field, y1-y0, multiline)
			y := (y0+y1)/2 - 0.35*size // a one-line box's text is centred
			if multiline {
				y = y1 - 2 - 0.7*size // the first baseline below the top
			}
			out = appendBoxText(out, maxGlyphs-len(out), x0, y0, y, size, f.value)
		}
		if len(out) >= maxGlyphs {
			break
		}
	}
	return out
}

// safeFieldGlyphs is fieldGlyphs with the library's panics on a malformed
// widget taken as nothing to lay out: a field we would not have read
// before must not make the form unreadable.
func safeFieldGlyphs(fs []acroField, p int) (out []glyph) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return fieldGlyphs(fs, p)
}

// annotRect is an annotation's /Rect (a widget's, a text box's), ordered.
func annotRect(a pdf.Value) (x0, y0, x1, y1 float64, ok bool) {
	r := a.Key("Rect")
	if r.Len() != 4 {
		return 0, 0, 0, 0, false
	}
	l, b, r2, t := r.Index(0).Float64(), r.Index(1).Float64(), r.Index(2).Float64(), r.Index(3).Float64()
	x0, x1 = math.Min(l, r2), math.Max(l, r2)
	y0, y1 = math.Min(b, t), math.Max(b, t)
	for _, v := range []float64{x0, y0, x1, y1} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e5 {
			return 0, 0, 0, 0, false
		}
	}
	return x0, y0, x1, y1, x1 > x0 && y1 > y0
}

// fieldFontSize is the size a widget's default appearance sets (the
// widget's, the field's or a parent's /DA); 0 there means "fit the box",
// which a viewer does for one line at about two thirds of its height.
func fieldFontSize(wd, field pdf.Value, height float64, multiline bool) float64 {
	da := wd.Key("DA").Text()
	if da == "" {
		da = inherited(field, "DA").Text()
	}
	if v, ok := daFontSize(da); ok {
		return v
	}
	if multiline {
		return 10
	}
	return math.Max(4, math.Min(12, height*0.66))
}

// appendBoxText sets text in a box from its first baseline y, a line each
// 1.2 sizes lower, stopping past the box's bottom, as a viewer shows it;
// at most room glyphs.
func appendBoxText(out []glyph, room int, x0, bottom, y, size float64, text string) []glyph {
	limit := len(out) + room
	for _, line := range strings.Split(lineBreaks.Replace(text), "\n") {
		if y < bottom-size {
			break // past the box: what the viewer would not show
		}
		x := x0 + 2
		for _, c := range line {
			if len(out) >= limit {
				return out
			}
			w := size * 0.5
			out = append(out, glyph{x: x, y: y, w: w, size: size, s: string(c)})
			x += w
		}
		y -= size * 1.2
	}
	return out
}
