package parser

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Reasons a Word document could not be read, in words for a coordinator.
const (
	reasonDOCXDamaged    = "the Word document is damaged"
	reasonDOCXTooLarge   = "the Word document is too large when unpacked"
	reasonDOCXTooComplex = "the Word document is too complex to read"
	reasonDOCXNotDOCX    = "the file is not a Word document (.docx)"
	reasonDOCXEncrypted  = "the Word document is password-protected"
	// A Microsoft 365 sensitivity label with encryption (rights
	// management): no password opens it, the organisation's sign-in does.
	reasonDOCXRightsManaged = "the Word document is protected by Microsoft's rights management (a sensitivity label): a coordinator signed in to Microsoft 365 may open it"
	reasonDOCXOldDoc        = "old .doc format is not supported"
	reasonDOCXUnsupported   = "the Word document uses a feature that cannot be read"
)

// Bounds that do not depend on the operator's Limits: a DSR form is a few
// hundred table cells, so these leave a wide margin while keeping a
// hostile document's cost small.
const (
	docxMaxEntries  = 5000     // zip entries in the central directory
	docxMaxTokens   = 4 << 20  // XML tokens in one part
	docxMaxDepth    = 256      // XML element nesting
	docxMaxSinkText = 64 << 10 // text kept for one cell, control or field
	docxMaxParaText = 4 << 10  // text kept of one paragraph (titles)
	docxMaxText     = 8 << 20  // text kept across all forms of a document
	docxMaxPairs    = 20000    // label/value pairs and named values
	docxMaxSmall    = 1 << 20  // relationships and styles parts
	docxMaxCells    = 64       // cells looked at in one table row
	docxMaxTitle    = 300      // runes kept of a title
	docxMaxFields   = 64       // nested legacy fields
	docxMaxEntriesL = 100      // entries of a legacy drop-down
	docxCtxEvery    = 4096     // tokens between context checks
	docxReadBuffer  = 32 << 10 // read buffer for one part
	docxTitleShort  = 160      // a first paragraph longer than this is prose, not a title
	docxCheckedMark = '\u2713' // ✓: what ParseYesNo reads as a tick
	docxEmptyMark   = '\u2610' // ☐: an unticked box, dropped from values
	docxCFBHeader   = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
	docxZipLocal    = "PK\x03\x04"
	docxZipEmpty    = "PK\x05\x06"
	docxZipCentral  = "PK\x01\x02"
	docxZipEncFlag  = 0x1
)

// XML namespaces of WordprocessingML (transitional and strict), Word 2010
// extensions and markup compatibility.
const (
	nsW       = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsWStrict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsW14     = "http://schemas.microsoft.com/office/word/2010/wordml"
	nsMC      = "http://schemas.openxmlformats.org/markup-compatibility/2006"
	nsPkgRels = "http://schemas.openxmlformats.org/package/2006/relationships"
)

var (
	errDOCXBudget  = errors.New("uncompressed size over the limit")
	errDOCXComplex = errors.New("document structure over the limit")
	errDOCXNotWord = errors.New("main part is not a WordprocessingML document")
)

// sniffDOCX reports whether data is a zip package whose main part is a
// Word document. It reads at most the package relationships.
func sniffDOCX(data []byte) bool {
	if !bytes.HasPrefix(data, []byte(docxZipLocal)) || countZipEntries(data) > docxMaxEntries {
		return false
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	p := &docxPackage{zr: zr, left: docxMaxSmall}
	f := p.mainPart(context.Background())
	return f != nil && strings.HasPrefix(strings.ToLower(f.Name), "word/")
}

// readDOCX reads the forms in a Word document: label | value table rows,
// content controls and legacy form fields. A document holding both forms
// gives two RawForms, split at the second form's title. On success it
// returns at least one RawForm, empty when the document holds no fields.
func readDOCX(ctx context.Context, data []byte, l Limits) ([]*RawForm, error) {
	l = l.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read docx: %w", err)
	}
	switch {
	case bytes.HasPrefix(data, []byte(docxCFBHeader)):
		err := cfbError(data)
		if ReasonOf(err) != reasonDOCXOldDoc {
			return nil, err
		}
		forms, err := readDOC(ctx, data, l)
		var ue *UnreadableError
		if errors.As(err, &ue) && ue.Reason != reasonDOCXEncrypted && ue.Reason != reasonDOCXOldDoc {
			// A .doc that cannot be read: the referrer is asked for the
			// .docx or a PDF, as before .doc files were read.
			return nil, unreadable(reasonDOCXOldDoc, err)
		}
		return forms, err
	case !bytes.HasPrefix(data, []byte(docxZipLocal)) && !bytes.HasPrefix(data, []byte(docxZipEmpty)):
		return nil, unreadable(reasonDOCXNotDOCX, errors.New("no zip signature"))
	}
	p, err := openPackage(data, l)
	if err != nil {
		return nil, err
	}
	main := p.mainPart(ctx)
	if main == nil {
		return nil, unreadable(reasonDOCXNotDOCX, errors.New("no word/document.xml"))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read docx: %w", err)
	}
	d := newDOCXReader(ctx)
	// Styles name the heading paragraphs (titles); a document without
	// them still reads, with headings guessed from style ids.
	if f := p.find(path.Join(path.Dir(main.Name), "styles.xml")); f != nil && f.UncompressedSize64 <= docxMaxSmall {
		err := p.read(ctx, f, func(r io.Reader) error { return d.readStyles(r) })
		if err != nil && !isDOCXDamage(err) {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read docx: %w", err)
	}
	if err := p.read(ctx, main, d.readDocument); err != nil {
		return nil, err
	}
	return d.result(), nil
}

// openPackage opens a zipped document (a Word or OpenDocument package),
// its entries counted before archive/zip allocates for them and what is
// unpacked from it bounded by Limits.MaxDOCXUncompressed.
func openPackage(data []byte, l Limits) (*docxPackage, error) {
	if n := countZipEntries(data); n > docxMaxEntries {
		return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("zip has %d entries", n))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("open zip: %w", err))
	}
	return &docxPackage{zr: zr, left: l.MaxDOCXUncompressed}, nil
}

