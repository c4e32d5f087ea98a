package parser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// pagesBundle is a .pages document as Pages writes it: '09 and earlier
// an index.xml and a PDF print of the document (preview, nil: none);
// newer ones their private Index/*.iwa data and a picture of the first
// page.
func pagesBundle(t *testing.T, preview []byte) []byte {
	t.Helper()
	if preview != nil {
		return zipOf(t, map[string]string{"index.xml": "<sl:document/>", "QuickLook/Preview.pdf": string(preview)})
	}
	return zipOf(t, map[string]string{"Index/Document.iwa": "\x00\x8a\x01\x02", "preview.jpg": "\xff\xd8\xff\xe0"})
}

// TestReadPagesDocuments: a form filled in Apple's Pages and sent as a
// .pages document was taken for no form (the referrer would have been
// asked for forms they sent). Pages '09 keeps a PDF print of the
// document, which is read as the form; a newer one is a format the
// referrer is asked to export as Word or PDF. Apache Tika's Pages '09
// test document is read so (its print is no DSR form).
func TestReadPagesDocuments(t *testing.T) {
	tika, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "pages", "tika-testPages.pages"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, ctype string
		data              []byte
		kind              AttachmentKind
		why               string
	}{
		{"Pages '09 with its print of our referral", "DSR referral.pages", "application/octet-stream", pagesBundle(t, pdfFixture(t, "referral-flat-qpdf.pdf")), KindReferral, ""},
		{"a newer Pages document", "DSR referral.pages", "application/vnd.apple.pages", pagesBundle(t, nil), KindUnsupported, reasonPages},
		{"typed, not named", "referral", "application/vnd.apple.pages", pagesBundle(t, nil), KindUnsupported, reasonPages},
		{"Apache Tika's Pages '09 document", "testPages.pages", "application/x-iwork-pages-sffpages", tika, KindNotForm, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{}).Parse(context.Background(), rebuiltWith(t, "DSR referral", tt.ctype, tt.file, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Attachments) != 1 {
				t.Fatalf("%d attachments", len(s.Attachments))
			}
			a := s.Attachments[0]
			if a.Detected != detectPages || a.Kind != tt.kind || a.Error != tt.why {
				t.Errorf("detected %q, kind %q, error %q; want pages, %q, %q", a.Detected, a.Kind, a.Error, tt.kind, tt.why)
			}
		})
	}
	if p, err := pagesPreview(tika, 1<<20); err != nil || !bytes.HasPrefix(p, []byte("%PDF-")) {
		t.Errorf("Tika's document's print: %d bytes, %v", len(p), err)
	}
}
