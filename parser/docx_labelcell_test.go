package parser

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// People type their answer into a Word form's shaded label cell as often
// as into the cell beside it. The filled forms with every answer moved
// into its label cell, on lines of its own, after a colon or after a
// space, read as the
// forms themselves.
func TestReadDOCXAnswersInLabelCells(t *testing.T) {
	sample := sampleAttachments(t, "03-docx-happy")
	docs := map[string][]byte{
		"sample referral": sample["DSR Referral Form - Amelia Novak.docx"],
		"sample consent":  sample["DSR Consent Form - Amelia Novak.docx"],
	}
	// Ticks typed before each option (☒ Yes ☐ No), and Wingdings boxes.
	for _, name := range []string{"referral-plain.docx", "consent-plain.docx", "referral-checkbox.docx", "consent-checkbox.docx", "both-forms.docx", "referral-long-dx.docx"} {
		docs[name] = readFixture(t, name)
	}
	m := DefaultMapping()
	read := func(t *testing.T, data []byte) []*Form {
		t.Helper()
		raws, err := readDOCX(context.Background(), data, Limits{})
		if err != nil {
			t.Fatalf("readDOCX: %v", err)
		}
		var forms []*Form
		for _, rf := range raws {
			forms = append(forms, m.Map(m.Classify(rf), rf))
		}
		return forms
	}
	for name, data := range docs {
		want := read(t, data)
		for _, how := range []string{"lines", "colon", "space"} {
			t.Run(name+", "+how, func(t *testing.T) {
				moved, n := answersInLabelCells(t, data, how)
				if n < 5 {
					t.Fatalf("%d answers moved: not the form expected", n)
				}
				// scripts/make-word-printed-fixtures.sh prints these to PDF.
				if dir := os.Getenv("DSR_WRITE_LABELCELL_DIR"); dir != "" {
					writeLabelCellDocs(t, dir, name, data, moved, how)
				}
				got := read(t, moved)
				if len(got) != len(want) {
					t.Fatalf("%d forms, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i].Kind != want[i].Kind || !maps.Equal(got[i].Values, want[i].Values) || !maps.Equal(got[i].Invalid, want[i].Invalid) {
						t.Errorf("form %d: %s %q invalid %q\nwant %s %q invalid %q", i, got[i].Kind, got[i].Values, got[i].Invalid, want[i].Kind, want[i].Values, want[i].Invalid)
					}
				}
			})
		}
	}
}

var (
	rowRE  = regexp.MustCompile(`(?s)<w:tr[ >].*?</w:tr>`)
	cellRE = regexp.MustCompile(`(?s)<w:tc>.*?</w:tc>`)
	paraRE = regexp.MustCompile(`(?s)<w:p[ >].*?</w:p>`)
	runRE  = regexp.MustCompile(`(?s)<w:r[ >].*?</w:r>|<w:sym [^>]*/>`)
	textRE = regexp.MustCompile(`<w:t[ >][^<]*</w:t>`)
)

// writeLabelCellDocs writes a document as filled and with its answers
// moved, named for the fixture it is ("referral-plain.docx" with its
// answers after a colon: referral-plain-colon.docx).
func writeLabelCellDocs(t *testing.T, dir, name string, orig, moved []byte, how string) {
	t.Helper()
	base := strings.ReplaceAll(strings.TrimSuffix(name, ".docx"), " ", "-")
	variant := "-" + how
	for file, data := range map[string][]byte{base + "-orig.docx": orig, base + variant + ".docx": moved} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// answersInLabelCells moves the answer of each label | value row of a
// Word document into the label cell, leaving the value cell empty: as
// paragraphs after the label's ("lines"), or after a colon ("colon") or a
// space ("space") in the label's last paragraph. It returns the document
// and how many answers it moved.
func answersInLabelCells(t *testing.T, data []byte, how string) ([]byte, int) {
	t.Helper()
	parts := partsOf(t, data)
	moved := 0
	parts["word/document.xml"] = rowRE.ReplaceAllStringFunc(parts["word/document.xml"], func(row string) string {
		cells := cellRE.FindAllString(row, -1)
		if len(cells) != 2 || !textRE.MatchString(cells[0]) || !textRE.MatchString(cells[1]) {
			return row
		}
		label, value := cells[0], cells[1]
		paras := paraRE.FindAllString(value, -1)
		end := strings.LastIndex(label, "</w:p>")
		var newLabel string
		if sep := map[string]string{"colon": ": ", "space": " "}[how]; sep != "" {
			runs := strings.Join(runRE.FindAllString(paras[0], -1), "")
			newLabel = label[:end] + `<w:r><w:t xml:space="preserve">` + sep + `</w:t></w:r>` + runs + "</w:p>" + strings.Join(paras[1:], "") + label[end+len("</w:p>"):]
		} else {
			newLabel = label[:end+len("</w:p>")] + strings.Join(paras, "") + label[end+len("</w:p>"):]
		}
		newValue := strings.Replace(paraRE.ReplaceAllString(value, ""), "</w:tc>", "<w:p/></w:tc>", 1)
		moved++
		return strings.Replace(strings.Replace(row, label, newLabel, 1), value, newValue, 1)
	})
	return zipOf(t, parts), moved
}
