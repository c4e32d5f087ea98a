package parser

import (
	"encoding/xml"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"dsr-intake/internal/harness"
)

// printWithChrome stands in for Chrome's and Edge's "Print, Save as PDF"
// of a form, whose file is written by Skia: every font a subset of a
// system font (CIDFontType2, Identity-H, a ToUnicode map), every run of
// text placed on its own (Td), the page drawn upside down under a scaled
// matrix, marked content around each run. Headless Chromium prints the
// PDF viewer's empty frame, not the PDF, so the page is laid out as HTML
// instead: the fields flattened (qpdf, as printing does), each of
// pdftohtml's text boxes placed where poppler finds it, in Liberation Sans
// (the metric twin of the Helvetica and Arial the forms are set in, as
// Chrome puts Arial in on Windows), and the HTML printed by Chromium.
// What is not a faithful print: a glyph the form's font could not draw is
// read by pdftohtml as nothing and by us as a gap.
func printWithChrome(t *testing.T, dir string, in []byte) []byte {
	t.Helper()
	chromium := harness.ChromiumPath(t)
	needPeer(t, "pdftohtml")
	if out, err := exec.Command("fc-match", "Liberation Sans").Output(); err != nil || !strings.HasPrefix(string(out), "Liberation") {
		t.Fatalf("the Liberation fonts are needed (scripts/install-test-deps.sh installs fonts-liberation): fc-match gives %q (%v)", out, err)
	}
	src := filepath.Join(dir, "chrome-in.pdf")
	flat := filepath.Join(dir, "chrome-flat.pdf")
	if err := os.WriteFile(src, in, 0o600); err != nil {
		t.Fatal(err)
	}
	// qpdf exits 3 for warnings, with the file written.
	if out, err := exec.Command("qpdf", "--generate-appearances", "--flatten-annotations=all", src, flat).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("qpdf flatten: %v\n%s", err, out)
		}
	}
	const zoom = 3 // pdftohtml's units per point
	xmlOut, err := exec.Command("pdftohtml", "-xml", "-i", "-q", "-stdout", "-zoom", fmt.Sprint(zoom), flat).Output()
	if err != nil {
		t.Fatalf("pdftohtml: %v", err)
	}
	page := filepath.Join(dir, "chrome-page.html")
	if err := os.WriteFile(page, chromePage(t, xmlOut, zoom), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "chrome-out.pdf")
	_ = os.Remove(out)
	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "chrome-profile"), "--print-to-pdf="+out, "file://"+page)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --print-to-pdf: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`/Producer\s*\(Skia/PDF`).Match(data) {
		t.Fatal("chromium's PDF does not name Skia as its producer")
	}
	return data
}

// pdf2xml is pdftohtml -xml's output: each page's text boxes, with their
// fonts' sizes.
type pdf2xml struct {
	Pages []struct {
		Width  float64 `xml:"width,attr"`
		Height float64 `xml:"height,attr"`
		Fonts  []struct {
			ID   string  `xml:"id,attr"`
			Size float64 `xml:"size,attr"`
		} `xml:"fontspec"`
		Texts []struct {
			Top   float64 `xml:"top,attr"`
			Left  float64 `xml:"left,attr"`
			Font  string  `xml:"font,attr"`
			Inner string  `xml:",innerxml"`
		} `xml:"text"`
	} `xml:"page"`
}

var markup = regexp.MustCompile(`<[^>]*>`)

// chromePage lays pdftohtml's text boxes out as an HTML page each. A box's
// top is its baseline less Liberation Sans's ascent (0.905 of the size);
// with a line height of 1 the browser puts the baseline 0.847 of the size
// below a box's top, so each box goes 0.0585 of its size lower.
func chromePage(t *testing.T, xmlOut []byte, zoom float64) []byte {
	t.Helper()
	var doc pdf2xml
	if err := xml.Unmarshal(xmlOut, &doc); err != nil {
		t.Fatalf("pdftohtml's XML: %v", err)
	}
	if len(doc.Pages) == 0 {
		t.Fatal("pdftohtml found no pages")
	}
	w, h := doc.Pages[0].Width/zoom, doc.Pages[0].Height/zoom
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page { size: %.2fpt %.2fpt; margin: 0 }
body { margin: 0 }
.page { position: relative; width: %.2fpt; height: %.2fpt; overflow: hidden; break-after: page }
.page:last-child { break-after: auto }
span { position: absolute; white-space: pre; font-family: "Liberation Sans", sans-serif; line-height: 1 }
</style></head><body>`, w, h, w, h)
	sizes := map[string]float64{} // font ids run on from page to page
	for _, p := range doc.Pages {
		for _, f := range p.Fonts {
			sizes[f.ID] = f.Size / zoom
		}
		b.WriteString(`<div class="page">`)
		for _, tx := range p.Texts {
			size := sizes[tx.Font]
			style := fmt.Sprintf("left:%.2fpt;top:%.2fpt;font-size:%.2fpt", tx.Left/zoom, tx.Top/zoom+0.0585*size, size)
			if strings.Contains(tx.Inner, "<b>") {
				style += ";font-weight:bold"
			}
			if strings.Contains(tx.Inner, "<i>") {
				style += ";font-style:italic"
			}
			text := html.UnescapeString(markup.ReplaceAllString(tx.Inner, ""))
			fmt.Fprintf(&b, `<span style="%s">%s</span>`, style, html.EscapeString(text))
		}
		b.WriteString(`</div>`)
	}
	b.WriteString(`</body></html>`)
	return []byte(b.String())
}

// TestChromeLigaturesReadAsPdftotext: Skia draws "fi", "ff", "ffi" and
// "fl" as the font's ligature glyphs where the font has them (DejaVu Sans,
// the sans-serif a Linux Chrome falls back to, does), and its character
// map gives each glyph the ligature's character (U+FB00-FB04). A name
// typed "Sofia Griffin" was read "Soﬁa Griﬃn": stored so, matched to no
// one. pdftotext spells the ligatures out, and so does the reader now.
func TestChromeLigaturesReadAsPdftotext(t *testing.T) {
	chromium := harness.ChromiumPath(t)
	pdftotext := needPeer(t, "pdftotext")
	dir := t.TempDir()
	page := filepath.Join(dir, "ligatures.html")
	const text = "Sofia Griffin, Staff officer, affluent flow, fjord, Whiffle"
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body style="font-family: 'DejaVu Sans'; font-size: 14pt"><p>`+text+`</p></body></html>`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ligatures.pdf")
	if b, err := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+page).CombinedOutput(); err != nil {
		t.Fatalf("chromium --print-to-pdf: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The print must draw ligatures, or the test tells nothing: its
	// character maps, uncompressed, name U+FB0x.
	qdf := reprint(t, dir, "qpdf", data, func(in, out string) []string {
		return []string{"--qdf", "--object-streams=disable", in, out}
	})
	if !regexp.MustCompile(`<FB0[0-4]>`).Match(qdf) {
		t.Fatal("the print draws no ligature glyph (is fonts-dejavu installed?)")
	}
	peer, err := exec.Command(pdftotext, out, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	want := strings.Fields(text)
	if got := strings.Fields(string(peer)); !slices.Equal(got, want) {
		t.Fatalf("pdftotext reads %q, want %q", got, want)
	}
	if got := pdfWords(t, data); !slices.Equal(got, want) {
		t.Errorf("read %q, want %q (as pdftotext)", got, want)
	}
}
