package parser

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// boxRead is one value box of a registered page: cut out, turned
// straight, and read by Tesseract with the other boxes of the scan.
type boxRead struct {
	pg    *ocrPage
	box   *ocrTemplateBox
	spec  FieldSpec
	crop  *image.Gray     // the box's inside, straightened, padded white
	rect  image.Rectangle // the box on the page, in pixels
	label image.Rectangle // its label on the page, for the crop
	text  string
	conf  float64 // 0..1
}

// Cutting boxes out.
const (
	boxInset = 1.0 // points inside the printed box's border
	boxPad   = 10  // white pixels around a cut box: Tesseract wants a margin
)

// mapRect is a template rectangle on the page, in pixels: the bounds of
// its corners under the fit, corrected at its centre.
func (f *ocrFit) mapRect(r [4]float64) image.Rectangle {
	cx, cy := f.correction((r[0]+r[2])/2, (r[1]+r[3])/2)
	out := image.Rectangle{}
	for i, p := range [4][2]float64{{r[0], r[1]}, {r[2], r[1]}, {r[0], r[3]}, {r[2], r[3]}} {
		x, y := f.apply(p[0], p[1])
		q := image.Rect(int(math.Floor(x+cx)), int(math.Floor(y+cy)), int(math.Ceil(x+cx))+1, int(math.Ceil(y+cy))+1)
		if i == 0 {
			out = q
		} else {
			out = out.Union(q)
		}
	}
	return out
}

// boxSearch is how far (points) around where the fit puts a value box
// its printed border is looked for. The fit can be further off than 6
// points for a box far from the labels it was fitted to: the top of a
// tall box low on a clean scan's first page was 7 points above where the
// fit put it, out of a 6-point search, so no border was found and the
// box was cut where the fit put it, through its first line of writing.
// At 8 points, of the OCR fixtures' 363 values (every field, not only
// the identifying ones), 306 read exactly right instead of 291 (10 and
// 12 points: 301 and 298); the identifying fields stay 56 of 56.
const boxSearch = 8.0

// boxLeft is how far (points) left of its widget a value box is cut.
const boxLeft = 8.0

// edgeSearch is how far (points) from where the fit puts a box's side
// its printed line is looked for.
const edgeSearch = 4.0

// boxGrow is how much taller (points) than its widget a printed value
// box may be.
const boxGrow = 6.0

// boxPerspective is the share of its height a printed box may lose or
// gain to a phone photo's perspective (one end of a page 3-6% smaller
// than the other).
const boxPerspective = 0.06

