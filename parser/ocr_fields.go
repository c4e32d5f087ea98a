package parser

import (
	"bytes"
	"cmp"
	"image"
	"image/png"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SourceOCR is the Form.Source of a form read from a scan or photo.
const SourceOCR = "ocr"

// OCRForm marks a form read by OCR from a scan or photo: its values are
// what Tesseract made of the page, unconfirmed until a coordinator has
// checked them.
type OCRForm struct {
	// Pages are the page images' sizes in pixels, in attachment order,
	// after rotation and deskew: the frame the fields' boxes are in.
	Pages []OCRPageSize `json:"pages"`
	// Fields are the fields found, by canonical name.
	Fields map[string]OCRField `json:"fields,omitempty"`
	// ConfirmedBy and ConfirmedAt are set once a coordinator has checked
	// the values (and corrected them where OCR misread them).
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
}

// Unconfirmed reports a form read by OCR that no coordinator has
// checked yet.
func (f *Form) Unconfirmed() bool {
	return f != nil && f.OCR != nil && f.OCR.ConfirmedBy == ""
}

// OCRPageSize is one page image's size, and how far it was turned.
type OCRPageSize struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Rotate int `json:"rotate,omitempty"`
}

// OCRField is one field as read from the page.
type OCRField struct {
	// Text is what was read, before normalisation.
	Text string `json:"text"`
	// Confidence is 0..1: Tesseract's mean word confidence for text, the
	// mark's contrast for a tick box.
	Confidence float64 `json:"confidence"`
	// Page is the 1-based page of the attachment the field is on.
	Page int `json:"page"`
	// Box is where the value was found (the label's row when it was
	// blank): x, y, width, height in pixels of the page image.
	Box [4]int `json:"box"`
	// Tick is set for a yes/no field read from its tick box.
	Tick bool `json:"tick,omitempty"`
	// Crop is the piece of the page image the value was read from, with
	// its label, as a greyscale PNG, for the coordinator who confirms it.
	Crop []byte `json:"crop,omitempty"`

	label image.Rectangle // where the label was read, for the crop
}

// maxCropBytes bounds one crop: a value box is a few KB.
const maxCropBytes = 64 << 10

// crop cuts the label and the value from the page image, as PNG.
func (pg *ocrPage) crop(box [4]int, label image.Rectangle) []byte {
	r := image.Rect(box[0], box[1], box[0]+box[2], box[1]+box[3])
	switch {
	case label.Empty() && r.Empty():
		return nil
	case r.Empty():
		r = label
	case !label.Empty():
		r = r.Union(label)
	}
	pad := max(6, label.Dy()/2)
	r = image.Rect(r.Min.X-pad, r.Min.Y-pad, r.Max.X+pad, r.Max.Y+pad).Intersect(pg.img.Bounds())
	if r.Empty() || r.Dx()*r.Dy() > 1<<20 {
		return nil
	}
	// The crop shows the value as scanned, with the scan's grain left
	// out: its paper made white and its ink put in 16 greys. A scan's
	// grain does not compress, so the crops as scanned took twice the
	// bytes of the scanned email itself (10.9 MB of crops for the 5.2 MB
	// of the OCR fixtures), held by the daemon until the case is
	// committed and then stored; posterised they take a quarter of that
	// and read as well.
	g := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		src := pg.img.Pix[pg.img.PixOffset(r.Min.X, r.Min.Y+y):][:r.Dx()]
		dst := g.Pix[y*g.Stride:][:r.Dx()]
		for x, p := range src {
			if p >= 192 {
				dst[x] = 255
			} else {
				dst[x] = p & 0xF0
			}
		}
	}
	var b bytes.Buffer
	// The default level, not the best: at the best, encoding the
	// crops was 85% of Go's CPU on the scan fixtures (pprof).
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&b, g); err != nil || b.Len() > maxCropBytes {
		return nil
	}
	return b.Bytes()
}

// OCRMinConfidence is below the confidence a coordinator should look
// at twice.
const OCRMinConfidence = 0.80

// forForm returns the OCR marks for the fields the mapped form holds.
func (o *OCRForm) forForm(f *Form) *OCRForm {
	if o == nil {
		return nil
	}
	out := &OCRForm{Pages: o.Pages, Fields: map[string]OCRField{}}
	for name, fl := range o.Fields {
		if f.Has(name) {
			out.Fields[name] = fl
		}
	}
	return out
}

