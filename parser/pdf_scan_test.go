package parser

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The scans that precheck and rewriteReason made, a pass per question,
// before scanNames answered them in one: kept as the oracles scanNames is
// held to.

// indexRePass is the regexp precheck ran over the whole file.
var indexRePass = regexp.MustCompile(`/Index\s*\[([\d\s]*)\]`)

// precheckPasses is precheck as it was, a pass for /Size, one for /Index.
func precheckPasses(data []byte, maxObjs int64) ([]byte, error) {
	head := data[:min(len(data), 1024)]
	i := bytes.Index(head, []byte("%PDF-"))
	if i < 0 {
		return nil, unreadable(ReasonPDFNotPDF, errors.New("no %PDF- header"))
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
		return nil, unreadable(ReasonPDFTruncated, errors.New("no %%EOF at the end"))
	}
	tooMany := func(s []byte) bool {
		n, err := strconv.ParseInt(string(s), 10, 64)
		return err != nil || n > maxObjs
	}
	for _, n := range sizeEntriesPass(data) {
		// Since: a /Size the cross-reference chain does not read (an
		// attached file's length) is passed over when the chain reads.
		if tooMany(n) && !chainSizesWithin(data, maxObjs) {
			return nil, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("/Size %s", n))
		}
		if tooMany(n) {
			break
		}
	}
	for _, m := range indexRePass.FindAllSubmatch(data, -1) {
		for _, f := range bytes.Fields(m[1]) {
			if tooMany(f) {
				return nil, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("/Index entry %s", f))
			}
		}
	}
	// Subsection headers ("start count") of classic xref tables.
	for off := 0; ; {
		j := bytes.Index(data[off:], []byte("xref"))
		if j < 0 {
			break
		}
		at := off + j
		off = at + 4
		if at > 0 && data[at-1] == 't' { // startxref
			continue
		}
		end := bytes.Index(data[off:], []byte("trailer"))
		if end < 0 {
			end = min(len(data)-off, 1<<20)
		}
		for sec := data[off : off+end]; len(sec) > 0; {
			line := sec
			if nl := bytes.IndexByte(sec, '\n'); nl >= 0 {
				line, sec = sec[:nl], sec[nl+1:]
			} else {
				sec = nil
			}
			m1, m2, ok := xrefHeadPass(line)
			if !ok {
				continue
			}
			a, errA := strconv.ParseInt(string(m1), 10, 64)
			b, errB := strconv.ParseInt(string(m2), 10, 64)
			if errA != nil || errB != nil || a+b > maxObjs {
				return nil, unreadable(ReasonPDFTooManyObjs, fmt.Errorf("xref subsection %s %s", m1, m2))
			}
		}
	}
	return data, nil
}

// sizeEntriesPass is sizeEntries, the pass for /Size.
func sizeEntriesPass(data []byte) [][]byte {
	var out [][]byte
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("/Size"))
		if j < 0 {
			return out
		}
		at := i + j + len("/Size")
		p := at
		for p < len(data) && isRegexpSpace(data[p]) {
			p++
		}
		q := p
		for q < len(data) && q-p < 19 && data[q] >= '0' && data[q] <= '9' {
			q++
		}
		if p == at || q == p {
			i = at // no match here; the next may start after "/Size"
			continue
		}
		out = append(out, data[p:q])
		i = q
	}
}

// otherFiltersPass is otherFilters, the pass over the names for filters.
func otherFiltersPass(data []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '/')
		if j < 0 {
			return false
		}
		start := i + j + 1
		// Every name looked for begins with one of these: other names
		// (and the '/' bytes of binary streams, an embedded font's
		// above all) are passed over without being read to their end.
		// A name holds no '/', so the next is found from here as well.
		if start >= len(data) || bytes.IndexByte([]byte("ALRFCP"), data[start]) < 0 {
			i = start
			continue
		}
		end := start
		for end < len(data) && end-start < 16 && !isPDFSpace(data[end]) && !isPDFDelim(data[end]) {
			end++
		}
		switch string(data[start:end]) {
		case "ASCIIHexDecode", "AHx", "LZWDecode", "LZW", "RunLengthDecode", "RL", "Fl", "A85", "Crypt":
			return true
		case "Predictor":
			l := pdfLexer{data: data, pos: end}
			if p, ok := l.token().(int64); ok && p != 12 {
				return true
			}
		}
		i = end
	}
}