// cfbError says what an OLE compound file is: Word's encrypted .docx
// packages and old .doc files are both compound files, told apart by the
// names of their streams (UTF-16 in the directory).
func cfbError(data []byte) error {
	has := func(name string) bool { return bytes.Contains(data, utf16LE(name)) || containsFold16(data, name) }
	switch {
	// Rights management ([MS-OFFCRYPTO] 2.2: the DRM data space and its
	// transform; a .doc keeps its text in a "\tDRMContent" stream and
	// shows only a notice that permission is restricted).
	case has("DRMEncryptedDataSpace") || has("\tDRMContent") || has("\tDRMDataSpace"):
		return unreadable(reasonDOCXRightsManaged, errors.New("OLE container protected by rights management"))
	case has("EncryptedPackage") || has("EncryptionInfo"):
		return unreadable(reasonDOCXEncrypted, errors.New("OLE container with an encrypted package"))
	case has("WordDocument"):
		return unreadable(reasonDOCXOldDoc, errors.New("OLE container with a WordDocument stream"))
	}
	return unreadable(reasonDOCXNotDOCX, errors.New("OLE container without a Word document"))
}

// containsFold16 reports whether data holds the ASCII name as UTF-16LE
// whatever the case of its letters: a compound file's names are compared
// so ([MS-CFB] 2.6.4), and some writers store Word's streams as
// "worddocument" and "1table" (Apache Tika's casing tests), which Word
// and POI open.
func containsFold16(data []byte, name string) bool {
	for i := 0; i+2*len(name) <= len(data); i++ {
		j := 0
		for j < len(name) && data[i+2*j+1] == 0 && lowerASCII(data[i+2*j]) == lowerASCII(name[j]) {
			j++
		}
		if j == len(name) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// countZipEntries bounds the entries archive/zip would allocate before it
// does: every central directory header starts with its signature, so the
// count of signatures is never less than the count of entries. The
// declared count is taken too, as zip64 archives can declare more than
// they hold.
func countZipEntries(data []byte) int {
	n := bytes.Count(data, []byte(docxZipCentral))
	start := max(0, len(data)-(22+65535))
	i := bytes.LastIndex(data[start:], []byte(docxZipEmpty))
	if i >= 0 && start+i+22 <= len(data) {
		if d := int(binary.LittleEndian.Uint16(data[start+i+10:])); d != 0xFFFF && d > n {
			n = d
		}
	}
	return n
}

// docxPackage reads parts of a zip package within one budget of
// uncompressed bytes shared by every part read.
type docxPackage struct {
	zr    *zip.Reader
	left  int64
	br    *bufio.Reader // the read buffer of a streamed part, reused from part to part
	whole wholePart     // a part read whole, its buffer reused from part to part
}

// readWhole appends all of r to buf: declared bytes, and room for the
// lexer's end mark; more if the entry holds more than it declares
// (archive/zip then fails it, and r is bounded by the budget).
func readWhole(buf []byte, r io.Reader, declared uint64) ([]byte, error) {
	buf = slices.Grow(buf, int(declared)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// find returns the entry named name; part names in a package are case
// insensitive.
func (p *docxPackage) find(name string) *zip.File {
	name = strings.TrimPrefix(name, "/")
	for i, f := range p.zr.File {
		if i >= docxMaxEntries {
			break
		}
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// mainPart finds the document part through the package relationships
// (Word Online writes word/document2.xml), falling back to the usual name.
func (p *docxPackage) mainPart(ctx context.Context) *zip.File {
	if rels := p.find("_rels/.rels"); rels != nil && rels.UncompressedSize64 <= docxMaxSmall {
		var target string
		_ = p.read(ctx, rels, func(r io.Reader) error {
			target = officeDocumentTarget(r)
			return nil
		})
		if target != "" {
			if f := p.find(path.Clean("/" + target)[1:]); f != nil {
				return f
			}
		}
	}
	return p.find("word/document.xml")
}

// officeDocumentTarget reads a relationships part for the main document.
func officeDocumentTarget(r io.Reader) string {
	dec := xml.NewDecoder(r)
	for n := 0; n < docxMaxTokens; n++ {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		typ := attr(se, "Type")
		if strings.HasSuffix(typ, "/officeDocument") && attr(se, "TargetMode") != "External" {
			return attr(se, "Target")
		}
	}
	return ""
}

// read streams one entry to fn, counting what is unpacked against the
// budget both by the entry's declared size and by the bytes really read.
func (p *docxPackage) read(ctx context.Context, f *zip.File, fn func(io.Reader) error) error {
	if f.Flags&docxZipEncFlag != 0 {
		return unreadable(reasonDOCXEncrypted, fmt.Errorf("%s is encrypted", f.Name))
	}
	if f.UncompressedSize64 > uint64(max(p.left, 0)) {
		return unreadable(reasonDOCXTooLarge, fmt.Errorf("%s declares %d bytes: %w", f.Name, f.UncompressedSize64, errDOCXBudget))
	}
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return unreadable(reasonDOCXUnsupported, fmt.Errorf("open %s: %w", f.Name, err))
		}
		return unreadable(reasonDOCXDamaged, fmt.Errorf("open %s: %w", f.Name, err))
	}
	defer rc.Close()
	cr := &countingReader{r: io.LimitReader(rc, p.left+1)}
	if f.UncompressedSize64 <= docxWholePart {
		// Read whole, to be lexed in memory (docx_xml.go); to its end,
		// so its checksum is verified.
		if p.whole.data, err = readWhole(p.whole.data[:0], cr, f.UncompressedSize64); err == nil {
			p.whole.Reset(p.whole.data)
			err = fn(&p.whole)
		}
	} else {
		if p.br == nil {
			p.br = bufio.NewReaderSize(cr, docxReadBuffer)
		} else {
			p.br.Reset(cr)
		}
		br := p.br
		err = fn(br)
		if err == nil {
			// Read to the end so the entry's checksum is verified: a
			// flipped byte in a value is damage too.
			_, err = io.Copy(io.Discard, br)
		}
	}
	p.left -= cr.n
	if p.left < 0 {
		return unreadable(reasonDOCXTooLarge, fmt.Errorf("%s: %w", f.Name, errDOCXBudget))
	}
	if err == nil {
		return nil
	}
	var ue *UnreadableError
	switch {
	case errors.As(err, &ue):
		return err
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("read %s: %w", f.Name, err)
	case errors.Is(err, errDOCXComplex):
		return unreadable(reasonDOCXTooComplex, fmt.Errorf("read %s: %w", f.Name, err))
	case errors.Is(err, errDOCXNotWord):
		return unreadable(reasonDOCXNotDOCX, fmt.Errorf("read %s: %w", f.Name, err))
	}
	return unreadable(reasonDOCXDamaged, fmt.Errorf("read %s: %w", f.Name, err))
}

// isDOCXDamage reports whether err is a damaged optional part, which the
// reader can do without (unlike a budget or a cancelled context).
func isDOCXDamage(err error) bool {
	var ue *UnreadableError
	return errors.As(err, &ue) && ue.Reason == reasonDOCXDamaged
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// attr returns the value of the attribute with the local name, whatever
// its namespace (producers differ on w:val and val).
func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func onOff(se xml.StartElement) bool {
	switch strings.ToLower(attr(se, "val")) {
	case "0", "false", "off":
		return false
	}
	return true
}

// sink collects the text of one cell, content control or field:
// paragraphs joined by "\n", bounded in size.
type sink struct {
	b   strings.Builder
	brk bool
	max int
}

func (s *sink) write(str string) {
	if s.brk && s.b.Len() > 0 {
		s.b.WriteByte('\n')
	}
	s.brk = false
	if s.b.Len()+len(str) <= s.max {
		s.b.WriteString(str)
	}
}

func (s *sink) para() { s.brk = true }

// docxTable is one open table: its current row and cell, the text of the
// whole table (so a table nested in a cell still gives the cell a value)
// and the last label it found, for labels merged down over rows.
type docxTable struct {
	text     sink
	row      []docxCell
	inRow    bool
	cell     *sink
	cont     bool
	lastForm *docxForm
	lastPair int
}

type docxCell struct {
	text string
	cont bool // a vMerge continuation: its text is the cell above's
}

// docxSDT is one open content control.
type docxSDT struct {
	tag, alias  string
	placeholder bool
	checkbox    bool
	checked     bool
	inContent   bool
	hides       bool
	text        sink
}

// docxField is one open legacy field (fldChar begin … separate … end).
type docxField struct {
	result   bool // past "separate": what follows is shown
	name     string
	kind     string // "text", "checkbox", "dropdown" or ""
	checked  int    // -1 unset, 0, 1
	def      int
	ddResult int
	entries  []string
	instr    string
	text     sink
}

// docxForm is one form found in the document.
type docxForm struct {
	rf           *RawForm
	content      bool
	titleHeading bool
}

// docxReader walks document.xml as a token stream, so memory follows the
// caps above, not the size of the document.
type docxReader struct {
	ctx      context.Context
	headings map[string]bool // paragraph style ids that are headings or titles

	stack     []string // open elements, "w:p", "w14:checkbox", "mc:Fallback", "?"
	skip      int      // depth inside a subtree that is not read
	maxTokens int
	root      bool
	fail      error // set by a start handler to stop the walk

	para        sink
	paraStyle   string
	paraOutline bool
	inText      bool
	placeholder bool
	runFont     string // a symbol font of the current run, lower case

	tables []*docxTable
	sdts   []*docxSDT
	fields []*docxField
	hidden int // open controls whose content is not shown as text
	instr  int // open fields still in their instructions

	forms []*docxForm
	text  int
	pairs int
}

func newDOCXReader(ctx context.Context) *docxReader {
	d := &docxReader{ctx: ctx, headings: map[string]bool{}, maxTokens: docxMaxTokens}
	d.para.max = docxMaxParaText
	d.newForm()
	return d
}

func (d *docxReader) newForm() *docxForm {
	f := &docxForm{rf: &RawForm{Source: "docx", ByName: map[string]string{}}}
	d.forms = append(d.forms, f)
	return f
}

func (d *docxReader) cur() *docxForm { return d.forms[len(d.forms)-1] }

// result returns the forms that hold fields; when none does, the first
// (its title may still tell what the document is).
func (d *docxReader) result() []*RawForm {
	var out []*RawForm
	for _, f := range d.forms {
		if f.content {
			out = append(out, f.rf)
		}
	}
	if len(out) == 0 {
		out = append(out, d.forms[0].rf)
	}
	return out
}

func elemName(n xml.Name) string {
	switch n.Space {
	case nsW, nsWStrict:
		return "w:" + n.Local
	case nsW14:
		return "w14:" + n.Local
	case nsMC:
		return "mc:" + n.Local
	}
	return "?"
}

// parent returns the name of the element i levels above the current one
// (0: the element itself once pushed).
func (d *docxReader) parent(i int) string {
	if j := len(d.stack) - 1 - i; j >= 0 {
		return d.stack[j]
	}
	return ""
}

// tokenLoop runs fn over every token of r within the token and depth caps.
//
// It reads the XML as RawToken gives it (docx_xml.go: the lexer for a
// part read whole, encoding/xml for a stream) and resolves namespace
// prefixes itself: Token does the same work but boxes every start and end
// element a second time, which was 28% of a Word document's allocations
// (BenchmarkReadDOCX). What Token checks, this checks too: every end
// element closes the element open, with the same prefix, and the document
// does not end inside one. An element's name is made once per part.
func (d *docxReader) tokenLoop(r io.Reader, start func(xml.StartElement), end func(string), chars func(xml.CharData)) error {
	dec := xmlTokens(r)
	d.stack = d.stack[:0]
	d.skip = 0
	type openElem struct {
		raw    xml.Name // as written: prefix and local name
		nsMark int      // len(bindings) before its own declarations
	}
	type binding struct{ prefix, uri string }
	var open []openElem
	var bindings []binding
	lookup := func(prefix string) string {
		for i := len(bindings) - 1; i >= 0; i-- {
			if bindings[i].prefix == prefix {
				return bindings[i].uri
			}
		}
		if prefix == "xml" {
			return "http://www.w3.org/XML/1998/namespace"
		}
		return prefix // unbound: left as written, as Token does
	}
	names := map[xml.Name]string{}
	var tok xmlToken
	for n := 0; ; n++ {
		if n >= d.maxTokens {
			return fmt.Errorf("more than %d XML tokens: %w", d.maxTokens, errDOCXComplex)
		}
		if n%docxCtxEvery == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		err := dec.next(&tok)
		if err == io.EOF {
			if len(open) > 0 {
				return fmt.Errorf("parse xml: unexpected EOF inside <%s>", open[len(open)-1].raw.Local)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse xml: %w", err)
		}
		switch tok.kind {
		case xmlStart:
			t := xml.StartElement{Name: tok.name, Attr: tok.attrs}
			if len(d.stack) >= docxMaxDepth {
				return fmt.Errorf("XML nested deeper than %d: %w", docxMaxDepth, errDOCXComplex)
			}
			open = append(open, openElem{raw: t.Name, nsMark: len(bindings)})
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					bindings = append(bindings, binding{a.Name.Local, a.Value})
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					bindings = append(bindings, binding{"", a.Value})
				}
			}
			t.Name.Space = lookup(t.Name.Space)
			name, ok := names[t.Name]
			if !ok {
				name = elemName(t.Name)
				names[t.Name] = name
			}
			d.stack = append(d.stack, name)
			if d.skip > 0 {
				d.skip++
				continue
			}
			start(t)
			if d.fail != nil {
				return d.fail
			}
		case xmlEnd:
			t := xml.EndElement{Name: tok.name}
			if len(d.stack) == 0 {
				return fmt.Errorf("parse xml: unbalanced end element")
			}
			top := open[len(open)-1]
			if t.Name != top.raw {
				return fmt.Errorf("parse xml: element <%s> closed by </%s>", top.raw.Local, t.Name.Local)
			}
			name := d.stack[len(d.stack)-1]
			if d.skip > 0 {
				d.skip--
			} else {
				end(name)
			}
			d.stack = d.stack[:len(d.stack)-1]
			open = open[:len(open)-1]
			bindings = bindings[:top.nsMark]
		case xmlText:
			if d.skip == 0 && chars != nil {
				chars(tok.text)
			}
		}
	}
}

// readStyles learns which paragraph styles are headings: by name
// ("heading 1", "Title") or by outline level, since style ids are
// localised ("berschrift1").
func (d *docxReader) readStyles(r io.Reader) error {
	var id string
	var heading bool
	start := func(se xml.StartElement) {
		switch d.parent(0) {
		case "w:style":
			id, heading = "", false
			if attr(se, "type") == "paragraph" || attr(se, "type") == "" {
				id = attr(se, "styleId")
			}
		case "w:name":
			if d.parent(1) == "w:style" {
				n := strings.ToLower(attr(se, "val"))
				heading = heading || strings.HasPrefix(n, "heading") || n == "title"
			}
		case "w:outlineLvl":
			if d.parent(2) == "w:style" {
				if v, err := strconv.Atoi(attr(se, "val")); err == nil && v < 9 {
					heading = true
				}
			}
		}
	}
	end := func(name string) {
		if name == "w:style" && id != "" && heading {
			d.headings[id] = true
		}
	}
	return d.tokenLoop(r, start, end, nil)
}

func (d *docxReader) readDocument(r io.Reader) error {
	if err := d.tokenLoop(r, d.start, d.end, d.chars); err != nil {
		return err
	}
	if !d.root {
		return errors.New("document part has no root element")
	}
	return nil
}

func (d *docxReader) start(se xml.StartElement) {
	name := d.parent(0)
	if !d.root {
		d.root = true
		if name != "w:document" {
			d.fail = fmt.Errorf("root element %s: %w", se.Name.Local, errDOCXNotWord)
		}
		return
	}
	switch name {
	case "w:drawing", "w:pict", "w:object", "mc:Fallback", "w:moveFrom", "w:del":
		// Drawings and text boxes are not form fields (and mc:Fallback
		// repeats mc:Choice); deleted text is not text.
		d.skip = 1
	case "w:instrText":
		if d.parent(1) == "w:r" && len(d.fields) > 0 {
			d.inText = true
		}
	case "w:p":
		d.para.b.Reset()
		d.para.brk = false
		d.paraStyle, d.paraOutline = "", false
	case "w:pStyle":
		if d.parent(1) == "w:pPr" && d.parent(2) == "w:p" {
			d.paraStyle = attr(se, "val")
		}
	case "w:outlineLvl":
		if d.parent(1) == "w:pPr" && d.parent(2) == "w:p" {
			if v, err := strconv.Atoi(attr(se, "val")); err == nil && v < 9 {
				d.paraOutline = true
			}
		}
	case "w:r":
		d.placeholder, d.runFont = false, ""
	case "w:rFonts":
		if d.parent(1) == "w:rPr" && d.parent(2) == "w:r" {
			for _, a := range []string{"ascii", "hAnsi", "cs", "eastAsia"} {
				if f := strings.ToLower(attr(se, a)); isSymbolFont(f) {
					d.runFont = f
					break
				}
			}
		}
	case "w:rStyle":
		if d.parent(1) == "w:rPr" && d.parent(2) == "w:r" && strings.EqualFold(attr(se, "val"), "PlaceholderText") {
			d.placeholder = true
		}
	case "w:t":
		if d.parent(1) == "w:r" {
			d.inText = true
		}
	case "w:tab", "w:ptab":
		if d.parent(1) == "w:r" {
			d.write(" ")
		}
	case "w:br", "w:cr":
		if d.parent(1) == "w:r" {
			d.write("\n")
		}
	case "w:noBreakHyphen":
		if d.parent(1) == "w:r" {
			d.write("-")
		}
	case "w:sym":
		if d.parent(1) == "w:r" {
			d.writeMark(symbolRune(attr(se, "font"), attr(se, "char")))
		}
	case "w:tbl":
		t := &docxTable{lastPair: -1}
		t.text.max = docxMaxSinkText
		d.tables = append(d.tables, t)
	case "w:tr":
		if t := d.table(); t != nil {
			t.row, t.inRow = t.row[:0], true
		}
	case "w:tc":
		if t := d.table(); t != nil && t.inRow {
			t.cell = &sink{max: docxMaxSinkText}
			t.cont = false
		}
	case "w:vMerge":
		if t := d.table(); t != nil && t.cell != nil && d.parent(1) == "w:tcPr" && attr(se, "val") != "restart" {
			t.cont = true
		}
	case "w:sdt":
		s := &docxSDT{}
		s.text.max = docxMaxSinkText
		d.sdts = append(d.sdts, s)
	case "w:tag", "w:alias", "w:showingPlcHdr":
		if s := d.sdt(); s != nil && d.parent(1) == "w:sdtPr" {
			switch name {
			case "w:tag":
				s.tag = attr(se, "val")
			case "w:alias":
				s.alias = attr(se, "val")
			default:
				s.placeholder = onOff(se)
			}
		}
	case "w14:checkbox":
		if s := d.sdt(); s != nil && d.parent(1) == "w:sdtPr" {
			s.checkbox = true
		}
	case "w14:checked":
		if s := d.sdt(); s != nil && d.parent(1) == "w14:checkbox" {
			s.checked = onOff(se)
		}
	case "w:sdtContent":
		if s := d.sdt(); s != nil && d.parent(1) == "w:sdt" {
			s.inContent = true
			if s.placeholder || s.checkbox {
				s.hides = true
				d.hidden++
			}
		}
	case "w:fldChar":
		d.fldChar(attr(se, "fldCharType"))
	default:
		d.ffData(name, se)
	}
}

// ffData reads a legacy form field's definition, inside its begin fldChar.
func (d *docxReader) ffData(name string, se xml.StartElement) {
	if len(d.fields) == 0 || d.parent(1) == "" {
		return
	}
	f := d.fields[len(d.fields)-1]
	if f.result {
		return
	}
	p1, p2 := d.parent(1), d.parent(2)
	switch {
	case name == "w:name" && p1 == "w:ffData":
		f.name = attr(se, "val")
	case name == "w:textInput" && p1 == "w:ffData":
		f.kind = "text"
	case name == "w:checkBox" && p1 == "w:ffData":
		f.kind = "checkbox"
	case name == "w:ddList" && p1 == "w:ffData":
		f.kind = "dropdown"
	case name == "w:default" && p1 == "w:checkBox" && p2 == "w:ffData":
		if onOff(se) {
			f.def = 1
		}
	case name == "w:checked" && p1 == "w:checkBox" && p2 == "w:ffData":
		f.checked = 0
		if onOff(se) {
			f.checked = 1
		}
	case name == "w:result" && p1 == "w:ddList":
		if v, err := strconv.Atoi(attr(se, "val")); err == nil {
			f.ddResult = v
		}
	case name == "w:default" && p1 == "w:ddList":
		if v, err := strconv.Atoi(attr(se, "val")); err == nil && f.ddResult == 0 {
			f.ddResult = v
		}
	case name == "w:listEntry" && p1 == "w:ddList":
		if len(f.entries) < docxMaxEntriesL {
			f.entries = append(f.entries, attr(se, "val"))
		}
	}
}

func (d *docxReader) fldChar(typ string) {
	switch typ {
	case "begin":
		if len(d.fields) >= docxMaxFields {
			return
		}
		f := &docxField{checked: -1}
		f.text.max = docxMaxSinkText
		d.fields = append(d.fields, f)
		d.instr++
	case "separate":
		if n := len(d.fields); n > 0 && !d.fields[n-1].result {
			d.fields[n-1].result = true
			d.instr--
		}
	case "end":
		n := len(d.fields)
		if n == 0 {
			return
		}
		f := d.fields[n-1]
		d.fields = d.fields[:n-1]
		if !f.result {
			d.instr--
		}
		d.endField(f)
	}
}

func (d *docxReader) endField(f *docxField) {
	kind := f.kind
	if kind == "" {
		switch strings.ToUpper(strings.TrimSpace(f.instr)) {
		case "FORMCHECKBOX":
			kind = "checkbox"
		case "FORMDROPDOWN":
			kind = "dropdown"
		}
	}
	var value string
	switch kind {
	case "checkbox":
		on := f.def == 1
		if f.checked >= 0 {
			on = f.checked == 1
		}
		value = "No"
		mark := docxEmptyMark
		if on {
			value, mark = "Yes", docxCheckedMark
		}
		d.writeMark(mark)
	case "dropdown":
		if f.ddResult >= 0 && f.ddResult < len(f.entries) {
			value = f.entries[f.ddResult]
		}
		d.write(value)
	default:
		value = finishValue(f.text.b.String())
	}
	d.setName(f.name, value)
}

func (d *docxReader) end(name string) {
	switch name {
	case "w:t", "w:instrText":
		d.inText = false
	case "w:p":
		d.endPara()
	case "w:tc":
		t := d.table()
		if t == nil || t.cell == nil {
			return
		}
		text := t.cell.b.String()
		if len(t.row) < docxMaxCells {
			t.row = append(t.row, docxCell{text: text, cont: t.cont})
		}
		t.text.write(strings.ReplaceAll(cleanText(text), "\n", " ") + " ")
		t.cell = nil
	case "w:tr":
		t := d.table()
		if t == nil || !t.inRow {
			return
		}
		t.text.para()
		t.inRow = false
		d.endRow(t)
	case "w:tbl":
		n := len(d.tables)
		if n == 0 {
			return
		}
		t := d.tables[n-1]
		d.tables = d.tables[:n-1]
		// A table inside a cell is part of that cell's value as well as a
		// source of label | value rows of its own.
		if outer := d.table(); outer != nil && outer.cell != nil {
			outer.cell.para()
			outer.cell.write(t.text.b.String())
			outer.cell.para()
		}
	case "w:sdtContent":
		if s := d.sdt(); s != nil && s.inContent && d.parent(1) == "w:sdt" {
			s.inContent = false
			if s.hides {
				s.hides = false
				d.hidden--
			}
		}
	case "w:sdt":
		n := len(d.sdts)
		if n == 0 {
			return
		}
		s := d.sdts[n-1]
		d.sdts = d.sdts[:n-1]
		if s.hides {
			d.hidden--
		}
		var value string
		switch {
		case s.checkbox:
			value = "No"
			mark := docxEmptyMark
			if s.checked {
				value, mark = "Yes", docxCheckedMark
			}
			d.writeMark(mark)
		case s.placeholder:
		default:
			value = finishValue(s.text.b.String())
		}
		d.setName(s.tag, value)
		if s.alias != s.tag {
			d.setName(s.alias, value)
		}
	}
}

func (d *docxReader) chars(c xml.CharData) {
	if !d.inText {
		return
	}
	if d.parent(0) == "w:instrText" {
		if len(d.fields) == 0 {
			return
		}
		if f := d.fields[len(d.fields)-1]; !f.result && len(f.instr) < 256 {
			f.instr += string(c)
		}
		return
	}
	if d.runFont != "" {
		// Text in a symbol font is glyphs: LibreOffice writes Word's
		// inserted symbols this way, as private-use characters.
		d.write(strings.Map(func(r rune) rune {
			if m := symbolRune(d.runFont, strconv.FormatInt(int64(r), 16)); m != 0 {
				return m
			}
			return -1
		}, string(c)))
		return
	}
	d.write(string(c))
}

func isSymbolFont(f string) bool {
	switch f {
	case "wingdings", "wingdings 2", "wingdings 3", "symbol", "webdings":
		return true
	}
	return false
}

func (d *docxReader) table() *docxTable {
	if n := len(d.tables); n > 0 {
		return d.tables[n-1]
	}
	return nil
}

func (d *docxReader) sdt() *docxSDT {
	if n := len(d.sdts); n > 0 {
		return d.sdts[n-1]
	}
	return nil
}

// write sends shown text to every open collector: the paragraph, the
// innermost cell, each open content control and each legacy text field.
func (d *docxReader) write(s string) {
	if s == "" || d.hidden > 0 || d.instr > 0 || d.placeholder {
		return
	}
	s = markCheckboxes(s)
	d.para.write(s)
	if t := d.table(); t != nil && t.cell != nil {
		t.cell.write(s)
	}
	for _, sd := range d.sdts {
		if sd.inContent {
			sd.text.write(s)
		}
	}
	for _, f := range d.fields {
		if f.result {
			f.text.write(s)
		}
	}
}

func (d *docxReader) writeMark(r rune) {
	if r != 0 {
		d.write(string(r))
	}
}

// endPara ends a paragraph in every collector and looks at it as a
// possible title: the first heading of a form is its title, and a heading
// or marker naming the other form after a form's fields starts a new form.
func (d *docxReader) endPara() {
	if t := d.table(); t != nil && t.cell != nil {
		t.cell.para()
	}
	for _, sd := range d.sdts {
		if sd.inContent {
			sd.text.para()
		}
	}
	for _, f := range d.fields {
		if f.result {
			f.text.para()
		}
	}
	text := strings.ReplaceAll(cleanText(stripMarks(d.para.b.String())), "\n", " ")
	d.para.b.Reset()
	if text == "" {
		return
	}
	heading := d.paraOutline || d.isHeadingStyle(d.paraStyle)
	body := len(d.tables) == 0
	if !heading && !body {
		return
	}
	f := d.cur()
	// A short first paragraph is read as a title even without a heading
	// style: typed forms often make the title bold rather than a heading.
	titleLike := heading || (f.rf.Title == "" && !f.content && len([]rune(text)) <= docxTitleShort)
	if kind := markerKind(text, titleLike); kind != "" {
		if f.content {
			f = d.newForm()
		} else if f.rf.Kind != "" && f.rf.Kind != kind {
			f.rf.Title, f.titleHeading = "", false
		}
		if f.rf.Kind != kind {
			f.rf.Marked = false
		}
		f.rf.Kind = kind
		if dsrCode(text) == kind {
			f.rf.Marked = true
		}
	}
	switch {
	case heading && !f.titleHeading:
		f.rf.Title, f.titleHeading = truncRunes(text, docxMaxTitle), true
	case f.rf.Title == "" && body && !f.content:
		f.rf.Title = truncRunes(text, docxMaxTitle)
	}
}

func (d *docxReader) isHeadingStyle(id string) bool {
	if id == "" {
		return false
	}
	if d.headings[id] {
		return true
	}
	l := strings.ToLower(id)
	return strings.HasPrefix(l, "heading") || l == "title"
}

// markerKind tells which form a paragraph names: the forms print their
// code (DSR-REFERRAL, DSR-CONSENT); a heading may name the form in words.
// Body text is not read for words, because each form's instructions name
// the other ("send with the signed DSR consent form").
func markerKind(text string, heading bool) FormKind {
	if k := dsrCode(text); k != "" {
		return k
	}
	u := strings.ToUpper(text)
	if strings.Contains(u, "DSR-REFERRAL") || strings.Contains(u, "DSR-CONSENT") || !heading {
		return ""
	}
	k := labelKey(text)
	switch {
	case strings.Contains(k, "referral form") || strings.Contains(k, "dsr referral"):
		return Referral
	case strings.Contains(k, "consent form") || strings.Contains(k, "dsr consent"):
		return Consent
	}
	return ""
}

// endRow turns a table row into label | value pairs: the first non-empty
// cell is the label and the next cell its value; rows of four or more
// cells may carry further pairs. A one-cell row is a heading.
func (d *docxReader) endRow(t *docxTable) {
	cells := t.row
	if len(cells) < 2 {
		return
	}
	i := 0
	for i < len(cells) && (cells[i].cont || strings.TrimSpace(stripMarks(cells[i].text)) == "") {
		i++
	}
	// A label merged down over several rows: this row's value continues
	// the value of the row above.
	if i == 1 && cells[0].cont && t.lastForm == d.cur() && t.lastPair >= 0 {
		lv := &t.lastForm.rf.ByLabel[t.lastPair]
		v := finishValue(cells[1].text)
		if v != "" && len(lv.Value)+len(v) < docxMaxSinkText && d.text+len(v) <= docxMaxText {
			d.text += len(v)
			lv.Value = strings.TrimLeft(lv.Value+"\n"+v, "\n")
		}
		return
	}
	first := true
	for i < len(cells)-1 {
		value := ""
		if !cells[i+1].cont {
			value = finishValue(cells[i+1].text)
		}
		// A label cell's lines are one label, its boxes no part of it;
		// but when the value cell is empty, the label cell is kept as it
		// is, for an answer typed after the label (see Mapping.label)
		// keeps its lines (an address) and its ticks.
		label := cleanText(cells[i].text)
		if value != "" {
			label = strings.ReplaceAll(cleanText(stripMarks(label)), "\n", " ")
		}
		if !d.addPair(label, value) {
			return
		}
		if first && i == 0 {
			t.lastForm, t.lastPair = d.cur(), len(d.cur().rf.ByLabel)-1
		} else if first {
			t.lastForm, t.lastPair = nil, -1
		}
		first = false
		if len(cells) < 4 {
			return
		}
		i += 2
		for i < len(cells) && strings.TrimSpace(stripMarks(cells[i].text)) == "" {
			i++
		}
	}
}

func (d *docxReader) addPair(label, value string) bool {
	if d.pairs >= docxMaxPairs || d.text+len(label)+len(value) > docxMaxText {
		return false
	}
	d.pairs++
	d.text += len(label) + len(value)
	f := d.cur()
	f.rf.ByLabel = append(f.rf.ByLabel, LabelValue{Label: label, Value: value})
	f.content = true
	return true
}

// setName records a content control's or form field's value; a name seen
// twice keeps its first filled-in value.
func (d *docxReader) setName(name, value string) {
	name = strings.TrimSpace(name)
	if name == "" || d.pairs >= docxMaxPairs || d.text+len(value) > docxMaxText {
		return
	}
	f := d.cur()
	if old, ok := f.rf.ByName[name]; ok && (old != "" || value == "") {
		return
	}
	d.pairs++
	d.text += len(name) + len(value)
	f.rf.ByName[name] = value
	f.content = true
}

// markCheckboxes turns the box glyphs people type or Word inserts into a
// tick or an unticked box (dropped when the value is finished).
func markCheckboxes(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return checkboxRune(r) != 0 }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if m := checkboxRune(r); m != 0 {
			return m
		}
		return r
	}, s)
}

func checkboxRune(r rune) rune {
	switch r {
	case '☒', '☑', '✓', '✔', '✗', '✘', '⊠', '■', '⌧', '🗹', '🗷':
		return docxCheckedMark
	case '☐', '□', '❑', '❒', '⬜', '▢', '🗆':
		return docxEmptyMark
	}
	return 0
}

// symbolRune maps a w:sym (a character of a symbol font) to a tick, an
// unticked box, or the character itself when it is plain Unicode.
func symbolRune(font, char string) rune {
	v, err := strconv.ParseUint(char, 16, 32)
	if err != nil {
		return 0
	}
	code := rune(v)
	if code >= 0xF000 && code <= 0xF0FF {
		code -= 0xF000 // symbol fonts map their glyphs into the private use area
	}
	switch strings.ToLower(strings.TrimSpace(font)) {
	case "wingdings":
		switch code {
		case 0xFE, 0xFD, 0xFC, 0xFB, 0x78:
			return docxCheckedMark
		case 0xA8, 0x6F, 0x71, 0x72:
			return docxEmptyMark
		}
		return 0
	case "wingdings 2":
		switch code {
		case 0x50, 0x4F, 0x51, 0x52, 0x53, 0x54:
			return docxCheckedMark
		case 0xA3, 0x2A:
			return docxEmptyMark
		}
		return 0
	case "symbol", "webdings", "wingdings 3":
		return 0
	}
	if m := checkboxRune(code); m != 0 {
		return m
	}
	if code < 0x20 || (code >= 0xE000 && code <= 0xF8FF) || code > 0x10FFFF {
		return 0
	}
	return code
}

func stripMarks(s string) string {
	if !strings.ContainsRune(s, docxEmptyMark) && !strings.ContainsRune(s, docxCheckedMark) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == docxEmptyMark || r == docxCheckedMark {
			return -1
		}
		return r
	}, s)
}

