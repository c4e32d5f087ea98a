package parser

import (
	"strings"
	"testing"
)

// printedLine is a line of 10-point text at x on a baseline, each letter
// 5 points wide: what a printed form's content stream gives layoutPage.
type printedLine struct {
	x, base float64
	text    string
}

func printedPage(lines ...printedLine) *pageText {
	sized := make([]ocrLine, len(lines))
	for i, l := range lines {
		sized[i] = ocrLine{l.x, l.base, 10, l.text}
	}
	return ocrLinePage(sized...)
}

// valueOf is the value read for label, and whether the label was found.
func valueOf(lvs []LabelValue, label string) (string, bool) {
	for _, lv := range lvs {
		if lv.Label == label {
			return lv.Value, true
		}
	}
	return "", false
}

// A label-cell answer broken over a page goes on at the next page's top
// only where nothing else is above it there, and only up to a label (over
// up to three lines), a section heading or a wider gap than a cell's
// lines have; a page whose answers are in a value column carries nothing.
func TestLabelCellAnswerOverAPageBreak(t *testing.T) {
	labels := DefaultMapping().Labels(Referral)
	// Page one: answers under their labels, the last label's answer gone
	// on to the next page.
	first := printedPage(
		printedLine{60, 700, "Surname"}, printedLine{60, 688.5, "Nguyen"},
		printedLine{60, 671, "Known as"}, printedLine{60, 659.5, "Zoe"},
		printedLine{60, 642, "Mental health concern"},
	)
	lvs, tail := findLabelValues(first, labels)
	if v, _ := valueOf(lvs, "Surname"); v != "Nguyen" {
		t.Fatalf("Surname = %q on its page, want Nguyen: %+v", v, lvs)
	}
	if tail == nil {
		t.Fatal("no tail for a last label left without its answer on a page of label-cell answers")
	}
	for _, tc := range []struct {
		name string
		next []printedLine
		want string // words
	}{
		{"two lines, then a label", []printedLine{{60, 800, "Self-harm since September;"}, {60, 788.5, "two A&E attendances."}, {60, 771, "Proposed RAG rating"}},
			"Self-harm since September; two A&E attendances."},
		{"a header line across the column above it", []printedLine{{40, 810, "OFFICIAL-SENSITIVE when completed"}, {60, 795, "Self-harm since September;"}}, ""},
		{"a section heading", []printedLine{{60, 800, "Section 4: Proposed RAG rating"}, {60, 782, "Proposed RAG rating"}}, ""},
		{"a label over two lines", []printedLine{{60, 800, "At high risk of admission to a mental"}, {60, 788.5, "health hospital"}}, ""},
		{"a row's gap after one line", []printedLine{{60, 800, "Self-harm since September."}, {60, 770, "Red"}}, "Self-harm since September."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := continuedAnswer(printedPage(tc.next...), tail, labels)
			if strings.Join(strings.Fields(got), " ") != tc.want {
				t.Errorf("carried %q, want %q", got, tc.want)
			}
		})
	}

	// The same last label on a page whose answers stand in a value column.
	column := printedPage(
		printedLine{60, 700, "Surname"}, printedLine{250, 700, "Nguyen"},
		printedLine{60, 682, "Known as"}, printedLine{250, 682, "Zoe"},
		printedLine{60, 664, "Mental health concern"},
	)
	lvs, tail = findLabelValues(column, labels)
	if v, _ := valueOf(lvs, "Known as"); v != "Zoe" {
		t.Fatalf("Known as = %q, want Zoe: %+v", v, lvs)
	}
	if tail != nil {
		t.Errorf("a page of value-column answers carries its last label to the next page: %+v", tail)
	}
}

// Answers typed after a space in a label's cell ("Surname Nguyen") are
// split off where three or more lines of a page read so; one such line
// is taken for a paragraph that starts with a label's words.
func TestSpacedLabelCellAnswersNeedSeveralLines(t *testing.T) {
	labels := DefaultMapping().Labels(Referral)
	lvs, _ := findLabelValues(printedPage(
		printedLine{60, 700, "Surname Nguyen"},
		printedLine{60, 682, "Known as Zoe"},
		printedLine{60, 664, "Postcode BR3 1AW"},
	), labels)
	for label, want := range map[string]string{"Surname": "Nguyen", "Known as": "Zoe", "Postcode": "BR3 1AW"} {
		if got, _ := valueOf(lvs, label); got != want {
			t.Errorf("%s = %q, want %q (%+v)", label, got, want, lvs)
		}
	}
	lvs, _ = findLabelValues(printedPage(
		printedLine{60, 700, "Surname Nguyen is known to the team"},
		printedLine{60, 682, "Known as"}, printedLine{250, 682, "Zoe"},
		printedLine{60, 664, "Postcode"}, printedLine{250, 664, "BR3 1AW"},
	), labels)
	if v, found := valueOf(lvs, "Surname"); found {
		t.Errorf("one line starting with a label read as that label's answer: Surname = %q", v)
	}
	if got, _ := valueOf(lvs, "Known as"); got != "Zoe" {
		t.Errorf("Known as = %q, want Zoe", got)
	}
}

