package parser

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/encoding/charmap"
)

// glyph is one character drawn on a page, in page space (points, y up).
type glyph struct {
	x, y, w, size float64
	s             string
}

// errContentBudget stops a page whose content streams inflate past the
// document's budget.
var errContentBudget = errors.New("content streams larger than the budget")

// Bounds of the content interpreter.
const (
	maxXObjectDepth = 8
	maxGlyphs       = 200_000
)

// textExtractor turns page content into glyphs. Page.Content in the library
// cannot be used: it ignores form XObjects (where qpdf and pdftk put the
// flattened field values), adds a phantom glyph after every TJ, measures
// two-byte fonts as one byte per character, and re-parses font widths for
// every glyph.
type textExtractor struct {
	budget int64 // decompressed content bytes left, of those counted
	glyphs int
	// fonts are the fonts read so far, by object: flattened forms draw
	// each field as a form XObject with its own resources naming the same
	// few fonts, and reading a font (its ToUnicode CMap above all) once
	// per XObject was most of the time spent on such a PDF.
	fonts map[uint64]*fontInfo
	// Streams drawn without being counted, charged at the most they can
	// inflate to (see charge), and streams counted, by object.
	pending      map[uint64]*pendingStream
	pendingBound int64
	sizes        map[uint64]int64
	// buf is the glyph slice handed out by page, reused for the next
	// page once the caller has laid it out.
	buf []glyph
	// streams reads the content streams; content holds a stream's
	// decoded bytes while it is interpreted, one buffer per XObject
	// depth (a form XObject is drawn from its parent's content), reused
	// for the next stream at that depth.
	streams streamReader
	content [maxXObjectDepth + 1][]byte
	// lexers read the content streams, one per depth as content.
	lexers [maxXObjectDepth + 1]contentLexer
	// noFont stands for a font that was never set: codes are their bytes.
	noFont *fontInfo
	// drawnFonts are the fonts that drew text in this document.
	drawnFonts []*fontInfo
}

type pendingStream struct {
	v            pdf.Value
	bound, drawn int64
}

// newTextExtractor reads the content of a file the library opened from
// file; file may be nil, and must be when its streams are encrypted.
func newTextExtractor(budget int64, file []byte) *textExtractor {
	return &textExtractor{budget: budget, fonts: map[uint64]*fontInfo{}, pending: map[uint64]*pendingStream{}, sizes: map[uint64]int64{}, noFont: &fontInfo{}, streams: streamReader{file: file}}
}

// reset readies e for another document, keeping its zlib reader and
// buffers.
func (e *textExtractor) reset(budget int64, file []byte) {
	e.budget, e.glyphs, e.pendingBound = budget, 0, 0
	e.streams.file = file
}

// Bounds of what an extractor keeps between documents: a form's pages
// need a few thousand glyphs and content streams of tens of kilobytes.
const (
	keepGlyphs       = 16 << 10
	keepContentBytes = 1 << 20
	keepStreams      = 4096
	keepOperands     = 64 << 10
)

// trim drops what e holds of its last document (the file, its fonts and
// streams) and any buffer grown past what a form needs, so a kept
// extractor holds no more than a few hundred kilobytes.
func (e *textExtractor) trim() {
	e.streams.file = nil
	e.streams.src.Reset(nil)
	clear(e.fonts)
	e.forgetDrawn()
	if len(e.pending) > keepStreams || len(e.sizes) > keepStreams {
		e.pending, e.sizes = map[uint64]*pendingStream{}, map[uint64]int64{}
	}
	clear(e.pending)
	clear(e.sizes)
	if cap(e.buf) > keepGlyphs {
		e.buf = nil
	}
	clear(e.buf[:cap(e.buf)]) // the glyphs' strings
	for i := range e.lexers {
		if l := &e.lexers[i]; cap(l.bytes) > keepContentBytes || cap(l.elems) > keepOperands || cap(l.args) > maxContentOperands {
			*l = contentLexer{}
		}
	}
	for i, b := range e.content {
		if cap(b) > keepContentBytes {
			e.content[i] = nil
		}
	}
}