// xrefHeadPass is xrefHead as precheck used it.
func xrefHeadPass(line []byte) (start, count []byte, ok bool) {
	line = bytes.TrimLeft(line, " \t\f\r")
	digits := func(b []byte) int {
		n := 0
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		return n
	}
	n := digits(line)
	if n == 0 || n > 19 {
		return nil, nil, false
	}
	start, line = line[:n], line[n:]
	sp := len(line) - len(bytes.TrimLeft(line, " \t"))
	if sp == 0 {
		return nil, nil, false
	}
	line = line[sp:]
	n = digits(line)
	if n == 0 || n > 19 {
		return nil, nil, false
	}
	count, line = line[:n], line[n:]
	line = bytes.TrimLeft(line, " \t")
	if len(line) > 0 && line[0] == '\r' {
		line = line[1:]
	}
	return start, count, len(line) == 0
}

// scanNamesOracle is what the passes found: the first /Size entry over
// the limit, the first bad entry of the /Index arrays, and otherFilters.
func scanNamesOracle(data []byte, maxObjs int64) nameScan {
	var s nameScan
	for _, n := range sizeEntriesPass(data) {
		if tooManyObjs(n, maxObjs) {
			s.badSize = n
			break
		}
	}
	for _, m := range indexRePass.FindAllSubmatch(data, -1) {
		for _, f := range bytes.Fields(m[1]) {
			if tooManyObjs(f, maxObjs) && s.badIndex == nil {
				s.badIndex = f
			}
		}
	}
	s.otherFilters = otherFiltersPass(data)
	s.embeds = bytes.Contains(data, []byte("/EmbeddedFile")) || bytes.Contains(data, []byte("/FileAttachment"))
	return s
}

// checkScanNames holds scanNames and precheck to the passes on data.
func checkScanNames(t *testing.T, data []byte, maxObjs int64) {
	t.Helper()
	got, want := scanNames(data, maxObjs), scanNamesOracle(data, maxObjs)
	if !bytes.Equal(got.badSize, want.badSize) || (got.badSize == nil) != (want.badSize == nil) {
		t.Fatalf("scanNames(%.300q, %d): badSize %q, want %q", data, maxObjs, got.badSize, want.badSize)
	}
	if !bytes.Equal(got.badIndex, want.badIndex) || (got.badIndex == nil) != (want.badIndex == nil) {
		t.Fatalf("scanNames(%.300q, %d): badIndex %q, want %q", data, maxObjs, got.badIndex, want.badIndex)
	}
	if got.embeds != want.embeds {
		t.Fatalf("scanNames(%.300q, %d): embeds %v, want %v", data, maxObjs, got.embeds, want.embeds)
	}
	if got.otherFilters != want.otherFilters {
		t.Fatalf("scanNames(%.300q, %d): otherFilters %v, want %v", data, maxObjs, got.otherFilters, want.otherFilters)
	}
	if every := otherFiltersEveryName(data); got.otherFilters != every {
		t.Fatalf("scanNames(%.300q, %d): otherFilters %v, reading every name %v", data, maxObjs, got.otherFilters, every)
	}
	r := &inProcessPDF{limits: Limits{MaxPDFObjects: int(maxObjs)}}
	for _, in := range [][]byte{data, append(append([]byte("%PDF-1.7\n"), data...), "\n%%EOF\n"...)} {
		gotData, names, gotErr := r.precheck(in)
		wantData, wantErr := precheckPasses(in, maxObjs)
		if !bytes.Equal(gotData, wantData) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || ReasonOf(gotErr) != ReasonOf(wantErr) {
			t.Fatalf("precheck(%.300q, %d) = %.100q, %v; want %.100q, %v", in, maxObjs, gotData, gotErr, wantData, wantErr)
		}
		if gotErr == nil && names.otherFilters != otherFiltersPass(gotData) {
			t.Fatalf("precheck(%.300q, %d): otherFilters %v", in, maxObjs, names.otherFilters)
		}
	}
}

