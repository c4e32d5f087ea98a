package parser

import (
	"bytes"
	"fmt"

	"github.com/ledongthuc/pdf"
)

// Content streams are tokenised here rather than by pdf.Interpret, which
// panics on what viewers read: an inline image's binary data (BI ... ID
// ... EI) and string escapes the standard leaves to the reader ("\+"),
// losing the rest of the page's text.

// maxContentParts bounds the streams of one content array read.
const maxContentParts = 1000

// readContent appends a content stream's decoded bytes, or an array of
// streams', to dst; a stream that breaks off yields what was read, with
// the error. The streams were charged to the content budget before
// (checkBudget), and an array's looked up into parts.
func (sr *streamReader) readContent(strm pdf.Value, parts []pdf.Value, dst []byte) ([]byte, error) {
	if strm.Kind() != pdf.Array {
		return sr.appendStream(dst, strm, pdfContentBudget)
	}
	for _, part := range parts {
		var err error
		if dst, err = sr.appendStream(dst, part, pdfContentBudget); err != nil {
			return dst, err
		}
		dst = append(dst, '\n') // the streams divide at token bounds
	}
	return dst, nil
}

// maxContentOperands bounds the operands kept for one operator.
const maxContentOperands = 64

// operand is one operand of a content stream operator, not boxed: a
// flattened form shows its text a code or two at a time ("[<01>6<02>-3
// <03>-3 ...] TJ"), and an interface value for each string and number,
// or a map lookup to box each once, was most of the cost of reading its
// content. Numbers, strings, names and arrays of them are read here;
// anything else (a dictionary, an array in an array, true, null) is read
// by pdfLexer.object, as before.
type operand struct {
	kind operandKind
	num  float64   // opNumber
	b    []byte    // opString: the string's bytes; opName: the name's
	arr  []operand // opArray: the elements
	obj  pdfObj    // opOther: as pdfLexer.object reads it
}

type operandKind uint8

const (
	opOther operandKind = iota
	opNumber
	opString
	opName
	opArray
)

// contentLexer reads a content stream's operators and operands. The
// operands' bytes and array elements live in buffers reused from one
// operator to the next (and kept by the text extractor from one stream to
// the next): they are valid until do returns.
type contentLexer struct {
	l     pdfLexer
	bytes []byte    // strings' and escaped names' bytes
	elems []operand // arrays' elements
	args  []operand
}

// interpretContent calls do for each operator with its operands: what
// reading each operand with pdfLexer.object gives (TestContentOperands
// checks it), unboxed.
func (cl *contentLexer) interpretContent(data []byte, do func(op []byte, args []operand)) {
	cl.l = pdfLexer{data: data}
	l := &cl.l
	cl.args = cl.args[:0]
	reset := func() {
		cl.args, cl.bytes, cl.elems = cl.args[:0], cl.bytes[:0], cl.elems[:0]
	}
	for {
		l.skipSpace()
		if l.pos >= len(l.data) {
			reset()
			return
		}
		o, kw, err := cl.operand(0)
		if err != nil {
			reset()
			continue
		}
		if kw == nil {
			if len(cl.args) < maxContentOperands {
				cl.args = append(cl.args, o)
			}
			continue
		}
		switch string(kw) {
		case "BI":
			skipInlineImage(l)
		case "]", ">>", ">", ")", "{", "}":
			// stray delimiters: skip
		default:
			do(kw, cl.args)
		}
		reset()
	}
}

