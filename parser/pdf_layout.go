package parser

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFormChunks is more text runs than a form page has by far.
const maxFormChunks = 4000

// chunk is a run of text on one baseline with no wide gap inside: a
// label, a value line, one option of a "✓ Yes   No" pair, a paragraph line.
type chunk struct {
	x0, x1, base, size float64
	text               string
	runeX              []float64 // left edge of each rune of text
}

func (c *chunk) top() float64    { return c.base + 0.8*c.size }
func (c *chunk) bottom() float64 { return c.base - 0.25*c.size }

// pageText is one page's text, laid out but not yet interpreted.
type pageText struct {
	chunks  []*chunk // top to bottom, left to right
	letters int
	raw     string   // chunk texts, one per line, for marker search
	big     []string // texts set larger than the body text, top to bottom
	// textRight is the least the page's text area is taken to reach: an
	// inch in from the page's right edge (0 when not known). See joinLines.
	textRight float64
}

// labelTail is a page's last label, with no answer on its page, on a page
// whose answers are typed in the labels' cells: a table row that Word
// broke across pages puts the answer at the top of the next.
type labelTail struct {
	at       int          // its index among the page's label values
	x0, size float64      // where its cell's lines start, their type size
	right    float64      // the right edge its lines are judged by (joinLines)
	lines    []*valueLine // its answer's lines on its page (after its colon)
	base     float64      // the baseline of its page's last line
}

// layoutPage groups glyphs into chunks: rows by baseline, split at gaps
// wider than a word space. Row grouping is done here because the library's
// GetTextByRow only follows absolute Tm positioning. It filters and
// sorts glyphs in place (its callers are done with them: the text
// extractor's buffer, reused for the next page, or an OCR page's fresh
// slice); a copy per page was a tenth of what reading a flattened form
// allocated.
func layoutPage(glyphs []glyph) *pageText {
	pt := &pageText{}
	gs := glyphs[:0]
	runes := 0
	for _, g := range glyphs {
		if g.s == "" || math.IsNaN(g.x) || math.IsNaN(g.y) || math.IsInf(g.x, 0) || math.IsInf(g.y, 0) {
			continue
		}
		if g.size <= 0 || math.IsNaN(g.size) || g.size > 1000 {
			g.size = 10
		}
		if g.w < 0 || math.IsNaN(g.w) || g.w > 10*g.size {
			g.w = 0.5 * g.size
		}
		gs = append(gs, g)
		for _, r := range g.s {
			runes++
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				pt.letters++
			}
		}
	}
	sortByBaseline(gs)
	var rows [][]glyph
	for i := 0; i < len(gs); {
		j := i + 1
		tol := 0.3 * gs[i].size
		for j < len(gs) && gs[i].y-gs[j].y <= tol {
			j++
		}
		rows = append(rows, gs[i:j])
		i = j
	}
	var text []byte // the current chunk's text
	// The left edges of every chunk's runes, each chunk's runeX a part of
	// xs: a glyph adds its runes and at most a space, so xs never grows
	// (a slice grown for each chunk was a tenth of laying a page out).
	xs := make([]float64, 0, runes+len(gs))
	var order []int32
	for _, row := range rows {
		// A row is mostly drawn left to right already: a stable sort of
		// sorted glyphs leaves them as they are.
		byX := func(a, b glyph) int { return cmp.Compare(a.x, b.x) }
		if !slices.IsSortedFunc(row, byX) {
			order = sortRowByX(row, order)
		}
		var cur *chunk
		var prev glyph
		xsStart := 0
		flush := func() {
			if cur != nil {
				cur.runeX = xs[xsStart:len(xs):len(xs)]
				trimChunk(cur, text)
				if cur.text != "" {
					pt.chunks = append(pt.chunks, cur)
				}
			}
			cur, text = nil, text[:0]
		}
		for k, g := range row {
			if k > 0 && g.s == prev.s && math.Abs(g.x-prev.x) < dupTolerance(g, prev) && math.Abs(g.y-prev.y) < 0.3*g.size {
				continue // drawn twice for a bold effect
			}
			size := math.Max(g.size, prev.size)
			gap := g.x - (prev.x + prev.w)
			if cur != nil && gap > 1.2*size {
				flush()
			}
			if cur == nil {
				cur = &chunk{x0: g.x, base: g.y, size: g.size}
				xsStart = len(xs)
			} else if gap > 0.2*size && (len(text) == 0 || text[len(text)-1] != ' ') && g.s != " " {
				text = append(text, ' ')
				xs = append(xs, prev.x+prev.w)
			}
			for range g.s {
				xs = append(xs, g.x)
			}
			text = append(text, g.s...)
			cur.x1 = math.Max(cur.x1, g.x+g.w)
			cur.size = math.Max(cur.size, g.size)
			prev = g
		}
		flush()
	}
	var raw strings.Builder
	sizes := make([]float64, 0, len(pt.chunks))
	for _, c := range pt.chunks {
		raw.WriteString(c.text)
		raw.WriteByte('\n')
		sizes = append(sizes, c.size)
	}
	pt.raw = raw.String()
	if len(sizes) > 0 {
		sort.Float64s(sizes)
		median := sizes[len(sizes)/2]
		for _, c := range pt.chunks {
			if c.size >= 1.25*median && len(pt.big) < 20 {
				pt.big = append(pt.big, c.text)
			}
		}
	}
	return pt
}

