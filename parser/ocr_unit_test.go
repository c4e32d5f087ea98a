package parser

import (
	"image"
	"image/color"
	"testing"
)

func TestParseTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"4\t1\t1\t1\t1\t0\t10\t10\t200\t20\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t10\t10\t60\t20\t96.5\tSurname\n" +
		"5\t1\t1\t1\t1\t2\t80\t8\t4\t30\t51.0\t|\n" +
		"5\t1\t1\t1\t1\t3\t90\t10\t50\t20\t91.0\t[Okoro\n" +
		"5\t1\t1\t1\t1\t4\t150\t10\t10\t20\t12.0\tLL\n" +
		"5\t1\t2\t1\t1\t1\t10\t40\t40\t20\t95.0\tNHS\n"
	got := parseTSV([]byte(tsv))
	want := []ocrWord{
		{x0: 10, y0: 10, x1: 70, y1: 30, conf: 96.5, text: "Surname", line: 0},
		{x0: 90, y0: 10, x1: 140, y1: 30, conf: 91, text: "Okoro", line: 0},
		{x0: 10, y0: 40, x1: 50, y1: 60, conf: 95, text: "NHS", line: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("parseTSV = %+v, want %+v (box edges and noise dropped)", got, want)
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
		{"lone box empty", false, false, false, "", true, 90},
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
			if box[2] < 20 || box[3] < 20 {
				t.Errorf("box %v does not cover the mark", box)
			}
		})
	}
}