// scanNamesCases are the edges of the names scanNames looks for: split,
// at the end of the data, followed by each kind of white space, inside
// strings and streams.
var scanNamesCases = []string{
	"", "/", "//", "/S", "/Si", "/Siz", "/Size", "/Size ", "/Size 7", "/Size\t7", "/Size\n7", "/Size\r\n7", "/Size\f7",
	"/Size\v7", "/Size\x007", "/Size7", "/Size 99999999", "/Size 1234567890123456789", "/Size 9999999999999999999",
	"/Size 12345678901234567890123", "/Size  \n 60000/Size 70000", "/Size 1/Size 60000", "/Sizes 60000", "/ Size 60000",
	"//Size 60000", "/Size/Size 60000", "/Size 60000 0 R", "/Size -1", "/Size +1", "/Size 60000.5",
	"/I", "/In", "/Index", "/Index[", "/Index[]", "/Index [0 60000]", "/Index[0 3 60000 2]", "/Index\n[ 1 2\n]",
	"/Index [0 60000", "/Index [0 60000 /Foo]", "/Index [0 6e4]", "/Index [\v60000]", "/Index [0 99999999999999999999]",
	"/Index [1 2] /Index [0 60000] /Index [70000]", "/Index [0 60000] /Size 70000", "/Size 70000 /Index [0 60000]",
	"/IndexX [60000]", "/Index/Index [60000]", "/Index [+1]",
	"/F", "/Fl", "/Fl ", "/Fl/", "/Fla", "/FlateDecode", "/F/Fl", "/RL", "/R", "/Ru", "/RunLengthDecode", "/RunLengthDecodeX",
	"/LZW", "/LZWDecode", "/LZ", "/AHx", "/AH", "/A85", "/A8", "/A86", "/ASCIIHexDecode", "/ASCIIHexDecodeX", "/ASCII85Decode",
	"/Crypt", "/Cr", "/Predictor", "/Predictor 12", "/Predictor 1", "/Predictor 2", "/Predictor 15", "/Predictor/12",
	"/Predictor 12.0", "/Predictor (x)", "/Predictor", "/Predictor % 2\n2", "/PredictorX 2", "/ASCIIHexDecodeXYZW",
	"/AS /Off", "/AP << /N 3 0 R >>", "(/Size 60000)", "stream\n/Size 60000\nendstream", "endstream /Size 70000 stream",
	"<< /Length 9 >> stream\n/LZWDecode\nendstream", "(a string with stream in it) /RL", "/Size\xc3 1", "\xc3/Size 60000",
	"/Index\xc3[1]", "/Index [1]\xc3/Index [60000]",
	"/E", "/Em", "/Embedded", "/EmbeddedFil", "/EmbeddedFile", "/EmbeddedFiles 3 0 R", "/Type/EmbeddedFile", "//EmbeddedFile",
	"/Fi", "/FileAttachmen", "/FileAttachment", "/Subtype /FileAttachment /FS 9 0 R", "(/EmbeddedFile)", "/Size 60000 /EmbeddedFile",
	// Classic xref tables' subsection headers, and "xref" where it is not one.
	"xref\n0 3\n0000000000 65535 f \n0000000015 00000 n \ntrailer", "xref\n0 60000\ntrailer", "xref 0 60000\ntrailer",
	"xref\n0 60000", "xref\n0 60000\r\n", "xref\n0 60000 \t\r", "xref\n0 60000\r\r", "xref\n 59999 1\n", "xref\n59999 2",
	"startxref\n0 60000\n", "xref\n1 2\nxref\n0 60000\ntrailer", "xref\nxref\nxref\n0 60000\n", "xrefxref0 60000",
	"xref\n0 1\ntrailer\n0 60000\nxref\n7 60000\ntrailer", "xref\n12345678901234567890 1\n", "xref\n1\t2\n\f 3 4\n",
	"xreftrailer\n0 60000", "xref\n0 60000trailer", "xref\n\n\n5 59996\nxref 1 1\nxref\n\n5 59996", "trailer xref\n0 60000",
	"xref\n1 1\n1 1\n1 1\nxref\n1 1\nxref\n2 2\n0 60000", "xref 1 1 xref 0 60000 trailer", "xref\n99999999999999999999 1\n",
	// What follows /Predictor: comments (names in them too), strings, arrays.
	"/Predictor %c\n2", "/Predictor %c\r2", "/Predictor %c\r\n%d\n 2", "/Predictor %/Predictor 2\n1", "/Predictor %/Predictor %x\n 2",
	"/Predictor %x\n%/Predictor 12\n 2", "/Predictor %x\n%/Predictor 2\n 12", "/Predictor %", "/Predictor % ", "/Predictor %\n",
	"/Predictor (1)", "/Predictor (2", "/Predictor <02>", "/Predictor <<", "/Predictor [2]", "/Predictor /2", "/Predictor 2%x", "/Predictor\n%\n%\n2",
	"/Predictor %\r%\r12 /Predictor %\r3", "/Predictor %a\n/Predictor %b\n2", "/Predictor %a%/Predictor 2\n12", "/Predictor\x00%\x002\n1",
	"/Predictor %(\n2", "/Predictor )2", "/Predictor {2", "/Predictor 2.0", "/Predictor -2", "/Predictor +2", "/Predictor 2x",
	"/Predictor %x\n\n%/Predictor %y\n%/Predictor 1\n 12", "/Predictor %x\n%y/Predictor 3\n12 %/Predictor %\n1",
}

