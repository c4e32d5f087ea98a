package parser

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
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
// whichever format it came in. Formatting, pictures and legacy form
// fields' stored states are not read; a form whose answers are typed text
// or box glyphs (☒) reads as its .docx does.

// docFIBMin is the FIB's size up to and including the fields read here.
const docFIBMin = 0x1AA

// docMaxPieces bounds the piece table: a Word document made by editing
// has a few hundred pieces; each costs a little here.
const docMaxPieces = 1 << 16

// readDOC reads a Word 97-2003 document's forms, or says why it cannot.
func readDOC(ctx context.Context, data []byte, l Limits) ([]*RawForm, error) {
	l = l.withDefaults()
	word, table0, table1, err := docStreams(data, l.MaxDOCXUncompressed)
	if err != nil {
		return nil, err
	}
	if len(word) < docFIBMin || binary.LittleEndian.Uint16(word) != 0xA5EC {
		return nil, unreadable(reasonDOCXDamaged, errors.New("doc: no Word FIB"))
	}
	flags := binary.LittleEndian.Uint16(word[0x0A:])
	if flags&0x0100 != 0 {
		return nil, unreadable(reasonDOCXEncrypted, errors.New("doc: encrypted"))
	}
	tbl := table0
	if flags&0x0200 != 0 {
		tbl = table1
	}
	if tbl == nil {
		return nil, unreadable(reasonDOCXDamaged, errors.New("doc: no table stream"))
	}
	ccpText := int(binary.LittleEndian.Uint32(word[0x4C:]))
	text, fcs, err := wordText(word, tbl, ccpText)
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
	xmlDoc, formFields := docWordML(text, fcs, paps, docHeadingStyles(word, tbl))
	if formFields {
		return nil, unreadable(reasonDOCXOldDoc, errors.New("doc: legacy check boxes or drop-downs, whose state is not read"))
	}
	d := newDOCXReader(ctx)
	if err := d.readDocument(bytes.NewReader(xmlDoc)); err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	for _, f := range d.forms {
		f.rf.Source = "doc"
	}
	return d.result(), nil
}

// docStreams takes the WordDocument stream and the two table streams out
// of the compound file, within a budget of what they may hold together.
func docStreams(data []byte, budget int64) (word, table0, table1 []byte, err error) {
	defer func() {
		// mscfb is a third party's parser of hostile input: a panic in it
		// is this attachment's error, not the intake's.
		if r := recover(); r != nil {
			word, table0, table1 = nil, nil, nil
			err = unreadable(reasonDOCXDamaged, fmt.Errorf("doc: the compound file reader failed: %v", r))
		}
	}()
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: %w", err))
	}
	budget = min(budget, int64(len(data)))
	entries := 0
	for f, nerr := doc.Next(); nerr == nil; f, nerr = doc.Next() {
		if entries++; entries > maxMsgEntries {
			return nil, nil, nil, unreadable(reasonDOCXTooComplex, errors.New("doc: too many entries"))
		}
		if len(f.Path) != 0 || f.FileInfo().IsDir() {
			continue
		}
		var dst *[]byte
		switch f.Name {
		case "WordDocument":
			dst = &word
		case "0Table":
			dst = &table0
		case "1Table":
			dst = &table1
		default:
			continue
		}
		if f.Size < 0 || f.Size > budget {
			return nil, nil, nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("doc: a stream of %d bytes", f.Size))
		}
		budget -= f.Size
		b := make([]byte, f.Size)
		if _, err := io.ReadFull(f, b); err != nil {
			return nil, nil, nil, unreadable(reasonDOCXDamaged, fmt.Errorf("doc: read %s: %w", f.Name, err))
		}
		*dst = b
	}
	if word == nil {
		return nil, nil, nil, unreadable(reasonDOCXNotDOCX, errors.New("doc: no WordDocument stream"))
	}
	return word, table0, table1, nil
}

