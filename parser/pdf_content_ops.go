package parser

import (
	"bytes"

	"github.com/ledongthuc/pdf"
)

// Content streams are tokenised here rather than by pdf.Interpret, which
// panics on what viewers read: an inline image's binary data (BI ... ID
// ... EI) and string escapes the standard leaves to the reader ("\+"),
// losing the rest of the page's text.

// readContent appends a content stream's decoded bytes, or an array of
// streams', to dst; a stream that breaks off yields what was read, with
// the error. The streams were charged to the content budget before
// (checkBudget).
func (sr *streamReader) readContent(strm pdf.Value, dst []byte) ([]byte, error) {
	if strm.Kind() != pdf.Array {
		return sr.appendStream(dst, strm, pdfContentBudget)
	}
	for i := 0; i < strm.Len() && i < 1000; i++ {
		var err error
		if dst, err = sr.appendStream(dst, strm.Index(i), pdfContentBudget); err != nil {
			return dst, err
		}
		dst = append(dst, '\n') // the streams divide at token bounds
	}
	return dst, nil
}

// maxContentOperands bounds the operands kept for one operator.
const maxContentOperands = 64

// interpretContent calls do for each operator with its operands.
// cache, if not nil, boxes short strings and numbers once.
func interpretContent(data []byte, cache *tokenCache, do func(op string, args []pdfObj)) {
	l := pdfLexer{data: data, cache: cache}
	var args []pdfObj
	for {
		l.skipSpace()
		if l.pos >= len(l.data) {
			return
		}
		o, err := l.object(false, 0)
		if err != nil {
			args = args[:0]
			continue
		}
		kw, ok := o.(pdfKeyword)
		if !ok {
			if len(args) < maxContentOperands {
				args = append(args, o)
			}
			continue
		}
		switch kw {
		case "BI":
			skipInlineImage(&l)
		case "]", ">>", ">", ")", "{", "}":
			// stray delimiters: skip
		default:
			do(string(kw), args)
		}
		args = args[:0]
	}
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

// objFloat is a number operand's value (0 otherwise).
func objFloat(o pdfObj) float64 {
	switch v := o.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// objName is a name operand's value ("" otherwise).
func objName(o pdfObj) string {
	n, _ := o.(pdfName)
	return string(n)
}