// cutBox samples a value box's inside from the page, straight, with a
// white margin around. The fit puts the box within a few points; the
// box's own printed border puts it exactly: a strip around it is cut
// straight by the fit, and the border's top and bottom lines (long rows
// of ink, found over a range of slopes, the turn the fit left) and its
// left and right edges say where the inside is. framed reports whether
// the border was found: its top and bottom, and a side.
func (pg *ocrPage) cutBox(f *ocrFit, r [4]float64) (_ *image.Gray, framed bool) {
	s := f.scale
	w, h := (r[2]-r[0])*s, (r[3]-r[1])*s
	if w <= 0 || h <= 0 || w*h > 4<<20 {
		return nil, false
	}
	cx, cy := f.correction((r[0]+r[2])/2, (r[1]+r[3])/2)
	// at maps a point of the strip (pixels from the rectangle's top left
	// at the fit's scale) to the page.
	at := func(u, v float64) (float64, float64) {
		x, y := f.apply(r[0]+u/s, r[1]+v/s)
		return x + cx, y + cy
	}
	b := pg.img.Bounds()
	m := boxSearch * s
	sw, sh := int(w+2*m), int(h+2*m)
	grey := make([]uint8, sw*sh)
	var hist [256]int
	for v := range sh {
		for u := range sw {
			x, y := at(float64(u)-m+0.5, float64(v)-m+0.5)
			g := bilinear(pg.img, b, x-0.5, y-0.5).Y
			grey[v*sw+u] = g
			hist[g]++
		}
	}
	// Ink is what is well darker than the paper (a scan's grey, a
	// photo's shadow): a thin printed rule, blurred, is lighter than text.
	paper, n := 255, 0
	for g := 255; g >= 0; g-- {
		if n += hist[g]; n*2 >= len(grey) {
			paper = g
			break
		}
	}
	ink := uint8(max(0, paper*3/4))
	strip := make([]bool, sw*sh)
	for i, g := range grey {
		strip[i] = g < ink
	}
	// The slope that makes the border's lines rows: the one whose
	// strongest row holds the most ink.
	// Without a border found, the widget and a little more: the printed
	// box around it, its lines taken out below.
	bestK, bestTop, bestBot := 0.0, m-(boxGrow/2-boxInset)*s, m+h+(boxGrow/2-boxInset)*s
	bestScore := -1
	rows := make([]int, sh)
	uc := float64(sw) / 2
	for step := -12; step <= 12; step++ {
		k := float64(step) * 0.004
		clear(rows)
		for v := range sh {
			for u := range sw {
				if strip[v*sw+u] {
					if rv := int(math.Round(float64(v) - k*(float64(u)-uc))); rv >= 0 && rv < sh {
						rows[rv]++
					}
				}
			}
		}
		// The border's top and bottom: two long rows of ink about the
		// box's height apart. The printed box is a little larger than
		// the widget (the form draws it around the field), the table's
		// rules around it further apart still; a phone photo's
		// perspective makes it a few percent smaller or larger than the
		// fit's scale says where the page is further from or nearer to
		// the camera (boxPerspective): without that, the border pair was
		// not allowed there, and the dense row of a first line of text
		// was taken for the top or the foot, the line cut in half.
		for t := 0; t <= int(2*m); t++ {
			if float64(rows[t]) < 0.4*w {
				continue
			}
			for bt := t + int(h*(1-boxPerspective)) - 2; bt < min(sh, t+int(h*(1+boxPerspective)+boxGrow*s)); bt++ {
				if float64(rows[bt]) < 0.4*w {
					continue
				}
				if sc := rows[t] + rows[bt]; sc > bestScore {
					bestScore, bestK, bestTop, bestBot = sc, k, float64(t), float64(bt)
				}
			}
		}
	}
	if bestScore >= 0 {
		// A printed box has sides where its top and bottom end; a
		// table's row (the form typed into Word, laid out otherwise)
		// has a rule above and below every cell, and sides only where
		// its columns happen to be.
		top, bot := int(bestTop)+2, int(bestBot)-2
		for _, x := range []float64{m, m + w} {
			best := 0
			for u := max(0, int(x-edgeSearch*s)); u <= min(sw-1, int(x+edgeSearch*s)); u++ {
				n := 0
				for v := top; v < bot; v++ {
					if rv := int(math.Round(float64(v) + bestK*(float64(u)-uc))); rv >= 0 && rv < sh && strip[rv*sw+u] {
						n++
					}
				}
				best = max(best, n)
			}
			if bot > top && float64(best) >= 0.8*float64(bot-top) {
				framed = true
			}
		}
	}
	// Left and right: where the fit puts them, wider on the left by
	// boxLeft. A search for the border's columns, as for its rows, took
	// a letter's stroke for the edge; a low-resolution scan's fit can be
	// a few points off across, and what the wider cut catches of the
	// border and the table's rule clearRules takes out.
	left, right := m-boxLeft*s+boxInset*s, m+w-(boxInset-0.5)*s
	in := boxInset * s
	x0, x1, y0, y1 := left-in, right+in, bestTop+in, bestBot-in
	ow, oh := int(x1-x0), int(y1-y0)
	if ow <= 0 || oh <= 0 {
		return nil, false
	}
	out := image.NewGray(image.Rect(0, 0, ow+2*boxPad, oh+2*boxPad))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for v := range oh {
		for u := range ow {
			su, sv := x0+float64(u)+0.5, y0+float64(v)+0.5
			// Undo the turn found: the strip's row sv at column su.
			sv += bestK * (su - uc)
			x, y := at(su-m, sv-m)
			out.SetGray(u+boxPad, v+boxPad, bilinear(pg.img, b, x-0.5, y-0.5))
		}
	}
	inner := image.Rect(boxPad, boxPad, boxPad+ow, boxPad+oh)
	clearRules(out, inner)
	whiten(out, paper)
	// What is left of the border (a side the cut caught, slanted or
	// blurred past clearRules) is read as "|" or as a letter's stroke.
	clearLines(out, inner, false)
	return whitenTrim(out, 255), framed
}

// whitenTrim makes a cut box's paper white (a scan's grey, a photo's
// shadow: Tesseract reads its speckle as letters) and trims the empty
// paper right of the writing: on a wide box with a short value, Tesseract
// in single-line mode otherwise reads the blank rest as "ee ee" and the
// value with it garbled.
func whitenTrim(g *image.Gray, paper int) *image.Gray {
	whiten(g, paper)
	b := g.Bounds()
	last := -1
	for x := b.Min.X; x < b.Max.X; x++ {
		n := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if g.Pix[(y-b.Min.Y)*g.Stride+(x-b.Min.X)] < tickDark {
				n++
			}
		}
		if n >= 2 {
			last = x
		}
	}
	right := min(b.Max.X, last+3*boxPad)
	if last < 0 || right >= b.Max.X {
		return g
	}
	return g.SubImage(image.Rect(b.Min.X, b.Min.Y, right, b.Max.Y)).(*image.Gray)
}

