package parser

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
	"unicode/utf16"
)

// withFreeText appends to a PDF an incremental update, as a viewer saves
// one, that adds a free-text annotation over each named widget holding
// its value (what Edge's or Preview's "Add text" makes when a referrer
// types over a form instead of into its fields). The fields stay empty.
func withFreeText(t *testing.T, data []byte, values map[string]string) ([]byte, int) {
	t.Helper()
	x, err := readXrefChain(data, DefaultLimits().MaxPDFObjects)
	if err != nil {
		t.Fatal(err)
	}
	f := &pdfFile{data: data, x: x, objstms: map[uint32]*objStm{}, budget: 1 << 26, loading: map[uint32]bool{}}
	load := func(o pdfObj) pdfObj {
		if r, ok := o.(pdfRef); ok {
			v, err := f.load(r.num)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		return o
	}
	var size uint32
	for n := range x.entries {
		size = max(size, n+1)
	}
	root := load(x.trailer["Root"]).(pdfDict)
	pages := load(root["Pages"]).(pdfDict)
	out := append([]byte{}, data...)
	offs := map[uint32]int{}
	write := func(num uint32, o pdfObj) {
		offs[num] = len(out)
		out = fmt.Appendf(out, "\n%d 0 obj\n", num)
		out = appendPDFObj(out, o, 0)
		out = append(out, "\nendobj\n"...)
	}
	added := 0
	for _, kid := range pages["Kids"].(pdfArray) {
		ref := kid.(pdfRef)
		page := load(ref).(pdfDict)
		annots, _ := load(page["Annots"]).(pdfArray)
		var extra pdfArray
		for _, a := range annots {
			w, _ := load(a).(pdfDict)
			name, _ := w["T"].(pdfString)
			if name == "" {
				if parent, ok := load(w["Parent"]).(pdfDict); ok {
					name, _ = parent["T"].(pdfString)
				}
			}
			v, ok := values[string(name)]
			rect, _ := w["Rect"].(pdfArray)
			if !ok || v == "" || len(rect) != 4 {
				continue
			}
			num := size
			size++
			write(num, pdfDict{"Type": pdfName("Annot"), "Subtype": pdfName("FreeText"), "Rect": rect,
				"Contents": textString(v), "DA": pdfString("0 0 0 rg /Helv 10 Tf"), "P": ref})
			extra = append(extra, pdfRef{num: num})
			added++
		}
		if len(extra) == 0 {
			continue
		}
		np := pdfDict{}
		for k, v := range page {
			np[k] = v
		}
		np["Annots"] = append(append(pdfArray{}, annots...), extra...)
		write(ref.num, np)
	}
	xref := len(out)
	out = append(out, "\nxref\n"...)
	for num, off := range offs {
		out = fmt.Appendf(out, "%d 1\n%010d 00000 n \n", num, off+1)
	}
	prev := lastStartxref(data)
	out = append(out, "trailer\n"...)
	out = appendPDFObj(out, pdfDict{"Size": int64(size), "Root": x.trailer["Root"], "Prev": prev}, 0)
	out = append(out, "\nstartxref\n"+strconv.Itoa(xref+1)+"\n%%EOF\n"...)
	return out, added
}

// textString encodes a PDF text string as viewers write one: UTF-16BE
// with its byte order mark when it is not plain ASCII.
func textString(s string) pdfString {
	ascii := true
	for _, r := range s {
		ascii = ascii && r < 0x80
	}
	if ascii {
		return pdfString(s)
	}
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return pdfString(b)
}

// lastStartxref is the offset the file's last startxref gives.
func lastStartxref(data []byte) int64 {
	l := pdfLexer{data: data, pos: bytes.LastIndex(data, []byte("startxref")) + len("startxref")}
	off, _ := l.token().(int64)
	return off
}

// TestReadFreeTextOverFields: the referral form with its fields left
// empty and every typed answer (text, dates, choices) put over them as
// free-text annotations (the filled form's own values, in UTF-16 where
// they are not ASCII) reads the same answers as the filled form. Before,
// such a form read as blank: every required field missing. (No peer
// reads them as answers: pdftk and qpdf read the empty fields, pdftotext
// leaves annotations out; pdftoppm draws them, as a viewer shows them.)
func TestReadFreeTextOverFields(t *testing.T) {
	filled, err := readRaw(t, "referral-filled.pdf")
	if err != nil || len(filled) != 1 {
		t.Fatalf("filled: %d forms, %v", len(filled), err)
	}
	m := DefaultMapping()
	want := m.Map(Referral, filled[0])
	texts := map[string]string{}
	for name, v := range filled[0].ByName {
		if spec, ok := Spec(Referral, name); ok && (spec.Type == Text || spec.Type == Date) && v != "" {
			texts[name] = v
		}
	}
	data, added := withFreeText(t, pdfFixture(t, "referral-blank.pdf"), texts)
	if added < 15 {
		t.Fatalf("only %d text boxes added", added)
	}
	forms, err := NewInProcessPDFReader(Limits{PDFTimeout: 10 * time.Second}).ReadPDF(context.Background(), data)
	if err != nil || len(forms) != 1 {
		t.Fatalf("read: %d forms, %v", len(forms), err)
	}
	got := m.Map(Referral, forms[0])
	for name := range texts {
		if got.Values[name] != want.Values[name] {
			t.Errorf("%s = %q, want %q", name, got.Values[name], want.Values[name])
		}
	}
}
