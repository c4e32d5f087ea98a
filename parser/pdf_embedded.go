package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// EmbeddedFile is a file attached inside a PDF: in its attachments panel
// (the document's EmbeddedFiles name tree, where Acrobat's paperclip and
// a PDF portfolio put files) or on a page as a file-attachment
// annotation. A referrer may attach the consent form to the referral so;
// Acrobat shows it, pdfdetach takes it out, and the intake reads it as
// another attachment of the email.
type EmbeddedFile struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Bounds on what one PDF gives: a form and a letter or two, with room.
const (
	maxEmbeddedFiles = 16
	maxEmbeddedBytes = 16 << 20 // decoded, all files of one PDF
	maxNameTreeNodes = 1000
	maxNameTreeDepth = 32
)

var errEmbeddedBound = errors.New("attached files over the bound")

// pdfEmbeddedFiles takes out the files attached inside a PDF, in the
// order of its name tree and then of its pages, each once. It reads the
// file with the package's own object reader (pdf_rewrite.go), so an
// encrypted file, object streams or a damaged cross-reference chain
// (then every object is found by a scan) are read as for the forms. An
// error says why some files may be missing; the files read are returned
// with it.
func pdfEmbeddedFiles(ctx context.Context, data []byte, l Limits) ([]EmbeddedFile, error) {
	x, err := readXrefChain(data, l.MaxPDFObjects)
	if err != nil {
		if x, err = reconstructXref(data, l.MaxPDFObjects, pdfContentBudget); err != nil {
			return nil, fmt.Errorf("attached files: %w", err)
		}
	}
	f, err := openPDFFile(data, x, pdfContentBudget)
	if err != nil {
		return nil, fmt.Errorf("attached files: %w", err)
	}
	e := &embeddedReader{ctx: ctx, f: f, left: maxEmbeddedBytes, seen: map[uint32]bool{}, pages: l.MaxPDFPages}
	root, _ := e.resolve(x.trailer["Root"]).(pdfDict)
	if names, ok := e.resolve(root["Names"]).(pdfDict); ok {
		e.nameTree(names["EmbeddedFiles"], 0)
	}
	e.pageTree(root["Pages"], 0)
	return e.files, e.err
}

// embeddedReader walks a document for its attached files.
type embeddedReader struct {
	ctx   context.Context
	f     *pdfFile
	files []EmbeddedFile
	left  int64           // decoded bytes the files may still take
	seen  map[uint32]bool // objects visited: files, nodes and pages
	nodes int             // name tree nodes and page tree nodes visited
	pages int             // pages whose annotations may still be read
	err   error           // the first bound met or file not read
}

// resolve follows references to an object (a short chain at most).
func (e *embeddedReader) resolve(o pdfObj) pdfObj {
	for range 8 {
		r, ok := o.(pdfRef)
		if !ok {
			return o
		}
		var err error
		if o, err = e.f.load(r.num); err != nil {
			return nil
		}
	}
	return nil
}

// visit reports whether o is to be walked: not seen before (a tree that
// loops) and within the bound on nodes.
func (e *embeddedReader) visit(o pdfObj) bool {
	if e.ctx.Err() != nil || e.nodes >= maxNameTreeNodes {
		return false
	}
	e.nodes++
	if r, ok := o.(pdfRef); ok {
		if e.seen[r.num] {
			return false
		}
		e.seen[r.num] = true
	}
	return true
}

// nameTree reads a name tree's leaves ([key value key value ...]) and
// its kids.
func (e *embeddedReader) nameTree(o pdfObj, depth int) {
	if depth > maxNameTreeDepth || !e.visit(o) {
		return
	}
	node, ok := e.resolve(o).(pdfDict)
	if !ok {
		return
	}
	if leaves, ok := e.resolve(node["Names"]).(pdfArray); ok {
		for i := 1; i < len(leaves); i += 2 {
			e.fileSpec(leaves[i])
		}
	}
	if kids, ok := e.resolve(node["Kids"]).(pdfArray); ok {
		for _, k := range kids {
			e.nameTree(k, depth+1)
		}
	}
}

