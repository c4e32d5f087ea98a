package parser

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"4\t1\t1\t1\t1\t0\t10\t10\t200\t20\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t10\t10\t60\t20\t96.5\tSurname\n" +
		"5\t1\t1\t1\t1\t2\t80\t8\t4\t30\t51.0\t|\n" +
		"5\t1\t1\t1\t1\t3\t90\t10\t50\t20\t91.0\t[Okoro\n" +
		"5\t1\t1\t1\t1\t4\t150\t10\t10\t20\t12.0\tLL\n" +
		"5\t1\t2\t1\t1\t1\t10\t40\t40\t20\t95.0\tNHS\n" +
		"5\t1\t3\t1\t1\t1\t10\t70\t40\t20\t93.0\tGri\uFB03n\n"
	got := parseTSV([]byte(tsv))
	want := []ocrWord{
		{x0: 10, y0: 10, x1: 70, y1: 30, conf: 96.5, text: "Surname", line: 0},
		{x0: 90, y0: 10, x1: 140, y1: 30, conf: 91, text: "Okoro", line: 0},
		{x0: 10, y0: 40, x1: 50, y1: 60, conf: 95, text: "NHS", line: 1},
		{x0: 10, y0: 70, x1: 50, y1: 90, conf: 93, text: "Griffin", line: 2}, // Tesseract's ligature spelled out
	}
	if len(got) != len(want) {
		t.Fatalf("parseTSV = %+v, want %+v (box edges and noise dropped, ligatures spelled out)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("word %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSnapLabels(t *testing.T) {
	labels := DefaultMapping().Labels(Consent)
	for _, tc := range []struct{ read, want string }{
		{"Name of child I young person", "name of child young person"},
		{"Dateof birth", "date of birth"},
		{"NHS numbcr", "nhs number"},
		{"NHS nurnber", "NHS nurnber"},   // two letters off a short label is too far
		{"Joshua Okoro", "Joshua Okoro"}, // a value stays a value
		{"Father", "Father"},
	} {
		pt := &pageText{chunks: []*chunk{{text: tc.read}}}
		snapLabels(pt, labels)
		if got := pt.chunks[0].text; got != tc.want {
			t.Errorf("snapLabels(%q) = %q, want %q", tc.read, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"dateofbirth", "dateofbirth", 1, 0},
		{"dateofbirht", "dateofbirth", 2, 2},
		{"nhsnurnber", "nhsnumber", 2, 2},
		{"abc", "xyz", 1, 2}, // stops past the limit
	} {
		if got := editDistance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}

func TestFixOCRValue(t *testing.T) {
	date, _ := Spec(Referral, "cyp_dob")
	name, _ := Spec(Referral, "cyp_surname")
	for _, tc := range []struct {
		spec     FieldSpec
		in, want string
	}{
		{date, "08/08/201 1", "08/08/2011"},
		{date, "08 /08/2011", "08/08/2011"},
		{date, "a08/08/2011.", "08/08/2011"},
		{name, "Van der Berg", "Van der Berg"},
	} {
		if got := fixOCRValue(tc.spec, tc.in); got != tc.want {
			t.Errorf("fixOCRValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsHEIC(t *testing.T) {
	heic := append([]byte{0, 0, 0, 24}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)
	if !isHEIC(heic) {
		t.Error("an iPhone HEIC header is not recognised")
	}
	if isHEIC([]byte("\x00\x00\x00\x18ftypisom")) || isHEIC([]byte("%PDF-1.7")) {
		t.Error("an MP4 or a PDF is taken for HEIC")
	}
}

// drawBox draws a square outline of side s at (x, y), with a cross inside
// when ticked.
func drawBox(img *image.Gray, x, y, s int, ticked bool) {
	for i := range s {
		for _, p := range [][2]int{{x + i, y}, {x + i, y + s - 1}, {x, y + i}, {x + s - 1, y + i}} {
			img.SetGray(p[0], p[1], color.Gray{})
		}
		if ticked && i > 2 && i < s-3 {
			img.SetGray(x+i, y+i, color.Gray{})
			img.SetGray(x+i+1, y+i, color.Gray{})
			img.SetGray(x+s-1-i, y+i, color.Gray{})
			img.SetGray(x+s-2-i, y+i, color.Gray{})
		}
	}
}

// TestReadTick reads marks by the ink inside the box beside the label:
// the circle before Yes or No, or a lone check box.
func TestReadTick(t *testing.T) {
	blank := func() *ocrPage {
		img := image.NewGray(image.Rect(0, 0, 1000, 100))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		return &ocrPage{img: img, w: 1000, h: 100}
	}
	label := image.Rect(10, 40, 300, 60)
	for _, tc := range []struct {
		name       string
		yes, no    bool
		options    bool
		want       string
		wantFound  bool
		minConfPct int
	}{
		{"Yes ticked", true, false, true, "Yes", true, 90},
		{"No ticked", false, true, true, "No", true, 90},
		{"neither", false, false, true, "", true, 90},
		{"both", true, true, true, "Yes and No both marked", true, 0},
		{"lone box ticked", true, false, false, "Yes", true, 90},
		// A single box is Yes ticked and No not, as the Word form's ☐
		// reads: plainly empty, it is No, below OCRMinConfidence (a pale
		// tick leaves a box as empty: checked below).
		{"lone box empty", false, false, false, "No", true, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := blank()
			if tc.options {
				drawBox(pg.img, 400, 40, 20, tc.yes)
				drawBox(pg.img, 500, 40, 20, tc.no)
				pg.words = []ocrWord{{x0: 425, y0: 40, x1: 460, y1: 60, conf: 95, text: "Yes"}, {x0: 525, y0: 40, x1: 550, y1: 60, conf: 95, text: "No"}}
			} else {
				drawBox(pg.img, 400, 40, 20, tc.yes)
			}
			v, conf, box, ok := pg.readTick(label)
			if ok != tc.wantFound || v != tc.want || int(conf*100) < tc.minConfPct {
				t.Errorf("readTick = %q %.2f %v, want %q (confidence at least %d%%)", v, conf, ok, tc.want, tc.minConfPct)
			}
			if !tc.options && v == "No" && conf >= OCRMinConfidence {
				t.Errorf("an empty lone box read as No at %.2f: a confident No is a query to the referrer", conf)
			}
			if box[2] < 20 || box[3] < 20 {
				t.Errorf("box %v does not cover the mark", box)
			}
		})
	}
}

// TestReadTickLoneBoxSmudged: a lone box with a little ink inside it (a
// smudge, a faint mark, less than a tick's) is neither Yes nor No: only a
// plainly empty box is read as No.
func TestReadTickLoneBoxSmudged(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1000, 100))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	drawBox(img, 400, 40, 20, false)
	for x := 407; x < 413; x++ { // 6 of the middle's 100 pixels: under a tick's 7%
		img.SetGray(x, 50, color.Gray{})
	}
	pg := &ocrPage{img: img, w: 1000, h: 100}
	v, conf, _, ok := pg.readTick(image.Rect(10, 40, 300, 60))
	if !ok || v != "" {
		t.Errorf("readTick = %q %.2f %v, want no answer", v, conf, ok)
	}
}

// TestReadTickBoxInTheWord: a box OCR read into its option's word, as a
// letter ("ONo", "&Yes") or as nothing in a word a letter too wide
// ("Yes" over "☒ Yes"), is read where the word begins, and the words
// before it are not taken for its box; a box after Yes whose No OCR
// dropped is No's, and a box before No's whose Yes it dropped is Yes's.
// A letter after Yes ("N", narrower than tall) or before No (a capital,
// smaller than the box) is no box.
func TestReadTickBoxInTheWord(t *testing.T) {
	label := image.Rect(10, 40, 300, 60)
	ink := func(img *image.Gray, r image.Rectangle) { // a letter's ink, inked through
		draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
	}
	letter := func(img *image.Gray, x int) { ink(img, image.Rect(x, 40, x+12, 60)) } // 12 wide, 20 tall
	for _, tc := range []struct {
		name string
		draw func(img *image.Gray)
		ws   []ocrWord
		want string
	}{
		{"☐ Yes ☒No read as Yes ONo", func(img *image.Gray) {
			drawBox(img, 376, 40, 20, false)
			letter(img, 400)
			letter(img, 414)
			drawBox(img, 470, 40, 20, true)
			letter(img, 494)
		}, []ocrWord{{x0: 400, y0: 40, x1: 440, y1: 60, conf: 90, text: "Yes"}, {x0: 470, y0: 40, x1: 520, y1: 60, conf: 60, text: "ONo"}}, "No"},
		{"☒ Yes with its box in the word, ☐ No", func(img *image.Gray) {
			drawBox(img, 400, 40, 20, true)
			letter(img, 425)
			letter(img, 439)
			drawBox(img, 470, 40, 20, false)
			letter(img, 494)
		}, []ocrWord{{x0: 400, y0: 40, x1: 466, y1: 60, conf: 50, text: "Yes"}, {x0: 494, y0: 40, x1: 520, y1: 60, conf: 90, text: "No"}}, "Yes"},
		{"☒ Yes, its No's glued box too faint to find", func(img *image.Gray) {
			drawBox(img, 376, 40, 20, true)
			letter(img, 400)
			ink(img, image.Rect(446, 45, 461, 60)) // an "e", as wide as tall
			letter(img, 494)
		}, []ocrWord{{x0: 400, y0: 40, x1: 440, y1: 60, conf: 90, text: "Yes"}, {x0: 470, y0: 40, x1: 520, y1: 60, conf: 60, text: "ONo"}}, "Yes"},
		{"☐ Yes ☒ with No unread", func(img *image.Gray) {
			drawBox(img, 376, 40, 20, false)
			letter(img, 400)
			drawBox(img, 450, 40, 20, true)
		}, []ocrWord{{x0: 400, y0: 40, x1: 440, y1: 60, conf: 90, text: "Yes"}}, "No"},
		{"☒ with Yes unread, ☐ No", func(img *image.Gray) {
			drawBox(img, 376, 40, 20, true)
			drawBox(img, 450, 40, 20, false)
			letter(img, 474)
		}, []ocrWord{{x0: 474, y0: 40, x1: 500, y1: 60, conf: 90, text: "No"}}, "Yes"},
		{"a capital before ☐ No", func(img *image.Gray) {
			ink(img, image.Rect(420, 45, 434, 60)) // "Y": cap height, three quarters of the box's
			drawBox(img, 450, 40, 20, false)
			letter(img, 474)
		}, []ocrWord{{x0: 474, y0: 40, x1: 500, y1: 60, conf: 90, text: "No"}}, ""},
		{"☐ Yes and a letter after it", func(img *image.Gray) {
			drawBox(img, 376, 40, 20, false)
			letter(img, 400)
			letter(img, 450)
		}, []ocrWord{{x0: 400, y0: 40, x1: 440, y1: 60, conf: 90, text: "Yes"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewGray(image.Rect(0, 0, 1000, 100))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			tc.draw(img)
			pg := &ocrPage{img: img, w: 1000, h: 100, words: tc.ws}
			v, conf, _, ok := pg.readTick(label)
			if !ok || v != tc.want {
				t.Errorf("readTick = %q %.2f %v, want %q", v, conf, ok, tc.want)
			}
			if strings.Contains(tc.name, "unread") && conf >= OCRMinConfidence {
				t.Errorf("read at %.2f from a box without its word: a confident answer may be a query to the referrer", conf)
			}
		})
	}
}

// TestReadTickTypedAnswers: a Yes/No typed into a table's cell (the form
// typed into Word, printed and scanned) is an answer read as text, not a
// mark: the letter "N" of "No" is about a box's size and inked in the
// middle, and the lone-box reading took it for a ticked box, No read as
// Yes. An empty box before this row's "No" is read as no answer, whatever
// is ticked on the row below, which a label's row reaches into; a ticked
// one as No (the lone-box reading made every ticked box Yes).
func TestReadTickTypedAnswers(t *testing.T) {
	label := image.Rect(10, 40, 300, 60)
	no := ocrWord{x0: 400, y0: 41, x1: 432, y1: 60, conf: 95, text: "No"}
	yesBelow := ocrWord{x0: 400, y0: 61, x1: 440, y1: 80, conf: 95, text: "Yes"}
	for _, tc := range []struct {
		name  string
		words []ocrWord
		boxes map[int]bool // a box before word i, ticked or not
		found bool
		want  string
	}{
		{"typed No", []ocrWord{no}, nil, false, ""},
		{"an empty box before No, a ticked one before Yes on the row below", []ocrWord{no, yesBelow}, map[int]bool{0: false, 1: true}, true, ""},
		{"a ticked box before a lone No", []ocrWord{no}, map[int]bool{0: true}, true, "No"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewGray(image.Rect(0, 0, 1000, 100))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			for i, w := range tc.words {
				h := w.y1 - w.y0
				if ticked, ok := tc.boxes[i]; ok {
					drawBox(img, w.x0-h-4, w.y0, h, ticked)
				} else {
					// The letters as the image has them: an "N" is
					// box-shaped and inked across its middle.
					drawBox(img, w.x0, w.y0, h, true)
				}
			}
			pg := &ocrPage{img: img, w: 1000, h: 100, words: tc.words}
			v, _, _, ok := pg.readTick(label)
			if ok != tc.found || v != tc.want {
				t.Errorf("readTick = %q, found %v; want %q, found %v", v, ok, tc.want, tc.found)
			}
		})
	}
}

// TestReadTemplateOptionsOffFit: a row of Yes/No buttons (printed rings,
// one with a check mark inside, a word printed beside each) 5 pixels right
// of and 8 below where the fit puts them, as far from the labels a fit
// was made from. The checked one is read, the other not.
func TestReadTemplateOptionsOffFit(t *testing.T) {
	const s = 2.4 // pixels a point: a 10-point button is 24 pixels
	for _, tc := range []struct {
		name    string
		checked int // the button with the mark: 0 Yes, 1 No, -1 neither
		want    string
	}{
		{"Yes checked", 0, "Yes"},
		{"No checked", 1, "No"},
		{"neither", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewGray(image.Rect(0, 0, 600, 200))
			for i := range img.Pix {
				img.Pix[i] = 235
			}
			dot := func(x, y int) {
				if image.Pt(x, y).In(img.Rect) {
					img.Pix[img.PixOffset(x, y)] = 30
				}
			}
			// The fit puts the buttons at x 100..124 and 200..224, y 50..74
			// (points 41.67.. and 83.33.., 20.83..); they are printed at
			// x 105.. and 205.., y 58...
			opts := []*ocrTemplateBox{
				{field: "consent_given", typ: ocrBoxOption, export: "Yes", rect: [4]float64{100 / s, 50 / s, 124 / s, 74 / s}},
				{field: "consent_given", typ: ocrBoxOption, export: "No", rect: [4]float64{200 / s, 50 / s, 224 / s, 74 / s}},
			}
			for i, x0 := range []int{105, 205} {
				cx, cy := float64(x0)+12, 58.0+12
				for a := 0.0; a < 2*math.Pi; a += 0.01 {
					for r := 10.0; r <= 12; r += 0.5 {
						dot(int(cx+r*math.Cos(a)), int(cy+r*math.Sin(a)))
					}
				}
				if i == tc.checked {
					for d := -5; d <= 5; d++ { // a check mark
						for w := range 2 {
							if d < 0 {
								dot(int(cx)+d, int(cy)-d/2+w)
							} else {
								dot(int(cx)+d, int(cy)-d+2+w)
							}
						}
					}
				}
				for x := x0 + 30; x < x0+60; x += 4 { // the word beside it
					for y := 60; y < 80; y++ {
						dot(x, y)
					}
				}
			}
			pg := &ocrPage{img: img, w: 600, h: 200, fit: &ocrFit{a: s, e: s, scale: s}, fields: map[string]OCRField{}, values: map[string]string{}}
			pg.readTemplateOptions("consent_given", opts)
			if got := pg.values["consent_given"]; got != tc.want {
				t.Errorf("read %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSideways(t *testing.T) {
	words := func(n int, w, h int) []ocrWord {
		var ws []ocrWord
		for i := range n {
			ws = append(ws, ocrWord{x0: 10, y0: 30 * i, x1: 10 + w, y1: 30*i + h, conf: 95, text: "Surname"})
		}
		return ws
	}
	for _, tc := range []struct {
		name string
		ws   []ocrWord
		want bool
	}{
		{"upright: words wider than tall", words(60, 90, 20), false},
		{"on its side: words taller than wide", words(60, 20, 90), true},
		{"too few words to tell", words(minGoodWords-1, 20, 90), false},
		{"half and half", append(words(30, 90, 20), words(30, 20, 90)...), false},
	} {
		if got := sideways(tc.ws); got != tc.want {
			t.Errorf("%s: sideways = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBlankPage(t *testing.T) {
	page := func(inked int) *image.Gray {
		g := image.NewGray(image.Rect(0, 0, 100, 100))
		for i := range g.Pix {
			g.Pix[i] = 235 // paper, and show-through and speckle lighter than ink
		}
		for i := range inked {
			g.Pix[i*7] = 20
		}
		return g
	}
	for _, tc := range []struct {
		inked int // of 10,000 pixels
		want  bool
	}{{0, true}, {9, true}, {10, false}, {300, false}} {
		if got := blankPage(page(tc.inked)); got != tc.want {
			t.Errorf("%d inked pixels of 10000: blank = %v, want %v", tc.inked, got, tc.want)
		}
	}
}

// TestPictureMagic: WebP and BMP by their headers, not what only begins
// like them (a voice note is RIFF too; a text may begin "BM").
func TestPictureMagic(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"WebP", "RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", true},
		{"WebP, extended", "RIFF\x86\x46\x04\x00WEBPVP8X\x0a\x00\x00\x00", true},
		{"a WAVE recording", "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", false},
		{"RIFF cut short", "RIFF\x24\x00\x00\x00WEBP", false},
		{"BMP", "BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x00\x04\x00\x00\x00\x03\x00\x00\x01\x00", true},
		{"text beginning BM", "BMW service booked for Tuesday at ten", false},
		{"BMP header with no room for its header", "BM\x36\x00\x0c\x00\x00\x00\x00\x00\x0e\x00\x00\x00\x28\x00\x00\x00\x00\x04\x00\x00\x00\x03\x00\x00", false},
	}
	for _, tt := range tests {
		if got := isImageMagic([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: isImageMagic = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTickBoxOffFit: a tick box the fit puts a few points from where it
// is printed (a photo turned 2 degrees, the fit pinned by labels in one
// column) is read where its printed square is: empty is empty, not its
// own outline read as a tick, and a tick is a tick.
func TestTickBoxOffFit(t *testing.T) {
	const s = 2.78
	for _, ticked := range []bool{false, true} {
		img, ink := greyPage(300, 200)
		// Printed at x 110..135, y 60..85; the fit says 100..125, 63..88.
		ink(image.Rect(110, 60, 135, 63), 40)
		ink(image.Rect(110, 82, 135, 85), 40)
		ink(image.Rect(110, 60, 113, 85), 40)
		ink(image.Rect(132, 60, 135, 85), 40)
		ink(image.Rect(60, 0, 62, 200), 40) // the table's rule left of it
		if ticked {
			for d := range 10 {
				ink(image.Rect(116+d, 78-d, 119+d, 81-d), 30)
			}
		}
		pg := &ocrPage{img: img, w: 300, h: 200, fit: &ocrFit{a: s, e: s, scale: s}}
		r := pg.inkedAt(pg.fit, [4]float64{100 / s, 63 / s, 125 / s, 88 / s})
		if ticked && r < tickInked || !ticked && r >= tickInked {
			t.Errorf("ticked %v: %.3f of the inside inked (a mark from %.2f)", ticked, r, tickInked)
		}
	}
}

// TestClearRulesKeepsText: clearRules whitens a box's border, solid or a
// thin band with paper on both sides, but not the row of a long line of
// text that is over half ink (its small letters' tops, blurred), which
// cut the line in two for Tesseract.
func TestClearRulesKeepsText(t *testing.T) {
	img, ink := greyPage(400, 80)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	ink(image.Rect(0, 5, 400, 7), 30) // the border: solid
	for x := 10; x < 390; x += 12 {   // a line of letters: bodies 14 rows, tops one dense row
		ink(image.Rect(x, 30, x+3, 44), 40)
		ink(image.Rect(x+7, 30, x+10, 44), 40)
		ink(image.Rect(x, 30, x+10, 31), 40)
	}
	ink(image.Rect(0, 70, 260, 71), 60) // a thin band, paper either side
	clearRules(img, img.Bounds())
	row := func(y int) int {
		n := 0
		for x := range 400 {
			if img.Pix[y*img.Stride+x] < tickDark {
				n++
			}
		}
		return n
	}
	if row(5) != 0 || row(6) != 0 || row(70) != 0 {
		t.Errorf("rules left: %d %d %d", row(5), row(6), row(70))
	}
	if row(30) == 0 {
		t.Error("the letters' top row was cleared as a rule")
	}
}

// TestPhotoPage: a page photographed on a dark desk is cut out of the
// photo, mapped onto a rectangle of A4's width at 200 dpi and the desk
// left at its edges made white; a scan that fills the frame, even with a
// dark band printed across its top, is left whole. (A page on a light
// table is found by its edges: TestEdgeQuad.)
func TestPhotoPage(t *testing.T) {
	page := func(bg uint8, band bool) *image.Gray {
		img, ink := greyPage(1000, 1400)
		ink(img.Bounds(), bg)
		ink(image.Rect(150, 180, 850, 1220), 235) // the page
		for y := 260; y < 1160; y += 40 {         // its lines of print
			for x := 200; x < 800; x += 14 {
				ink(image.Rect(x, y, x+8, y+10), 30)
			}
		}
		ink(image.Rect(150, 1190, 170, 1220), bg) // a corner of desk in the page's box
		if band {
			ink(image.Rect(0, 0, 1000, 60), 20)
		}
		return img
	}
	t.Run("on a dark desk", func(t *testing.T) {
		got := photoPage(page(70, false))
		// The page, 700 by 1040 points, is nearly A4's shape (1.49
		// against 1.41): it is given A4's.
		if got.Bounds() != image.Rect(0, 0, warpWidth, 2339) {
			t.Fatalf("page image %v, want A4 at 200 dpi", got.Bounds())
		}
		// Nothing dark but the print, which is where it was on the page,
		// scaled: 50 to 650 points across, 80 to 980 down of 700 by 1040.
		print := image.Rect(50*warpWidth/700-3, 80*2339/1040-3, 650*warpWidth/700+3, 980*2339/1040+3)
		for y := range 2339 {
			for x := range warpWidth {
				if got.GrayAt(x, y).Y < tickDark && !image.Pt(x, y).In(print) {
					t.Fatalf("dark at %d,%d, outside the print %v", x, y, print)
				}
			}
		}
		if blankPage(got) {
			t.Error("the page's print was lost")
		}
	})
	for _, tc := range []struct {
		name string
		img  *image.Gray
	}{
		{"a scan filling the frame, a dark band across its top", func() *image.Gray {
			img := page(235, true)
			return img
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := photoPage(tc.img); got != tc.img {
				t.Errorf("cut to %v, want the whole %v", got.Bounds(), tc.img.Bounds())
			}
		})
	}
}

// deskQuad draws a page (paper 235 with rows of print) photographed on a
// desk of grey desk as the quadrilateral q (top left, top right, bottom
// right, bottom left), through the same projective map the reader undoes;
// rows is how many rows of print, evenly spaced down the page.
func deskQuad(w, h int, q [4]quadPoint, rows int, desk uint8) *image.Gray {
	img, ink := greyPage(w, h)
	ink(img.Bounds(), desk)
	m := squareToQuad(q)
	n := 2 * max(w, h) // steps across and down: finer than the pixels
	for j := range n {
		t := (float64(j) + 0.5) / float64(n)
		for i := range n {
			s := (float64(i) + 0.5) / float64(n)
			v := uint8(235)
			if r := t * float64(rows+1); r > 1 && r < float64(rows)+0.6 && r-math.Floor(r) < 0.25 && s > 0.1 && s < 0.9 && int(s*60)%2 == 0 {
				v = 30
			}
			x, y := m.at(s, t)
			if p := image.Pt(int(x), int(y)); p.In(img.Bounds()) {
				img.SetGray(p.X, p.Y, color.Gray{Y: v})
			}
		}
	}
	return img
}

// TestPhotoPageQuadrilateral: a page photographed turned and tilted (a
// quadrilateral on the desk) comes out upright and square: each row of
// its print level and the rows evenly spaced; a hand over a corner still
// lets the corner be found where the page's edges meet; a page whose
// region is not a quadrilateral (a hand across a third of it) is cut out
// by its box as before, not warped.
func TestPhotoPageQuadrilateral(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    [4]quadPoint
		hand image.Rectangle // dark, from the frame's edge
	}{
		{"turned 5 degrees", [4]quadPoint{{250, 160}, {1240, 246}, {1120, 1640}, {130, 1554}}, image.Rectangle{}},
		{"the top 12% narrower", [4]quadPoint{{260, 220}, {1140, 220}, {1200, 1640}, {200, 1640}}, image.Rectangle{}},
		{"tilted sideways and turned", [4]quadPoint{{240, 260}, {1180, 170}, {1250, 1650}, {280, 1520}}, image.Rectangle{}},
		{"a thumb over a corner", [4]quadPoint{{250, 160}, {1240, 246}, {1120, 1640}, {130, 1554}}, image.Rect(1060, 1560, 1400, 1800)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := deskQuad(1400, 1800, tc.q, 12, 70)
			for y := tc.hand.Min.Y; y < tc.hand.Max.Y; y++ {
				for x := tc.hand.Min.X; x < tc.hand.Max.X; x++ {
					img.SetGray(x, y, color.Gray{Y: 60})
				}
			}
			upright(t, photoPage(img), 12)
		})
	}
	t.Run("at a 12 MP camera's resolution", func(t *testing.T) {
		// A page 2,300 pixels across, turned 4 degrees: read at A4's
		// 200 dpi, as a scan is, not at the camera's.
		img := deskQuad(3000, 4000, [4]quadPoint{{400, 300}, {2694, 460}, {2467, 3705}, {173, 3545}}, 12, 70)
		upright(t, photoPage(img), 12)
	})
	t.Run("photographed sideways", func(t *testing.T) {
		// The frame held landscape, the page on its side: mapped at
		// A4's resolution on its side (turned upright later), its
		// rows of print running down the page image.
		img := deskQuad(1800, 1400, [4]quadPoint{{1554, 250}, {1640, 1240}, {246, 1360}, {160, 370}}, 12, 70)
		got := photoPage(img)
		if got.Bounds().Dy() != warpWidth || math.Abs(float64(got.Bounds().Dx())/warpWidth-math.Sqrt2) > 0.01 {
			t.Fatalf("page image %v, want A4 on its side, %d high", got.Bounds(), warpWidth)
		}
	})
	t.Run("a hand across a third of the page", func(t *testing.T) {
		img := deskQuad(1400, 1800, [4]quadPoint{{250, 160}, {1240, 246}, {1120, 1640}, {130, 1554}}, 12, 70)
		for y := 900; y < 1800; y++ {
			for x := 700; x < 1400; x++ {
				img.SetGray(x, y, color.Gray{Y: 60})
			}
		}
		p := findPage(img)
		if p == nil {
			t.Fatal("no page found")
		}
		if q, ok := p.quad(); ok {
			t.Fatalf("taken for a quadrilateral %v", q)
		}
		if got := photoPage(img); got.Bounds().Size() != p.crop.Size() {
			t.Errorf("page image %v, want the page's box %v", got.Bounds(), p.crop.Size())
		}
	})
}

// rowsOf is each row of print's middle on the left and the right
// quarter of page image g, from the top.
func rowsOf(g *image.Gray) (left, right []float64) {
	b := g.Bounds()
	for _, band := range [2][2]int{{b.Dx() / 8, b.Dx() * 3 / 8}, {b.Dx() * 5 / 8, b.Dx() * 7 / 8}} {
		var mids []float64
		start := -1
		for y := range b.Dy() + 1 {
			dark := false
			for x := band[0]; x < band[1] && y < b.Dy(); x++ {
				if g.GrayAt(x, y).Y < 128 {
					dark = true
					break
				}
			}
			switch {
			case dark && start < 0:
				start = y
			case !dark && start >= 0:
				mids = append(mids, float64(start+y-1)/2)
				start = -1
			}
		}
		if band[0] == b.Dx()/8 {
			left = mids
		} else {
			right = mids
		}
	}
	return left, right
}

// upright asserts that page image g is A4 at 200 dpi, its rows of print
// (rows of them, evenly spaced as deskQuad draws them) level and where
// they are on the page.
func upright(t *testing.T, g *image.Gray, rows int) {
	t.Helper()
	if g.Bounds().Dx() != warpWidth || math.Abs(float64(g.Bounds().Dy())/warpWidth-math.Sqrt2) > 0.01 {
		t.Fatalf("page image %v, want A4's shape %d wide", g.Bounds(), warpWidth)
	}
	left, right := rowsOf(g)
	if len(left) != rows || len(right) != rows {
		t.Fatalf("rows of print: %d on the left, %d on the right, want %d", len(left), len(right), rows)
	}
	step := float64(g.Bounds().Dy()) / float64(rows+1)
	for i := range left {
		if d := math.Abs(left[i] - right[i]); d > 4 {
			t.Errorf("row %d: %.0f on the left, %.0f on the right: not level", i, left[i], right[i])
		}
		if want := step*float64(i+1) + step/8; math.Abs(left[i]-want) > step/6 {
			t.Errorf("row %d at %.0f, want about %.0f", i, left[i], want)
		}
	}
}

// TestEdgeQuad: a page on a light desk, the light falling off across the
// photo so that the paper in one corner is darker than the desk in the
// other, is not found by its grey (findPage) but by its edges, each a
// step up from the desk beside it: its corners within a cell of where
// they are, the page mapped upright. A scan that fills the frame, a dark
// band printed across its top, and a page on a desk as white as it, have
// no such edges, and are left whole.
func TestEdgeQuad(t *testing.T) {
	falloff := func(img *image.Gray) {
		b := img.Bounds()
		for y := range b.Dy() {
			for x := range b.Dx() {
				f := 0.95 - 0.3*float64(x+y)/float64(b.Dx()+b.Dy())
				img.Pix[y*img.Stride+x] = uint8(float64(img.Pix[y*img.Stride+x]) * f)
			}
		}
	}
	for _, tc := range []struct {
		name string
		q    [4]quadPoint
		desk uint8
	}{
		{"a light wooden desk, turned 5 degrees", [4]quadPoint{{250, 160}, {1240, 246}, {1120, 1640}, {130, 1554}}, 195},
		{"a pale desk, the top 12% narrower", [4]quadPoint{{260, 220}, {1140, 220}, {1200, 1640}, {200, 1640}}, 205},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := deskQuad(1400, 1800, tc.q, 12, tc.desk)
			falloff(img)
			if findPage(img) != nil {
				t.Fatal("findPage told page and desk apart: not the light desk meant")
			}
			q, ok := edgeQuad(img)
			if !ok {
				t.Fatal("no page found by its edges")
			}
			for i := range q {
				if d := math.Hypot(q[i].x-tc.q[i].x, q[i].y-tc.q[i].y); d > deskCell {
					t.Errorf("corner %d at %.0f,%.0f, want %.0f,%.0f", i, q[i].x, q[i].y, tc.q[i].x, tc.q[i].y)
				}
			}
			upright(t, photoPage(img), 12)
		})
	}
	for _, tc := range []struct {
		name string
		img  *image.Gray
	}{
		{"a scan filling the frame, a dark band across its top", func() *image.Gray {
			img, ink := greyPage(1000, 1400)
			ink(img.Bounds(), 235)
			ink(image.Rect(0, 0, 1000, 60), 20)
			for y := 260; y < 1160; y += 40 {
				for x := 200; x < 800; x += 14 {
					ink(image.Rect(x, y, x+8, y+10), 30)
				}
			}
			return img
		}()},
		{"a page on a desk as white as it", deskQuad(1400, 1800, [4]quadPoint{{250, 160}, {1240, 246}, {1120, 1640}, {130, 1554}}, 12, 235)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if q, ok := edgeQuad(tc.img); ok {
				t.Errorf("found a page at %v", q)
			}
			if got := photoPage(tc.img); got != tc.img {
				t.Errorf("cut to %v, want the whole %v", got.Bounds(), tc.img.Bounds())
			}
		})
	}
}

// TestCleanOCRValue: what OCR reads of a value box's edges goes, the
// value stays: bars and brackets at a line's ends, and an opening quote
// mark that nothing closes (a sliver of the box's left border); a quote
// that is closed, or inside a name, stays.
func TestCleanOCRValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"| Father |", "Father"},
		{"‘Father", "Father"},
		{"“English", "English"},
		{"' Chidi Okoro", "Chidi Okoro"},
		{"“Hearing voices” at night", "“Hearing voices” at night"},
		{"'Safe' space", "'Safe' space"},
		{"O'Brien", "O'Brien"},
		{"6 Rectory Lane\n‘Beckenham\n[ ]", "6 Rectory Lane\nBeckenham"},
		{"‘", ""},
	} {
		if got := cleanOCRValue(tc.in); got != tc.want {
			t.Errorf("cleanOCRValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestOCRNoise: a value of a few short words read with little confidence
// is an empty cell's shading or rules, not an answer; a signature's is a
// scribble, and is kept.
func TestOCRNoise(t *testing.T) {
	spec := func(k FormKind, name string) FieldSpec { return mustSpec(t, k, name) }
	for _, tc := range []struct {
		spec  FieldSpec
		v     string
		conf  float64
		noise bool
	}{
		{spec(Referral, "parent_relationship"), "ee", 0.38, true},
		{spec(Referral, "referrer_role"), "ame", 0.53, true},
		{spec(Referral, "cyp_known_as"), "re a", 0.31, true},
		{spec(Referral, "parent_relationship"), "Mum", 0.92, false},    // read well
		{spec(Referral, "cyp_first_language"), "English", 0.41, false}, // a word, if a poor read
		{spec(Referral, "parent_phone"), "07", 0.40, false},            // digits
		{spec(Consent, "signature"), "ae ee", 0.35, false},             // a scribble is a signature
		{spec(Referral, "svc_other"), "", 0, false},
	} {
		if got := noise(tc.spec, tc.v, tc.conf); got != tc.noise {
			t.Errorf("noise(%s, %q, %.2f) = %v, want %v", tc.spec.Name, tc.v, tc.conf, got, tc.noise)
		}
	}
}

// TestRereadNoise: a required field found blank is read again from its
// label's row; what that read gives is an answer only if it is not an
// empty cell's noise.
func TestRereadNoise(t *testing.T) {
	lab := image.Rect(10, 40, 300, 60)
	for _, tc := range []struct {
		read string
		conf float64
		want string
	}{
		{"ee", 0.40, ""},
		{"Lee", 0.93, "Lee"},
	} {
		pg := &ocrPage{w: 1000, h: 100, reread: func(image.Rectangle) (string, float64) { return tc.read, tc.conf }}
		if _, v := pg.rereadBox(OCRField{}, mustSpec(t, Referral, "cyp_surname"), lab, ""); v != tc.want {
			t.Errorf("reread %q at %.2f: value %q, want %q", tc.read, tc.conf, v, tc.want)
		}
	}
}

// TestTextWords: Tesseract reads a column of check boxes as one tall
// "word" ("08", four rows tall), which joined the rows it spans into one
// line of the layout, and a speck as a letter; both are left out of an
// upright page's words, and the page's text is not.
func TestTextWords(t *testing.T) {
	var ws []ocrWord
	for i := range minGoodWords {
		ws = append(ws, ocrWord{x0: 100, y0: 40 * i, x1: 180, y1: 40*i + 21, conf: 95, text: "Surname"})
	}
	body := len(ws)
	column := ocrWord{x0: 770, y0: 488, x1: 790, y1: 652, conf: 53, text: "08"}
	speck := ocrWord{x0: 1570, y0: 1281, x1: 1578, y1: 1285, conf: 86, text: "L"}
	kept := []ocrWord{
		{x0: 700, y0: 100, x1: 760, y1: 145, conf: 90, text: "Petra"},  // a signature, twice the text's height
		{x0: 300, y0: 100, x1: 304, y1: 104, conf: 90, text: "."},      // a full stop: no letter
		{x0: 800, y0: 300, x1: 1200, y1: 400, conf: 60, text: "Novak"}, // tall but wider still
		{x0: 100, y0: 900, x1: 112, y1: 908, conf: 80, text: "18"},     // footnote digits: over a third
	}
	got := textWords(slices.Concat(ws, []ocrWord{column, speck}, kept))
	if len(got) != body+len(kept) || slices.ContainsFunc(got, func(w ocrWord) bool { return w == column || w == speck }) {
		t.Errorf("kept %d words, want the %d words of text and the signature, stop, wide word and footnote: %+v", len(got), body+len(kept), got[body:])
	}
	// On its side every word is tall: a page with few words of two or
	// more letters (before it is turned) is left as it is.
	few := []ocrWord{column, speck, {x0: 100, y0: 40, x1: 120, y1: 200, conf: 90, text: "Surname"}}
	if got := textWords(few); len(got) != len(few) {
		t.Errorf("a page of %d words lost %d", len(few), len(few)-len(got))
	}
}

// TestSnapLabelFirstLine: the first line of a label printed over two,
// read by OCR with two of its words run together, is put right, so the
// two lines make the label; a line that could begin two labels as well,
// or that already reads right, is left as it is.
func TestSnapLabelFirstLine(t *testing.T) {
	labels := DefaultMapping().Labels(Referral)
	for _, tc := range []struct{ line, want string }{
		{"At high riskof admission to a mental", "at high risk of admission to a mental"},
		{"At high risk of admision to a mental", "at high risk of admission to a mental"},
		{"At high risk of admission to a mental", "At high risk of admission to a mental"},
		{"At high riskof", "At high riskof"},
		{"Self-harm and food refusal since September", "Self-harm and food refusal since September"},
	} {
		pt := printedPage(printedLine{60, 700, tc.line}, printedLine{60, 688.5, "health hospital"})
		snapLabels(pt, labels)
		if got := pt.chunks[0].text; got != tc.want {
			t.Errorf("%q snapped to %q, want %q", tc.line, got, tc.want)
		}
	}
	pt := printedPage(printedLine{60, 700, "At high riskof admission to a mental"}, printedLine{60, 688.5, "health hospital"},
		printedLine{300, 700, "Yes"})
	snapLabels(pt, labels)
	lvs, _ := findLabelValues(pt, labels)
	if v, ok := valueOf(lvs, "at high risk of admission to a mental health hospital"); !ok || v != "Yes" {
		t.Errorf("the label over two lines: %q (found %v), want Yes: %+v", v, ok, lvs)
	}
}

// ocrWordsOf gives a page laid out by ocrLinePage its words in pixels, one
// pixel a point (scale 1), each word as wide as its letters.
func ocrWordsOf(h int, lines ...ocrLine) []ocrWord {
	var ws []ocrWord
	for _, l := range lines {
		x := l.x
		for _, w := range strings.Fields(l.text) {
			wd := float64(len([]rune(w))) * l.size / 2
			ws = append(ws, ocrWord{x0: int(x), y0: h - int(l.base+0.8*l.size), x1: int(x + wd), y1: h - int(l.base), conf: 96, text: w})
			x += wd + l.size/2
		}
	}
	return ws
}

// TestOCRLabelCellAnswers: on a scan of the Word form with answers typed
// under their labels, an answer's field has its words' place and
// confidence (they were looked for right of the label only, and a
// coordinator was shown a blank box at no confidence), and the last
// label's answer, its row broken across pages, is read from the top of
// the next page.
func TestOCRLabelCellAnswers(t *testing.T) {
	first := []ocrLine{
		{60, 700, 10, "Surname"}, {60, 688.5, 10, "Nguyen"},
		{60, 671, 10, "Known as"}, {60, 659.5, 10, "Zoe"},
		{60, 642, 10, "Mental health concern"},
	}
	second := []ocrLine{{60, 800, 10, "Self-harm since September;"}, {60, 788.5, 10, "two A&E attendances."}, {60, 771, 10, "Proposed RAG rating"}, {250, 771, 10, "Red"}}
	var pages []*ocrPage
	for i, lines := range [][]ocrLine{first, second} {
		img := image.NewGray(image.Rect(0, 0, 595, 842))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		pages = append(pages, &ocrPage{index: i, w: 595, h: 842, scale: 1, img: img, pt: ocrLinePage(lines...), words: ocrWordsOf(842, lines...)})
	}
	forms := assembleOCRForms(DefaultMapping(), pages)
	if len(forms) != 1 {
		t.Fatalf("%d forms, want the referral", len(forms))
	}
	f := forms[0]
	if v, _ := valueOf(f.ByLabel, "Mental health concern"); strings.Join(strings.Fields(v), " ") != "Self-harm since September; two A&E attendances." {
		t.Errorf("Mental health concern = %q, want the answer at the next page's top: %+v", v, f.ByLabel)
	}
	if fl := f.OCR.Fields["mh_concern"]; fl.Page != 2 || fl.Confidence != 0.96 || fl.Box[1] > 60 {
		t.Errorf("mh_concern's field %+v, want page 2, confidence 0.96, at the page's top", fl)
	}
	if fl := f.OCR.Fields["cyp_surname"]; fl.Text != "Nguyen" || fl.Confidence != 0.96 || fl.Box[2] == 0 {
		t.Errorf("cyp_surname's field %+v, want Nguyen at 0.96 where its word is", fl)
	}
}

// TestOCRYesNoUnderLabel: a Word form's Yes/No answered under its label
// (its options on a line of their own, or typed) or after its colon or a
// space on the label's line is read from its boxes there; a typed "No" stays the
// text it is, and the line under a label is not searched for a lone box
// (the next label's first letter is box-shaped and inked).
func TestOCRYesNoUnderLabel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []ocrLine
		value string
		boxes map[float64]bool // a box left of the word at this x, ticked or not
		want  string
	}{
		{"options under the label, Yes ticked", []ocrLine{{60, 700, 20, "Share with: Health"}, {84, 676, 20, "Yes"}, {144, 676, 20, "No"}},
			"Yes No", map[float64]bool{84: true, 144: false}, "Yes"},
		{"options under the label, No ticked", []ocrLine{{60, 700, 20, "Share with: Health"}, {84, 676, 20, "Yes"}, {144, 676, 20, "No"}},
			"Yes No", map[float64]bool{84: false, 144: true}, "No"},
		{"typed No under the label", []ocrLine{{60, 700, 20, "Share with: Health"}, {60, 676, 20, "No"}},
			"No", nil, "No"},
		{"typed No beside the label, the next label under it", []ocrLine{{60, 700, 20, "Share with: Health"}, {300, 700, 20, "No"}, {60, 676, 20, "Share with: Education"}},
			"No", nil, "No"},
		{"options after the label's colon", []ocrLine{{60, 700, 20, "Share with: Health: Yes No"}},
			"Yes No", map[float64]bool{260: false, 300: true}, "No"},
		{"options after the label and a space", []ocrLine{{60, 700, 20, "Share with: Health Yes No"}},
			"Yes No", map[float64]bool{250: true, 290: false}, "Yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewGray(image.Rect(0, 0, 595, 842))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			ws := ocrWordsOf(842, tc.lines...)
			for _, w := range ws {
				ticked, ok := tc.boxes[float64(w.x0)]
				if ok {
					drawBox(img, w.x0-24, w.y0, 16, ticked)
				}
				drawBox(img, w.x0, w.y0, 14, true) // its first letter: box-shaped, inked
			}
			pg := &ocrPage{w: 595, h: 842, scale: 1, img: img, pt: ocrLinePage(tc.lines...), words: ws}
			fl, v := pg.locate(LabelValue{Label: "Share with: Health", Value: tc.value}, "share_health", Consent, map[int]bool{})
			if got, blank, err := ParseYesNo(v); err != nil || blank || (got && tc.want != "Yes") || (!got && tc.want != "No") {
				t.Errorf("read %q (tick %v, %+v), want %s", v, fl.Tick, fl.Box, tc.want)
			}
		})
	}
}

// TestReadChoiceMarks: the Word form's consent basis, each option with a
// box before it that OCR reads as any letter ("©", "&"), is read by the
// ink in the boxes; an option typed alone, with no boxes before the
// others, is left to the text.
func TestReadChoiceMarks(t *testing.T) {
	spec := mustSpec(t, Consent, "consent_basis")
	label := ocrLine{60, 700, 20, "Consent is given by"}
	options := []ocrLine{{330, 700, 20, "Young person (16 or over, with capacity)"}, {330, 676, 20, "Person with parental responsibility"}, {330, 652, 20, "Best interest decision"}}
	for _, tc := range []struct {
		name   string
		lines  []ocrLine
		ticked map[int]bool // a box before option line i (of lines after the label), ticked or not
		want   string
		ok     bool
	}{
		{"the first ticked", options, map[int]bool{0: true, 1: false, 2: false}, "Young person (16 or over, with capacity)", true},
		{"the last ticked", options, map[int]bool{0: false, 1: false, 2: true}, "Best interest decision", true},
		{"none ticked", options, map[int]bool{0: false, 1: false, 2: false}, "", true},
		{"one option typed, no boxes", options[:1], nil, "", false},
		{"two of three options found, the first ticked", options[:2], map[int]bool{0: true, 1: false}, "Young person (16 or over, with capacity)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := append([]ocrLine{label}, tc.lines...)
			img := image.NewGray(image.Rect(0, 0, 595, 842))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			ws := ocrWordsOf(842, lines...)
			for i := range ws {
				ws[i].line = 842 - ws[i].y1                // one line a baseline
				drawBox(img, ws[i].x0, ws[i].y0, 14, true) // its first letter: box-shaped, inked
			}
			for i, ticked := range tc.ticked {
				l := tc.lines[i]
				drawBox(img, int(l.x)-24, 842-int(l.base+0.8*l.size), 16, ticked)
			}
			pg := &ocrPage{w: 595, h: 842, scale: 1, img: img, pt: ocrLinePage(lines...), words: ws}
			lab, _ := pg.labelWords(label.text, map[int]bool{})
			v, conf, _, ok := pg.readChoiceMarks(spec, lab)
			if ok != tc.ok || v != tc.want {
				t.Errorf("readChoiceMarks = %q %.2f %v, want %q %v", v, conf, ok, tc.want, tc.ok)
			}
			if v != "" && len(tc.ticked) < len(spec.Choices) && conf >= OCRMinConfidence {
				t.Errorf("read at %.2f with an option not found: a confident answer may be a query to the referrer", conf)
			}
			// As the page's fields are read: the text OCR made of the
			// last option, its box read as "©", is not the answer.
			pg.words = ws
			if fl, v := pg.locate(LabelValue{Label: label.text, Value: "© Best interest decision"}, spec.Name, Consent, map[int]bool{}); ok && v != tc.want {
				t.Errorf("located %q (%+v), want %q", v, fl, tc.want)
			}
		})
	}
}

// TestLabelWordsOwnLineFirst: a label is found on a line of its own
// before a line that begins with its words and goes on ("Date" is not
// the start of "Date of birth 01/07/2010"), and on a line with its
// answer after a space only where it has no line of its own.
func TestLabelWordsOwnLineFirst(t *testing.T) {
	lines := []ocrLine{{60, 700, 20, "Date of birth 01/07/2010"}, {60, 600, 20, "Date"}, {330, 600, 20, "09/11/2026"}}
	pg := &ocrPage{w: 595, h: 842, scale: 1, pt: ocrLinePage(lines...)}
	used := map[int]bool{}
	if r, ok := pg.labelWords("Date", used); !ok || r.Max.Y < 842-600 {
		t.Errorf("Date found at %v (%v), want its own line at baseline 600", r, ok)
	}
	r, ok := pg.labelWords("Date of birth", used)
	if !ok || r.Max.Y > 842-690 || r.Max.X > 60+13*10+2 {
		t.Errorf("Date of birth found at %v (%v), want the first line up to its answer", r, ok)
	}
}