// sortByBaseline sorts glyphs top to bottom (y descending), glyphs on
// one baseline in the order they were drawn: what a stable sort by y
// gives. Text is drawn a line at a time, so the glyphs come in runs on
// one baseline: the runs are sorted (stably, a few hundred of them where
// a page has thousands of glyphs), and each glyph is then moved once,
// straight to its place. A stable sort of the glyphs themselves moved
// each 56-byte glyph O(log² n) times.
func sortByBaseline(gs []glyph) {
	byY := func(a, b glyph) int { return cmp.Compare(b.y, a.y) }
	if slices.IsSortedFunc(gs, byY) {
		return
	}
	type run struct {
		y          float64
		start, end int
	}
	var runs []run
	for i := 0; i < len(gs); {
		j := i + 1
		for j < len(gs) && gs[j].y == gs[i].y {
			j++
		}
		runs = append(runs, run{gs[i].y, i, j})
		i = j
	}
	slices.SortStableFunc(runs, func(a, b run) int { return cmp.Compare(b.y, a.y) })
	// dest[i] is where gs[i] goes.
	dest := make([]int32, len(gs))
	at := int32(0)
	for _, r := range runs {
		for i := r.start; i < r.end; i++ {
			dest[i] = at
			at++
		}
	}
	permute(gs, dest)
}

// sortRowByX sorts a row's glyphs stably by x: their indices are sorted,
// 4 bytes each, and each glyph then moved once (order is scratch space,
// returned for the next row).
func sortRowByX(row []glyph, order []int32) []int32 {
	order = order[:0]
	for i := range row {
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(row[a].x, row[b].x) })
	// order[k] is the glyph that goes to k; permute wants where each
	// glyph goes. The first half of dest's room is order, the second
	// dest.
	order = slices.Grow(order, len(row))
	dest := order[len(row) : 2*len(row)]
	for k, i := range order[:len(row)] {
		dest[i] = int32(k)
	}
	permute(row, dest)
	return order[:0]
}

// permute moves gs[i] to gs[dest[i]], each swap putting one glyph in its
// place; dest is used up.
func permute(gs []glyph, dest []int32) {
	for i := range gs {
		for d := dest[i]; d != int32(i); d = dest[i] {
			gs[i], gs[d] = gs[d], gs[i]
			dest[i], dest[d] = dest[d], d
		}
	}
}

// dupTolerance is how close a glyph drawn again must be to count as the
// same glyph overprinted (fake bold): within half its width, so that the
// second of two narrow letters ("ll" in "Hill") is kept.
func dupTolerance(g, prev glyph) float64 {
	tol := 0.3 * g.size
	if prev.w > 0 {
		tol = math.Min(tol, 0.5*prev.w)
	}
	return tol
}

// trimChunk sets the chunk's text from raw, spaces folded and trimmed,
// keeping runeX aligned with it.
func trimChunk(c *chunk, raw []byte) {
	out := make([]byte, 0, len(raw))
	xs := c.runeX[:0] // never longer than what it has read
	i := 0
	for _, r := range string(raw) {
		x := c.x1
		if i < len(c.runeX) {
			x = c.runeX[i]
		}
		i++
		if unicode.IsSpace(r) {
			if len(out) == 0 || out[len(out)-1] == ' ' {
				continue
			}
			r = ' '
		}
		out = utf8.AppendRune(out, r)
		xs = append(xs, x)
	}
	for len(out) > 0 && out[len(out)-1] == ' ' {
		out, xs = out[:len(out)-1], xs[:len(xs)-1]
	}
	c.text, c.runeX = string(out), xs
	if len(xs) > 0 {
		c.x0 = xs[0]
	}
}

