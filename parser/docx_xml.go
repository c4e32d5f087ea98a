package parser

// A Word part's XML, token by token. encoding/xml's tokenizer was three
// quarters of a Word form's cost (a byte at a time through ReadByte, a
// string per name): reading the sample referral's document.xml (61.5 KB)
// took it 1.17 ms and 13,794 allocations, tdewolff/parse's lexer 0.14 ms
// and 2. That lexer needs the whole part in memory, so a part is read
// whole when its declared size is small (every Word form is); a larger
// one is streamed through encoding/xml as before. Both give the tokens
// encoding/xml's RawToken gives, and refuse what it refuses where a
// Word part could differ (entities, character range, UTF-8, quoting,
// unterminated markup): TestDOCXXMLMatchesEncodingXML and FuzzDOCXXML
// hold the lexer to encoding/xml's tokens.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tdewolff/parse/v2"
	txml "github.com/tdewolff/parse/v2/xml"
)

// docxWholePart is the largest part, by its declared size, read whole
// and lexed in memory. Parts are read against the package's budget
// either way, and archive/zip stops at the declared size, so what is
// held is at most this.
const docxWholePart = 4 << 20

// wholePart is a part read whole: tokenLoop lexes its bytes in memory.
type wholePart struct {
	bytes.Reader
	data []byte
}

// xmlToken is one token as encoding/xml's RawToken gives it, unboxed (an
// xml.Token interface allocated for every start element was a tenth of
// a Word form's CPU). Its attributes and text are reused by the next.
type xmlToken struct {
	kind  xmlKind
	name  xml.Name // a start or end element's, its prefix as written
	attrs []xml.Attr
	text  []byte
}

type xmlKind int

const (
	xmlOther xmlKind = iota // a comment, directive or processing instruction
	xmlStart
	xmlEnd
	xmlText
)

// xmlTokenizer reads a part's tokens; io.EOF ends them.
type xmlTokenizer interface {
	next(t *xmlToken) error
}

// xmlTokens returns r's tokenizer: the lexer for a part read whole,
// encoding/xml's decoder for a stream.
func xmlTokens(r io.Reader) xmlTokenizer {
	if w, ok := r.(*wholePart); ok && plainXML(w.data) {
		return newLexedXML(w.data)
	}
	return decodedXML{xml.NewDecoder(r)}
}

// decodedXML is encoding/xml's RawToken as an xmlTokenizer.
type decodedXML struct{ d *xml.Decoder }

func (x decodedXML) next(t *xmlToken) error {
	tok, err := x.d.RawToken()
	if err != nil {
		return err
	}
	switch tok := tok.(type) {
	case xml.StartElement:
		t.kind, t.name, t.attrs = xmlStart, tok.Name, tok.Attr
	case xml.EndElement:
		t.kind, t.name = xmlEnd, tok.Name
	case xml.CharData:
		t.kind, t.text = xmlText, tok
	default:
		t.kind = xmlOther
	}
	return nil
}

// plainXML reports whether data has no markup the lexer reads otherwise
// than encoding/xml: a directive (a document type with its internal
// subset, or any other <!...> but a comment or a CDATA section) or a
// processing instruction other than the XML declaration at its start,
// whose content encoding/xml takes as opaque. Word writes neither.
func plainXML(data []byte) bool {
	// '!' and '?' are rare in a Word part, '<' is everywhere: look for
	// those and then at the byte before them.
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '!')
		if j < 0 {
			break
		}
		i += j + 1
		if i >= 2 && data[i-2] == '<' && !bytes.HasPrefix(data[i:], []byte("--")) && !bytes.HasPrefix(data[i:], []byte("[CDATA[")) {
			return false
		}
	}
	decl := bytes.HasPrefix(data, []byte("<?xml "))
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '?')
		if j < 0 {
			return true
		}
		i += j + 1
		if i >= 2 && data[i-2] == '<' && !(decl && i == 2) {
			return false
		}
	}
}

// lexedXML gives tdewolff/parse's XML lexer's tokens as encoding/xml's
// RawToken does. The tokens' attributes and character data are reused
// from token to token, as RawToken's character data is.
type lexedXML struct {
	l       *txml.Lexer
	names   map[string]xml.Name // names as written, split once
	attrs   []xml.Attr
	val     []byte // an attribute's value, decoded
	text    []byte
	start   xml.Name // the start tag being read
	inTag   bool     // between a start tag's name and its end
	endNext bool     // an empty element's end is due
	err     error    // the XML declaration's
}

// newLexedXML lexes data, which plainXML accepts. Its XML declaration,
// if any, is read by encoding/xml itself (a version or encoding it does
// not read is refused as it refuses it), and the lexer starts after it.
func newLexedXML(data []byte) *lexedXML {
	x := &lexedXML{names: map[string]xml.Name{}}
	if bytes.HasPrefix(data, []byte("<?xml ")) {
		end := bytes.Index(data, []byte("?>")) + 2
		if _, err := xml.NewDecoder(bytes.NewReader(data[:end])).RawToken(); err != nil {
			x.err = err
		}
		data = data[end:]
	}
	x.l = txml.NewLexer(parse.NewInputBytes(data))
	return x
}

var errXMLEOF = errors.New("unexpected EOF")