// maxFlateRatio is the most deflate can expand: a 258-byte match in two
// bits (RFC 1951); ASCII85's "z" is four bytes in one.
const (
	maxFlateRatio   = 1032
	maxASCII85Ratio = 4
)

// streamBound is the most a stream can decode to, from its /Length and
// filters; ok is false when that cannot be told.
func streamBound(s pdf.Value) (bound int64, ok bool) {
	n := s.Key("Length").Int64()
	if n < 0 || n > 1<<31 {
		return 0, false
	}
	ratio := int64(1)
	apply := func(f pdf.Value) bool {
		switch f.Name() {
		case "FlateDecode":
			ratio *= maxFlateRatio
		case "ASCII85Decode":
			ratio *= maxASCII85Ratio
		default:
			return false
		}
		return true
	}
	switch f := s.Key("Filter"); f.Kind() {
	case pdf.Null:
	case pdf.Name:
		if !apply(f) {
			return 0, false
		}
	case pdf.Array:
		if f.Len() > 2 {
			return 0, false
		}
		for i := 0; i < f.Len(); i++ {
			if !apply(f.Index(i)) {
				return 0, false
			}
		}
	default:
		return 0, false
	}
	return n*ratio + 1024, true
}

// charge accounts for one stream about to be interpreted. The budget
// stops a flate bomb, or a stream drawn over and over, before the
// interpreter reads it; counting every stream's inflated bytes meant
// inflating each twice. A stream is charged instead at the most it can
// inflate to while those bounds, with the bytes counted, fit the budget.
// When they no longer fit, the streams charged by bound are counted (once
// each) and charged at their real size, times the number of draws, so a
// document is refused exactly when its content really inflates past the
// budget, before the stream that takes it past.
func (e *textExtractor) charge(s pdf.Value) error {
	id, hasID := objID(s)
	if n, ok := e.sizes[id]; hasID && ok {
		return e.take(n)
	}
	if bound, ok := streamBound(s); ok && hasID {
		if e.pendingBound+bound > e.budget {
			if err := e.settle(); err != nil {
				return err
			}
		}
		if e.pendingBound+bound <= e.budget {
			p := e.pending[id]
			if p == nil {
				p = &pendingStream{v: s, bound: bound}
				e.pending[id] = p
			}
			p.drawn++
			e.pendingBound += bound
			return nil
		}
	}
	n, err := e.streams.countStream(s, e.budget+1)
	if err == nil && hasID {
		e.sizes[id] = n
	}
	if err := e.take(n); err != nil {
		return err
	}
	if err != nil {
		return fmt.Errorf("read content stream: %w", err)
	}
	return nil
}

// take charges n counted bytes.
func (e *textExtractor) take(n int64) error {
	e.budget -= n
	if e.budget < e.pendingBound {
		if err := e.settle(); err != nil {
			return err
		}
	}
	if e.budget < 0 {
		return errContentBudget
	}
	return nil
}

// settle counts the streams charged by bound and charges their real size.
func (e *textExtractor) settle() error {
	for id, p := range e.pending {
		n, _ := e.streams.countStream(p.v, e.budget+1) // it was read already, errors and all
		e.sizes[id] = n
		e.budget -= n * p.drawn
		if e.budget < 0 {
			break
		}
	}
	clear(e.pending)
	e.pendingBound = 0
	if e.budget < 0 {
		return errContentBudget
	}
	return nil
}

type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{1, 0, 0, 1, 0, 0}

// mul returns m×n (apply m, then n), the PDF convention.
func (m affine) mul(n affine) affine {
	return affine{
		m.a*n.a + m.b*n.c, m.a*n.b + m.b*n.d,
		m.c*n.a + m.d*n.c, m.c*n.b + m.d*n.d,
		m.e*n.a + m.f*n.c + n.e, m.e*n.b + m.f*n.d + n.f,
	}
}

