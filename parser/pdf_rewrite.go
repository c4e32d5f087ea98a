package parser

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The rewrite of a PDF that ledongthuc/pdf cannot read although viewers
// do: it follows only a chain of cross-reference sections of one form (a
// pdf.js save appends an xref stream after a classic table, Acrobat's
// hybrid files put object streams behind /XRefStm), decrypts only some
// files and only with the empty password (owner-password-only forms are
// the norm), decodes only two filters, and inflates an object stream again
// for every object it reads from it. pdfcpu is not served as an
// approved release, so this is our own: read the newest definition of
// every object (those in object streams too), decrypt it, decode the
// streams the library cannot, and write one classic cross-reference
// section, which the library then reads.

// xrefEntry is where an object is defined.
type xrefEntry struct {
	inStream bool   // in an object stream
	off      int64  // the file offset, or the object stream's number
	gen      uint16 // the generation, or the index in the object stream
}

// xrefInfo is a file's cross-reference chain, read newest first.
type xrefInfo struct {
	entries map[uint32]xrefEntry
	trailer pdfDict
	// What the chain holds: the library reads a chain of classic tables
	// or a chain of xref streams, not both, and not /XRefStm.
	tables, streams int
	hybrid          bool
	// compressed: some objects are in object streams, which the library
	// inflates again for every object it reads from one.
	compressed bool
}

// maxXrefSections bounds the /Prev chain: each incremental save adds one
// section, and a form is saved a few times.
const maxXrefSections = 1000

var errXrefLoop = errors.New("xref /Prev chain loops")

// mixed reports whether the chain is one the library cannot follow.
func (x *xrefInfo) mixed() bool {
	return x.hybrid || (x.tables > 0 && x.streams > 0)
}

// readXrefChain reads the cross-reference chain from the last startxref.
func readXrefChain(data []byte, maxObjs int) (*xrefInfo, error) {
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return nil, errors.New("no startxref")
	}
	l := pdfLexer{data: data, pos: i + len("startxref")}
	off, ok := l.token().(int64)
	if !ok {
		return nil, errors.New("startxref not followed by an offset")
	}
	x := &xrefInfo{entries: map[uint32]xrefEntry{}}
	seen := map[int64]bool{}
	for n := 0; ; n++ {
		if n >= maxXrefSections {
			return nil, fmt.Errorf("more than %d xref sections", maxXrefSections)
		}
		if seen[off] {
			return nil, fmt.Errorf("%w at %d", errXrefLoop, off)
		}
		seen[off] = true
		trailer, err := x.readSection(data, off, maxObjs, true)
		if err != nil {
			return nil, err
		}
		if x.trailer == nil {
			x.trailer = trailer
		} else {
			for _, k := range []pdfName{"Root", "Info", "ID", "Encrypt"} {
				if _, ok := x.trailer[k]; !ok && trailer[k] != nil {
					x.trailer[k] = trailer[k]
				}
			}
		}
		prev, ok := pdfInt(trailer["Prev"])
		if !ok {
			return x, nil
		}
		off = prev
	}
}

// readSection reads the section at off into x (older definitions do not
// replace newer ones) and returns its trailer dictionary. A classic
// section's /XRefStm stream is read after the table, as the standard
// says, but its /Prev is not followed: the table's is.
func (x *xrefInfo) readSection(data []byte, off int64, maxObjs int, top bool) (pdfDict, error) {
	if off < 0 || off >= int64(len(data)) {
		return nil, fmt.Errorf("xref offset %d outside the file", off)
	}
	l := pdfLexer{data: data, pos: int(off)}
	l.skipSpace()
	if bytes.HasPrefix(data[l.pos:], []byte("xref")) {
		if !top {
			return nil, errors.New("/XRefStm points at a table")
		}
		l.pos += 4
		x.tables++
		if err := x.readTable(&l, maxObjs); err != nil {
			return nil, err
		}
		t, _ := l.object(true, 0)
		trailer, ok := t.(pdfDict)
		if !ok {
			return nil, errors.New("xref table not followed by a trailer")
		}
		if stm, ok := pdfInt(trailer["XRefStm"]); ok {
			x.hybrid = true
			if _, err := x.readSection(data, stm, maxObjs, false); err != nil {
				return nil, fmt.Errorf("/XRefStm: %w", err)
			}
		}
		return trailer, nil
	}
	obj, err := readIndirect(&l)
	if err != nil {
		return nil, fmt.Errorf("xref stream at %d: %w", off, err)
	}
	s, ok := obj.(*pdfStream)
	if !ok || s.dict["Type"] != pdfName("XRef") {
		return nil, fmt.Errorf("no xref at %d", off)
	}
	if top {
		x.streams++
	}
	if err := x.readStream(s, maxObjs); err != nil {
		return nil, fmt.Errorf("xref stream at %d: %w", off, err)
	}
	return s.dict, nil
}