// operand reads one object at the lexer's position, as object(false,
// depth) would: a keyword (other than null, "[" and "<<") is returned as
// kw, anything else as o.
func (cl *contentLexer) operand(depth int) (o operand, kw []byte, err error) {
	l := &cl.l
	l.skipSpace()
	if l.pos >= len(l.data) {
		return operand{}, nil, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	start := l.pos
	switch c := l.data[l.pos]; c {
	case '(':
		l.pos++
		return cl.stringOperand(l.literalBytes), nil, nil
	case '<':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '<' {
			v, err := l.object(false, depth) // a dictionary
			return operand{obj: v}, nil, err
		}
		l.pos++
		return cl.stringOperand(l.hexBytes), nil, nil
	case '>':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '>' {
			l.pos += 2
			return operand{}, l.data[start:l.pos], nil
		}
		l.pos++
		return operand{}, l.data[start:l.pos], nil
	case ']', '{', '}', ')':
		l.pos++
		return operand{}, l.data[start:l.pos], nil
	case '[':
		if depth > maxSyntaxDepth {
			return operand{}, nil, fmt.Errorf("%w: nesting deeper than %d", errSyntax, maxSyntaxDepth)
		}
		if depth > 0 {
			v, err := l.object(false, depth) // an array in an array
			return operand{obj: v}, nil, err
		}
		l.pos++
		return cl.array()
	case '/':
		l.pos++
		for l.pos < len(l.data) && !isPDFSpace(l.data[l.pos]) && !isPDFDelim(l.data[l.pos]) {
			l.pos++
		}
		raw := l.data[start+1 : l.pos]
		if bytes.IndexByte(raw, '#') >= 0 {
			l.pos = start + 1
			n := len(cl.bytes)
			cl.bytes = append(cl.bytes, l.name()...)
			raw = cl.bytes[n:len(cl.bytes):len(cl.bytes)]
		}
		return operand{kind: opName, b: raw}, nil, nil
	}
	for l.pos < len(l.data) && !isPDFSpace(l.data[l.pos]) && !isPDFDelim(l.data[l.pos]) {
		l.pos++
	}
	w := l.data[start:l.pos]
	if n, ok := contentNumber(w); ok {
		return operand{kind: opNumber, num: n}, nil, nil
	}
	switch string(w) {
	case "true":
		return operand{obj: true}, nil, nil
	case "false":
		return operand{obj: false}, nil, nil
	case "null":
		return operand{}, nil, nil
	}
	return operand{}, w, nil
}

// stringOperand appends a string's bytes, read by read, to the lexer's
// buffer and returns the string operand over them (capped, so that an
// append to the buffer never writes into it).
func (cl *contentLexer) stringOperand(read func([]byte) []byte) operand {
	n := len(cl.bytes)
	cl.bytes = read(cl.bytes)
	return operand{kind: opString, b: cl.bytes[n:len(cl.bytes):len(cl.bytes)]}
}

// array reads an array's elements after its "[", as object does.
func (cl *contentLexer) array() (operand, []byte, error) {
	l := &cl.l
	first := len(cl.elems)
	done := func() (operand, []byte, error) {
		return operand{kind: opArray, arr: cl.elems[first:len(cl.elems):len(cl.elems)]}, nil, nil
	}
	for {
		l.skipSpace()
		if l.pos >= len(l.data) {
			return done()
		}
		if l.data[l.pos] == ']' {
			l.pos++
			return done()
		}
		save := l.pos
		v, kw, err := cl.operand(1)
		if err != nil {
			return operand{}, nil, err
		}
		if kw != nil {
			switch string(kw) {
			case "endobj", ">>", "stream":
				l.pos = save
				return done()
			}
			v = operand{obj: pdfKeyword(kw)}
		}
		cl.elems = append(cl.elems, v)
		if len(cl.elems)-first > 1<<20 {
			return operand{}, nil, fmt.Errorf("%w: array too long", errSyntax)
		}
	}
}

// contentNumber is the value of a number token, as keywordOrNumber reads
// it and objFloat took it; ok is false when w is no number.
func contentNumber(w []byte) (float64, bool) {
	if len(w) == 0 {
		return 0, false
	}
	switch c := w[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
	default:
		return 0, false // an operator: keywordOrNumber reads no number here
	}
	// The common case, [sign]digits[.digits] with at most 15 digits, is
	// worked out here without strconv, to the same value: an integer
	// below 2^53 divided by a power of ten up to 10^22, both exact, is
	// rounded once, as ParseFloat rounds (its own fast path).
	pow10 := [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
	i, neg := 0, false
	switch w[0] {
	case '-':
		i, neg = 1, true
	case '+':
		i = 1
	}
	var m uint64
	digits, frac := 0, -1 // frac: digits after the point, -1 for none
	for ; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
			continue
		case c == '.' && frac < 0:
			frac = 0
			continue
		}
		digits = -1 // not this simple form
		break
	}
	if digits > 0 && digits <= 15 {
		if frac < 0 {
			n := int64(m) // ParseInt: "-0" is 0
			if neg {
				n = -n
			}
			return float64(n), true
		}
		v := float64(m) / pow10[frac]
		if neg {
			v = -v // ParseFloat: "-0.0" is -0
		}
		return v, true
	}
	switch o := keywordOrNumber(w).(type) {
	case int64:
		return float64(o), true
	case float64:
		return o, true
	}
	return 0, false
}