// A section heading one cell's line spacing under a label, at its indent
// (OCR reads a heading's band so, close under the last row), is not the
// label's answer typed into its cell: the value read beside the label
// stands alone.
func TestSectionHeadingEndsALabelCellAnswer(t *testing.T) {
	labels := DefaultMapping().Labels(Referral)
	page := printedPage(
		printedLine{60, 700, "Responsible local authority"}, printedLine{250, 700, "London Borough of Bromley"},
		printedLine{60, 686, "GP practice"}, printedLine{250, 686, "Eden Park Surgery"},
		printedLine{60, 673, "Section 3: Diagnosis and eligibility"},
		printedLine{60, 656, "Diagnosed autism"}, printedLine{250, 656, "Yes"},
	)
	lvs, _ := findLabelValues(page, labels)
	if v, _ := valueOf(lvs, "GP practice"); v != "Eden Park Surgery" {
		t.Errorf("GP practice = %q, want %q", v, "Eden Park Surgery")
	}
}

// ocrLine is a line of text of its own size, each letter half as wide:
// as OCR lays a page out, each line sized by its words' height, so a
// date's slashes or a name's descenders make it look larger than the
// label above it, and its baseline lower.
type ocrLine struct {
	x, base, size float64
	text          string
}

func ocrLinePage(lines ...ocrLine) *pageText {
	var gs []glyph
	for _, l := range lines {
		x := l.x
		for _, r := range l.text {
			gs = append(gs, glyph{x: x, y: l.base, w: l.size / 2, size: l.size, s: string(r)})
			x += l.size / 2
		}
	}
	return layoutPage(gs)
}

// Answers under their labels in a scan of a Word form: the sizes and
// baselines OCR gives them (measured on the scanned prints of
// TestOCRWordPrintedScans) are read as the printed page's are. Each gap
// here was outside the bounds a printed page's lines keep: a line larger
// than its label, further below it than the label's leading; a label
// read larger than its answer, nearer it than half the label's size; a
// label whose first letter and space OCR lost, starting right of its
// answer.
func TestLabelCellAnswersAtOCRSizes(t *testing.T) {
	for _, tc := range []struct {
		kind  FormKind
		lines []ocrLine
		want  map[string]string
	}{
		{Referral, []ocrLine{
			{77, 463, 8.7, "Date of birth"}, {78, 449, 15.2, "14/03/2012"},
			{77, 436, 8.7, "NHS number"}, {77, 425, 8.7, "999 314 9586"},
			{77, 517, 9.1, "Surname"}, {77, 505, 13.0, "Nguyen"},
		}, map[string]string{"Date of birth": "14/03/2012", "NHS number": "999 314 9586", "Surname": "Nguyen"}},
		{Consent, []ocrLine{
			{77, 747, 10.8, "Signature (typed name accepted)"}, {78, 738, 9.1, "Petra Novakova"},
			{76, 718, 14.7, "Date"}, {77, 711, 8.7, "21/11/2026"},
			{77, 678, 9.1, "Best interest decision made by (name)"},
			{84, 299, 14.7, "I have been given the DSR fact sheet"}, {78, 291, 8.2, "Yes"},
			{77, 275, 9.1, "Share with: Health"}, {78, 264, 8.2, "Yes"},
		}, map[string]string{"Signature (typed name accepted)": "Petra Novakova", "Date": "21/11/2026",
			"I have been given the DSR fact sheet": "Yes", "Share with: Health": "Yes"}},
	} {
		lvs, _ := findLabelValues(ocrLinePage(tc.lines...), DefaultMapping().Labels(tc.kind))
		for label, want := range tc.want {
			if got, ok := valueOf(lvs, label); !ok || got != want {
				t.Errorf("%s: %q (label found %v), want %q", label, got, ok, want)
			}
		}
	}
}

// The answer carried over a page break at OCR's sizes: its second line
// read larger, and further below the first than the first line's
// leading, is the answer's still (nextCellLine, as under the label).
func TestContinuedAnswerAtOCRSizes(t *testing.T) {
	labels := DefaultMapping().Labels(Referral)
	_, tail := findLabelValues(ocrLinePage(
		ocrLine{77, 517, 9.1, "Surname"}, ocrLine{77, 505, 9.1, "Nguyen"},
		ocrLine{77, 490, 8.7, "Known as"}, ocrLine{77, 480, 8.7, "Zoe"},
		ocrLine{77, 62, 9.1, "Mental health concern"},
	), labels)
	if tail == nil {
		t.Fatal("no tail for the page's last label")
	}
	got := continuedAnswer(ocrLinePage(
		ocrLine{78, 765, 8.7, "Self-harm and food refusal since"},
		ocrLine{78, 751, 13.0, "September; two A&E attendances."},
		ocrLine{77, 735, 9.1, "At high risk of admission to a mental"}, ocrLine{77, 725, 11.3, "health hospital"},
	), tail, labels)
	if want := "Self-harm and food refusal since September; two A&E attendances."; strings.Join(strings.Fields(got), " ") != want {
		t.Errorf("carried %q, want %q", got, want)
	}
}