func (x *xrefInfo) set(num int64, e xrefEntry) {
	if _, ok := x.entries[uint32(num)]; !ok {
		x.entries[uint32(num)] = e
	}
}

// readTable reads the subsections of a classic table up to "trailer".
func (x *xrefInfo) readTable(l *pdfLexer, maxObjs int) error {
	for {
		l.skipSpace()
		if bytes.HasPrefix(l.data[l.pos:], []byte("trailer")) {
			l.pos += len("trailer")
			return nil
		}
		start, ok1 := l.token().(int64)
		count, ok2 := l.token().(int64)
		if !ok1 || !ok2 || start < 0 || count < 0 || start+count > int64(maxObjs) {
			return errors.New("malformed xref table")
		}
		if len(x.entries) == 0 {
			// Made for the entries to come, the map is not grown (and
			// rehashed) again and again: a form has a few hundred. An
			// entry is 20 bytes, so the file bounds the size.
			x.entries = make(map[uint32]xrefEntry, min(count, int64(len(l.data)-l.pos)/20))
		}
		for i := int64(0); i < count; i++ {
			l.skipSpace()
			if off, gen, kind, ok := l.plainXrefEntry(); ok {
				if kind == 'n' && off > 0 && gen <= 65535 {
					x.set(start+i, xrefEntry{off: off, gen: uint16(gen)})
				}
				continue
			}
			off, ok1 := l.token().(int64)
			gen, ok2 := l.token().(int64)
			kind, ok3 := l.token().(pdfKeyword)
			if !ok1 || !ok2 || !ok3 || (kind != "n" && kind != "f") {
				return errors.New("malformed xref table entry")
			}
			if kind == "n" && off > 0 && gen >= 0 && gen <= 65535 {
				x.set(start+i, xrefEntry{off: off, gen: uint16(gen)})
			}
		}
	}
}

// plainXrefEntry reads at the lexer an entry as the standard writes it
// (7.5.4: ten digits, a space, five, a space, "n" or "f"), which is how
// nearly every table is written, without making a token of each part:
// boxed, they were most of reading a form's table. It reads what three
// calls of token would (the keyword ends at white space, a delimiter or
// the end); ok is false, the lexer unmoved, for anything else.
func (l *pdfLexer) plainXrefEntry() (off, gen int64, kind byte, ok bool) {
	d := l.data[l.pos:]
	if len(d) < 18 || d[10] != ' ' || d[16] != ' ' || (d[17] != 'n' && d[17] != 'f') ||
		(len(d) > 18 && !isPDFSpace(d[18]) && !isPDFDelim(d[18])) {
		return 0, 0, 0, false
	}
	for i, c := range d[:16] {
		switch {
		case i == 10:
		case c < '0' || c > '9':
			return 0, 0, 0, false
		case i < 10:
			off = off*10 + int64(c-'0')
		default:
			gen = gen*10 + int64(c-'0')
		}
	}
	l.pos += 18
	return off, gen, d[17], true
}