// whiten scales a cut's grey levels so that its paper is white.
func whiten(g *image.Gray, paper int) {
	paper = max(paper, 64)
	if paper >= 255 {
		return
	}
	for i, p := range g.Pix {
		g.Pix[i] = uint8(min(255, int(p)*255/paper))
	}
}

// lineInk is the grey below which a whitened cut's pixel belongs to a
// line being cleared: a printed rule's blurred grey edge too, which
// Tesseract reads as "|" when only its core is taken out.
const lineInk = 200

// peak is the index in [lo, hi) of the largest count, and the count.
func peak(xs []int, lo, hi int) (int, int) {
	lo, hi = max(0, lo), min(len(xs), hi)
	best, n := lo, -1
	for i := lo; i < hi; i++ {
		if xs[i] > n {
			best, n = i, xs[i]
		}
	}
	return best, max(n, 0)
}

// bilinear samples the grey image between pixels; white off the page.
func bilinear(img *image.Gray, b image.Rectangle, x, y float64) color.Gray {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		if x < b.Min.X || y < b.Min.Y || x >= b.Max.X || y >= b.Max.Y {
			return 255
		}
		return float64(img.Pix[(y-b.Min.Y)*img.Stride+(x-b.Min.X)])
	}
	v := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
	return color.Gray{Y: uint8(math.Round(v))}
}

// clearRules whitens the rows and columns of r that are mostly ink: a
// box's border that the cut caught, which OCR reads as | or _.
//
// A row of text can be mostly ink too: the tops of a long line's small
// letters, thickened by a phone photo's blur, ran over half the width,
// and the row cleared cut the line in two, which Tesseract read as two
// lines of half-letters ("FSYCNOUC SYMPLOMS" for "Psychotic symptoms").
// A band of rows over half ink is a rule when it is nearly solid (a
// straight border) or when there is paper on both its sides (ruleSide
// rows away: a border a little slanted, a thin band); one with letters
// on a side is the top or foot of a line of text.
func clearRules(g *image.Gray, r image.Rectangle) {
	frac := make([]float64, r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		n := 0
		for x := r.Min.X; x < r.Max.X; x++ {
			if g.Pix[y*g.Stride+x] < tickDark {
				n++
			}
		}
		frac[y-r.Min.Y] = float64(n) / float64(r.Dx())
	}
	at := func(i int) float64 {
		if i < 0 || i >= len(frac) {
			return 0
		}
		return frac[i]
	}
	for a := 0; a < len(frac); {
		if frac[a] <= 0.5 {
			a++
			continue
		}
		b := a
		for b+1 < len(frac) && frac[b+1] > 0.5 {
			b++
		}
		dense := slices.Max(frac[a : b+1])
		if dense > solidRule || at(a-ruleSide) < textInk && at(b+ruleSide) < textInk {
			for y := r.Min.Y + a; y <= r.Min.Y+b; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					g.Pix[y*g.Stride+x] = 255
				}
			}
		}
		a = b + 1
	}
	for x := r.Min.X; x < r.Max.X; x++ {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if g.Pix[y*g.Stride+x] < tickDark {
				n++
			}
		}
		if n*3 > r.Dy()*2 {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				g.Pix[y*g.Stride+x] = 255
			}
		}
	}
}

// ruleSide is how many rows beside a dense band clearRules looks for
// paper, and textInk the share of ink there that is letters, not paper:
// a line's letters are 28-43% ink across it in a phone photo of a long
// typed answer, a rule's sides a few percent (a scan's speckle).
const (
	ruleSide  = 3
	textInk   = 0.2
	solidRule = 0.8 // a row so inked is a rule whatever is beside it
)

// blank says a cut box has no writing: a few dark specks at most.
func blank(g *image.Gray) bool {
	n := 0
	for _, p := range g.Pix {
		if p < tickDark {
			n++
		}
	}
	return n < max(12, len(g.Pix)/500)
}

// median3 is the 3×3 median of a grey image: speckle from a scanner or
// a camera taken out before a box is read again.
func median3(g *image.Gray) *image.Gray {
	b := g.Bounds()
	out := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		copy(out.Pix[(y-b.Min.Y)*out.Stride:], g.Pix[(y-b.Min.Y)*g.Stride:(y-b.Min.Y)*g.Stride+b.Dx()])
	}
	var win [9]uint8
	for y := b.Min.Y + 1; y < b.Max.Y-1; y++ {
		for x := b.Min.X + 1; x < b.Max.X-1; x++ {
			i := 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					win[i] = g.Pix[(y+dy-b.Min.Y)*g.Stride+(x+dx-b.Min.X)]
					i++
				}
			}
			s := win
			slices.Sort(s[:])
			out.Pix[(y-b.Min.Y)*out.Stride+(x-b.Min.X)] = s[4]
		}
	}
	return out
}

