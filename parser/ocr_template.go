package parser

import (
	"cmp"
	"image"
	"math"
	"slices"
	"strings"
)

// ocrBoxType is how a template's value box is read.
type ocrBoxType int

const (
	ocrBoxLine   ocrBoxType = iota // one line of text (Tesseract psm 7)
	ocrBoxBlock                    // several lines (psm 6)
	ocrBoxTick                     // a check box: marked or not
	ocrBoxOption                   // one option of a radio group (its export value)
)

// ocrTemplate is one page of a blank DSR form: where its labels are
// printed and where its value boxes are, in points from the page's top
// left, as ocr_template_gen_test.go derives them from the fillable form.
type ocrTemplate struct {
	kind          FormKind
	page          int // 0-based page of the form
	width, height float64
	labels        []ocrTemplateLabel
	boxes         []ocrTemplateBox
}

// ocrTemplateLabel is a label printed once on the page: its left and
// right ends on its baseline.
type ocrTemplateLabel struct {
	key          string // labelKey of the text
	x0, x1, base float64
}

// ocrTemplateBox is one AcroForm widget: a field's value box, or one
// option of a yes/no field.
type ocrTemplateBox struct {
	field  string
	typ    ocrBoxType
	export string     // the option's value (a radio's "Yes"), or a tick's
	rect   [4]float64 // x0, y0, x1, y1
	label  [4]float64 // the label left of it on its row (zero: none)
}

// minRegisterLabels is how many of a template page's labels a scanned
// page must show, where the template puts them, to be that page.
const minRegisterLabels = 5

// minFollowLabels is how many labels suffice for the page that follows
// a registered page of the same form in one attachment (the consent's
// sparse second page shows a few labels only on a 150 dpi scan or a fax),
// when its fit's scale agrees with that page's.
const minFollowLabels = 3

// maxFollowScale is how far (a share) a following page's scale may be
// from its registered predecessor's.
const maxFollowScale = 0.03

// ocrFit maps a template page's points (from its top left) to the scan's
// pixels: a similarity transform fitted to the anchors found, and each
// anchor's residual, which corrects a box by its nearest anchors (a phone
// photo's perspective is not affine).
type ocrFit struct {
	a, b, c, d, e, f float64 // x' = a·x + b·y + c, y' = d·x + e·y + f
	anchors          []fitPair
	scale            float64 // pixels per point
}

// fitPair is one anchor point on the template and where the scan has it.
type fitPair struct {
	tx, ty, ix, iy float64
	rx, ry         float64 // residual after the fit
}

func (f *ocrFit) apply(x, y float64) (float64, float64) {
	return f.a*x + f.b*y + f.c, f.d*x + f.e*y + f.f
}

// correction is the residual to add at template point (x, y): the
// inverse-distance mean of the nearest anchors' residuals.
func (f *ocrFit) correction(x, y float64) (float64, float64) {
	type near struct{ d, rx, ry float64 }
	var ns []near
	for _, p := range f.anchors {
		ns = append(ns, near{math.Hypot(p.tx-x, p.ty-y), p.rx, p.ry})
	}
	slices.SortFunc(ns, func(a, b near) int { return cmp.Compare(a.d, b.d) })
	var sx, sy, sw float64
	for _, n := range ns[:min(4, len(ns))] {
		w := 1 / (n.d*n.d + 100)
		sx, sy, sw = sx+w*n.rx, sy+w*n.ry, sw+w
	}
	if sw == 0 {
		return 0, 0
	}
	return sx / sw, sy / sw
}

// maxAnchorResidual is how far (in points) a found anchor may be from
// where the fit puts it before it is taken for a misread one.
const maxAnchorResidual = 8.0

// maxAnchorCorrection is the furthest an anchor the fit did not take may
// be off and still correct the boxes near it.
const maxAnchorCorrection = 20.0