type gstate struct {
	ctm                affine
	font               *fontInfo
	fs, tc, tw, th, tl float64
	rise               float64
	// invisible: text render mode 3 (neither filled nor stroked) or 7
	// (clip only). A scanner that makes a "searchable PDF" lays its OCR
	// of the page under the picture this way: that text is a machine's
	// reading of a scan, not what the referrer typed, so it is not taken
	// (the page is read as the scan it is; pdftotext prints it).
	invisible bool
}

// page returns the glyphs of one page. It recovers the library's panics:
// a page with a broken content stream yields the glyphs read before it.
// The glyphs are valid until the next call.
func (e *textExtractor) page(p pdf.Page) (glyphs []glyph, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("content: %v", x)
		}
	}()
	res := p.V.Key("Resources")
	// /Resources is inherited; a /Parent chain that cycles ends at the
	// depth bound of the page tree.
	for v, i := p.V, 0; res.IsNull() && !v.IsNull() && i < maxPageTreeDepth; v, i = v.Key("Parent"), i+1 {
		res = v.Key("Resources")
		if v.Key("Parent").IsNull() {
			break
		}
	}
	glyphs = e.buf[:0]
	defer func() { e.buf = glyphs[:0] }()
	st := &interp{ex: e, out: &glyphs, active: map[uint64]bool{}}
	err = st.run(p.V.Key("Contents"), newResources(res), gstate{ctm: identity, th: 1}, 0)
	st.freeText(p.V.Key("Annots"))
	return glyphs, err
}

// maxAnnots bounds the annotations looked at on one page.
const maxAnnots = 2000

// daSize finds the font size in a default appearance string ("/Helv 12 Tf").
var daSize = regexp.MustCompile(`([0-9]*\.?[0-9]+)\s+Tf`)

// daFontSize is the font size a default appearance string sets, when it
// sets a readable one (4 to 72 points; 0 means "fit the box").
func daFontSize(da string) (float64, bool) {
	if m := daSize.FindStringSubmatch(da); m != nil {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && v >= 4 && v <= 72 {
			return v, true
		}
	}
	return 0, false
}

// freeText lays out the text of a page's free-text annotations where they
// are: a referrer who did not see the form's fields, or whose viewer's
// "Add text" tool (Edge, Preview, Acrobat's Fill & Sign) they used, typed
// the answers as text boxes over the form, which viewers and printers show
// and the form's fields never hold. Each line of /Contents is set from the
// top of /Rect at the size /DA gives, as a field's text is; the widths are estimated, as only
// the words' places matter for the labels they are read against.
func (in *interp) freeText(annots pdf.Value) {
	for i := 0; i < annots.Len() && i < maxAnnots; i++ {
		a := annots.Index(i)
		if a.Key("Subtype").Name() != "FreeText" || a.Key("F").Int64()&2 != 0 {
			continue // not a text box, or a hidden one
		}
		x0, y0, _, y1, ok := annotRect(a)
		if !ok {
			continue
		}
		size, ok := daFontSize(a.Key("DA").Text())
		if !ok {
			size = 10
		}
		// The first baseline as a viewer sets it: the box's padding (2) and
		// the font's ascent (about 0.7 of the size) below its top.
		n := len(*in.out)
		*in.out = appendBoxText(*in.out, maxGlyphs-in.ex.glyphs, x0, y0, y1-2-0.7*size, size, a.Key("Contents").Text())
		in.ex.glyphs += len(*in.out) - n
	}
}

type interp struct {
	ex     *textExtractor
	out    *[]glyph
	active map[uint64]bool // form XObjects being drawn (cycle guard)
	// The glyph size and width scale of the last glyph shown: a run of
	// text has one text matrix but for its position, and math.Hypot for
	// every glyph was a sixth of showing text.
	sizeMemo, widthMemo hypotMemo
}

