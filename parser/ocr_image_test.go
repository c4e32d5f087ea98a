package parser

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"testing"
)

// TestPGMRoundTrip writes a page image as PGM and reads it back, size
// and pixels, as Tesseract and ImageMagick exchange pages with Go.
func TestPGMRoundTrip(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 37, 11))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7)
	}
	p := filepath.Join(t.TempDir(), "page.pgm")
	if err := writePGM(p, g); err != nil {
		t.Fatal(err)
	}
	w, h, err := imageSize(p)
	if err != nil || w != 37 || h != 11 {
		t.Fatalf("size %dx%d, %v", w, h, err)
	}
	back, err := loadGray(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != g.Bounds() || string(back.Pix) != string(g.Pix) {
		t.Error("pixels differ after the round trip")
	}
	// A sub-image is written as itself, not as the image it is cut from.
	if err := writePGM(p, g.SubImage(image.Rect(5, 2, 9, 4)).(*image.Gray)); err != nil {
		t.Fatal(err)
	}
	if back, err = loadGray(p); err != nil || back.Bounds().Dx() != 4 || back.Pix[0] != g.GrayAt(5, 2).Y {
		t.Errorf("sub-image read back as %v, %v", back.Bounds(), err)
	}
}

// TestNormaliseAndHalf: a grey scan's paper becomes white and its ink
// black, as ImageMagick's -normalize made them; the half-size copy is
// the mean of each four pixels.
func TestNormaliseAndHalf(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range g.Pix {
		g.Pix[i] = 200 // grey paper
	}
	for i := range 500 {
		g.Pix[i*7] = 60 // ink, 5% of the page
	}
	normaliseGray(g)
	if g.Pix[1] != 255 || g.Pix[0] != 0 {
		t.Errorf("paper %d, ink %d after normalising; want 255 and 0", g.Pix[1], g.Pix[0])
	}
	h := halfGray(g)
	if h.Bounds().Dx() != 50 || h.Bounds().Dy() != 50 {
		t.Fatalf("half is %v", h.Bounds())
	}
	if want := uint8((0 + 255 + 255 + 255 + 2) / 4); h.Pix[0] != want {
		t.Errorf("half pixel %d, want %d", h.Pix[0], want)
	}
}

// TestRuleSlope finds the slope of a page's ruled lines, turned a little
// as on a scanner's glass, among lines of writing that slope otherwise.
func TestRuleSlope(t *testing.T) {
	const slope = -0.03
	img := image.NewGray(image.Rect(0, 0, 800, 1000))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, y0 := range []int{100, 300, 500, 700, 900} {
		for x := 50; x < 750; x++ {
			y := y0 + int(math.Round(slope*float64(x)))
			img.Pix[y*img.Stride+x], img.Pix[(y+1)*img.Stride+x] = 0, 0
		}
	}
	// Short strokes of "writing" on rows of another slope.
	for x := 100; x < 400; x += 9 {
		for y := 200 + x/10; y < 212+x/10; y++ {
			img.Pix[y*img.Stride+x] = 0
		}
	}
	k, ok := ruleSlope(img)
	if !ok || math.Abs(k-slope) > 0.001 {
		t.Errorf("slope %.4f (%v), want %.4f", k, ok, slope)
	}
	blank := image.NewGray(image.Rect(0, 0, 800, 1000))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	if _, ok := ruleSlope(blank); ok {
		t.Error("a page without lines has a rule slope")
	}
}

// TestClearLines keeps the letters of a wider cut and takes out the
// box's border, slanted, and a neighbouring line's letters at its edge.
func TestClearLines(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 200, 60))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	// A slanted bottom border, a left border, a letter cut at the top
	// edge, and two letters inside.
	for x := 10; x < 190; x++ {
		g.Pix[(50-x/60)*g.Stride+x] = 0
	}
	for y := 8; y < 52; y++ {
		g.Pix[y*g.Stride+10] = 0
	}
	for y := 0; y < 5; y++ {
		g.Pix[y*g.Stride+100] = 0
	}
	for _, x0 := range []int{40, 60} {
		for y := 20; y < 35; y++ {
			for x := x0; x < x0+3; x++ {
				g.Pix[y*g.Stride+x] = 0
			}
		}
	}
	clearLines(g, g.Bounds(), true)
	dark := func(x0, x1, y0, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if g.Pix[y*g.Stride+x] < tickDark {
					n++
				}
			}
		}
		return n
	}
	if n := dark(35, 70, 15, 40); n != 2*15*3 {
		t.Errorf("%d pixels of the letters left, want %d", n, 2*15*3)
	}
	if n := dark(0, 200, 0, 60) - dark(35, 70, 15, 40); n != 0 {
		t.Errorf("%d pixels of border and edge left", n)
	}
}

