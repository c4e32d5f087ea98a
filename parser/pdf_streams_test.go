package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
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

// TestTokenCacheSameTokens lexes the content streams of the fixtures
// with and without a token cache: every token must be the same, and the
// cache must stop growing at its bound.
func TestTokenCacheSameTokens(t *testing.T) {
	cache := newTokenCache()
	tokens := 0
	for _, name := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "libreoffice-referral.pdf", "type0-table.pdf", "viewer/escapes.pdf", "viewer/inline-image.pdf"} {
		data := pdfFixture(t, name)
		streams, file := fixtureStreams(data)
		sr := &streamReader{file: file}
		for _, s := range streams {
			content, _ := readBoth(func() ([]byte, error) { return sr.appendStream(nil, s, pdfContentBudget) })
			plain, cached := pdfLexer{data: content}, pdfLexer{data: content, cache: cache}
			for {
				want, got := plain.token(), cached.token()
				if !reflect.DeepEqual(got, want) || plain.pos != cached.pos {
					t.Fatalf("%s: token %#v at %d, without the cache %#v at %d", name, got, cached.pos, want, plain.pos)
				}
				if want == nil {
					break
				}
				tokens++
			}
		}
	}
	if tokens < 10000 || len(cache.strs) == 0 || len(cache.nums) == 0 {
		t.Errorf("%d tokens, %d strings and %d numbers cached", tokens, len(cache.strs), len(cache.nums))
	}
	// Distinct numbers and strings past the bound are read, not kept.
	var b bytes.Buffer
	for i := range 3 * maxCachedTokens {
		fmt.Fprintf(&b, "%d.5 <%04x> ", i, i)
	}
	l := pdfLexer{data: b.Bytes(), cache: cache}
	for i := 0; ; i++ {
		tok := l.token()
		if tok == nil {
			break
		}
		if i%2 == 0 && tok != float64(i/2)+0.5 || i%2 == 1 && tok != pdfString([]byte{byte(i / 2 >> 8), byte(i / 2)}) {
			t.Fatalf("token %d: %#v", i, tok)
		}
	}
	if len(cache.strs) > maxCachedTokens || len(cache.nums) > maxCachedTokens {
		t.Errorf("cache grew to %d strings and %d numbers", len(cache.strs), len(cache.nums))
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
