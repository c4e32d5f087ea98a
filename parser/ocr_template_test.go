package parser

import (
	"image"
	"math"
	"testing"
)

// TestFitSimilarity recovers a scan's scale, turn and offset from anchors,
// one of them misread far off, which the fit must drop.
func TestFitSimilarity(t *testing.T) {
	const s, deg, ox, oy = 2.7, 2.0, 40.0, -25.0
	th := deg * math.Pi / 180
	var pairs []fitPair
	for i, p := range [][2]float64{{90, 280}, {85, 332}, {80, 357}, {88, 406}, {150, 120}, {300, 140}, {100, 600}, {110, 700}} {
		x := s*(math.Cos(th)*p[0]-math.Sin(th)*p[1]) + ox
		y := s*(math.Sin(th)*p[0]+math.Cos(th)*p[1]) + oy
		if i == 3 {
			y += 60 // another line's text taken for this anchor
		}
		pairs = append(pairs, fitPair{tx: p[0], ty: p[1], ix: x, iy: y})
	}
	f, ok := fitSimilarity(pairs, s, minRegisterLabels)
	if !ok {
		t.Fatal("no fit")
	}
	if math.Abs(f.scale-s) > 0.01 || math.Abs(math.Atan2(f.d, f.a)-th) > 0.001 || math.Abs(f.c-ox) > 0.5 || math.Abs(f.f-oy) > 0.5 {
		t.Errorf("fit %+v, want scale %v, turn %v°, offset %v,%v", f, s, deg, ox, oy)
	}
	for _, p := range f.anchors {
		if p.tx == 88 && math.Hypot(p.rx, p.ry) < maxAnchorCorrection*s {
			t.Errorf("the misread anchor corrects boxes: %+v", p)
		}
	}
	// Too few anchors, or a turn no scanner makes: no fit.
	if _, ok := fitSimilarity(pairs[:3], s, minRegisterLabels); ok {
		t.Error("fitted three anchors")
	}
	turned := make([]fitPair, len(pairs))
	for i, p := range pairs {
		turned[i] = fitPair{tx: p.tx, ty: p.ty, ix: -p.ty * s, iy: p.tx * s}
	}
	if _, ok := fitSimilarity(turned, s, minRegisterLabels); ok {
		t.Error("fitted a page turned 90 degrees")
	}
}

// greyPage is a scanned page's grey paper, and a way to ink rectangles on
// it.
func greyPage(w, h int) (*image.Gray, func(r image.Rectangle, v uint8)) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 230
	}
	return img, func(r image.Rectangle, v uint8) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.Pix[y*img.Stride+x] = v
			}
		}
	}
}

// TestCutBoxFindsBorder cuts a value box whose printed border is a few
// points off where the fit puts it: the cut is the box's inside, found by
// its border, the writing whole and the border gone.
func TestCutBoxFindsBorder(t *testing.T) {
	const s = 2.5
	img, fill := greyPage(600, 200)
	// The widget the fit maps is at y 50..88; the box printed around it
	// (20 points tall) 7 pixels lower than the fit puts it: its lines at
	// y 51..53 and 99..101, with strokes of writing inside.
	fill(image.Rect(100, 51, 500, 53), 40)
	fill(image.Rect(100, 99, 500, 101), 40)
	fill(image.Rect(100, 51, 102, 101), 40)
	fill(image.Rect(498, 51, 500, 101), 40)
	for x := 120; x < 300; x += 6 {
		fill(image.Rect(x, 70, x+2, 94), 20)
	}
	pg := &ocrPage{img: img, w: 600, h: 200}
	f := &ocrFit{a: s, e: s, scale: s}
	g, _ := pg.cutBox(f, [4]float64{40, 20, 200, 35.2})
	if g == nil {
		t.Fatal("no cut")
	}
	// The inside is 46 pixels tall, less the inset either side; the
	// widget's rectangle would cut the writing's foot off.
	if h, want := g.Bounds().Dy()-2*boxPad, 46-2*boxInset*s; math.Abs(float64(h)-want) > 2 {
		t.Errorf("cut %d pixels tall, want the border's inside, %.0f", h, want)
	}
	dark := 0
	for y := 0; y < g.Bounds().Dy(); y++ {
		n := 0
		for x := 0; x < g.Bounds().Dx(); x++ {
			if g.GrayAt(x, y).Y < 160 {
				n++
			}
		}
		if n > g.Bounds().Dx()*3/4 {
			t.Errorf("row %d of the cut is a border line", y)
		}
		if n > 0 {
			dark++
		}
	}
	if dark < 24 {
		t.Errorf("%d rows of writing in the cut, want 24", dark)
	}
}

// TestCutBoxFarFromFit: a tall box printed 7 points higher than the fit
// puts it (a box far from the labels the fit was made from), with its
// first line of writing close under its top. Its border is still found,
// and that line is cut whole, not through its middle.
func TestCutBoxFarFromFit(t *testing.T) {
	const s = 2.5
	img, fill := greyPage(600, 300)
	// The widget the fit maps is at y 50..150 (20..60 points); the box
	// printed 7 points (17.5 pixels) higher: its lines at y 32..34 and
	// 130..132. The first line of writing from y 37 to 51, the second
	// from 60 to 74.
	fill(image.Rect(100, 32, 500, 34), 40)
	fill(image.Rect(100, 130, 500, 132), 40)
	for _, top := range []int{37, 60} {
		for x := 110; x < 480; x += 6 {
			fill(image.Rect(x, top, x+2, top+14), 20)
		}
	}
	pg := &ocrPage{img: img, w: 600, h: 300}
	f := &ocrFit{a: s, e: s, scale: s}
	g, _ := pg.cutBox(f, [4]float64{40, 20, 200, 60})
	if g == nil {
		t.Fatal("no cut")
	}
	rows := 0
	for y := 0; y < g.Bounds().Dy(); y++ {
		for x := 0; x < g.Bounds().Dx(); x++ {
			if g.GrayAt(x, y).Y < 160 {
				rows++
				break
			}
		}
	}
	if rows < 28 {
		t.Errorf("%d rows of writing in the cut, want both lines' 28", rows)
	}
}

// TestFitCorrectionAnchors: anchors a phone photo's perspective puts
// further off than the fit allows correct the boxes near them when their
// neighbours are off the same way; one misread alone (a label read against
// a word 17 points to its right, as on a photo of the consent form) does
// not, or the tick boxes near it are read on their outlines.
func TestFitCorrectionAnchors(t *testing.T) {
	const s = 2.78
	var pairs []fitPair
	for i, ty := range []float64{40, 120, 200, 280, 360, 440, 520, 600, 680, 760} {
		for _, tx := range []float64{100, 300} {
			ix, iy := s*tx+30, s*ty+20
			if ty >= 600 && tx == 300 {
				ix += 30 // the bottom right stretched as a photo's perspective does
			}
			if i == 5 && tx == 100 {
				ix += 17 * s // misread: another word of the line
			}
			pairs = append(pairs, fitPair{tx: tx, ty: ty, ix: ix, iy: iy})
		}
	}
	f, ok := fitSimilarity(pairs, s, minRegisterLabels)
	if !ok {
		t.Fatal("no fit")
	}
	kept := map[[2]float64]bool{}
	for _, p := range f.anchors {
		kept[[2]float64{p.tx, p.ty}] = true
	}
	if kept[[2]float64{100, 440}] {
		t.Error("the misread anchor corrects the boxes near it")
	}
	for _, ty := range []float64{600, 680, 760} {
		if !kept[[2]float64{300, ty}] {
			t.Errorf("the stretched anchor at 300,%v was dropped", ty)
		}
	}
}