// TestRuleSlopeStraight: a straight page's rules are found straight, not
// at a slope that spreads them over two rows.
func TestRuleSlopeStraight(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 800, 1000))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, y := range []int{101, 302, 503} {
		for x := 50; x < 750; x++ {
			img.Pix[y*img.Stride+x], img.Pix[(y+1)*img.Stride+x] = 0, 0
		}
	}
	if k, ok := ruleSlope(img); !ok || math.Abs(k) > 0.0006 {
		t.Errorf("slope %.4f (%v), want 0", k, ok)
	}
}

// TestCropOfGrainyPhoto: a coordinator's crop of a photo, whose grain does
// not compress, is still given, within the size bound, with its writing
// where it was and its paper white, in a fraction of the bytes of the
// crop as scanned.
func TestCropOfGrainyPhoto(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1200, 200))
	seed := uint32(1)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = 200 + uint8(seed>>27) // paper with grain
	}
	for y := 80; y < 120; y++ {
		for x := 100; x < 900; x += 7 {
			img.Pix[y*img.Stride+x] = 30 // strokes of writing
		}
	}
	pg := &ocrPage{img: img, w: 1200, h: 200}
	// A wide box whose crop as scanned is over the bound, and a value
	// box's whose is not: both lose the grain.
	for _, box := range [][4]int{{50, 40, 1000, 120}, {100, 70, 400, 60}} {
		c := pg.crop(box, image.Rectangle{})
		if len(c) == 0 || len(c) > maxCropBytes {
			t.Fatalf("box %v: crop of %d bytes, want 1 to %d", box, len(c), maxCropBytes)
		}
		got, err := png.Decode(bytes.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		// The box with its padding (6 px, no label).
		at := image.Rect(box[0]-6, box[1]-6, box[0]+box[2]+6, box[1]+box[3]+6)
		if b := got.Bounds(); b.Dx() != at.Dx() || b.Dy() != at.Dy() {
			t.Fatalf("box %v: crop %v, want %v", box, b, at)
		}
		grey := func(x, y int) uint8 {
			return color.GrayModel.Convert(got.At(x-at.Min.X, y-at.Min.Y)).(color.Gray).Y
		}
		if v := grey(128, 100); v > 0x30 {
			t.Errorf("box %v: a stroke of writing is %d in the crop, want dark", box, v)
		}
		if v := grey(130, 100); v != 255 {
			t.Errorf("box %v: the paper beside it is %d in the crop, want white", box, v)
		}
		var asScanned bytes.Buffer
		if err := png.Encode(&asScanned, img.SubImage(at)); err != nil {
			t.Fatal(err)
		}
		if len(c)*4 > asScanned.Len() {
			t.Errorf("box %v: crop of %d bytes, the scan's grain kept (%d bytes as scanned)", box, len(c), asScanned.Len())
		}
	}
}

// TestEnlargeGray: a picture of a page at under about 160 dpi is enlarged
// to about A4 at 200 dpi, by at most twice its width; one nearer 200 dpi,
// or larger, is left as it is; what is drawn keeps its place.
func TestEnlargeGray(t *testing.T) {
	for _, c := range []struct {
		w, h         int
		wantW, wantH int
	}{
		{1273, 1778, 1709, 2387}, // a scanner's 154 ppi JPEG of A4
		{1241, 1754, 1699, 2401}, // 150 dpi
		{1654, 2339, 1654, 2339}, // 200 dpi: as it is
		{1450, 2050, 1450, 2050}, // about 175 dpi: as it is
		{2480, 3508, 2480, 3508}, // 300 dpi: as it is (shrinking is ImageMagick's)
		{400, 300, 800, 600},     // a thumbnail: twice, no more
		{0, 0, 0, 0},
	} {
		g := image.NewGray(image.Rect(0, 0, c.w, c.h))
		for i := range g.Pix {
			g.Pix[i] = 255
		}
		if c.w > 0 {
			// A black square in the middle fifth.
			for y := 2 * c.h / 5; y < 3*c.h/5; y++ {
				for x := 2 * c.w / 5; x < 3*c.w/5; x++ {
					g.SetGray(x, y, color.Gray{})
				}
			}
		}
		out := enlargeGray(g)
		b := out.Bounds()
		if b.Dx() != c.wantW || b.Dy() != c.wantH {
			t.Errorf("%dx%d enlarged to %dx%d, want %dx%d", c.w, c.h, b.Dx(), b.Dy(), c.wantW, c.wantH)
			continue
		}
		if c.w == 0 {
			continue
		}
		if (c.w == c.wantW) != (out == g) {
			t.Errorf("%dx%d: a new image %v, want one only when enlarged", c.w, c.h, out != g)
		}
		if got := out.GrayAt(b.Dx()/2, b.Dy()/2).Y; got != 0 {
			t.Errorf("%dx%d: the middle is %d, want black", c.w, c.h, got)
		}
		if got := out.GrayAt(b.Dx()/4, b.Dy()/4).Y; got != 255 {
			t.Errorf("%dx%d: a quarter in is %d, want white", c.w, c.h, got)
		}
	}
}