// wordText is the main document's text (its first ccpText characters)
// from the piece table, with the file offset each character is at, by
// which its paragraph's properties are found.
func wordText(word, tbl []byte, ccpText int) ([]rune, []uint32, error) {
	fcClx := int64(binary.LittleEndian.Uint32(word[0x1A2:]))
	lcbClx := int64(binary.LittleEndian.Uint32(word[0x1A6:]))
	if fcClx < 0 || lcbClx <= 0 || fcClx+lcbClx > int64(len(tbl)) {
		return nil, nil, errors.New("piece table outside the table stream")
	}
	clx := tbl[fcClx : fcClx+lcbClx]
	// Skip the Prc entries (property modifiers) to the piece table.
	for len(clx) > 0 && clx[0] == 0x01 {
		if len(clx) < 3 {
			return nil, nil, errors.New("short Prc")
		}
		n := 3 + int(binary.LittleEndian.Uint16(clx[1:]))
		if n > len(clx) {
			return nil, nil, errors.New("short Prc")
		}
		clx = clx[n:]
	}
	if len(clx) < 5 || clx[0] != 0x02 {
		return nil, nil, errors.New("no piece table")
	}
	lcb := int(binary.LittleEndian.Uint32(clx[1:]))
	plc := clx[5:]
	if lcb < 4 || lcb > len(plc) || (lcb-4)%12 != 0 {
		return nil, nil, errors.New("piece table of a wrong size")
	}
	n := (lcb - 4) / 12
	if n > docMaxPieces {
		return nil, nil, fmt.Errorf("%d pieces", n)
	}
	if ccpText < 0 || ccpText > len(word) {
		return nil, nil, fmt.Errorf("%d characters in a stream of %d bytes", ccpText, len(word))
	}
	text := make([]rune, 0, ccpText)
	fcs := make([]uint32, 0, ccpText)
	for i := 0; i < n && len(text) < ccpText; i++ {
		cpStart := int(binary.LittleEndian.Uint32(plc[4*i:]))
		cpEnd := int(binary.LittleEndian.Uint32(plc[4*(i+1):]))
		pcd := plc[4*(n+1)+8*i:]
		fc := binary.LittleEndian.Uint32(pcd[2:])
		if cpEnd < cpStart || cpEnd-cpStart > len(word) {
			return nil, nil, errors.New("a piece of a wrong length")
		}
		count := min(cpEnd-cpStart, ccpText-len(text))
		if fc&0x40000000 != 0 {
			// Compressed: one byte a character, Windows-1252, at fc/2.
			off := int64(fc&^0x40000000) / 2
			if off+int64(count) > int64(len(word)) {
				return nil, nil, errors.New("a piece past the stream's end")
			}
			for j := range count {
				text = append(text, docCompressedRune(word[off+int64(j)]))
				fcs = append(fcs, uint32(off)+uint32(j))
			}
			continue
		}
		off := int64(fc)
		if off+2*int64(count) > int64(len(word)) {
			return nil, nil, errors.New("a piece past the stream's end")
		}
		units := make([]uint16, count)
		for j := range count {
			units[j] = binary.LittleEndian.Uint16(word[off+2*int64(j):])
		}
		// A surrogate pair is two characters (two CPs) in the piece
		// table: each keeps its own offset, the pair one rune.
		for j := 0; j < count; j++ {
			r := rune(units[j])
			if utf16.IsSurrogate(r) && j+1 < count {
				if p := utf16.DecodeRune(r, rune(units[j+1])); p != '\uFFFD' {
					text = append(text, p)
					fcs = append(fcs, uint32(off)+uint32(2*j))
					j++
					continue
				}
			}
			text = append(text, r)
			fcs = append(fcs, uint32(off)+uint32(2*j))
		}
	}
	return text, fcs, nil
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
	fc := int64(binary.LittleEndian.Uint32(word[0x102:]))
	lcb := int64(binary.LittleEndian.Uint32(word[0x106:]))
	if lcb == 0 {
		return nil, nil
	}
	if fc < 0 || lcb < 4 || fc+lcb > int64(len(tbl)) || (lcb-4)%8 != 0 {
		return nil, errors.New("paragraph table outside the table stream")
	}
	plc := tbl[fc : fc+lcb]
	n := int((lcb - 4) / 8)
	if n > docMaxPieces {
		return nil, fmt.Errorf("%d paragraph pages", n)
	}
	var runs []docParaRun
	for i := range n {
		pn := int64(binary.LittleEndian.Uint32(plc[4*(n+1)+4*i:]) & 0x3FFFFF)
		page := pn * 512
		if page+512 > int64(len(word)) {
			return nil, errors.New("a paragraph page past the stream's end")
		}
		fkp := word[page : page+512]
		crun := int(fkp[511])
		if (crun+1)*4+crun*13 > 511 {
			return nil, errors.New("a paragraph page with too many runs")
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
		var op int
		switch sprm >> 13 {
		case 0, 1:
			op = 1
		case 2, 4, 5:
			op = 2
		case 3:
			op = 4
		case 7:
			op = 3
		case 6:
			if len(grpprl) < 1 {
				return p
			}
			switch {
			case sprm == 0xC615 && grpprl[0] == 255:
				return p // sprmPChgTabs' long form: nothing after it is read
			case sprm == 0xD608: // sprmTDefTable: a 2-byte size, plus one
				if len(grpprl) < 2 {
					return p
				}
				op = 1 + int(binary.LittleEndian.Uint16(grpprl))
			default:
				op = 1 + int(grpprl[0])
			}
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
func docWordML(text []rune, fcs []uint32, runs []docParaRun, headings map[uint16]bool) (doc []byte, formFields bool) {
	var out bytes.Buffer
	out.WriteString(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	var para strings.Builder
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
	writePara := func(p docPara) {
		// A line break is Word's <w:br/>, a tab <w:tab/>, between runs of
		// text, as Word writes them; a heading's style is "Title", which
		// the DOCX reader takes for a heading.
		w := dst()
		w.WriteString(`<w:p>`)
		if headings[p.istd] {
			w.WriteString(`<w:pPr><w:pStyle w:val="Title"/></w:pPr>`)
		}
		w.WriteString(`<w:r>`)
		for i, seg := range strings.Split(para.String(), "\n") {
			if i > 0 {
				w.WriteString(`<w:br/>`)
			}
			for j, t := range strings.Split(seg, "\t") {
				if j > 0 {
					w.WriteString(`<w:tab/>`)
				}
				if t != "" {
					w.WriteString(`<w:t xml:space="preserve">`)
					_ = xml.EscapeText(w, []byte(t))
					w.WriteString(`</w:t>`)
				}
			}
		}
		w.WriteString(`</w:r></w:p>`)
		para.Reset()
	}
	field := 0           // open fields
	inResult := []bool{} // per open field: past its separator
	var instr strings.Builder
	for i, r := range text {
		switch r {
		case 0x13: // field begin: its instructions follow
			field++
			inResult = append(inResult, false)
			continue
		case 0x14, 0x15: // a field's separator (its result follows) or end
			// A legacy check box or drop-down keeps its state in the
			// Data stream, not in the text: such a form is not read.
			if f := strings.Fields(instr.String()); len(f) > 0 && (f[0] == "FORMCHECKBOX" || f[0] == "FORMDROPDOWN") {
				formFields = true
			}
			instr.Reset()
			if field > 0 {
				if r == 0x14 {
					inResult[field-1] = true
				} else {
					field--
					inResult = inResult[:field]
				}
			}
			continue
		}
		if field > 0 && !inResult[field-1] && r != '\r' && r != 0x07 {
			// A field's instructions are not shown.
			if instr.Len() < 64 {
				instr.WriteRune(r)
			}
			continue
		}
		if r != '\r' && r != 0x07 && r != 0x0C {
			switch {
			case r == 0x0B || r == 0x0E: // line and column breaks
				para.WriteByte('\n')
			case r == 0x1E: // non-breaking hyphen
				para.WriteByte('-')
			case r == 0xA0:
				para.WriteByte(' ')
			case r == '\t':
				para.WriteByte('\t')
			case r >= 0xF000 && r <= 0xF0FF:
				// A symbol font's glyph, as LibreOffice writes Wingdings'
				// boxes: the font is in the character properties, which
				// are not read, so only a glyph that is a box or a tick
				// in Wingdings is kept.
				if m := symbolRune("wingdings", strconv.FormatInt(int64(r), 16)); m != 0 && checkboxRune(m) != 0 {
					para.WriteRune(m)
				}
			case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
				// Objects, pictures, footnote marks: nothing shown as text.
			default:
				para.WriteRune(r)
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
			para.Reset()
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
	if para.Len() > 0 {
		writePara(docPara{})
	}
	out.WriteString(`</w:body></w:document>`)
	return out.Bytes(), formFields
}

// docMaxDepth bounds table nesting, as the DOCX reader's element depth
// bounds it there.
const docMaxDepth = 16
