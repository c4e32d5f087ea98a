package parser

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"mime"
	"strings"

	"github.com/emersion/go-message"
)

// This file holds what lets go-message read multiparts as real mailers
// write them. go-message (like Go's mime/multipart) stops at the first
// departure from RFC 2046; Python's email package, which sets the bar,
// reads on. The repairs below are made to the header values and the
// delimiter lines only; go-message still splits and decodes the parts.

// parseParams parses a Content-Type or Content-Disposition value as
// Python's email package does: an empty parameter (`multipart/mixed;;
// boundary=x`) or one malformed parameter costs only itself, and an
// RFC 2231 value with no charset (`boundary*=”x`) is still read. A
// value that names no type/subtype gives "" (the caller's default).
func parseParams(raw string) (string, map[string]string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(raw)
	if err != nil {
		// Parse the parameters one by one, keeping those that parse.
		segs := splitParams(raw)
		mt, params = strings.ToLower(strings.TrimSpace(segs[0])), map[string]string{}
		var kept []string
		for _, s := range segs[1:] {
			if strings.TrimSpace(s) == "" {
				continue
			}
			if _, one, err := mime.ParseMediaType("x/x;" + s); err == nil {
				kept = append(kept, s)
				for k, v := range one {
					params[k] = v
				}
			} else if k, v, ok := rawParam(s); ok {
				params[k] = v
			}
		}
		// Together again, for RFC 2231 continuations split over several.
		if _, all, err := mime.ParseMediaType("x/x;" + strings.Join(kept, ";")); err == nil && len(kept) > 0 {
			maps.Copy(params, all)
		}
	}
	if params == nil {
		params = map[string]string{}
	}
	for _, k := range []string{"boundary", "charset"} {
		if params[k] == "" {
			if v := rfc2231Param(raw, k); v != "" {
				params[k] = v
			}
		}
	}
	return mt, params
}

