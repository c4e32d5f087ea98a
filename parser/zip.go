package parser

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// A referrer whose forms are large, or whose mail client offers it
// ("Send to > Compressed (zipped) folder" in Windows), sends them in a
// zip file. Python's email package and every mail client hand the zip
// over as it is; a coordinator would open it, and so do we: its files are
// read as the email's attachments. Word, Excel and OpenDocument files are
// zips too, but packages of one document, never opened as archives.

var (
	errZipPassword = errors.New("the zip file is password-protected")
	errZipDamaged  = errors.New("the zip file is damaged")
	errZipTooLarge = errors.New("the files in the zip are larger than the attachment limit")
)

// isZipArchive says whether a part is a zip of files to take out: named
// or typed a zip, with a zip's signature, and not an Office or
// OpenDocument package (a .docx sent as application/zip is a .docx).
func isZipArchive(p *part) bool {
	if !bytes.HasPrefix(p.data, []byte(docxZipLocal)) && !bytes.HasPrefix(p.data, []byte(docxZipEmpty)) {
		return false
	}
	name := strings.ToLower(p.filename)
	switch {
	case strings.HasSuffix(name, ".zip"),
		p.mediaType == "application/zip", p.mediaType == "application/x-zip-compressed", p.mediaType == "application/x-zip":
	default:
		return false
	}
	return !isOfficePackage(p.data)
}

// isOfficePackage recognises an OOXML package by its content-types part
// and an OpenDocument one by its mimetype entry, which comes first and
// is stored, so both names are in the first local header or the
// central directory.
func isOfficePackage(d []byte) bool {
	return bytes.Contains(d, []byte("[Content_Types].xml")) || odfType(d) != ""
}

// odfType is the media type an OpenDocument package declares in its
// first entry ("mimetype", stored uncompressed), or "". A writer that
// streams puts the sizes after the data, so the type is read up to the
// first byte that cannot be in it.
func odfType(d []byte) string {
	const local, prefix = 30, "application/vnd.oasis.opendocument."
	if len(d) < local+8 || !bytes.HasPrefix(d, []byte(docxZipLocal)) {
		return ""
	}
	nameLen := int(d[26]) | int(d[27])<<8
	extraLen := int(d[28]) | int(d[29])<<8
	if nameLen != 8 || string(d[local:local+8]) != "mimetype" {
		return ""
	}
	rest := d[min(len(d), local+nameLen+extraLen):]
	rest = rest[:min(len(rest), 100)]
	if !bytes.HasPrefix(rest, []byte(prefix)) {
		return ""
	}
	end := len(prefix)
	for end < len(rest) && (rest[end] >= 'a' && rest[end] <= 'z' || rest[end] == '-' || rest[end] == '.') {
		end++
	}
	return string(rest[:end])
}

// readZip takes at most room files out of a zip, skipping folders and
// the resource forks macOS adds (__MACOSX/, ._name). All the files
// together are bounded by the attachment limit, so a small zip that
// inflates to gigabytes stops at it. Files read before a damaged or
// encrypted one are returned with the error.
func readZip(data []byte, room int, l Limits) ([]tnefFile, error) {
	if n := countZipEntries(data); n > l.MaxParts {
		return nil, fmt.Errorf("%w: %d entries", errZipDamaged, n)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errZipDamaged, err)
	}
	left := l.MaxAttachmentBytes
	var files []tnefFile
	for _, f := range zr.File {
		name := zipName(f)
		if strings.HasSuffix(name, "/") || strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(path.Base(name), "._") {
			continue
		}
		if len(files) >= room {
			return files, fmt.Errorf("more files than the email may hold: %d read", len(files))
		}
		if f.Flags&0x1 != 0 {
			return files, errZipPassword
		}
		b, err := readZipFile(f, left)
		if err != nil {
			return files, err
		}
		left -= int64(len(b))
		files = append(files, tnefFile{name: path.Base(name), data: b})
	}
	return files, nil
}

// readZipFile inflates one entry, failing past left bytes whatever its
// header declares.
func readZipFile(f *zip.File, left int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(left) {
		return nil, errZipTooLarge
	}
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return nil, fmt.Errorf("%w: %s is compressed with a method that cannot be read", errZipDamaged, path.Base(zipName(f)))
		}
		return nil, fmt.Errorf("%w: %v", errZipDamaged, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, left+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %v", errZipDamaged, path.Base(zipName(f)), err)
	case int64(len(b)) > left:
		return nil, errZipTooLarge
	}
	return b, nil
}

// zipName is an entry's name as its writer meant it. Without the UTF-8
// flag a name is in the writer's DOS code page, which Windows'
// "Compressed (zipped) folder" takes from the locale: 850 in the UK.
// Some writers put UTF-8 without the flag; a name valid as UTF-8 is
// taken as such, which a code page 850 name with accents rarely is.
func zipName(f *zip.File) string {
	if !f.NonUTF8 || utf8.ValidString(f.Name) {
		return f.Name
	}
	if s, err := charmap.CodePage850.NewDecoder().String(f.Name); err == nil {
		return s
	}
	return f.Name
}

// isODFText recognises a LibreOffice or OpenOffice text document (.odt,
// or its template .ott): where a referrer who filled our Word form in
// LibreOffice kept its own format. Their spreadsheets and slides are not
// forms.
func isODFText(d []byte) bool {
	switch odfType(d) {
	case "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.text-template":
		return true
	}
	return false
}
