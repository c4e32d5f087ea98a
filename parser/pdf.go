package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/ledongthuc/pdf"
)

// Reasons a PDF could not be read, worded for a coordinator.
const (
	ReasonPDFEncrypted = "the PDF is encrypted (password-protected): ask the sender for an unprotected copy"
	// ReasonPDFRightsManaged: a PDF protected by Microsoft's rights
	// management, as a Microsoft 365 sensitivity label with encryption
	// saves it; no password opens it, the organisation's sign-in does.
	ReasonPDFRightsManaged = "the PDF is protected by Microsoft's rights management (a sensitivity label): a coordinator signed in to Microsoft 365 may open it"
	ReasonPDFScan          = "the PDF has no text layer: it looks like a scan"
	ReasonPDFTextGarbled   = "the PDF's text cannot be read: its fonts do not say which letters they draw"
	ReasonPDFNotPDF        = "the file is not a PDF"
	ReasonPDFDamaged       = "the PDF is damaged and could not be read"
	ReasonPDFTruncated     = "the PDF is incomplete (cut off)"
	ReasonPDFTooManyPages  = "the PDF has too many pages to be a DSR form"
	ReasonPDFTooManyObjs   = "the PDF is too complex to read (too many objects)"
	ReasonPDFTimeout       = "the PDF took too long to read"
	ReasonPDFMemory        = "the PDF needed too much memory to read"
)

// pdfContentBudget caps the decompressed content-stream bytes read from one
// PDF: a form is a few hundred kilobytes, a flate bomb is gigabytes.
const pdfContentBudget = 64 << 20

// inProcessPDF reads PDFs in this process. The library panics on bad
// objects and can loop forever (a /Prev cycle in the xref chain), so every
// read runs on its own goroutine behind recover and a deadline; a stuck
// goroutine is abandoned, which is why production uses the child reader.
type inProcessPDF struct {
	limits  Limits
	mapping *Mapping
	// extractors keeps text extractors for the next PDF: their zlib
	// reader and buffers are the same from one PDF to the next (a PDF
	// child reads up to maxChildPDFs PDFs with one reader).
	extractors sync.Pool
}

// NewInProcessPDFReader reads PDFs in this process with the default
// mapping, containing panics and bounding time (not memory).
func NewInProcessPDFReader(l Limits) PDFReader { return NewInProcessPDFReaderWith(l, nil) }

// NewInProcessPDFReaderWith is NewInProcessPDFReader with the mapping whose
// printed labels are looked for on flattened forms; nil means DefaultMapping.
func NewInProcessPDFReaderWith(l Limits, m *Mapping) PDFReader {
	if m == nil {
		m = DefaultMapping()
	}
	return &inProcessPDF{limits: l.withDefaults(), mapping: m}
}

// ReadPDFFiles reads the forms and the files attached inside the PDF,
// under the same deadline.
func (r *inProcessPDF) ReadPDFFiles(ctx context.Context, data []byte) (pdfContent, error) {
	return r.readContent(ctx, data, true)
}

func (r *inProcessPDF) ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error) {
	c, err := r.readContent(ctx, data, false)
	return c.Forms, err
}

// readContent reads a PDF within the time limit, containing panics; with
// files, the files attached inside it too.
func (r *inProcessPDF) readContent(ctx context.Context, data []byte, files bool) (pdfContent, error) {
	tctx, cancel := context.WithTimeout(ctx, r.limits.PDFTimeout)
	defer cancel()
	type result struct {
		c   pdfContent
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if x := recover(); x != nil {
				done <- result{err: unreadable(ReasonPDFDamaged, fmt.Errorf("pdf library panic: %v", x))}
			}
		}()
		c, err := r.read(tctx, data, files)
		done <- result{c, err}
	}()
	select {
	case res := <-done:
		return res.c, res.err
	case <-tctx.Done():
		if ctx.Err() != nil {
			return pdfContent{}, fmt.Errorf("read pdf: %w", ctx.Err())
		}
		return pdfContent{}, unreadable(ReasonPDFTimeout, fmt.Errorf("read pdf: over %s", r.limits.PDFTimeout))
	}
}

// read checks a file, reads its forms and, with files, the files
// attached inside it when its names show it may hold any.
func (r *inProcessPDF) read(ctx context.Context, data []byte, files bool) (pdfContent, error) {
	data, names, err := r.precheck(data)
	if err != nil {
		return pdfContent{}, err
	}
	forms, err := r.readForms(ctx, data, names)
	c := pdfContent{Forms: forms}
	if files && names.embeds && ctx.Err() == nil {
		c.Files, c.FilesNote = embeddedFiles(ctx, data, r.limits)
	}
	return c, err
}

