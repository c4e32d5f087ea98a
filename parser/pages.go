package parser

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A referrer on a Mac may fill the Word form in Apple's Pages and send it
// as it saves it, a .pages document: a zip of Pages' own data. Its text
// is in Apple's private format, which the intake does not read; Pages
// '09 and earlier put a PDF print of the whole document beside it
// (QuickLook/Preview.pdf), which is read as the form, and a newer file,
// with only a picture of its first page, is asked for again as Word or
// PDF, rather than taken for no form at all (the referrer would be asked
// for forms they did send).

// reasonPages is why a .pages document without its print is not read.
const reasonPages = "an Apple Pages document cannot be read: export it as Word (.docx) or PDF and send it again"

// isPagesDocument says whether a zip part is a Pages document, by its
// name or declared type.
func isPagesDocument(pt *part) bool {
	return namedOrTyped(pt, []string{"application/vnd.apple.pages", "application/x-iwork-pages-sffpages"}, ".pages")
}

// namedOrTyped says whether a part is declared one of the media types or
// named with one of the suffixes (in lower case).
func namedOrTyped(pt *part, types []string, suffixes ...string) bool {
	name := strings.ToLower(pt.filename)
	return slices.Contains(types, pt.mediaType) || slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(name, s) })
}

// pagesPreview is the PDF print a Pages '09 document keeps of itself;
// an error when there is none or it cannot be taken out within limit.
func pagesPreview(data []byte, limit int64) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	for i, f := range zr.File {
		if i >= docxMaxEntries {
			break
		}
		if strings.EqualFold(zipName(f), "QuickLook/Preview.pdf") {
			return readZipFile(f, limit)
		}
	}
	return nil, errors.New("pages: no QuickLook/Preview.pdf")
}