// assembleOCRForms splits the pages into forms by their titles and
// markers, as for a flattened PDF, and reads each field beside its
// printed label.
func assembleOCRForms(m *Mapping, pages []*ocrPage) []*RawForm {
	kinds := make([]FormKind, len(pages))
	for i, pg := range pages {
		kinds[i] = pageKind(m, pg.pt)
		if pg.tpl != nil {
			// A page of a form, by where its labels are: its later
			// pages too, which come first in a stack scanned face down
			// (the consent's pages, then the referral's, each last to
			// first) and would otherwise go with the form before them.
			kinds[i] = pg.tpl.kind
		}
	}
	// By the attachment's page numbers, which fields name: a blank page
	// left out (the back of a two-sided scan) has no size.
	n := 0
	for _, pg := range pages {
		n = max(n, pg.index+1)
	}
	sizes := make([]OCRPageSize, n)
	for _, pg := range pages {
		sizes[pg.index] = OCRPageSize{Width: pg.w, Height: pg.h, Rotate: pg.rotate}
	}
	var forms []*RawForm
	for _, s := range segmentPages(kinds) {
		rf := &RawForm{Kind: s.kind, Source: SourceOCR, OCR: &OCRForm{Pages: sizes, Fields: map[string]OCRField{}}}
		labels := m.Labels(s.kind)
		if s.kind == "" {
			labels = unionLabels(m)
		}
		var tail *labelTail
		for _, p := range s.pages {
			pg := pages[p]
			if rf.Title == "" && len(pg.pt.big) > 0 {
				rf.Title = strings.Join(pg.pt.big, " ")
				if len(rf.Title) > 300 {
					rf.Title = strings.ToValidUTF8(rf.Title[:300], "")
				}
			}
			if pg.tpl != nil && (s.kind == "" || s.kind == pg.tpl.kind) {
				tail = nil
				// Registered to the blank form: the values are what its
				// boxes read, by field name, as from a fillable form.
				if rf.ByName == nil {
					rf.ByName = map[string]string{}
				}
				for _, name := range slices.Sorted(maps.Keys(pg.values)) {
					if rf.ByName[name] == "" {
						rf.ByName[name] = pg.values[name]
					}
				}
				for name, fl := range pg.fields {
					if _, dup := rf.OCR.Fields[name]; !dup {
						rf.OCR.Fields[name] = fl
					}
				}
				continue
			}
			used := map[int]bool{}
			snapLabels(pg.pt, labels)
			found, next := findLabelValues(pg.pt, labels)
			if tail != nil {
				// The previous page's last label, its answer typed
				// under it in its cell, the row broken across pages.
				if v := continuedAnswer(pg.pt, tail, labels); v != "" {
					rf.ByLabel[tail.at].Value = v
					canon := labels[labelKey(rf.ByLabel[tail.at].Label)]
					fl := pg.topAnswer(v, tail.x0, used)
					fl.Crop = pg.crop(fl.Box, image.Rectangle{})
					rf.OCR.Fields[canon] = fl
				}
			}
			if tail = next; tail != nil {
				tail.at += len(rf.ByLabel)
			}
			for _, lv := range found {
				canon := labels[labelKey(lv.Label)]
				fl, value := pg.locate(lv, canon, kindOrBoth(s.kind, canon), used)
				lv.Value = value
				fl.Crop = pg.crop(fl.Box, fl.label)
				fl.label = image.Rectangle{}
				rf.ByLabel = append(rf.ByLabel, lv)
				if _, dup := rf.OCR.Fields[canon]; !dup && (value != "" || fl.Tick) {
					rf.OCR.Fields[canon] = fl
				}
			}
		}
		if rf.Kind == "" && !anyValue(rf.ByLabel) && !anyName(rf.ByName) {
			continue
		}
		forms = append(forms, rf)
	}
	return forms
}

// topAnswer is the field of an answer continued at the top of a page,
// in the column starting x0 points from the page's left: its words
// there, the first of each of its words from the top.
func (pg *ocrPage) topAnswer(value string, x0 float64, used map[int]bool) OCRField {
	fl := OCRField{Page: pg.index + 1, Text: value}
	col := int(x0 / pg.scale)
	fl.Confidence, fl.Box, _ = pg.valueWords(value, used, func(w ocrWord) (float64, bool) {
		return float64(w.y0), w.x0 >= col-pg.w/50 && w.y0 <= pg.h/3
	})
	return fl
}

