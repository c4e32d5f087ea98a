package parser

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// OpenDocument Text (.odt), LibreOffice's and OpenOffice's own format, as
// a referrer who opened the Word form in LibreOffice may save it. Its
// content.xml is read into the same model as a .doc's or an RTF's
// (rtf.go): paragraphs and headings, tables (nested ones too; a cell
// spanning rows makes the covered cells below it continuations, as a
// vertical merge does in Word), LibreOffice's form fields (fieldmarks:
// check boxes, drop-downs and text fields with their state and name), and
// docWordML writes it for the DOCX reader. Notes, annotations, frames
// (text boxes, pictures) and the record of tracked changes (whose deleted
// text is not in the body) are not read.

const (
	nsODFText   = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
	nsODFTable  = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	nsODFOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
	nsODFDraw   = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
	nsODFField  = "urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0"
)

// readODT reads an OpenDocument text's forms, or says why it cannot.
func readODT(ctx context.Context, data []byte, l Limits) ([]*RawForm, error) {
	l = l.withDefaults()
	p, err := openPackage(data, l)
	if err != nil {
		return nil, err
	}
	f := p.find("content.xml")
	if f == nil {
		return nil, unreadable(reasonDOCXDamaged, errors.New("odt: no content.xml"))
	}
	if odtEncrypted(ctx, p) {
		return nil, unreadable(reasonODTEncrypted, errors.New("odt: the manifest names encryption data"))
	}
	var m *textModel
	if err := p.read(ctx, f, func(r io.Reader) error {
		var err error
		m, err = odtModel(ctx, r)
		return err
	}); err != nil {
		return nil, err // classified by the package's read, as for a .docx
	}
	return readTextModel(ctx, m, "odt")
}

// reasonODTEncrypted: LibreOffice's "Save with password" encrypts each
// part of the package, as its manifest says; the referrer is asked for a
// copy without one, not for another format.
const reasonODTEncrypted = "the LibreOffice document is password-protected"

// odtEncrypted reports whether the package's manifest gives encryption
// data for its parts (ODF 1.2 part 3, 4.8).
func odtEncrypted(ctx context.Context, p *docxPackage) bool {
	m := p.find("META-INF/manifest.xml")
	if m == nil || m.UncompressedSize64 > docxMaxSmall {
		return false
	}
	encrypted := false
	_ = p.read(ctx, m, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, docxMaxSmall))
		encrypted = bytes.Contains(b, []byte("encryption-data"))
		return err
	})
	return encrypted
}

// odtLevel is one open table.
type odtLevel struct {
	below     []int  // by column: rows still covered by a cell spanning rows above
	col       int    // the column the next cell starts at
	merge     []bool // by cell of the row: continues the cell above
	inCell    bool
	cellParas int // paragraphs begun in the open cell
}

