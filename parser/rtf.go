package parser

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// Rich Text Format (.rtf), as Word saves a form with "Save As, Rich Text
// Format" and as case-management systems export documents. Its text and
// tables are read into the same model as a Word 97-2003 file's (doc.go):
// characters with a mark at each paragraph, cell and row end whose
// properties say where the tables are (\intbl, \itap, \cell, \row,
// \nestcell, \nestrow, vertical merges \clvmrg), fields with their
// results and legacy form fields with their state (\*\formfield), and
// deleted text (\deleted) left out; docWordML writes it as the
// WordprocessingML the DOCX reader reads. Pictures, headers, footers and
// notes are not read.

// rtfMaxDepth bounds group nesting.
const rtfMaxDepth = 1000

// rtfSkip are the destinations whose text is not the document's.
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "info": true, "pict": true, "object": true,
	"header": true, "headerl": true, "headerr": true, "headerf": true,
	"footer": true, "footerl": true, "footerr": true, "footerf": true,
	"footnote": true, "annotation": true, "atnid": true, "atnauthor": true,
	"listtable": true, "listoverridetable": true, "revtbl": true, "rsidtbl": true,
	"xmlnstbl": true, "generator": true, "themedata": true, "colorschememapping": true,
	"datastore": true, "latentstyles": true, "pgdsctbl": true, "bkmkstart": true, "bkmkend": true,
	"shppict": true, "nonshppict": true, "shp": true, "shpinst": true, "sp": true, "sn": true, "sv": true,
	"filetbl": true, "stylesheet": true, "pnseclvl": true, "pntext": true, "pntxta": true, "pntxtb": true,
	"listtext": true, "fldtype": true, "docvar": true, "userprops": true, "mmathPr": true,
	// The text a writer puts in for readers that do not read nested
	// tables, which are read here.
	"nonesttables": true,
}

type rtfGroup struct {
	skip    bool // text here is not shown
	uc      int  // characters to skip after \u
	deleted bool
	field   bool // the \field group: its end ends the field
	instr   bool // inside \fldinst
	dest    string
}

// readRTF reads a Rich Text document's forms, or says why it cannot.
func readRTF(ctx context.Context, data []byte, l Limits) ([]*RawForm, error) {
	l = l.withDefaults()
	if int64(len(data)) > l.MaxDOCXUncompressed {
		return nil, unreadable(reasonDOCXTooLarge, fmt.Errorf("rtf: %d bytes", len(data)))
	}
	m, err := rtfModel(data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read rtf: %w", err)
	}
	return readTextModel(ctx, m, "rtf")
}

// rtfMaxFields bounds the form fields kept; one past it has no state and
// refuses the form, as a field without its state does.
const rtfMaxFields = 4096