// inkedAt is the share of ink in the middle half of a template tick
// box, away from its outline. The box is where the fit puts it, moved
// (by at most optionSearch points) to where the most ink lies on its
// printed square, as optionInks finds a row of option buttons: a fit a
// few points off (a photo's turn, pinned by labels in one column) put the
// middle half of an empty box on its own outline, read as a tick.
func (pg *ocrPage) inkedAt(f *ocrFit, r [4]float64) float64 {
	box := f.mapRect(r)
	if box.Empty() {
		return 0
	}
	// The square's outline: points from 0.8 to 1.08 of its half size
	// from its centre, in the larger of the two directions.
	cx, cy := float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2
	hw, hh := float64(box.Dx())/2, float64(box.Dy())/2
	var ring, inside []image.Point
	for y := int(math.Floor(-1.08 * hh)); y <= int(math.Ceil(1.08*hh)); y++ {
		for x := int(math.Floor(-1.08 * hw)); x <= int(math.Ceil(1.08*hw)); x++ {
			switch d := math.Max(math.Abs(float64(x)+0.5)/hw, math.Abs(float64(y)+0.5)/hh); {
			case d <= 0.5:
				inside = append(inside, image.Pt(int(cx)+x, int(cy)+y))
			case d >= 0.8 && d <= 1.08:
				ring = append(ring, image.Pt(int(cx)+x, int(cy)+y))
			}
		}
	}
	if len(inside) == 0 {
		return 0
	}
	at := pg.outlineOffset(ring, f.scale)
	return float64(pg.darkAt(inside, at)) / float64(len(inside))
}

// darkAt counts the points of pts, moved by off, that are ink on the page.
func (pg *ocrPage) darkAt(pts []image.Point, off image.Point) int {
	img, bounds := pg.img, pg.img.Bounds()
	n := 0
	for _, p := range pts {
		if q := p.Add(off); q.In(bounds) && img.Pix[img.PixOffset(q.X, q.Y)] < tickDark {
			n++
		}
	}
	return n
}

// outlineOffset is how far (at most optionSearch points) from where the
// fit puts them a mark's printed outline points lie: the move that puts
// the most ink on them, ties going to the move nearest the fit's. A tick
// box's square and a row of option buttons' rings are read there.
func (pg *ocrPage) outlineOffset(outline []image.Point, scale float64) image.Point {
	search := int(math.Round(optionSearch * scale))
	best, bestN := image.Point{}, pg.darkAt(outline, image.Point{})
	for dy := -search; dy <= search; dy++ {
		for dx := -search; dx <= search; dx++ {
			d := image.Pt(dx, dy)
			if n := pg.darkAt(outline, d); n > bestN || n == bestN && dx*dx+dy*dy < best.X*best.X+best.Y*best.Y {
				best, bestN = d, n
			}
		}
	}
	return best
}

// templateBoxes cuts a registered page's text boxes out for reading, and
// reads its tick boxes and options from their ink. shows is whether the
// page shows the template's boxes where the fit puts them (showsTemplate).
func (pg *ocrPage) templateBoxes() (reads []*boxRead, shows bool) {
	framed, textBoxes := 0, 0
	pg.fields = map[string]OCRField{}
	pg.values = map[string]string{}
	options := map[string][]*ocrTemplateBox{}
	for i := range pg.tpl.boxes {
		b := &pg.tpl.boxes[i]
		switch b.typ {
		case ocrBoxOption:
			options[b.field] = append(options[b.field], b)
			continue
		case ocrBoxTick:
			pg.readTemplateTick(b)
			continue
		}
		spec, _ := Spec(pg.tpl.kind, b.field)
		br := &boxRead{pg: pg, box: b, spec: spec, rect: pg.fit.mapRect(b.rect), label: pg.fit.mapRect(b.label)}
		if b.label == ([4]float64{}) {
			br.label = image.Rectangle{}
		}
		pg.values[b.field] = ""
		var isFramed bool
		if br.crop, isFramed = pg.cutBox(pg.fit, b.rect); isFramed {
			framed++
		}
		textBoxes++
		if br.crop == nil || blank(br.crop) {
			// A required date, number or name found blank may be a box
			// cut a line off: it is looked for again (rereadPoorBoxes).
			if spec.Required && decisive(spec) {
				br.crop = nil
				reads = append(reads, br)
			}
			continue
		}
		reads = append(reads, br)
	}
	for _, name := range slices.Sorted(maps.Keys(options)) {
		pg.readTemplateOptions(name, options[name])
	}
	return reads, showsTemplate(framed, textBoxes)
}

