package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"
	"golang.org/x/text/encoding/charmap"
)

// Word 97-2003's own format (.doc), as a referrer sends the Word form
// after "Save As, Word 97-2003" for an older colleague, or as a case
// system exports it. Its text is a list of pieces in the WordDocument
// stream (MS-DOC 2.4.1: the FIB names the piece table in the table
// stream), tables are paragraphs marked as in a table, each cell ending
// in a cell mark (0x07) and each row in a paragraph marked as its end
// (sprmPFTtp, MS-DOC 2.4.3). readDOC takes that text and table structure
// and writes it as the WordprocessingML the DOCX reader reads (a body of
// paragraphs and tables, no styles), so a form reads by the same rules
// whichever format it came in. A legacy form field (a check box, a
// drop-down, a text field) is written with its definition and state from
// the Data stream (FFData, found through its character's
// sprmCPicLocation) and its name from there or from its bookmark.
// Formatting and pictures are not read.

// docFIBMin is the FIB's size up to and including the fields read here.
const docFIBMin = 0x1AA

// docMaxChars bounds the text read from a .doc or an .rtf: a form is a
// few thousand characters, and each costs a dozen bytes here.
const docMaxChars = 4 << 20

// docMaxPieces bounds the piece table: a Word document made by editing
// has a few hundred pieces; each costs a little here.
const docMaxPieces = 1 << 16

// readDOC reads a Word 97-2003 document's forms, or says why it cannot.
func readDOC(ctx context.Context, data []byte, l Limits) ([]*RawForm, error) {
	xmlDoc, err := docAsWordML(ctx, data, l)
	if err != nil {
		return nil, err
	}
	return readWordML(ctx, xmlDoc, "doc")
}

// docAsWordML reads a .doc and writes what it shows as WordprocessingML.
func docAsWordML(ctx context.Context, data []byte, l Limits) ([]byte, error) {
	l = l.withDefaults()
	streams, err := docStreams(data, l.MaxDOCXUncompressed)
	if err != nil {
		return nil, err
	}
	word := streams["WordDocument"]
	if len(word) < docFIBMin || binary.LittleEndian.Uint16(word) != 0xA5EC {
		return nil, unreadable(reasonDOCXDamaged, errors.New("doc: no Word FIB"))
	}
	flags := binary.LittleEndian.Uint16(word[0x0A:])
	if flags&0x0100 != 0 {
		return nil, unreadable(reasonDOCXEncrypted, errors.New("doc: encrypted"))
	}
	tbl := streams["0Table"]
	if flags&0x0200 != 0 {
		tbl = streams["1Table"]
	}
	if tbl == nil {
		return nil, unreadable(reasonDOCXDamaged, errors.New("doc: no table stream"))
	}
	ccpText := int(binary.LittleEndian.Uint32(word[0x4C:]))
	if ccpText > docMaxChars {
		return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("doc: %d characters", ccpText))
	}
	dt, err := wordText(word, tbl, ccpText)
	text, fcs := dt.text, dt.fcs
	if err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	paps, err := docParagraphs(word, tbl)
	if err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read doc: %w", err)
	}
	chps, err := docCharRuns(word, tbl)
	if err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	names := docBookmarks(word, tbl)
	charAt := func(fc uint32) (docCharRun, bool) {
		i := sort.Search(len(chps), func(i int) bool { return chps[i].end > fc })
		if i < len(chps) && chps[i].start <= fc {
			return chps[i], true
		}
		return docCharRun{}, false
	}
	deleted := func(i int) bool {
		c, ok := charAt(fcs[i])
		return ok && c.deleted
	}
	formField := func(begin, pic int) *docFormField {
		if pic < 0 {
			return nil
		}
		c, ok := charAt(fcs[pic])
		if !ok || c.pic < 0 {
			return nil
		}
		ff := docFFData(streams["Data"], c.pic)
		if ff != nil && ff.name == "" {
			// LibreOffice names the field by a bookmark over it only;
			// Word writes both.
			ff.name = names[dt.cps[begin]]
		}
		return ff
	}
	xmlDoc, formFields, err := docWordML(text, fcs, paps, docHeadingStyles(word, tbl), formField, deleted)
	if err != nil {
		return nil, err
	}
	if formFields {
		return nil, unreadable(reasonDOCXOldDoc, errors.New("doc: legacy check boxes or drop-downs whose state could not be read"))
	}
	return xmlDoc, nil
}

