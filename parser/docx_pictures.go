package parser

import (
	"archive/zip"
	"bytes"
	"image"
	"path"
	"strings"
)

// A referrer without a scanner photographs the forms and pastes the
// photos into a Word document. The document is read as any other (it is
// no form), and each picture in it big enough to hold a page is taken out
// as an attachment of its own, to be read by OCR as a photo attached to
// the email would be. Logos and icons, and our own Word forms' pictures,
// are smaller than a page and stay where they are.

// isWordPackage recognises a Word document (.docx) by its main part, and
// one with pictures by their folder's name in its directory: a Word form
// without pictures (ours have none) is not opened a second time here.
func isWordPackage(p *part) bool {
	return bytes.HasPrefix(p.data, []byte(docxZipLocal)) && bytes.Contains(p.data, []byte("word/document.xml")) &&
		bytes.Contains(p.data, []byte("word/media/"))
}

// wordPictures takes out of a Word document, at most room of them, the
// pictures in word/media that image.DecodeConfig sizes as a page or
// larger (pageSized): all of them together bounded by the attachment
// limit, as a zip's files are. A damaged package gives none: the document
// itself is reported as what it is.
func wordPictures(data []byte, room int, l Limits) []tnefFile {
	if room <= 0 || countZipEntries(data) > l.MaxParts {
		return nil
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	left := l.MaxAttachmentBytes
	var out []tnefFile
	for _, f := range zr.File {
		name := zipName(f)
		if !strings.HasPrefix(name, "word/media/") || f.Flags&0x1 != 0 || len(out) >= room {
			continue
		}
		// Sized from its header first: a logo is never inflated whole.
		if !pageSizedEntry(f) {
			continue
		}
		b, err := readZipFile(f, left)
		if err != nil {
			continue
		}
		left -= int64(len(b))
		out = append(out, tnefFile{name: path.Base(name), data: b})
	}
	return out
}

// pageSizedEntry reports a zip entry whose picture is page-sized, by the
// header image.DecodeConfig reads from the start of its data.
func pageSizedEntry(f *zip.File) bool {
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	cfg, _, err := image.DecodeConfig(rc)
	return err == nil && pageSized(cfg)
}

// pageSized reports a picture that can hold a readable page: the same
// bound that tells a logo in an email's body from a photo of a form.
func pageSized(cfg image.Config) bool {
	short, long := min(cfg.Width, cfg.Height), max(cfg.Width, cfg.Height)
	return short >= minPageSide && long >= minPageLong
}
