package parser

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// part is one leaf of the MIME tree, decoded and read (up to the limit).
type part struct {
	mediaType   string
	params      map[string]string
	disposition string
	filename    string
	contentID   string
	inRelated   bool // inside multipart/related (Outlook's inline images)
	data        []byte
	size        int64 // decoded size, counted even past the limit
	truncated   bool  // data holds only the first MaxAttachmentBytes
	err         string
	depth       int
	inMessage   bool // inside a message/rfc822 part: another email's, not this one's
	// unwrapErr says why a wrapper (winmail.dat, an Outlook item, a zip) gave no
	// file: it stays an attachment, reported with this.
	unwrapErr string
}

// walker collects the leaves of a message, including those of forwarded
// messages, within the limits. Problems are recorded, never fatal to the
// parts after them.
type walker struct {
	limits   Limits
	parts    []*part
	problems []string
	count    int
	// unread is how much of the raw message is not read yet: no part can
	// decode to more than that and what is buffered ahead of it, so a
	// large attachment is read into memory of its final size at once.
	unread func() int
	// scratch is where small parts are read (see readPart); nil: none.
	scratch *[]byte
	// What a delivery report says (dsn.go): a recipient's delivery
	// failed, and the Message-IDs of the messages it returns.
	dsnFailed bool
	dsnSeen   bool // a delivery-status part with an Action, failed or not
	returned  []string
	// inMessage counts the message/rfc822 parts the walk is inside.
	inMessage int
}

