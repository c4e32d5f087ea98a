package parser

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message/textproto"
)

// The expected values below are Python's (binascii, str.decode('utf-7'),
// email's decode_b), the peer these decoders follow.

func TestBase64Reader(t *testing.T) {
	data := []byte("%PDF-1.7 a referral\n\x00\xff\x10")
	std := base64.StdEncoding.EncodeToString(data)
	tests := []struct {
		name, in string
		want     []byte
	}{
		{"padded", std, data},
		{"unpadded", strings.TrimRight(std, "="), data},
		{"wrapped at 75 with CRLF", wrap(strings.TrimRight(std, "="), 75, "\r\n"), data},
		{"stray characters skipped", "Y*W\tJ j!", []byte("abc")},
		{"two padded runs", "YQ==Yg==", []byte("ab")},
		{"a lone last character dropped", "YWJjZ", []byte("abc")},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(iotest.OneByteReader(newBase64Reader(strings.NewReader(tt.in))))
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func wrap(s string, n int, eol string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + eol)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestUUDecode(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"#86)C\n", "abc"},
		{"$86)C", "abc\x00"}, // short line: padded with zero bits, as a2b_uu
		{"+:&5L;&\\@=V]R;&0 \r\n", "hello world"},
		{"`\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(uuDecodeLine(nil, []byte(tt.line))); got != tt.want {
			t.Errorf("uuDecodeLine(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
	body := "begin 644 x.pdf\n+:&5L;&\\@=V]R;&0 \n#86)C\n`\nend\ntrailing text\n"
	got, err := io.ReadAll(newUUReader(strings.NewReader(body)))
	if err != nil || string(got) != "hello worldabc" {
		t.Errorf("uuReader = %q, %v", got, err)
	}
	if _, err := io.ReadAll(newUUReader(strings.NewReader("no begin line\n"))); err == nil {
		t.Errorf("a body with no begin line read without error")
	}
	text, blocks := extractUUBlocks([]byte("Hello,\n\nbegin 644 Referral.pdf\n#86)C\n`\nend\nbye\nbegin 600 two.docx\n#86)C\n"), 5)
	if string(text) != "Hello,\n\nbye\n" || len(blocks) != 2 || blocks[0].name != "Referral.pdf" || string(blocks[1].data) != "abc" {
		t.Errorf("extractUUBlocks: %q %+v", text, blocks)
	}
	if _, blocks := extractUUBlocks([]byte("we begin today\nbegin here\n"), 5); len(blocks) != 0 {
		t.Errorf("prose taken for a uuencoded block: %+v", blocks)
	}
}

func TestDecodeUTF7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+AKM +IBM +-x", "£ – +x"},
		{"Hi Mom -+Jjo--!", "Hi Mom -☺-!"},
		{"+ZeVnLIqe-", "日本語"},
		{"plain", "plain"},
		{"a+", "a+"}, // Python drops a lone last "+"; keeping it loses nothing
	}
	for _, tt := range tests {
		if got := string(decodeUTF7([]byte(tt.in))); got != tt.want {
			t.Errorf("decodeUTF7(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := decodeWords("=?utf-7?Q?Referral_+IBM-_L.C.?="); got != "Referral – L.C." {
		t.Errorf("UTF-7 encoded word = %q", got)
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		raw, mt, boundary string
	}{
		{`multipart/mixed; boundary="b1"`, "multipart/mixed", "b1"},
		{`multipart/mixed;; boundary="b1"`, "multipart/mixed", "b1"},
		{`multipart/mixed; boundary="b1";; charset=`, "multipart/mixed", "b1"},
		{`multipart/mixed; boundary*=''%3D%3Db1`, "multipart/mixed", "==b1"},
		{`multipart/mixed; boundary*0="b"; boundary*1="1"`, "multipart/mixed", "b1"},
		{`Multipart/Mixed; ; boundary=b1; x`, "multipart/mixed", "b1"},
		{`multipart/mixed; boundary=b 1; charset="x"`, "multipart/mixed", "b 1"},
	}
	for raw, want := range map[string]string{
		"attachment; filename=This is a test.txt":                   "This is a test.txt",
		"attachment; filename==?utf-8?B?VGhpcyBpcyBhIHRlc3QucGRm?=": "This is a test.pdf",
		"attachment;\r\n\tfilename=\xe7\xae\xa1\xe7\x90\x86.doc":    "管理.doc",
	} {
		if got := decodeWords(func() string { _, p := parseParams(raw); return p["filename"] }()); got != want {
			t.Errorf("filename of %q = %q, want %q", raw, got, want)
		}
	}
	for _, tt := range tests {
		mt, params := parseParams(tt.raw)
		if mt != tt.mt || params["boundary"] != tt.boundary {
			t.Errorf("parseParams(%q) = %q %v, want %q boundary %q", tt.raw, mt, params, tt.mt, tt.boundary)
		}
	}
}

// TestDelimiterReader reads multipart bodies through the repair and
// go-message's reader, and lists each part's body.
func TestDelimiterReader(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"well formed", "pre\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue", []string{"one", "two"}},
		{"doubled delimiter", "--b\n--b\n\none\n--b\n--b\n\ntwo\n--b--\n", []string{"one", "two"}},
		{"no close delimiter", "--b\n\none\n--b\n\ntwo\n", []string{"one", "two\n"}},
		{"no close, no last line end", "--b\r\n\r\none\r\n--b\r\n\r\ntwo", []string{"one", "two"}},
		{"a delimiter last of all", "--b\n\none\n--b\n", []string{"one\n"}},
		{"inner boundary begins with ours", "--b\n\n--b-1\nx\n--b-1--\n--b\n\ntwo\n--b--\n", []string{"--b-1\nx\n--b-1--", "two"}},
		{"blanks after the delimiter", "--b \t\n\none\n--b-- \n", []string{"one"}},
		{"a header line with no field: the body starts there, as in Python", "--b\n\none\n--b \nand this\n--b\n\ntwo\n--b--\n", []string{"one", "and this", "two"}},
		{"a parameter wrapped without its indent", "--b\nContent-Type: application/zip;\nname=\"a.zip\"\n\nzip\n--b--\n", []string{"zip"}},
		{"a header and no body", "--b\nContent-Type: text/plain\n--b\n\ntwo\n--b--\n", []string{"", "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := textproto.NewMultipartReader(newDelimiterReader(iotest.HalfReader(strings.NewReader(tt.body)), "b"), canonicalBoundary("b"))
			var got []string
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				b, err := io.ReadAll(p)
				if err != nil {
					t.Fatalf("part %d: %v", len(got)+1, err)
				}
				got = append(got, string(b))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("parts %q, want %q", got, tt.want)
			}
		})
	}
}