// hypotMemo is the last math.Hypot worked out.
type hypotMemo struct{ p, q, h float64 }

// hypot is math.Hypot(p, q), from m when p and q equal its last (Hypot
// takes their absolute values, so 0 and -0 are the same; NaN equals
// nothing and is worked out again).
func (in *interp) hypot(m *hypotMemo, p, q float64) float64 {
	if p != m.p || q != m.q {
		*m = hypotMemo{p, q, math.Hypot(p, q)}
	}
	return m.h
}

// checkBudget charges the streams about to be interpreted to the budget,
// so a flate bomb is refused before the interpreter reads it. An array's
// streams are appended to parts as they are looked up, so that they are
// read without the library parsing each object again (a page's content is
// commonly an array of them).
func (in *interp) checkBudget(strm pdf.Value, parts []pdf.Value) ([]pdf.Value, error) {
	if strm.Kind() != pdf.Array {
		return parts, in.ex.charge(strm)
	}
	for i := 0; i < strm.Len() && i < maxContentParts; i++ {
		s := strm.Index(i)
		parts = append(parts, s)
		if s.Kind() == pdf.Stream {
			if err := in.ex.charge(s); err != nil {
				return parts, err
			}
		}
	}
	return parts, nil
}

// resources is a resource dictionary with the subdictionaries looked up
// once: the library resolves (parses) an indirect object at every Key, and
// a flattened form's page draws dozens of XObjects from one /XObject dict.
type resources struct {
	res          pdf.Value
	xobj, font   pdf.Value
	haveX, haveF bool
	fonts        map[string]*fontInfo
}

func newResources(res pdf.Value) *resources {
	return &resources{res: res, fonts: map[string]*fontInfo{}}
}

func (r *resources) xobject(name string) pdf.Value {
	if !r.haveX {
		r.xobj, r.haveX = r.res.Key("XObject"), true
	}
	return r.xobj.Key(name)
}

func (r *resources) fontDict() pdf.Value {
	if !r.haveF {
		r.font, r.haveF = r.res.Key("Font"), true
	}
	return r.font
}

