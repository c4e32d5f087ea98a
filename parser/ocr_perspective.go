package parser

import (
	"image"
	"math"
)

// A phone held over a form on a desk sees the page as a quadrilateral:
// turned, and narrower at the top when the phone is tilted back. Cut out
// by its box (photoPage), such a page kept its turn and its taper, and the
// template fit, which allows a page a scale and a turn but no taper,
// placed the boxes at the page's foot or head off their answers: tilted
// 10% and turned 3 degrees, sample 02 read 16 of its 52 values wrong or
// not at all, and with the desk showing in a turned page's corners the
// consent's signature and date were lost even untilted. The page's four
// edges are found on the cells findPage sorted into page and desk, and
// the page is mapped from the quadrilateral they make onto a rectangle,
// as a document-scanning app does.

// quadPoint is a point of the photo, in pixels.
type quadPoint struct{ x, y float64 }

// edgeLine is a straight edge of the page, in cells: y = k*x + c for the
// top and foot, x = k*y + c for the sides.
type edgeLine struct{ k, c float64 }

// quad is the page's corners in the photo (top left, top right, bottom
// right, bottom left), from straight lines fitted to its four edges; ok
// is false where the edges are not straight or the quadrilateral they make
// is not the page's region (a corner folded or held by a hand, the page
// running out of the frame), and the page is then cut out by its box.
func (p *deskPhoto) quad() ([4]quadPoint, bool) {
	var q [4]quadPoint
	// Where the page's region begins, in cell units and with a part of a
	// cell, along each row or column of the middle of a side (its ends
	// are the corners, rounded or dog-eared). The edge crosses the two
	// cells either side of where the region begins: each is page by as
	// much as its grey is the paper's two cells inside rather than the
	// desk's two cells outside (the light falls off across a photo).
	grey := func(i, fallback int) float64 {
		if i < 0 {
			return float64(fallback)
		}
		return float64(p.small[i])
	}
	// edgeAt is the edge's place across a row or column (cell gives a
	// cell's index by its place across, -1 off the grid) whose region
	// begins (leading) or ends at cell c.
	edgeAt := func(cell func(c int) int, c int, leading bool) float64 {
		out := 1 // the way out of the page
		if leading {
			out = -1
		}
		desk, paper := grey(cell(c+2*out), p.dark), grey(cell(c-2*out), p.bright)
		if paper-desk < 30 {
			desk, paper = float64(p.dark), float64(p.bright)
		}
		part := func(c int) float64 {
			return math.Min(math.Max((grey(cell(c), p.dark)-desk)/(paper-desk), 0), 1)
		}
		reach := part(c) + part(c+out) // how much of the two cells is page
		if leading {
			return float64(c+1) - reach
		}
		return float64(c) + reach
	}
	// side fits the edge met first (leading) or last going across the
	// grid, along the cells from lo to hi; cell is a cell's index, -1 off
	// the grid.
	side := func(lo, hi, across int, cell func(along, across int) int, leading bool) (edgeLine, bool) {
		lo, hi = lo+(hi-lo)/10, hi-(hi-lo)/10
		var xs, ys []float64
		for a := lo; a < hi; a++ {
			first, last := -1, -1
			for c := range across {
				if p.page[cell(a, c)] {
					if first < 0 {
						first = c
					}
					last = c
				}
			}
			if first < 0 {
				continue
			}
			line := func(c int) int { return cell(a, c) }
			e := edgeAt(line, last, false)
			if leading {
				e = edgeAt(line, first, true)
			}
			xs, ys = append(xs, float64(a)+0.5), append(ys, e)
		}
		return fitEdge(xs, ys)
	}
	inRows := func(x, y int) int { // along a row: x along, y across
		if x < 0 || x >= p.sw || y < 0 || y >= p.sh {
			return -1
		}
		return y*p.sw + x
	}
	inCols := func(y, x int) int { return inRows(x, y) }
	// Each edge runs between two corners, and is fitted between them
	// only: on a turned page, the first cell down a column near the
	// box's side is on the page's side, not its top. The corners, to
	// within a cell or two, are the region's cells furthest out
	// diagonally (a page turned less than 45 degrees).
	var tl, tr, br, bl image.Point
	first := true
	for i, in := range p.page {
		if !in {
			continue
		}
		c := image.Pt(i%p.sw, i/p.sw)
		if first {
			tl, tr, br, bl, first = c, c, c, c, false
		}
		if c.X+c.Y < tl.X+tl.Y {
			tl = c
		}
		if c.X-c.Y > tr.X-tr.Y {
			tr = c
		}
		if c.X+c.Y > br.X+br.Y {
			br = c
		}
		if c.X-c.Y < bl.X-bl.Y {
			bl = c
		}
	}
	top, ok1 := side(tl.X, tr.X+1, p.sh, inRows, true)
	foot, ok2 := side(bl.X, br.X+1, p.sh, inRows, false)
	left, ok3 := side(tl.Y, bl.Y+1, p.sw, inCols, true)
	right, ok4 := side(tr.Y, br.Y+1, p.sw, inCols, false)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return q, false
	}
	q, ok := quadCorners(top, foot, left, right)
	if !ok {
		return q, false
	}
	// The quadrilateral must be the region: convex, within the frame, and
	// as large as the region's cells within a few in a hundred.
	area, ok := quadArea(q, p.sw, p.sh)
	if !ok || math.Abs(area-float64(p.cells)) > 0.05*float64(p.cells) {
		return q, false
	}
	return inPixels(q), true
}

