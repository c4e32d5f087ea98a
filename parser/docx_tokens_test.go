package parser

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

// tokenEvents is what tokenLoop hands the readers: each element's name as
// the readers see it (elemName of its namespace), its attributes and its
// text, in order.
func tokenEvents(t *testing.T, doc string) ([]string, error) {
	t.Helper()
	d := newDOCXReader(context.Background())
	var ev []string
	start := func(se xml.StartElement) {
		var attrs []string
		for _, a := range se.Attr {
			attrs = append(attrs, a.Name.Local+"="+a.Value)
		}
		ev = append(ev, fmt.Sprintf("<%s %s %v", d.parent(0), se.Name.Local, attrs))
	}
	end := func(name string) { ev = append(ev, "</"+name) }
	chars := func(c xml.CharData) { ev = append(ev, "text "+string(c)) }
	err := d.tokenLoop(strings.NewReader(doc), start, end, chars)
	return ev, err
}

// tokenEventsReference is tokenEvents read with encoding/xml's Token, which
// resolves namespaces and checks the nesting itself.
func tokenEventsReference(doc string) ([]string, error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	var ev []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ev, nil
		}
		if err != nil {
			return ev, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range t.Attr {
				attrs = append(attrs, a.Name.Local+"="+a.Value)
			}
			ev = append(ev, fmt.Sprintf("<%s %s %v", elemName(t.Name), t.Name.Local, attrs))
		case xml.EndElement:
			ev = append(ev, "</"+elemName(t.Name))
		case xml.CharData:
			ev = append(ev, "text "+string(t))
		}
	}
}

// TestTokenLoopMatchesToken checks that tokenLoop, which reads raw tokens
// and resolves namespace prefixes itself, sees every document as
// encoding/xml's Token does: the same names under every way of binding a
// prefix, and an error wherever Token gives one.
func TestTokenLoopMatchesToken(t *testing.T) {
	const w = `xmlns:w="` + nsW + `"`
	docs := map[string]string{
		"usual prefixes":         docxXML(`<w:p><w:r><w:t>Name</w:t></w:r></w:p><w14:checkbox/><mc:AlternateContent><mc:Fallback/></mc:AlternateContent>`),
		"default namespace":      `<document xmlns="` + nsW + `"><body><p><r><t>x</t></r></p></body></document>`,
		"strict namespace":       `<w:document xmlns:w="` + nsWStrict + `"><w:body/></w:document>`,
		"other prefix":           `<x:document xmlns:x="` + nsW + `"><x:body><x:p/></x:body></x:document>`,
		"prefix rebound inside":  `<w:document ` + w + `><w:body><w:p xmlns:w="urn:other"><w:r/></w:p><w:p/></w:body></w:document>`,
		"declared on a child":    `<w:document ` + w + `><w:body><v:p xmlns:v="` + nsW14 + `"><v:checked/></v:p><v:p/></w:body></w:document>`,
		"default undeclared":     `<document xmlns="` + nsW + `"><body xmlns=""><p/></body><p/></document>`,
		"unbound prefix":         `<w:document><w:body/></w:document>`,
		"xml prefix":             docxXML(`<w:t xml:space="preserve"> a </w:t>`),
		"attributes any prefix":  docxXML(`<w:pStyle w:val="Title"/><w:tag val="name"/>`),
		"mismatched end":         `<w:document ` + w + `><w:body></w:p></w:document>`,
		"same local, new prefix": `<w:document ` + w + ` xmlns:x="` + nsW + `"><w:body></x:body></w:document>`,
		"truncated":              `<w:document ` + w + `><w:body><w:p>`,
		"extra end":              `<w:document ` + w + `></w:document></w:body>`,
		"empty":                  ``,
		"text only":              `hello`,
		"bad syntax":             `<w:document ` + w + `><w:body <</w:document>`,
	}
	// And every part of every Word fixture.
	for name, b := range wordFixtureParts(t) {
		docs[name] = string(b)
	}
	if len(docs) < 40 {
		t.Fatalf("only %d documents to compare: fixtures missing?", len(docs))
	}
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[name]
		got, gotErr := tokenEvents(t, doc)
		want, wantErr := tokenEventsReference(doc)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%s: tokenLoop error %v, Token error %v", name, gotErr, wantErr)
			continue
		}
		if gotErr != nil {
			// Both stop: what was read before the error is not used.
			continue
		}
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Errorf("%s: event %d is %q, Token gives %q", name, i, got[i], want[i])
					break
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d events, Token gives %d", name, len(got), len(want))
			}
		}
	}
}

// FuzzTokenLoop checks tokenLoop against Token on arbitrary XML: both
// fail, or both give the same names, attributes and text.
func FuzzTokenLoop(f *testing.F) {
	const w = `xmlns:w="` + nsW + `"`
	for _, seed := range []string{
		docxXML(`<w:p><w:r><w:t>Name</w:t></w:r></w:p>`),
		`<document xmlns="` + nsW + `"><body xmlns=""><p/></body></document>`,
		`<w:document ` + w + `><w:body><w:p xmlns:w="urn:other"><w:r/></w:p><w:p/></w:body></w:document>`,
		`<w:document ` + w + `><w:body></x:body></w:document>`,
		`<a xmlns:b="u"><b:c xml:lang="en">t</b:c></a>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got, gotErr := tokenEvents(t, doc)
		if errors.Is(gotErr, errDOCXComplex) {
			return // the depth and token caps are tokenLoop's own
		}
		want, wantErr := tokenEventsReference(doc)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("tokenLoop error %v, Token error %v", gotErr, wantErr)
		}
		if gotErr == nil && !slices.Equal(got, want) {
			t.Fatalf("tokenLoop gives %q, Token gives %q", got, want)
		}
	})
}
