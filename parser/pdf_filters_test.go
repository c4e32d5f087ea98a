package parser

import (
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

func TestDecodeFilter(t *testing.T) {
	zl := func(b []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	a85 := func(b []byte) []byte {
		out := make([]byte, ascii85.MaxEncodedLen(len(b)))
		return append([]byte("<~"), append(out[:ascii85.Encode(out, b)], "~>"...)...)
	}
	tests := []struct {
		name   string
		filter pdfName
		parms  pdfDict
		in     []byte
		want   string
	}{
		// The example of PDF 32000-1:2008, 7.4.4.2.
		{"lzw spec example", "LZWDecode", nil, []byte{0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01}, "-----A---B"},
		{"hex with spaces and an odd digit", "ASCIIHexDecode", nil, []byte("48 65\n6c6C 6f2>"), "Hello "},
		{"hex abbreviated", "AHx", nil, []byte("4142>"), "AB"},
		{"ascii85 with z and line breaks", "ASCII85Decode", nil, []byte("z9jqo\n^BlbD-BleB1DJ+*+F(f,q~>"), "\x00\x00\x00\x00Man is distinguished"},
		{"ascii85 framed", "A85", nil, a85([]byte("Zoë Hart")), "Zoë Hart"},
		{"run length", "RunLengthDecode", nil, []byte{2, 'a', 'b', 'c', 254, 'x', 128, 'z'}, "abcxxx"},
		{"flate without a zlib header", "FlateDecode", nil, zl([]byte("BT (x) Tj ET"))[2:], "BT (x) Tj ET"},
		// The data whole, its Adler-32 wrong: kept, as poppler keeps it.
		{"flate with a wrong checksum", "FlateDecode", nil, func() []byte { z := zl([]byte("BT (x) Tj ET")); z[len(z)-1] ^= 0xff; return z }(), "BT (x) Tj ET"},
		{"tiff predictor", "FlateDecode", pdfDict{"Predictor": int64(2), "Columns": int64(4)}, zl([]byte{1, 1, 1, 1, 10, 246, 0, 5}), "\x01\x02\x03\x04\x0a\x00\x00\x05"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := decodeFilter(tc.filter, tc.parms, tc.in, 1<<20)
			if !ok || err != nil || string(got) != tc.want {
				t.Errorf("got %q (ok %v, err %v), want %q", got, ok, err, tc.want)
			}
		})
	}
	t.Run("image codecs are left alone", func(t *testing.T) {
		if _, ok, _ := decodeFilter("DCTDecode", nil, []byte{0xff, 0xd8}, 100); ok {
			t.Error("DCTDecode decoded")
		}
	})
	t.Run("budget", func(t *testing.T) {
		if _, _, err := decodeFilter("FlateDecode", nil, zl(make([]byte, 1<<20)), 1000); err != errDecodeBudget {
			t.Errorf("err = %v, want the budget", err)
		}
	})
}

// TestPNGPredictors decodes what Go's PNG encoder writes (zlib data of
// rows, each with its PNG filter) as a FlateDecode stream with a PNG
// predictor, against the image's own pixels.
func TestPNGPredictors(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	img := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for y := range 23 {
		for x := range 37 {
			// A gradient with noise, so the encoder picks several filters;
			// not opaque, so it keeps four channels.
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y*11 + rng.Intn(3)), uint8(rng.Intn(256)), uint8(200 + rng.Intn(56))})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	var idat []byte
	b := buf.Bytes()[8:]
	for len(b) >= 12 {
		n := binary.BigEndian.Uint32(b)
		if string(b[4:8]) == "IDAT" {
			idat = append(idat, b[8:8+n]...)
		}
		b = b[12+n:]
	}
	raw, _, _ := decodeFilter("FlateDecode", nil, idat, 1<<20)
	types := map[byte]bool{}
	for i := 0; i < len(raw); i += 1 + 37*4 {
		types[raw[i]] = true
	}
	if len(types) < 3 {
		t.Fatalf("the encoder used row filters %v: the test needs more", types)
	}
	got, ok, err := decodeFilter("FlateDecode", pdfDict{"Predictor": int64(15), "Colors": int64(4), "BitsPerComponent": int64(8), "Columns": int64(37)}, idat, 1<<20)
	if !ok || err != nil {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	if !bytes.Equal(got, img.Pix) {
		t.Fatalf("decoded %d bytes differ from the image's %d", len(got), len(img.Pix))
	}
}

func TestLexerLenientStrings(t *testing.T) {
	for in, want := range map[string]string{
		`(a\+b)`:                "a+b",
		`(\:\9\-)`:              ":9-",
		`(\101\60x)`:            "A0x",
		`(one\` + "\n" + `two)`: "onetwo",
		"(cr\r\nlf)":            "cr\nlf",
		`(nested (paren))`:      "nested (paren)",
		`(\0053)`:               "\x053",
		`<41 4>`:                "A@",
	} {
		l := pdfLexer{data: []byte(in)}
		if got, _ := l.token().(pdfString); string(got) != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestRewriteTriggers(t *testing.T) {
	for in, want := range map[string]bool{
		"1 0 obj << /Lang (en\\+GB) >> endobj":                                               true,
		"1 0 obj << /Length 5 >> stream\n(\\+)\nendstream endobj":                            false,
		"1 0 obj << >> stream\n\\q\nendstream endobj 2 0 obj (a\\-b) endobj":                 true,
		"1 0 obj (a\\(b\\)\\\\ \\101 \\n) endobj 2 0 obj << >> stream\n\\+ endstream endobj": false,
	} {
		if got := badEscape([]byte(in)); got != want {
			t.Errorf("badEscape(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		"<< /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 5 >> >>": false,
		"<< /Filter [/ASCII85Decode /FlateDecode] >>":                            false,
		"<< /Filter /LZWDecode >>":                                               true,
		"<< /Filter/AHx>>":                                                       true,
		"<< /DecodeParms << /Predictor 15 >> >>":                                 true,
		"<< /Filter /FlateDecode /DecodeParms << /Predictor 1 >> >>":             true,
		"<< /Filter /Flate >>":                                                   false,
		"<< /FlateDecodeX 1 >>":                                                  false,
	} {
		if got := scanNames([]byte(in), 50000).otherFilters; got != want {
			t.Errorf("otherFilters(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestPrecheckScansAgree checks the hand-written scans that replaced a
// regexp (sizeEntriesPass) and skip names (otherFiltersPass) against what
// they replaced, and scanNames, which answers them together, against
// them, on every fixture and on strings made of the tokens around them.
func TestPrecheckScansAgree(t *testing.T) {
	sizeRe := regexp.MustCompile(`/Size\s+(\d{1,19})`)
	var ins [][]byte
	files, _ := filepath.Glob("testdata/pdf/*.pdf")
	more, _ := filepath.Glob("testdata/pdf/viewer/*.pdf")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, data)
	}
	parts := []string{"/Size", "/Size ", "/Siz", " ", "\t", "\n", "\v", "\x00", "1", "12345678901234567890", "0", "/", "//",
		"/Fl", "/FlateDecode", "/LZW", "/AHx", "/A85", "/Crypt", "/RL", "/Predictor 2", "/Predictor 12", "/Predictor", "[", "<<", "x",
		"/Index", "/Index [", "]", "60000", "/In", "/I", "/RunLengthDecode", "/ASCIIHexDecode", "stream\n", "endstream", "(", ")",
		"xref", "xref\n", "startxref", "trailer", "\r", "\n\n", "0 60000\n", "1 2\n", "49999 1", "0000000015 00000 n \n",
		"%", "/Predictor %", "/Predictor (", "<", "2", "12", "/Predictor\n"}
	randomJoins(5, 20000, 1, 16, parts, func(b []byte) { ins = append(ins, b) })
	for _, in := range ins {
		var want [][]byte
		for _, m := range sizeRe.FindAllSubmatch(in, -1) {
			want = append(want, m[1])
		}
		if got := sizeEntriesPass(in); !reflect.DeepEqual(got, want) {
			t.Fatalf("sizeEntriesPass(%.200q) = %q, want %q", in, got, want)
		}
		if got, want := otherFiltersPass(in), otherFiltersEveryName(in); got != want {
			t.Fatalf("otherFiltersPass(%.200q) = %v, want %v", in, got, want)
		}
		checkScanNames(t, in, 50000)
	}
}

// otherFiltersEveryName is otherFilters as it was, reading every name.
func otherFiltersEveryName(data []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '/')
		if j < 0 {
			return false
		}
		start := i + j + 1
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
