package parser

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"golang.org/x/image/draw"
)

// Page images pass between the tools and Go as binary PGM (netpbm P5):
// Tesseract (Leptonica), ImageMagick and pdftoppm read or write it, and
// it costs no compression. ImageMagick writing a page as PNG took more
// CPU than everything Go does to the page.

// maxPagePixels bounds a page image decoded in Go.
const maxPagePixels = 40 << 20

// loadGray decodes a page image, PGM or PNG, as 8-bit grey.
func loadGray(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open page image: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic, err := r.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("page image: %w", err)
	}
	if string(magic) == "P5" {
		return readPGM(r)
	}
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("page image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPagePixels {
		return nil, fmt.Errorf("page image of %dx%d pixels", cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("page image: %w", err)
	}
	img, err := png.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("page image: %w", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		g = image.NewGray(img.Bounds())
		draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	}
	return g, nil
}

// imageSize is a page image's size, PGM or PNG, without decoding it.
func imageSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("open page image: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic, err := r.Peek(2)
	if err != nil {
		return 0, 0, fmt.Errorf("page image: %w", err)
	}
	if string(magic) == "P5" {
		w, h, _, err := pgmHeader(r)
		return w, h, err
	}
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		return 0, 0, fmt.Errorf("page image: %w", err)
	}
	return cfg.Width, cfg.Height, nil
}

// pgmHeader reads "P5 width height maxval" and the one whitespace byte
// after it.
func pgmHeader(r *bufio.Reader) (w, h, maxval int, err error) {
	var nums [4]int
	for i := range nums {
		tok, err := pgmToken(r)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("pgm header: %w", err)
		}
		if i == 0 {
			if tok != "P5" {
				return 0, 0, 0, errors.New("pgm header: not P5")
			}
			continue
		}
		if nums[i], err = strconv.Atoi(tok); err != nil {
			return 0, 0, 0, fmt.Errorf("pgm header: %w", err)
		}
	}
	w, h, maxval = nums[1], nums[2], nums[3]
	if w <= 0 || h <= 0 || w*h > maxPagePixels || maxval != 255 {
		return 0, 0, 0, fmt.Errorf("pgm of %dx%d, maxval %d", w, h, maxval)
	}
	return w, h, maxval, nil
}

// pgmToken is the next header token, comments skipped; the whitespace
// byte that ends it is consumed.
func pgmToken(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '#' && len(b) == 0:
			if _, err := r.ReadBytes('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(b) > 0 {
				return string(b), nil
			}
		default:
			if len(b) > 16 {
				return "", errors.New("token too long")
			}
			b = append(b, c)
		}
	}
}

func readPGM(r *bufio.Reader) (*image.Gray, error) {
	w, h, _, err := pgmHeader(r)
	if err != nil {
		return nil, err
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(r, g.Pix); err != nil {
		return nil, fmt.Errorf("pgm pixels: %w", err)
	}
	return g, nil
}

// writePGM writes g as binary PGM.
func writePGM(path string, g *image.Gray) error {
	b := g.Bounds()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P5\n%d %d\n255\n", b.Dx(), b.Dy())
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ocr: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	_, err = w.Write(buf.Bytes())
	for y := b.Min.Y; y < b.Max.Y && err == nil; y++ {
		i := g.PixOffset(b.Min.X, y)
		_, err = w.Write(g.Pix[i : i+b.Dx()])
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ocr: write page image: %w", err)
	}
	return nil
}

// normaliseGray stretches the grey levels as ImageMagick 6's -normalize
// does: the darkest 0.15% of pixels to black, the lightest 0.05% to
// white, linearly between. (Not -contrast-stretch 2%x1%: on a sparse page
// 2% reaches the paper's grey, and the stretch darkens it to noise.)
func normaliseGray(g *image.Gray) {
	b := g.Bounds()
	var hist [256]int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := g.Pix[g.PixOffset(b.Min.X, y):][:b.Dx()]
		for _, p := range row {
			hist[p]++
		}
	}
	n := b.Dx() * b.Dy()
	lo, hi := 0, 255
	for c := 0; lo < 255; lo++ {
		if c += hist[lo]; c*10000 > 15*n {
			break
		}
	}
	for c := 0; hi > 0; hi-- {
		if c += hist[hi]; c*10000 > 5*n {
			break
		}
	}
	if hi <= lo {
		return
	}
	var lut [256]uint8
	for i := range lut {
		lut[i] = uint8(min(255, max(0, (i-lo)*255/(hi-lo))))
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := g.Pix[g.PixOffset(b.Min.X, y):][:b.Dx()]
		for i, p := range row {
			row[i] = lut[p]
		}
	}
}