// embeddedFiles takes out the files attached inside a checked PDF,
// saying why some were not; the object reader never panics, and a panic
// would end only this.
func embeddedFiles(ctx context.Context, data []byte, l Limits) (files []EmbeddedFile, note string) {
	defer func() {
		if x := recover(); x != nil {
			files, note = nil, "the file is damaged"
		}
	}()
	files, err := pdfEmbeddedFiles(ctx, data, l)
	if err != nil {
		note = cleanErr(err)
	}
	return files, note
}

// readForms does the work on a checked file; it may panic (contained by
// readContent). A file the
// library can read is read as it is; one it cannot (see pdf_rewrite.go)
// is rewritten first, and one it fails on is rewritten and read again.
func (r *inProcessPDF) readForms(ctx context.Context, data []byte, names nameScan) ([]*RawForm, error) {
	x, xerr := readXrefChain(data, r.limits.MaxPDFObjects)
	if errors.Is(xerr, errXrefLoop) {
		// The library would follow the chain round for ever: only the
		// file's objects, found by a scan, are given to it.
		return r.readReconstructed(ctx, data, unreadable(ReasonPDFDamaged, xerr))
	}
	if xerr != nil {
		// Our reader found no chain; the library may still read it, but
		// must not be given a chain that cycles.
		if err := prevChainLoops(data); err != nil {
			return r.readReconstructed(ctx, data, err)
		}
		forms, err := r.readWithLibrary(ctx, data)
		if ReasonOf(err) != ReasonPDFDamaged {
			return forms, err
		}
		return r.readReconstructed(ctx, data, err)
	}
	if rewriteReason(data, x, names) == "" {
		forms, err := r.readWithLibrary(ctx, data)
		if ReasonOf(err) != ReasonPDFDamaged {
			return forms, err
		}
	}
	// Plainly written objects of object streams are copied as they are
	// (pdf_plain.go); should the library fail on the result, the file is
	// read as one whose chain failed: every object found and parsed.
	clean, _, err := rewriteCopying(ctx, data, x, pdfContentBudget, true)
	if err != nil {
		err = rewriteError(ctx, err)
		if ReasonOf(err) != ReasonPDFDamaged {
			return nil, err
		}
		return r.readReconstructed(ctx, data, err)
	}
	forms, err := r.readWithLibrary(ctx, clean)
	if ReasonOf(err) == ReasonPDFDamaged {
		return r.readReconstructed(ctx, data, err)
	}
	return forms, err
}

// readReconstructed reads a file whose cross-reference chain led nowhere
// readable by scanning it for its objects, as the peers do; failing that,
// the error the chain gave stands.
func (r *inProcessPDF) readReconstructed(ctx context.Context, data []byte, chainErr error) ([]*RawForm, error) {
	x, err := reconstructXref(data, r.limits.MaxPDFObjects, pdfContentBudget)
	if err != nil {
		return nil, chainErr
	}
	clean, err := rewritePDF(ctx, data, x, pdfContentBudget)
	if err != nil {
		if err := rewriteError(ctx, err); ReasonOf(err) != ReasonPDFDamaged {
			return nil, err
		}
		return nil, chainErr
	}
	forms, err := r.readWithLibrary(ctx, clean)
	if ReasonOf(err) == ReasonPDFDamaged {
		return nil, chainErr
	}
	return forms, err
}

// rewriteError words a failed rewrite: only a file that needs a password
// (or another security handler's key) is "encrypted".
func rewriteError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errRightsManaged):
		return unreadable(ReasonPDFRightsManaged, err)
	case errors.Is(err, errNeedsPassword), errors.Is(err, errUnsupportedSecurity):
		return unreadable(ReasonPDFEncrypted, err)
	case errors.Is(err, errDecodeBudget):
		return unreadable(ReasonPDFMemory, err)
	case ctx.Err() != nil:
		return unreadable(ReasonPDFTimeout, fmt.Errorf("rewrite pdf: %w", ctx.Err()))
	}
	return unreadable(ReasonPDFDamaged, fmt.Errorf("rewrite pdf: %w", err))
}