// walk visits an entity and everything under it. A malformed multipart
// stops that multipart only.
func (w *walker) walk(e *message.Entity, depth int, inRelated bool) {
	w.count++
	if w.count > w.limits.MaxParts {
		if w.count == w.limits.MaxParts+1 {
			w.problems = append(w.problems, fmt.Sprintf("more than %d MIME parts: the rest were not read", w.limits.MaxParts))
		}
		return
	}
	mt, params := contentType(e.Header)
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= w.limits.MaxDepth {
			w.problems = append(w.problems, "MIME parts nested too deeply: the inner parts were not read")
			return
		}
		boundary := params["boundary"]
		if boundary == "" {
			w.problems = append(w.problems, "a multipart without a boundary: its parts were not read")
			return
		}
		related := inRelated || mt == "multipart/related"
		dr := newDelimiterReader(e.Body, boundary)
		mr := textproto.NewMultipartReader(dr, canonicalBoundary(boundary))
		for {
			tp, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				switch {
				case !dr.seen && !dr.text:
					// No parts and nothing but blanks: nothing lost.
				case !dr.seen:
					w.problems = append(w.problems, "a multipart whose boundary never occurs: its content was not read")
				default:
					w.problems = append(w.problems, "a malformed MIME part: "+cleanErr(err))
				}
				break
			}
			ph := message.Header{Header: tp.Header}
			if mt == "multipart/digest" && !ph.Has("Content-Type") {
				// RFC 2046 5.1.5: a digest's parts are messages by default.
				ph = ph.Copy()
				ph.Set("Content-Type", "message/rfc822")
			}
			p, err := newEntity(ph, tp)
			if err != nil {
				// Unknown charset or transfer encoding: the part is still
				// there, undecoded; note it and keep going.
				w.problems = append(w.problems, "a part with "+cleanErr(err))
			}
			w.walk(p, depth+1, related)
		}
		return
	}
	if mt == "message/rfc822" || mt == "message/global" {
		if depth >= w.limits.MaxDepth {
			w.problems = append(w.problems, "forwarded messages nested too deeply: the inner message was not read")
			return
		}
		inner, err := readEntity(io.LimitReader(e.Body, w.limits.MaxMessageBytes))
		if inner == nil {
			w.problems = append(w.problems, "a forwarded message that could not be read: "+cleanErr(err))
			return
		}
		if err != nil {
			w.problems = append(w.problems, "a forwarded message with "+cleanErr(err))
		}
		w.noteReturned(inner.Header)
		w.inMessage++
		w.walk(inner, depth+1, false)
		w.inMessage--
		return
	}
	if mt == "application/applefile" {
		// AppleDouble's header (RFC 1740), as Apple Mail sends it named
		// as the file: the file's Finder data and resource fork, never its
		// contents, which follow in the next part. Mail clients hide it.
		return
	}
	p := &part{mediaType: mt, params: params, depth: depth, inRelated: inRelated, inMessage: w.inMessage > 0}
	p.disposition, p.filename = dispositionAndName(e.Header, params)
	p.contentID = strings.Trim(e.Header.Get("Content-Id"), "<> ")
	// Read up to the limit, then count (and discard) the rest so the size
	// is known without holding it.
	lr := &io.LimitedReader{R: e.Body, N: w.limits.MaxAttachmentBytes + 1}
	bound := int64(math.MaxInt64)
	if w.unread != nil {
		bound = int64(w.unread())
		if strings.EqualFold(strings.TrimSpace(e.Header.Get("Content-Transfer-Encoding")), "base64") {
			bound = bound / 4 * 3
		}
		bound += readAhead
	}
	data, err := readPart(lr, min(bound, lr.N), w.scratch)
	if err != nil {
		p.err = "the part could not be decoded: " + cleanErr(err)
	}
	p.size = int64(len(data))
	if int64(len(data)) > w.limits.MaxAttachmentBytes {
		rest, _ := io.Copy(io.Discard, e.Body)
		p.size += rest
		data = nil
		p.truncated = true
	}
	p.data = data
	if !p.truncated && p.err == "" {
		w.readReport(mt, data)
		switch {
		case isTNEF(p.data):
			w.unwrap(p, "winmail.dat", readTNEF)
			return
		case isOutlookPart(p):
			w.unwrap(p, "the attached Outlook item", readOutlookMsg)
			return
		case isSavedEmail(p) && depth < w.limits.MaxDepth:
			// A saved email attached as a file (application/octet-stream,
			// text/plain): what Python's email leaves a leaf, a coordinator
			// opens, so its attachments are read as a forwarded message's.
			if inner, err := readEntity(bytes.NewReader(p.data)); inner != nil && err == nil {
				w.walk(inner, depth+1, false)
				return
			}
		case isZipArchive(p):
			w.unwrap(p, "the zip file", func(d []byte, room int) ([]tnefFile, error) { return readZip(d, room, w.limits) })
			return
		case depth < w.limits.MaxDepth:
			// The email signed with S/MIME, inside its signature (smime.go):
			// read as the email itself. One that cannot be taken out stays
			// a part a coordinator opens in the mailbox (encryptedPart).
			if content, ok := signedEntity(p); ok {
				if inner, err := readEntity(bytes.NewReader(content)); inner != nil && err == nil {
					w.walk(inner, depth+1, false)
					return
				}
			}
		}
	}
	w.parts = append(w.parts, p)
	if isBody(p) && p.mediaType == "text/plain" && !p.truncated {
		w.takeUUBlocks(p)
	}
	if !p.truncated && p.err == "" && isWordPackage(p) {
		// Photos of the forms pasted into a Word document (docx_pictures.go).
		for i, f := range wordPictures(p.data, w.limits.MaxParts-w.count, w.limits) {
			w.addFile(fmt.Sprintf("%s, picture %d%s", strings.TrimSuffix(p.filename, path.Ext(p.filename)), i+1, path.Ext(f.name)), f.data, depth+1)
		}
	}
}

