package parser

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// xmlTrace is a part's tokens as text, to compare two tokenizers: adjacent
// character data joined, attribute values' white space collapsed (the
// lexer normalises an attribute's tabs and line ends to spaces, as XML
// says a reader should; encoding/xml keeps them). The error, if any, ends it.
func xmlTrace(tok xmlTokenizer) (trace []string, err error) {
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			trace = append(trace, "T "+text.String())
			text.Reset()
		}
	}
	for n := 0; n < 1e6; n++ {
		var t xmlToken
		err := tok.next(&t)
		if err == io.EOF {
			flush()
			return trace, nil
		}
		if err != nil {
			flush()
			return trace, err
		}
		switch t.kind {
		case xmlStart:
			flush()
			s := "S " + t.name.Space + ":" + t.name.Local
			for _, a := range t.attrs {
				s += fmt.Sprintf(" %s:%s=%q", a.Name.Space, a.Name.Local, strings.Join(strings.Fields(a.Value), " "))
			}
			trace = append(trace, s)
		case xmlEnd:
			flush()
			trace = append(trace, "E "+t.name.Space+":"+t.name.Local)
		case xmlText:
			text.Write(t.text)
		}
	}
	return trace, fmt.Errorf("more than a million tokens")
}

// checkLexedXML compares the lexer's tokens with encoding/xml's for one
// part: where encoding/xml reads the part, the lexer must give the same
// tokens; where it refuses the part, the lexer must refuse it too unless
// lenient is set (the fuzzer finds malformed XML the lexer takes, which
// is no loss: a Word form is never refused that encoding/xml read).
func checkLexedXML(t *testing.T, name string, data []byte, lenient bool) {
	t.Helper()
	want, wantErr := xmlTrace(decodedXML{xml.NewDecoder(bytes.NewReader(data))})
	if !plainXML(data) {
		return // read by encoding/xml itself
	}
	got, gotErr := xmlTrace(newLexedXML(bytes.Clone(data)))
	switch {
	case wantErr == nil && gotErr != nil:
		t.Fatalf("%s: encoding/xml reads it, the lexer fails: %v", name, gotErr)
	case wantErr != nil && gotErr == nil && !lenient:
		t.Fatalf("%s: encoding/xml refuses it (%v), the lexer reads it", name, wantErr)
	case wantErr == nil:
		if len(got) != len(want) {
			t.Fatalf("%s: %d tokens, encoding/xml %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: token %d is %q, encoding/xml's %q", name, i, got[i], want[i])
			}
		}
	}
}

// wordFixtureParts is every XML part (and relationships part) of every
// Word fixture, ours and Word's own, that opens as a zip, by fixture and
// part name.
func wordFixtureParts(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "docx", "*.docx"))
	if err != nil {
		t.Fatal(err)
	}
	// Word's own saves, from another project (testdata/thirdparty/README.md).
	theirs, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "docx", "*.docx"))
	if len(theirs) == 0 {
		t.Fatal("no third-party Word files")
	}
	files = append(files, theirs...)
	parts := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			continue // the damaged and encrypted fixtures
		}
		for _, zf := range zr.File {
			if !strings.HasSuffix(zf.Name, ".xml") && !strings.HasSuffix(zf.Name, ".rels") || zf.UncompressedSize64 > 4<<20 {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				continue
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err == nil { // the bombs fail here
				parts[filepath.Base(f)+"/"+zf.Name] = part
			}
		}
	}
	return parts
}