// readStream reads the entries of an xref stream.
func (x *xrefInfo) readStream(s *pdfStream, maxObjs int) error {
	data, _, err := decodeStream(s, 16<<20)
	if err != nil {
		return err
	}
	size, _ := pdfInt(s.dict["Size"])
	if size < 0 || size > int64(maxObjs) {
		return fmt.Errorf("/Size %d", size)
	}
	wa, _ := s.dict["W"].(pdfArray)
	if len(wa) != 3 {
		return errors.New("bad /W")
	}
	var w [3]int
	for i, v := range wa {
		n, ok := pdfInt(v)
		if !ok || n < 0 || n > 8 {
			return errors.New("bad /W")
		}
		w[i] = int(n)
	}
	rowLen := w[0] + w[1] + w[2]
	if rowLen == 0 {
		return errors.New("bad /W")
	}
	index, _ := s.dict["Index"].(pdfArray)
	if index == nil {
		index = pdfArray{int64(0), size}
	}
	field := func(b []byte, def int64) int64 {
		if len(b) == 0 {
			return def
		}
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	pos := 0
	for i := 0; i+1 < len(index); i += 2 {
		start, ok1 := pdfInt(index[i])
		count, ok2 := pdfInt(index[i+1])
		if !ok1 || !ok2 || start < 0 || count < 0 || start+count > int64(maxObjs) {
			return errors.New("bad /Index")
		}
		for j := int64(0); j < count && pos+rowLen <= len(data); j++ {
			row := data[pos : pos+rowLen]
			pos += rowLen
			typ := field(row[:w[0]], 1)
			f2 := field(row[w[0]:w[0]+w[1]], 0)
			f3 := field(row[w[0]+w[1]:], 0)
			switch typ {
			case 1:
				if f2 > 0 && f3 <= 65535 {
					x.set(start+j, xrefEntry{off: f2, gen: uint16(f3)})
				}
			case 2:
				if f2 > 0 && f2 < int64(maxObjs) && f3 <= 65535 {
					x.set(start+j, xrefEntry{inStream: true, off: f2, gen: uint16(f3)})
					x.compressed = true
				}
			}
		}
	}
	return nil
}

// readIndirect reads "N G obj ... endobj" at the lexer, with a stream's
// raw data (its /Length must be direct here; see pdfFile.load).
func readIndirect(l *pdfLexer) (pdfObj, error) {
	_, _, obj, err := readIndirectWith(l, nil)
	return obj, err
}

// readIndirectWith is readIndirect, resolving an indirect /Length with
// length (nil: search for endstream).
func readIndirectWith(l *pdfLexer, lengthOf func(pdfRef) (int64, bool)) (num int64, gen int64, obj pdfObj, err error) {
	n, ok1 := l.token().(int64)
	g, ok2 := l.token().(int64)
	kw, ok3 := l.token().(pdfKeyword)
	if !ok1 || !ok2 || !ok3 || kw != "obj" {
		return 0, 0, nil, errors.New("expected an object header")
	}
	obj, err = l.object(true, 0)
	if err != nil {
		return n, g, nil, err
	}
	save := l.pos
	if l.token() != pdfKeyword("stream") {
		l.pos = save
		return n, g, obj, nil
	}
	d, ok := obj.(pdfDict)
	if !ok {
		return n, g, nil, errors.New("stream without a dictionary")
	}
	start := l.streamStart()
	length := int64(-1)
	switch v := d["Length"].(type) {
	case int64:
		length = v
	case pdfRef:
		if lengthOf != nil {
			if n, ok := lengthOf(v); ok {
				length = n
			}
		}
	}
	end := streamEnd(l.data, start, length)
	l.pos = end
	return n, g, &pdfStream{dict: d, data: l.data[start:end]}, nil
}

// streamFilters lists a stream's filters and their parameters.
func streamFilters(d pdfDict) ([]pdfName, []pdfDict) {
	var names []pdfName
	var parms []pdfDict
	switch f := d["Filter"].(type) {
	case pdfName:
		names = []pdfName{f}
	case pdfArray:
		for _, x := range f {
			n, _ := x.(pdfName)
			names = append(names, n)
		}
	}
	switch p := d["DecodeParms"].(type) {
	case pdfDict:
		parms = []pdfDict{p}
	case pdfArray:
		for _, x := range p {
			dp, _ := x.(pdfDict)
			parms = append(parms, dp)
		}
	}
	for len(parms) < len(names) {
		parms = append(parms, nil)
	}
	return names, parms[:len(names)]
}

// decodeStream applies every filter it can, in order, producing at most
// limit bytes; rest is how many filters (image codecs) are left.
func decodeStream(s *pdfStream, limit int64) (data []byte, rest int, err error) {
	names, parms := streamFilters(s.dict)
	data = s.data
	for i, name := range names {
		if name == "Crypt" {
			continue // Identity: the file's decryption was applied already
		}
		out, ok, err := decodeFilter(name, parms[i], data, limit)
		if !ok {
			return data, len(names) - i, nil
		}
		if err != nil {
			return out, 0, fmt.Errorf("/%s: %w", name, err)
		}
		data = out
	}
	return data, 0, nil
}

// libraryDecodes reports whether ledongthuc/pdf decodes a stream's filters:
// FlateDecode without a predictor and ASCII85Decode. A /Predictor of 1
// (none) is a predictor to the library, which panics on it.
func libraryDecodes(d pdfDict) bool {
	names, parms := streamFilters(d)
	for i, n := range names {
		if n != "FlateDecode" && n != "ASCII85Decode" {
			return false
		}
		if _, ok := parms[i]["Predictor"]; ok {
			return false
		}
		if n == "ASCII85Decode" && len(parms[i]) > 0 {
			return false
		}
	}
	return true
}

// pdfFile reads objects through a cross-reference chain.
type pdfFile struct {
	data    []byte
	x       *xrefInfo
	crypt   *pdfCrypt
	encNum  uint32 // the /Encrypt dictionary's object (never encrypted)
	objstms map[uint32]*objStm
	budget  int64 // decoded bytes left
	loading map[uint32]bool
}

// objStm is an object stream, decoded.
type objStm struct {
	data  []byte
	first int64
	nums  []int64
	offs  []int64
	err   error
	ends  []int64 // see end
}

// end is where object i of the stream ends: at the next object's offset,
// or the stream's end. Writers list offsets in order, but need not.
func (st *objStm) end(i int) int64 {
	if st.ends == nil {
		order := make([]int, len(st.offs))
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(st.offs[a], st.offs[b]) })
		st.ends = make([]int64, len(st.offs))
		next := int64(len(st.data))
		for k := len(order) - 1; k >= 0; k-- {
			j := order[k]
			st.ends[j] = next
			if p := st.first + st.offs[j]; p >= 0 && p < next {
				next = p
			}
		}
	}
	return st.ends[i]
}