// minFramedShare is the share of a registered page's text boxes that
// must show their printed border where the fit puts them. On the scans,
// faxes and photos of the form at least 11 in 15 do; on the form typed
// into Word and printed, whose labels fit the form's as well (27 of a
// consent page's 29), none does: its table's rows are rules above and
// below, with the sides elsewhere.
const minFramedShare = 0.5

// showsTemplate reports whether a page, registered by its labels, also
// shows the template's boxes (framed of its textBoxes): whether it is
// that form, not another laid out with the same labels.
func showsTemplate(framed, textBoxes int) bool {
	return float64(framed) >= minFramedShare*float64(textBoxes)
}

// unregister undoes registerPage and templateBoxes: the page is read
// whole.
func (pg *ocrPage) unregister() {
	pg.tpl, pg.fit, pg.fields, pg.values = nil, nil, nil, nil
}

// readTemplateTick reads a check box from its ink: ticked is "Yes",
// unticked blank, as on a filled PDF form.
func (pg *ocrPage) readTemplateTick(b *ocrTemplateBox) {
	r := pg.inkedAt(pg.fit, b.rect)
	box := pg.fit.mapRect(b.rect)
	fl := OCRField{Page: pg.index + 1, Tick: true, Box: rectBox(box), label: pg.fit.mapRect(b.label)}
	fl.Text, fl.Confidence = tickValue(r, b.export)
	pg.setField(b.field, fl.Text, fl)
}

// readTemplateOptions reads a yes/no field from its options' circles:
// the one marked, by far the more inked.
func (pg *ocrPage) readTemplateOptions(name string, opts []*ocrTemplateBox) {
	var all image.Rectangle
	best, second := -1, -1
	inks := pg.optionInks(opts)
	for i, b := range opts {
		all = all.Union(pg.fit.mapRect(b.rect))
		switch {
		case best < 0 || inks[i] > inks[best]:
			best, second = i, best
		case second < 0 || inks[i] > inks[second]:
			second = i
		}
	}
	if best < 0 {
		return
	}
	hi, lo := inks[best], 0.0
	if second >= 0 {
		lo = inks[second]
	}
	fl := OCRField{Page: pg.index + 1, Tick: true, Box: rectBox(all), label: pg.fit.mapRect(opts[0].label)}
	fl.Confidence = math.Round(100*math.Min(1, (hi-lo)/(2*tickInked))) / 100
	v := ""
	switch {
	case hi < tickInked:
		fl.Confidence = 1 - math.Round(100*hi/tickInked)/100
	case hi > 1.5*lo:
		v = opts[best].export
	default:
		v = "Yes and No both marked"
	}
	fl.Text = v
	pg.setField(name, v, fl)
}

// optionInks is how much of each option button's inside is inked. The
// buttons of one field are small (10 points) and in one row, so a fit a
// few points off (as it is far from the labels it was made from) puts
// their insides on a button's ring and the letters beside it: every
// option of a clean scan's Yes/No questions read as marked, or none. The
// row's offset is found first, as the one that puts the most ink on the
// buttons' printed rings, and the insides are read there.
func (pg *ocrPage) optionInks(opts []*ocrTemplateBox) []float64 {
	type button struct {
		cx, cy, r float64
	}
	var bs []button
	for _, b := range opts {
		m := pg.fit.mapRect(b.rect)
		bs = append(bs, button{float64(m.Min.X+m.Max.X) / 2, float64(m.Min.Y+m.Max.Y) / 2, float64(min(m.Dx(), m.Dy())) / 2})
	}
	// Each button's ring (0.75 to 1.05 of its radius), the row's outline.
	var rings []image.Point
	for _, b := range bs {
		r := int(math.Ceil(1.05 * b.r))
		for y := -r; y <= r; y++ {
			for x := -r; x <= r; x++ {
				if d := math.Hypot(float64(x), float64(y)); d >= 0.75*b.r && d <= 1.05*b.r {
					rings = append(rings, image.Pt(int(b.cx)+x, int(b.cy)+y))
				}
			}
		}
	}
	at := pg.outlineOffset(rings, pg.fit.scale)
	inks := make([]float64, len(bs))
	for i, b := range bs {
		var inside []image.Point
		r := int(0.55 * b.r)
		for y := -r; y <= r; y++ {
			for x := -r; x <= r; x++ {
				if math.Hypot(float64(x), float64(y)) <= 0.55*b.r {
					inside = append(inside, image.Pt(int(b.cx)+x, int(b.cy)+y))
				}
			}
		}
		if len(inside) > 0 {
			inks[i] = float64(pg.darkAt(inside, at)) / float64(len(inside))
		}
	}
	return inks
}