// rewriteReason says why a file must be rewritten before the library
// reads it; "" when it need not be. names is precheck's scan of data.
func rewriteReason(data []byte, x *xrefInfo, names nameScan) string {
	switch {
	case x.mixed():
		return "cross-reference sections of both forms"
	case x.trailer["Encrypt"] != nil:
		return "encrypted"
	case x.compressed:
		// The library reads object streams, but inflates one again for
		// every object it reads from it: rewritten, such a form reads in
		// a third of the time (BenchmarkReadPDFRewrite).
		return "object streams"
	case names.otherFilters:
		return "filters or predictors the library does not decode"
	case badEscape(data):
		return "strings with escapes the library refuses"
	}
	return ""
}

// nameScan is what precheck and rewriteReason ask of a file's names,
// found in one pass: each question is about names (/Size, /Index, the
// filters'), a form's few thousand names are where a scan for any of
// them stops, and a pass for each question was a tenth of reading a
// fillable form (issue 19).
type nameScan struct {
	// badSize is the first /Size entry (what `/Size\s+(\d{1,19})`
	// finds) that is not a number up to the limit; nil if none. It may
	// be no count of objects (an attached file's /Params give its
	// length in bytes as /Size): precheck asks the chain.
	badSize []byte
	// badIndex is the first entry over the limit of the first /Index
	// array (what `/Index\s*\[([\d\s]*)\]` finds) that has one.
	badIndex []byte
	// otherFilters reports a name of a filter the library cannot decode
	// (abbreviated names too), or a predictor other than PNG Up (12),
	// which it undoes only when every row uses Up.
	otherFilters bool
	// embeds reports a name of an embedded file (/EmbeddedFile,
	// /EmbeddedFiles) or of a file-attachment annotation: the file may
	// hold attached files (pdf_embedded.go).
	embeds bool
}

// scanNames visits every '/' of data once. A name holds no '/', so what
// each question's own scan found at a '/' depends only on the bytes from
// there: the answers are those of a scan per question (kept as oracles in
// pdf_scan_test.go).
func scanNames(data []byte, maxObjs int64) nameScan {
	var s nameScan
	skip := spaceSkipper{lineFrom: -1, lineEnd: -2, endFrom: -1, endTo: -1}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '/')
		if j < 0 {
			return s
		}
		p := i + j + 1 // the name's first byte
		i = p
		if p+2 > len(data) {
			return s // no name looked for is shorter than two bytes
		}
		// Names are told apart by their first two bytes, which pass
		// over most of a form's (/Type, /Font, /FlateDecode's "Fl" not).
		switch uint16(data[p])<<8 | uint16(data[p+1]) {
		case 'S'<<8 | 'i':
			if s.badSize == nil {
				if n := sizeEntryAt(data, p); n != nil && tooManyObjs(n, maxObjs) {
					s.badSize = n
				}
			}
		case 'I'<<8 | 'n':
			if s.badIndex == nil {
				s.badIndex = badIndexEntryAt(data, p, maxObjs)
			}
		case 'E'<<8 | 'm', 'F'<<8 | 'i':
			s.embeds = s.embeds || bytes.HasPrefix(data[p:], []byte("EmbeddedFile")) || bytes.HasPrefix(data[p:], []byte("FileAttachment"))
		case 'A'<<8 | 'S', 'A'<<8 | 'H', 'A'<<8 | '8', 'L'<<8 | 'Z', 'R'<<8 | 'u', 'R'<<8 | 'L', 'F'<<8 | 'l', 'C'<<8 | 'r', 'P'<<8 | 'r':
			if !s.otherFilters {
				s.otherFilters = otherFilterAt(data, p, &skip)
			}
		}
	}
}

// tooManyObjs reports whether a count from the file is not a number up
// to maxObjs.
func tooManyObjs(s []byte, maxObjs int64) bool {
	n, err := strconv.ParseInt(string(s), 10, 64)
	return err != nil || n > maxObjs
}

// sizeEntryAt is the number of a /Size entry whose name begins at p
// (after its '/'): what `/Size\s+(\d{1,19})` matches there; nil if none.
func sizeEntryAt(data []byte, p int) []byte {
	if !bytes.HasPrefix(data[p:], []byte("Size")) {
		return nil
	}
	at := p + len("Size")
	q := at
	for q < len(data) && isRegexpSpace(data[q]) {
		q++
	}
	d := q
	for d < len(data) && d-q < 19 && data[d] >= '0' && data[d] <= '9' {
		d++
	}
	if q == at || d == q {
		return nil
	}
	return data[q:d]
}