// quadCorners is where the page's four edges meet: top left, top right,
// bottom right, bottom left.
func quadCorners(top, foot, left, right edgeLine) ([4]quadPoint, bool) {
	var q [4]quadPoint
	for i, pair := range [4][2]edgeLine{{top, left}, {top, right}, {foot, right}, {foot, left}} {
		c, ok := crossing(pair[0], pair[1])
		if !ok {
			return q, false
		}
		q[i] = c
	}
	return q, true
}

// inPixels is q, in cells, in the photo's pixels.
func inPixels(q [4]quadPoint) [4]quadPoint {
	for i := range q {
		q[i].x *= deskCell
		q[i].y *= deskCell
	}
	return q
}

// pointDist is the distance between a and b.
func pointDist(a, b quadPoint) float64 { return math.Hypot(a.x-b.x, a.y-b.y) }

// quadArea is the area of quadrilateral q (corners clockwise from the
// top left, in cells), and whether it is convex and within a grid sw by
// sh cells (a cell over allowed).
func quadArea(q [4]quadPoint, sw, sh int) (float64, bool) {
	area := 0.0
	for i := range q {
		a, b, c := q[i], q[(i+1)%4], q[(i+2)%4]
		if (b.x-a.x)*(c.y-b.y)-(b.y-a.y)*(c.x-b.x) <= 0 {
			return 0, false // not convex, or not clockwise as the image's y runs down
		}
		if a.x < -1 || a.y < -1 || a.x > float64(sw)+1 || a.y > float64(sh)+1 {
			return 0, false
		}
		area += a.x*b.y - b.x*a.y
	}
	return area / 2, true
}

// fitEdge fits a straight line ys = k*xs + c to an edge's points by least
// squares, once more without the points more than a cell and a half off
// the first fit (a corner's tab, a shadow), and reports whether there were
// enough points and they lie on it (a page's edge is straight: its
// points' spread within a cell).
func fitEdge(xs, ys []float64) (edgeLine, bool) {
	return fitEdgeWith(xs, ys, 0.8, 0.75)
}

// fitEdgeWith is fitEdge keeping a line that the share inliers of the
// points lie on, their spread about it within rms cells.
func fitEdgeWith(xs, ys []float64, inliers, rms float64) (edgeLine, bool) {
	fit := func(keep func(i int) bool) (edgeLine, int) {
		var n, sx, sy, sxx, sxy float64
		for i := range xs {
			if keep(i) {
				n++
				sx += xs[i]
				sy += ys[i]
				sxx += xs[i] * xs[i]
				sxy += xs[i] * ys[i]
			}
		}
		d := n*sxx - sx*sx
		if n < 2 || d == 0 {
			return edgeLine{}, 0
		}
		k := (n*sxy - sx*sy) / d
		return edgeLine{k: k, c: (sy - k*sx) / n}, int(n)
	}
	if len(xs) < 20 {
		return edgeLine{}, false
	}
	l, _ := fit(func(int) bool { return true })
	off := func(l edgeLine, i int) float64 { return math.Abs(ys[i] - l.k*xs[i] - l.c) }
	l, n := fit(func(i int) bool { return off(l, i) <= 1.5 })
	if float64(n) < inliers*float64(len(xs)) {
		return l, false // too much of the edge off the line: not straight
	}
	var ss float64
	for i := range xs {
		if d := off(l, i); d <= 1.5 {
			ss += d * d
		}
	}
	return l, math.Sqrt(ss/float64(n)) <= rms && math.Abs(l.k) < 0.3
}