// labelBox is a printed label found on a page, possibly over two or three
// lines.
type labelBox struct {
	text                string
	x0, x1, top, bottom float64
	size                float64
	lines               []*valueLine // value lines, top to bottom
	anchored            bool
}

func (l *labelBox) center() float64 { return (l.top + l.bottom) / 2 }

// lineDistance is how far y is from the middle of the label's nearest
// line: a label over two lines is as near a value as its nearer line (a
// tall box's text, set at its top, sits by the label's first line, not
// its middle, and nearer an empty row's label above than the middle).
func (l *labelBox) lineDistance(y float64) float64 {
	first, last := l.top-0.525*l.size, l.bottom+0.525*l.size
	if y <= first && y >= last {
		return 0
	}
	return math.Min(math.Abs(y-first), math.Abs(y-last))
}

// valueLine is a line of value text beside the labels.
type valueLine struct {
	chunks          []*chunk
	x0, top, bottom float64
	base, size      float64
	anchor          *labelBox
}

// lineOf is a value line of one chunk, beside anchor (nil: none).
func lineOf(c *chunk, anchor *labelBox) *valueLine {
	return &valueLine{chunks: []*chunk{c}, x0: c.x0, top: c.top(), bottom: c.bottom(), base: c.base, size: c.size, anchor: anchor}
}

func (v *valueLine) text() string {
	sort.SliceStable(v.chunks, func(i, j int) bool { return v.chunks[i].x0 < v.chunks[j].x0 })
	parts := make([]string, len(v.chunks))
	for i, c := range v.chunks {
		parts[i] = c.text
	}
	return strings.Join(parts, " ")
}

// overlap is the share of the shorter of two vertical spans they share.
func overlap(top1, bot1, top2, bot2 float64) float64 {
	o := math.Min(top1, top2) - math.Max(bot1, bot2)
	h := math.Min(top1-bot1, top2-bot2)
	if o <= 0 || h <= 0 {
		return 0
	}
	return o / h
}