// badIndexEntryAt is the first entry over maxObjs of an /Index array
// whose name begins at p (after its '/'), as `/Index\s*\[([\d\s]*)\]`
// matches it; nil if there is none or no match.
func badIndexEntryAt(data []byte, p int, maxObjs int64) []byte {
	if !bytes.HasPrefix(data[p:], []byte("Index")) {
		return nil
	}
	q := p + len("Index")
	for q < len(data) && isRegexpSpace(data[q]) {
		q++
	}
	if q >= len(data) || data[q] != '[' {
		return nil
	}
	start := q + 1
	end := start
	for end < len(data) && (isRegexpSpace(data[end]) || data[end] >= '0' && data[end] <= '9') {
		end++
	}
	if end >= len(data) || data[end] != ']' {
		return nil
	}
	for _, f := range bytes.Fields(data[start:end]) {
		if tooManyObjs(f, maxObjs) {
			return f
		}
	}
	return nil
}

// otherFilterAt reports whether the name that begins at p (after its
// '/') is one of a filter the library cannot decode, or /Predictor
// followed by a predictor other than 12. The library panics on
// /Predictor 1 ("no prediction", which AutoCAD's PDF plotter writes on
// every stream): its reader knows only PNG Up. Names are read to 16 bytes
// at most, none looked for being longer. What follows /Predictor is read
// as the lexer's next token would be, but only where that can be a
// number: a string, array or name after it is not read (it was read to
// its end after each /Predictor, so a file of "/Predictor (" took 1.3 s
// for 100 KB, and 33 s for 400 KB), and a comment is skipped by skip.
func otherFilterAt(data []byte, p int, skip *spaceSkipper) bool {
	end := p
	for end < len(data) && end-p < 16 && !isPDFSpace(data[end]) && !isPDFDelim(data[end]) {
		end++
	}
	switch string(data[p:end]) {
	case "ASCIIHexDecode", "AHx", "LZWDecode", "LZW", "RunLengthDecode", "RL", "Fl", "A85", "Crypt":
		return true
	case "Predictor":
		// A token that begins with a delimiter is not a number;
		// otherwise it is the run of regular bytes from there.
		q := skip.skip(data, end)
		if q >= len(data) || isPDFDelim(data[q]) {
			return false
		}
		l := pdfLexer{data: data, pos: q}
		if p, ok := l.token().(int64); ok && p != 12 {
			return true
		}
	}
	return false
}

// spaceSkipper is pdfLexer.skipSpace (white space and comments) for the
// names scanNames visits, in order. Every name in a comment is followed
// by the rest of its line, and by what follows that: skipped again from
// each, a file of "/Predictor %" took 0.3 s for 100 KB and 5 s for 400 KB.
// So the last comment's line end is kept, and where skipping from a line
// end led: from any line end it passed, it leads to the same place (a
// line end is never inside a comment, only at its end).
type spaceSkipper struct {
	lineFrom, lineEnd int // the first line end at or after lineFrom is lineEnd
	endFrom, endTo    int // from a line end in [endFrom, endTo), skipping ends at endTo
}

// skip returns where skipSpace, from p, would leave the lexer.
func (k *spaceSkipper) skip(data []byte, p int) int {
	for p < len(data) && isPDFSpace(data[p]) {
		p++
	}
	if p >= len(data) || data[p] != '%' {
		return p
	}
	e := k.lineEnd
	if p < k.lineFrom || p > k.lineEnd {
		for e = p; e < len(data) && data[e] != '\n' && data[e] != '\r'; e++ {
		}
		k.lineFrom, k.lineEnd = p, e
	}
	if e >= k.endFrom && e < k.endTo {
		return k.endTo
	}
	l := pdfLexer{data: data, pos: e}
	l.skipSpace()
	k.endFrom, k.endTo = e, l.pos
	return l.pos
}

// badEscape reports whether a backslash outside stream data escapes a
// character the library refuses (it panics on "\+"; viewers read the
// character). Strings in object streams are compressed out of sight: a
// panic reading them makes the file damaged, and it is rewritten then.
func badEscape(data []byte) bool {
	next := -1 // the next "stream" at or after i; -2 when there is none
	// The next '\\' at or after i, kept while streams before it are
	// passed over: looked for again from each stream's end, it was found
	// again past every stream of a form (all of them, if its strings are
	// at the end).
	bs := -1
	for i := 0; i < len(data); {
		if bs < i {
			j := bytes.IndexByte(data[i:], '\\')
			if j < 0 {
				return false
			}
			bs = i + j
		}
		j := bs - i
		if next != -2 && next < i {
			next = bytes.Index(data[i:], []byte("stream"))
			if next >= 0 {
				next += i
			} else {
				next = -2
			}
		}
		if next >= 0 && next < i+j {
			// Skip the stream's data (and an "endstream" found first).
			at := next
			if at >= 3 && string(data[at-3:at]) == "end" {
				i = at + len("stream")
				continue
			}
			e := bytes.Index(data[at+len("stream"):], endstreamKw)
			if e < 0 {
				return false
			}
			i = at + len("stream") + e + len(endstreamKw)
			continue
		}
		at := i + j
		if at+1 < len(data) {
			switch c := data[at+1]; c {
			case 'n', 'r', 't', 'b', 'f', '(', ')', '\\', '\r', '\n':
			default:
				if c < '0' || c > '7' {
					return true
				}
			}
		}
		i = at + 2
	}
	return false
}