// valueWords finds a value's words on the page, each token the unused
// word of its text that place accepts with the least score, and marks
// them used: their mean confidence (0..1), the box around them, and how
// many were found.
func (pg *ocrPage) valueWords(value string, used map[int]bool, place func(w ocrWord) (score float64, ok bool)) (conf float64, box [4]int, n int) {
	var all image.Rectangle
	var sum float64
	for _, tok := range strings.Fields(value) {
		best, bestScore := -1, math.Inf(1)
		for i, w := range pg.words {
			if used[i] || w.text != tok {
				continue
			}
			if score, ok := place(w); ok && score < bestScore {
				best, bestScore = i, score
			}
		}
		if best < 0 {
			continue
		}
		used[best] = true
		w := pg.words[best]
		r := image.Rect(w.x0, w.y0, w.x1, w.y1)
		if n == 0 {
			all = r
		} else {
			all = all.Union(r)
		}
		sum += w.conf
		n++
	}
	if n == 0 {
		return 0, box, 0
	}
	return math.Round(sum/float64(n)) / 100, rectBox(all), n
}

func anyName(vs map[string]string) bool {
	for _, v := range vs {
		if v != "" {
			return true
		}
	}
	return false
}

// kindOrBoth is the form whose field spec applies: the page's kind, or
// either form's when the page's kind is unknown.
func kindOrBoth(k FormKind, canon string) FormKind {
	if k != "" {
		return k
	}
	if _, ok := Spec(Referral, canon); ok {
		return Referral
	}
	return Consent
}

// locate finds where a label's value was read: its words and their mean
// confidence, or, for a yes/no field, the tick box marked beside it.
func (pg *ocrPage) locate(lv LabelValue, canon string, k FormKind, used map[int]bool) (OCRField, string) {
	fl := OCRField{Page: pg.index + 1}
	lab, ok := pg.labelWords(lv.Label, used)
	if !ok {
		return fl, lv.Value
	}
	fl.label = lab
	spec, _ := Spec(k, canon)
	if spec.Type == YesNo {
		if v, conf, box, ok := pg.readTick(lab); ok {
			fl.Text, fl.Confidence, fl.Box, fl.Tick = v, conf, box, true
			return fl, v
		}
		if row, ok := pg.lineUnder(lab); ok && lv.Value != "" {
			// The options under the label, in its cell (the Word
			// form's answers typed on lines of their own): read on
			// their line as beside a label there.
			if v, conf, box, ok := pg.readMarks(row, false); ok {
				fl.Text, fl.Confidence, fl.Box, fl.Tick = v, conf, box, true
				return fl, v
			}
		}
	}
	if spec.Type == Choice {
		if v, conf, box, ok := pg.readChoiceMarks(spec, lab); ok {
			fl.Text, fl.Confidence, fl.Box, fl.Tick = v, conf, box, true
			return fl, v
		}
	}
	value := fixOCRValue(spec, cleanOCRValue(lv.Value))
	fl.Text = value
	if value == "" {
		return pg.rereadBox(fl, spec, lab, value)
	}
	lh := lab.Max.Y - lab.Min.Y
	var n int
	fl.Confidence, fl.Box, n = pg.valueWords(value, used, func(w ocrWord) (float64, bool) {
		d := math.Abs(float64((w.y0+w.y1)/2-(lab.Min.Y+lab.Max.Y)/2)) + 0.1*math.Abs(float64(w.x0-lab.Max.X))
		return d, answerSide(w, lab) && w.y1 >= lab.Min.Y-2*lh && w.y0 <= lab.Max.Y+6*lh
	})
	if n > 0 && n == len(strings.Fields(value)) && noise(spec, value, fl.Confidence) {
		fl = OCRField{Page: fl.Page, label: lab}
		value = ""
	}
	return pg.rereadBox(fl, spec, lab, value)
}

// answerSide says a word stands where a label's answer may: right of
// the label, or under it in its cell (an answer typed on lines of its
// own under a Word form's label).
func answerSide(w ocrWord, lab image.Rectangle) bool {
	lh := lab.Dy()
	return w.x0 >= lab.Max.X-lh || (w.x0 >= lab.Min.X-lh && w.y0 >= lab.Max.Y-lh/2)
}