// findLabelValues reads label/value pairs from a page of a flattened form.
// labels maps normalised label keys (LabelKey) to canonical names. Nothing
// here knows the template's coordinates: labels are found by their text,
// values are the text to their right, grouped into blocks by line spacing
// and alignment, and each block goes to the label on its line or, failing
// that, the nearest label vertically. The tail is the page's last label
// when its answer may go on at the top of the next page (continuedAnswer);
// nil otherwise.
func findLabelValues(pt *pageText, labels map[string]string) ([]LabelValue, *labelTail) {
	if len(pt.chunks) > maxFormChunks {
		return nil, nil // not a form page, and the pairing below is quadratic
	}
	// The same texts are asked about many times (each chunk, and the
	// lines under it joined to it). Most are keyed without normalising
	// (fastLabelKey) and looked up without a copy of the key; what needs
	// normalising is worked out once.
	var known map[string]bool
	keyBuf := make([]byte, 0, 128)
	isLabel := func(s string) bool {
		if k, ok := appendFastLabelKey(keyBuf[:0], s); ok {
			keyBuf = k[:0]
			_, found := labels[string(k)]
			return found && len(k) > 0
		}
		if is, ok := known[s]; ok {
			return is
		}
		if known == nil {
			known = map[string]bool{}
		}
		k := labelKey(s)
		_, ok := labels[k]
		known[s] = ok && k != ""
		return known[s]
	}
	var boxes []*labelBox
	used := map[*chunk]bool{}
	var rest []*chunk
	// Inline "Label: value" chunks are split first.
	var chunks []*chunk
	var spaced map[*chunk][2]*chunk
	// startsLikeLabel: the text's first word is some label's, before the
	// longer look splitAtSpace takes at every line of a page.
	var starts map[string]bool
	startsLikeLabel := func(text string) bool {
		if starts == nil {
			starts = make(map[string]bool, len(labels))
			for k := range labels {
				first, _, _ := strings.Cut(k, " ")
				starts[first] = true
			}
		}
		word, _, _ := strings.Cut(text, " ")
		first, _, _ := strings.Cut(labelKey(word), " ")
		return starts[first]
	}
	for i, c := range pt.chunks {
		// A label with a box after it is a label and its answer: "fact
		// sheet: ☒", which a label's key, blind to punctuation, reads
		// as the label alone.
		boxed := strings.ContainsFunc(c.text, func(r rune) bool { return checkboxRune(r) != 0 })
		if !isLabel(c.text) || boxed {
			if l, v := splitInlineLabel(c, isLabel); l != nil {
				chunks = append(chunks, l, v)
				continue
			}
			alone := (i == 0 || math.Abs(pt.chunks[i-1].base-c.base) > 0.3*c.size) &&
				(i+1 == len(pt.chunks) || math.Abs(pt.chunks[i+1].base-c.base) > 0.3*c.size)
			if alone && startsLikeLabel(c.text) {
				if l, v := splitAtSpace(c, isLabel); l != nil {
					if spaced == nil {
						spaced = map[*chunk][2]*chunk{}
					}
					spaced[c] = [2]*chunk{l, v}
				}
			}
		}
		chunks = append(chunks, c)
	}
	// A Word form whose answers were typed into its label cells after a
	// space ("Surname Nguyễn"), printed: only where several lines of the
	// page read so, not a paragraph that happens to start with a label.
	spacedPage := len(spaced) >= minSpacedAnswers
	if spacedPage {
		split := make([]*chunk, 0, len(chunks)+len(spaced))
		for _, c := range chunks {
			if lv, ok := spaced[c]; ok {
				split = append(split, lv[0], lv[1])
				continue
			}
			split = append(split, c)
		}
		chunks = split
	}
	sort.SliceStable(chunks, func(i, j int) bool {
		if math.Abs(chunks[i].base-chunks[j].base) > 0.3*chunks[i].size {
			return chunks[i].base > chunks[j].base
		}
		return chunks[i].x0 < chunks[j].x0
	})
	// below finds the chunk starting a line under c at the same indent.
	below := func(c *chunk) *chunk {
		var best *chunk
		for _, d := range chunks {
			if d == c || math.Abs(d.x0-c.x0) > 3 {
				continue
			}
			dy := c.base - d.base
			if dy <= 0.5*c.size || dy > 1.8*c.size || used[d] {
				continue // used last: a map lookup for every pair was most of this search
			}
			if best == nil || d.base > best.base {
				best = d
			}
		}
		return best
	}
	for _, c := range chunks {
		if used[c] {
			continue
		}
		// The longest label over up to three lines wins, so "Share with:
		// SELECT key worker" + "programme" is one label.
		text, parts, found := c.text, []*chunk{c}, 0
		var after *chunk // an answer after the colon on the label's last line
		if isLabel(text) {
			found = 1
		}
		for n, cur := 1, c; n < 3; n++ {
			d := below(cur)
			if d == nil || isLabel(d.text) {
				break
			}
			// A label's last line with the answer after a colon, typed
			// into a Word form's label cell: "At high risk of admission
			// to a mental" / "health hospital: Yes".
			if !isLabel(text + " " + d.text) {
				head := text
				pred := func(s string) bool { return isLabel(head + " " + s) }
				l, v := splitInlineLabel(d, pred)
				if l == nil && spacedPage {
					l, v = splitAtSpace(d, pred)
				}
				if l != nil {
					used[d] = true
					parts = append(parts, l)
					found = len(parts)
					after = v
					break
				}
			}
			text += " " + d.text
			parts = append(parts, d)
			cur = d
			if isLabel(text) {
				found = len(parts)
			}
		}
		if found == 0 {
			rest = append(rest, c)
			continue
		}
		parts = parts[:found]
		b := &labelBox{x0: c.x0, x1: c.x1, top: c.top(), bottom: c.bottom(), size: c.size}
		texts := make([]string, len(parts))
		for i, p := range parts {
			used[p] = true
			texts[i] = p.text
			b.x1 = math.Max(b.x1, p.x1)
			b.bottom = math.Min(b.bottom, p.bottom())
		}
		b.text = strings.Join(texts, " ")
		boxes = append(boxes, b)
		if after != nil && found == len(parts) {
			// Its own line: the label's wider first line would keep the
			// answer from reading as beside it.
			b.lines = append(b.lines, lineOf(after, b))
		}
	}
	if len(boxes) == 0 {
		return nil, nil
	}
	minLabelX := math.Inf(1)
	for _, b := range boxes {
		minLabelX = math.Min(minLabelX, b.x0)
	}
	// anchorOf is the nearest label to the left on the same line.
	anchorOf := func(c *chunk) *labelBox {
		var best *labelBox
		for _, b := range boxes {
			if b.x1 > c.x0+2 || overlap(b.top, b.bottom, c.top(), c.bottom()) < 0.3 {
				continue
			}
			if best == nil || b.x1 > best.x1 {
				best = b
			}
		}
		return best
	}
	// Value candidates start right of the label column (paragraphs and
	// headings start at the margin, where the labels are).
	type cand struct {
		c      *chunk
		anchor *labelBox
		ok     bool
	}
	var cands []*cand
	var columns []float64
	for _, c := range rest {
		if c.x0 < minLabelX+15 {
			continue
		}
		hasLeft := false
		for _, b := range boxes {
			if b.x1 <= c.x0+2 {
				hasLeft = true
				break
			}
		}
		if !hasLeft {
			continue
		}
		cd := &cand{c: c, anchor: anchorOf(c)}
		if cd.anchor != nil {
			cd.ok = true
			columns = append(columns, c.x0)
		}
		cands = append(cands, cd)
	}
	// Unanchored text counts when it is aligned with anchored values (the
	// value boxes' column), or sits on a line with accepted value text.
	// Where no value shares a line with its label (a tall box's text sits
	// above the label's middle; the only anchored text may be the printed
	// options of unticked Yes/No buttons, a few points right of the boxes'
	// edge), the boxes' column is where several unanchored lines start
	// together.
	for i, cd := range cands {
		if cd.ok {
			continue
		}
		n := 0
		for j, o := range cands {
			if j != i && !o.ok && math.Abs(o.c.x0-cd.c.x0) <= 2 && o.anchor == nil {
				n++
			}
		}
		if n >= 2 {
			columns = append(columns, cd.c.x0)
		}
	}
	inColumn := func(x float64) bool {
		if len(columns) == 0 {
			return true
		}
		for _, cx := range columns {
			if math.Abs(cx-x) <= 8 {
				return true
			}
		}
		return false
	}
	for _, cd := range cands {
		if !cd.ok && inColumn(cd.c.x0) {
			cd.ok = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, cd := range cands {
			if cd.ok {
				continue
			}
			for _, o := range cands {
				if o.ok && o.anchor == cd.anchor && overlap(o.c.top(), o.c.bottom(), cd.c.top(), cd.c.bottom()) >= 0.5 {
					cd.ok, changed = true, true
					break
				}
			}
		}
	}
	// Lines of value text.
	var lines []*valueLine
	for _, cd := range cands {
		if !cd.ok {
			continue
		}
		c := cd.c
		var line *valueLine
		for _, l := range lines {
			if l.anchor == cd.anchor && overlap(l.top, l.bottom, c.top(), c.bottom()) >= 0.5 {
				line = l
				break
			}
		}
		if line == nil {
			lines = append(lines, lineOf(c, cd.anchor))
			continue
		}
		line.chunks = append(line.chunks, c)
		line.x0 = math.Min(line.x0, c.x0)
		line.top = math.Max(line.top, c.top())
		line.bottom = math.Min(line.bottom, c.bottom())
		line.size = math.Max(line.size, c.size)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].base > lines[j].base })
	// Blocks: lines of one box, at one indent, one line-spacing apart.
	var blocks [][]*valueLine
	for _, l := range lines {
		placed := false
		for bi := len(blocks) - 1; bi >= 0 && !placed; bi-- {
			last := blocks[bi][len(blocks[bi])-1]
			gap := last.base - l.base
			if math.Abs(last.x0-l.x0) <= 8 && gap > 0 && gap <= 1.6*math.Max(last.size, l.size) {
				blocks[bi] = append(blocks[bi], l)
				placed = true
			}
		}
		if !placed {
			blocks = append(blocks, []*valueLine{l})
		}
	}
	for _, l := range lines {
		if l.anchor != nil {
			l.anchor.anchored = true
		}
	}
	for _, blk := range blocks {
		var anchors []*labelBox
		for _, l := range blk {
			if l.anchor != nil && !containsBox(anchors, l.anchor) {
				anchors = append(anchors, l.anchor)
			}
		}
		top, bottom := blk[0].top, blk[len(blk)-1].bottom
		center := (top + bottom) / 2
		switch len(anchors) {
		case 0:
			var best *labelBox
			bestScore := math.Inf(1)
			for _, b := range boxes {
				if b.x1 > blk[0].x0+2 {
					continue
				}
				d := math.Abs(b.center() - center)
				if d > (top-bottom)/2+(b.top-b.bottom)/2+2.5*b.size {
					continue
				}
				d = math.Min(d, b.lineDistance(center))
				if b.anchored {
					d *= 2
				}
				if d < bestScore || (d == bestScore && best != nil && overlap(b.top, b.bottom, top, bottom) > overlap(best.top, best.bottom, top, bottom)) {
					best, bestScore = b, d
				}
			}
			if best != nil {
				for _, l := range blk {
					best.lines = append(best.lines, l)
				}
			}
		case 1:
			for _, l := range blk {
				anchors[0].lines = append(anchors[0].lines, l)
			}
		default:
			for _, l := range blk {
				to := l.anchor
				if to == nil {
					lc := (l.top + l.bottom) / 2
					for _, a := range anchors {
						if to == nil || math.Abs(a.center()-lc) < math.Abs(to.center()-lc) {
							to = a
						}
					}
				}
				to.lines = append(to.lines, l)
			}
		}
	}
	cellRight := labelCellAnswers(boxes, rest, lines, isLabel)
	right := pt.textRight
	for _, c := range pt.chunks {
		right = math.Max(right, c.x1)
	}
	out := make([]LabelValue, 0, len(boxes))
	var last *labelBox
	for _, b := range boxes {
		r := right
		if cr, ok := cellRight[b]; ok {
			r = cr
		}
		out = append(out, LabelValue{Label: b.text, Value: cleanValue(joinLines(b.lines, r))})
		if last == nil || b.bottom < last.bottom {
			last = b
		}
	}
	var tail *labelTail
	inLabel := true // its answer, if any, in its cell: after its colon or under it
	for _, l := range last.lines {
		inLabel = inLabel && (math.Abs(l.x0-last.x0) <= 3 || l.x0-last.x1 < 1.5*last.size)
	}
	if len(cellRight) > 0 && inLabel {
		lowest := true // nothing under it in its column but its answer
		for _, c := range rest {
			mine := slices.ContainsFunc(last.lines, func(l *valueLine) bool { return slices.Contains(l.chunks, c) })
			lowest = lowest && (mine || c.base > last.bottom || c.x1 < last.x0-3 || c.x0 > last.x1)
		}
		cr := 0.0
		for _, r := range cellRight {
			cr = math.Max(cr, r)
		}
		if lowest {
			tail = &labelTail{at: slices.Index(boxes, last), x0: last.x0, size: last.size, right: cr,
				base: last.bottom + 0.25*last.size}
			for _, l := range last.lines {
				c := *l
				c.x0 = last.x0 // the cell's lines, for joinLines
				tail.lines = append(tail.lines, &c)
				tail.base = l.base
			}
		}
	}
	return out, tail
}