// pageTree reads the file-attachment annotations of the document's pages.
func (e *embeddedReader) pageTree(o pdfObj, depth int) {
	if depth > maxNameTreeDepth || e.pages <= 0 || !e.visit(o) {
		return
	}
	node, ok := e.resolve(o).(pdfDict)
	if !ok {
		return
	}
	if kids, ok := e.resolve(node["Kids"]).(pdfArray); ok {
		for _, k := range kids {
			e.pageTree(k, depth+1)
		}
		return
	}
	e.pages--
	annots, _ := e.resolve(node["Annots"]).(pdfArray)
	for _, a := range annots {
		if ad, ok := e.resolve(a).(pdfDict); ok && ad["Subtype"] == pdfName("FileAttachment") {
			e.fileSpec(ad["FS"])
		}
	}
}

// fileSpec takes out the file a file specification embeds, named by its
// Unicode name, else its file name.
func (e *embeddedReader) fileSpec(o pdfObj) {
	spec, ok := e.resolve(o).(pdfDict)
	if !ok {
		return
	}
	ef, ok := e.resolve(spec["EF"]).(pdfDict)
	if !ok {
		return
	}
	ref := ef["F"]
	if ref == nil {
		ref = ef["UF"]
	}
	if r, ok := ref.(pdfRef); ok {
		if e.seen[r.num] {
			return // listed twice (the tree and an annotation)
		}
		e.seen[r.num] = true
	}
	s, ok := e.resolve(ref).(*pdfStream)
	if !ok {
		return
	}
	if len(e.files) >= maxEmbeddedFiles {
		e.fail(fmt.Errorf("%w: more than %d files", errEmbeddedBound, maxEmbeddedFiles))
		return
	}
	data, rest, err := decodeStream(s, e.left)
	switch {
	case errors.Is(err, errDecodeBudget) || int64(len(data)) > e.left:
		e.fail(fmt.Errorf("%w: more than %d bytes", errEmbeddedBound, maxEmbeddedBytes))
		return
	case err != nil:
		e.fail(fmt.Errorf("attached file: %w", err))
		return
	case rest != 0:
		e.fail(errors.New("attached file: a filter that cannot be decoded"))
		return
	}
	e.left -= int64(len(data))
	name := pdfTextString(spec["UF"])
	if name == "" {
		name = pdfTextString(spec["F"])
	}
	e.files = append(e.files, EmbeddedFile{Name: name, Data: bytes.Clone(data)})
}

func (e *embeddedReader) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// pdfDocHigh is PDFDocEncoding where it is not Latin-1 (PDF 32000-1,
// D.2): accents at 0x18-0x1F, punctuation and letters at 0x80-0x9E, the
// euro at 0xA0 (0x9F and 0xAD are undefined).
var pdfDocHigh = map[byte]rune{
	0x18: '\u02D8', 0x19: '\u02C7', 0x1A: '\u02C6', 0x1B: '\u02D9', 0x1C: '\u02DD', 0x1D: '\u02DB', 0x1E: '\u02DA', 0x1F: '\u02DC',
	0x80: '\u2022', 0x81: '\u2020', 0x82: '\u2021', 0x83: '\u2026', 0x84: '\u2014', 0x85: '\u2013', 0x86: '\u0192', 0x87: '\u2044',
	0x88: '\u2039', 0x89: '\u203A', 0x8A: '\u2212', 0x8B: '\u2030', 0x8C: '\u201E', 0x8D: '\u201C', 0x8E: '\u201D', 0x8F: '\u2018',
	0x90: '\u2019', 0x91: '\u201A', 0x92: '\u2122', 0x93: '\uFB01', 0x94: '\uFB02', 0x95: '\u0141', 0x96: '\u0152', 0x97: '\u0160',
	0x98: '\u0178', 0x99: '\u017D', 0x9A: '\u0131', 0x9B: '\u0142', 0x9C: '\u0153', 0x9D: '\u0161', 0x9E: '\u017E', 0xA0: '\u20AC',
}

// pdfTextString decodes a PDF text string (7.9.2.2): UTF-16BE or UTF-8
// after their byte-order marks, else PDFDocEncoding.
func pdfTextString(o pdfObj) string {
	s, ok := o.(pdfString)
	if !ok {
		return ""
	}
	b := []byte(s)
	switch {
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) && utf8.Valid(b[3:]):
		return string(b[3:])
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
		if d, ok := pdfDocHigh[c]; ok {
			r[i] = d
		}
	}
	return string(r)
}