// isSavedEmail recognises an email saved to a file (.eml, as Outlook,
// Thunderbird and Apple Mail save one) attached under another type than
// message/rfc822: by its name, and a header that opens with header
// fields and has a From and a MIME-Version or Content-Type.
func isSavedEmail(p *part) bool {
	if !strings.HasSuffix(strings.ToLower(p.filename), ".eml") || strings.HasPrefix(p.mediaType, "multipart/") {
		return false
	}
	head, _, found := bytes.Cut(p.data[:min(len(p.data), 64<<10)], []byte("\n\r\n"))
	if !found {
		head, _, found = bytes.Cut(p.data[:min(len(p.data), 64<<10)], []byte("\n\n"))
	}
	if !found {
		return false
	}
	head = dropMboxFrom(head)
	// Not append: head shares the part's bytes.
	h, err := textproto.ReadHeader(bufio.NewReader(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n\r\n"))))
	return err == nil && h.Has("From") && (h.Has("Mime-Version") || h.Has("Content-Type"))
}

// unwrap puts the files Outlook wrapped in a part (winmail.dat, an
// attached Outlook item) in its place. A wrapper read only in part still
// gives the files before the damage, with a problem noted; one that gives
// none stays, to be reported as an attachment the referrer should send
// again.
func (w *walker) unwrap(p *part, what string, read func([]byte, int) ([]tnefFile, error)) {
	room := w.limits.MaxParts - w.count
	files, err := read(p.data, max(0, room))
	if len(files) == 0 {
		if err == nil {
			// A message's rich text alone: nothing of it is a form, and the
			// message's own text part carries its words.
			return
		}
		p.unwrapErr = cleanErr(err)
		w.parts = append(w.parts, p) // reported as unsupported, with why
		return
	}
	if err != nil {
		w.problems = append(w.problems, fmt.Sprintf("%s was read only in part (%d files): %s", what, len(files), cleanErr(err)))
	}
	for _, f := range files {
		w.addFile(f.name, f.data, p.depth+1)
	}
}

// addFile adds a file taken out of a part (a uuencoded block, a wrapper's
// attachment) as an attachment of its own, typed by its name until its
// content is read.
func (w *walker) addFile(name string, data []byte, depth int) {
	w.count++
	w.parts = append(w.parts, &part{
		mediaType:   typeByName(name),
		params:      map[string]string{},
		disposition: "attachment",
		filename:    sanitiseFilename(name),
		data:        data,
		size:        int64(len(data)),
		depth:       depth,
	})
}

// takeUUBlocks makes parts of the files uuencoded in a text body, as old
// mailers attach them, and leaves the body its text.
func (w *walker) takeUUBlocks(body *part) {
	room := w.limits.MaxParts - w.count
	if room <= 0 {
		return
	}
	text, blocks := extractUUBlocks(body.data, room)
	body.data = text
	for _, b := range blocks {
		w.addFile(b.name, b.data, body.depth)
	}
}

// readAhead bounds what go-message's readers hold of the raw message
// ahead of the part being read.
const readAhead = 64 << 10

// readPart reads r to the end like io.ReadAll, but a part that outgrows
// 256 KB is then given room for bound bytes at once: io.ReadAll grows a
// 30 MB attachment a quarter at a time, allocating twice its size and
// holding 1.8 times it at the last step. Small parts (bodies, logos,
// forms) grow from 512 bytes by doubling, as with io.ReadAll, in scratch
// when it is not nil: it keeps its capacity (up to 256 KB) for the next
// part, and the part is copied out at its size. Growing each part anew
// allocated 2.5 times a form's size, half of what parsing an email
// allocated (BenchmarkParse).
func readPart(r io.Reader, bound int64, scratch *[]byte) ([]byte, error) {
	const jumpAt = 256 << 10
	var buf []byte
	if scratch != nil && cap(*scratch) >= 512 {
		buf = (*scratch)[:0]
	} else {
		buf = make([]byte, 0, 512)
	}
	inScratch := scratch != nil
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if inScratch {
				*scratch = buf[:0]
				buf = bytes.Clone(buf)
			}
			if err == io.EOF {
				return buf, nil
			}
			return buf, err
		}
		if len(buf) == cap(buf) {
			size := int64(cap(buf)) * 2
			if size > jumpAt && bound+1 > size {
				size = bound + 1
			}
			// Past the bound (it cannot be, short of a bug) this keeps
			// doubling rather than fail.
			grown := make([]byte, len(buf), size)
			copy(grown, buf)
			if inScratch && size > jumpAt {
				// A large part: read into its own memory from here on.
				*scratch = buf[:0]
				inScratch = false
			}
			buf = grown
		}
	}
}

