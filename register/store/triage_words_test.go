package store

import "testing"

// TestSourceWords: the review queue names what each form was read from
// in a coordinator's words, the formats read since Word 97-2003, Rich
// Text and LibreOffice's own included.
func TestSourceWords(t *testing.T) {
	for src, want := range map[string]string{
		"acroform": "fillable PDF", "pdf-text": "PDF", "docx": "Word", "doc": "Word 97-2003",
		"rtf": "Rich Text", "odt": "LibreOffice", "ocr": "scan", "": "unknown",
	} {
		if got := sourceWords(src); got != want {
			t.Errorf("sourceWords(%q) = %q, want %q", src, got, want)
		}
	}
}