// openPDFFile reads objects of data through x, decrypting them when the
// file is encrypted (with the empty user password, as viewers open it).
func openPDFFile(data []byte, x *xrefInfo, budget int64) (*pdfFile, error) {
	f := &pdfFile{data: data, x: x, objstms: map[uint32]*objStm{}, budget: budget, loading: map[uint32]bool{}}
	enc := x.trailer["Encrypt"]
	if enc == nil {
		return f, nil
	}
	if r, ok := enc.(pdfRef); ok {
		f.encNum = r.num
		o, err := f.load(r.num)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadEncrypt, err)
		}
		enc = o
	}
	ed, ok := enc.(pdfDict)
	if !ok {
		return nil, fmt.Errorf("%w: not a dictionary", errBadEncrypt)
	}
	var id []byte
	if ids, ok := x.trailer["ID"].(pdfArray); ok && len(ids) > 0 {
		s, _ := ids[0].(pdfString)
		id = []byte(s)
	}
	c, err := newPDFCrypt(ed, id)
	if err != nil {
		return nil, err
	}
	f.crypt = c
	return f, nil
}

// load reads object num's newest definition, decrypted.
func (f *pdfFile) load(num uint32) (pdfObj, error) {
	e, ok := f.x.entries[num]
	if !ok {
		return nil, nil
	}
	if f.loading[num] {
		return nil, fmt.Errorf("object %d refers to itself", num)
	}
	f.loading[num] = true
	defer delete(f.loading, num)
	if e.inStream {
		return f.loadFromStream(num, e)
	}
	if e.off <= 0 || e.off >= int64(len(f.data)) {
		return nil, fmt.Errorf("object %d: offset %d outside the file", num, e.off)
	}
	l := pdfLexer{data: f.data, pos: int(e.off)}
	n, g, obj, err := readIndirectWith(&l, f.directLength)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	if n != int64(num) {
		return nil, fmt.Errorf("object %d: found object %d %d at its offset", num, n, g)
	}
	ref := pdfRef{num, uint16(g)}
	if f.crypt == nil || num == f.encNum {
		return obj, nil
	}
	if s, ok := obj.(*pdfStream); ok {
		if s.dict["Type"] == pdfName("XRef") {
			return s, nil
		}
		f.crypt.decryptObject(s.dict, ref, 0)
		m := f.crypt.stmM
		names, _ := streamFilters(s.dict)
		if slices.Contains(names, "Crypt") || (s.dict["Type"] == pdfName("Metadata") && !f.crypt.encryptMeta) {
			m = cryptNone
		}
		d, err := f.crypt.decrypt(m, ref, s.data)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", num, err)
		}
		s.data = d
		return s, nil
	}
	return f.crypt.decryptObject(obj, ref, 0), nil
}