// continuedAnswer is the answer of the previous page's last label (t) at
// the top of this page: the lines at its cell's indent above everything
// else there, one line spacing apart, up to a label (over up to three of
// them) or a section's heading. It is "" when there is none.
func continuedAnswer(pt *pageText, t *labelTail, labels map[string]string) string {
	var col []*chunk
	for _, c := range pt.chunks { // top to bottom
		if len(col) == 0 {
			if c.x0 < t.x0-3 && c.x1 > t.x0 {
				return "" // a line across the column above it: a header
			}
			if math.Abs(c.x0-t.x0) <= 3 {
				col = append(col, c)
			}
			continue
		}
		above := col[len(col)-1]
		gap := above.base - c.base
		if gap > 1.35*math.Max(above.size, c.size) {
			break
		}
		if nextCellLine(gap, above.size, c.size) && math.Abs(c.x0-t.x0) <= 3 {
			col = append(col, c)
		}
	}
	var lines []*valueLine
	base := t.base
	for i, c := range col {
		text := ""
		for _, d := range col[i:min(i+3, len(col))] {
			text = strings.TrimSpace(text + " " + d.text)
			if _, ok := labels[labelKey(text)]; ok {
				return joinAnswer(t, lines)
			}
		}
		if sectionHeading.MatchString(c.text) {
			break
		}
		// Set one line under the last, as if the page had not broken.
		base -= 1.15 * t.size
		moved := *c
		moved.base = base
		lines = append(lines, lineOf(&moved, nil))
	}
	return joinAnswer(t, lines)
}