// optionSearch is how far (points) around where the fit puts an option
// button's row (or a tick box) its printed rings (or square) are looked
// for. At 6, a photo tilted back 8% (the page's top that much narrower)
// had two Yes/No questions' rows out of reach; the buttons of a row are
// 20 points apart and the rows 16, so 8 finds no neighbour's.
const optionSearch = 8.0

// setField records a field read from the template's box, with the crop
// a coordinator confirms it by.
func (pg *ocrPage) setField(name, v string, fl OCRField) {
	fl.Crop = pg.crop(fl.Box, fl.label)
	fl.label = image.Rectangle{}
	pg.values[name] = v
	if v != "" || fl.Tick {
		pg.fields[name] = fl
	}
}

func rectBox(r image.Rectangle) [4]int { return [4]int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} }

// readBoxes reads cut boxes with one Tesseract process per page
// segmentation mode: single lines as a line (psm 7), several lines as a
// block (psm 6). The boxes are listed in a file, each image a page of
// Tesseract's output: one process start and one model load for all of
// them, not one per box.
func (o *OCR) readBoxes(ctx context.Context, dir, tag string, reads []*boxRead) error {
	for _, mode := range []struct {
		psm   string
		block bool
	}{{"7", false}, {"6", true}} {
		var batch []*boxRead
		for _, br := range reads {
			if br.crop != nil && (br.box.typ == ocrBoxBlock) == mode.block {
				batch = append(batch, br)
			}
		}
		if len(batch) == 0 {
			continue
		}
		var list strings.Builder
		for i, br := range batch {
			p := filepath.Join(dir, fmt.Sprintf("%s-box-%s-%03d.png", tag, mode.psm, i))
			if err := writePNG(p, br.crop); err != nil {
				return err
			}
			list.WriteString(p + "\n")
		}
		lp := filepath.Join(dir, fmt.Sprintf("%s-boxes-%s.txt", tag, mode.psm))
		if err := os.WriteFile(lp, []byte(list.String()), 0o600); err != nil {
			return fmt.Errorf("ocr: %w", err)
		}
		dpi := int(math.Round(batch[0].pg.fit.scale * 72))
		out, err := o.tesseract(ctx, lp, "--dpi", strconv.Itoa(dpi), "--psm", mode.psm, "-l", "eng", "-c", "tessedit_do_invert=0", "tsv")
		if err != nil {
			return err
		}
		words := parseTSV(out)
		for i, br := range batch {
			br.text, br.conf = joinWords(words, func(w ocrWord) bool { return w.page == i })
		}
	}
	return nil
}

func writePNG(path string, g *image.Gray) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ocr: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	err = enc.Encode(w, g)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ocr: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// decisive says a field read poorly sends its page to be read whole: a
// date, an NHS number or a choice the rules check, or the child's name.
// Free text a coordinator reads beside its crop anyway (a reason, the
// needs) is kept as its box read it: the whole page reads it no better.
func decisive(spec FieldSpec) bool {
	switch spec.Type {
	case Date, NHSNumber, Choice:
		return true
	}
	switch spec.Name {
	case "cyp_first_names", "cyp_surname", "cyp_full_name":
		return true
	}
	return false
}

// readsPoorly says a box's value should be read again, speckle taken
// out: blank, not valid for its field, or not confidently read.
func (br *boxRead) readsPoorly() bool {
	v := fixOCRValue(br.spec, cleanOCRValue(br.text))
	if v == "" {
		return true
	}
	n, err := Normalise(br.spec, v)
	if err != nil {
		return true
	}
	if br.spec.Type == NHSNumber && len(n) != 10 {
		return true // a number cut short (its first digits lost at the box's edge)
	}
	return br.conf < OCRMinConfidence
}

