package parser

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
)

// This file holds the transfer encodings and the charset that real
// mailers use and go-message does not decode (or decodes strictly):
// base64 without its padding, x-uuencode, and UTF-7. Each decodes with
// the standard library's codecs; only the framing is ours.

// newEntity makes an entity as message.New does, but decodes base64
// leniently, x-uuencode and UTF-7 itself, reads a malformed Content-Type
// leniently, and keeps the sender's own header on the entity.
func newEntity(h message.Header, body io.Reader) (*message.Entity, error) {
	mt, params := contentType(h)
	eh := h.Copy() // what go-message decodes by
	if !strings.HasPrefix(mt, "multipart/") {
		cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
		switch cte {
		case "base64":
			body = newBase64Reader(body)
			eh.Del("Content-Transfer-Encoding")
		case "x-uuencode", "uuencode", "x-uue", "uue":
			body = newUUReader(body)
			eh.Del("Content-Transfer-Encoding")
		case "":
		default:
			eh.Set("Content-Transfer-Encoding", cte)
		}
	}
	_, _, strictErr := h.ContentType()
	utf7 := strings.HasPrefix(mt, "text/") && isUTF7(params["charset"])
	if utf7 {
		body = newUTF7Reader(body)
		delete(params, "charset")
	}
	if strictErr != nil || utf7 {
		// go-message reads the charset from the header it is given.
		eh.Del("Content-Type")
		eh.SetContentType(mt, params)
	}
	e, err := message.New(eh, body)
	if e != nil {
		e.Header = h
	}
	return e, err
}

// base64Reader decodes base64 as Python's email package does: any
// character outside the alphabet is skipped, padding may be missing (or
// come early, ending one run and starting another), and a last group of
// two or three characters is decoded. A lone last character (six bits,
// never a whole byte) is dropped.
type base64Reader struct {
	r     io.Reader
	enc   []byte // alphabet characters not decoded yet
	out   []byte
	store []byte // out's buffer, reused
	buf   []byte
	err   error
	done  bool
}

func newBase64Reader(r io.Reader) *base64Reader {
	return &base64Reader{r: r, buf: make([]byte, 16<<10)}
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 && !b.done {
		b.out = b.store[:0]
		n, err := b.r.Read(b.buf)
		b.take(b.buf[:n])
		b.flush(err != nil)
		b.store = b.out[:0]
		if err != nil {
			b.done = true
			if err != io.EOF {
				b.err = err
			}
		}
	}
	return readOut(p, &b.out, b.done, b.err)
}

// take queues chunk's alphabet characters and decodes at each '=' what
// came before it. Between two '=' (almost always the whole chunk) the
// characters are kept by a table, without a branch per byte: the test per
// character was a quarter of the daemon's CPU (make bench's profile).
func (b *base64Reader) take(chunk []byte) {
	for len(chunk) > 0 {
		run := chunk
		pad := bytes.IndexByte(chunk, '=')
		if pad >= 0 {
			run = chunk[:pad]
		}
		at := len(b.enc)
		b.enc = slices.Grow(b.enc, len(run))
		enc := b.enc[:at+len(run)]
		for _, c := range run {
			enc[at] = c
			at += int(base64Keep[c])
		}
		b.enc = enc[:at]
		if pad < 0 {
			return
		}
		b.flush(true)
		chunk = chunk[pad+1:]
	}
}

// base64Keep is 1 for the characters of the base64 alphabet, 0 for the
// rest (which the decoder skips).
var base64Keep = func() (t [256]uint8) {
	for c := range t {
		if isBase64Char(byte(c)) {
			t[c] = 1
		}
	}
	return t
}()

// flush decodes the whole groups of four, and with all the rest too.
func (b *base64Reader) flush(all bool) {
	whole := len(b.enc) / 4 * 4
	if all && len(b.enc)%4 >= 2 {
		whole = len(b.enc)
	}
	if whole > 0 {
		at := len(b.out)
		b.out = slices.Grow(b.out, base64.RawStdEncoding.DecodedLen(whole))
		n, _ := base64.RawStdEncoding.Decode(b.out[at:cap(b.out)], b.enc[:whole])
		b.out = b.out[:at+n]
	}
	rest := copy(b.enc, b.enc[whole:])
	b.enc = b.enc[:rest]
	if all {
		b.enc = b.enc[:0]
	}
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// uuReader decodes a uuencoded body (Content-Transfer-Encoding
// x-uuencode): the lines between "begin MODE NAME" and "end".
type uuReader struct {
	br     *bufio.Reader
	out    []byte
	begun  bool
	done   bool
	err    error
	name   string
	inLong bool
}

func newUUReader(r io.Reader) *uuReader {
	return &uuReader{br: bufio.NewReaderSize(r, 4<<10)}
}

var errNoUUBegin = errors.New("x-uuencode part without a begin line")

func (u *uuReader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && !u.done {
		line, err := u.br.ReadSlice('\n')
		long := u.inLong
		u.inLong = err == bufio.ErrBufferFull
		if !long && len(line) > 0 {
			switch {
			case !u.begun:
				if name, ok := uuBegin(line); ok {
					u.begun, u.name = true, name
				}
			case isUUEnd(line):
				u.done = true
			default:
				u.out = uuDecodeLine(u.out[:0], line)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			u.done = true
			switch {
			case err != io.EOF:
				u.err = err
			case !u.begun:
				u.err = errNoUUBegin
			}
		}
	}
	return readOut(p, &u.out, u.done, u.err)
}

// uuBegin reads a "begin MODE NAME" line: MODE octal, NAME the file's.
func uuBegin(line []byte) (string, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	rest, ok := strings.CutPrefix(s, "begin ")
	if !ok {
		return "", false
	}
	mode, name, _ := strings.Cut(rest, " ")
	if _, err := strconv.ParseUint(mode, 8, 32); err != nil || mode == "" {
		return "", false
	}
	return strings.TrimSpace(name), true
}

func isUUEnd(line []byte) bool {
	return string(bytes.TrimSpace(line)) == "end"
}

// uuDecodeLine appends one uuencoded line's bytes to dst, as Python's
// binascii.a2b_uu does: the first character gives the length, each
// further one six bits (space and backquote both zero), a short line
// padded with zero bits.
func uuDecodeLine(dst, line []byte) []byte {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return dst
	}
	n := int((line[0] - ' ') & 63)
	data := line[1:]
	var acc uint32
	bits := 0
	for i := 0; n > 0; i++ {
		var c byte
		if i < len(data) {
			c = (data[i] - ' ') & 63
		} else if bits < 8 {
			c = 0
		}
		acc = acc<<6 | uint32(c)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
			n--
		}
	}
	return dst
}

