package parser

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A small, lenient reader of PDF object syntax (PDF 32000-1:2008, 7.2-7.3),
// used where ledongthuc/pdf is too strict: to rewrite a file the library
// cannot open (pdf_rewrite.go) and to tokenise content streams
// (pdf_content.go). It never panics: malformed input yields what could be
// read, and the caller's bounds (depth, counts) keep it finite.

// The object model. A PDF null is nil.
type (
	pdfObj    = any
	pdfName   string
	pdfString string // the bytes of a literal or hex string
	pdfArray  []pdfObj
	pdfDict   map[pdfName]pdfObj
	pdfRef    struct {
		num uint32
		gen uint16
	}
	pdfKeyword string
	// pdfStream is a stream object: its dictionary and its raw (still
	// filtered, possibly encrypted) bytes.
	pdfStream struct {
		dict pdfDict
		data []byte
	}
)

// maxSyntaxDepth bounds the nesting of arrays and dictionaries.
const maxSyntaxDepth = 256

var errSyntax = errors.New("pdf syntax error")

// pdfLexer reads tokens from a byte slice.
type pdfLexer struct {
	data []byte
	pos  int
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isPDFDelim(c byte) bool {
	switch c {
	case '<', '>', '(', ')', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skipSpace skips white space and comments.
func (l *pdfLexer) skipSpace() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		if isPDFSpace(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// token returns the next token: an int64, float64, bool, pdfName,
// pdfString or pdfKeyword (also "<<", ">>", "[", "]", "{", "}"); nil at
// the end of the data.
func (l *pdfLexer) token() any {
	l.skipSpace()
	if l.pos >= len(l.data) {
		return nil
	}
	c := l.data[l.pos]
	switch c {
	case '(':
		l.pos++
		return l.literal()
	case '<':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '<' {
			l.pos += 2
			return pdfKeyword("<<")
		}
		l.pos++
		return l.hex()
	case '>':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '>' {
			l.pos += 2
			return pdfKeyword(">>")
		}
		l.pos++
		return pdfKeyword(">")
	case '[', ']', '{', '}', ')':
		l.pos++
		return keywords[string(c)]
	case '/':
		l.pos++
		return l.name()
	}
	start := l.pos
	for l.pos < len(l.data) && !isPDFSpace(l.data[l.pos]) && !isPDFDelim(l.data[l.pos]) {
		l.pos++
	}
	return keywordOrNumber(l.data[start:l.pos])
}

// keywords are the keywords of content streams and of the file's
// structure, each boxed once: a content stream is mostly operators, and
// making a string and an interface value for each was a third of what
// interpreting a flattened form allocated.
var keywords = func() map[string]pdfObj {
	m := map[string]pdfObj{}
	for _, k := range strings.Fields(`b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h
		i ID j J K k l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz v w W W*
		y ' " [ ] { } ) null obj endobj stream endstream R xref trailer startxref`) {
		m[k] = pdfKeyword(k)
	}
	return m
}()

func keywordOrNumber(b []byte) any {
	switch string(b) {
	case "true":
		return true
	case "false":
		return false
	}
	if len(b) == 0 {
		return pdfKeyword("")
	}
	numeric, dot := true, false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case (c == '+' || c == '-') && i == 0:
		case c == '.' && !dot:
			dot = true
		default:
			numeric = false
		}
	}
	if !numeric || (len(b) == 1 && (b[0] == '+' || b[0] == '-' || b[0] == '.')) {
		if kw, ok := keywords[string(b)]; ok {
			return kw
		}
		return pdfKeyword(b)
	}
	if !dot {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return n
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return float64(0)
	}
	return f
}

// literal reads a literal string after its "(". Escapes are read as
// readers do, leniently: an unknown escape ("\+") is the character.
func (l *pdfLexer) literal() pdfString { return pdfString(l.literalBytes(nil)) }

// literalBytes is literal, its bytes appended to out.
func (l *pdfLexer) literalBytes(out []byte) []byte {
	depth := 1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out
			}
		case '\r': // an end of line in a string is "\n"
			if l.pos < len(l.data) && l.data[l.pos] == '\n' {
				l.pos++
			}
			c = '\n'
		case '\\':
			if l.pos >= len(l.data) {
				return out
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for i := 0; i < 2 && l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '7'; i++ {
					v = v*8 + int(l.data[l.pos]-'0')
					l.pos++
				}
				c = byte(v)
			default:
				c = e
			}
		}
		out = append(out, c)
	}
	return out
}

func unhexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hex reads a hex string after its "<"; other bytes are skipped and an odd
// last digit is followed by 0.
func (l *pdfLexer) hex() pdfString { return pdfString(l.hexBytes(nil)) }

// hexBytes is hex, its bytes appended to out.
func (l *pdfLexer) hexBytes(out []byte) []byte {
	hi := -1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		if c == '>' {
			break
		}
		d := unhexDigit(c)
		if d < 0 {
			continue
		}
		if hi < 0 {
			hi = d
		} else {
			out = append(out, byte(hi<<4|d))
			hi = -1
		}
	}
	if hi >= 0 {
		out = append(out, byte(hi<<4))
	}
	return out
}