// odtModel reads content.xml into a text model.
func odtModel(ctx context.Context, r io.Reader) (*textModel, error) {
	m := &textModel{headings: map[uint16]bool{1: true}, fields: map[int]*docFormField{}}
	dec := xml.NewDecoder(r)
	var tables []*odtLevel
	skip := 0       // depth inside an element that is not read
	inBody := false // inside office:text
	inPara := 0     // open text:p and text:h
	heading := false
	var field *docFormField // the FORMTEXT field whose result is being read
	raw := func(rs ...rune) { m.text = append(m.text, rs...) }
	mark := func(r rune, p docPara) {
		m.marks = append(m.marks, docParaRun{start: uint32(len(m.text)), end: uint32(len(m.text)) + 1, p: p})
		raw(r)
	}
	depth := func() int { return len(tables) }
	// paraMark is the mark a paragraph gets before the next in its cell,
	// or at its end outside tables.
	paraMark := func() {
		if d := depth(); d > 0 {
			mark('\r', docPara{inTable: true, depth: d})
		} else {
			p := docPara{}
			if heading {
				p.istd = 1
			}
			mark('\r', p)
		}
	}
	attr := func(se xml.StartElement, space, local string) string {
		for _, a := range se.Attr {
			if a.Name.Space == space && a.Name.Local == local {
				return a.Value
			}
		}
		return ""
	}
	// formField writes a fieldmark's field codes: begin, picture, its
	// instruction (FORMCHECKBOX, ...), and the state.
	formField := func(kind string, ff *docFormField, name string) {
		if !strings.HasPrefix(name, "__") {
			ff.name = name
		}
		if len(m.fields) < rtfMaxFields {
			m.fields[len(m.text)] = ff
		}
		raw(0x13, 0x01)
		raw([]rune(" " + kind + " ")...)
	}
	var box *docFormField // the check box or drop-down whose params are read
	for tokens := 0; ; tokens++ {
		if tokens >= docxMaxTokens {
			return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("odt: more than %d XML tokens", docxMaxTokens))
		}
		if tokens%docxCtxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(m.text) > docMaxChars || len(m.marks) > docMaxElems {
			return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("odt: more than %d characters or %d paragraphs", docMaxChars, docMaxElems))
		}
		tok, err := dec.Token()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("odt: %w", err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 {
				skip++
				continue
			}
			if len(tables) > docMaxDepth {
				return nil, unreadable(reasonDOCXTooComplex, errors.New("odt: tables nested too deeply"))
			}
			n := t.Name
			switch {
			case n.Space == nsODFOffice && n.Local == "text":
				inBody = true
			case !inBody:
			case n.Space == nsODFOffice && n.Local == "annotation",
				n.Space == nsODFText && (n.Local == "note" || n.Local == "tracked-changes" || n.Local == "sequence-decls" ||
					n.Local == "variable-decls" || n.Local == "user-field-decls" || n.Local == "table-of-content-source"),
				n.Space == nsODFDraw && (n.Local == "frame" || n.Local == "control" || n.Local == "a"):
				skip = 1
			case n.Space == nsODFOffice && n.Local == "forms":
				skip = 1
			case n.Space == nsODFText && (n.Local == "p" || n.Local == "h"):
				if inPara == 0 {
					heading = n.Local == "h"
					if d := depth(); d > 0 {
						l := tables[d-1]
						if l.inCell && l.cellParas > 0 {
							paraMark()
						}
						l.cellParas++
					}
				}
				inPara++
			case n.Space == nsODFText && n.Local == "s" && inPara > 0:
				c, err := strconv.Atoi(attr(t, nsODFText, "c"))
				if err != nil || c < 1 {
					c = 1
				}
				raw([]rune(strings.Repeat(" ", min(c, 256)))...)
			case n.Space == nsODFText && n.Local == "tab" && inPara > 0:
				raw('\t')
			case n.Space == nsODFText && n.Local == "line-break" && inPara > 0:
				raw(0x0B)
			case n.Space == nsODFTable && n.Local == "table":
				if d := depth(); d > 0 {
					// A table in a cell ends the paragraph before it.
					if l := tables[d-1]; l.inCell && l.cellParas > 0 {
						paraMark()
						l.cellParas = 0
					}
				}
				tables = append(tables, &odtLevel{})
			case n.Space == nsODFTable && n.Local == "table-row" && depth() > 0:
				l := tables[depth()-1]
				l.col, l.merge = 0, l.merge[:0]
			case n.Space == nsODFTable && n.Local == "table-cell" && depth() > 0:
				l := tables[depth()-1]
				rows, _ := strconv.Atoi(attr(t, nsODFTable, "number-rows-spanned"))
				cols, _ := strconv.Atoi(attr(t, nsODFTable, "number-columns-spanned"))
				cols = max(1, min(cols, 1024))
				for len(l.below) < l.col+cols {
					l.below = append(l.below, 0)
				}
				for c := l.col; c < l.col+cols; c++ {
					l.below[c] = max(0, rows-1)
				}
				l.col += cols
				l.merge = append(l.merge, false)
				l.inCell, l.cellParas = true, 0
			case n.Space == nsODFTable && n.Local == "covered-table-cell" && depth() > 0:
				l := tables[depth()-1]
				c := l.col
				l.col++
				if c < len(l.below) && l.below[c] > 0 {
					// Under a cell spanning rows: an empty cell that
					// continues it, as Word's vertical merge.
					l.below[c]--
					l.merge = append(l.merge, true)
					if d := depth(); d == 1 {
						mark(0x07, docPara{inTable: true, depth: 1})
					} else {
						mark('\r', docPara{inTable: true, depth: d, innerCell: true})
					}
				}
				skip = 1 // a covered cell's own content is not shown
			case n.Space == nsODFField && (n.Local == "fieldmark" || n.Local == "fieldmark-start"):
				typ := attr(t, nsODFField, "type")
				name := attr(t, nsODFText, "name")
				switch {
				case strings.HasSuffix(typ, "FORMCHECKBOX"):
					box = &docFormField{kind: 1, res: 0}
					formField("FORMCHECKBOX", box, name)
				case strings.HasSuffix(typ, "FORMDROPDOWN"):
					box = &docFormField{kind: 2, res: 0}
					formField("FORMDROPDOWN", box, name)
				case strings.HasSuffix(typ, "FORMTEXT"):
					field = &docFormField{kind: 0}
					formField("FORMTEXT", field, name)
					if n.Local == "fieldmark" {
						raw(0x14, 0x15)
						field = nil
					}
				}
			case n.Space == nsODFField && n.Local == "param" && box != nil:
				v := attr(t, nsODFField, "value")
				switch attr(t, nsODFField, "name") {
				case "Checkbox_Checked":
					if v == "true" || v == "1" {
						box.res = 1
					}
				case "Dropdown_ListEntry":
					if len(box.entries) < docxMaxEntriesL {
						box.entries = append(box.entries, v)
					}
				case "Dropdown_Selected":
					if i, err := strconv.Atoi(v); err == nil && i >= 0 {
						box.res = i
					}
				}
			case n.Space == nsODFField && n.Local == "fieldmark-separator" && field != nil:
				raw(0x14)
			case n.Space == nsODFField && n.Local == "fieldmark-end" && field != nil:
				raw(0x15)
				field = nil
			}
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			n := t.Name
			switch {
			case !inBody:
			case n.Space == nsODFOffice && n.Local == "text":
				inBody = false
			case n.Space == nsODFField && n.Local == "fieldmark" && box != nil:
				raw(0x14, 0x15)
				box = nil
			case n.Space == nsODFText && (n.Local == "p" || n.Local == "h"):
				inPara--
				if inPara == 0 && depth() == 0 {
					paraMark()
				}
			case n.Space == nsODFTable && n.Local == "table-cell" && depth() > 0:
				l := tables[depth()-1]
				if d := depth(); d == 1 {
					mark(0x07, docPara{inTable: true, depth: 1})
				} else {
					mark('\r', docPara{inTable: true, depth: d, innerCell: true})
				}
				l.inCell = false
			case n.Space == nsODFTable && n.Local == "table-row" && depth() > 0:
				l := tables[depth()-1]
				vm := append([]bool(nil), l.merge...)
				if d := depth(); d == 1 {
					mark(0x07, docPara{inTable: true, ttp: true, depth: 1, vmerge: vm})
				} else {
					mark('\r', docPara{inTable: true, depth: d, innerTtp: true, vmerge: vm})
				}
			case n.Space == nsODFTable && n.Local == "table" && depth() > 0:
				tables = tables[:depth()-1]
			}
		case xml.CharData:
			if skip == 0 && inBody && inPara > 0 {
				for _, r := range string(t) {
					if r == '\n' || r == '\r' || r == '\t' {
						r = ' ' // white space in ODF text is a space; tabs are text:tab
					}
					raw(r)
				}
			}
		}
	}
}
