package parser

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// ocrWord is one word Tesseract read, in pixels of the page image (y
// down, as the image is stored).
type ocrWord struct {
	x0, y0, x1, y1 int
	conf           float64 // 0..100
	text           string
	line           int // Tesseract's block/paragraph/line, numbered per page
	page           int // 0-based image of a list Tesseract read (0 for one image)
}

// ocrPage is one page read by Tesseract.
type ocrPage struct {
	index  int    // 0-based page of the attachment
	path   string // the page image read
	w, h   int
	scale  float64 // points per pixel (A4's width over the image's)
	words  []ocrWord
	pt     *pageText
	img    *image.Gray
	rotate int // degrees the page was turned by before reading
	// reread reads a box of the page again on its own (nil: not at all).
	reread  func(image.Rectangle) (string, float64)
	rereads int
	// tpl and fit are the blank form's page this page was registered to,
	// and how; nil when it was read as a whole page instead. fields and
	// values are then what its value boxes read, by field name.
	tpl    *ocrTemplate
	fit    *ocrFit
	fields map[string]OCRField
	values map[string]string
	// poor is set when a decisive box with writing in it read poorly
	// (blank, not valid, or not confidently) even from its median-filtered
	// cut: the page may be registered a line off, and is read whole.
	poor bool
}

// minWordConf is below what a word is taken to be noise: speckle, a box's
// edge, a smudge read as letters. Printed words read at 80 and more.
const minWordConf = 30

// minGoodWords is how many confidently read words make a page the right
// way up: a DSR form page has hundreds, an upside-down page a handful.
const minGoodWords = 25

// readPage reads one cleaned-up page image: whole-page Tesseract (its
// automatic page segmentation), and when that reads little, Tesseract's
// orientation detection, the page turned, and read again.
func (o *OCR) readPage(ctx context.Context, dir string, sp scanPage) (*ocrPage, error) {
	path := sp.path
	pg := &ocrPage{}
	if err := pg.load(path); err != nil {
		return nil, err
	}
	words, err := o.tsv(ctx, path, pg.w)
	if err != nil {
		return nil, err
	}
	if sp.denoise {
		// Speckle from a scanner or a camera, read as letters: a median
		// filter takes it out, but on some pages it thins grey-backed
		// text until Tesseract drops it, and no cheap measure of the
		// first read told the two apart on the test scans: both are read
		// and the one with more confident words is kept (twice the
		// Tesseract time for a photo or scan; a fax is read once).
		clean := path + ".median.png"
		if out, err := exec.CommandContext(ctx, o.Convert, append(slices.Clone(imageLimits), path, "-statistic", "Median", "3x3", "-normalize", clean)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("convert -statistic: %w: %s", err, firstLine(out))
		}
		w2, err := o.tsv(ctx, clean, pg.w)
		if err != nil {
			return nil, err
		}
		if goodWords(w2) > goodWords(words) {
			words, path = w2, clean
			if err := pg.load(clean); err != nil {
				return nil, err
			}
		}
	}
	if wrongWayUp(words) {
		rot, err := o.orientation(ctx, path, pg.w)
		if err == nil && rot != 0 {
			turned := path + ".turned.png"
			if out, err := exec.CommandContext(ctx, o.Convert, append(append([]string{}, imageLimits...), path, "-rotate", strconv.Itoa(rot), "+repage", turned)...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("convert -rotate: %w: %s", err, firstLine(out))
			}
			turnedW := pg.w
			if rot != 180 {
				turnedW = pg.h
			}
			w2, err := o.tsv(ctx, turned, turnedW)
			if err != nil {
				return nil, err
			}
			if turnedReadsBetter(words, w2) {
				words, pg.rotate = w2, rot
				if err := pg.load(turned); err != nil {
					return nil, err
				}
			}
		}
	}
	pg.words = textWords(words)
	pg.scale = 595.0 / float64(pg.w)
	pg.pt = layoutPage(pg.glyphs())
	return pg, nil
}