// readWithLibrary reads a file with ledongthuc/pdf, its panics contained.
func (r *inProcessPDF) readWithLibrary(ctx context.Context, data []byte) (forms []*RawForm, err error) {
	defer func() {
		if x := recover(); x != nil {
			forms, err = nil, unreadable(ReasonPDFDamaged, fmt.Errorf("pdf library panic: %v", x))
		}
	}()
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, classifyOpenError(data, err)
	}
	trailer := doc.Trailer()
	if trailer.Key("Encrypt").Kind() != pdf.Null {
		// Encrypted files are rewritten decrypted; this one's chain only
		// the library could follow, and it decrypts RC4-40 to garbage:
		// never trust it. It opened without a password, so it is not
		// password-protected.
		return nil, unreadable(ReasonPDFDamaged, errors.New("trailer has /Encrypt and the file could not be decrypted"))
	}
	if n := trailer.Key("Size").Int64(); n > int64(r.limits.MaxPDFObjects) {
		return nil, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("trailer /Size %d", n))
	}
	root := trailer.Key("Root")
	pages, err := collectPages(root.Key("Pages"), r.limits.MaxPDFPages)
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, unreadable(ReasonPDFDamaged, errors.New("no pages"))
	}

	fields, err := readAcroForm(root, pages)
	if err != nil {
		return nil, err
	}
	filled := anyFilled(fields)
	ex := r.extractor(data)
	defer r.release(ex)
	d := &docText{ctx: ctx, ex: ex, pages: pages, texts: make([]*pageText, len(pages))}
	// A page's kind comes from its printed marker or title, which needs its
	// text laid out. When the AcroForm is filled, the values come from the
	// fields and the text is only needed to split the document into forms:
	// a page whose fields name one form's fields only is that form's page,
	// and only the other pages are read.
	var kinds []FormKind
	if filled {
		kinds = fieldPageKinds(r.mapping, fields, len(pages))
	} else {
		kinds = make([]FormKind, len(pages))
	}
	for i := range pages {
		if kinds[i] != "" {
			continue
		}
		pt, err := d.text(i)
		if err != nil {
			return nil, err
		}
		kinds[i] = pageKind(r.mapping, pt)
	}
	if !filled {
		if len(d.errs) == len(pages) {
			return nil, unreadable(ReasonPDFDamaged, errors.Join(d.errs...))
		}
		hasText := false
		for _, t := range d.texts {
			if t.letters > 0 {
				hasText = true
				break
			}
		}
		// A page of widgets with no text is a blank form, not a scan:
		// its fields are read by name, all blank (a signature field
		// alone does not make a signed scan a form).
		if !hasText && !anyAnswerField(fields) {
			return nil, unreadable(ReasonPDFScan, fmt.Errorf("%d pages, no text", len(pages)))
		}
		// Text drawn in fonts that lost their character maps is no
		// text at all (pdf_garbled.go): read like a scan, or given to a
		// coordinator, such a form is not taken for an attachment that
		// is not a form.
		if garbled, all := ex.garbledRunes(); !anyKind(kinds) && !anyAnswerField(fields) && textGarbled(garbled, all) {
			return nil, unreadable(ReasonPDFTextGarbled, fmt.Errorf("%d of %d characters drawn in fonts without a usable character map", garbled, all))
		}
	}
	return assembleForms(r.mapping, trailer, kinds, d, fields)
}

func anyKind(kinds []FormKind) bool {
	for _, k := range kinds {
		if k != "" {
			return true
		}
	}
	return false
}

// extractor is a text extractor for the file data, one a PDF read
// before used if there is one.
func (r *inProcessPDF) extractor(data []byte) *textExtractor {
	if e, ok := r.extractors.Get().(*textExtractor); ok {
		e.reset(pdfContentBudget, data)
		return e
	}
	return newTextExtractor(pdfContentBudget, data)
}