// readChoiceMarks reads a choice whose options are printed with a box
// before each ("☒ Young person ... ☐ Person with parental
// responsibility", the Word form's consent basis): by the ink in the
// boxes, as OCR reads the boxes as any letter ("©", "&", "O"). Only for
// choices whose options are all two words or more, found by their first
// two words right of the label or under it. ok is false unless boxes
// were found before two options or more; with some options not found,
// the answer is not confident.
func (pg *ocrPage) readChoiceMarks(spec FieldSpec, lab image.Rectangle) (value string, conf float64, box [4]int, ok bool) {
	lh := lab.Dy()
	type mark struct {
		choice string
		r      image.Rectangle
		ink    float64
	}
	var marks []mark
	for _, c := range spec.Choices {
		if len(strings.Fields(c)) < 2 {
			return "", 0, box, false
		}
	}
	for _, c := range spec.Choices {
		first := strings.Fields(c)
		for i := range pg.words {
			w := &pg.words[i]
			if !answerSide(*w, lab) || w.y1 < lab.Min.Y-lh || w.y0 > lab.Max.Y+6*lh ||
				i+1 >= len(pg.words) || pg.words[i+1].line != w.line ||
				!strings.EqualFold(w.text, first[0]) || !strings.EqualFold(strings.Trim(pg.words[i+1].text, ",;:"), first[1]) {
				continue
			}
			row := image.Rect(w.x0, w.y0-(w.y1-w.y0)/3, pg.w, w.y1+(w.y1-w.y0)/3)
			if r, ink, found := pg.markBefore(w, row, boxInWord(w)); found {
				marks = append(marks, mark{c, r, ink})
			}
			break
		}
	}
	if len(marks) < 2 {
		return "", 0, box, false
	}
	all := marks[0].r
	var ticked []mark
	hi, next := 0.0, 0.0
	for _, m := range marks {
		all = all.Union(m.r)
		if m.ink >= tickInked {
			ticked = append(ticked, m)
		}
		if m.ink > hi {
			hi, next = m.ink, hi
		} else if m.ink > next {
			next = m.ink
		}
	}
	box = rectBox(all)
	switch len(ticked) {
	case 0:
		return "", math.Round(100*(1-hi/tickInked)) / 100, box, true
	case 1:
		conf = math.Round(100*math.Min(1, (hi-next)/(2*tickInked))) / 100
		if len(marks) < len(spec.Choices) {
			conf = min(conf, unsureConf)
		}
		return ticked[0].choice, conf, box, true
	}
	return "", 0, box, true // more than one ticked: a coordinator's to read
}

// lineUnder is the line of words just under a label, in its column, as
// a label readTick reads beside: a sliver of the line's height ending a
// label's height left of the column, so that a box at the line's start
// is right of it.
func (pg *ocrPage) lineUnder(lab image.Rectangle) (image.Rectangle, bool) {
	lh := lab.Dy()
	var first *ocrWord
	for i := range pg.words {
		w := &pg.words[i]
		if w.y0 < lab.Max.Y-lh/2 || w.y0 > lab.Max.Y+lh || w.x0 < lab.Min.X-lh || w.x0 > lab.Min.X+3*lh {
			continue
		}
		if first == nil || w.y0 < first.y0 || (w.y0 == first.y0 && w.x0 < first.x0) {
			first = w
		}
	}
	if first == nil {
		return image.Rectangle{}, false
	}
	return image.Rect(lab.Min.X-2*lh, first.y0, lab.Min.X-lh, first.y1), true
}

// minNoiseConf is the confidence (0..1) under which a value of a few
// short words is taken to be noise: an empty table cell's shading and
// rules read as "ee", "re" or "ame" at 0.31-0.53, where the typed words of
// a scan read at 0.9 and more.
const minNoiseConf = 0.6

// noise says a value read is no answer: words of at most three letters
// and no digit, read with little confidence. A signature's box is
// another matter: a pen's scribble reads as such words, and is there.
func noise(spec FieldSpec, v string, conf float64) bool {
	if v == "" || conf >= minNoiseConf || spec.Name == "signature" {
		return false
	}
	for _, w := range strings.Fields(v) {
		if strings.ContainsFunc(w, unicode.IsDigit) || letterCount(w) > 3 {
			return false
		}
	}
	return true
}

// rereadBox reads a short value's box again on its own when the whole
// page gave it blank (a required field), not valid, or not confidently:
// Tesseract's page layout can take a small box on a form for a picture,
// or read its edges into the value. The box is the label's row, right of
// the label. The better of the two reads is kept.
func (pg *ocrPage) rereadBox(fl OCRField, spec FieldSpec, lab image.Rectangle, value string) (OCRField, string) {
	if strings.Contains(value, "\n") && (spec.Type == Date || spec.Type == NHSNumber || spec.Type == Choice) {
		// The page's text beside a short box (the RAG key beside the
		// rating) went into its value: the one line that is a value is it.
		var ok []string
		for _, l := range strings.Split(value, "\n") {
			if n, err := Normalise(spec, l); err == nil && n != "" {
				ok = append(ok, l)
			}
		}
		if len(ok) == 1 {
			value = ok[0]
			fl.Text = value
		}
	}
	if pg.reread == nil || strings.Contains(value, "\n") {
		return fl, value
	}
	_, err := Normalise(spec, value)
	switch {
	case spec.Type != Date && spec.Type != NHSNumber && spec.Type != Choice && spec.Type != Text:
		return fl, value
	case value == "" && !spec.Required:
		return fl, value
	case value != "" && err == nil && fl.Confidence >= OCRMinConfidence:
		return fl, value
	case spec.Type == Text && value != "" && err == nil && len(strings.Fields(value)) > 6:
		return fl, value // a sentence: a line alone would read no better
	}
	lh := lab.Dy()
	band := image.Rect(lab.Max.X+lh, lab.Min.Y-lh/2, min(pg.w*19/20, lab.Max.X+pg.w*11/20), lab.Max.Y+lh/2)
	v, conf := pg.reread(band)
	v = fixOCRValue(spec, cleanOCRValue(v))
	if v == "" || noise(spec, v, conf) {
		return fl, value
	}
	if _, verr := Normalise(spec, v); verr != nil || (err == nil && value != "" && conf <= fl.Confidence) {
		return fl, value
	}
	fl.Text, fl.Confidence = v, math.Round(100*conf)/100
	fl.Box = [4]int{band.Min.X, band.Min.Y, band.Dx(), band.Dy()}
	return fl, v
}