func TestScanNamesAgree(t *testing.T) {
	var ins [][]byte
	for _, c := range scanNamesCases {
		ins = append(ins, []byte(c))
	}
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	more, _ := filepath.Glob("testdata/pdf/viewer/*.pdf")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, data)
	}
	for _, in := range ins {
		for _, max := range []int64{1, 1000, 50000, 60000} {
			checkScanNames(t, in, max)
		}
	}
	for _, in := range xrefWindowCases(rand.New(rand.NewSource(19)), 48) {
		checkScanNames(t, in, 50000)
	}
}

// xrefWindowCases are files of more than 1 MiB with a few "xref" near
// the start and no "trailer" after them: each section is the 1 MiB past
// its "xref", so sections end at different places, in the middle of a
// line, and headers lie across their ends.
func xrefWindowCases(rng *rand.Rand, n int) [][]byte {
	start := []string{"xref\n", "xref", "1 1\n", "\n", "x", " ", "0 60000\n", "startxref\n", "trailer\n"}
	end := []string{"0 60000\n", "0 6", "0000", " ", "\t", "\r", "\n", "xref\n", "1 2\n", "5", "49999 1", "x"}
	var out [][]byte
	for range n {
		b := []byte("xref\n")
		for range rng.Intn(12) {
			b = append(b, start[rng.Intn(len(start))]...)
		}
		for len(b) < 1<<20-64 {
			b = append(b, "0000000015 00000 n \n"...)
		}
		// The first section ends at 4+1<<20: the end's parts begin a
		// few bytes before it.
		for len(b) < 4+1<<20-rng.Intn(8) {
			b = append(b, "\n 0"[rng.Intn(3)])
		}
		for range 8 + rng.Intn(24) {
			b = append(b, end[rng.Intn(len(end))]...)
		}
		out = append(out, b)
	}
	// And headers placed across the first section's end, at 4+1<<20,
	// which the second's, 17 bytes further, takes in.
	for _, c := range [][2]string{{"", "\n0 60000\n"}, {"0 6", "0000\n"}, {"0 60000", "\n"}, {" ", "\n0 60000"},
		{"0", " 60000\n"}, {"\n", "0 60000\n"}, {"0 60000\n", "1 1\n"}, {"\n0", " 60000"}, {"0 5", "\n0 60000\n"},
		// Last lines that both sections cut, at different places.
		{"0 6", "0000" + strings.Repeat(" ", 30)}, {" ", strings.Repeat(" ", 30) + "1 60000"}, {"1", " 60000" + strings.Repeat(" ", 30) + "\r"},
		{"1 2", "\r" + strings.Repeat(" ", 30)}, {"0", strings.Repeat("0", 30) + " 1"}, {"0 ", strings.Repeat(" ", 9) + "60000\rx"},
		{"0 1", "\r"}, {"0 6000", "0"}, {"0\t", "\t60000\t"}} {
		b := []byte("xref\n1 1\n1 1\n1 1\nxref\n")
		for len(b)+20 <= 4+1<<20-len(c[0])-8 {
			b = append(b, "0000000015 00000 n \n"...)
		}
		for len(b) < 4+1<<20-len(c[0]) {
			b = append(b, ' ')
		}
		out = append(out, append(append(b, c[0]...), c[1]...))
	}
	return out
}

func FuzzScanNames(f *testing.F) {
	for _, c := range scanNamesCases {
		f.Add([]byte(c), uint16(50000))
	}
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	more, _ := filepath.Glob("testdata/pdf/viewer/*.pdf")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint16(50000))
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		// precheckPasses matches the lines of every "xref" to the next
		// "trailer": quadratic on a file full of "xref", which the
		// fuzzer finds and then runs slowly.
		if bytes.Count(data, []byte("xref")) > 64 {
			t.Skip()
		}
		checkScanNames(t, data, int64(max)+1)
	})
}