// joinAnswer is the label's answer with lines from the next page.
func joinAnswer(t *labelTail, more []*valueLine) string {
	if len(more) == 0 {
		return ""
	}
	return cleanValue(joinLines(append(slices.Clip(t.lines), more...), t.right))
}

// sectionHeading is a form's section heading, which a page may start with.
var sectionHeading = regexp.MustCompile(`^(?i:section|part)\s+\d+\b`)

// labelCellAnswers gives a label the lines under it at its indent, each
// one line spacing below the last and none a label: the answer typed
// into a Word form's label cell, on lines of its own or wrapped after a
// colon, with the value cell left empty, as the form printed to PDF
// shows it. A label with value lines under its own (a value box's) gets
// none. Rows of a form's table are further apart than the lines of one
// cell, so a heading or the next row does not follow. It returns the
// right edge to judge those labels' wrapped lines by (joinLines): the
// widest text of their column, the cell's width being unknown.
func labelCellAnswers(boxes []*labelBox, rest []*chunk, lines []*valueLine, isLabel func(string) bool) map[*labelBox]float64 {
	taken := map[*chunk]bool{}
	for _, l := range lines {
		for _, c := range l.chunks {
			taken[c] = true
		}
	}
	var out map[*labelBox]float64
	for _, b := range boxes {
		lastBase := b.bottom + 0.25*b.size // the baseline of the label's last line
		under := false
		for _, l := range b.lines {
			under = under || l.base < lastBase-0.5*b.size
		}
		if under {
			continue
		}
		// The line above an answer's line is the label's last, then the
		// answer's line before it (nextCellLine). The line starts where
		// the label does, or left of it by a letter and a space that OCR
		// lost from the label ("have been given ...", of "I have been
		// given ...").
		cur, curSize := lastBase, b.size
		for {
			var next *chunk
			for _, c := range rest {
				gap := cur - c.base
				if taken[c] || c.x0 > b.x0+3 || c.x0 < b.x0-3-0.8*b.size || !nextCellLine(gap, curSize, c.size) {
					continue
				}
				if next == nil || c.base > next.base {
					next = c
				}
			}
			if next == nil || isLabel(next.text) || sectionHeading.MatchString(next.text) {
				// The next row's label, or the next section's heading
				// (read by OCR from its band, at the labels' indent).
				break
			}
			taken[next] = true
			b.lines = append(b.lines, lineOf(next, b))
			cur, curSize = next.base, next.size
			if out == nil {
				out = map[*labelBox]float64{}
			}
			out[b] = 0
		}
	}
	// An answer's first line after the label's colon starts the cell's
	// lines, for joinLines to see the lines under it as its wraps.
	for b := range out {
		for _, l := range b.lines {
			if l.x0 > b.x0 && l.x0-b.x1 < 1.5*b.size {
				l.x0 = b.x0
			}
		}
	}
	// The column's right edge: its widest label or line of an answer.
	for b := range out {
		right := 0.0
		for _, o := range boxes {
			if math.Abs(o.x0-b.x0) > 3 {
				continue
			}
			right = math.Max(right, o.x1)
			for _, l := range o.lines {
				for _, c := range l.chunks {
					// In the label's cell: under it, or after its colon
					// (a value cell's text starts further off).
					if math.Abs(c.x0-o.x0) <= 3 || c.x0-o.x1 < 1.5*o.size {
						right = math.Max(right, c.x1)
					}
				}
			}
		}
		out[b] = right + 0.6*b.size // joinLines takes a cell's padding off
	}
	return out
}

