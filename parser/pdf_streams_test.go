package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ledongthuc/pdf"
)

// TestStreamOffsetWorks guards the reflection streamReader relies on: if
// the library renames its stream's offset field, every stream falls back
// to the library's reader (correct, but the zlib state is allocated per
// stream again).
func TestStreamOffsetWorks(t *testing.T) {
	data := pdfFixture(t, "referral-flat-qpdf.pdf")
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := collectPages(doc.Trailer().Key("Root").Key("Pages"), 60)
	if err != nil {
		t.Fatal(err)
	}
	c := pages[0].V.Key("Contents")
	if c.Kind() == pdf.Array {
		c = c.Index(0)
	}
	off, ok := streamOffset(c)
	if !ok || off <= 0 || off >= int64(len(data)) {
		t.Fatalf("offset %d, ok %v", off, ok)
	}
	// The data starts after "stream" and its end of line.
	if before := data[max(0, off-8):off]; !bytes.Contains(before, []byte("stream")) {
		t.Errorf("offset %d follows %q, not the stream keyword", off, before)
	}
	if _, ok := streamOffset(pages[0].V); ok {
		t.Error("a page dictionary has a stream offset")
	}
}

// TestStreamReaderAgreesWithLibrary reads every content stream, form
// XObject and ToUnicode map reachable from the pages of every PDF fixture
// the library opens, with streamReader and with the library's own
// reader: the bytes and errors must be the same, and streamReader must
// have read most of them itself.
func TestStreamReaderAgreesWithLibrary(t *testing.T) {
	var files []string
	for _, dir := range []string{filepath.Join("testdata", "pdf"), filepath.Join("testdata", "pdf", "viewer"), filepath.Join("testdata", "thirdparty")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
		files = append(files, m...)
	}
	own, all := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		streams, file := fixtureStreams(data)
		sr := &streamReader{file: file}
		for _, s := range streams {
			all++
			if sr.openRaw(s) != nil {
				own++
			}
			got, gotErr := readBoth(func() ([]byte, error) { return sr.appendStream(nil, s, pdfContentBudget) })
			want, wantErr := readBoth(func() ([]byte, error) {
				rd := s.Reader()
				defer rd.Close()
				return io.ReadAll(io.LimitReader(rd, pdfContentBudget))
			})
			if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s: stream read %d bytes (%v), the library %d (%v)", f, len(got), gotErr, len(want), wantErr)
			}
			var n int64
			_, err := readBoth(func() ([]byte, error) {
				var err error
				n, err = sr.countStream(s, pdfContentBudget)
				return nil, err
			})
			if n != int64(len(want)) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("%s: counted %d (%v), the library read %d (%v)", f, n, err, len(want), wantErr)
			}
		}
	}
	if all < 100 || own < all*3/4 {
		t.Errorf("read %d of %d streams without the library", own, all)
	}
	t.Logf("%d of %d streams read without the library", own, all)
}

// readBoth runs read, turning a panic into an error.
func readBoth(read func() ([]byte, error)) (b []byte, err error) {
	defer func() {
		if x := recover(); x != nil {
			b, err = nil, fmt.Errorf("panic: %v", x)
		}
	}()
	return read()
}