// rtfModel tokenises data (MS Rich Text Format 1.9.1) into a textModel.
func rtfModel(data []byte) (*textModel, error) {
	if !strings.HasPrefix(string(data[:min(len(data), 5)]), `{\rtf`) {
		return nil, unreadable(reasonDOCXNotDOCX, errors.New("rtf: no {\\rtf header"))
	}
	m := &textModel{headings: map[uint16]bool{}, fields: map[int]*docFormField{}}
	dec := charmap.Windows1252
	stack := []rtfGroup{{uc: 1}}
	cur := func() *rtfGroup { return &stack[len(stack)-1] }
	// The paragraph's and the row's properties as they stand.
	intbl, itap, style := false, 1, uint16(0)
	var cellMerge, pendingMerge []bool // per cell of the row being defined: continues the cell above
	mergeNext := false
	skipChars := 0 // after \uN, the fallback characters to skip
	ignorable := false
	var ff *docFormField // the form field being read
	fieldBegin := -1
	var styleName strings.Builder
	styleNum := -1

	emit := func(r rune) {
		g := cur()
		if g.skip && !g.instr {
			if g.dest == "stylesheet-entry" {
				styleName.WriteRune(r)
			}
			if g.dest == "ffname" && ff != nil {
				ff.name += string(r)
			}
			if g.dest == "ffl" && ff != nil && len(ff.entries) > 0 {
				ff.entries[len(ff.entries)-1] += string(r)
			}
			return
		}
		if skipChars > 0 {
			skipChars--
			return
		}
		if g.deleted && m.deleted == nil {
			m.deleted = make([]bool, len(m.text), cap(m.text))
		}
		if m.deleted != nil {
			m.deleted = append(m.deleted, g.deleted)
		}
		m.text = append(m.text, r)
	}
	// raw adds characters that are structure (marks, field codes), never
	// deleted.
	raw := func(rs ...rune) {
		m.text = append(m.text, rs...)
		if m.deleted != nil {
			m.deleted = append(m.deleted, make([]bool, len(rs))...)
		}
	}
	mark := func(r rune, p docPara) {
		p.istd = style
		m.marks = append(m.marks, docParaRun{start: uint32(len(m.text)), end: uint32(len(m.text)) + 1, p: p})
		raw(r)
	}
	word := func(name string, param int, hasParam bool) {
		g := cur()
		if g.skip && !g.instr {
			switch {
			case g.dest == "stylesheet" || g.dest == "stylesheet-entry":
				if name == "s" && hasParam {
					g.dest, styleNum = "stylesheet-entry", param
					styleName.Reset()
				}
			case g.dest == "formfield" && ff != nil:
				switch name {
				case "fftype":
					ff.kind = param
				case "ffres":
					ff.res = param
				case "ffdefres":
					ff.def = param
				case "ffname":
					g.dest = "ffname"
				case "ffl":
					g.dest = "ffl"
					ff.entries = append(ff.entries, "")
				}
			}
			return
		}
		switch name {
		case "ansicpg":
			if c := rtfCodepage(param); c != nil {
				dec = c
			}
		case "uc":
			g.uc = param
		case "u":
			if param < 0 {
				param += 65536
			}
			r := rune(param)
			// A character outside the BMP is two \u, a surrogate pair.
			if n := len(m.text); utf16.IsSurrogate(r) && n > 0 && r >= 0xDC00 && m.text[n-1] >= 0xD800 && m.text[n-1] < 0xDC00 && !g.skip {
				m.text[n-1] = utf16.DecodeRune(m.text[n-1], r)
			} else {
				emit(r)
			}
			skipChars = g.uc
		case "par":
			if intbl {
				mark('\r', docPara{inTable: true, depth: max(1, itap)})
			} else {
				mark('\r', docPara{})
			}
		case "sect", "page":
			if !intbl {
				mark('\r', docPara{})
			}
		case "line":
			emit(0x0B)
		case "tab":
			emit('\t')
		case "emdash":
			emit('—')
		case "endash":
			emit('–')
		case "lquote":
			emit('‘')
		case "rquote":
			emit('’')
		case "ldblquote":
			emit('“')
		case "rdblquote":
			emit('”')
		case "bullet":
			emit('•')
		case "pard":
			intbl, itap, style = false, 1, 0
		case "intbl":
			intbl = true
		case "itap":
			itap = param
			intbl = param > 0
		case "s":
			if hasParam && param >= 0 && param < 1<<16 {
				style = uint16(param)
			}
		case "trowd":
			pendingMerge = pendingMerge[:0]
			mergeNext = false
		case "clvmrg":
			mergeNext = true
		case "cellx":
			pendingMerge = append(pendingMerge, mergeNext)
			mergeNext = false
		case "cell":
			mark(0x07, docPara{inTable: true, depth: 1})
		case "row":
			cellMerge = append(cellMerge[:0], pendingMerge...)
			mark(0x07, docPara{inTable: true, ttp: true, depth: 1, vmerge: append([]bool(nil), cellMerge...)})
		case "nestcell":
			mark('\r', docPara{inTable: true, depth: max(2, itap), innerCell: true})
		case "nestrow":
			mark('\r', docPara{inTable: true, depth: max(2, itap), innerTtp: true, vmerge: append([]bool(nil), pendingMerge...)})
		case "deleted":
			g.deleted = !hasParam || param != 0
		case "plain":
			g.deleted = false
		case "field":
			g.field = true
			fieldBegin = len(m.text)
			raw(0x13, 0x01)
		case "fldinst":
			g.instr, g.skip = true, true
		case "fldrslt":
			raw(0x14)
		case "nesttableprops":
			// A nested row's properties and its \nestrow: read as the
			// group around it, though marked ignorable (its fallback for
			// older readers, \nonesttables, is not read).
		case "formfield":
			g.skip, g.instr, g.dest = true, false, "formfield"
			ff = &docFormField{res: 25}
			if fieldBegin >= 0 && len(m.fields) < rtfMaxFields {
				m.fields[fieldBegin] = ff
			}
		default:
			if rtfSkip[name] {
				g.skip, g.instr, g.dest = true, false, name
			} else if ignorable {
				g.skip, g.instr, g.dest = true, false, name
			}
		}
	}

	for i := 0; i < len(data); {
		if len(m.text) > docMaxChars || len(m.marks) > docMaxElems {
			return nil, unreadable(reasonDOCXTooComplex, fmt.Errorf("rtf: more than %d characters or %d paragraphs", docMaxChars, docMaxElems))
		}
		c := data[i]
		switch c {
		case '{':
			if len(stack) >= rtfMaxDepth {
				return nil, unreadable(reasonDOCXTooComplex, errors.New("rtf: groups nested too deeply"))
			}
			g := *cur()
			g.field = false
			stack = append(stack, g)
			ignorable = false
			i++
			continue
		case '}':
			g := *cur()
			if g.dest == "stylesheet-entry" && styleNum >= 0 {
				n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(styleName.String()), ";"))
				if strings.HasPrefix(n, "heading") || n == "title" {
					m.headings[uint16(styleNum)] = true
				}
				styleNum = -1
			}
			if g.field {
				raw(0x15)
				fieldBegin = -1
			}
			if g.dest == "formfield" {
				ff = nil
			}
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			ignorable = false
			i++
			continue
		case '\r', '\n':
			i++
			continue
		case '\\':
			if i+1 >= len(data) {
				i++
				continue
			}
			n := data[i+1]
			switch {
			case n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z':
				j := i + 1
				for j < len(data) && j-i < 34 && (data[j] >= 'a' && data[j] <= 'z' || data[j] >= 'A' && data[j] <= 'Z') {
					j++
				}
				name := string(data[i+1 : j])
				k := j
				if k < len(data) && data[k] == '-' {
					k++
				}
				for k < len(data) && k-j < 11 && data[k] >= '0' && data[k] <= '9' {
					k++
				}
				param, hasParam := 0, false
				if k > j && !(k == j+1 && data[j] == '-') {
					if v, err := strconv.Atoi(string(data[j:k])); err == nil {
						param, hasParam = v, true
					}
				}
				if k < len(data) && data[k] == ' ' {
					k++
				}
				i = k
				if name == "bin" && hasParam {
					// Binary data (a picture's): param bytes that are not
					// RTF, skipped whole, braces and all.
					i = min(len(data), i+max(0, param))
					continue
				}
				word(name, param, hasParam)
				ignorable = false
			case n == '*':
				ignorable = true
				i += 2
			case n == '\'':
				if i+4 <= len(data) {
					if v, err := strconv.ParseUint(string(data[i+2:i+4]), 16, 8); err == nil {
						emit(dec.DecodeByte(byte(v)))
					}
				}
				i += 4
			case n == '~':
				emit(0xA0)
				i += 2
			case n == '_':
				emit(0x1E)
				i += 2
			case n == '-':
				i += 2 // an optional hyphen
			case n == '\r' || n == '\n':
				word("par", 0, false)
				i += 2
			default: // \\, \{, \} and other symbols stand for themselves
				emit(rune(n))
				i += 2
			}
			continue
		}
		emit(rune(c))
		i++
	}
	return m, nil
}

// rtfCodepage is the single-byte code page \ansicpg names, or nil.
func rtfCodepage(cp int) *charmap.Charmap {
	switch cp {
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1252:
		return charmap.Windows1252
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	}
	return nil
}
