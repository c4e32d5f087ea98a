package parser

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"reflect"

	"github.com/ledongthuc/pdf"
)

// streamReader reads the decoded bytes of a document's content streams
// (and fonts' ToUnicode maps). The library's Value.Reader makes a new
// zlib reader for every stream, ~40 KB of inflate state and a bufio
// buffer, and a flattened form draws dozens of form XObjects: those
// readers were more than half the bytes that reading such a form
// allocated (BENCHMARKS.md, issue 19). A stream with no filter, or
// FlateDecode without a predictor, which is what forms' content is, is
// read here from the file's bytes, inflated by one zlib reader reset for
// each stream; any other (or when the stream's place in the file cannot
// be told) is read by the library, as before. The bytes and errors are
// the library's (the same section of the file, the same inflater), but
// for a wrong checksum (checksumOnly).
type streamReader struct {
	// file is what the library opened, nil when the library must read
	// every stream itself (an encrypted file's streams need its key).
	file []byte
	src  bytes.Reader
	zr   io.ReadCloser // nil until the first FlateDecode stream
	raw  rawStream
}

// rawStream reads an unfiltered stream's bytes without allocating a
// closer for each.
type rawStream struct{ r *bytes.Reader }

func (r rawStream) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r rawStream) Close() error               { return nil }

// open returns a reader of s's decoded bytes, valid until the next open.
// Like Value.Reader it may panic on a stream the library cannot decode;
// the callers recover.
func (sr *streamReader) open(s pdf.Value) io.ReadCloser {
	if rd := sr.openRaw(s); rd != nil {
		return rd
	}
	return s.Reader()
}

// openRaw is open's own path, nil where the library must read s.
func (sr *streamReader) openRaw(s pdf.Value) io.ReadCloser {
	if sr.file == nil {
		return nil
	}
	off, ok := streamOffset(s)
	if !ok {
		return nil
	}
	inflate := false
	switch f := s.Key("Filter"); f.Kind() {
	case pdf.Null:
	case pdf.Name:
		if f.Name() != "FlateDecode" || s.Key("DecodeParms").Key("Predictor").Kind() != pdf.Null {
			return nil
		}
		inflate = true
	default:
		return nil
	}
	// The section the library reads, /Length bytes from the stream's
	// start, when "endstream" follows it; otherwise up to "endstream", as
	// qpdf and poppler recover a stream whose /Length is missing or wrong
	// (the library reads none of the first, a wrong part of the second:
	// a page of text read as a scan).
	size := int64(len(sr.file))
	start := min(max(off, 0), size)
	n := int64(-1)
	if l := s.Key("Length"); l.Kind() == pdf.Integer {
		n = l.Int64()
	}
	end := streamEnd(sr.file, int(start), n)
	sr.src.Reset(sr.file[start:end])
	if !inflate {
		sr.raw.r = &sr.src
		return sr.raw
	}
	if sr.zr == nil {
		zr, err := zlib.NewReader(&sr.src)
		if err != nil {
			return nil // the library fails on it in its own way
		}
		sr.zr = zr
		return zr
	}
	if err := sr.zr.(zlib.Resetter).Reset(&sr.src, nil); err != nil {
		return nil
	}
	return sr.zr
}

// appendStream appends at most limit decoded bytes of s to dst: what
// io.Copy of a LimitReader over Value.Reader would give, read into a
// buffer the caller reuses.
func (sr *streamReader) appendStream(dst []byte, s pdf.Value, limit int64) ([]byte, error) {
	rd := sr.open(s)
	defer rd.Close()
	for limit > 0 {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if int64(len(room)) > limit {
			room = room[:limit]
		}
		n, err := rd.Read(room)
		dst = dst[:len(dst)+n]
		limit -= int64(n)
		if errors.Is(err, io.EOF) || checksumOnly(err) {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// countStream inflates a stream, counting up to limit bytes.
func (sr *streamReader) countStream(s pdf.Value, limit int64) (int64, error) {
	rd := sr.open(s)
	defer rd.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(rd, max(limit, 0)))
	if checksumOnly(err) {
		err = nil
	}
	return n, err
}

// checksumOnly reports whether err says no more than that a stream's
// Adler-32 checksum is wrong: the deflate data ended where it says it
// ends, so what was inflated is the whole stream. Poppler does not check
// the sum (pdftotext reads pdfminer's zen_of_python_corrupted.pdf, whose
// page is such a stream), and a writer that gets it wrong loses nothing
// a reader needs; the library stops there with an error, which made the
// page "damaged".
func checksumOnly(err error) bool { return errors.Is(err, zlib.ErrChecksum) }

// streamOffset is where a stream's data starts in the file, kept by the
// library in an unexported field (as objID reads the object's number);
// ok is false when the value is no stream or the library no longer has
// the field (TestStreamOffsetWorks catches that).
func streamOffset(v pdf.Value) (off int64, ok bool) {
	if v.Kind() != pdf.Stream {
		return 0, false
	}
	data := reflect.ValueOf(v).FieldByName("data")
	if !data.IsValid() || data.Kind() != reflect.Interface || data.IsNil() {
		return 0, false
	}
	s := data.Elem()
	if s.Kind() != reflect.Struct {
		return 0, false
	}
	o := s.FieldByName("offset")
	if !o.IsValid() || !o.CanInt() {
		return 0, false
	}
	return o.Int(), true
}
