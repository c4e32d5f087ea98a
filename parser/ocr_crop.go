package parser

import "image"

// deskCell is the side, in pixels, of the cells findPage looks at.
const deskCell = 8

// findPage finds the part of a photo that is the page, when the photo
// shows the page on a darker desk around it, as a phone held over a form
// takes it, and which cells (deskCell pixels square, row by row over g)
// are desk: dark, and joined to the frame's edge through dark cells. The
// whole image, and no desk, otherwise (a scan, a page that fills the
// frame).
//
// The page is the largest bright region of a copy an eighth the size,
// bright being above the threshold that best splits the copy's greys in
// two (Otsu's); it is taken only when the rest is dark (the split's two
// means 60 grey levels apart at least, and the region's surround darker
// than the threshold on every side it has one), the region is a quarter
// of the frame or more and leaves a margin of 3% at least on two sides.
func findPage(g *image.Gray) *deskPhoto {
	b := g.Bounds()
	const f = deskCell
	small, sw, sh := cellGreys(g)
	if small == nil {
		return nil
	}
	var hist [256]int
	for _, v := range small {
		hist[v]++
	}
	t, darkMean, brightMean := otsu(hist[:], sw*sh)
	if brightMean-darkMean < 60 {
		return nil
	}
	// The largest 4-connected region above the threshold.
	bright := func(k int) bool { return int(small[k]) > t }
	seen := make([]bool, sw*sh)
	bestN, bestSeed := 0, 0
	var bestBox image.Rectangle
	for i := range small {
		if seen[i] || !bright(i) {
			continue
		}
		n := 0
		box := image.Rect(i%sw, i/sw, i%sw+1, i/sw+1)
		floodCells(sw, seen, []int{i}, bright, func(j int) {
			n++
			box = box.Union(image.Rect(j%sw, j/sw, j%sw+1, j/sw+1))
		})
		if n > bestN {
			bestN, bestBox, bestSeed = n, box, i
		}
	}
	if bestN == 0 || bestBox.Dx()*bestBox.Dy()*4 < sw*sh {
		return nil
	}
	// The surround, side by side: each side with a margin must be dark.
	margins := 0
	for _, side := range []image.Rectangle{
		image.Rect(0, 0, bestBox.Min.X, sh), image.Rect(bestBox.Max.X, 0, sw, sh),
		image.Rect(0, 0, sw, bestBox.Min.Y), image.Rect(0, bestBox.Max.Y, sw, sh),
	} {
		if side.Empty() {
			continue
		}
		sum := 0
		for y := side.Min.Y; y < side.Max.Y; y++ {
			for x := side.Min.X; x < side.Max.X; x++ {
				sum += int(small[y*sw+x])
			}
		}
		if sum/(side.Dx()*side.Dy()) > t {
			return nil
		}
		if side.Dx()*100 >= 3*sw && side.Dy() == sh || side.Dy()*100 >= 3*sh && side.Dx() == sw {
			margins++
		}
	}
	if margins < 2 {
		return nil
	}
	// The desk: dark cells joined to the frame's edge.
	desk := make([]bool, sw*sh)
	var edge []int
	for i := range small {
		if x, y := i%sw, i/sw; (x == 0 || y == 0 || x == sw-1 || y == sh-1) && !bright(i) {
			edge = append(edge, i)
		}
	}
	floodCells(sw, desk, edge, func(k int) bool { return !bright(k) }, func(int) {})
	page := make([]bool, sw*sh)
	floodCells(sw, page, []int{bestSeed}, bright, func(int) {})
	// The page's cells and the print on it: all in its box but desk.
	cells := 0
	for y := bestBox.Min.Y; y < bestBox.Max.Y; y++ {
		for x := bestBox.Min.X; x < bestBox.Max.X; x++ {
			if !desk[y*sw+x] {
				cells++
			}
		}
	}
	// Back to the photo's pixels, with a cell of desk around the page.
	r := image.Rect(b.Min.X+(bestBox.Min.X-1)*f, b.Min.Y+(bestBox.Min.Y-1)*f, b.Min.X+(bestBox.Max.X+1)*f, b.Min.Y+(bestBox.Max.Y+1)*f)
	return &deskPhoto{crop: r.Intersect(b), box: bestBox, desk: desk, page: page, cells: cells,
		small: small, sw: sw, sh: sh, t: t, dark: darkMean, bright: brightMean}
}

// deskPhoto is what findPage finds of a page photographed on a desk, on
// its grid of cells deskCell pixels square.
type deskPhoto struct {
	crop   image.Rectangle // the page's box in the photo, a cell of desk around it
	box    image.Rectangle // the page's box in cells
	desk   []bool          // cells that are desk
	page   []bool          // cells of the page's region
	cells  int             // the cells of the page and of print on it: its box's but the desk's
	small  []uint8         // each cell's mean grey
	sw, sh int             // the grid's size
	t      int             // the grey that splits page from desk
	dark   int             // the desk's mean grey
	bright int             // the page's
}

// isDesk reports whether cell cx, cy is desk; no cell outside the grid is.
func (p *deskPhoto) isDesk(cx, cy int) bool {
	return cx >= 0 && cy >= 0 && cx < p.sw && cy < p.sh && p.desk[cy*p.sw+cx]
}

