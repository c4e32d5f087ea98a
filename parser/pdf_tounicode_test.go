package parser

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
)

// privateNamesPDF prints lines in a font as a PDF printer driver writes
// it: codes from 1 up in order of first use, /Differences naming them
// /g1, /g2... (no standard glyph names) and the text only in the font's
// ToUnicode map, whose first code is a bfrange and the rest bfchar.
func privateNamesPDF(lines ...string) []byte {
	codes := map[rune]byte{}
	var order []rune
	var content strings.Builder
	content.WriteString("BT /F1 11 Tf 14 TL 72 720 Td\n")
	for _, line := range lines {
		content.WriteString("<")
		for _, r := range line {
			c, ok := codes[r]
			if !ok {
				c = byte(len(order) + 1)
				codes[r] = c
				order = append(order, r)
			}
			fmt.Fprintf(&content, "%02x", c)
		}
		content.WriteString("> Tj T*\n")
	}
	content.WriteString("ET\n")
	var diffs, cmap strings.Builder
	diffs.WriteString("1")
	for i := range order {
		fmt.Fprintf(&diffs, " /g%d", 300+i)
	}
	fmt.Fprintf(&cmap, "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName/R11 def\n1 begincodespacerange <00><ff> endcodespacerange\n")
	fmt.Fprintf(&cmap, "1 beginbfrange\n<01><01><%04x>\nendbfrange\n%d beginbfchar\n", order[0], len(order)-1)
	for i, r := range order[1:] {
		fmt.Fprintf(&cmap, "<%02x><%04x>\n", i+2, r)
	}
	cmap.WriteString("endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n")
	return testPDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"),
		flateStream("", []byte(content.String())),
		fmt.Appendf(nil, "<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Calibri /FirstChar 1 /LastChar %d /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [%s] >> /ToUnicode 6 0 R >>", len(order), diffs.String()),
		flateStream("", []byte(cmap.String())),
	)
}

// A form printed through a PDF printer driver, whose font has private
// glyph names and its text only in its ToUnicode map, is read as text
// (it was "a scan"): here a flattened referral's marker and labels.
func TestReadPDFPrivateGlyphNames(t *testing.T) {
	data := privateNamesPDF(
		"DSR Referral Form DSR-REFERRAL",
		"Surname: Example",
		"First name(s): Zoe",
		"Postcode: BR1 1AA",
	)
	forms, err := NewInProcessPDFReader(Limits{}).ReadPDF(context.Background(), data)
	if err != nil || len(forms) != 1 {
		t.Fatalf("forms %d, err %v", len(forms), err)
	}
	rf := forms[0]
	if rf.Kind != Referral || !rf.Marked {
		t.Errorf("kind %q marked %v", rf.Kind, rf.Marked)
	}
	f := DefaultMapping().Map(Referral, rf)
	for canon, want := range map[string]string{"cyp_surname": "Example", "cyp_first_names": "Zoe", "cyp_postcode": "BR1 1AA"} {
		if f.Values[canon] != want {
			t.Errorf("%s = %q, want %q (labels %q)", canon, f.Values[canon], want, rf.ByLabel)
		}
	}
}

func TestReadToUnicode(t *testing.T) {
	cmap := `/CIDInit /ProcSet findresource begin
begincmap
1 begincodespacerange <00><ff> endcodespacerange
2 beginbfchar
<01><0044>
<02> <00660069>
endbfchar
4 beginbfrange
<0a><0c><0061>
<10><11>[<0058> <D83DDE00>]
<5f><60><D835DEFF>
<0100><0102><0041>
endbfrange
endcmap`
	data := testPDF(flateStream("", []byte(cmap)))
	doc, err := pdf.NewReader(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got := readToUnicode(&streamReader{}, doc.Trailer().Key("Root"))
	// A range whose last UTF-16 unit counts past a byte (<5f><60>: U+1D6FF,
	// U+1D700; pdfTeX wrote such ranges for the Greek of an arXiv paper in
	// PyMuPDF's tests, 2201.00069.pdf) counts on, as pdftotext reads it
	// ("𝜇Jy"); the PDF library wrapped the byte and read "𝘇Jy".
	want := map[string]string{"\x01": "D", "\x02": "fi", "\x0a": "a", "\x0b": "b", "\x0c": "c", "\x10": "X", "\x11": "😀",
		"\x5f": "\U0001D6FF", "\x60": "\U0001D700"}
	if !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestReadToUnicodeUnfiltered: a map with no /Filter is read as it is,
// and inflated only when it is zlib's whole (as pdf.js's issue19802.pdf
// wrote one): text that begins as zlib's header does ("x^") stays text.
func TestReadToUnicodeUnfiltered(t *testing.T) {
	cmap := "begincmap\n1 beginbfchar\n<01><0044>\nendbfchar\nendcmap"
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write([]byte(cmap)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		data       string
		zlibHeader bool
	}{
		{"text", cmap, false},
		{"compressed, no /Filter", z.String(), true},
		{"text that begins like zlib", "x^\n" + cmap, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := zlibHeader([]byte(tc.data)); got != tc.zlibHeader {
				t.Fatalf("zlibHeader(%q) = %v", tc.data[:2], got)
			}
			data := testPDF(fmt.Appendf(nil, "<< /Length %d >>\nstream\n%s\nendstream", len(tc.data), tc.data))
			doc, err := pdf.NewReader(strings.NewReader(string(data)), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if got := readToUnicode(&streamReader{}, doc.Trailer().Key("Root")); got["\x01"] != "D" {
				t.Errorf("got %q", got)
			}
		})
	}
}