// readTemplateBoxes reads the text boxes of the scan's registered pages:
// all of them in one pass, then the decisive ones that read poorly again
// from a median-filtered cut (scanner and camera speckle), keeping the
// better read of the two.
func (o *OCR) readTemplateBoxes(ctx context.Context, dir string, reads []*boxRead) error {
	if len(reads) == 0 {
		return nil
	}
	if err := o.readBoxes(ctx, dir, "a", reads); err != nil {
		return err
	}
	var again []*boxRead
	var firsts []boxRead
	for _, br := range reads {
		if br.crop != nil && br.readsPoorly() && decisive(br.spec) {
			firsts = append(firsts, *br)
			br.crop = median3(br.crop)
			again = append(again, br)
		}
	}
	if len(again) > 0 {
		if err := o.readBoxes(ctx, dir, "m", again); err != nil {
			return err
		}
		for i, br := range again {
			first := firsts[i]
			if better(&first, br) {
				br.text, br.conf = first.text, first.conf
			}
		}
	}
	if err := o.rereadPoorBoxes(ctx, dir, reads); err != nil {
		return err
	}
	poorBoxes, inked := map[*ocrPage]int{}, map[*ocrPage]int{}
	for _, br := range reads {
		if decisive(br.spec) {
			inked[br.pg]++
			if br.poorlyDecisive() {
				poorBoxes[br.pg]++
			}
		}
	}
	for pg, n := range poorBoxes {
		// Most of a page's decisive boxes reading poorly after every
		// re-read is a page registered a line off (or handwriting): it is
		// read whole. One or two are read as well as they can be.
		if n >= minPoorBoxes && 2*n > inked[pg] {
			pg.poor = true
		}
	}
	for _, br := range reads {
		v := fixOCRValue(br.spec, cleanOCRValue(br.text))
		fl := OCRField{Page: br.pg.index + 1, Text: v, Confidence: math.Round(100*br.conf) / 100, Box: rectBox(br.rect), label: br.label}
		br.pg.setField(br.box.field, v, fl)
	}
	return nil
}

// minPoorBoxes is how many decisive boxes of a page must still read
// poorly, and more than half of those with writing, for the page to be
// read whole.
const minPoorBoxes = 3

// poorlyDecisive says a decisive box read poorly: a box with ink that
// read as nothing counts only for a required field (an optional date's
// empty box on a fax has speckle, not a value).
func (br *boxRead) poorlyDecisive() bool {
	if !decisive(br.spec) || !br.readsPoorly() {
		return false
	}
	return br.spec.Required || fixOCRValue(br.spec, cleanOCRValue(br.text)) != ""
}

// rereadPoorBoxes reads the decisive boxes that still read poorly from
// what else there is of them, keeping the best read: the page's half-size
// read (its words inside the box, free), and a wider cut around the box
// (its printed border not looked for, a little more on every side: a
// value cut at the border, a fit a few points off), all in one more
// Tesseract process per mode. This replaces reading the whole page again
// (deskew, two whole-page reads) for a page with a box or two read poorly.
func (o *OCR) rereadPoorBoxes(ctx context.Context, dir string, reads []*boxRead) error {
	var wide []*boxRead
	var firsts []boxRead
	for _, br := range reads {
		if !br.poorlyDecisive() {
			continue
		}
		if t, c := br.pg.wordsIn(br.wideRect()); t != "" {
			alt := *br
			alt.text, alt.conf = t, c
			if better(&alt, br) {
				br.text, br.conf = t, c
			}
		}
		if !br.poorlyDecisive() {
			continue
		}
		crop := br.pg.cutWide(br.pg.fit, br.box.rect)
		if crop == nil || blank(crop) {
			continue
		}
		firsts = append(firsts, *br)
		br.crop = crop
		wide = append(wide, br)
	}
	if len(wide) == 0 {
		return nil
	}
	if err := o.readBoxes(ctx, dir, "w", wide); err != nil {
		return err
	}
	for i, br := range wide {
		if first := firsts[i]; better(&first, br) {
			br.text, br.conf = first.text, first.conf
		}
	}
	return nil
}

// Wider cuts of a box read poorly, in points beyond its widget.
const (
	wideLeft  = 12.0
	wideRight = 3.0
	wideY     = 4.0
)

// wideRect is the box on the page with the wider cut's margins.
func (br *boxRead) wideRect() image.Rectangle {
	r := br.box.rect
	return br.pg.fit.mapRect([4]float64{r[0] - wideLeft, r[1] - wideY, r[2] + wideRight, r[3] + wideY})
}

// wordsIn is what the page's half-size read has inside r: its words
// whose middles are in r, line by line, and their mean confidence.
func (pg *ocrPage) wordsIn(r image.Rectangle) (string, float64) {
	return joinWords(pg.words, func(w ocrWord) bool { return image.Pt((w.x0+w.x1)/2, (w.y0+w.y1)/2).In(r) })
}

// joinWords is the text of the words keep accepts, a line of Tesseract's
// a line of text, and their mean confidence (0 to 1; 0 for no words).
func joinWords(words []ocrWord, keep func(ocrWord) bool) (string, float64) {
	var lines []string
	var sum float64
	n, line := 0, -1
	for _, w := range words {
		if !keep(w) {
			continue
		}
		if w.line != line || len(lines) == 0 {
			lines = append(lines, w.text)
			line = w.line
		} else {
			lines[len(lines)-1] += " " + w.text
		}
		sum += w.conf
		n++
	}
	if n == 0 {
		return "", 0
	}
	return strings.Join(lines, "\n"), sum / float64(n) / 100
}