// BenchmarkBase64Reader decodes a 150 KB attachment as a mailer wraps it
// (76 characters and CRLF a line), through the reader the MIME walk uses.
func BenchmarkBase64Reader(b *testing.B) {
	data := bytes.Repeat([]byte("%PDF-1.7 a referral \x00\xff\x10"), 150<<10/24)
	in := []byte(wrap(base64.StdEncoding.EncodeToString(data), 76, "\r\n"))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	loopCPU(b, func() {
		got, err := io.ReadAll(newBase64Reader(bytes.NewReader(in)))
		if err != nil || len(got) != len(data) {
			b.Fatalf("decoded %d bytes, %v; want %d", len(got), err, len(data))
		}
	})
}

// base64Reference decodes as Python's email package does, written for
// clarity: the alphabet's characters kept, each '=' (and the end) closing
// a run, whose last short group is decoded when it has two characters or
// more.
func base64Reference(in []byte) []byte {
	var out []byte
	for _, run := range bytes.Split(in, []byte("=")) {
		var chars []byte
		for _, c := range run {
			if isBase64Char(c) {
				chars = append(chars, c)
			}
		}
		if len(chars)%4 == 1 {
			chars = chars[:len(chars)-1]
		}
		d := make([]byte, base64.RawStdEncoding.DecodedLen(len(chars)))
		n, _ := base64.RawStdEncoding.Decode(d, chars)
		out = append(out, d[:n]...)
	}
	return out
}