// nextCellLine says a line gap below a line of one size down to a line
// of another is a table cell's next line: from half the smaller line's
// size to the larger line's leading. OCR sizes a line by its words'
// height, so a date's slashes or a name's descenders make a line look
// larger and sit lower than the line above it; printed text has one
// size and one leading.
func nextCellLine(gap, above, below float64) bool {
	return gap > 0.5*math.Min(above, below) && gap <= 1.35*math.Max(above, below)
}

// joinLines joins a label's value lines: a line that a box or table cell
// wrapped continues with a space, as the writer typed it; a line the
// writer ended stays a line ("\n"). A line was wrapped when the next
// line's first word would not have fitted after it: right is the page's
// text edge (the widest text on the page, where a full-width table or a
// field box also ends, and no nearer the page's edge than a margin of an
// inch, so that on a page of short lines the longest is not taken for a
// full one), less the padding a cell keeps inside its border.
func joinLines(lines []*valueLine, right float64) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			prev := lines[i-1]
			size := math.Max(prev.size, l.size)
			hyphen := endsInHyphen(prev.text())
			switch {
			case hyphen && wrapped(prev, l, right-0.6*size, 0):
				// Broken after a word's hyphen ("WISC-" / "V"): one word.
			case !hyphen && wrapped(prev, l, right-0.6*size, 0.25*size):
				b.WriteByte(' ')
			default:
				b.WriteByte('\n')
			}
		}
		b.WriteString(l.text())
	}
	return b.String()
}

