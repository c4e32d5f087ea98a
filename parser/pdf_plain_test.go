package parser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
)

// plainCases are objects as an object stream may hold them, and whether
// the rewrite may copy them as written.
var plainCases = []struct {
	obj  string
	copy bool
}{
	{`<</FT/Tx/T(cyp_surname)/V(Nguyen-Byrne)/Kids[12 0 R 13 0 R]/Ff 4096>>`, true},
	{"<< /Type /Annot /Rect [ 56.7 -701.5 +300 .5 ] /MK << /BG [ 1 ] >> /P 3 0 R >>\n\n", true},
	{`[11 0 R 12 3 R 4 5 6 R]`, true},
	{`[1 2 3]`, true},
	{`<</A true/B false/D 5./E -.25/F[null]>>`, true},
	{`<</A 1/A null>>`, false}, // a null value, which our lexer drops and the library keeps
	{`(Siobhan (Shiv) O'Neill)`, true},
	{`<FEFF00530069006f006200680061006e>`, true},
	{`< fe ff 00 41 >`, true},
	{`42`, true},
	{`/Off`, true},
	{`[]`, true},
	{`<<>>`, true},
	{`<</Nested<</Deeper[<</X[[1]]>>]>>>>`, true},
	{`(line one\nline two)`, true},
	{`(Zo\353 O\047Neill \(Zo\)\\\t\b\f\r)`, true}, // escapes as Acrobat writes them
	{"(one \\\ntwo)", true},                        // a line continuation
	// Read otherwise by the two readers, or forgiven by ours only.
	{"(line one\rline two)", false}, // a bare carriage return, a line end to our lexer only
	{"(one \\\r\ntwo)", false},      // a continuation after a carriage return
	{`(a\+b)`, false},               // an escape the library refuses
	{`(\400)`, false},               // past a byte
	{`(a\`, false},
	{`/A#20B`, false},                          // a name escape
	{`<</A>>`, false},                          // a key without a value
	{`<</A 1`, false},                          // a dictionary left open
	{`<</A 1 2>>`, false},                      // a stray value
	{`<<1 2>>`, false},                         // a key that is not a name
	{`[1 2`, false},                            // an array left open
	{`1 2`, false},                             // two objects
	{`<</A 1>> endobj`, false},                 // a keyword after it
	{`<</S/JavaScript/JS{x}>>`, false},         // braces
	{`% a comment` + "\n" + `<</A 1>>`, false}, // a comment
	{`<ABC>`, false},                           // half a byte
	{`<GG>`, false},                            // not hex
	{`(unterminated`, false},
	{`1.2.3`, false},
	{`1e5`, false},
	{`.`, false},
	{`-`, false},
	{`12345678901234567890`, false}, // past both readers' int64
	{`4294967296 0 R`, false},       // an object number our lexer does not read as one
	{`1 65536 R`, false},            // nor this generation
	{`/`, false},                    // an empty name
	{``, false},
	{"  \n", false},
	{strings.Repeat("[", maxPlainDepth+1) + strings.Repeat("]", maxPlainDepth+1), false},
}

func TestPlainObject(t *testing.T) {
	for _, tc := range plainCases {
		if got := plainObject([]byte(tc.obj)); got != tc.copy {
			t.Errorf("plainObject(%q) = %v, want %v", tc.obj, got, tc.copy)
			continue
		}
		if tc.copy {
			if compared, err := plainAgrees([]byte(tc.obj)); err != nil || !compared {
				t.Errorf("%q: compared %v: %v", tc.obj, compared, err)
			}
		}
	}
}

// FuzzPlainObject holds plainObject to its promise: whatever it lets the
// rewrite copy, our lexer reads as exactly one object and ledongthuc/pdf
// reads as the same object.
func FuzzPlainObject(f *testing.F) {
	for _, tc := range plainCases {
		f.Add([]byte(tc.obj))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 || !plainObject(b) {
			return
		}
		if _, err := plainAgrees(b); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
	})
}

// plainAgrees reads b with our lexer and, as object 2 of a small file,
// with the library, and compares the two. References are compared as
// null: the file defines no object they could name. An object that
// names object 1 or 2 (the file's own) is not compared: compared says.
func plainAgrees(b []byte) (compared bool, err error) {
	l := pdfLexer{data: b}
	ours, err := l.object(true, 0)
	if err != nil {
		return false, fmt.Errorf("our lexer: %w", err)
	}
	if l.skipSpace(); l.pos != len(b) {
		return false, fmt.Errorf("our lexer stopped at %d of %d", l.pos, len(b))
	}
	if refersTo(ours, 1) || refersTo(ours, 2) {
		return false, nil
	}
	file := testPDF([]byte("<< /Type /Catalog /X 2 0 R >>"), b)
	doc, err := pdf.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return false, fmt.Errorf("library: %w", err)
	}
	var theirs any
	func() {
		defer func() {
			if x := recover(); x != nil {
				err = fmt.Errorf("library panic: %v", x)
			}
		}()
		theirs = libraryObject(doc.Trailer().Key("Root").Key("X"), 0)
	}()
	if err != nil {
		return false, err
	}
	if want := comparableObject(ours); !reflect.DeepEqual(theirs, want) {
		return true, fmt.Errorf("library reads %#v, our lexer %#v", theirs, want)
	}
	return true, nil
}