// crossing is where a top or foot edge (y = k*x + c) meets a side (x =
// k*y + c).
func crossing(h, v edgeLine) (quadPoint, bool) {
	d := 1 - h.k*v.k
	if math.Abs(d) < 1e-9 {
		return quadPoint{}, false
	}
	y := (h.k*v.c + h.c) / d
	return quadPoint{x: v.k*y + v.c, y: y}, true
}

// warp maps the page's quadrilateral q in photo g onto an upright page
// (warpQuad), making white what the page's edges leave of the desk.
func (p *deskPhoto) warp(g *image.Gray, q [4]quadPoint) *image.Gray {
	return warpQuad(g, q, func(x, y int, v uint8) bool { return p.deskPixel(x/deskCell, y/deskCell, v) })
}

// warpQuad maps the page's quadrilateral q in photo g onto an upright
// rectangle of the shape of its longer top or foot and its longer side
// (A4's when nearly so), its short side A4's at 200 dpi, sampling g
// between its pixels; a pixel that desk (nil for
// none) says is desk, by where it is in g and its grey, is made white.
func warpQuad(g *image.Gray, q [4]quadPoint, desk func(x, y int, v uint8) bool) *image.Gray {
	dist := pointDist
	w := int(math.Round(math.Max(dist(q[0], q[1]), dist(q[3], q[2]))))
	h := int(math.Round(math.Max(dist(q[0], q[3]), dist(q[1], q[2]))))
	// A page tilted away is foreshortened along its length as well as
	// narrowed: one nearly A4's shape (a form is A4) is given A4's.
	for _, r := range []float64{math.Sqrt2, 1 / math.Sqrt2} {
		if ratio := float64(h) / float64(w); math.Abs(ratio/r-1) < 0.08 {
			h = int(math.Round(float64(w) * r))
		}
	}
	// Read at the resolution of a page scanned, A4 at 200 dpi, its short
	// side warpWidth: not at the part of the frame the page filled (three
	// quarters of a 4 MP copy, and Tesseract misread the small print), nor
	// at a 12 MP camera's (twice the pixels to read, and past what the
	// rest of the reading is sized for). A page photographed sideways is
	// turned later, at the same resolution.
	if short := min(w, h); short > 0 {
		w = int(math.Round(float64(w) * warpWidth / float64(short)))
		h = int(math.Round(float64(h) * warpWidth / float64(short)))
	}
	// A page's print keeps clear of its edges: the edges' last pixels,
	// desk blurred into paper, are made white.
	rim := w / 100
	out := image.NewGray(image.Rect(0, 0, w, h))
	m := squareToQuad(q)
	b := g.Bounds()
	gw, gh := b.Dx(), b.Dy()
	// bilinear is g's grey between its pixels at x, y (pixel centres at
	// the halves), and the pixel it falls in; ok is false off the photo.
	bilinear := func(x, y float64) (v float64, x0, y0 int, ok bool) {
		x, y = x-0.5, y-0.5
		x0, y0 = int(math.Floor(x)), int(math.Floor(y))
		if x0 < 0 || y0 < 0 || x0+1 >= gw || y0+1 >= gh {
			return 0, x0, y0, false
		}
		fx, fy := x-float64(x0), y-float64(y0)
		i := g.PixOffset(b.Min.X+x0, b.Min.Y+y0)
		top := float64(g.Pix[i])*(1-fx) + float64(g.Pix[i+1])*fx
		bot := float64(g.Pix[i+g.Stride])*(1-fx) + float64(g.Pix[i+g.Stride+1])*fx
		return top*(1-fy) + bot*fy, x0, y0, true
	}
	// A page larger in the photo than the page image is sampled n by n
	// times a pixel and averaged: at one sample a pixel, parts of thin
	// strokes fall between the samples.
	n := int(math.Ceil(math.Max(dist(q[0], q[1]), dist(q[3], q[2]))/float64(w) - 0.25))
	n = min(max(n, 1), 4)
	for v := range h {
		row := out.Pix[v*out.Stride:][:w]
		for u := range row {
			if u < rim || v < rim || u >= w-rim || v >= h-rim {
				row[u] = 255
				continue
			}
			x, y := m.at((float64(u)+0.5)/float64(w), (float64(v)+0.5)/float64(h))
			val, x0, y0, ok := bilinear(x, y)
			if !ok {
				row[u] = 255
				continue
			}
			if n > 1 {
				sum, k := 0.0, 0
				for j := range n {
					t := (float64(v) + (float64(j)+0.5)/float64(n)) / float64(h)
					for i := range n {
						if sv, _, _, ok := bilinear(m.at((float64(u)+(float64(i)+0.5)/float64(n))/float64(w), t)); ok {
							sum += sv
							k++
						}
					}
				}
				val = sum / float64(k)
			}
			grey := uint8(val + 0.5)
			if desk != nil && desk(x0, y0, grey) {
				grey = 255
			}
			row[u] = grey
		}
	}
	return out
}