// checkPlainXrefEntry holds plainXrefEntry to three tokens read by the
// lexer where it reads an entry: the same numbers and keyword, the lexer
// left at the same place.
func checkPlainXrefEntry(t *testing.T, data []byte) {
	t.Helper()
	l := pdfLexer{data: data}
	l.skipSpace()
	from := l.pos
	off, gen, kind, ok := l.plainXrefEntry()
	if !ok {
		if l.pos != from {
			t.Fatalf("plainXrefEntry(%q) failed and moved the lexer", data)
		}
		return
	}
	tl := pdfLexer{data: data, pos: from}
	wantOff, wantGen, wantKind := tl.token(), tl.token(), tl.token()
	if wantOff != any(off) || wantGen != any(gen) || wantKind != any(pdfKeyword(kind)) || tl.pos != l.pos {
		t.Fatalf("plainXrefEntry(%q) = %d %d %c at %d; tokens %#v %#v %#v at %d", data, off, gen, kind, l.pos, wantOff, wantGen, wantKind, tl.pos)
	}
}

var plainXrefEntryCases = []string{
	"0000000015 00000 n \n", "0000000000 65535 f \n", "0000000015 00000 n\r\n", "0000000015 00000 n", "0000000015 00000 f",
	"0000000015 00000 n\n", "0000000015 00000 n%x", "0000000015 00000 n/", "0000000015 00000 n<<", "0000000015 00000 nx",
	"0000000015 00000 n0", "0000000015 00000 x \n", "0000000015 0000 n \n", "000000015 00000 n \n", "0000000015  00000 n \n",
	"0000000015\t00000 n \n", "00000000a5 00000 n \n", "9999999999 99999 n \n", "+000000015 00000 n \n", "0000000015 -0000 n \n",
	"  \n0000000015 00000 n \n", "%c\n0000000015 00000 n \n", "0000000015 00000 n\x00", "0000000015 00000 nn", "",
}

func TestPlainXrefEntry(t *testing.T) {
	for _, c := range plainXrefEntryCases {
		checkPlainXrefEntry(t, []byte(c))
	}
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	more, _ := filepath.Glob("testdata/pdf/viewer/*.pdf")
	n := 0
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Every line of every file, tables' entries among them.
		for i := 0; i < len(data); i++ {
			if i == 0 || data[i-1] == '\n' || data[i-1] == '\r' {
				checkPlainXrefEntry(t, data[i:])
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no fixtures")
	}
}

func FuzzPlainXrefEntry(f *testing.F) {
	for _, c := range plainXrefEntryCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPlainXrefEntry(t, data)
	})
}

// badEscapePass is badEscape as it was, looking for the next backslash
// again from the end of every stream it passed over.
func badEscapePass(data []byte) bool {
	next := -1 // the next "stream" at or after i; -2 when there is none
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\\')
		if j < 0 {
			return false
		}
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

// badEscapeCases are the edges of badEscape: escapes in and out of
// streams, "stream" in strings, "endstream" first, no end.
var badEscapeCases = []string{
	"", "\\", "(\\+)", "(\\n\\r\\t\\b\\f\\(\\)\\\\\\101)", "(\\8)", "(\\\n)", "(\\\r)", "stream\n\\+\nendstream", "stream\n\\+",
	"stream\n\\+\nendstream (\\+)", "endstream (\\+)", "endstream stream \\+ endstream (\\q)", "(stream) \\+ endstream (\\a)",
	"stream endstream stream endstream \\+", "stream\\+endstream\\+", "\\\\+", "(\\", "streamendstream\\+",
	"stream \\n endstream stream \\n endstream (\\x)", "stream\nendstrea\\+", "(a\\)stream\\+)endstream \\+",
}

// checkBadEscape holds badEscape to badEscapePass on data.
func checkBadEscape(t *testing.T, data []byte) {
	t.Helper()
	if got, want := badEscape(data), badEscapePass(data); got != want {
		t.Fatalf("badEscape(%.300q) = %v, want %v", data, got, want)
	}
}

func TestBadEscapeAgrees(t *testing.T) {
	for _, c := range append(badEscapeCases, scanNamesCases...) {
		checkBadEscape(t, []byte(c))
	}
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	more, _ := filepath.Glob("testdata/pdf/viewer/*.pdf")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkBadEscape(t, data)
		// And with a bad escape at the end, past every stream.
		checkBadEscape(t, append(data, "(\\+)"...))
	}
	parts := []string{"stream", "\n", "endstream", "end", "(", ")", "\\", "\\+", "\\n", "\\1", "\\\\", "x", " ", "str", "eam"}
	randomJoins(19, 20000, 1, 16, parts, func(b []byte) { checkBadEscape(t, b) })
}