// docStreams takes the WordDocument stream, the two table streams and
// the Data stream out of the compound file, by name, within a budget of
// what they may hold together.
func docStreams(data []byte, budget int64) (streams map[string][]byte, err error) {
	defer func() {
		// mscfb is a third party's parser of hostile input: a panic in it
		// is this attachment's error, not the intake's.
		if r := recover(); r != nil {
			streams, err = nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: the compound file reader failed: %v", r))
		}
	}()
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	budget = min(budget, int64(len(data)))
	streams = map[string][]byte{}
	entries := 0
	for f, nerr := doc.Next(); nerr == nil; f, nerr = doc.Next() {
		if entries++; entries > maxMsgEntries {
			return nil, unreadable(reasonDOCXTooComplex, errors.New("doc: too many entries"))
		}
		if len(f.Path) != 0 || f.FileInfo().IsDir() {
			continue
		}
		// Names are compared whatever their case, as a compound file's
		// are ([MS-CFB] 2.6.4): some writers store "worddocument".
		name := ""
		for _, s := range []string{"WordDocument", "0Table", "1Table", "Data"} {
			if strings.EqualFold(f.Name, s) {
				name = s
			}
		}
		if name == "" {
			continue
		}
		if f.Size < 0 || f.Size > budget {
			return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("doc: a stream of %d bytes", f.Size))
		}
		budget -= f.Size
		b := make([]byte, f.Size)
		if _, err := io.ReadFull(f, b); err != nil {
			return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: read %s: %w", f.Name, err))
		}
		streams[name] = b
	}
	if streams["WordDocument"] == nil {
		return nil, unreadable(reasonDOCXNotDOCX, errors.New("doc: no WordDocument stream"))
	}
	return streams, nil
}

// wordText is the main document's text (its first ccpText characters)
// from the piece table, with the file offset each character is at, by
// which its paragraph's properties are found.
func wordText(word, tbl []byte, ccpText int) (wordChars, error) {
	fcClx := int64(binary.LittleEndian.Uint32(word[0x1A2:]))
	lcbClx := int64(binary.LittleEndian.Uint32(word[0x1A6:]))
	if fcClx < 0 || lcbClx <= 0 || fcClx+lcbClx > int64(len(tbl)) {
		return wordChars{}, errors.New("piece table outside the table stream")
	}
	clx := tbl[fcClx : fcClx+lcbClx]
	// Skip the Prc entries (property modifiers) to the piece table.
	for len(clx) > 0 && clx[0] == 0x01 {
		if len(clx) < 3 {
			return wordChars{}, errors.New("short Prc")
		}
		n := 3 + int(binary.LittleEndian.Uint16(clx[1:]))
		if n > len(clx) {
			return wordChars{}, errors.New("short Prc")
		}
		clx = clx[n:]
	}
	if len(clx) < 5 || clx[0] != 0x02 {
		return wordChars{}, errors.New("no piece table")
	}
	lcb := int(binary.LittleEndian.Uint32(clx[1:]))
	plc := clx[5:]
	if lcb < 4 || lcb > len(plc) || (lcb-4)%12 != 0 {
		return wordChars{}, errors.New("piece table of a wrong size")
	}
	n := (lcb - 4) / 12
	if n > docMaxPieces {
		return wordChars{}, fmt.Errorf("%d pieces", n)
	}
	if ccpText < 0 || ccpText > len(word) {
		return wordChars{}, fmt.Errorf("%d characters in a stream of %d bytes", ccpText, len(word))
	}
	var t wordChars
	t.text = make([]rune, 0, ccpText)
	t.fcs = make([]uint32, 0, ccpText)
	t.cps = make([]int32, 0, ccpText)
	add := func(r rune, fc uint32, cp int) {
		t.text = append(t.text, r)
		t.fcs = append(t.fcs, fc)
		t.cps = append(t.cps, int32(cp))
	}
	for i := 0; i < n; i++ {
		cpStart := int(binary.LittleEndian.Uint32(plc[4*i:]))
		cpEnd := int(binary.LittleEndian.Uint32(plc[4*(i+1):]))
		if cpStart >= ccpText {
			break
		}
		pcd := plc[4*(n+1)+8*i:]
		fc := binary.LittleEndian.Uint32(pcd[2:])
		if cpEnd < cpStart || cpEnd-cpStart > len(word) {
			return wordChars{}, errors.New("a piece of a wrong length")
		}
		count := min(cpEnd, ccpText) - cpStart
		if fc&0x40000000 != 0 {
			// Compressed: one byte a character, Windows-1252, at fc/2.
			off := int64(fc&^0x40000000) / 2
			if off+int64(count) > int64(len(word)) {
				return wordChars{}, errors.New("a piece past the stream's end")
			}
			for j := range count {
				add(docCompressedRune(word[off+int64(j)]), uint32(off)+uint32(j), cpStart+j)
			}
			continue
		}
		off := int64(fc)
		if off+2*int64(count) > int64(len(word)) {
			return wordChars{}, errors.New("a piece past the stream's end")
		}
		units := make([]uint16, count)
		for j := range count {
			units[j] = binary.LittleEndian.Uint16(word[off+2*int64(j):])
		}
		// A surrogate pair is two characters (two CPs) in the piece
		// table, one rune here, at the first's offset and CP.
		for j := 0; j < count; j++ {
			r := rune(units[j])
			if utf16.IsSurrogate(r) && j+1 < count {
				if p := utf16.DecodeRune(r, rune(units[j+1])); p != '\uFFFD' {
					add(p, uint32(off)+uint32(2*j), cpStart+j)
					j++
					continue
				}
			}
			add(r, uint32(off)+uint32(2*j), cpStart+j)
		}
	}
	return t, nil
}