// readEntity reads a message, repairing a malformed header rather than
// giving up on the whole message: a header line without a colon is
// dropped, and so is the mbox "From " line that opens a saved message.
func readEntity(r io.Reader) (*message.Entity, error) {
	br := bufio.NewReader(r)
	head, carry, err := readHeaderBlock(br)
	if err != nil {
		return nil, err
	}
	var body io.Reader = br
	if len(carry) > 0 {
		body = io.MultiReader(bytes.NewReader(carry), br)
	}
	head = dropMboxFrom(head)
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	var repaired error
	if err != nil {
		h2, err2 := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(repairHeader(head))))
		if err2 != nil {
			return nil, err2
		}
		h, repaired = h2, fmt.Errorf("a malformed header (repaired): %w", err)
	}
	e, err := newEntity(message.Header{Header: h}, body)
	if repaired != nil {
		return e, repaired
	}
	return e, err
}

// dropMboxFrom drops the "From sender date" line an mbox file (or a
// mail client's "save as") puts before the header.
func dropMboxFrom(head []byte) []byte {
	if !bytes.HasPrefix(head, []byte("From ")) {
		return head
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		return head[i+1:]
	}
	return head
}

// readHeaderBlock reads up to and including the blank line that ends the
// header (at most 1 MiB). A MIME delimiter line ("--...") cannot be a
// header field: a header running into one (the blank line forgotten, as
// some mailers do) ends before it, and the line is returned as carry, the
// start of the body.
func readHeaderBlock(br *bufio.Reader) (head, carry []byte, err error) {
	partial := false
	for {
		line, err := br.ReadSlice('\n')
		if !partial && len(head) > 0 && bytes.HasPrefix(line, []byte("--")) {
			// The lines before it that are no header field are the
			// preamble: the body begins with them.
			lines := bytes.SplitAfter(head, []byte("\n"))
			cut := len(head)
			for i := len(lines) - 1; i >= 0; i-- {
				if len(lines[i]) == 0 {
					continue // after the last line end
				}
				t := bytes.TrimRight(lines[i], "\r\n")
				if len(t) == 0 || headerLine.Match(t) || t[0] == ' ' || t[0] == '\t' {
					break
				}
				cut -= len(lines[i])
			}
			carry = append(append([]byte(nil), head[cut:]...), line...)
			return append(head[:cut:cut], '\r', '\n'), carry, nil
		}
		head = append(head, line...)
		if len(head) > 1<<20 {
			return nil, nil, errors.New("header larger than 1 MiB")
		}
		partial = err == bufio.ErrBufferFull
		if partial {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			return head, nil, nil
		}
	}
}

var headerLine = regexp.MustCompile(`^[!-9;-~]+:`)

// repairHeader keeps well-formed header fields and their continuation
// lines and drops the rest.
func repairHeader(head []byte) []byte {
	var out bytes.Buffer
	keep := false
	for _, line := range bytes.SplitAfter(head, []byte("\n")) {
		t := bytes.TrimRight(line, "\r\n")
		switch {
		case len(t) == 0:
			out.Write(line)
		case t[0] == ' ' || t[0] == '\t':
			if keep {
				out.Write(line)
			}
		case headerLine.Match(t):
			keep = true
			out.Write(line)
		default:
			keep = false
		}
	}
	return out.Bytes()
}

// dispositionAndName returns the part's disposition and its sanitised
// file name, decoding RFC 2047 and RFC 2231 (in any charset go-message
// knows, which Go's mime package does not).
func dispositionAndName(h message.Header, ctParams map[string]string) (string, string) {
	disp, dparams := parseParams(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = rfc2231Param(h.Get("Content-Disposition"), "filename")
	}
	if name == "" {
		name = ctParams["name"]
	}
	if name == "" {
		name = rfc2231Param(h.Get("Content-Type"), "name")
	}
	if name == "" && disp == "" {
		// A Content-Disposition that failed to parse as a whole.
		raw := h.Get("Content-Disposition")
		if i := strings.IndexByte(raw, ';'); i > 0 {
			disp = strings.ToLower(strings.TrimSpace(raw[:i]))
		}
	}
	return disp, sanitiseFilename(decodeWords(name))
}