// fixtureStreams opens data with the library and lists the streams its
// pages draw; file is data when the file is not encrypted (nil when the
// library must decrypt).
func fixtureStreams(data []byte) (streams []pdf.Value, file []byte) {
	defer func() { _ = recover() }()
	// The library follows a /Prev chain that loops for ever.
	if _, err := readXrefChain(data, DefaultLimits().MaxPDFObjects); errors.Is(err, errXrefLoop) || (err != nil && prevChainLoops(data) != nil) {
		return nil, nil
	}
	doc, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil
	}
	if doc.Trailer().Key("Encrypt").IsNull() {
		file = data
	}
	pages, err := collectPages(doc.Trailer().Key("Root").Key("Pages"), 60)
	if err != nil {
		return nil, file
	}
	seen := map[uint64]bool{}
	var add func(s pdf.Value)
	var resources func(res pdf.Value, depth int)
	add = func(s pdf.Value) {
		if s.Kind() != pdf.Stream {
			return
		}
		if id, ok := objID(s); ok {
			if seen[id] {
				return
			}
			seen[id] = true
		}
		streams = append(streams, s)
	}
	resources = func(res pdf.Value, depth int) {
		if depth > 4 {
			return
		}
		fonts := res.Key("Font")
		for _, k := range fonts.Keys() {
			add(fonts.Key(k).Key("ToUnicode"))
		}
		xo := res.Key("XObject")
		for _, k := range xo.Keys() {
			x := xo.Key(k)
			if x.Key("Subtype").Name() != "Form" || seen[func() uint64 { id, _ := objID(x); return id }()] {
				continue
			}
			add(x)
			resources(x.Key("Resources"), depth+1)
		}
	}
	for _, p := range pages {
		c := p.V.Key("Contents")
		if c.Kind() == pdf.Array {
			for i := 0; i < c.Len(); i++ {
				add(c.Index(i))
			}
		} else {
			add(c)
		}
		resources(p.V.Key("Resources"), 0)
		annots := p.V.Key("Annots")
		for i := 0; i < annots.Len(); i++ {
			ap := annots.Index(i).Key("AP")
			for _, k := range []string{"N", "D", "R"} {
				if a := ap.Key(k); a.Kind() == pdf.Stream {
					add(a)
					resources(a.Key("Resources"), 1)
				} else {
					for _, st := range a.Keys() {
						add(a.Key(st))
					}
				}
			}
		}
	}
	return streams, file
}

// TestContentOperands reads the content streams of the fixtures, and
// content written to trip a lexer up, with the content lexer and with
// pdfLexer.object, which read every operand before the content lexer did:
// each operator must come with the same operands (numbers as the float64
// the interpreter took), and the lexer's buffers must be reusable.
func TestContentOperands(t *testing.T) {
	var contents [][]byte
	for _, name := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "libreoffice-referral.pdf", "type0-table.pdf", "viewer/escapes.pdf", "viewer/inline-image.pdf", "combined-flat.pdf", "label-inline.pdf"} {
		data := pdfFixture(t, name)
		streams, file := fixtureStreams(data)
		sr := &streamReader{file: file}
		for _, s := range streams {
			content, _ := readBoth(func() ([]byte, error) { return sr.appendStream(nil, s, pdfContentBudget) })
			contents = append(contents, content)
		}
	}
	for _, c := range []string{
		"1 2 3 4 5 6 cm -0 0 -0.0 +.5 5. -. . - + 1.2.3 1e5 12345678901234567890 0.1234567890123456 123456789012345.6 Td",
		"[(a) -3 <01 02> 4.5 /N true null [1 [2]] << /K [3] >> Tj ] TJ [(x) >> (y)] TJ [(z) endobj] TJ [(open",
		"/F#201 12 Tf /Im#2 Do / Tf <</A 1 /B [2 3] >> BDC (a\\(b\\)c) Tj <4142 4> Tj ] } { ) > >> BT ET",
		"q 1 0 0 1 0 0 cm BI /W 2 /H 1 /BPC 8 /CS /G ID \x01\x02 EI Q % comment\n(end) Tj",
		"[" + strings.Repeat("[", 300) + "1" + strings.Repeat("]", 300) + "] TJ 7 Tw",
		strings.Repeat("1 ", 100) + "re <<", "(unterminated", "[1 2", "<</A",
	} {
		contents = append(contents, []byte(c))
	}
	var cl contentLexer
	ops := 0
	for n, content := range contents {
		type call struct {
			op   string
			args []any
		}
		var want, got []call
		interpretWithObject(content, func(op string, args []pdfObj) {
			norm := make([]any, len(args))
			for i, a := range args {
				norm[i] = normObj(a)
			}
			want = append(want, call{op, norm})
		})
		for range 2 { // twice: the buffers are reused
			got = got[:0]
			cl.interpretContent(content, func(op []byte, args []operand) {
				norm := make([]any, len(args))
				for i := range args {
					norm[i] = normOperand(&args[i])
				}
				got = append(got, call{string(op), norm})
			})
			if !reflect.DeepEqual(got, want) {
				for i := range min(len(got), len(want)) {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("content %d, operator %d: got %#v, want %#v", n, i, got[i], want[i])
					}
				}
				t.Fatalf("content %d: %d operators, want %d", n, len(got), len(want))
			}
		}
		ops += len(want)
	}
	if ops < 10000 {
		t.Errorf("only %d operators read", ops)
	}
}