// refersTo reports whether o holds a reference to object num.
func refersTo(o pdfObj, num uint32) bool {
	switch v := o.(type) {
	case pdfRef:
		return v.num == num
	case pdfArray:
		for _, x := range v {
			if refersTo(x, num) {
				return true
			}
		}
	case pdfDict:
		for _, x := range v {
			if refersTo(x, num) {
				return true
			}
		}
	}
	return false
}

// comparableObject is o as libraryObject gives the library's reading:
// references (to nothing) and null dictionary values dropped as null.
func comparableObject(o pdfObj) any {
	switch v := o.(type) {
	case pdfRef, nil:
		return nil
	case pdfArray:
		a := []any{}
		for _, x := range v {
			a = append(a, comparableObject(x))
		}
		return a
	case pdfDict:
		m := map[string]any{}
		for k, x := range v {
			if c := comparableObject(x); c != nil {
				m[string(k)] = c
			}
		}
		return m
	case pdfName:
		return "/" + string(v)
	case pdfString:
		return string(v)
	}
	return o
}

// libraryObject is the library's reading of v in comparableObject's terms.
func libraryObject(v pdf.Value, depth int) any {
	if depth > maxPlainDepth+2 {
		return "too deep"
	}
	switch v.Kind() {
	case pdf.Bool:
		return v.Bool()
	case pdf.Integer:
		return v.Int64()
	case pdf.Real:
		return v.Float64()
	case pdf.String:
		return v.RawString()
	case pdf.Name:
		return "/" + v.Name()
	case pdf.Array:
		a := []any{}
		for i := range v.Len() {
			a = append(a, libraryObject(v.Index(i), depth+1))
		}
		return a
	case pdf.Dict:
		m := map[string]any{}
		for _, k := range v.Keys() {
			if c := libraryObject(v.Key(k), depth+1); c != nil {
				m[k] = c
			}
		}
		return m
	}
	return nil
}

// TestRewriteCopyingReadsAlike reads every PDF fixture that needs the
// rewrite twice, once with the objects of its object streams copied as
// written where plainObject allows and once with every object parsed and
// written again, and asserts the same forms (or the same reason) either
// way; files with object streams must have had objects copied, and each
// object copied must read alike to the library and to our lexer.
func TestRewriteCopyingReadsAlike(t *testing.T) {
	var paths []string
	for _, glob := range []string{"testdata/pdf/*.pdf", "testdata/pdf/*/*.pdf", "testdata/thirdparty/*.pdf", "../testdata/thirdparty/pdf/*.pdf"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	r := NewInProcessPDFReader(Limits{}).(*inProcessPDF)
	ctx := context.Background()
	read := func(clean []byte) ([]*RawForm, string) {
		forms, err := r.readWithLibrary(ctx, clean)
		return forms, ReasonOf(err)
	}
	copiedFiles, objects := 0, 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		x, err := readXrefChain(data, DefaultLimits().MaxPDFObjects)
		if err != nil {
			continue
		}
		parsed, err := rewritePDF(ctx, data, x, pdfContentBudget)
		if err != nil {
			continue
		}
		copying, copied, err := rewriteCopying(ctx, data, x, pdfContentBudget, true)
		if err != nil {
			t.Errorf("%s: the copying rewrite failed where the other did not: %v", path, err)
			continue
		}
		if x.compressed && x.trailer["Encrypt"] == nil && !copied {
			t.Errorf("%s: object streams, and nothing copied", path)
		}
		if !copied {
			if !bytes.Equal(copying, parsed) {
				t.Errorf("%s: nothing copied, and yet the rewrites differ", path)
			}
			continue
		}
		copiedFiles++
		// Each object copied, from producers other than ours (pdfTeX,
		// the IRS's, pdfcpu, PDFlib, pdf.js), read alike by the library
		// and our lexer on its own.
		f := &pdfFile{data: data, x: x, objstms: map[uint32]*objStm{}, budget: pdfContentBudget, loading: map[uint32]bool{}}
		for num, e := range x.entries {
			b := f.asWritten(num, e)
			if !e.inStream || b == nil {
				continue
			}
			compared, err := plainAgrees(b)
			if err != nil {
				t.Errorf("%s: object %d %q: %v", path, num, b, err)
			}
			if compared {
				objects++
			}
		}
		got, gotReason := read(copying)
		want, wantReason := read(parsed)
		if gotReason != wantReason {
			t.Errorf("%s: read after copying: %q, after parsing: %q", path, gotReason, wantReason)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read after copying, against after parsing:\n%s", path, rawFormDiff(got, want))
		}
	}
	if copiedFiles < 3 {
		t.Fatalf("objects copied in %d files; the viewer fixtures alone have three with object streams", copiedFiles)
	}
	if objects < 2000 {
		t.Errorf("%d copied objects compared with the library's reading; the fixtures have over 2,000", objects)
	}
	t.Logf("%d files read alike with objects copied; %d copied objects read alike by the library and our lexer", copiedFiles, objects)
}