// warpWidth is the short side a page photographed on a desk is read at:
// A4's at 200 dpi.
const warpWidth = 1654

// projective maps the unit square onto a quadrilateral: x = (a*s + b*t +
// c) / (g*s + h*t + 1), y = (d*s + e*t + f) / (g*s + h*t + 1).
type projective struct{ a, b, c, d, e, f, g, h float64 }

func (m projective) at(s, t float64) (x, y float64) {
	z := m.g*s + m.h*t + 1
	return (m.a*s + m.b*t + m.c) / z, (m.d*s + m.e*t + m.f) / z
}

// squareToQuad is the projective map of the unit square's corners (0,0),
// (1,0), (1,1), (0,1) onto q's (Heckbert, "Fundamentals of Texture
// Mapping and Image Warping", 1989, 2.2.3).
func squareToQuad(q [4]quadPoint) projective {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0].x, q[0].y, q[1].x, q[1].y, q[2].x, q[2].y, q[3].x, q[3].y
	sx, sy := x0-x1+x2-x3, y0-y1+y2-y3
	if math.Abs(sx) < 1e-9 && math.Abs(sy) < 1e-9 {
		return projective{a: x1 - x0, b: x3 - x0, c: x0, d: y1 - y0, e: y3 - y0, f: y0}
	}
	dx1, dx2, dy1, dy2 := x1-x2, x3-x2, y1-y2, y3-y2
	det := dx1*dy2 - dx2*dy1
	g := (sx*dy2 - dx2*sy) / det
	h := (dx1*sy - sx*dy1) / det
	return projective{a: x1 - x0 + g*x1, b: x3 - x0 + h*x3, c: x0, d: y1 - y0 + g*y1, e: y3 - y0 + h*y3, f: y0, g: g, h: h}
}

// A page on a light desk (pale wood, a white table) is not split from it
// by one grey: the light falling off across a photo makes the paper in
// one corner darker than the desk in the other, and findPage finds no
// page. The whole frame was then read as the page, the page at three
// quarters of its resolution and with its turn and taper: photographed so
// (the desk at 75% grey), sample 02 read 44 of its 52 values wrong. The
// page's edge is still a step up in grey from the desk beside it, wherever
// it is: edgeQuad looks for that step in from each side of the frame.

// Bounds of a page found on a light desk by its edges.
const (
	edgeStep    = 12   // the least rise in grey, desk to paper
	edgeMinArea = 0.25 // of the frame: a page photographed, not a label
	edgeMaxArea = 0.95 // a page that fills the frame has no desk to find
	edgeA4      = 0.12 // how far from A4's shape its sides may be
)