func (in *interp) run(strm pdf.Value, res *resources, g gstate, depth int) error {
	if strm.Kind() != pdf.Stream && strm.Kind() != pdf.Array {
		return nil
	}
	var partsBuf [4]pdf.Value
	parts, err := in.checkBudget(strm, partsBuf[:0])
	if err != nil {
		return err
	}
	var stack []gstate
	var tm, tlm affine
	var failed error
	var readErr error
	showText := func(raw []byte) {
		f := g.font
		if f == nil {
			f = in.ex.noFont
		}
		step := 1
		if f.twoByte {
			step = 2
		}
		for i := 0; i < len(raw); i += step {
			code := raw[i:min(i+step, len(raw))]
			w0 := f.width(code)
			trm := affine{g.fs * g.th, 0, 0, g.fs, 0, g.rise}.mul(tm).mul(g.ctm)
			s := f.decode(code)
			if s != "" && !g.invisible && in.ex.glyphs < maxGlyphs {
				in.ex.count(f, s)
				size := in.hypot(&in.sizeMemo, trm.c, trm.d)
				*in.out = append(*in.out, glyph{x: trm.e, y: trm.f, w: w0 * in.hypot(&in.widthMemo, trm.a, trm.b), size: size, s: s})
				in.ex.glyphs++
			}
			tx := w0*g.fs + g.tc
			if len(code) == 1 && code[0] == ' ' {
				tx += g.tw
			}
			tm = affine{1, 0, 0, 1, tx * g.th, 0}.mul(tm)
		}
	}
	data, readErr := in.ex.streams.readContent(strm, parts, in.ex.content[depth][:0])
	defer func() { in.ex.content[depth] = data[:0] }()
	in.ex.lexers[depth].interpretContent(data, func(op []byte, args []operand) {
		num := func(i int) float64 {
			if i < len(args) {
				return args[i].float()
			}
			return 0
		}
		switch string(op) {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, g)
			}
		case "Q":
			if n := len(stack); n > 0 {
				g, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if len(args) == 6 {
				g.ctm = affine{num(0), num(1), num(2), num(3), num(4), num(5)}.mul(g.ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tc":
			g.tc = num(0)
		case "Tw":
			g.tw = num(0)
		case "Tz":
			g.th = num(0) / 100
		case "TL":
			g.tl = num(0)
		case "Ts":
			g.rise = num(0)
		case "Tr":
			mode := num(0)
			g.invisible = mode == 3 || mode == 7
		case "Tf":
			if len(args) == 2 {
				var name []byte
				if args[0].kind == opName {
					name = args[0].b
				}
				g.font = in.font(res, name)
				g.fs = num(1)
			}
		case "Td", "TD":
			if len(args) == 2 {
				if string(op) == "TD" {
					g.tl = -num(1)
				}
				tlm = affine{1, 0, 0, 1, num(0), num(1)}.mul(tlm)
				tm = tlm
			}
		case "Tm":
			if len(args) == 6 {
				tlm = affine{num(0), num(1), num(2), num(3), num(4), num(5)}
				tm = tlm
			}
		case "T*":
			tlm = affine{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
			tm = tlm
		case "Tj", "'", "\"":
			if string(op) != "Tj" {
				tlm = affine{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
				tm = tlm
			}
			if string(op) == "\"" && len(args) == 3 {
				g.tw, g.tc = num(0), num(1)
			}
			if len(args) > 0 {
				if s := &args[len(args)-1]; s.kind == opString {
					showText(s.b)
				}
			}
		case "TJ":
			if len(args) == 1 {
				var arr []operand
				if args[0].kind == opArray {
					arr = args[0].arr
				}
				for i := 0; i < len(arr) && i < 100_000; i++ {
					if arr[i].kind == opString {
						showText(arr[i].b)
					} else {
						tm = affine{1, 0, 0, 1, -arr[i].float() / 1000 * g.fs * g.th, 0}.mul(tm)
					}
				}
			}
		case "Do":
			if len(args) == 1 && depth < maxXObjectDepth && failed == nil {
				if err := in.xobject(res, args[0].name(), g, depth); err != nil {
					failed = err
				}
			}
		}
	})
	if failed == nil && readErr != nil {
		return fmt.Errorf("read content stream: %w", readErr)
	}
	return failed
}

// xobject draws a form XObject (flattened field appearances live there).
func (in *interp) xobject(res *resources, name string, g gstate, depth int) error {
	xo := res.xobject(name)
	if xo.Kind() != pdf.Stream || xo.Key("Subtype").Name() != "Form" {
		return nil
	}
	if id, ok := objID(xo); ok {
		if in.active[id] {
			return nil
		}
		in.active[id] = true
		defer delete(in.active, id)
	}
	if m := xo.Key("Matrix"); m.Len() == 6 {
		g.ctm = affine{m.Index(0).Float64(), m.Index(1).Float64(), m.Index(2).Float64(), m.Index(3).Float64(), m.Index(4).Float64(), m.Index(5).Float64()}.mul(g.ctm)
	}
	xres := res
	if r := xo.Key("Resources"); !r.IsNull() {
		xres = newResources(r)
	}
	return in.run(xo, xres, g, depth+1)
}

func (in *interp) font(res *resources, nameBytes []byte) *fontInfo {
	cache := res.fonts
	if f, ok := cache[string(nameBytes)]; ok {
		return f
	}
	name := string(nameBytes)
	// A font is shared by its object, found without loading it; a font
	// written inline in the /Font dictionary is read for this dictionary.
	fd := res.fontDict()
	id, shared := refID(fd, name)
	if f, ok := in.ex.fonts[id]; shared && ok {
		cache[name] = f
		return f
	}
	f := newFontInfo(fd.Key(name), &in.ex.streams)
	cache[name] = f
	if shared {
		in.ex.fonts[id] = f
	}
	return f
}

// fontInfo is what text extraction needs of a font, read once.
type fontInfo struct {
	enc     pdf.TextEncoding
	twoByte bool
	first   int
	widths  []float64
	cidW    map[int]float64
	dw      float64
	symbol  map[byte]string // Dingbats/Wingdings codes without a ToUnicode map
	pua     map[byte]string // boxes of a symbol font its ToUnicode maps to U+F0xx
	// dingbatsAsText is set for a Dingbats font whose ToUnicode map
	// gives the codes as the letters and digits they are in WinAnsi (as
	// Cairo writes it for the Dingbats it substitutes): a tick drawn as
	// "4" is a tick.
	dingbatsAsText bool
	decoded        map[string]string // codes of more than one byte
	byteText       *byteTexts        // one-byte codes
	// uni is a simple font's ToUnicode map, read when the font is first
	// used by readToUnicode where the library does not read it (the font
	// has an /Encoding too, or the library's reader failed on the map) or
	// is not asked to (mapOnly): the codes it maps are decoded by it, the
	// rest by the encoding (see pdf_tounicode.go).
	uni map[string]string
	// mapOnly is set for a simple font with a ToUnicode map and no
	// /Encoding, decoded by the map alone: a code the map leaves out is
	// then read as WinAnsi (standard encoding for the
	// letters), as pdftotext reads it by the font's own encoding. iText
	// 5 wrote maps with no entries at all (pdf.js's issue1350.pdf): its
	// pages read as no text, "a scan".
	mapOnly bool
	// What the font drew in this document (pdf_garbled.go).
	drawn runeCounts
	// identity is whether a Type 0 font's ToUnicode map is an identity
	// (identityToUnicode), worked out from toUnicode on the first two-byte
	// code that decodes to nothing: 0 not yet, 1 yes, -1 no. sr is the
	// extractor's, which outlives its fonts.
	identity  int8
	toUnicode pdf.Value
	cidToGID  pdf.Value // the descendant font's CIDToGIDMap
	sr        *streamReader
}

// byteTexts is the text of each one-byte code of a font, once worked out.
type byteTexts struct {
	text  [256]string
	known [4]uint64 // bit c: text[c] is worked out
}

// isDingbats reports ITC Zapf Dingbats by its base font name, or URW's
// D050000L, which Ghostscript and Cairo embed in its place.
func isDingbats(base string) bool {
	return strings.Contains(base, "dingbats") || strings.Contains(base, "d050000l")
}

// Tick and box glyphs of the symbol fonts forms use for check boxes.
var (
	dingbatsTicks  = map[byte]string{'3': "✓", '4': "✓", '7': "✘", '8': "✘", 'n': "■", 'l': "●", 'o': "☐", 'q': "☐"}
	wingdingsTicks = map[byte]string{0xFC: "✓", 0xFB: "✘", 0xFD: "☒", 0xFE: "☑", 0xA8: "☐", 0x6F: "☐", 0x71: "☐", 0x78: "☒"}
	// OpenSymbol stands in for Symbol too, whose 0x6F, 0x71 and 0x78 are
	// Greek letters: only Wingdings' codes that are no letter in Symbol.
	openSymbolTicks = map[byte]string{0xFC: "✓", 0xFB: "✘", 0xFD: "☒", 0xFE: "☑", 0xA8: "☐"}
)

func newFontInfo(v pdf.Value, sr *streamReader) *fontInfo {
	f := &fontInfo{dw: 1000}
	if v.Kind() != pdf.Dict {
		return f
	}
	base := strings.ToLower(v.Key("BaseFont").Name())
	hasToUnicode := v.Key("ToUnicode").Kind() == pdf.Stream
	// A simple font with a ToUnicode map and no /Encoding the library
	// decodes by the map alone, which it reads with its PostScript
	// interpreter: a tenth of reading a flattened form (issue 19). Such a
	// map (one-byte codes) is read by readToUnicode instead, below.
	mapOnly := v.Key("Subtype").Name() != "Type0" && hasToUnicode && v.Key("Encoding").Kind() == pdf.Null
	if !mapOnly {
		f.enc = fontEncoder(pdf.Font{V: v})
	}
	switch {
	case isDingbats(base) && !hasToUnicode:
		f.symbol = dingbatsTicks
	case isDingbats(base):
		f.dingbatsAsText = true
	case strings.Contains(base, "wingdings") && !hasToUnicode:
		f.symbol = wingdingsTicks
	case strings.Contains(base, "wingdings"):
		f.pua = wingdingsTicks
	case strings.Contains(base, "opensymbol") && hasToUnicode:
		// LibreOffice draws a Wingdings box with OpenSymbol where Wingdings
		// is not installed, keeping its code as U+F0xx.
		f.pua = openSymbolTicks
	}
	if v.Key("Subtype").Name() == "Type0" {
		f.twoByte = true
		desc := v.Key("DescendantFonts").Index(0)
		f.toUnicode, f.cidToGID, f.sr = v.Key("ToUnicode"), desc.Key("CIDToGIDMap"), sr
		if dw := desc.Key("DW"); dw.Kind() == pdf.Integer || dw.Kind() == pdf.Real {
			f.dw = dw.Float64()
		}
		f.cidW = map[int]float64{}
		w := desc.Key("W")
		for i := 0; i < w.Len() && len(f.cidW) < 70_000; {
			c := int(w.Index(i).Int64())
			next := w.Index(i + 1)
			if next.Kind() == pdf.Array {
				for j := 0; j < next.Len() && len(f.cidW) < 70_000; j++ {
					f.cidW[c+j] = next.Index(j).Float64()
				}
				i += 2
				continue
			}
			last := int(next.Int64())
			width := w.Index(i + 2).Float64()
			for c2 := c; c2 <= last && c2-c < 70_000; c2++ {
				f.cidW[c2] = width
			}
			i += 3
		}
		return f
	}
	f.mapOnly = mapOnly && f.symbol == nil
	if hasToUnicode && (v.Key("Encoding").Kind() != pdf.Null || f.enc == nil) {
		// Read here: the library reads the map only when the font has no
		// /Encoding, and not at all when the map broke its reader.
		f.uni = readToUnicode(sr, v.Key("ToUnicode"))
	}
	f.first = int(v.Key("FirstChar").Int64())
	ws := v.Key("Widths")
	for i := 0; i < ws.Len() && i < 256; i++ {
		f.widths = append(f.widths, ws.Index(i).Float64())
	}
	return f
}

// fontEncoder is the library's decoding of a font's codes, or nil when
// the library cannot read the font's maps: it panics on a ToUnicode
// stream that is no CMap (pdf.js's issue19802.pdf has one compressed
// without its /Filter), which lost the whole page. The font's codes are
// then taken as they are: a page of them is either plain text in a simple
// font, or text no one can read, which OCR then reads; never a damaged
// file.
func fontEncoder(font pdf.Font) (enc pdf.TextEncoding) {
	defer func() {
		if recover() != nil {
			enc = nil
		}
	}()
	return font.Encoder()
}

// width is the code's advance in text space units ×1000.
func (f *fontInfo) width(code []byte) float64 {
	if f.twoByte {
		c := 0
		for i := 0; i < len(code); i++ {
			c = c<<8 | int(code[i])
		}
		if w, ok := f.cidW[c]; ok {
			return w / 1000
		}
		return f.dw / 1000
	}
	i := int(code[0]) - f.first
	if i >= 0 && i < len(f.widths) {
		return f.widths[i] / 1000
	}
	return 0.5 // a guess keeps glyphs apart when a font has no widths
}

// maxDecoded bounds the codes whose text a font remembers: a two-byte
// font has 65,536, a form uses a few dozen.
const maxDecoded = 4096

// decode is the text of one code; "" for control codes and undecodable
// bytes. A code's text is worked out once per font (a ToUnicode CMap is
// searched linearly, and each step allocates).
func (f *fontInfo) decode(code []byte) string {
	if len(code) == 1 {
		// A one-byte code's text is found by index: a map lookup for
		// every glyph shown was a tenth of showing text.
		b := &f.byteText
		if *b == nil {
			*b = &byteTexts{}
		}
		c := code[0]
		if (*b).known[c/64]&(1<<(c%64)) == 0 {
			(*b).text[c] = f.decodeCode(string(code))
			(*b).known[c/64] |= 1 << (c % 64)
		}
		return (*b).text[c]
	}
	if s, ok := f.decoded[string(code)]; ok {
		return s
	}
	s := f.decodeCode(string(code))
	if len(f.decoded) < maxDecoded {
		if f.decoded == nil {
			f.decoded = map[string]string{}
		}
		f.decoded[string(code)] = s
	}
	return s
}

func (f *fontInfo) decodeCode(code string) string {
	if f.symbol != nil {
		return f.symbol[code[0]]
	}
	s, ok := f.uni[code]
	switch {
	case ok:
	case f.enc != nil:
		s = f.enc.Decode(code)
	default:
		s = code
	}
	if f.dingbatsAsText && len(code) == 1 && s == code {
		if t, ok := dingbatsTicks[code[0]]; ok {
			s = t
		}
	}
	if f.pua != nil {
		var b strings.Builder
		for _, r := range s {
			if r >= 0xF000 && r <= 0xF0FF {
				if t, ok := f.pua[byte(r-0xF000)]; ok {
					b.WriteString(t)
				}
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	t := textOnly(s)
	if t == "" && f.mapOnly && len(code) == 1 {
		t = textOnly(string(charmap.Windows1252.DecodeByte(code[0])))
	}
	if f.twoByte && len(code) == 2 && (t == "" || f.toUnicode.Kind() == pdf.Name) && f.identityMap() {
		t = textOnly(utf16Code([]byte(code)))
	}
	return t
}

// identityMap reports whether f's ToUnicode map is an identity, read once.
func (f *fontInfo) identityMap() bool {
	if f.identity == 0 {
		f.identity = -1
		if identityToUnicode(f.sr, f.toUnicode, f.cidToGID) {
			f.identity = 1
		}
	}
	return f.identity == 1
}

// textOnly drops what is not text from a decoded code: control codes,
// replacement and byte-order marks; tabs and no-break spaces are spaces;
// a ligature is its letters.
func textOnly(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = foldLigatures(s)
	return strings.Map(func(r rune) rune {
		if r == 0xA0 || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar || r == 0xFEFF {
			return -1
		}
		return r
	}, s)
}

// ligatures spells out the Latin ligatures Unicode keeps for compatibility
// (U+FB00-FB06). Fonts draw "fi" or "ffl" as one glyph, and the character
// maps that Chrome's and Edge's printing (Skia) and LibreOffice write name
// that glyph's ligature character: a name typed "Sofia" would be read
// "Soﬁa", and a label with "ff" in it not found. pdftotext spells them
// out too. Tesseract writes them as well.
var ligatures = strings.NewReplacer("\uFB00", "ff", "\uFB01", "fi", "\uFB02", "fl", "\uFB03", "ffi", "\uFB04", "ffl", "\uFB05", "st", "\uFB06", "st")

// foldLigatures returns s with its ligatures spelled out; s itself when it
// has none, as nearly every code's text has not.
func foldLigatures(s string) string {
	// Every ligature's UTF-8 starts EF AC (U+FB00-FB3F).
	if !strings.Contains(s, "\xef\xac") {
		return s
	}
	return ligatures.Replace(s)
}