// TestDOCXXMLMatchesEncodingXML: every XML part of every Word fixture
// (Word's, LibreOffice's and the samples') and markup a Word part may
// hold gives the same tokens through the lexer as through encoding/xml,
// and what encoding/xml refuses the lexer refuses.
func TestDOCXXMLMatchesEncodingXML(t *testing.T) {
	parts := 0
	for name, part := range wordFixtureParts(t) {
		checkLexedXML(t, name, part, false)
		parts++
	}
	if parts < 50 {
		t.Fatalf("only %d XML parts compared", parts)
	}
	for _, tc := range []string{
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n" + `<w:document xmlns:w="urn:w"><w:body/></w:document>`,
		`<a x='1' y="2"   z = "3"><b/><c></c ></a>`,
		`<a>1 &lt; 2 &amp;&amp; 3 &gt; 2 &quot;q&quot; &apos;a&apos; &#169; &#xA9; &#x1F600;</a>`,
		`<a v="a&amp;b &#10; c">x</a>`,
		"<a>line\r\nline\rline\n\tend</a>",
		`<a><![CDATA[<not a tag> & ]]></a>`,
		`<a><!-- a comment -- ><b/></a>`,
		`<!DOCTYPE a [<!ELEMENT a ANY>]><a/>`,
		"\xef\xbb\xbf<?xml version=\"1.0\"?><a/>",
		"<?xml version='1.0' encoding='utf-8'?>\n<a/>",
		"<a>Ünïcødé ☒ ☐ — “quotes” 𝄞</a>",
		`<w:t xml:space="preserve"> two  spaces </w:t>`,
		// Refused by both.
		`<a>&nbsp;</a>`,
		`<a>&#0;</a>`,
		`<a>&#xD800;</a>`,
		`<a>fish & chips</a>`,
		`<a>&amp</a>`,
		`<a x=1/>`,
		`<a x/>`,
		"<a>\x01</a>",
		"<a>\xff\xfe</a>",
		`<a x="` + "\xc3" + `"/>`,
		`<a><!-- never closed`,
		`<a><![CDATA[never closed`,
		`<a`,
		`<a x="1"`,
		`<?xml version="1.0" encoding="UTF-16"?><a/>`,
		"<a>\x00</a>",
	} {
		checkLexedXML(t, fmt.Sprintf("%q", tc), []byte(tc), false)
	}
}

// FuzzDOCXXML holds the lexer to encoding/xml's tokens on any input that
// encoding/xml reads, and to failing cleanly (never panicking) on the rest.
func FuzzDOCXXML(f *testing.F) {
	for _, s := range []string{
		docxXML(`<w:p><w:r><w:t xml:space="preserve">a &amp; b</w:t></w:r></w:p>`),
		`<a x='1'><![CDATA[c]]><!--d--><?p q?><b/></a>`,
		"<a>\r\n&#169;</a>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLexedXML(t, "input", data, true)
	})
}

// TestReadDOCXEitherTokenizer: a Word form reads the same whichever way
// its document part is tokenized: lexed in memory (as every form is),
// through encoding/xml when the part holds a processing instruction past
// its declaration, and streamed through encoding/xml when the part is
// larger than docxWholePart.
func TestReadDOCXEitherTokenizer(t *testing.T) {
	orig := readFixture(t, "referral-plain.docx")
	parts := partsOf(t, orig)
	doc := parts["word/document.xml"]
	body := strings.Index(doc, "<w:body>")
	if body < 0 {
		t.Fatal("no <w:body> in the fixture")
	}
	withPI := doc[:body] + `<?mso-application progid="Word.Document"?>` + doc[body:]
	large := doc[:body] + "<!-- " + strings.Repeat("padding ", docxWholePart/8+1) + "-->" + doc[body:]
	if plainXML([]byte(withPI)) || len(large) <= docxWholePart {
		t.Fatal("the variants would be lexed in memory")
	}
	want, err := readDOCX(context.Background(), orig, Limits{})
	if err != nil || len(want) == 0 || len(want[0].ByLabel) < 10 {
		t.Fatalf("the fixture read %d forms, %v", len(want), err)
	}
	for name, d := range map[string]string{"processing instruction": withPI, "larger than read whole": large} {
		parts["word/document.xml"] = d
		got, err := readDOCX(context.Background(), zipOf(t, parts), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read\n%+v\nwant\n%+v", name, got, want)
		}
	}
}