// recognise reads a page at half size, once (Tesseract's automatic page
// segmentation), to tell which form and page it is and where its labels
// are, and registers it to that page of the blank form; a page that reads
// as upside down is turned first (Tesseract's orientation detection). The
// words are in pixels of the full-size page, which is loaded for the
// value boxes, tick boxes and crops.
func (o *OCR) recognise(ctx context.Context, sp scanPage, prev *ocrPage) (*ocrPage, error) {
	pg := &ocrPage{path: sp.path, rotate: sp.rotate}
	if err := pg.load(sp.path); err != nil {
		return nil, err
	}
	small := sp.small
	words, err := o.smallTSV(ctx, small, pg.w)
	if err != nil {
		return nil, err
	}
	if wrongWayUp(words) {
		// At full size: at half, Tesseract's orientation detection is
		// not confident of an upside-down form.
		rot, err := o.orientation(ctx, sp.path, pg.w)
		if err == nil && rot != 0 {
			turned, turnedSmall := sp.path+".turned.png", small+".turned.png"
			if out, err := exec.CommandContext(ctx, o.Convert, append(slices.Clone(imageLimits), sp.path, "-rotate", strconv.Itoa(rot), "+repage",
				"-write", turned, "-resize", "50%", turnedSmall)...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("convert -rotate: %w: %s", err, firstLine(out))
			}
			fullW := pg.w
			if rot != 180 {
				fullW = pg.h
			}
			w2, err := o.smallTSV(ctx, turnedSmall, fullW)
			if err != nil {
				return nil, err
			}
			if turnedReadsBetter(words, w2) {
				words, pg.rotate, pg.path = w2, (sp.rotate+rot)%360, turned
				if err := pg.load(turned); err != nil {
					return nil, err
				}
			}
		}
	}
	pg.words = textWords(words)
	pg.scale = 595.0 / float64(pg.w)
	pg.pt = layoutPage(pg.glyphs())
	pg.tpl, pg.fit = registerPage(pg, ocrTemplates, prev)
	return pg, nil
}

// smallTSV reads the half-size copy of a page whose full size is
// fullWidth pixels wide, and gives the words in full-size pixels.
func (o *OCR) smallTSV(ctx context.Context, path string, fullWidth int) ([]ocrWord, error) {
	width, _, err := imageSize(path)
	if err != nil {
		return nil, err
	}
	out, err := o.tesseract(ctx, path, "--dpi", strconv.Itoa(dpiFor(width)), "--psm", "3", "-l", "eng", "-c", "tessedit_do_invert=0", "tsv")
	if err != nil {
		return nil, err
	}
	words := parseTSV(out)
	k := float64(fullWidth) / float64(width)
	for i := range words {
		w := &words[i]
		w.x0, w.y0 = int(float64(w.x0)*k), int(float64(w.y0)*k)
		w.x1, w.y1 = int(math.Ceil(float64(w.x1)*k)), int(math.Ceil(float64(w.y1)*k))
	}
	return words, nil
}

// load decodes the page image as 8-bit grey, for tick boxes and crops.
func (pg *ocrPage) load(path string) error {
	g, err := loadGray(path)
	if err != nil {
		return err
	}
	pg.img = g
	pg.w, pg.h = g.Bounds().Dx(), g.Bounds().Dy()
	return nil
}

// sideways says a page was read on its side: Tesseract reads the lines
// of a page turned a quarter well, each word a box taller than it is
// wide, where an upright page's words are wider than tall (1 in 179 on
// a form's page, against every one turned). The words' places are then
// the turned page's, which no label or box of the form is found by.
func sideways(ws []ocrWord) bool {
	n, tall := 0, 0
	for _, w := range ws {
		if w.conf >= 80 && letterCount(w.text) >= 3 {
			n++
			if w.y1-w.y0 > w.x1-w.x0 {
				tall++
			}
		}
	}
	return n >= minGoodWords && tall*2 > n
}

// wrongWayUp says a page's words read as if it were turned: upside down
// or on its side, and Tesseract's orientation detection is asked.
func wrongWayUp(ws []ocrWord) bool { return upsideDown(ws) || sideways(ws) }

// turnedReadsBetter says the read of a turned page is the one to keep:
// more confident words, or the first read was on its side and this one
// is not (a page on its side can read as many words as upright).
func turnedReadsBetter(first, turned []ocrWord) bool {
	return goodWords(turned) > goodWords(first) || (sideways(first) && !sideways(turned) && !upsideDown(turned))
}

// upsideDown says a page read poorly enough to be the wrong way up: few
// confidently read words, or few among many (Tesseract reads an upside-down
// page as hundreds of low-confidence fragments; an upright form reads
// three in four words at 80 or more).
func upsideDown(ws []ocrWord) bool {
	g := goodWords(ws)
	return g < minGoodWords || float64(g) < 0.3*float64(len(ws))
}

func goodWords(ws []ocrWord) int {
	n := 0
	for _, w := range ws {
		if w.conf >= 80 && letterCount(w.text) >= 3 {
			n++
		}
	}
	return n
}