// endsInHyphen says whether a line ends in a hyphen inside a word
// ("WISC-"), where a line may wrap with no space.
func endsInHyphen(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	if r != '-' && r != '\u2010' {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(s[:len(s)-n])
	return unicode.IsLetter(before) || unicode.IsDigit(before)
}

// wrapped says whether next continues prev after an automatic line break:
// its first word, after a space of the given width, would not have fitted.
func wrapped(prev, next *valueLine, limit, space float64) bool {
	if len(prev.chunks) == 0 || len(next.chunks) == 0 {
		return false
	}
	size := math.Max(prev.size, next.size)
	gap := prev.base - next.base
	if gap <= 0 || gap > 1.6*size || math.Abs(prev.x0-next.x0) > 3 {
		return false // not the next line of one box
	}
	x1 := math.Inf(-1)
	for _, c := range prev.chunks {
		x1 = math.Max(x1, c.x1)
	}
	first := next.chunks[0]
	for _, c := range next.chunks {
		if c.x0 < first.x0 {
			first = c
		}
	}
	word := first.x1 - first.x0
	if i := strings.IndexByte(first.text, ' '); i > 0 {
		if n := utf8.RuneCountInString(first.text[:i]); n < len(first.runeX) {
			word = first.runeX[n] - first.x0
		}
	}
	return x1+space+word > limit
}

// cleanValue drops a value that is only empty check boxes (an unticked
// pair reads as blank, as on a form whose unticked boxes print nothing),
// but not one box alone, which Normalise reads as a single check box.
func cleanValue(v string) string {
	if strings.Trim(v, "☐ \n") == "" && strings.TrimSpace(v) != "☐" {
		return ""
	}
	// An empty content control of a Word form printed to PDF shows its
	// placeholder ("Click or tap here to enter text."): no answer.
	if len(v) < 64 && isPrompt(strings.Join(strings.Fields(v), " ")) {
		return ""
	}
	return v
}

func containsBox(bs []*labelBox, b *labelBox) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// minSpacedAnswers is how many lines of a page must read as a label, a
// space and an answer for such lines to be split there (splitAtSpace).
const minSpacedAnswers = 3

// splitAtSpace splits "Surname Nguyễn" into a label chunk and a value
// chunk after the longest known label it starts with, as the Word reader
// reads a label cell (labelHead); what follows must not be a label itself.
func splitAtSpace(c *chunk, isLabel func(string) bool) (label, value *chunk) {
	text := c.text
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) != len(c.runeX) {
		return nil, nil
	}
	head, rest, ok := labelHead(text, isLabel)
	if !ok || isLabel(rest) {
		return nil, nil
	}
	i := utf8.RuneCountInString(head)                       // the label's end, in runes
	j := utf8.RuneCountInString(text[:len(text)-len(rest)]) // the answer's start
	label = &chunk{x0: c.x0, x1: c.runeX[i], base: c.base, size: c.size, text: head, runeX: c.runeX[:i]}
	value = &chunk{x0: c.runeX[j], x1: c.x1, base: c.base, size: c.size, text: rest, runeX: c.runeX[j:]}
	return label, value
}

// splitInlineLabel splits "Surname: Okoro" into a label chunk and a value
// chunk when the text before a colon is a known label; and a label and
// value set apart by a gap wider than a word space, which the line's
// layout joined because the gap was narrower than a column gap (a Word
// table's label cell, full to its edge, beside its value cell).
//
// It walks the text's bytes, not a copy as runes: it is asked about every
// text run on a flattened form's pages that is not a label.
func splitInlineLabel(c *chunk, isLabel func(string) bool) (label, value *chunk) {
	text := c.text
	if !strings.ContainsAny(text, ": ") {
		return nil, nil
	}
	if !utf8.ValidString(text) {
		text = string([]rune(text)) // as a rune slice would read it
	}
	n := utf8.RuneCountInString(text)
	if n != len(c.runeX) {
		return nil, nil
	}
	// i is a rune's index, at its byte offset off.
	for i, off := n, len(text); i > 1; {
		r, size := utf8.DecodeLastRuneInString(text[:off])
		i, off = i-1, off-size
		gapped := r == ' ' && i+1 < n && c.runeX[i+1]-c.runeX[i] > 0.6*c.size
		if (r != ':' && !gapped) || !isLabel(text[:off]) {
			continue
		}
		j, at := i+1, off+size
		for j < n && text[at] == ' ' {
			j, at = j+1, at+1
		}
		if j >= n {
			return nil, nil
		}
		label = &chunk{x0: c.x0, x1: c.runeX[i], base: c.base, size: c.size, text: text[:off], runeX: c.runeX[:i]}
		value = &chunk{x0: c.runeX[j], x1: c.x1, base: c.base, size: c.size, text: text[at:], runeX: c.runeX[j:]}
		return label, value
	}
	return nil, nil
}