// directLength resolves an indirect /Length that is a plain object.
func (f *pdfFile) directLength(r pdfRef) (int64, bool) {
	e, ok := f.x.entries[r.num]
	if !ok || f.loading[r.num] {
		return 0, false
	}
	f.loading[r.num] = true
	defer delete(f.loading, r.num)
	var obj pdfObj
	if e.inStream {
		obj, _ = f.loadFromStream(r.num, e)
	} else if e.off > 0 && e.off < int64(len(f.data)) {
		l := pdfLexer{data: f.data, pos: int(e.off)}
		_, _, obj, _ = readIndirectWith(&l, nil)
	}
	return pdfInt(obj)
}

func (f *pdfFile) loadFromStream(num uint32, e xrefEntry) (pdfObj, error) {
	st, i, err := f.inStream(num, e)
	if err != nil {
		return nil, err
	}
	l := pdfLexer{data: st.data, pos: int(st.first + st.offs[i])}
	obj, err := l.object(true, 0)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	return obj, nil
}

// inStream finds object num in the object stream its entry names: the
// stream and the object's index in it, its offset checked.
func (f *pdfFile) inStream(num uint32, e xrefEntry) (*objStm, int, error) {
	st, err := f.objStm(uint32(e.off))
	if err != nil {
		return nil, 0, fmt.Errorf("object %d in object stream %d: %w", num, e.off, err)
	}
	i := int(e.gen)
	if i >= len(st.nums) || st.nums[i] != int64(num) {
		i = slices.Index(st.nums, int64(num))
	}
	if i < 0 {
		return nil, 0, fmt.Errorf("object %d not in object stream %d", num, e.off)
	}
	if pos := st.first + st.offs[i]; pos < 0 || pos >= int64(len(st.data)) {
		return nil, 0, fmt.Errorf("object %d: offset outside object stream %d", num, e.off)
	}
	return st, i, nil
}

// asWritten is object num of an object stream as written there, where
// plainObject finds it one object the library reads as our lexer does;
// nil otherwise. Its bytes run to the next object's offset (or the
// stream's end): offsets need not come in order.
func (f *pdfFile) asWritten(num uint32, e xrefEntry) []byte {
	st, i, err := f.inStream(num, e)
	if err != nil {
		return nil
	}
	start := st.first + st.offs[i]
	b := st.data[start:st.end(i)]
	if !plainObject(b) {
		return nil
	}
	return bytes.TrimRight(b, "\x00\t\n\f\r ")
}

func (f *pdfFile) objStm(num uint32) (*objStm, error) {
	if st, ok := f.objstms[num]; ok {
		return st, st.err
	}
	st := &objStm{}
	f.objstms[num] = st
	st.err = func() error {
		if e := f.x.entries[num]; e.inStream {
			return errors.New("an object stream inside an object stream")
		}
		obj, err := f.load(num)
		if err != nil {
			return err
		}
		s, ok := obj.(*pdfStream)
		if !ok || s.dict["Type"] != pdfName("ObjStm") {
			return errors.New("not an object stream")
		}
		data, rest, err := decodeStream(s, f.budget)
		if err != nil || rest > 0 {
			return fmt.Errorf("decode: %v", err)
		}
		f.budget -= int64(len(data))
		st.data = data
		st.first, _ = pdfInt(s.dict["First"])
		n, _ := pdfInt(s.dict["N"])
		if n < 0 || n > int64(len(data)) {
			return fmt.Errorf("/N %d", n)
		}
		l := pdfLexer{data: data}
		for range n {
			num, ok1 := l.token().(int64)
			off, ok2 := l.token().(int64)
			if !ok1 || !ok2 {
				break
			}
			st.nums = append(st.nums, num)
			st.offs = append(st.offs, off)
		}
		return nil
	}()
	return st, st.err
}