// textWords leaves out the words of an upright page that cannot be
// text by their size beside its body text: a column of check boxes or a
// ruled line read as one "word" ("08", four rows tall and narrow), whose
// height would make the layout join the rows it spans into one line,
// and a speck read as a letter a third of a letter's height. Words are
// judged against the median height of the words with two or more
// letters; a page with few of those is left as it is. Only after the
// page is turned upright: on a page on its side every word is tall.
func textWords(ws []ocrWord) []ocrWord {
	var hs []int
	for _, w := range ws {
		if letterCount(w.text) >= 2 {
			hs = append(hs, w.y1-w.y0)
		}
	}
	if len(hs) < minGoodWords {
		return ws
	}
	slices.Sort(hs)
	body := hs[len(hs)/2]
	return slices.DeleteFunc(slices.Clone(ws), func(w ocrWord) bool {
		h, wd := w.y1-w.y0, w.x1-w.x0
		column := h > 4*body && h > 2*wd
		speck := 3*h < body && wd < body && letterCount(w.text) > 0
		return column || speck
	})
}

func letterCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// dpiFor guesses the resolution from the page width, taking it to be A4.
func dpiFor(width int) int {
	return max(70, min(600, int(float64(width)/8.27+0.5)))
}

// tsv runs Tesseract and reads its word boxes.
func (o *OCR) tsv(ctx context.Context, path string, width int) ([]ocrWord, error) {
	out, err := o.tesseract(ctx, path, "--dpi", strconv.Itoa(dpiFor(width)), "--psm", "3", "-l", "eng", "tsv")
	if err != nil {
		return nil, err
	}
	return parseTSV(out), nil
}

// orientation asks Tesseract's OSD how far the page must turn (0, 90,
// 180 or 270), 0 when it is not confident.
func (o *OCR) orientation(ctx context.Context, path string, width int) (int, error) {
	out, err := o.tesseract(ctx, path, "--dpi", strconv.Itoa(dpiFor(width)), "--psm", "0", "-l", "osd")
	if err != nil {
		return 0, err
	}
	rot, conf := 0, 0.0
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Rotate":
			rot, _ = strconv.Atoi(v)
		case "Orientation confidence":
			conf, _ = strconv.ParseFloat(v, 64)
		}
	}
	if conf < 1 || (rot != 90 && rot != 180 && rot != 270) {
		return 0, nil
	}
	return rot, nil
}

// parseTSV reads Tesseract's TSV: the word rows (level 5), with their
// line numbered across the page. Marks that are only box edges (|, [,
// _) are dropped: the form's value boxes print them around the value.
func parseTSV(out []byte) []ocrWord {
	var words []ocrWord
	lines := map[[4]string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 12 || f[0] != "5" {
			continue
		}
		text := strings.TrimSpace(f[11])
		if text == "" || strings.Trim(text, "|[]{}_—–~‘’`'\"") == "" {
			continue
		}
		text = foldLigatures(strings.Trim(text, "|[]{}_"))
		if text == "" {
			continue
		}
		num := func(i int) int { n, _ := strconv.Atoi(f[i]); return n }
		conf, _ := strconv.ParseFloat(f[10], 64)
		if conf < minWordConf {
			continue
		}
		key := [4]string{f[1], f[2], f[3], f[4]}
		ln, ok := lines[key]
		if !ok {
			ln = len(lines)
			lines[key] = ln
		}
		l, t, w, h := num(6), num(7), num(8), num(9)
		if w <= 0 || h <= 0 {
			continue
		}
		words = append(words, ocrWord{x0: l, y0: t, x1: l + w, y1: t + h, conf: conf, text: text, line: ln, page: max(0, num(1)-1)})
	}
	return words
}

// glyphs turns the words into the PDF reader's glyphs, one per word, in
// points with y up, so the flattened-PDF layout and label matching read
// them. A word's baseline and size come from its Tesseract line (the
// median of its words' bottoms and heights), so the words of one line
// share a row whatever their ascenders, and a box edge OCR read as a tall
// letter does not make the line's type look larger.
func (pg *ocrPage) glyphs() []glyph {
	bottoms, heights := map[int][]int{}, map[int][]int{}
	for _, w := range pg.words {
		bottoms[w.line] = append(bottoms[w.line], w.y1)
		heights[w.line] = append(heights[w.line], w.y1-w.y0)
	}
	median := func(xs []int) float64 {
		ys := slices.Clone(xs)
		slices.Sort(ys)
		return float64(ys[len(ys)/2])
	}
	type lineMetric struct{ bottom, height float64 }
	lines := map[int]lineMetric{}
	for ln := range bottoms {
		lines[ln] = lineMetric{median(bottoms[ln]), median(heights[ln])}
	}
	gs := make([]glyph, 0, len(pg.words))
	for _, w := range pg.words {
		m := lines[w.line]
		// A word's box runs from cap height (about 0.72 em) to its
		// bottom, a descender on some words.
		size := m.height / 0.8 * pg.scale
		base := (float64(pg.h) - m.bottom) * pg.scale
		gs = append(gs, glyph{x: float64(w.x0) * pg.scale, y: base, w: float64(w.x1-w.x0) * pg.scale, size: size, s: w.text})
	}
	return gs
}