// wordChars is the main document's text, a rune each, with the file
// offset (by which its properties are found) and the character position
// (by which bookmarks name it) of each.
type wordChars struct {
	text []rune
	fcs  []uint32
	cps  []int32
}

// docCompressedRune is a compressed piece's byte as a character: Windows
// 1252, as MS-DOC 2.4.1 gives it.
func docCompressedRune(b byte) rune {
	if b < 0x80 {
		return rune(b)
	}
	return charmap.Windows1252.DecodeByte(b)
}

// docPara is what a paragraph's properties say of tables.
type docPara struct {
	istd    uint16 // its style
	inTable bool   // in a table cell
	ttp     bool   // the end of a table row
	depth   int    // table nesting (sprmPItap), 1 for a table in the body
	// In a nested table (depth over 1): the end of a cell, of a row.
	innerCell, innerTtp bool
	// vmerge, on a row's end, marks each cell that continues the one
	// above it (a vertical merge: a label over several rows).
	vmerge []bool
}

// docParaRun is the properties of the paragraphs that end in the file
// offsets [start, end).
type docParaRun struct {
	start, end uint32
	p          docPara
}

// docParagraphs reads the paragraph properties the text's table
// structure is in: the PlcBtePapx (in the table stream) names the 512-byte
// pages (FKPs, in the WordDocument stream) that hold each run's grpprl.
func docParagraphs(word, tbl []byte) ([]docParaRun, error) {
	pages, err := docFKPs(word, tbl, 0x102, "paragraph")
	if err != nil {
		return nil, err
	}
	var runs []docParaRun
	for _, fkp := range pages {
		crun := int(fkp[511])
		if (crun+1)*4+crun*13 > 511 {
			continue // a page that cannot be read: its paragraphs are plain
		}
		for j := range crun {
			start := binary.LittleEndian.Uint32(fkp[4*j:])
			end := binary.LittleEndian.Uint32(fkp[4*(j+1):])
			bx := int(fkp[(crun+1)*4+13*j]) * 2
			var p docPara
			if bx != 0 {
				p = docPapx(fkp, bx)
			}
			if len(runs) >= docMaxPieces {
				return nil, errors.New("too many paragraph runs")
			}
			runs = append(runs, docParaRun{start: start, end: end, p: p})
		}
	}
	return runs, nil
}

// docPapx reads the table sprms of the PapxInFkp at offset bx of an FKP.
func docPapx(fkp []byte, bx int) docPara {
	if bx >= 511 {
		return docPara{}
	}
	cb := int(fkp[bx])
	start := bx + 1
	size := 2*cb - 1
	if cb == 0 {
		if bx+1 >= 511 {
			return docPara{}
		}
		size = 2 * int(fkp[bx+1])
		start = bx + 2
	}
	if size < 2 || start+size > 511 {
		return docPara{}
	}
	p := docPara{istd: binary.LittleEndian.Uint16(fkp[start:])}
	grpprl := fkp[start+2 : start+size] // after the style index
	for len(grpprl) >= 2 {
		sprm := binary.LittleEndian.Uint16(grpprl)
		grpprl = grpprl[2:]
		op := docSprmSize(sprm, grpprl)
		if op < 0 {
			return p
		}
		if op > len(grpprl) {
			return p
		}
		arg := grpprl[:op]
		switch sprm {
		case 0x2416: // sprmPFInTable
			p.inTable = arg[0] != 0
		case 0x2417: // sprmPFTtp
			p.ttp = arg[0] != 0
		case 0x6649: // sprmPItap
			p.depth = int(min(binary.LittleEndian.Uint32(arg), docMaxDepth))
		case 0x244B: // sprmPFInnerTableCell
			p.innerCell = arg[0] != 0
		case 0x244C: // sprmPFInnerTtp
			p.innerTtp = arg[0] != 0
		case 0xD608: // sprmTDefTable: each cell's TC80, its tcgrf's vertMerge
			if len(arg) >= 3 {
				cells := int(arg[2])
				tcs := arg[min(len(arg), 3+2*(cells+1)):]
				p.vmerge = make([]bool, cells)
				for c := 0; c < cells && 20*c+2 <= len(tcs); c++ {
					p.vmerge[c] = (binary.LittleEndian.Uint16(tcs[20*c:])>>5)&3 == 1
				}
			}
		case 0xD62B: // sprmTVertMerge: one cell's
			if len(arg) >= 3 && int(arg[1]) < len(p.vmerge) {
				p.vmerge[arg[1]] = arg[2] == 1
			}
		}
		grpprl = grpprl[op:]
	}
	if p.inTable && p.depth == 0 {
		p.depth = 1
	}
	return p
}