// enlargeGray scales up a page image with fewer than 60% of the pixels
// of A4 at 200 dpi (A4 at under about 160 dpi) to about A4 at 200, by at
// most twice its width, and returns any other as it is. Tesseract reads
// the small print of a form scanned at 150 dpi worse than the same page
// scaled to 200 (a referral's first page as a scanner's 154 ppi JPEG:
// postcode, address, ethnicity, local authority and practice misread,
// all five read right once enlarged), and the form's own page from a PDF
// is rendered at 200. The template's registration copes with either
// scale; the words do not. Nearer 200 dpi it is left alone: little to
// gain there for the resampling's blur (a choice, not a measurement).
func enlargeGray(g *image.Gray) *image.Gray {
	b := g.Bounds()
	area := float64(b.Dx()) * float64(b.Dy())
	if area == 0 || area >= 0.6*pagePixels {
		return g
	}
	f := min(2, math.Sqrt(pagePixels/area))
	out := image.NewGray(image.Rect(0, 0, int(float64(b.Dx())*f), int(float64(b.Dy())*f)))
	draw.BiLinear.Scale(out, out.Bounds(), g, b, draw.Src, nil)
	return out
}

// halfGray is g at half its size, each pixel the mean of four.
func halfGray(g *image.Gray) *image.Gray {
	b := g.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		r0 := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+2*y):]
		r1 := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+2*y+1):]
		o := out.Pix[y*out.Stride:]
		for x := range w {
			o[x] = uint8((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) / 4)
		}
	}
	return out
}

// blankPage says a page image holds next to no ink: fewer than one pixel
// in a thousand darker than mid-grey (a form's page has 2-8% of them, a
// scanned blank back none, its show-through and speckle being light).
func blankPage(g *image.Gray) bool {
	b := g.Bounds()
	n, dark := b.Dx()*b.Dy(), 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, p := range g.Pix[g.PixOffset(b.Min.X, y):][:b.Dx()] {
			if p < tickDark {
				dark++
			}
		}
	}
	return dark*1000 < n
}

// upsideDownInk says a page's lines of print are upside down, from their
// ink alone, before any OCR: in Latin print more ink stands above a
// line's x-height band (capitals, ascenders) than hangs below it
// (descenders), and a page turned over shows the opposite. The page is
// cut into columns (the form's boxes and rules break its lines), rows
// that are mostly ink (rules) are skipped, and each run of inked rows of
// a line's height is weighed: the ink above the band where the run is
// densest against the ink below it. sure is false when too few lines
// were found to tell.
func upsideDownInk(img *image.Gray) (upside, sure bool) {
	b := img.Bounds()
	const cols = 6
	cw := b.Dx() / cols
	if cw < 20 {
		return false, false
	}
	// A line of print at about 200 dpi is 15-40 pixels tall with its
	// ascenders and descenders; a page's height says its resolution.
	scale := float64(b.Dy()) / 2339
	minH, maxH := int(10*scale), int(45*scale)
	counts := make([]int, b.Dy())
	var above, below, lines int
	for c := range cols {
		x0 := b.Min.X + c*cw
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := img.Pix[img.PixOffset(x0, y):][:cw]
			n := 0
			for _, p := range row {
				if p < tickDark {
					n++
				}
			}
			if n*2 > cw {
				n = -1 // a rule: it ends a run
			}
			counts[y-b.Min.Y] = n
		}
		for y := 0; y < len(counts); {
			if counts[y] <= 0 {
				y++
				continue
			}
			start := y
			for y < len(counts) && counts[y] > 0 {
				y++
			}
			if y-start < minH || y-start > maxH || (start > 0 && counts[start-1] < 0) || (y < len(counts) && counts[y] < 0) {
				continue // not a line of print, or one touching a rule
			}
			run := counts[start:y]
			top := slices.Max(run)
			first, last := -1, -1
			for i, n := range run {
				if n*2 >= top {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			a, d := 0, 0
			for i, n := range run {
				switch {
				case i < first:
					a += n
				case i > last:
					d += n
				}
			}
			above, below, lines = above+a, below+d, lines+1
		}
	}
	if lines < 20 || above+below == 0 {
		return false, false
	}
	switch {
	case below*2 > above*3:
		return true, true
	case above*2 > below*3:
		return false, true
	}
	return false, false
}

// turnGray is g turned 180 degrees.
func turnGray(g *image.Gray) *image.Gray {
	b := g.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	n := len(out.Pix)
	for y := range b.Dy() {
		row := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):][:b.Dx()]
		for x, p := range row {
			out.Pix[n-1-(y*b.Dx()+x)] = p
		}
	}
	return out
}