// randomJoins calls check with n inputs, each least+rng.Intn(spread) of
// parts joined at random: the agreement tests' generated inputs, the same
// for a seed.
func randomJoins(seed int64, n, least, spread int, parts []string, check func([]byte)) {
	rng := rand.New(rand.NewSource(seed))
	for range n {
		var b []byte
		for range least + rng.Intn(spread) {
			b = append(b, parts[rng.Intn(len(parts))]...)
		}
		check(b)
	}
}

func FuzzBadEscape(f *testing.F) {
	for _, c := range badEscapeCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBadEscape(t, data)
	})
}

// checkXrefHead holds xrefHead to xrefHeadPass on a line.
func checkXrefHead(t *testing.T, line []byte) {
	t.Helper()
	s1, c1, ok1 := xrefHead(line)
	s2, c2, ok2 := xrefHeadPass(line)
	if ok1 != ok2 || (ok1 && (!bytes.Equal(s1, s2) || !bytes.Equal(c1, c2))) {
		t.Fatalf("xrefHead(%q) = %q %q %v, want %q %q %v", line, s1, c1, ok1, s2, c2, ok2)
	}
}

var xrefHeadCases = []string{
	"", "0 3", "0 3\r", "0 3 \t\r", "0 3\r\r", " \t\f\r0 3", "\v0 3", "0  3", "0\t3", "0\f3", "03", "0 ", "0", " ", "\r",
	"0 3 x", "0 3x", "x0 3", "0000000015 00000 n ", "0000000000 65535 f\r", "1234567890123456789 1", "12345678901234567890 1",
	"1 1234567890123456789", "1 12345678901234567890", "+1 2", "1 -2", "1.0 2", "1 2\r ", "1 2\n",
}

func TestXrefHeadAgrees(t *testing.T) {
	for _, c := range xrefHeadCases {
		checkXrefHead(t, []byte(c))
	}
	parts := []string{"0", "1", "12345", "0000000015", "1234567890", " ", "\t", "\f", "\r", "\v", "n", "f", "x", "-", "+"}
	randomJoins(19, 50000, 0, 8, parts, func(b []byte) { checkXrefHead(t, b) })
}

func FuzzXrefHead(f *testing.F) {
	for _, c := range xrefHeadCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkXrefHead(t, line)
	})
}

// checkHeadRuns holds headRuns.head to xrefHeadPass on every line from
// the start of data to each of its ends.
func checkHeadRuns(t *testing.T, data []byte) {
	t.Helper()
	h := findHeadRuns(data, 0)
	for e := 0; e <= len(data); e++ {
		s1, c1, ok1 := h.head(data, e)
		s2, c2, ok2 := xrefHeadPass(data[:e])
		if ok1 != ok2 || (ok1 && (!bytes.Equal(s1, s2) || !bytes.Equal(c1, c2))) {
			t.Fatalf("head(%q, %d) = %q %q %v, want %q %q %v", data, e, s1, c1, ok1, s2, c2, ok2)
		}
	}
}

func TestHeadRunsAgree(t *testing.T) {
	for _, c := range append(xrefHeadCases, "0 60000\r\n", "  1 2 \t \r", "1 2\rx", strings.Repeat("1", 25)+" 1",
		"1 "+strings.Repeat("1", 25), "1 "+strings.Repeat(" ", 30)+"2"+strings.Repeat(" ", 30)+"\r\r") {
		checkHeadRuns(t, []byte(c))
	}
	parts := []string{"0", "1", "12345", "0000000015", "1234567890", " ", "\t", "\f", "\r", "\n", "\v", "n", "x", "-", "  "}
	randomJoins(19, 20000, 0, 10, parts, func(b []byte) { checkHeadRuns(t, b) })
}

func FuzzHeadRuns(f *testing.F) {
	for _, c := range xrefHeadCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkHeadRuns(t, data)
	})
}