// docHeadingStyles is the styles (by istd) that are headings: the
// built-in "heading 1" to "heading 9" (sti 1-9) and "Title" (sti 62),
// from the stylesheet (STSH) in the table stream. A stylesheet that
// cannot be read gives none: titles are then found as in a document
// without heading styles.
func docHeadingStyles(word, tbl []byte) map[uint16]bool {
	fc := int64(binary.LittleEndian.Uint32(word[0xA2:]))
	lcb := int64(binary.LittleEndian.Uint32(word[0xA6:]))
	if fc < 0 || lcb < 6 || fc+lcb > int64(len(tbl)) {
		return nil
	}
	stsh := tbl[fc : fc+lcb]
	cbStshi := int(binary.LittleEndian.Uint16(stsh))
	if 2+cbStshi > len(stsh) || cbStshi < 2 {
		return nil
	}
	cstd := int(binary.LittleEndian.Uint16(stsh[2:]))
	rest := stsh[2+cbStshi:]
	headings := map[uint16]bool{}
	for istd := 0; istd < cstd && len(rest) >= 2; istd++ {
		cb := int(binary.LittleEndian.Uint16(rest))
		rest = rest[2:]
		if cb > len(rest) {
			break
		}
		if cb >= 2 {
			sti := binary.LittleEndian.Uint16(rest) & 0x0FFF
			if (sti >= 1 && sti <= 9) || sti == 62 {
				headings[uint16(istd)] = true
			}
		}
		rest = rest[cb:]
	}
	return headings
}

// docFKPs is the 512-byte property pages (FKPs, in the WordDocument
// stream) that the PlcBte whose FIB entry is at fibOff (in the table
// stream) names, in file order.
func docFKPs(word, tbl []byte, fibOff int, what string) ([][]byte, error) {
	fc := int64(binary.LittleEndian.Uint32(word[fibOff:]))
	lcb := int64(binary.LittleEndian.Uint32(word[fibOff+4:]))
	if lcb == 0 {
		return nil, nil
	}
	if fc < 0 || lcb < 4 || fc+lcb > int64(len(tbl)) || (lcb-4)%8 != 0 {
		return nil, fmt.Errorf("%s table outside the table stream", what)
	}
	plc := tbl[fc : fc+lcb]
	n := int((lcb - 4) / 8)
	if n > docMaxPieces {
		return nil, fmt.Errorf("%d %s pages", n, what)
	}
	pages := make([][]byte, 0, n)
	for i := range n {
		page := int64(binary.LittleEndian.Uint32(plc[4*(n+1)+4*i:])&0x3FFFFF) * 512
		if page+512 > int64(len(word)) {
			return nil, fmt.Errorf("a %s page past the stream's end", what)
		}
		pages = append(pages, word[page:page+512])
	}
	return pages, nil
}

// docParaAt is the properties of the paragraph whose mark is at file
// offset fc.
func docParaAt(runs []docParaRun, fc uint32) docPara {
	lo, hi := 0, len(runs)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case fc < runs[m].start:
			hi = m
		case fc >= runs[m].end:
			lo = m + 1
		default:
			return runs[m].p
		}
	}
	return docPara{}
}