// fitSimilarity fits scale, turn and offset by least squares, dropping
// the worst anchor while it is off by more than maxAnchorResidual. A
// similarity, not a general affine transform: the anchors are mostly
// labels in one column, which pin a turn down but not a shear; what a
// phone photo's perspective adds, the anchors' residuals correct. ok is
// false when too few anchors agree or the transform is no plausible scan
// of an A4 page (scaled far off, turned more than a few degrees).
func fitSimilarity(pairs []fitPair, pxPerPt float64, minAnchors int) (*ocrFit, bool) {
	ps := slices.Clone(pairs)
	for len(ps) >= minAnchors {
		f, ok := solveSimilarity(ps)
		if !ok {
			return nil, false
		}
		worst, worstD := -1, 0.0
		for i := range ps {
			x, y := f.apply(ps[i].tx, ps[i].ty)
			ps[i].rx, ps[i].ry = ps[i].ix-x, ps[i].iy-y
			if d := math.Hypot(ps[i].rx, ps[i].ry); d > worstD {
				worst, worstD = i, d
			}
		}
		if worstD > maxAnchorResidual*pxPerPt {
			ps = slices.Delete(ps, worst, worst+1)
			continue
		}
		angle := math.Atan2(f.d, f.a) * 180 / math.Pi
		if f.scale < 0.7*pxPerPt || f.scale > 1.3*pxPerPt || math.Abs(angle) > 8 {
			return nil, false
		}
		// The anchors that correct boxes locally: those the fit agrees
		// with, and those a phone photo's perspective puts further off
		// but not so far as to be another line, when their neighbours
		// are off the same way.
		var far []fitPair
		for _, p := range pairs {
			x, y := f.apply(p.tx, p.ty)
			p.rx, p.ry = p.ix-x, p.iy-y
			if d := math.Hypot(p.rx, p.ry); d > maxAnchorResidual*pxPerPt && d <= maxAnchorCorrection*pxPerPt {
				far = append(far, p)
			}
		}
		all := append(slices.Clone(ps), far...)
		for _, p := range far {
			if agreesWithNeighbours(p, all, maxAnchorResidual*pxPerPt) {
				ps = append(ps, p)
			}
		}
		f.anchors = ps
		return f, true
	}
	return nil, false
}

// agreesWithNeighbours says whether anchor p is off as the anchors
// nearest it are (within tol pixels of their median residual): a
// perspective moves a part of the page together, a misread anchor alone.
// A label matched to a word of another line or column (the consent
// form's "Group" to a word 17 points to its right) was taken as
// perspective, and moved the tick boxes near it onto their outlines:
// an empty box read as ticked, both Yes and No read as marked.
func agreesWithNeighbours(p fitPair, all []fitPair, tol float64) bool {
	type near struct{ d, rx, ry float64 }
	var ns []near
	for _, q := range all {
		if q.tx == p.tx && q.ty == p.ty {
			continue
		}
		ns = append(ns, near{math.Hypot(q.tx-p.tx, q.ty-p.ty), q.rx, q.ry})
	}
	if len(ns) < 3 {
		return false
	}
	slices.SortFunc(ns, func(a, b near) int { return cmp.Compare(a.d, b.d) })
	ns = ns[:3]
	rx := []float64{ns[0].rx, ns[1].rx, ns[2].rx}
	ry := []float64{ns[0].ry, ns[1].ry, ns[2].ry}
	slices.Sort(rx)
	slices.Sort(ry)
	return math.Hypot(p.rx-rx[1], p.ry-ry[1]) <= tol
}

// solveSimilarity is the least-squares similarity transform of the pairs
// (Umeyama's closed form in two dimensions).
func solveSimilarity(ps []fitPair) (*ocrFit, bool) {
	var mtx, mty, mix, miy float64
	for _, p := range ps {
		mtx, mty, mix, miy = mtx+p.tx, mty+p.ty, mix+p.ix, miy+p.iy
	}
	n := float64(len(ps))
	mtx, mty, mix, miy = mtx/n, mty/n, mix/n, miy/n
	var sxx, sc, ss float64
	for _, p := range ps {
		x, y, u, v := p.tx-mtx, p.ty-mty, p.ix-mix, p.iy-miy
		sxx += x*x + y*y
		sc += x*u + y*v
		ss += x*v - y*u
	}
	if sxx < 1e-6 {
		return nil, false
	}
	a, b := sc/sxx, ss/sxx
	f := &ocrFit{a: a, b: -b, d: b, e: a, scale: math.Hypot(a, b)}
	f.c = mix - (a*mtx - b*mty)
	f.f = miy - (b*mtx + a*mty)
	return f, true
}

