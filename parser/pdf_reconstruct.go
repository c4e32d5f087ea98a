package parser

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// A PDF whose cross-reference offsets are wrong is still read by the
// peers: qpdf ("reconstructing xref table"), pdftk, pdf.js and MuPDF scan
// the file for its objects. Offsets go wrong when a file's line ends are
// changed on the way (a mail gateway or a quoted-printable encoder that
// treats the PDF as text, a transfer in text mode), when a tool appends an
// update with a bad table, or when a file is cut short. The scan finds
// every "N G obj" outside stream data, the newest definition of each object
// winning as in an incremental update, lists the objects in object streams,
// and takes the trailer from the last trailer dictionaries or xref streams,
// or, failing those, the document catalog. The result goes through the
// rewrite like any other chain.

// maxTrailers bounds the trailer dictionaries looked at from the end.
const maxTrailers = 16

var errNoObjects = errors.New("no objects found in the file")

// reconstructXref scans data for its objects. budget bounds the bytes
// inflated from object streams to list their objects.
func reconstructXref(data []byte, maxObjs int, budget int64) (*xrefInfo, error) {
	x := &xrefInfo{entries: map[uint32]xrefEntry{}}
	var catalog pdfRef
	var trailers []pdfDict
	skip := 0
	for _, h := range objHeaders(data) {
		if h.start < skip {
			continue // inside the stream or object before
		}
		num, gen := h.num, h.gen
		if num <= 0 || num >= int64(maxObjs) || gen > 65535 {
			continue
		}
		if len(x.entries) >= maxObjs {
			return nil, fmt.Errorf("more than %d objects", maxObjs)
		}
		x.entries[uint32(num)] = xrefEntry{off: int64(h.start), gen: uint16(gen)}
		l := pdfLexer{data: data, pos: h.start}
		_, _, obj, err := readIndirectWith(&l, nil)
		if err != nil {
			skip = h.end
			continue
		}
		skip = l.pos
		ref := pdfRef{uint32(num), uint16(gen)}
		switch o := obj.(type) {
		case pdfDict:
			if o["Type"] == pdfName("Catalog") {
				catalog = ref
			}
		case *pdfStream:
			switch o.dict["Type"] {
			case pdfName("XRef"):
				trailers = append(trailers, o.dict)
			case pdfName("ObjStm"):
				budget -= x.addObjStm(uint32(num), o, budget, maxObjs)
			}
		}
	}
	if len(x.entries) == 0 {
		return nil, errNoObjects
	}
	// Classic trailers, the newest last; only the last few are parsed, as
	// "trailer" may also occur in stream data.
	var classic []pdfDict
	for end, n := len(data), 0; n < maxTrailers; n++ {
		j := bytes.LastIndex(data[:end], []byte("trailer"))
		if j < 0 {
			break
		}
		end = j
		l := pdfLexer{data: data, pos: j + len("trailer")}
		if t, err := l.object(true, 0); err == nil {
			if d, ok := t.(pdfDict); ok {
				classic = append(classic, d)
			}
		}
	}
	slices.Reverse(classic)
	trailers = append(trailers, classic...)
	x.trailer = pdfDict{}
	for i := len(trailers) - 1; i >= 0; i-- {
		for _, k := range []pdfName{"Root", "Info", "ID", "Encrypt"} {
			if _, ok := x.trailer[k]; !ok && trailers[i][k] != nil {
				x.trailer[k] = trailers[i][k]
			}
		}
	}
	if r, ok := x.trailer["Root"].(pdfRef); !ok || x.entries[r.num] == (xrefEntry{}) {
		if catalog.num == 0 {
			return nil, errors.New("no document catalog found in the file")
		}
		x.trailer["Root"] = catalog
	}
	return x, nil
}

// addObjStm lists the objects an object stream holds, as newer than the
// definitions before it in the file; it returns the bytes it inflated.
func (x *xrefInfo) addObjStm(num uint32, s *pdfStream, budget int64, maxObjs int) int64 {
	if budget <= 0 {
		return 0
	}
	data, rest, err := decodeStream(s, budget)
	if err != nil || rest > 0 {
		return int64(len(data))
	}
	n, _ := pdfInt(s.dict["N"])
	l := pdfLexer{data: data}
	for i := int64(0); i < n; i++ {
		obj, ok1 := l.token().(int64)
		_, ok2 := l.token().(int64)
		if !ok1 || !ok2 || obj <= 0 || obj >= int64(maxObjs) || len(x.entries) >= maxObjs {
			break
		}
		x.entries[uint32(obj)] = xrefEntry{inStream: true, off: int64(num), gen: uint16(min(i, 65535))}
		x.compressed = true
	}
	return int64(len(data))
}

// objHeader is an "N G obj" found in a file.
type objHeader struct {
	start, end int // of "N G obj"
	num, gen   int64
}

// objHeaders finds every "N G obj" that starts a token, in file order:
// each "obj" is found with bytes.Index and its numbers read backwards,
// which keeps a scan of a 35 MB file well under a second.
func objHeaders(data []byte) []objHeader {
	var out []objHeader
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("obj"))
		if j < 0 {
			return out
		}
		k := i + j // "obj" at k
		i = k + 3
		if i < len(data) && !isPDFSpaceOrDelim(data[i]) {
			continue // "objects"; "endobj" has no number before it
		}
		// Tokens are apart: white space before "obj" and between the numbers.
		sp := skipSpaceBefore(data, k)
		if sp == k {
			continue
		}
		gen, p, ok := digitsBefore(data, sp, 5)
		if !ok {
			continue
		}
		sp = skipSpaceBefore(data, p)
		if sp == p {
			continue
		}
		num, start, ok := digitsBefore(data, sp, 10)
		if !ok {
			continue
		}
		if start > 0 && !isPDFSpaceOrDelim(data[start-1]) {
			continue
		}
		out = append(out, objHeader{start: start, end: i, num: num, gen: gen})
	}
}

// skipSpaceBefore moves p back over white space.
func skipSpaceBefore(data []byte, p int) int {
	for p > 0 && isPDFSpace(data[p-1]) {
		p--
	}
	return p
}

// digitsBefore reads the number of at most max digits ending at p.
func digitsBefore(data []byte, p, max int) (int64, int, bool) {
	start := p
	for start > 0 && p-start < max && data[start-1] >= '0' && data[start-1] <= '9' {
		start--
	}
	if start == p || (start > 0 && data[start-1] >= '0' && data[start-1] <= '9') {
		return 0, p, false
	}
	var v int64
	for _, c := range data[start:p] {
		v = v*10 + int64(c-'0')
	}
	return v, start, true
}

// isPDFSpaceOrDelim: the bytes that may come before a token.
func isPDFSpaceOrDelim(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}