// deskPixel reports whether a pixel of grey v in cell cx, cy is desk: the
// cell is, or it is dark beside one (a cell the page's edge crosses: its
// desk part; a page's margin holds no print this near its edge).
func (p *deskPhoto) deskPixel(cx, cy int, v uint8) bool {
	if p.isDesk(cx, cy) {
		return true
	}
	if int(v) > p.t {
		return false
	}
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if p.isDesk(cx+dx, cy+dy) {
				return true
			}
		}
	}
	return false
}

// cellGreys is the mean grey of each cell deskCell pixels square of g,
// row by row, and the grid's size; nil for an image of fewer than 20 by
// 20 cells.
func cellGreys(g *image.Gray) ([]uint8, int, int) {
	b := g.Bounds()
	const f = deskCell
	sw, sh := b.Dx()/f, b.Dy()/f
	if sw < 20 || sh < 20 {
		return nil, 0, 0
	}
	small := make([]uint8, sw*sh)
	for y := range sh {
		for x := range sw {
			sum := 0
			for dy := range f {
				row := g.Pix[g.PixOffset(b.Min.X+x*f, b.Min.Y+y*f+dy):]
				for dx := range f {
					sum += int(row[dx])
				}
			}
			small[y*sw+x] = uint8(sum / (f * f))
		}
	}
	return small, sw, sh
}

// floodCells marks in seen every cell of a grid sw cells wide (seen's
// length its size) joined to the seeds through cells that in accepts, the
// seeds with them, 4-connected, and calls visit on each it marks.
func floodCells(sw int, seen []bool, seeds []int, in func(k int) bool, visit func(j int)) {
	stack := make([]int, 0, len(seeds))
	for _, i := range seeds {
		if !seen[i] {
			seen[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visit(j)
		x := j % sw
		for _, k := range [4]int{j - 1, j + 1, j - sw, j + sw} {
			if k < 0 || k >= len(seen) || (k == j-1 && x == 0) || (k == j+1 && x == sw-1) {
				continue
			}
			if !seen[k] && in(k) {
				seen[k] = true
				stack = append(stack, k)
			}
		}
	}
}

// photoPage is the page of a photo taken on a desk (findPage): mapped
// from the quadrilateral its edges make onto an upright rectangle
// (ocr_perspective.go), or where they make none, cut out by its box with
// the desk left in its corners made white; g itself when the whole image
// is the page. Photographed with 12% of the frame's width of desk on each side
// of the page and turned 3 degrees, sample 02 read 25 of its 52 values
// wrong or not at all: the page was three quarters of a frame scaled to
// A4 at 200 dpi, Tesseract was told the frame's resolution, and the
// half-size read that registers a page found a third of its words. And a
// turned page's box holds triangles of desk, darker than ink's threshold:
// on a sparse page they outweighed its ruled lines when the rows' slope
// was measured (the consent's second page read with its rows level, the
// signature's date cut blank).
func photoPage(g *image.Gray) *image.Gray {
	out, _ := pagePhoto(g)
	return out
}

// pagePhoto is photoPage's page, and whether it was mapped from its
// quadrilateral (not cut out by its box, nor the whole image).
func pagePhoto(g *image.Gray) (*image.Gray, bool) {
	p := findPage(g)
	if p == nil {
		if q, ok := edgeQuad(g); ok {
			return warpQuad(g, q, nil), true // a light desk: no desk cells to whiten
		}
		return g, false
	}
	if q, ok := p.quad(); ok {
		return p.warp(g, q), true
	}
	r := p.crop
	out := cropGray(g, r)
	b := g.Bounds()
	for y := range r.Dy() {
		cy := (r.Min.Y - b.Min.Y + y) / deskCell
		row := out.Pix[y*out.Stride:][:r.Dx()]
		for x := range row {
			if p.deskPixel((r.Min.X-b.Min.X+x)/deskCell, cy, row[x]) {
				row[x] = 255
			}
		}
	}
	return out, false
}

// otsu is the grey level that best splits a histogram of n values in two
// (the one that maximises the variance between the classes), and the two
// classes' means.
func otsu(hist []int, n int) (t, darkMean, brightMean int) {
	total := 0
	for v, c := range hist {
		total += v * c
	}
	var sumB, wB int
	bestVar := -1.0
	for v, c := range hist {
		wB += c
		if wB == 0 {
			continue
		}
		wF := n - wB
		if wF == 0 {
			break
		}
		sumB += v * c
		mB := float64(sumB) / float64(wB)
		mF := float64(total-sumB) / float64(wF)
		if between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF); between > bestVar {
			bestVar, t, darkMean, brightMean = between, v, int(mB), int(mF)
		}
	}
	return t, darkMean, brightMean
}

// cropGray copies the part r of g into an image of its own, its origin at
// 0,0 as every page image's is.
func cropGray(g *image.Gray, r image.Rectangle) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		copy(out.Pix[y*out.Stride:][:r.Dx()], g.Pix[g.PixOffset(r.Min.X, r.Min.Y+y):][:r.Dx()])
	}
	return out
}