// cutWide samples a box and a margin around it straight from the page by
// the fit alone, its border lines taken out: the second look at a box
// whose cut by its border read poorly.
func (pg *ocrPage) cutWide(f *ocrFit, r [4]float64) *image.Gray {
	r = [4]float64{r[0] - wideLeft, r[1] - wideY, r[2] + wideRight, r[3] + wideY}
	s := f.scale
	w, h := int((r[2]-r[0])*s), int((r[3]-r[1])*s)
	if w <= 0 || h <= 0 || w*h > 4<<20 {
		return nil
	}
	cx, cy := f.correction((r[0]+r[2])/2, (r[1]+r[3])/2)
	b := pg.img.Bounds()
	out := image.NewGray(image.Rect(0, 0, w+2*boxPad, h+2*boxPad))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	var hist [256]int
	for v := range h {
		for u := range w {
			x, y := f.apply(r[0]+(float64(u)+0.5)/s, r[1]+(float64(v)+0.5)/s)
			g := bilinear(pg.img, b, x+cx-0.5, y+cy-0.5)
			out.SetGray(u+boxPad, v+boxPad, g)
			hist[g.Y]++
		}
	}
	paper, n := 255, 0
	for g := 255; g >= 0; g-- {
		if n += hist[g]; n*2 >= w*h {
			paper = g
			break
		}
	}
	inner := image.Rect(boxPad, boxPad, boxPad+w, boxPad+h)
	whiten(out, paper)
	clearRules(out, inner)
	clearLines(out, inner, true)
	return whitenTrim(out, 255)
}

// clearLines whitens the ink that is no writing: long thin parts (the
// printed box's border, which clearRules misses where the page is not
// quite straight) and, with edges, what touches the cut's edges (the
// table's rules, a neighbouring line's letters, on a wider cut). Letters
// are small parts inside. The cut must be whitened (paper 255).
func clearLines(g *image.Gray, r image.Rectangle, edges bool) {
	w := r.Dx()
	seen := make([]bool, w*r.Dy())
	var part, stack []image.Point
	for y0 := r.Min.Y; y0 < r.Max.Y; y0++ {
		for x0 := r.Min.X; x0 < r.Max.X; x0++ {
			i := (y0-r.Min.Y)*w + (x0 - r.Min.X)
			if seen[i] || g.Pix[y0*g.Stride+x0] >= lineInk {
				continue
			}
			var bb image.Rectangle
			part, stack, bb = inkPart(g, r, seen, image.Pt(x0, y0), lineInk, part[:0], stack)
			edge := edges && (bb.Min.X == r.Min.X || bb.Min.Y == r.Min.Y || bb.Max.X == r.Max.X || bb.Max.Y == r.Max.Y)
			long := bb.Dx()*2 > w || bb.Dy()*5 > r.Dy()*4
			if edge || long {
				for _, p := range part {
					g.Pix[p.Y*g.Stride+p.X] = 255
				}
			}
		}
	}
}

// inkPart is the part of ink (pixels darker than dark, 8-connected,
// within r) that holds seed, which the caller has found unseen and dark;
// seen (r's pixels, row by row) marks what is taken. part and stack are
// the caller's to reuse; part gets the pixels, and bb is their bounds.
func inkPart(g *image.Gray, r image.Rectangle, seen []bool, seed image.Point, dark uint8, part, stack []image.Point) (_, _ []image.Point, bb image.Rectangle) {
	w := r.Dx()
	seen[(seed.Y-r.Min.Y)*w+(seed.X-r.Min.X)] = true
	stack = append(stack[:0], seed)
	bb = image.Rect(seed.X, seed.Y, seed.X+1, seed.Y+1)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		part = append(part, p)
		bb = bb.Union(image.Rect(p.X, p.Y, p.X+1, p.Y+1))
		for _, d := range [8][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {1, -1}, {-1, 1}, {-1, -1}} {
			q := image.Pt(p.X+d[0], p.Y+d[1])
			if !q.In(r) {
				continue
			}
			j := (q.Y-r.Min.Y)*w + (q.X - r.Min.X)
			if seen[j] || g.Pix[g.PixOffset(q.X, q.Y)] >= dark {
				continue
			}
			seen[j] = true
			stack = append(stack, q)
		}
	}
	return part, stack, bb
}

// better says a is the better read of a box than b: valid where b is
// not, or as valid and more confident.
func better(a, b *boxRead) bool {
	va, vb := fixOCRValue(a.spec, cleanOCRValue(a.text)), fixOCRValue(b.spec, cleanOCRValue(b.text))
	_, ea := Normalise(a.spec, va)
	_, eb := Normalise(b.spec, vb)
	okA, okB := va != "" && ea == nil, vb != "" && eb == nil
	if okA != okB {
		return okA
	}
	return a.conf >= b.conf
}