// fixOCRValue undoes what OCR does to dates and numbers: a space read
// inside "08/08/201 1", a speck read as a letter before or after it.
func fixOCRValue(spec FieldSpec, v string) string {
	if spec.Type != Date && spec.Type != NHSNumber {
		return v
	}
	v = strings.TrimFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	rs := []rune(v)
	var b strings.Builder
	for i, r := range rs {
		if r == ' ' && i > 0 && i+1 < len(rs) && strings.ContainsRune("0123456789/.-", rs[i-1]) && strings.ContainsRune("0123456789/.-", rs[i+1]) && spec.Type == Date {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// labelWords finds the printed label's first line on the page: the
// chunk that is the label (after snapLabels), or starts it when the label
// wraps in its cell. The box is in pixels.
func (pg *ocrPage) labelWords(label string, used map[int]bool) (image.Rectangle, bool) {
	want := labelKey(label)
	if want == "" {
		return image.Rectangle{}, false
	}
	// The label's own line first (or its first line), then a line that
	// is the label with its answer after a colon or a space ("Label:
	// answer", "Label answer", as a Word form's answer may be typed):
	// "Date" is not taken from "Date of birth" while a line of its own
	// is there.
	for _, inline := range []bool{false, true} {
		for i, c := range pg.pt.chunks {
			k := labelKey(c.text)
			if used[-1-i] || k == "" {
				continue
			}
			own := k == want || (strings.Count(k, " ") >= 1 && strings.HasPrefix(want, k+" "))
			x1 := c.x1
			if inline {
				if own || !strings.HasPrefix(k, want+" ") {
					continue // not the label's words, then more
				}
				end, ok := labelEnd(c, want)
				if !ok {
					continue
				}
				x1 = end
			} else if !own {
				continue
			}
			used[-1-i] = true
			return image.Rect(int(c.x0/pg.scale), pg.h-int(c.top()/pg.scale), int(x1/pg.scale)+1, pg.h-int(c.bottom()/pg.scale)+1), true
		}
	}
	return image.Rectangle{}, false
}

// labelEnd is where a chunk's label ends when the chunk is the label
// (key want), then a colon or a space, and more: the colon's right edge,
// or the space's left.
func labelEnd(c *chunk, want string) (float64, bool) {
	runes := utf8.RuneCountInString(c.text)
	x := func(n int) float64 { // the left edge of rune n
		if n < len(c.runeX) {
			return c.runeX[n]
		}
		return c.x0 + (c.x1-c.x0)*float64(n)/float64(runes)
	}
	n := 0
	for i, r := range c.text {
		if (r == ':' || r == ' ') && labelKey(c.text[:i]) == want {
			if r == ':' {
				return x(n + 1), true
			}
			return x(n), true
		}
		n++
	}
	return 0, false
}

// labelSpelling is a label's key, and the key without its spaces (OCR
// drops and adds spaces between a label's words).
type labelSpelling struct{ key, squashed string }

// snapLabels puts right what OCR misread in a printed label ("Name of
// child I young person", "Dateof birth"): a chunk within a few letters of
// a label, spaces aside, is taken to be that label.
func snapLabels(pt *pageText, labels map[string]string) {
	var ks []labelSpelling
	for k := range labels {
		ks = append(ks, labelSpelling{k, strings.ReplaceAll(k, " ", "")})
	}
	slices.SortFunc(ks, func(a, b labelSpelling) int { return strings.Compare(a.key, b.key) })
	for _, c := range pt.chunks {
		k := labelKey(c.text)
		if _, ok := labels[k]; ok || len(k) < 6 || len(k) > 80 {
			continue
		}
		sq := strings.ReplaceAll(k, " ", "")
		best, bestD := "", 0
		for _, l := range ks {
			limit := max(1, len(l.squashed)/8)
			if abs(len(l.squashed)-len(sq)) > limit {
				continue
			}
			if d := editDistance(sq, l.squashed, limit); d <= limit && (best == "" || d < bestD) {
				best, bestD = l.key, d
			}
		}
		if best == "" {
			best = labelLineFor(k, ks)
		}
		if best != "" {
			c.text = best
			c.runeX = nil
		}
	}
}

// minLabelLine is the fewest letters a label's first line must have to
// be put right on its own: "at high risk of" begins two labels.
const minLabelLine = 15

// labelLineFor is the first line of a label printed over two or more
// lines that a chunk's key is within a few letters of, spaces aside ("at
// high riskof admission to a mental", of "... a mental health
// hospital"), as a label's first words up to a space; the lines are
// joined into the label later, as any label over lines is. It is "" when
// no label begins so, when the key already reads as one, or when two
// labels' lines fit it as well.
func labelLineFor(key string, ks []labelSpelling) string {
	squashed := strings.ReplaceAll(key, " ", "")
	best, bestD, tie := "", 0, false
	for _, l := range ks {
		for i := 0; i < len(l.key); i++ {
			if l.key[i] != ' ' {
				continue
			}
			line := l.key[:i]
			if line == key {
				return ""
			}
			lsq := strings.ReplaceAll(line, " ", "")
			limit := max(1, len(lsq)/8)
			if len(lsq) < minLabelLine || abs(len(lsq)-len(squashed)) > limit {
				continue
			}
			d := editDistance(squashed, lsq, limit)
			switch {
			case d > limit:
			case best == "" || d < bestD:
				best, bestD, tie = line, d, false
			case d == bestD && line != best:
				tie = true
			}
		}
	}
	if tie {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes), or
// limit+1 once it must exceed limit.
func editDistance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// closingQuotes are the marks that close each opening quote mark, as
// typed or as OCR reads them.
var closingQuotes = map[rune]string{'‘': "’'", '“': "”\"", '\'': "'’", '"': "\"”", '`': "'’`"}

// cleanOCRValue drops what OCR makes of the value box's edges and of
// empty tick boxes: bars and brackets at a line's ends, and an opening
// quote mark before a line that never closes it (a sliver of the box's
// left border, read "‘Father" or "“English").
func cleanOCRValue(v string) string {
	lines := strings.Split(v, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimFunc(l, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("|[]{}_", r) })
		if r, n := utf8.DecodeRuneInString(l); strings.ContainsRune("‘“'\"`", r) && !strings.ContainsAny(l[n:], closingQuotes[r]) {
			l = strings.TrimLeftFunc(l[n:], unicode.IsSpace)
		}
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Tick boxes: a mark is dark pixels inside the box or circle, away from
// its outline.
const (
	tickDark  = 128  // grey level below which a pixel is ink
	tickInked = 0.07 // share of the box's inside inked to count as a mark
)

// readTick reads a yes/no field's marks: the two circles before "Yes"
// and "No" on the label's row, or a lone check box right of the label.
// ok is false when no box was found.
func (pg *ocrPage) readTick(lab image.Rectangle) (value string, conf float64, box [4]int, ok bool) {
	return pg.readMarks(lab, true)
}

// readMarks is readTick, with the lone check box looked for only when
// lone is set: beside a line that is no label, the first box-shaped ink
// may be a letter.
func (pg *ocrPage) readMarks(lab image.Rectangle, lone bool) (value string, conf float64, box [4]int, ok bool) {
	lh := lab.Dy()
	row := image.Rect(lab.Max.X, lab.Min.Y-lh/3, pg.w, lab.Max.Y+lh/3)
	var yes, no *ocrWord
	glued := map[*ocrWord]bool{}
	for i := range pg.words {
		w := &pg.words[i]
		if w.x0 < lab.Max.X || w.y1 < row.Min.Y || w.y0 > row.Max.Y || w.x0 > lab.Max.X+pg.w/2 {
			continue
		}
		opt := strings.ToLower(strings.Trim(w.text, ".,;:"))
		if g, ok := gluedOption(strings.Trim(w.text, ".,;:")); ok && opt != "yes" && opt != "no" {
			// The box read as a letter glued to its option ("ONo"):
			// the box is the word's first letter.
			opt = g
			glued[w] = true
		}
		if opt == "yes" || opt == "no" {
			glued[w] = glued[w] || boxInWord(w)
		}
		switch opt {
		case "yes":
			if yes == nil {
				yes = w
			}
		case "no":
			if no == nil {
				no = w
			}
		}
	}
	if yes != nil && no != nil && !sameRow(yes, no) {
		// Typed answers of two rows (a table's rows closer than the
		// label is tall), not a pair of options: the label's own is
		// the one nearer its middle.
		mid := (lab.Min.Y + lab.Max.Y) / 2
		if abs((yes.y0+yes.y1)/2-mid) < abs((no.y0+no.y1)/2-mid) {
			no = nil
		} else {
			yes = nil
		}
	}
	if yes != nil && no != nil {
		yb, yr, yok := pg.markBefore(yes, row, glued[yes])
		nb, nr, nok := pg.markBefore(no, row, glued[no])
		switch {
		case yok && nok:
			all := yb.Union(nb)
			box = [4]int{all.Min.X, all.Min.Y, all.Dx(), all.Dy()}
			hi, lo := math.Max(yr, nr), math.Min(yr, nr)
			conf = math.Round(100*math.Min(1, (hi-lo)/(2*tickInked))) / 100
			switch {
			case hi < tickInked:
				return "", 1 - math.Round(100*hi/tickInked)/100, box, true
			case yr > nr && yr > 1.5*nr:
				return "Yes", conf, box, true
			case nr > yr && nr > 1.5*yr:
				return "No", conf, box, true
			}
			return "Yes and No both marked", conf, box, true
		case yok && glued[no]:
			// The box glued to the other option too faint to be
			// found as ink: this option's box alone tells.
			no = nil
		case nok && glued[yes]:
			yes = nil
		default:
			return "", 0, box, false
		}
	}
	if w := cmp.Or(yes, no); w != nil {
		// One word, Yes or No: with no box before it, an answer typed
		// in, read as text (a letter of it, "N", is no box); with a
		// box, that option, ticked or not.
		r, ink, ok := pg.markBefore(w, row, glued[w])
		if !ok {
			return "", 0, box, false
		}
		option, other := "No", "Yes"
		if yes != nil {
			option, other = "Yes", "No"
		}
		if ink < tickInked {
			// "☐ Yes ☑ No" with its No unread, or "☒ Yes ☐ No" with
			// its Yes (a tick box OCR makes nothing of takes its word
			// with it, or the word runs into the label's): the other
			// box, as big and as square as this one's, is the other
			// option's.
			if ob, ok := pg.otherBox(w, r, row, yes != nil); ok {
				if v, conf := tickValue(pg.inked(ob), other); v != "" {
					return v, min(conf, unsureConf), rectBox(r.Union(ob)), true
				}
			}
		}
		v, conf := tickValue(ink, option)
		return v, conf, rectBox(r), true
	}
	if !lone {
		return "", 0, box, false
	}
	// A lone check box: the first box-shaped mark right of the label.
	search := image.Rect(lab.Max.X+lh/2, row.Min.Y, min(pg.w, lab.Max.X+pg.w/2), row.Max.Y)
	for _, c := range pg.components(search) {
		if !boxShaped(c, lh) {
			continue
		}
		v, conf := tickValue(pg.inked(c), "Yes")
		if v == "" && conf >= minEmptyConf {
			// A single box is Yes ticked and No not (the forms'
			// rule, and the Word form's ☐): No when plainly empty,
			// but never confidently: a pen's tick too pale to count
			// as ink leaves a box as empty, and a No read so must go
			// to a coordinator, not to the referrer as a query.
			v, conf = "No", unsureConf
		}
		return v, conf, rectBox(c), true
	}
	return "", 0, box, false
}

// unsureConf is the confidence of an answer read from a box alone, with
// nothing on the page to confirm it: a No from an empty lone box, an
// option from a box whose word OCR dropped. It is under
// OCRMinConfidence, so that the rules take such an answer for what the
// scan may have caused (a coordinator's review, never a query).
const unsureConf = OCRMinConfidence - 0.05

// minEmptyConf is how plainly empty (tickValue's confidence) a lone box
// on a page read whole must be to be read as No: a tenth of a mark's
// ink, where a tick drawn through the box's middle is far more.
const minEmptyConf = 0.9

// tickValue reads one box from the ink inside it: ticked is the value it
// stands for, unticked blank, as on a flattened form; conf is how far the
// ink is from the line between them.
func tickValue(ink float64, ticked string) (v string, conf float64) {
	if ink >= tickInked {
		return ticked, math.Round(100*math.Min(1, ink/(2*tickInked))) / 100
	}
	return "", math.Round(100*(1-ink/tickInked)) / 100
}

// sameRow says two words are on one line: each one's middle within the
// other's height.
func sameRow(a, b *ocrWord) bool {
	ma, mb := (a.y0+a.y1)/2, (b.y0+b.y1)/2
	return ma >= b.y0 && ma <= b.y1 && mb >= a.y0 && mb <= a.y1
}

// boxInWord says a word is a letter wider than its text: a box OCR
// took into the word without reading it as a letter ("Yes" over
// "☒ Yes"), where the word begins.
func boxInWord(w *ocrWord) bool {
	return w.x1-w.x0 > (utf8.RuneCountInString(w.text)+1)*(w.y1-w.y0)*3/4
}

// markBefore finds the circle or box just before an option's word and
// how inked its inside is; glued: the word begins with it, a box OCR
// read as a letter of the word.
func (pg *ocrPage) markBefore(w *ocrWord, row image.Rectangle, glued bool) (image.Rectangle, float64, bool) {
	h := w.y1 - w.y0
	search := image.Rect(w.x0-3*h, row.Min.Y, w.x0-1, row.Max.Y)
	if glued {
		// Where the word begins, by its first letter's width, about
		// its height: the option's own letters, after it, are cut off
		// short of a box's width, and the words before it are not
		// looked at (their letters are box-shaped too).
		search.Min.X, search.Max.X = w.x0-h/4, w.x0+h+h/4
	}
	var best image.Rectangle
	found := false
	for _, c := range pg.components(search) {
		if boxShaped(c, h) && (!found || c.Max.X > best.Max.X) {
			best, found = c, true
		}
	}
	if !found {
		return best, 0, false
	}
	return best, pg.inked(best), true
}

// otherBox finds the other option's box beside an option's word and its
// box (r): the first after the word for Yes (after is set), the last
// before the box for No, as big and as square as r (a letter, "N" or
// "Y", is narrower or smaller).
func (pg *ocrPage) otherBox(w *ocrWord, r image.Rectangle, row image.Rectangle, after bool) (image.Rectangle, bool) {
	h := w.y1 - w.y0
	search := image.Rect(r.Min.X-5*h, row.Min.Y, r.Min.X-1, row.Max.Y)
	if after {
		search = image.Rect(w.x1+1, row.Min.Y, w.x1+3*h, row.Max.Y)
	}
	var found image.Rectangle
	ok := false
	for _, c := range pg.components(search) {
		ratio := float64(c.Dx()) / float64(c.Dy())
		size := float64(c.Dy()) / float64(r.Dy())
		if ratio > 0.8 && ratio < 1.25 && size > 0.8 && size < 1.25 {
			found, ok = c, true
			if after {
				break // the first after the word
			}
		}
	}
	return found, ok
}

// boxShaped: roughly square, about the size of the text beside it.
func boxShaped(r image.Rectangle, textH int) bool {
	w, h := r.Dx(), r.Dy()
	if w == 0 || h == 0 {
		return false
	}
	ratio := float64(w) / float64(h)
	return ratio > 0.6 && ratio < 1.6 && h >= textH/2 && h <= 2*textH+2 && w >= textH/2
}

// inked is the share of ink in the middle of a box, away from its edge.
func (pg *ocrPage) inked(r image.Rectangle) float64 {
	dx, dy := r.Dx()/4, r.Dy()/4
	in := image.Rect(r.Min.X+dx, r.Min.Y+dy, r.Max.X-dx, r.Max.Y-dy).Intersect(pg.img.Bounds())
	if in.Empty() {
		return 0
	}
	dark := 0
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			if pg.img.GrayAt(x, y).Y < tickDark {
				dark++
			}
		}
	}
	return float64(dark) / float64(in.Dx()*in.Dy())
}

// components are the bounding boxes of the ink's connected parts inside
// r (8-connected), left to right.
func (pg *ocrPage) components(r image.Rectangle) []image.Rectangle {
	r = r.Intersect(pg.img.Bounds())
	if r.Empty() || r.Dx()*r.Dy() > 4<<20 {
		return nil
	}
	w := r.Dx()
	seen := make([]bool, w*r.Dy())
	var out []image.Rectangle
	var part, stack []image.Point
	for x := r.Min.X; x < r.Max.X; x++ {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			i := (y-r.Min.Y)*w + (x - r.Min.X)
			if seen[i] || pg.img.GrayAt(x, y).Y >= tickDark {
				continue
			}
			var bb image.Rectangle
			part, stack, bb = inkPart(pg.img, r, seen, image.Pt(x, y), tickDark, part[:0], stack)
			if bb.Dx()*bb.Dy() >= 16 {
				out = append(out, bb)
			}
		}
	}
	return out
}