// chunkReader returns its data in pieces of the given sizes, in turn.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), max(1, r.sizes[r.i%len(r.sizes)]))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestBase64ReaderPieces: base64 as mailers write it (lines of 64 to 76
// characters, CRLF or LF), with what real bodies add (a '=' run in the
// middle where two encoded parts were joined, a stray character, a
// signature after the data), arriving in pieces of every size, decodes
// as the reference does.
func TestBase64ReaderPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		data := make([]byte, rng.IntN(5000))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(data)
		if rng.IntN(3) == 0 {
			enc = strings.TrimRight(enc, "=")
		}
		eol := []string{"\r\n", "\n"}[rng.IntN(2)]
		in := wrap(enc, 64+rng.IntN(13), eol)
		switch rng.IntN(4) {
		case 0:
			in += "=" + eol + wrap(base64.StdEncoding.EncodeToString(data[:len(data)/2]), 76, eol)
		case 1:
			if k := rng.IntN(len(in) + 1); k < len(in) {
				in = in[:k] + "*" + in[k:]
			}
		case 2:
			in += eol + "-- " + eol + "Sent from my phone"
		}
		sizes := []int{1 + rng.IntN(20000), 1 + rng.IntN(100)}
		got, err := io.ReadAll(newBase64Reader(&chunkReader{data: []byte(in), sizes: sizes}))
		if want := base64Reference([]byte(in)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("case %d (pieces %v): decoded %d bytes (%v), the reference %d", i, sizes, len(got), err, len(want))
		}
	}
}

// FuzzBase64Reader: whatever the input and however it arrives in pieces,
// the reader decodes as the reference does.
func FuzzBase64Reader(f *testing.F) {
	data := bytes.Repeat([]byte("%PDF-1.7 a referral \x00\xff\x10"), 200)
	std := base64.StdEncoding.EncodeToString(data)
	f.Add([]byte(wrap(std, 76, "\r\n")), uint16(16<<10), uint16(7))
	f.Add([]byte(wrap(std, 75, "\n")), uint16(100), uint16(3))
	f.Add([]byte(wrap(std[:1001], 76, "\r\n")+"=\r\n"+wrap(std[8:], 64, "\r\n")), uint16(333), uint16(1))
	f.Add([]byte(wrap(std, 76, "\r\n")+"\r\n-- \r\nsignature"), uint16(4096), uint16(5))
	f.Fuzz(func(t *testing.T, in []byte, a, b uint16) {
		r := &chunkReader{data: in, sizes: []int{int(a), int(b)}}
		got, err := io.ReadAll(newBase64Reader(r))
		if err != nil {
			t.Fatal(err)
		}
		if want := base64Reference(in); !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, the reference %d", len(got), len(want))
		}
	})
}

// TestRaw8BitHeaderText: raw 8-bit text in a header is UTF-8 when it
// mostly is, even cut in the middle of a letter (Yahoo cut a Cyrillic
// name at a byte count: mailgun/flanker's russian-attachment-yahoo.eml,
// where Python's email reads the name and its last letter U+FFFD), and
// Windows-1252 otherwise.
func TestRaw8BitHeaderText(t *testing.T) {
	cyrillic := "Картинка с очень длинным именем"
	tests := []struct{ in, want string }{
		{cyrillic + ".png", cyrillic + ".png"},
		{cyrillic[:len(cyrillic)-1], strings.TrimSuffix(cyrillic, "м") + "\uFFFD"},
		{"R\xe9f\xe9rence \x96 L.C..pdf", "Référence – L.C..pdf"},
		{"caf\xe9 \xd0\x9a", "café Ðš"}, // one stray byte, one sequence: not mostly UTF-8
		{"na\xefve.pdf", "naïve.pdf"},
	}
	for _, tt := range tests {
		if got := decodeWords(tt.in); got != tt.want {
			t.Errorf("decodeWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