// rfc2231Param finds name*= or name*0*= ... in a raw header value and
// decodes it in its declared charset.
func rfc2231Param(raw, name string) string {
	if raw == "" {
		return ""
	}
	lower := asciiLower(raw) // same byte offsets as raw, unlike strings.ToLower
	var value strings.Builder
	cs := ""
	for i := 0; i < 64; i++ {
		var keys []string
		if i == 0 {
			keys = []string{name + "*=", name + "*0*=", name + "*0="}
		} else {
			keys = []string{fmt.Sprintf("%s*%d*=", name, i), fmt.Sprintf("%s*%d=", name, i)}
		}
		found := false
		for _, k := range keys {
			at := paramIndex(lower, k)
			if at < 0 {
				continue
			}
			v := raw[at+len(k):]
			if j := strings.IndexByte(v, ';'); j >= 0 {
				v = v[:j]
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			encoded := strings.HasSuffix(k, "*=")
			if encoded && i == 0 {
				parts := strings.SplitN(v, "'", 3)
				if len(parts) == 3 {
					cs, v = parts[0], parts[2]
				}
			}
			if encoded {
				if u, err := url.PathUnescape(strings.ReplaceAll(v, "+", "%2B")); err == nil {
					v = u
				}
			}
			value.WriteString(v)
			found = true
			break
		}
		if !found {
			break
		}
	}
	s := value.String()
	if s == "" {
		return ""
	}
	if cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if r, err := charset.Reader(cs, strings.NewReader(s)); err == nil {
			if b, err := io.ReadAll(r); err == nil {
				s = string(b)
			}
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// paramIndex finds a parameter key at a parameter boundary.
func paramIndex(lower, key string) int {
	from := 0
	for {
		i := strings.Index(lower[from:], key)
		if i < 0 {
			return -1
		}
		i += from
		j := i - 1
		for j >= 0 && (lower[j] == ' ' || lower[j] == '\t' || lower[j] == '\r' || lower[j] == '\n') {
			j--
		}
		if j < 0 || lower[j] == ';' {
			return i
		}
		from = i + len(key)
	}
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeWords decodes RFC 2047 encoded words, leaving anything malformed
// as it was, and makes the result valid UTF-8.
func decodeWords(s string) string {
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	if !utf8.ValidString(s) && !mostlyUTF8(s) {
		// Raw 8-bit text in a header: most often Windows-1252.
		if r, err := charset.Reader("windows-1252", strings.NewReader(s)); err == nil {
			if b, err := io.ReadAll(r); err == nil {
				s = string(b)
			}
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// mostlyUTF8 reports whether raw 8-bit header text that is not valid
// UTF-8 is UTF-8 all the same, damaged in a few places: more well-formed
// multi-byte sequences than stray bytes. A mailer that cuts a long name
// at a byte count cuts its last letter in two (mailgun/flanker's
// russian-attachment-yahoo.eml: Yahoo's 80 Cyrillic letters, the last
// one half there), which read as Windows-1252 was 160 letters of noise;
// Python's email reads the name, its last letter U+FFFD, and so do we.
// Windows-1252 text almost never forms a multi-byte sequence (an accented
// letter is one byte, followed by ASCII), so it still goes that way.
func mostlyUTF8(s string) bool {
	multi, stray := 0, 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			stray++
		case n > 1:
			multi++
		}
		i += n
	}
	return multi > stray
}

// sanitiseFilename makes a file name safe to show and store: no path, no
// control characters, bounded length.
func sanitiseFilename(s string) string {
	s = strings.ReplaceAll(s, "\\", "/")
	s = path.Base(s)
	if s == "." || s == "/" {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200])
	}
	return s
}

// cleanErr keeps an error message short and free of control characters.
func cleanErr(err error) string {
	if err == nil {
		return "an unknown error"
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, err.Error())
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// headerText returns a header field decoded to UTF-8.
func headerText(h message.Header, key string) string {
	return strings.TrimSpace(decodeWords(h.Get(key)))
}
