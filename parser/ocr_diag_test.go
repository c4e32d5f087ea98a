package parser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestOCRWhyWhole says, for every page of the scan fixtures, whether it
// was registered to a template and, if its boxes were read, which decisive
// boxes read poorly: why the page would be read whole. It reads the boxes
// only (not the whole page), and is a tool for the reader's owners: run
// with DSR_OCR_WHY=1 and -v.
func TestOCRWhyWhole(t *testing.T) {
	if os.Getenv("DSR_OCR_WHY") == "" {
		t.Skip("set DSR_OCR_WHY=1 to say why each fixture page is read whole")
	}
	o := needOCR(t)
	ctx := context.Background()
	registered, pages, poor := 0, 0, 0
	fixtureScanPages(t, o, func(tc ocrCase, a Attachment, sps []scanPage) {
		var reads []*boxRead
		var pgs []*ocrPage
		var prev *ocrPage
		for i, sp := range sps {
			pg, err := o.recognise(ctx, sp, prev)
			prev = pg
			if err != nil {
				t.Fatal(err)
			}
			pg.index = i
			pgs = append(pgs, pg)
			if pg.tpl != nil {
				r, _ := pg.templateBoxes()
				reads = append(reads, r...)
			}
		}
		if d := os.Getenv("DSR_OCR_WHY_DIR"); d != "" {
			for _, br := range reads {
				if br.crop != nil && decisive(br.spec) {
					_ = writePNG(fmt.Sprintf("%s/%s-p%d-%s-cut.png", d, strings.TrimSuffix(tc.name, ".eml"), br.pg.index+1, br.box.field), br.crop)
				}
			}
		}
		if err := o.readTemplateBoxes(ctx, t.TempDir(), reads); err != nil {
			t.Fatal(err)
		}
		for i, pg := range pgs {
			pages++
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s p%d rot %d good %d: ", tc.name, a.Filename, i+1, pg.rotate, goodWords(pg.words))
			if pg.tpl == nil {
				fmt.Fprintf(&b, "NOT REGISTERED (%s)", bestAnchors(pg))
				t.Log(b.String())
				continue
			}
			registered++
			fmt.Fprintf(&b, "%s p%d, %d anchors (fit %.3f %.3f %.3f %.3f)", pg.tpl.kind, pg.tpl.page+1, len(pg.fit.anchors), pg.fit.a, pg.fit.b, pg.fit.d, pg.fit.e)
			if os.Getenv("DSR_OCR_WHY_ANCHORS") != "" {
				for _, a := range pg.fit.anchors {
					fmt.Fprintf(&b, "\n      anchor %.0f,%.0f -> %.0f,%.0f residual %.1f,%.1f", a.tx, a.ty, a.ix, a.iy, a.rx, a.ry)
				}
			}
			if pg.poor {
				poor++
				b.WriteString(" POOR:")
			}
			for _, br := range reads {
				if br.pg != pg || !decisive(br.spec) {
					continue
				}
				mark := ""
				if br.poorlyDecisive() {
					mark = "!"
				}
				if d := os.Getenv("DSR_OCR_WHY_DIR"); d != "" && br.crop != nil {
					_ = writePNG(fmt.Sprintf("%s/%s-p%d-%s.png", d, strings.TrimSuffix(tc.name, ".eml"), i+1, br.box.field), br.crop)
				}
				fmt.Fprintf(&b, "\n    %s%s = %q (%.2f)", mark, br.box.field, br.text, br.conf)
			}
			for _, bx := range pg.tpl.boxes {
				spec, _ := Spec(pg.tpl.kind, bx.field)
				if bx.typ != ocrBoxLine && bx.typ != ocrBoxBlock || !decisive(spec) {
					continue
				}
				found := bx.typ != ocrBoxLine && bx.typ != ocrBoxBlock
				for _, br := range reads {
					found = found || (br.pg == pg && br.box.field == bx.field)
				}
				if !found {
					fmt.Fprintf(&b, "\n    %s%s blank cut", map[bool]string{true: "!", false: ""}[spec.Required], bx.field)
				}
			}
			t.Log(b.String())
		}
	})
	t.Logf("%d pages, %d registered, %d of them poor", pages, registered, poor)
}

// bestAnchors says how many anchors each template page found on an
// unregistered page.
func bestAnchors(pg *ocrPage) string {
	var parts []string
	byKey := map[string]int{}
	for _, c := range pg.pt.chunks {
		byKey[labelKey(c.text)]++
	}
	for _, tp := range ocrTemplates {
		n := 0
		for _, a := range tp.labels {
			if byKey[a.key] == 1 || (byKey[a.key] == 0 && fuzzyChunk(a.key, pg.pt.chunks) != nil) {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s p%d: %d of %d labels", tp.kind, tp.page+1, n, len(tp.labels)))
		}
	}
	return strings.Join(parts, "; ")
}

// TestOCRUpsideDownInk weighs every fixture page, and each turned over,
// by upsideDownInk: a tool for tuning it (DSR_OCR_WHY=1, -v).
func TestOCRUpsideDownInk(t *testing.T) {
	if os.Getenv("DSR_OCR_WHY") == "" {
		t.Skip("set DSR_OCR_WHY=1")
	}
	o := needOCR(t)
	fixtureScanPages(t, o, func(tc ocrCase, a Attachment, sps []scanPage) {
		for i, sp := range sps {
			g, err := loadGray(sp.path)
			if err != nil {
				t.Fatal(err)
			}
			u, s := upsideDownInk(g)
			u2, s2 := upsideDownInk(turnGray(g))
			t.Logf("%s %s p%d: upside %v sure %v; turned: upside %v sure %v", tc.name, a.Filename, i+1, u, s, u2, s2)
		}
	})
}

// fixtureScanPages calls fn with the page images of every attachment of
// the OCR fixtures (those DSR_OCR_WHY_CASE names, when set) that is read
// as a scan.
func fixtureScanPages(t *testing.T, o *OCR, fn func(tc ocrCase, a Attachment, sps []scanPage)) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range ocrCases(t) {
		if c := os.Getenv("DSR_OCR_WHY_CASE"); c != "" && !strings.Contains(tc.name, c) {
			continue
		}
		raw, err := os.ReadFile(tc.eml)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := New(Options{}).Parse(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range sub.Attachments {
			if a.Kind != KindUnreadable {
				continue
			}
			isPDF := !isImageMagic(a.Data) && !isHEIC(a.Data)
			sps, err := o.pageImages(ctx, t.TempDir(), a.Data, isPDF)
			if err != nil {
				t.Logf("%s %s: %v", tc.name, a.Filename, err)
				continue
			}
			fn(tc, a, sps)
		}
	}
}