// edgeQuad is the corners of a page photographed on a desk lighter than
// findPage tells apart, found by its edges, in pixels; ok is false where
// one of its four edges is not found in from its side of the frame (a
// scan, or a page that fills the frame), or the edges found make no page
// of about A4's shape.
func edgeQuad(g *image.Gray) ([4]quadPoint, bool) {
	var q [4]quadPoint
	small, sw, sh := cellGreys(g)
	if small == nil {
		return q, false
	}
	// Each side of the frame in turn: lines across it (a, from lo to hi)
	// walked in from its edge (c), the grey at each cell smoothed with
	// the cells beside it along the edge.
	type side struct {
		n, depth int                     // lines, and how far in to walk
		grey     func(a, c int) float64  // the grey at line a, c in from the frame's edge
		at       func(c float64) float64 // c in from the edge, in the frame's cells
	}
	cell := func(x, y int) float64 {
		x, y = min(max(x, 0), sw-1), min(max(y, 0), sh-1)
		return float64(small[y*sw+x])
	}
	sides := [4]side{
		{sw, sh / 2, func(a, c int) float64 { return (cell(a-1, c) + cell(a, c) + cell(a+1, c)) / 3 }, func(c float64) float64 { return c }},
		{sw, sh / 2, func(a, c int) float64 { return (cell(a-1, sh-1-c) + cell(a, sh-1-c) + cell(a+1, sh-1-c)) / 3 }, func(c float64) float64 { return float64(sh) - c }},
		{sh, sw / 2, func(a, c int) float64 { return (cell(c, a-1) + cell(c, a) + cell(c, a+1)) / 3 }, func(c float64) float64 { return c }},
		{sh, sw / 2, func(a, c int) float64 { return (cell(sw-1-c, a-1) + cell(sw-1-c, a) + cell(sw-1-c, a+1)) / 3 }, func(c float64) float64 { return float64(sw) - c }},
	}
	// step is where line a first rises edgeStep or more from a desk that
	// runs from the frame's edge (no brighter than the foot of the rise),
	// in cells from the edge and a part of one; -1 where it does not.
	step := func(s side, a int) float64 {
		outside := math.Inf(1)
		for c := 2; c+2 < s.depth; c++ {
			lo := (s.grey(a, c-2) + s.grey(a, c-1)) / 2
			hi := (s.grey(a, c+1) + s.grey(a, c+2)) / 2
			outside = math.Min(outside, s.grey(a, c-2))
			if hi-lo < edgeStep {
				continue
			}
			// The desk from the frame's edge to here, no paper: a page's
			// print's edge has paper outside it.
			desk := true
			for k := 0; k < c-1 && desk; k++ {
				desk = s.grey(a, k) <= lo+edgeStep/2
			}
			if !desk {
				return -1
			}
			// Where the grey crosses halfway from the desk before the
			// rise to the paper after it, between cell centres: the rise
			// is first seen at its foot, and a blurred edge spans cells.
			base, top := s.grey(a, c-2), hi
			for k := c + 1; k <= c+4 && k < s.depth; k++ {
				top = math.Max(top, s.grey(a, k))
			}
			mid := (base + top) / 2
			for k := c - 1; k <= c+4 && k < s.depth; k++ {
				if v, prev := s.grey(a, k), s.grey(a, k-1); v >= mid && v > prev {
					return float64(k) - 0.5 + (mid-prev)/(v-prev)
				}
			}
			return float64(c)
		}
		return -1
	}
	// Each edge fitted twice: on every line where it is found, allowing
	// the lines near the corners that meet a side of a turned page
	// instead; then between the corners the first fits make.
	var points [4][2][]float64
	var lines [4]edgeLine
	for i, s := range sides {
		for a := 1; a < s.n-1; a++ {
			if c := step(s, a); c >= 0 {
				points[i][0] = append(points[i][0], float64(a)+0.5)
				points[i][1] = append(points[i][1], s.at(c))
			}
		}
		l, ok := fitEdgeWith(points[i][0], points[i][1], 0.5, math.Inf(1))
		if !ok {
			return q, false
		}
		lines[i] = l
	}
	q, ok := quadCorners(lines[0], lines[1], lines[2], lines[3])
	if !ok {
		return q, false
	}
	// Between the corners: the top from the top left's x to the top
	// right's, the right side from the top right's y to the bottom
	// right's, and so on.
	spans := [4][2]float64{{q[0].x, q[1].x}, {q[3].x, q[2].x}, {q[0].y, q[3].y}, {q[1].y, q[2].y}}
	for i := range sides {
		lo, hi := spans[i][0], spans[i][1]
		lo, hi = lo+(hi-lo)/10, hi-(hi-lo)/10
		var xs, ys []float64
		for j, a := range points[i][0] {
			if a >= lo && a <= hi {
				xs, ys = append(xs, a), append(ys, points[i][1][j])
			}
		}
		// The step is smaller than a dark desk's, its place less sure.
		l, ok := fitEdgeWith(xs, ys, 0.8, 1)
		if !ok {
			return q, false
		}
		lines[i] = l
	}
	if q, ok = quadCorners(lines[0], lines[1], lines[2], lines[3]); !ok {
		return q, false
	}
	area, ok := quadArea(q, sw, sh)
	if frame := float64(sw * sh); !ok || area < edgeMinArea*frame || area > edgeMaxArea*frame {
		return q, false
	}
	ratio := (pointDist(q[0], q[3]) + pointDist(q[1], q[2])) / (pointDist(q[0], q[1]) + pointDist(q[3], q[2]))
	if math.Abs(ratio/math.Sqrt2-1) > edgeA4 && math.Abs(ratio*math.Sqrt2-1) > edgeA4 {
		return q, false
	}
	return inPixels(q), true
}