// registerPage finds the template page the scanned page is, by the
// anchors it shows where that page has them, and fits the page to it.
// nil when no template page fits: another form, or a page read too
// poorly to tell. prev is the attachment's page before, nil when none or
// not registered: the page of the form that follows it needs fewer
// anchors, at prev's scale.
func registerPage(pg *ocrPage, tpls []ocrTemplate, prev *ocrPage) (*ocrTemplate, *ocrFit) {
	// The page's chunks by key, those read once only.
	type seen struct {
		c *chunk
		n int
	}
	byKey := map[string]*seen{}
	for _, c := range pg.pt.chunks {
		k := labelKey(c.text)
		if s, ok := byKey[k]; ok {
			s.n++
			continue
		}
		byKey[k] = &seen{c: c, n: 1}
	}
	pxPerPt := float64(pg.w) / 595.0
	var best *ocrTemplate
	var bestFit *ocrFit
	weak := false // registered by the few anchors of a following page
	for i := range tpls {
		t := &tpls[i]
		var pairs []fitPair
		for _, a := range t.labels {
			var c *chunk
			if s, ok := byKey[a.key]; ok {
				if s.n > 1 {
					continue
				}
				c = s.c
			} else if c = fuzzyChunk(a.key, pg.pt.chunks); c == nil {
				continue
			}
			// The middle of the text on its baseline: OCR gives one
			// baseline for a line of words, true at its middle when the
			// page is turned.
			pairs = append(pairs, fitPair{tx: (a.x0 + a.x1) / 2, ty: a.base, ix: (c.x0 + c.x1) / 2 / pg.scale, iy: float64(pg.h) - c.base/pg.scale})
		}
		need := minRegisterLabels
		follows := prev != nil && prev.tpl != nil && prev.tpl.kind == t.kind && prev.tpl.page+1 == t.page
		if follows {
			need = minFollowLabels
		}
		if len(pairs) < need || (bestFit != nil && len(pairs) <= len(bestFit.anchors)) {
			continue
		}
		f, ok := fitSimilarity(pairs, pxPerPt, need)
		if ok && len(pairs) < minRegisterLabels && math.Abs(f.scale/prev.fit.scale-1) > maxFollowScale {
			ok = false
		}
		if ok && (bestFit == nil || len(f.anchors) > len(bestFit.anchors)) {
			best, bestFit, weak = t, f, len(pairs) < minRegisterLabels
		}
	}
	if bestFit != nil {
		// The rows' slope from the form's ruled lines, found in the
		// image; from the lines of text when it has too few.
		slope, ok := ruleSlope(pg.img)
		if !ok {
			slope, ok = pageTilt(pg.words, pxPerPt)
		}
		bestFit.tilt(slope, ok)
		if weak && ok {
			// A few labels in one column pin the page's turn down
			// poorly: a scan's columns stand square to its rows.
			bestFit.square(slope)
		}
	}
	return best, bestFit
}

// tilt makes the fit's rows slope as the page's lines of text do (dy/dx
// in pixels). The anchors, mostly labels in one column, measure how the
// page's columns lean; on a phone photo its rows lean otherwise
// (perspective), and a box's far end would be off by a line.
func (f *ocrFit) tilt(slope float64, ok bool) {
	if !ok {
		return
	}
	f.d = slope * f.a
	var sum float64
	for _, p := range f.anchors {
		sum += p.iy - f.d*p.tx - f.e*p.ty
	}
	f.f = sum / float64(len(f.anchors))
	f.residuals()
}

// residuals sets each anchor's distance from where the fit now puts it,
// which the boxes' corrections are made from.
func (f *ocrFit) residuals() {
	for i := range f.anchors {
		p := &f.anchors[i]
		x, y := f.apply(p.tx, p.ty)
		p.rx, p.ry = p.ix-x, p.iy-y
	}
}

// ruleSlope is the slope (dy/dx in pixels) of the page's long ruled
// lines: the table's rules and the value boxes' borders. Of the slopes
// within 6 degrees, the one whose projection of the ink on rows is
// sharpest (the greatest sum of squared row counts) is the rules', as
// long rows of ink dominate it. ok is false when no row holds a long
// line: a page without a table.
func ruleSlope(img *image.Gray) (float64, bool) { return ruleSlopeWithin(img, 0.1) }