// release keeps e for the next PDF, without its file and fonts.
func (r *inProcessPDF) release(e *textExtractor) {
	e.trim()
	r.extractors.Put(e)
}

// docText lays out a document's pages as they are needed, each once.
type docText struct {
	ctx   context.Context
	ex    *textExtractor
	pages []pdf.Page
	texts []*pageText // nil until read
	errs  []error     // pages whose content could not all be read
}

// text returns page i's text. A page with a broken content stream yields
// the text read before the break (its error is kept in errs); running
// out of time or over the content budget ends the document.
func (d *docText) text(i int) (*pageText, error) {
	if t := d.texts[i]; t != nil {
		return t, nil
	}
	t, err := d.textWith(i, nil)
	if err != nil {
		return nil, err
	}
	d.texts[i] = t
	return t, nil
}

// textWith reads page i's text with more glyphs laid out among its own
// (fields' values where they are shown: pdf_fieldtext.go), not kept.
func (d *docText) textWith(i int, extra []glyph) (*pageText, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, unreadable(ReasonPDFTimeout, fmt.Errorf("read page %d: %w", i+1, err))
	}
	glyphs, err := d.ex.page(d.pages[i])
	if errors.Is(err, errContentBudget) {
		return nil, unreadable(ReasonPDFMemory, fmt.Errorf("page %d: %w", i+1, err))
	}
	if err != nil && d.texts[i] == nil {
		d.errs = append(d.errs, fmt.Errorf("page %d: %w", i+1, err))
	}
	return layoutPage(append(glyphs, extra...)), nil
}

var (
	prevRe   = regexp.MustCompile(`/Prev\s+(\d{1,19})(\s+\d+\s+R)?`)
	startxRe = regexp.MustCompile(`startxref\s+(\d{1,19})`)
)

// precheck rejects what the library would choke on before it allocates:
// it sizes its xref table from /Size and subsection numbers, so a forged
// "2000000000" would take the process down with it. It returns the data
// to read (its header mended) and the scan of its names.
func (r *inProcessPDF) precheck(data []byte) ([]byte, nameScan, error) {
	head := data[:min(len(data), 1024)]
	i := bytes.Index(head, []byte("%PDF-"))
	if i < 0 {
		return nil, nameScan{}, unreadable(ReasonPDFNotPDF, errors.New("no %PDF- header"))
	}
	data = data[i:]
	// The library accepts only "%PDF-1.0".."%PDF-1.7" followed by a line
	// end; a PDF 2.0 header or a space before the line end is common and
	// harmless, so rewrite the header comment in a copy.
	if len(data) > 9 && (string(data[5:7]) != "1." || data[7] < '0' || data[7] > '7' || (data[8] != '\n' && data[8] != '\r')) {
		data = bytes.Clone(data)
		copy(data[5:9], "1.7\n")
	}
	data = trimPadding(data)
	if !bytes.Contains(data[max(0, len(data)-2048):], []byte("%%EOF")) {
		return nil, nameScan{}, unreadable(ReasonPDFTruncated, errors.New("no %%EOF at the end"))
	}
	maxObjs := int64(r.limits.MaxPDFObjects)
	names := scanNames(data, maxObjs)
	if names.badSize != nil {
		// The library sizes its table by the /Size of the cross-reference
		// streams it reads from startxref; any other /Size (an attached
		// file's length in its /Params: a referral with a letter attached
		// in Acrobat) is no count of objects. When the chain cannot be
		// read as the library will read it, the file is refused.
		if !chainSizesWithin(data, maxObjs) {
			return nil, nameScan{}, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("/Size %s", names.badSize))
		}
	}
	if names.badIndex != nil {
		return nil, nameScan{}, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("/Index entry %s", names.badIndex))
	}
	if m1, m2 := badXrefHead(data, maxObjs); m1 != nil {
		return nil, nameScan{}, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("xref subsection %s %s", m1, m2))
	}
	return data, names, nil
}

// chainSizesWithin reports whether the cross-reference chain from the
// last startxref reads (every stream's /Size within maxObjs, as
// readSection checks) and its newest trailer's /Size is within maxObjs:
// the counts the library reads.
func chainSizesWithin(data []byte, maxObjs int64) bool {
	x, err := readXrefChain(data, int(maxObjs))
	if err != nil {
		return false
	}
	n, ok := pdfInt(x.trailer["Size"])
	return !ok || (n >= 0 && n <= maxObjs)
}