// interpretWithObject is how content was read before contentLexer: each
// operand by pdfLexer.object.
func interpretWithObject(data []byte, do func(op string, args []pdfObj)) {
	l := pdfLexer{data: data}
	var args []pdfObj
	for {
		l.skipSpace()
		if l.pos >= len(l.data) {
			return
		}
		o, err := l.object(false, 0)
		if err != nil {
			args = args[:0]
			continue
		}
		kw, ok := o.(pdfKeyword)
		if !ok {
			if len(args) < maxContentOperands {
				args = append(args, o)
			}
			continue
		}
		switch kw {
		case "BI":
			skipInlineImage(&l)
		case "]", ">>", ">", ")", "{", "}":
		default:
			do(string(kw), args)
		}
		args = args[:0]
	}
}

// normObj is an operand read by pdfLexer.object as the interpreter took
// it: a number as a float64.
func normObj(o pdfObj) any {
	switch v := o.(type) {
	case int64:
		return float64(v)
	case pdfArray:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normObj(e)
		}
		return out
	}
	return o
}

func normOperand(o *operand) any {
	switch o.kind {
	case opNumber:
		return o.num
	case opString:
		return pdfString(o.b)
	case opName:
		return pdfName(o.b)
	case opArray:
		out := make([]any, len(o.arr))
		for i := range o.arr {
			out[i] = normOperand(&o.arr[i])
		}
		return out
	}
	return normObj(o.obj)
}

// TestContentNumber checks contentNumber's own reading of numbers
// against keywordOrNumber's, to the bit (the sign of zero too).
func TestContentNumber(t *testing.T) {
	ins := []string{"0", "-0", "+0", "0.0", "-0.0", "-.0", ".5", "-.5", "+.5", "5.", "-5.", ".", "-", "+", "-.", "+-1", "1.2.3",
		"1e5", "007", "-007.50", "999999999999999", "9999999999999999", "123456789012345.6", "0.000000000000001",
		"0.1234567890123456", "12345678901234567890", "-9223372036854775808", "9223372036854775808", "Tj", "T*", "'", "true"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b []byte
		for range 1 + rng.IntN(18) {
			b = append(b, "0123456789012345678901234567890123456789.-+"[rng.IntN(43)])
		}
		ins = append(ins, string(b))
	}
	for _, in := range ins {
		got, ok := contentNumber([]byte(in))
		want, isNum := 0.0, false
		switch o := keywordOrNumber([]byte(in)).(type) {
		case int64:
			want, isNum = float64(o), true
		case float64:
			want, isNum = o, true
		}
		if ok != isNum || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("contentNumber(%q) = %v, %v; want %v, %v", in, got, ok, want, isNum)
		}
	}
}

// TestReadPDFReaderReuse reads the fixtures one after another, and then
// from several goroutines at once, with one reader (as a PDF child does,
// its text extractors kept between PDFs): each must read as it does with
// a reader of its own, so nothing of one PDF (fonts, streams, cached
// tokens) leaks into the next.
func TestReadPDFReaderReuse(t *testing.T) {
	names := []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "type0-table.pdf", "libreoffice-referral.pdf", "combined-flat.pdf", "label-inline.pdf", "viewer/escapes.pdf", "referral-filled.pdf", "scan.pdf"}
	ctx := context.Background()
	want := map[string]string{}
	read := func(r PDFReader, name string) string {
		forms, err := r.ReadPDF(ctx, pdfFixture(t, name))
		j, _ := json.Marshal(forms)
		return fmt.Sprintf("%s %v", j, err)
	}
	for _, name := range names {
		want[name] = read(NewInProcessPDFReader(Limits{}), name)
	}
	shared := NewInProcessPDFReader(Limits{})
	for round := range 2 {
		for _, name := range names {
			if got := read(shared, name); got != want[name] {
				t.Errorf("round %d, %s read after others:\n%s\nalone:\n%s", round, name, got, want[name])
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				name := names[(i+g)%len(names)]
				if got := read(shared, name); got != want[name] {
					t.Errorf("%s read alongside others:\n%s\nalone:\n%s", name, got, want[name])
				}
			}
		}()
	}
	wg.Wait()
}