// uuBlock is one "begin ... end" block found in a text body.
type uuBlock struct {
	name string
	data []byte
}

// extractUUBlocks takes the uuencoded files out of a text body, as old
// mailers (Outlook Express, Pegasus, many scripts) attach them, and
// returns the text without them. A block with no "end" runs to the end
// of the text.
func extractUUBlocks(text []byte, maxBlocks int) ([]byte, []uuBlock) {
	if !bytes.Contains(text, []byte("begin ")) {
		return text, nil
	}
	var blocks []uuBlock
	var rest []byte
	var cur *uuBlock
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		switch {
		case cur != nil && isUUEnd(line):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.data = uuDecodeLine(cur.data, line)
		default:
			if name, ok := uuBegin(line); ok && len(blocks) < maxBlocks {
				cur = &uuBlock{name: name}
				continue
			}
			rest = append(rest, line...)
		}
	}
	if cur != nil {
		blocks = append(blocks, *cur)
	}
	if len(blocks) == 0 {
		return text, nil
	}
	return rest, blocks
}

// typeByName gives the media type of a file by its name (a uuencoded
// block or winmail.dat declares none); the content decides what it is.
func typeByName(name string) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".pdf"):
		return "application/pdf"
	case strings.HasSuffix(n, ".docx"):
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case strings.HasSuffix(n, ".doc"):
		return "application/msword"
	}
	return "application/octet-stream"
}

func isUTF7(cs string) bool {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "utf-7", "utf7", "unicode-1-1-utf-7", "x-unicode-2-0-utf-7", "csunicode11utf7":
		return true
	}
	return false
}

// decodeUTF7 decodes RFC 2152 UTF-7: "+" opens a run of modified base64
// (UTF-16 code units, no padding) ended by any other character, a "-"
// ending it being dropped; "+-" is "+".
func decodeUTF7(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '+' {
			out = append(out, c)
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isBase64Char(s[j]) {
			j++
		}
		run := s[i+1 : j]
		if j < len(s) && s[j] == '-' {
			j++
		}
		i = j
		if len(run) == 0 {
			out = append(out, '+')
			continue
		}
		whole := len(run) * 6 / 8 // bytes of UTF-16 carried; the rest is padding bits
		padded := make([]byte, (len(run)+3)/4*4)
		copy(padded, run)
		for k := len(run); k < len(padded); k++ {
			padded[k] = 'A'
		}
		raw := make([]byte, len(padded)/4*3)
		n, _ := base64.StdEncoding.Decode(raw, padded)
		raw = raw[:min(n, whole)]
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for _, r := range utf16.Decode(units) {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// utf7Reader decodes UTF-7 a line at a time (a run never spans a line).
type utf7Reader struct {
	br  *bufio.Reader
	out []byte
	err error
}

func newUTF7Reader(r io.Reader) *utf7Reader {
	return &utf7Reader{br: bufio.NewReaderSize(r, 4<<10)}
}

func (u *utf7Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		line, err := u.br.ReadSlice('\n')
		u.out = decodeUTF7(line)
		if err != nil && err != bufio.ErrBufferFull {
			u.err = err
		}
	}
	return readOut(p, &u.out, u.err != nil, u.err)
}

// readOut hands a decoder's output to Read: what fits of out, then, once
// the input is done and out is empty, err (io.EOF if nil).
func readOut(p []byte, out *[]byte, done bool, err error) (int, error) {
	n := copy(p, *out)
	*out = (*out)[n:]
	if len(*out) == 0 && done {
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return n, nil
}

// charsetReader is go-message's charset.Reader with UTF-7 besides, for
// the encoded words of headers.
func charsetReader(cs string, r io.Reader) (io.Reader, error) {
	if isUTF7(cs) {
		b, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(decodeUTF7(b)), nil
	}
	return charset.Reader(cs, r)
}