// trimPadding drops the NUL bytes and white space after a file's end: a
// PDF that Selenium saved (pypdf's selenium-pypdf-issue-177.pdf) ends
// with 20 KB of NULs after its %%EOF, which poppler, qpdf and pdf.js
// pass over; the library looks for the trailer in the file's last bytes.
func trimPadding(data []byte) []byte {
	return bytes.TrimRight(data, "\x00 \t\r\n\f")
}

// badXrefHead finds the first subsection header ("start count") of a
// classic xref table whose objects go past maxObjs: after each "xref"
// (not "startxref"), each line up to the next "trailer" (or 1 MiB, or
// the end, if there is none) is matched as a header (xrefHead). It
// returns the header's numbers, nil if there is none.
//
// Every "xref" is such a section, and the sections of a file full of
// "xref" overlap: matched section by section, a file of 80 KB of
// "xref\n" took 2 s. The lines are matched in the same order, but a line
// that an earlier section already matched (and found good, or this would
// have returned) is not matched again: a section's lines begin after a
// line end, so a later section's lines that end with a line end before
// the end of an earlier one are lines of that one. What is left of each
// section is its first line and what lies past the earlier ones' ends
// (the section-by-section loop is kept as an oracle: precheckPasses in
// pdf_scan_test.go).
func badXrefHead(data []byte, maxObjs int64) (start, count []byte) {
	badHead := func(m1, m2 []byte, ok bool) bool {
		if !ok {
			return false
		}
		a, errA := strconv.ParseInt(string(m1), 10, 64)
		b, errB := strconv.ParseInt(string(m2), 10, 64)
		if errA != nil || errB != nil || a+b > maxObjs {
			start, count = m1, m2
			return true
		}
		return false
	}
	bad := func(line []byte) bool { return badHead(xrefHead(line)) }
	// A section's last line may end at the section's end, not at a line
	// end: sections of 1 MiB whose ends fall in one long line end it at
	// as many places. Its parts are found once (a file of a few thousand
	// "xref" and then a megabyte of spaces took seconds).
	tail := headRuns{from: -1}
	trailer := -1 // the first "trailer" at or after the last section's start; len(data) if none
	nl := -1      // the first '\n' at or after the last section's start; len(data) if none
	done := 0     // the end of the sections matched to their ends
	lastNL := -1  // the last '\n' before done
	for off := 0; ; {
		j := bytes.Index(data[off:], []byte("xref"))
		if j < 0 {
			return nil, nil
		}
		at := off + j
		off = at + 4
		if at > 0 && data[at-1] == 't' { // startxref
			continue
		}
		// The first "trailer" and '\n' from here: sections begin in
		// order, so each is looked for again only once passed.
		if trailer < off && trailer < len(data) {
			trailer = len(data)
			if k := bytes.Index(data[off:], []byte("trailer")); k >= 0 {
				trailer = off + k
			}
		}
		if nl < off && nl < len(data) {
			nl = len(data)
			if k := bytes.IndexByte(data[off:], '\n'); k >= 0 {
				nl = off + k
			}
		}
		end := trailer
		if end == len(data) {
			end = off + min(len(data)-off, 1<<20)
		}
		if off >= end {
			continue
		}
		if nl >= end { // one line
			if bad(data[off:end]) {
				return start, count
			}
			continue
		}
		if bad(data[off:nl]) {
			return start, count
		}
		// The ends of sections do not go back (each is the first
		// "trailer" from its start, or 1 MiB or the end of the file past
		// it, and there is no "trailer" past a section without one), and
		// the lines of one that ended at done, to its end, were matched:
		// those of this one that end before done too, and its last line
		// if it ends there as well.
		if end == done {
			continue
		}
		p := max(nl+1, lastNL+1)
		for p < end {
			// The line from p ends at a '\n' after done: there is none
			// from lastNL to done.
			from := max(p, done)
			k := bytes.IndexByte(data[from:end], '\n')
			if k < 0 {
				if tail.from != p {
					tail = findHeadRuns(data, p)
				}
				if badHead(tail.head(data, end)) {
					return start, count
				}
				break
			}
			if bad(data[p : from+k]) {
				return start, count
			}
			p = from + k + 1
		}
		if k := bytes.LastIndexByte(data[done:end], '\n'); k >= 0 {
			lastNL = done + k
		}
		done = end
	}
}

// headRuns are the parts of a subsection header (xrefHead) in the line
// from from, to its first byte that cannot be in one: each field is where
// a part ends and the next begins. Digits are read to 20 at most, 19
// being the most a number may have.
type headRuns struct {
	from                           int
	lead, start, gap, count, trail int
}