// docWordML writes the text as a WordprocessingML body: paragraphs, and
// tables as tables of rows of cells, a nested table inside its outer
// cell as Word writes one. Field codes are dropped and their results
// kept, as Word shows them.
func docWordML(text []rune, fcs []uint32, runs []docParaRun, headings map[uint16]bool, formField func(begin, pic int) *docFormField, deleted func(i int) bool) (doc []byte, formFields bool, err error) {
	var out bytes.Buffer
	out.WriteString(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	// levels[i] is the open table at depth i+1: its row's cells so far
	// (written when the row ends, whose paragraph says which cells
	// continue the ones above) and the open cell's content.
	type level struct {
		row, cell bool
		cells     []string
		cur       bytes.Buffer
	}
	var levels []*level
	// holder is where the table at depth d+1 is written: the body, or
	// the cell it is nested in.
	holder := func(d int) *bytes.Buffer {
		if d == 0 {
			return &out
		}
		return &levels[d-1].cur
	}
	dst := func() *bytes.Buffer { return holder(len(levels)) }
	closeCell := func() {
		if l := levels[len(levels)-1]; l.cell {
			l.cells = append(l.cells, l.cur.String())
			l.cur.Reset()
			l.cell = false
		}
	}
	closeRow := func(vmerge []bool) {
		closeCell()
		l := levels[len(levels)-1]
		if !l.row {
			return
		}
		w := holder(len(levels) - 1)
		w.WriteString(`<w:tr>`)
		for i, c := range l.cells {
			w.WriteString(`<w:tc>`)
			if i < len(vmerge) && vmerge[i] {
				w.WriteString(`<w:tcPr><w:vMerge/></w:tcPr>`)
			}
			w.WriteString(c)
			w.WriteString(`</w:tc>`)
		}
		w.WriteString(`</w:tr>`)
		l.cells, l.row = l.cells[:0], false
	}
	openCell := func() {
		l := levels[len(levels)-1]
		l.row, l.cell = true, true
	}
	// toDepth closes tables deeper than depth and opens those missing, a
	// new one inside its outer table's current cell.
	toDepth := func(depth int) {
		for len(levels) > depth {
			closeRow(nil)
			holder(len(levels) - 1).WriteString(`</w:tbl>`)
			levels = levels[:len(levels)-1]
		}
		for len(levels) < depth {
			if len(levels) > 0 {
				openCell()
			}
			dst().WriteString(`<w:tbl>`)
			levels = append(levels, &level{})
		}
	}
	// The paragraph's runs so far, and its text not yet written as one.
	var px bytes.Buffer
	var run strings.Builder
	// elems counts what is written: the DOCX reader stops at
	// docxMaxTokens, and a file of nothing but field marks or paragraph
	// marks must not grow a document many times its size first.
	elems := 0
	flush := func() {
		if run.Len() > 0 {
			elems++
			px.WriteString(`<w:r><w:t xml:space="preserve">`)
			_ = xml.EscapeText(&px, []byte(run.String()))
			px.WriteString(`</w:t></w:r>`)
			run.Reset()
		}
	}
	elem := func(s string) {
		elems++
		flush()
		px.WriteString(`<w:r>` + s + `</w:r>`)
	}
	writePara := func(p docPara) {
		// A heading's style is "Title", which the DOCX reader takes for
		// a heading.
		flush()
		elems++
		w := dst()
		w.WriteString(`<w:p>`)
		if headings[p.istd] {
			w.WriteString(`<w:pPr><w:pStyle w:val="Title"/></w:pPr>`)
		}
		w.Write(px.Bytes())
		w.WriteString(`</w:p>`)
		px.Reset()
	}
	// fields is the open fields: whether each is past its separator. A
	// field is written as Word writes one in WordprocessingML (begin,
	// instructions, separate, result, end), a legacy form field's begin
	// with its stored definition and state.
	var fields []bool
	for i := 0; i < len(text); i++ {
		if elems > docMaxElems {
			return nil, false, unreadable(reasonDOCXTooComplex, fmt.Errorf("doc: more than %d paragraphs, runs and fields", docMaxElems))
		}
		r := text[i]
		switch r {
		case 0x13:
			instr, pic, end := docFieldInstr(text, i)
			begin := `<w:fldChar w:fldCharType="begin">`
			switch kind := firstWord(instr); kind {
			case "FORMCHECKBOX", "FORMDROPDOWN", "FORMTEXT":
				ff := formField(i, pic)
				if ff == nil && kind != "FORMTEXT" {
					// Its state is in the Data stream and could not be
					// read there: such a form is not read at all.
					formFields = true
				}
				begin += ff.xml()
			}
			elem(begin + `</w:fldChar>`)
			if instr != "" {
				var b bytes.Buffer
				_ = xml.EscapeText(&b, []byte(instr))
				elem(`<w:instrText xml:space="preserve">` + b.String() + `</w:instrText>`)
			}
			fields = append(fields, false)
			// The instructions are written; their paragraph marks, if
			// any, still end paragraphs.
			for j := i + 1; j < end; j++ {
				if text[j] == '\r' || text[j] == 0x07 {
					end = j
				}
			}
			i = end - 1
			continue
		case 0x14:
			if n := len(fields); n > 0 && !fields[n-1] {
				fields[n-1] = true
				elem(`<w:fldChar w:fldCharType="separate"/>`)
			}
			continue
		case 0x15:
			if n := len(fields); n > 0 {
				fields = fields[:n-1]
				elem(`<w:fldChar w:fldCharType="end"/>`)
			}
			continue
		}
		if n := len(fields); n > 0 && !fields[n-1] && r != '\r' && r != 0x07 {
			continue // the rest of an instruction cut by a paragraph mark
		}
		if r != '\r' && r != 0x07 && r != 0x0C {
			switch {
			case deleted != nil && deleted(i):
				// Deleted text kept as a tracked change: not shown.
			case r == 0x0B || r == 0x0E: // line and column breaks
				elem(`<w:br/>`)
			case r == '\t':
				elem(`<w:tab/>`)
			case r == 0x1E: // non-breaking hyphen
				run.WriteByte('-')
			case r == 0xA0:
				run.WriteByte(' ')
			case r == 0xAD: // a soft hyphen, shown only where a line breaks
			case r >= 0xF000 && r <= 0xF0FF:
				// A symbol font's glyph, as LibreOffice writes Wingdings'
				// boxes: the font is in the character properties, which
				// are not read, so only a glyph that is a box or a tick
				// in Wingdings is kept.
				if m := symbolRune("wingdings", strconv.FormatInt(int64(r), 16)); m != 0 && checkboxRune(m) != 0 {
					run.WriteRune(m)
				}
			case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
				// Objects, pictures, footnote marks: nothing shown as text.
			default:
				run.WriteRune(r)
			}
			continue
		}
		p := docParaAt(runs, fcs[i])
		depth := 0
		if p.inTable {
			depth = max(1, min(p.depth, docMaxDepth))
		}
		toDepth(depth)
		if depth == 0 {
			writePara(p)
			continue
		}
		// A row's end is a paragraph of its own, with no text; a cell's
		// end is its last paragraph's mark: 0x07 in the body's tables,
		// a paragraph mark flagged so in a nested one.
		rowEnd, cellEnd := p.ttp, r == 0x07
		if depth > 1 {
			rowEnd, cellEnd = p.innerTtp, p.innerCell
		}
		if rowEnd {
			flush()
			px.Reset()
			closeRow(p.vmerge)
			continue
		}
		openCell()
		writePara(p)
		if cellEnd {
			closeCell()
		}
	}
	toDepth(0)
	flush()
	if px.Len() > 0 {
		writePara(docPara{})
	}
	out.WriteString(`</w:body></w:document>`)
	return out.Bytes(), formFields, nil
}

// docMaxElems bounds the elements written for a .doc, as docxMaxTokens
// bounds the tokens the DOCX reader reads (an element is a few tokens).
const docMaxElems = docxMaxTokens / 4

// docMaxDepth bounds table nesting, as the DOCX reader's element depth
// bounds it there.
const docMaxDepth = 16

// docFieldInstr reads the instructions of the field that begins at
// text[begin] (0x13): their text at the field's own level (a nested
// field's is left out), the index of their picture character (0x01,
// which carries a legacy form field's place in the Data stream; -1 if
// none), and the index of the separator or end that closes them.
func docFieldInstr(text []rune, begin int) (instr string, pic, end int) {
	var b strings.Builder
	pic, depth := -1, 0
	// Instructions are short; looking further for their end would make
	// a run of field begins cost the square of its length. Past the
	// bound, the rest is skipped as instructions character by character.
	for j := begin + 1; j < min(len(text), begin+docMaxInstr); j++ {
		switch r := text[j]; {
		case r == 0x13:
			depth++
		case r == 0x15 && depth > 0:
			depth--
		case (r == 0x14 || r == 0x15) && depth == 0:
			return strings.TrimSpace(b.String()), pic, j
		case depth > 0:
		case r == 0x01 && pic < 0:
			pic = j
		case r >= 0x20 && b.Len() < 256:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String()), pic, begin + 1
}

// docMaxInstr bounds how far a field's instructions are looked through.
const docMaxInstr = 1024

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// docFormField is a legacy form field's definition and state (FFData,
// MS-DOC 2.9.78), as its WordprocessingML ffData carries them.
type docFormField struct {
	kind    int // 0 text, 1 check box, 2 drop-down
	name    string
	res     int // a box's state (0, 1) or a list's choice; 25: its default
	def     int // a box's or a list's default
	entries []string
}

// xml is the field's ffData element, or "" for none.
func (f *docFormField) xml() string {
	if f == nil {
		return ""
	}
	var b bytes.Buffer
	attr := func(s string) string {
		var a bytes.Buffer
		_ = xml.EscapeText(&a, []byte(s))
		return a.String()
	}
	b.WriteString(`<w:ffData><w:name w:val="` + attr(f.name) + `"/>`)
	switch f.kind {
	case 1:
		fmt.Fprintf(&b, `<w:checkBox><w:default w:val="%d"/>`, f.def)
		if f.res != 25 {
			fmt.Fprintf(&b, `<w:checked w:val="%d"/>`, f.res)
		}
		b.WriteString(`</w:checkBox>`)
	case 2:
		res := f.res
		if res == 25 {
			res = f.def
		}
		fmt.Fprintf(&b, `<w:ddList><w:result w:val="%d"/>`, res)
		for _, e := range f.entries {
			b.WriteString(`<w:listEntry w:val="` + attr(e) + `"/>`)
		}
		b.WriteString(`</w:ddList>`)
	default:
		b.WriteString(`<w:textInput/>`)
	}
	b.WriteString(`</w:ffData>`)
	return b.String()
}

// docCharRun is what the character properties say of the characters at
// file offsets [start, end): their place in the Data stream
// (sprmCPicLocation, or -1), and whether they are deleted text kept as a
// tracked change (sprmCFRMarkDel), which Word does not show.
type docCharRun struct {
	start, end uint32
	pic        int64
	deleted    bool
}

// docCharRuns reads the character properties' picture locations and
// deletions: the PlcBteChpx (in the table stream) names the 512-byte
// pages (FKPs, in the WordDocument stream) that hold each run's sprms.
// Only runs that have one are kept; a page that cannot be read is passed
// over.
func docCharRuns(word, tbl []byte) ([]docCharRun, error) {
	pages, err := docFKPs(word, tbl, 0xFA, "character")
	if err != nil {
		return nil, err
	}
	var runs []docCharRun
	for _, fkp := range pages {
		crun := int(fkp[511])
		if (crun+1)*4+crun > 511 {
			continue
		}
		for j := range crun {
			at := int(fkp[(crun+1)*4+j]) * 2
			if at == 0 || at >= 511 {
				continue
			}
			cb := int(fkp[at])
			if at+1+cb > 511 {
				continue
			}
			if pic, deleted := docCharSprms(fkp[at+1 : at+1+cb]); pic >= 0 || deleted {
				if len(runs) >= docMaxPieces {
					return nil, errors.New("too many character runs")
				}
				runs = append(runs, docCharRun{start: binary.LittleEndian.Uint32(fkp[4*j:]), end: binary.LittleEndian.Uint32(fkp[4*(j+1):]), pic: pic, deleted: deleted})
			}
		}
	}
	return runs, nil
}

// docCharSprms reads a character run's sprmCPicLocation (-1 if none)
// and sprmCFRMarkDel.
func docCharSprms(grpprl []byte) (pic int64, deleted bool) {
	pic = -1
	for len(grpprl) >= 2 {
		sprm := binary.LittleEndian.Uint16(grpprl)
		grpprl = grpprl[2:]
		op := docSprmSize(sprm, grpprl)
		if op < 0 || op > len(grpprl) {
			return pic, deleted
		}
		switch sprm {
		case 0x6A03: // sprmCPicLocation
			pic = int64(binary.LittleEndian.Uint32(grpprl))
		case 0x0800: // sprmCFRMarkDel
			deleted = grpprl[0]&1 != 0
		}
		grpprl = grpprl[op:]
	}
	return pic, deleted
}

// docSprmSize is the size of a sprm's operand, from its spra (MS-DOC
// 2.2.5.1), or -1 when it cannot be told.
func docSprmSize(sprm uint16, rest []byte) int {
	switch sprm >> 13 {
	case 0, 1:
		return 1
	case 2, 4, 5:
		return 2
	case 3:
		return 4
	case 7:
		return 3
	}
	if len(rest) < 1 {
		return -1
	}
	switch {
	case sprm == 0xC615 && rest[0] == 255:
		return -1 // sprmPChgTabs' long form
	case sprm == 0xD608: // sprmTDefTable: a 2-byte size, plus one
		if len(rest) < 2 {
			return -1
		}
		return 1 + int(binary.LittleEndian.Uint16(rest))
	}
	return 1 + int(rest[0])
}

// docFFData reads the FFData at offset off of the Data stream: after a
// NilPICFAndBinData's 68-byte header (MS-DOC 2.9.158).
func docFFData(data []byte, off int64) *docFormField {
	if off < 0 || off+68+10 > int64(len(data)) {
		return nil
	}
	lcb := int64(binary.LittleEndian.Uint32(data[off:]))
	if binary.LittleEndian.Uint16(data[off+4:]) != 0x44 || lcb < 68+10 || off+lcb > int64(len(data)) {
		return nil
	}
	b := data[off+68 : off+lcb]
	if binary.LittleEndian.Uint32(b) != 0xFFFFFFFF {
		return nil
	}
	bits := binary.LittleEndian.Uint16(b[4:])
	f := &docFormField{kind: int(bits & 3), res: int(bits>>2) & 0x1F}
	if f.kind > 2 {
		return nil
	}
	b = b[10:] // version, bits, cch, hps
	xstz := func() (string, bool) {
		if len(b) < 2 {
			return "", false
		}
		n := int(binary.LittleEndian.Uint16(b))
		if 2+2*n+2 > len(b) {
			return "", false
		}
		u := make([]uint16, n)
		for i := range n {
			u[i] = binary.LittleEndian.Uint16(b[2+2*i:])
		}
		b = b[2+2*n+2:] // and its terminating NUL
		return string(utf16.Decode(u)), true
	}
	var ok bool
	if f.name, ok = xstz(); !ok {
		return nil
	}
	if f.kind == 0 {
		if _, ok = xstz(); !ok { // xstzTextDef
			return nil
		}
		return f
	}
	if len(b) < 2 {
		return nil
	}
	f.def = int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	for range 5 { // format, help, status, entry and exit macros
		if _, ok = xstz(); !ok {
			return nil
		}
	}
	if f.kind == 2 {
		// hsttbDropList: an STTB of the entries.
		if len(b) < 6 || binary.LittleEndian.Uint16(b) != 0xFFFF {
			return nil
		}
		n := int(binary.LittleEndian.Uint16(b[2:]))
		b = b[6:]
		for i := 0; i < n && i < docxMaxEntriesL; i++ {
			if len(b) < 2 {
				return nil
			}
			c := int(binary.LittleEndian.Uint16(b))
			if 2+2*c > len(b) {
				return nil
			}
			u := make([]uint16, c)
			for k := range c {
				u[k] = binary.LittleEndian.Uint16(b[2+2*k:])
			}
			f.entries = append(f.entries, string(utf16.Decode(u)))
			b = b[2+2*c:]
		}
	}
	return f
}

// docBookmarks is the document's bookmarks by the character position
// they start at (SttbfBkmk and PlcfBkf, MS-DOC 2.4.9), the names Word
// hides (starting with "_") left out. A form field's bookmark is its
// name; a table that cannot be read gives none.
func docBookmarks(word, tbl []byte) map[int32]string {
	at := func(off int) (int64, int64) {
		return int64(binary.LittleEndian.Uint32(word[off:])), int64(binary.LittleEndian.Uint32(word[off+4:]))
	}
	fcNames, lcbNames := at(0x142)
	fcStarts, lcbStarts := at(0x14A)
	if lcbNames < 6 || lcbStarts < 4 || fcNames+lcbNames > int64(len(tbl)) || fcStarts+lcbStarts > int64(len(tbl)) || fcNames < 0 || fcStarts < 0 {
		return nil
	}
	sttb := tbl[fcNames : fcNames+lcbNames]
	if binary.LittleEndian.Uint16(sttb) != 0xFFFF {
		return nil
	}
	count, extra := int(binary.LittleEndian.Uint16(sttb[2:])), int(binary.LittleEndian.Uint16(sttb[4:]))
	plc := tbl[fcStarts : fcStarts+lcbStarts]
	if (len(plc)-4)%8 != 0 || (len(plc)-4)/8 < count || count > docMaxPieces {
		return nil
	}
	names := map[int32]string{}
	b := sttb[6:]
	for i := 0; i < count; i++ {
		if len(b) < 2 {
			return names
		}
		n := int(binary.LittleEndian.Uint16(b))
		if 2+2*n+extra > len(b) {
			return names
		}
		u := make([]uint16, n)
		for k := range n {
			u[k] = binary.LittleEndian.Uint16(b[2+2*k:])
		}
		b = b[2+2*n+extra:]
		name := string(utf16.Decode(u))
		cp := int32(binary.LittleEndian.Uint32(plc[4*i:]))
		if _, taken := names[cp]; !taken && name != "" && !strings.HasPrefix(name, "_") {
			names[cp] = name
		}
	}
	return names
}