// Why a rewrite failed, for the coordinator.
var errRewriteNoRoot = errors.New("no readable /Root")

// rewritePDF reads data through its cross-reference chain and writes it
// again as one classic section, decrypted, with the streams the library
// cannot decode decoded. budget bounds the bytes decoded.
func rewritePDF(ctx context.Context, data []byte, x *xrefInfo, budget int64) ([]byte, error) {
	out, _, err := rewriteCopying(ctx, data, x, budget, false)
	return out, err
}

// rewriteCopying is rewritePDF that, when copyPlain is set, copies the objects
// of an unencrypted file's object streams as written where plainObject
// allows (see pdf_plain.go) rather than parsing and writing them again;
// copied reports whether it did.
func rewriteCopying(ctx context.Context, data []byte, x *xrefInfo, budget int64, copyPlain bool) (clean []byte, copied bool, err error) {
	f, err := openPDFFile(data, x, budget)
	if err != nil {
		return nil, false, err
	}
	nums := make([]uint32, 0, len(x.entries))
	for n := range x.entries {
		if n != 0 {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := make([]byte, 0, len(data)+len(data)/4)
	out = append(out, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"...)
	offs := make(map[uint32]int, len(nums))
	gens := make(map[uint32]uint16, len(nums))
	// Each object is written once, from its own definition, so the output
	// is the input with object streams and the filters the library cannot
	// decode inflated (within budget) and strings as hex; past this bound
	// something is wrong.
	maxOut := 2*len(data) + 2*int(max(budget, 0)) + 1<<20
	for _, num := range nums {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if len(out) > maxOut {
			return nil, false, fmt.Errorf("%w: the rewrite outgrew %d bytes", errDecodeBudget, maxOut)
		}
		if e := x.entries[num]; copyPlain && e.inStream && f.crypt == nil {
			if b := f.asWritten(num, e); b != nil {
				offs[num], gens[num] = len(out), 0
				out = strconv.AppendUint(out, uint64(num), 10)
				out = append(out, " 0 obj\n"...)
				out = append(out, b...)
				out = append(out, "\nendobj\n"...)
				copied = true
				continue
			}
		}
		obj, err := f.load(num)
		if err != nil {
			obj = nil // read as null, as viewers do
		}
		if s, ok := obj.(*pdfStream); ok {
			if t := s.dict["Type"]; t == pdfName("XRef") || t == pdfName("ObjStm") {
				continue
			}
		}
		if f.budget < 0 {
			return nil, false, errDecodeBudget
		}
		gen := uint16(0)
		if e := x.entries[num]; !e.inStream {
			gen = e.gen
		}
		offs[num], gens[num] = len(out), gen
		out = strconv.AppendUint(out, uint64(num), 10)
		out = append(out, ' ')
		out = strconv.AppendUint(out, uint64(gen), 10)
		out = append(out, " obj\n"...)
		if s, ok := obj.(*pdfStream); ok {
			out = f.appendStream(out, s)
		} else {
			out = appendPDFObj(out, obj, 0)
		}
		out = append(out, "\nendobj\n"...)
	}
	root, _ := x.trailer["Root"].(pdfRef)
	if _, ok := offs[root.num]; !ok || root.num == 0 {
		return nil, false, errRewriteNoRoot
	}
	// The catalog is a dictionary; anything else (a stray keyword the
	// lexer took for a value) would be written as null, and the rewrite
	// would not read again.
	if rootObj, err := f.load(root.num); err != nil {
		return nil, false, errRewriteNoRoot
	} else if _, ok := rootObj.(pdfDict); !ok {
		return nil, false, errRewriteNoRoot
	}
	// The table runs to the last object written: a cross-reference or
	// object stream numbered last is not, and rewriting the rewrite
	// then gives the same bytes (FuzzRewritePDF).
	size := uint32(1)
	for n := range offs {
		size = max(size, n+1)
	}
	xref := len(out)
	out = append(out, "xref\n0 "...)
	out = strconv.AppendUint(out, uint64(size), 10)
	out = append(out, "\n0000000000 65535 f \n"...)
	for n := uint32(1); n < size; n++ {
		off, ok := offs[n]
		if !ok {
			out = append(out, "0000000000 00000 f \n"...)
			continue
		}
		out = fmt.Appendf(out, "%010d %05d n \n", off, gens[n])
	}
	trailer := pdfDict{"Size": int64(size), "Root": root}
	if info, ok := x.trailer["Info"].(pdfRef); ok {
		trailer["Info"] = info
	}
	if id, ok := x.trailer["ID"].(pdfArray); ok {
		trailer["ID"] = id
	}
	out = append(out, "trailer\n"...)
	out = appendPDFObj(out, trailer, 0)
	out = append(out, "\nstartxref\n"...)
	out = strconv.AppendInt(out, int64(xref), 10)
	out = append(out, "\n%%EOF\n"...)
	return out, copied, nil
}

// appendStream writes a stream, decoding the filters the library cannot
// (except on images and embedded files, which are never read).
func (f *pdfFile) appendStream(out []byte, s *pdfStream) []byte {
	d := maps.Clone(s.dict)
	data := s.data
	skip := d["Subtype"] == pdfName("Image") || d["Type"] == pdfName("EmbeddedFile") || d["Type"] == pdfName("Metadata")
	if !skip && !libraryDecodes(d) {
		dec, rest, err := decodeStream(s, max(f.budget, 0))
		f.budget -= int64(len(dec))
		if errors.Is(err, errDecodeBudget) {
			f.budget = -1
		}
		names, parms := streamFilters(s.dict)
		delete(d, "Filter")
		delete(d, "DecodeParms")
		if rest > 0 && err == nil {
			names, parms = names[len(names)-rest:], parms[len(parms)-rest:]
			fa := make(pdfArray, len(names))
			pa := make(pdfArray, len(parms))
			for i := range names {
				fa[i] = names[i]
				if parms[i] != nil {
					pa[i] = parms[i]
				}
			}
			d["Filter"], d["DecodeParms"] = fa, pa
		}
		data = dec
	}
	d["Length"] = int64(len(data))
	out = appendPDFObj(out, d, 0)
	out = append(out, "\nstream\n"...)
	out = append(out, data...)
	out = append(out, "\nendstream"...)
	return out
}

// appendPDFObj writes an object in PDF syntax; strings as hex, which
// needs no escaping.
func appendPDFObj(out []byte, o pdfObj, depth int) []byte {
	if depth > maxSyntaxDepth {
		return append(out, "null"...)
	}
	switch v := o.(type) {
	case nil:
		return append(out, "null"...)
	case bool:
		return strconv.AppendBool(out, v)
	case int64:
		return strconv.AppendInt(out, v, 10)
	case float64:
		return strconv.AppendFloat(out, v, 'f', -1, 64)
	case pdfName:
		out = append(out, '/')
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < 0x21 || c > 0x7e || c == '#' || isPDFDelim(c) {
				out = fmt.Appendf(out, "#%02x", c)
				continue
			}
			out = append(out, c)
		}
		return out
	case pdfString:
		const hexDigits = "0123456789abcdef"
		out = append(out, '<')
		for i := 0; i < len(v); i++ {
			out = append(out, hexDigits[v[i]>>4], hexDigits[v[i]&15])
		}
		return append(out, '>')
	case pdfRef:
		return fmt.Appendf(out, "%d %d R", v.num, v.gen)
	case pdfArray:
		out = append(out, '[')
		for i, x := range v {
			if i > 0 {
				out = append(out, ' ')
			}
			out = appendPDFObj(out, x, depth+1)
		}
		return append(out, ']')
	case pdfDict:
		keys := make([]pdfName, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out = append(out, "<<"...)
		for _, k := range keys {
			out = appendPDFObj(out, k, depth+1)
			out = append(out, ' ')
			out = appendPDFObj(out, v[k], depth+1)
			out = append(out, ' ')
		}
		return append(out, ">>"...)
	}
	return append(out, "null"...) // a stray keyword
}