// rawParam reads one parameter that is not a MIME token or quoted string
// as Python does: the name, and all after "=" up to the semicolon, less
// its quotes (`filename=This is a test.txt`, raw 8-bit names, RFC 2047
// words in `name==?utf-8?B?...?=`, all seen from real mailers).
func rawParam(seg string) (string, string, bool) {
	k, v, ok := strings.Cut(seg, "=")
	k = strings.ToLower(strings.TrimSpace(k))
	if !ok || k == "" || strings.ContainsAny(k, " \t\"*") {
		return "", "", false
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return k, v, true
}

// splitParams splits a header value at the semicolons outside quotes.
func splitParams(s string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// contentType is the entity's media type and parameters, read leniently.
// As in Python (and RFC 2045), a missing or malformed type is text/plain.
func contentType(h message.Header) (string, map[string]string) {
	mt, params := parseParams(h.Get("Content-Type"))
	if strings.Count(mt, "/") != 1 || strings.HasPrefix(mt, "/") || strings.HasSuffix(mt, "/") {
		mt = "text/plain"
	}
	return mt, params
}

// canonicalBoundary is what delimiterReader rewrites a multipart's own
// delimiter lines to. go-message ends a part at any line that begins
// with "--boundary" and goes on with "-", so a nested multipart whose
// boundary begins with the outer one ("outer-1", common from Outlook and
// Java mailers) cut its parent short. No line of a part can begin with
// the canonical form unless the sender wrote NUL bytes there.
func canonicalBoundary(boundary string) string {
	return "\x00dsr\x00" + boundary
}

// delimiterReader passes a multipart body through, rewriting its exact
// delimiter lines (RFC 2046: "--boundary", optional blanks, the line end)
// to the canonical boundary, and repairing what go-message would stop
// at: a delimiter line doubled (an empty part: Python reads it as one
// with no content, here it is dropped) and a missing close delimiter
// (added at the end). Nothing else of the body changes.
type delimiterReader struct {
	br      *bufio.Reader
	dash    []byte // "--" + boundary
	canon   []byte // "--" + canonical boundary
	out     []byte // to be read
	store   []byte // out's buffer, reused
	pending []byte // a delimiter line held until the next line shows it is not doubled
	eol     []byte // the first delimiter line's line end
	midLine bool   // the last line read did not end (longer than the buffer)
	closed  bool   // the close delimiter was seen: the epilogue passes through
	seen    bool   // a delimiter line was seen
	text    bool   // the preamble (before any delimiter) has more than blanks
	// inHeader is set in a part's header, which hadField says has a
	// field yet: a header line go-message would stop at is repaired.
	inHeader, hadField bool
	err                error
}

func newDelimiterReader(r io.Reader, boundary string) *delimiterReader {
	return &delimiterReader{
		br:    bufio.NewReaderSize(r, 8<<10),
		dash:  []byte("--" + boundary),
		canon: []byte("--" + canonicalBoundary(boundary)),
	}
}

func (d *delimiterReader) Read(p []byte) (int, error) {
	if len(d.out) == 0 {
		// Lines are short: gather a few KB of them for each read.
		d.out = d.store[:0]
		for len(d.out) < 4<<10 && d.err == nil {
			d.fill()
		}
		d.store = d.out[:0]
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	if len(d.out) == 0 && d.err != nil {
		return n, d.err
	}
	return n, nil
}

// fill reads one line (or a buffer's worth of a long one) onto out.
func (d *delimiterReader) fill() {
	line, err := d.br.ReadSlice('\n')
	atStart := !d.midLine
	d.midLine = err == bufio.ErrBufferFull
	switch {
	case len(line) == 0:
	case d.closed || !atStart || d.midLine:
		d.flushPending()
		d.out = append(d.out, line...)
	default:
		content, end := splitLineEnd(line)
		content = bytes.TrimRight(content, " \t")
		if d.inHeader && (bytes.Equal(content, d.dash) || bytes.Equal(content, append(d.dash[:len(d.dash):len(d.dash)], "--"...))) {
			// A header with no blank line after it: the part is empty.
			if d.hadField {
				d.out = append(d.out, d.eolOr(end)...)
			}
			d.inHeader = false
		}
		switch {
		case bytes.Equal(content, d.dash):
			// A second delimiter straight after one: the empty part
			// between them is dropped.
			d.pending = append(append(d.pending[:0], d.canon...), end...)
			if !d.seen {
				d.seen = true
				d.eol = append([]byte(nil), end...)
				if len(d.eol) == 0 {
					d.eol = []byte("\r\n")
				}
			}
		case len(content) == len(d.dash)+2 && bytes.HasPrefix(content, d.dash) && bytes.HasSuffix(content, []byte("--")):
			d.pending = d.pending[:0]
			d.out = append(append(append(d.out, d.canon...), "--"...), end...)
			d.closed = true
		default:
			if !d.seen && len(bytes.TrimSpace(content)) > 0 {
				d.text = true
			}
			if d.flushPending() {
				d.inHeader, d.hadField = true, false
			}
			if d.inHeader {
				d.headerLine(line, content, end)
			} else {
				d.out = append(d.out, line...)
			}
		}
	}
	switch {
	case err == nil || err == bufio.ErrBufferFull:
	case err == io.EOF:
		if !d.closed && d.seen {
			// No close delimiter: the last part runs to the end, as in
			// Python. A delimiter line last of all opens no part.
			d.pending = d.pending[:0]
			d.out = append(append(append(append(d.out, d.eol...), d.canon...), "--"...), d.eol...)
			d.closed = true
		}
		d.err = io.EOF
	default:
		d.err = err
	}
}

// flushPending writes out a held delimiter line, saying whether it did.
func (d *delimiterReader) flushPending() bool {
	if len(d.pending) == 0 {
		return false
	}
	d.out = append(d.out, d.pending...)
	d.pending = d.pending[:0]
	return true
}

// headerLine passes on one line of a part's header. A line that is no
// header field, where go-message would give up on the whole multipart,
// is read as Python reads it: the header ends and the line begins the
// body; but a "name=value" line after a field is the field's parameter
// wrapped without its indent, and is joined to it.
func (d *delimiterReader) headerLine(line, content, end []byte) {
	switch {
	case len(content) == 0:
		d.inHeader = false
	case content[0] == ' ' || content[0] == '\t':
		if !d.hadField {
			d.out = append(d.out, d.eolOr(end)...)
			d.inHeader = false
		}
	case headerLine.Match(content):
		d.hadField = true
	case d.hadField && bytes.IndexByte(content, '=') > 0 && bytes.IndexByte(content, ':') < 0:
		d.out = append(d.out, ' ')
	default:
		d.out = append(d.out, d.eolOr(end)...)
		d.inHeader = false
	}
	d.out = append(d.out, line...)
}

// eolOr is the line end to write: this line's, else the delimiters'.
func (d *delimiterReader) eolOr(end []byte) []byte {
	if len(end) > 0 {
		return end
	}
	if len(d.eol) > 0 {
		return d.eol
	}
	return []byte("\r\n")
}

// splitLineEnd splits a line into its content and its end ("\r\n", "\n"
// or none).
func splitLineEnd(line []byte) ([]byte, []byte) {
	if bytes.HasSuffix(line, []byte("\r\n")) {
		return line[:len(line)-2], line[len(line)-2:]
	}
	if bytes.HasSuffix(line, []byte("\n")) {
		return line[:len(line)-1], line[len(line)-1:]
	}
	return line, nil
}