func (l *pdfLexer) name() pdfName {
	start := l.pos
	for l.pos < len(l.data) && !isPDFSpace(l.data[l.pos]) && !isPDFDelim(l.data[l.pos]) {
		l.pos++
	}
	raw := l.data[start:l.pos]
	if bytes.IndexByte(raw, '#') < 0 {
		return pdfName(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) && unhexDigit(raw[i+1]) >= 0 && unhexDigit(raw[i+2]) >= 0 {
			out = append(out, byte(unhexDigit(raw[i+1])<<4|unhexDigit(raw[i+2])))
			i += 2
			continue
		}
		out = append(out, raw[i])
	}
	return pdfName(out)
}

// object reads one object. References ("1 0 R") are read when refs is
// true (not in content streams). A stream's data is not read here: the
// caller sees the dictionary followed by the "stream" keyword.
func (l *pdfLexer) object(refs bool, depth int) (pdfObj, error) {
	if depth > maxSyntaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", errSyntax, maxSyntaxDepth)
	}
	tok := l.token()
	switch t := tok.(type) {
	case nil:
		return nil, fmt.Errorf("%w: unexpected end", errSyntax)
	case pdfKeyword:
		switch t {
		case "<<":
			d := pdfDict{}
			for {
				l.skipSpace()
				if l.pos >= len(l.data) {
					return d, nil
				}
				save := l.pos
				k := l.token()
				if k == pdfKeyword(">>") {
					return d, nil
				}
				key, ok := k.(pdfName)
				if !ok {
					if kw, isKw := k.(pdfKeyword); isKw && (kw == "endobj" || kw == "stream" || kw == "]") {
						l.pos = save // a dictionary left open
						return d, nil
					}
					continue // a stray value: skip it
				}
				v, err := l.object(refs, depth+1)
				if err != nil {
					return nil, err
				}
				if kw, isKw := v.(pdfKeyword); isKw {
					if kw == ">>" {
						return d, nil // a key without a value
					}
					continue
				}
				if v != nil {
					d[key] = v
				}
			}
		case "[":
			var a pdfArray
			for {
				l.skipSpace()
				if l.pos >= len(l.data) {
					return a, nil
				}
				if l.data[l.pos] == ']' {
					l.pos++
					return a, nil
				}
				save := l.pos
				v, err := l.object(refs, depth+1)
				if err != nil {
					return nil, err
				}
				if kw, isKw := v.(pdfKeyword); isKw && (kw == "endobj" || kw == ">>" || kw == "stream") {
					l.pos = save
					return a, nil
				}
				a = append(a, v)
				if len(a) > 1<<20 {
					return nil, fmt.Errorf("%w: array too long", errSyntax)
				}
			}
		case "null":
			return nil, nil
		}
		return tok, nil // tok, not t: boxing t again would allocate
	case int64:
		if !refs || t < 0 || t > 1<<31 {
			return tok, nil
		}
		save := l.pos
		if g, ok := l.token().(int64); ok && g >= 0 && g <= 65535 {
			if l.token() == pdfKeyword("R") {
				return pdfRef{uint32(t), uint16(g)}, nil
			}
		}
		l.pos = save
		return tok, nil
	}
	return tok, nil
}

// streamStart is where a stream's data begins after the "stream" keyword
// (at l.pos): past one end of line.
func (l *pdfLexer) streamStart() int {
	p := l.pos
	for p < len(l.data) && (l.data[p] == ' ' || l.data[p] == '\t') {
		p++
	}
	if p < len(l.data) && l.data[p] == '\r' {
		p++
	}
	if p < len(l.data) && l.data[p] == '\n' {
		p++
	}
	return p
}

var endstreamKw = []byte("endstream")

// streamEnd finds the end of a stream's data that starts at start, using
// /Length when it is right (followed by "endstream") and searching for
// "endstream" otherwise.
func streamEnd(data []byte, start int, length int64) int {
	if length >= 0 && int64(start)+length <= int64(len(data)) {
		end := start + int(length)
		rest := data[end:min(len(data), end+64)]
		rest = bytes.TrimLeft(rest, "\x00\t\n\f\r ")
		if bytes.HasPrefix(rest, endstreamKw) {
			return end
		}
	}
	i := bytes.Index(data[start:], endstreamKw)
	if i < 0 {
		return len(data)
	}
	end := start + i
	// The end of line before "endstream" is not data.
	if end > start && data[end-1] == '\n' {
		end--
	}
	if end > start && data[end-1] == '\r' {
		end--
	}
	return end
}

// pdfInt reads an integer (a real is truncated); ok is false otherwise.
func pdfInt(o pdfObj) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		if v > -1<<62 && v < 1<<62 {
			return int64(v), true
		}
	}
	return 0, false
}