// float is a number operand's value (0 otherwise).
func (o *operand) float() float64 {
	if o.kind == opNumber {
		return o.num
	}
	return 0
}

// skipInlineImage moves the lexer past an inline image's dictionary, data
// and EI. The data's length comes from /L (PDF 2.0), or from the size of
// an unfiltered image when EI follows it there, or else from the first
// "EI" standing alone as a word.
func skipInlineImage(l *pdfLexer) {
	d := pdfDict{}
	for {
		o, err := l.object(false, 0)
		if err != nil || o == nil && l.pos >= len(l.data) {
			return
		}
		if o == pdfKeyword("ID") {
			break
		}
		k, ok := o.(pdfName)
		if !ok {
			continue
		}
		v, err := l.object(false, 0)
		if err != nil {
			return
		}
		d[k] = v
	}
	if l.pos < len(l.data) && isPDFSpace(l.data[l.pos]) {
		l.pos++
	}
	start := l.pos
	get := func(long, short pdfName) pdfObj {
		if v, ok := d[long]; ok {
			return v
		}
		return d[short]
	}
	eiAt := func(p int) bool {
		for p < len(l.data) && isPDFSpace(l.data[p]) {
			p++
		}
		if !bytes.HasPrefix(l.data[p:], []byte("EI")) {
			return false
		}
		p += 2
		if p < len(l.data) && !isPDFSpace(l.data[p]) && !isPDFDelim(l.data[p]) {
			return false
		}
		l.pos = p
		return true
	}
	if n, ok := pdfInt(get("Length", "L")); ok && n >= 0 && int64(start)+n <= int64(len(l.data)) && eiAt(start+int(n)) {
		return
	}
	if get("Filter", "F") == nil {
		if n := inlineImageSize(d, get); n > 0 && start+n <= len(l.data) && eiAt(start+n) {
			return
		}
	}
	for p := start; p+2 <= len(l.data); {
		i := bytes.Index(l.data[p:], []byte("EI"))
		if i < 0 {
			break
		}
		at := p + i
		before := at == start || isPDFSpace(l.data[at-1])
		after := at+2 == len(l.data) || isPDFSpace(l.data[at+2])
		if before && after {
			l.pos = at + 2
			return
		}
		p = at + 1
	}
	l.pos = len(l.data)
}

// inlineImageSize is the byte size of an unfiltered inline image; 0 when
// it cannot be told.
func inlineImageSize(d pdfDict, get func(long, short pdfName) pdfObj) int {
	w, ok1 := pdfInt(get("Width", "W"))
	h, ok2 := pdfInt(get("Height", "H"))
	if !ok1 || !ok2 || w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return 0
	}
	bpc, colors := int64(8), int64(0)
	if v, ok := pdfInt(get("BitsPerComponent", "BPC")); ok {
		bpc = v
	}
	if m, _ := get("ImageMask", "IM").(bool); m {
		bpc, colors = 1, 1
	} else {
		cs := get("ColorSpace", "CS")
		if a, ok := cs.(pdfArray); ok && len(a) > 0 {
			cs = a[0]
		}
		switch cs {
		case pdfName("G"), pdfName("DeviceGray"), pdfName("CalGray"), pdfName("I"), pdfName("Indexed"):
			colors = 1
		case pdfName("RGB"), pdfName("DeviceRGB"), pdfName("CalRGB"):
			colors = 3
		case pdfName("CMYK"), pdfName("DeviceCMYK"):
			colors = 4
		}
	}
	if colors == 0 || bpc <= 0 || bpc > 16 {
		return 0
	}
	return int((w*colors*bpc + 7) / 8 * h)
}

// name is a name operand's value ("" otherwise).
func (o *operand) name() string {
	if o.kind == opName {
		return string(o.b)
	}
	return ""
}