// ruleSlopeWithin is ruleSlope over the slopes up to maxSlope either way.
func ruleSlopeWithin(img *image.Gray, maxSlope float64) (float64, bool) {
	if img == nil {
		return 0, false
	}
	b := img.Bounds()
	// Every other pixel of each row: the rules are long, and this is
	// half the work. (Not every other row: on a page that is straight,
	// half the rows would be empty, and their squares win.)
	type pt struct{ x, y int32 }
	var ink []pt
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):][:b.Dx()]
		for x := 0; x < len(row); x += 2 {
			if row[x] < tickDark {
				ink = append(ink, pt{int32(x), int32(y - b.Min.Y)})
			}
		}
	}
	if len(ink) == 0 {
		return 0, false
	}
	off := int(maxSlope*float64(b.Dx())) + 1
	rows := make([]int, b.Dy()+2*off)
	score := func(k float64) (int, int) {
		clear(rows)
		for _, p := range ink {
			rows[int(float64(p.y)-k*float64(p.x)+0.5)+off]++
		}
		sum, top := 0, 0
		for _, n := range rows {
			sum += n * n
			top = max(top, n)
		}
		return sum, top
	}
	best, bestScore, bestTop := 0.0, -1, 0
	try := func(k float64) {
		if sc, top := score(k); sc > bestScore {
			best, bestScore, bestTop = k, sc, top
		}
	}
	for k := -maxSlope; k <= maxSlope; k += 0.004 {
		try(k)
	}
	c := best
	for k := c - 0.004; k <= c+0.004; k += 0.0005 {
		try(k)
	}
	// A long line: a third of the page's width inked on one row (of
	// the pixels sampled, every other one).
	return best, bestTop*2*3 >= b.Dx()
}

// square makes the fit's columns lean as its rows slope (dy/dx in
// pixels), square to them, and refits its horizontal offset.
func (f *ocrFit) square(slope float64) {
	f.b = -slope * f.a
	var sum float64
	for _, p := range f.anchors {
		sum += p.ix - f.a*p.tx - f.b*p.ty
	}
	f.c = sum / float64(len(f.anchors))
	f.residuals()
}

// pageTilt is the median slope of the page's long lines of words, by
// their bottoms (dy/dx in pixels).
func pageTilt(ws []ocrWord, pxPerPt float64) (float64, bool) {
	byLine := map[int][]ocrWord{}
	for _, w := range ws {
		byLine[w.line] = append(byLine[w.line], w)
	}
	var slopes []float64
	for _, l := range byLine {
		if len(l) < 3 || float64(l[len(l)-1].x1-l[0].x0) < 150*pxPerPt {
			continue
		}
		var mx, my float64
		for _, w := range l {
			mx, my = mx+float64(w.x0+w.x1)/2, my+float64(w.y1)
		}
		n := float64(len(l))
		mx, my = mx/n, my/n
		var sxy, sxx float64
		for _, w := range l {
			dx := float64(w.x0+w.x1)/2 - mx
			sxy += dx * (float64(w.y1) - my)
			sxx += dx * dx
		}
		if sxx > 0 {
			slopes = append(slopes, sxy/sxx)
		}
	}
	if len(slopes) < 5 {
		return 0, false
	}
	slices.Sort(slopes)
	return slopes[len(slopes)/2], true
}

// fuzzyChunk is the one chunk of the page that reads as a long anchor
// but for a letter or two OCR got wrong; nil when none or several do.
func fuzzyChunk(key string, cs []*chunk) *chunk {
	sq := strings.ReplaceAll(key, " ", "")
	if len(sq) < 12 {
		return nil
	}
	limit := len(sq) / 10
	var found *chunk
	for _, c := range cs {
		k := strings.ReplaceAll(labelKey(c.text), " ", "")
		if abs(len(k)-len(sq)) > limit || editDistance(k, sq, limit) > limit {
			continue
		}
		if found != nil {
			return nil
		}
		found = c
	}
	return found
}
