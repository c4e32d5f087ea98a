package parser

import (
	"testing"
	"unicode"
)

// TestCountASCIIAgrees holds count's path for one ASCII character, the
// commonest glyph, to the Unicode tables' reading of it.
func TestCountASCIIAgrees(t *testing.T) {
	for b := 0; b < 128; b++ {
		s := string(rune(b))
		e := &textExtractor{}
		fast := &fontInfo{}
		e.count(fast, s)
		var want runeCounts
		r := rune(b)
		switch {
		case unicode.IsSpace(r) || isFillMark(r):
		case unicode.IsLetter(r):
			want.all++
			want.letters++
		case unicode.IsDigit(r):
			want.all++
		default:
			want.all++
			want.punct++
		}
		got := fast.drawn
		got.listed = false
		if got != want {
			t.Errorf("%q: %+v, want %+v", s, got, want)
		}
	}
}