// finishValue turns collected text into a field value. Boxes printed
// before their options ("☒ Person with parental responsibility ☐ Best
// interest decision") give the one ticked option; a Yes/No pair keeps its
// tick ("✓ Yes No"), which ParseYesNo reads; a lone unticked box is No,
// as FORMS.md reads a single checkbox; other unticked boxes are dropped.
func finishValue(s string) string {
	s = cleanText(s)
	if isPrompt(s) {
		return ""
	}
	ticks := strings.Count(s, string(docxCheckedMark))
	empties := strings.Count(s, string(docxEmptyMark))
	if ticks+empties == 0 {
		return s
	}
	if ticks == 0 && empties == 1 && s == string(docxEmptyMark) {
		// A lone unticked box: No for a Yes/No field, blank for any
		// other, as Normalise reads it from a printed form too.
		return s
	}
	if ticks == 1 && empties >= 1 {
		if opt, ok := tickedOption(s); ok {
			return opt
		}
	}
	if empties == 0 {
		return s
	}
	return cleanText(strings.Map(func(r rune) rune {
		if r == docxEmptyMark {
			return ' '
		}
		return r
	}, s))
}

// wordPrompts are the placeholder texts Word puts in empty content
// controls. Word marks them (showingPlcHdr), but LibreOffice and other
// producers drop the mark and keep the text.
var wordPrompts = []string{
	"Click or tap here to enter text.",
	"Click here to enter text.",
	"Click or tap to enter a date.",
	"Click here to enter a date.",
	"Choose an item.",
}

func isPrompt(s string) bool {
	for _, p := range wordPrompts {
		if strings.EqualFold(s, p) {
			return true
		}
	}
	return false
}

// tickedOption returns the text after the one tick of a box-before-option
// list, unless the options are a Yes/No pair or some box has no option.
func tickedOption(s string) (string, bool) {
	type option struct {
		ticked bool
		text   strings.Builder
	}
	var opts []*option
	for _, r := range s {
		switch {
		case r == docxCheckedMark || r == docxEmptyMark:
			opts = append(opts, &option{ticked: r == docxCheckedMark})
		case len(opts) > 0:
			opts[len(opts)-1].text.WriteRune(r)
		}
	}
	yesNo := true
	var ticked string
	for _, o := range opts {
		text := cleanText(o.text.String())
		if text == "" {
			return "", false
		}
		w := strings.ToLower(strings.Trim(strings.Fields(text)[0], ".:,;"))
		if w != "yes" && w != "no" && w != "y" && w != "n" {
			yesNo = false
		}
		if o.ticked {
			ticked = text
		}
	}
	if yesNo || ticked == "" {
		return "", false
	}
	return ticked, true
}

func truncRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
