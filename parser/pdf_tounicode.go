package parser

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/ledongthuc/pdf"
)

// The library reads a simple font's /ToUnicode map only when the font
// has no /Encoding. A font with both, whose /Differences name its glyphs
// privately (/g24, /g349: a Word document printed by a PDF printer
// driver, codes from 1 up), then decodes to control bytes, and a page of
// text reads as no text at all ("a scan"). Such a font's codes are
// decoded by its ToUnicode map here, as viewers and pdftotext do (the
// map comes first in PDF 32000-1:2008, 9.10.2); a code the map leaves
// out is decoded by the encoding.

// Bounds of a ToUnicode map: a simple font has 256 codes.
const (
	maxToUnicodeBytes   = 1 << 20
	maxToUnicodeEntries = 4096
)

// readToUnicode reads a ToUnicode CMap's bfchar and bfrange entries of
// one-byte codes: code → text. A map it cannot read gives what it read.
// sr reads the stream (the extractor's, with its one reused inflater).
func readToUnicode(sr *streamReader, s pdf.Value) (m map[string]string) {
	m = map[string]string{}
	defer func() {
		if recover() != nil {
			return // the library panicked reading the stream: keep what was read
		}
	}()
	if s.Kind() != pdf.Stream {
		return m
	}
	l := pdfLexer{data: toUnicodeData(sr, s)}
	str := func() (pdfString, bool) {
		s, ok := l.token().(pdfString)
		return s, ok
	}
	for len(m) < maxToUnicodeEntries {
		tok := l.token()
		if tok == nil {
			return m
		}
		switch tok {
		case pdfKeyword("beginbfchar"):
			for len(m) < maxToUnicodeEntries {
				src, ok := str()
				if !ok {
					break
				}
				dst, ok := str()
				if !ok {
					break
				}
				if len(src) == 1 {
					m[string(src)] = utf16BE(dst)
				}
			}
		case pdfKeyword("beginbfrange"):
			for len(m) < maxToUnicodeEntries {
				lo, ok := str()
				if !ok {
					break
				}
				hi, ok := str()
				if !ok || len(lo) != 1 || len(hi) != 1 {
					break
				}
				switch dst := l.token().(type) {
				case pdfString:
					// Consecutive codes: the last UTF-16 unit counts up.
					for c := int(lo[0]); c <= int(hi[0]) && len(dst) >= 2; c++ {
						d := []byte(dst)
						n := int(d[len(d)-2])<<8 | int(d[len(d)-1]) + c - int(lo[0])
						d[len(d)-2], d[len(d)-1] = byte(n>>8), byte(n)
						m[string([]byte{byte(c)})] = utf16BE(pdfString(d))
					}
				case pdfKeyword:
					if dst != "[" {
						break
					}
					// One destination string per code.
					for c := int(lo[0]); c <= int(hi[0])+1; c++ {
						d, ok := l.token().(pdfString)
						if !ok {
							break // "]"
						}
						if c <= int(hi[0]) {
							m[string([]byte{byte(c)})] = utf16BE(d)
						}
					}
				}
			}
		}
	}
	return m
}

// toUnicodeData is the decoded CMap of ToUnicode stream s.
func toUnicodeData(sr *streamReader, s pdf.Value) []byte {
	data, _ := sr.appendStream(nil, s, maxToUnicodeBytes)
	if s.Key("Filter").Kind() == pdf.Null && zlibHeader(data) {
		// A map compressed without its /Filter saying so (pdf.js's
		// issue19802.pdf): a CMap is text, never zlib's header.
		if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			// Taken only when it inflates whole: two bytes of text
			// can look like zlib's header ("x^" does).
			if inflated, err := io.ReadAll(io.LimitReader(zr, maxToUnicodeBytes)); err == nil {
				data = inflated
			}
		}
	}
	return data
}

// Some writers give a Type 0 font whose two-byte codes are UTF-16 (its
// CIDs the characters' own numbers, a CIDToGIDMap finding the glyphs) the
// Identity-H CMap as its ToUnicode map: as the name /Identity-H, or as a
// copy of Adobe's Identity-H resource, which maps codes to CIDs and says
// nothing of Unicode (PDFBox's PDFBOX-4322: a Calibri name field). Every
// code then decoded to nothing, and the page read as "a scan". pdftotext
// and PDFBox read such a map as what it claims, identity: the code is the
// character. So do we, for the name, and for a copy of the resource where
// the font maps its CIDs to glyphs by a CIDToGIDMap stream. Without one,
// the CIDs are the glyphs' own numbers, not characters (pdf.js's
// issue5801.pdf: Arial Black's glyphs, "piątek" drawn as codes that read
// "SLĈWHN"): pdftotext reads that noise; we leave the page to OCR, which
// reads what it shows. A map with any bfchar or bfrange entry is a real
// map.

// identityToUnicode reports whether a Type 0 font's ToUnicode entry tu is
// the Identity-H or Identity-V CMap: by name, or as a stream named so
// that maps no code to text, for a font whose descendant maps its CIDs to
// glyphs by the stream cidToGID.
func identityToUnicode(sr *streamReader, tu, cidToGID pdf.Value) (identity bool) {
	switch tu.Kind() {
	case pdf.Name:
		return strings.HasPrefix(tu.Name(), "Identity-")
	case pdf.Stream:
		if cidToGID.Kind() != pdf.Stream {
			return false
		}
	default:
		return false
	}
	defer func() {
		if recover() != nil {
			identity = false // the library panicked reading the stream
		}
	}()
	l := pdfLexer{data: toUnicodeData(sr, tu)}
	for {
		switch tok := l.token(); tok {
		case nil:
			return identity
		case pdfKeyword("beginbfchar"), pdfKeyword("beginbfrange"):
			return false
		case pdfName("CMapName"):
			name, ok := l.token().(pdfName)
			identity = ok && strings.HasPrefix(string(name), "Identity-")
		}
	}
}

// utf16Code is a two-byte code read as the UTF-16 unit it is in a font
// whose ToUnicode map is an identity (identityToUnicode).
func utf16Code(code []byte) string {
	r := rune(code[0])<<8 | rune(code[1])
	if utf16.IsSurrogate(r) {
		return ""
	}
	return string(r)
}

// zlibHeader reports whether data begins as a zlib stream does (RFC
// 1950: deflate, a window of at most 32 KiB, the check bits right).
func zlibHeader(data []byte) bool {
	return len(data) >= 2 && data[0]&0x0f == 8 && data[0]>>4 <= 7 && (uint16(data[0])<<8|uint16(data[1]))%31 == 0
}

// utf16BE decodes a ToUnicode destination (UTF-16BE).
func utf16BE(b pdfString) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}