// next reads the next token, as encoding/xml's RawToken does: names
// with their prefixes as written, an empty element as a start and an
// end, comments and the XML declaration left out (the reader ignores
// them).
func (x *lexedXML) next(t *xmlToken) error {
	if x.err != nil {
		return x.err
	}
	if x.endNext {
		x.endNext = false
		t.kind, t.name = xmlEnd, x.start
		return nil
	}
	for {
		tt, data := x.l.Next()
		switch tt {
		case txml.ErrorToken:
			err := x.l.Err()
			if err != io.EOF {
				return fmt.Errorf("xml: %w", err)
			}
			if x.inTag {
				return errXMLEOF
			}
			return io.EOF
		case txml.CommentToken:
			if !bytes.HasSuffix(data, []byte("-->")) || len(data) < 7 {
				return errXMLEOF
			}
		case txml.DOCTYPEToken:
			if !bytes.HasSuffix(data, []byte(">")) {
				return errXMLEOF
			}
		case txml.CDATAToken:
			if !bytes.HasSuffix(data, []byte("]]>")) || len(data) < 12 {
				return errors.New("unexpected EOF in CDATA section")
			}
			text, err := appendXMLText(x.text[:0], x.l.Text(), true)
			if err != nil {
				return err
			}
			x.text = text
			t.kind, t.text = xmlText, text
			return nil
		case txml.StartTagPIToken, txml.StartTagClosePIToken:
			// plainXML let none through but the declaration.
			return errors.New("xml: unexpected processing instruction")
		case txml.StartTagToken:
			name, err := x.name(x.l.Text())
			if err != nil {
				return err
			}
			x.start, x.attrs, x.inTag = name, x.attrs[:0], true
		case txml.AttributeToken:
			if err := x.attr(); err != nil {
				return err
			}
		case txml.StartTagCloseToken, txml.StartTagCloseVoidToken:
			x.inTag = false
			x.endNext = tt == txml.StartTagCloseVoidToken
			t.kind, t.name, t.attrs = xmlStart, x.start, x.attrs
			return nil
		case txml.EndTagToken:
			if !bytes.HasSuffix(data, []byte(">")) {
				return errXMLEOF
			}
			name, err := x.name(x.l.Text())
			if err != nil {
				return err
			}
			t.kind, t.name = xmlEnd, name
			return nil
		case txml.TextToken:
			text, err := appendXMLText(x.text[:0], data, false)
			if err != nil {
				return err
			}
			x.text = text
			t.kind, t.text = xmlText, text
			return nil
		}
	}
}

// attr reads one attribute of the start tag.
func (x *lexedXML) attr() error {
	v := x.l.AttrVal()
	if len(v) < 2 || (v[0] != '"' && v[0] != '\'') || v[len(v)-1] != v[0] {
		return errors.New("xml: unquoted or missing attribute value in element")
	}
	val, err := appendXMLText(x.val[:0], v[1:len(v)-1], false)
	if err != nil {
		return err
	}
	x.val = val // kept for the next attribute: the value is copied below
	name, err := x.name(x.l.Text())
	if err != nil {
		return err
	}
	x.attrs = append(x.attrs, xml.Attr{Name: name, Value: string(val)})
	return nil
}

// name splits a name as written into its prefix and local part, as
// encoding/xml does, once per distinct name.
func (x *lexedXML) name(b []byte) (xml.Name, error) {
	if n, ok := x.names[string(b)]; ok {
		return n, nil
	}
	if len(b) == 0 || bytes.ContainsAny(b, "<>&\"'=/!?") || !utf8.Valid(b) {
		return xml.Name{}, fmt.Errorf("xml: invalid name %q", b)
	}
	var n xml.Name
	if prefix, local, ok := strings.Cut(string(b), ":"); ok && prefix != "" && local != "" {
		n = xml.Name{Space: prefix, Local: local}
	} else {
		n = xml.Name{Local: string(b)}
	}
	if len(x.names) < 4096 {
		x.names[string(b)] = n
	}
	return n, nil
}

// appendXMLText appends raw text or an attribute's value to dst as
// encoding/xml reads it: entity and character references replaced
// (none in a CDATA section), line ends made "\n", and only characters
// XML allows, in UTF-8.
func appendXMLText(dst, raw []byte, cdata bool) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&' && !cdata:
			end := bytes.IndexByte(raw[i:], ';')
			if end < 0 {
				return nil, errors.New("xml: invalid character entity (no semicolon)")
			}
			r, ok := xmlEntity(raw[i+1 : i+end])
			if !ok {
				return nil, fmt.Errorf("xml: invalid character entity &%s;", raw[i+1:i+end])
			}
			dst = utf8.AppendRune(dst, r)
			i += end + 1
		case c == '\r':
			dst = append(dst, '\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		case c < utf8.RuneSelf:
			if c < 0x20 && c != '\t' && c != '\n' {
				return nil, fmt.Errorf("xml: illegal character code U+%04X", c)
			}
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, errors.New("xml: invalid UTF-8")
			}
			if !xmlChar(r) {
				return nil, fmt.Errorf("xml: illegal character code %U", r)
			}
			dst = append(dst, raw[i:i+size]...)
			i += size
		}
	}
	return dst, nil
}

// xmlEntity is the character an entity or character reference stands
// for: the five XML predefines and numeric references (as encoding/xml
// in its strict mode, which knows no others).
func xmlEntity(name []byte) (rune, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if name[1] == 'x' {
		n, err = strconv.ParseUint(string(name[2:]), 16, 64)
	} else {
		n, err = strconv.ParseUint(string(name[1:]), 10, 64)
	}
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	r := rune(n)
	if !utf8.ValidRune(r) {
		r = utf8.RuneError // a surrogate, as encoding/xml reads it
	}
	return r, xmlChar(r)
}

// xmlChar reports whether XML allows r (encoding/xml's
// isInCharacterRange).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
