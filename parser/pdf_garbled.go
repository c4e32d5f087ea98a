package parser

import (
	"unicode"
	"unicode/utf8"
)

// A font whose character map is lost (a subset font with no ToUnicode
// map, or a wrong one, as some printers to PDF write) decodes its glyphs
// by their order in the subset: punctuation, digits and capitals, in the
// order the text first used them ("!\"##$" for "Section"). pdftotext
// reads such text as badly. A page of it carries no label a form is
// known by, so without this the form would be taken for an attachment
// that is not a form, and its sender asked for forms they had sent.

// runeCounts counts what a font drew, by kind of rune.
type runeCounts struct {
	all, letters, punct int
	listed              bool // in the extractor's drawnFonts
}

// count records the runes of s, drawn in f.
func (e *textExtractor) count(f *fontInfo, s string) {
	c := &f.drawn
	if !c.listed {
		c.listed = true
		e.drawnFonts = append(e.drawnFonts, f)
	}
	if len(s) == 1 && s[0] < utf8.RuneSelf {
		// One ASCII character, as most glyphs are: no Unicode tables.
		switch b := s[0]; {
		case b == ' ' || b < 0x20 && b >= '\t' && b <= '\r' || b == '.' || b == '_' || b == '-':
		case 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z':
			c.all++
			c.letters++
		case '0' <= b && b <= '9':
			c.all++
		default:
			c.all++
			c.punct++
		}
		return
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || isFillMark(r):
		case unicode.IsLetter(r):
			c.all++
			c.letters++
		case unicode.IsDigit(r):
			c.all++
		default:
			c.all++
			c.punct++
		}
	}
}

// forgetDrawn clears what the fonts drew, for the next document (the
// fonts themselves are the document's, but noFont is kept).
func (e *textExtractor) forgetDrawn() {
	for _, f := range e.drawnFonts {
		f.drawn = runeCounts{}
	}
	e.drawnFonts = e.drawnFonts[:0]
}

// garbledRunes is how many runes the document drew in fonts whose text
// is not words (fewer than half letters, three in ten or more punctuation
// and symbols: a font of digits and date slashes is words), and how many
// it drew in all.
func (e *textExtractor) garbledRunes() (garbled, all int) {
	for _, f := range e.drawnFonts {
		c := f.drawn
		all += c.all
		if c.all >= 20 && c.letters*2 < c.all && c.punct*10 >= c.all*3 {
			garbled += c.all
		}
	}
	return garbled, all
}

// textGarbled reports a text layer a third or more of which is drawn in
// such fonts: a form's labels are most of its text, and one font draws
// them.
func textGarbled(garbled, all int) bool {
	return all >= 40 && garbled*3 >= all
}

// isFillMark reports the runes a printed form draws its lines to write on
// with, which are neither words nor garbled text.
func isFillMark(r rune) bool {
	switch r {
	case '.', '_', '-', '\u2026', '\u2013', '\u2014', '\u00b7':
		return true
	}
	return false
}