func findHeadRuns(data []byte, from int) headRuns {
	h := headRuns{from: from}
	i := from
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\f' || data[i] == '\r') {
		i++
	}
	h.lead = i
	for i < len(data) && i-h.lead < 20 && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	h.start = i
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	h.gap = i
	for i < len(data) && i-h.gap < 20 && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	h.count = i
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	h.trail = i
	return h
}

// head is xrefHead(data[h.from:e]), for e at or after h.from, read from
// the parts.
func (h *headRuns) head(data []byte, e int) (start, count []byte, ok bool) {
	n1, n2 := h.start-h.lead, h.count-h.gap
	switch {
	case e <= h.start || n1 == 0 || n1 > 19: // no number, or cut in it, or too long
		return nil, nil, false
	case e <= h.gap || h.gap == h.start || n2 == 0: // no space, or no second number
		return nil, nil, false
	case e <= h.count: // cut in the second number
		if e-h.gap > 19 {
			return nil, nil, false
		}
		return data[h.lead:h.start], data[h.gap:e], true
	case n2 > 19:
		return nil, nil, false
	case e <= h.trail || (e == h.trail+1 && data[h.trail] == '\r'):
		return data[h.lead:h.start], data[h.gap:h.count], true
	}
	return nil, nil, false
}

// isRegexpSpace is what \s matches in Go's regexp syntax.
func isRegexpSpace(c byte) bool {
	switch c {
	case '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

// prevChainLoops is a guard for a file whose chain our reader could not
// follow: the library follows /Prev without remembering where it has
// been, so a chain that comes back to a section it read loops forever.
// In a chain that cycles, some /Prev repeats another or the startxref
// (a hybrid file's /XRefStm stream repeats its table's /Prev too, but
// such a file's chain is read by readXrefChain, not checked here).
func prevChainLoops(data []byte) error {
	seen := map[string]bool{}
	if m := startxRe.FindAllSubmatch(data, -1); len(m) > 0 {
		seen[string(m[len(m)-1][1])] = true
	}
	for _, m := range prevRe.FindAllSubmatch(data, -1) {
		if len(m[2]) > 0 { // "/Prev 12 0 R": an outline item, not an xref
			continue
		}
		if seen[string(m[1])] {
			return unreadable(ReasonPDFDamaged, fmt.Errorf("xref /Prev chain loops at %s", m[1]))
		}
		seen[string(m[1])] = true
	}
	return nil
}

// xrefHead matches a line of a classic xref table against a subsection
// header, "start count" (what `(?m)^\s*(\d{1,19})[ \t]+(\d{1,19})[ \t]*\r?$`
// finds, without running a regexp over every entry line). It is run on
// every line of every table, so it reads the line once, by index (it
// trimmed with cutsets, each made again at every call; xrefHeadPass in
// pdf_scan_test.go is that version).
func xrefHead(line []byte) (start, count []byte, ok bool) {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\f' || line[i] == '\r') {
		i++
	}
	digits := func() []byte {
		from := i
		for i < len(line) && line[i] >= '0' && line[i] <= '9' {
			i++
		}
		if i == from || i-from > 19 {
			return nil
		}
		return line[from:i]
	}
	if start = digits(); start == nil {
		return nil, nil, false
	}
	sp := i
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i == sp {
		return nil, nil, false
	}
	if count = digits(); count == nil {
		return nil, nil, false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] == '\r' {
		i++
	}
	if i != len(line) {
		return nil, nil, false
	}
	return start, count, true
}

// classifyOpenError words a failure of pdf.NewReader. A file that only
// mentions /Encrypt is not thereby encrypted: whether it needs a password
// is decided by the rewrite's security handler (rewriteError).
func classifyOpenError(data []byte, err error) error {
	if errors.Is(err, pdf.ErrInvalidPassword) {
		// The empty password did not open it (a chain only the library
		// could follow): it needs a password.
		return unreadable(ReasonPDFEncrypted, errors.New("the PDF needs a password to open"))
	}
	// The library's messages embed raw /Encrypt bytes: keep them out of
	// the error (it may be logged).
	if bytes.Contains(data, []byte("/Encrypt")) {
		return unreadable(ReasonPDFDamaged, errors.New("the PDF could not be opened (it has /Encrypt)"))
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return unreadable(ReasonPDFDamaged, fmt.Errorf("open pdf: %s", msg))
}
