package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reasons a scan or photo could not be read, worded for a coordinator.
const (
	ReasonScanUnreadable = "the scan or photo could not be read: no DSR form was recognised on it"
	ReasonScanTimeout    = "the scan or photo took too long to read"
	ReasonScanTooMany    = "the scan has too many pages to be a DSR form"
	ReasonImageNoOCR     = "an image: forms cannot be read from pictures or scans"
)

// OCR names the Debian tools that read scans and photos: Tesseract
// (tesseract-ocr with its eng and osd data), ImageMagick's convert for
// rotation, deskew and contrast, pdftoppm (poppler-utils) for image-only
// PDFs, and heif-convert (libheif-examples) for HEIC photos when present.
// A nil *OCR means scans are not read: they stay unreadable attachments.
type OCR struct {
	Tesseract   string
	Convert     string
	PDFToPPM    string
	HeifConvert string // "" when not installed: HEIC stays unreadable
	// DPI is what an image-only PDF is rendered at (0: 200).
	DPI int
	// MaxPages bounds the pages read from one attachment (0: 8; a DSR
	// referral is three pages, the consent two). Blank pages are not
	// counted, and twice as many pages are looked at (maxRendered).
	MaxPages int
}

// FindOCR looks for the OCR tools on PATH and checks Tesseract has its
// English and orientation data. The error says what is missing.
func FindOCR(ctx context.Context) (*OCR, error) {
	o := &OCR{}
	var missing []string
	for _, t := range []struct {
		name, pkg string
		dst       *string
	}{
		{"tesseract", "tesseract-ocr", &o.Tesseract},
		{"convert", "imagemagick", &o.Convert},
		{"pdftoppm", "poppler-utils", &o.PDFToPPM},
	} {
		p, err := exec.LookPath(t.name)
		if err != nil {
			missing = append(missing, t.name+" ("+t.pkg+")")
			continue
		}
		*t.dst = p
	}
	if p, err := exec.LookPath("heif-convert"); err == nil {
		o.HeifConvert = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not installed: %s", strings.Join(missing, ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, o.Tesseract, "--list-langs").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("tesseract --list-langs: %w", err)
	}
	langs := strings.Fields(string(out))
	for _, l := range []struct{ lang, pkg string }{{"eng", "tesseract-ocr-eng"}, {"osd", "tesseract-ocr-osd"}} {
		if !slices.Contains(langs, l.lang) {
			missing = append(missing, l.lang+" ("+l.pkg+")")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("tesseract has no language data: %s", strings.Join(missing, ", "))
	}
	return o, nil
}

func (o *OCR) dpi() int {
	if o.DPI <= 0 {
		return 200
	}
	return o.DPI
}

func (o *OCR) maxPages() int {
	if o.MaxPages <= 0 {
		return 8
	}
	return o.MaxPages
}

// maxRendered is how many pages of a scan are rendered and looked at:
// twice the pages read, as a scan made on both sides of the paper has a
// blank back to each page, which is left out (blankPage).
func (o *OCR) maxRendered() int { return 2 * o.maxPages() }

// ocrReader reads PDFs with inner and reads by OCR what has no text
// layer: images, and PDFs inner finds to be scans.
type ocrReader struct {
	inner   PDFReader
	ocr     *OCR
	limits  Limits
	mapping *Mapping
}

// withOCR wraps a PDF reader so that scans and images are read by OCR;
// with a nil o it returns r.
func withOCR(r PDFReader, o *OCR, l Limits, m *Mapping) PDFReader {
	if o == nil {
		return r
	}
	if m == nil {
		m = DefaultMapping()
	}
	return &ocrReader{inner: r, ocr: o, limits: l.withDefaults(), mapping: m}
}

func (r *ocrReader) ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error) {
	c, err := r.ReadPDFFiles(ctx, data)
	return c.Forms, err
}

// ReadPDFFiles is ReadPDF with the files attached inside the PDF, which
// a scanned cover page (a PDF portfolio's) may carry too.
func (r *ocrReader) ReadPDFFiles(ctx context.Context, data []byte) (pdfContent, error) {
	if isImageMagic(data) || isHEIC(data) {
		forms, err := r.readScan(ctx, data, false)
		return pdfContent{Forms: forms}, err
	}
	var c pdfContent
	var err error
	if fr, ok := r.inner.(pdfFileReader); ok {
		c, err = fr.ReadPDFFiles(ctx, data)
	} else {
		c.Forms, err = r.inner.ReadPDF(ctx, data)
	}
	if why := ReasonOf(err); err != nil && (why == ReasonPDFScan || why == ReasonPDFTextGarbled) {
		c.Forms, err = r.readScan(ctx, data, true)
	}
	return c, err
}

// readScan reads a scan under the OCR time budget.
func (r *ocrReader) readScan(ctx context.Context, data []byte, isPDF bool) ([]*RawForm, error) {
	tctx, cancel := context.WithTimeout(ctx, r.limits.OCRTimeout)
	defer cancel()
	forms, err := readScan(tctx, r.ocr, r.mapping, data, isPDF)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		return nil, unreadable(ReasonScanTimeout, fmt.Errorf("ocr: over %s", r.limits.OCRTimeout))
	}
	return forms, err
}

// isHEIC recognises an HEIF/HEIC photo (an ISO BMFF "ftyp" box with a
// HEIF brand), as iPhones send.
func isHEIC(d []byte) bool {
	if len(d) < 12 || string(d[4:8]) != "ftyp" {
		return false
	}
	switch string(d[8:12]) {
	case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
		return true
	}
	return false
}

func isTIFF(d []byte) bool {
	return bytes.HasPrefix(d, []byte("II*\x00")) || bytes.HasPrefix(d, []byte("MM\x00*"))
}

// scanPage is one page image, ready for Tesseract.
type scanPage struct {
	path    string
	small   string // the page at half the size, to recognise it by
	denoise bool   // a median-filtered copy may read better
	rotate  int    // degrees it was turned by when written (upsideDownInk)
	num     int    // its place among the attachment's pages, from 0, blank ones counted
}

// readScan turns a scan or photo into forms: page images cleaned up,
// read by Tesseract, and fields found beside their printed labels.
func readScan(ctx context.Context, o *OCR, m *Mapping, data []byte, isPDF bool) ([]*RawForm, error) {
	dir, err := os.MkdirTemp("", "dsr-ocr-")
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	defer os.RemoveAll(dir)
	pages, err := o.pageImages(ctx, dir, data, isPDF)
	if err != nil {
		return nil, err
	}
	var read []*ocrPage
	var boxes []*boxRead
	var prev *ocrPage
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pg, err := o.recognise(ctx, p, prev)
		if err != nil {
			return nil, fmt.Errorf("ocr page %d: %w", i+1, err)
		}
		if pg.tpl == nil {
			// Turned further than a template's fit allows: turned
			// upright (straighten), it may register.
			if sp, ok, err := o.straighten(ctx, p, pg); err != nil {
				return nil, fmt.Errorf("ocr page %d: %w", i+1, err)
			} else if ok {
				if pg2, err := o.recognise(ctx, sp, prev); err != nil {
					return nil, fmt.Errorf("ocr page %d: %w", i+1, err)
				} else if pg2.tpl != nil {
					pg, pages[i], p = pg2, sp, sp
				}
			}
		}
		pg.index = p.num
		prev = pg
		if pg.tpl != nil {
			if reads, shows := pg.templateBoxes(); shows {
				boxes = append(boxes, reads...)
				read = append(read, pg)
				continue
			}
			// Its labels where the form has them, its boxes not: a
			// form laid out otherwise (typed into Word and printed),
			// whose values are not where the form's boxes are.
			pg.unregister()
		}
		if pg, err = o.readWhole(ctx, dir, p, pg); err != nil {
			return nil, fmt.Errorf("ocr page %d: %w", i+1, err)
		}
		read = append(read, pg)
	}
	if err := o.readTemplateBoxes(ctx, dir, boxes); err != nil {
		return nil, fmt.Errorf("ocr value boxes: %w", err)
	}
	for i, pg := range read {
		if pg.poor {
			if read[i], err = o.readWhole(ctx, dir, pages[i], pg); err != nil {
				return nil, fmt.Errorf("ocr page %d: %w", i+1, err)
			}
		}
	}
	forms := assembleOCRForms(m, read)
	if len(forms) == 0 {
		return nil, unreadable(ReasonScanUnreadable, fmt.Errorf("%d pages, no form", len(pages)))
	}
	return forms, nil
}

// imageLimits keep ImageMagick within the child's budget: pixels beyond
// these go to disk or fail, rather than take the machine's memory.
var imageLimits = []string{"-limit", "memory", "192MiB", "-limit", "map", "384MiB", "-limit", "disk", "1GiB", "-limit", "area", "96MP", "-limit", "width", "20000", "-limit", "height", "20000"}

// pageImages writes the attachment's pages as cleaned-up greyscale PNGs:
// EXIF orientation applied, contrast stretched, at most the pixels of A4
// at 200 dpi, and a copy of each at half that to recognise the page by. They are
// not deskewed: a page registered to its template is straightened box by
// box (ImageMagick's -deskew of a whole page cost more CPU than reading
// all its boxes), and only a page that is not is deskewed (see deskew).
func (o *OCR) pageImages(ctx context.Context, dir string, data []byte, isPDF bool) ([]scanPage, error) {
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	var srcs []string
	switch {
	case isPDF:
		// Grey PGM, ready for Go: rendered at the reader's resolution,
		// it needs no ImageMagick unless the page is larger than A4.
		prefix := filepath.Join(dir, "r")
		args := []string{"-r", fmt.Sprint(o.dpi()), "-gray", "-l", fmt.Sprint(o.maxRendered() + 1), in, prefix}
		if out, err := exec.CommandContext(ctx, o.PDFToPPM, args...).CombinedOutput(); err != nil {
			return nil, unreadable(ReasonScanUnreadable, fmt.Errorf("pdftoppm: %w: %s", err, firstLine(out)))
		}
		matches, _ := filepath.Glob(prefix + "-*.pgm")
		slices.Sort(matches)
		if len(matches) > o.maxRendered() {
			return nil, unreadable(ReasonScanTooMany, fmt.Errorf("more than %d pages", o.maxRendered()))
		}
		for i, m := range matches {
			p := filepath.Join(dir, fmt.Sprintf("p-%02d.pgm", i))
			if err := os.Rename(m, p); err != nil {
				return nil, fmt.Errorf("ocr: %w", err)
			}
			srcs = append(srcs, p)
		}
	case isHEIC(data):
		if o.HeifConvert == "" {
			return nil, unreadable(ReasonImageNoOCR, errors.New("heif-convert (libheif-examples) is not installed"))
		}
		jpg := filepath.Join(dir, "heic.jpg")
		if out, err := exec.CommandContext(ctx, o.HeifConvert, in, jpg).CombinedOutput(); err != nil {
			return nil, unreadable(ReasonScanUnreadable, fmt.Errorf("heif-convert: %w: %s", err, firstLine(out)))
		}
		srcs = []string{jpg}
	default:
		// Every frame of a multi-page TIFF, up to the page limit.
		srcs = []string{fmt.Sprintf("%s[0-%d]", in, o.maxRendered())}
	}
	if len(srcs) == 0 {
		return nil, unreadable(ReasonScanUnreadable, errors.New("no pages"))
	}
	if len(srcs) > o.maxRendered() {
		return nil, unreadable(ReasonScanTooMany, fmt.Errorf("more than %d pages", o.maxRendered()))
	}
	// At most A4 at 200 dpi, upright or on its side: a page scanned
	// sideways is turned later, and bound as a portrait page it lost a
	// third of its resolution, too little for Tesseract once turned.
	shrink := func(srcs []string, out string) error {
		args := append(slices.Clone(imageLimits), srcs...)
		args = append(args, "-auto-orient", "-colorspace", "Gray", "-resize", pageBound, "+repage", "-depth", "8", out)
		if out, err := exec.CommandContext(ctx, o.Convert, args...).CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return unreadable(ReasonScanUnreadable, fmt.Errorf("convert: %w: %s", err, firstLine(out)))
		}
		return nil
	}
	// A picture (not a PDF's page, rendered at 200 dpi, nor a scanner's
	// TIFF): a photo, or a scan saved as JPEG or PNG, perhaps smaller
	// than A4 at 200 dpi (a scanner's JPEG at 150, a photo cut down by a
	// messaging app).
	photo := !isPDF && !isTIFF(data)
	switch {
	case photo:
		// A photo: also kept at up to photoBound (b-NN.pgm), for its page
		// to be found on the desk and mapped upright from there, at the
		// camera's resolution rather than the copy's (photoPage).
		args := append(slices.Clone(imageLimits), srcs...)
		if bytes.HasPrefix(data, []byte("GIF8")) {
			// An optimised GIF's frames after the first are only the
			// pixels that changed, the rest transparent: each is made
			// the whole page it shows. Not other formats: ImageMagick
			// composes an animated WebP's frames itself, and a JPEG
			// photo coalesced read a postcode otherwise.
			args = append(args, "-coalesce")
		}
		args = append(args, "-auto-orient", "-colorspace", "Gray", "-depth", "8",
			"(", "-clone", "0--1", "-resize", pageBound, "+repage", "-write", filepath.Join(dir, "p-%02d.pgm"), "-delete", "0--1", ")",
			"-resize", photoBound, "+repage", filepath.Join(dir, "b-%02d.pgm"))
		if out, err := exec.CommandContext(ctx, o.Convert, args...).CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, unreadable(ReasonScanUnreadable, fmt.Errorf("convert: %w: %s", err, firstLine(out)))
		}
	case !isPDF:
		if err := shrink(srcs, filepath.Join(dir, "p-%02d.pgm")); err != nil {
			return nil, err
		}
	case o.oversize(srcs):
		// A page at a time: ImageMagick holds every input at once, and
		// the pages of a PDF of photos (img2pdf's, a scanning app's, at
		// 72 or 96 dpi) are large at 200: ten of them overran its limits.
		for _, src := range srcs {
			tmp := src + ".small.pgm"
			if err := shrink([]string{src}, tmp); err != nil {
				return nil, err
			}
			if err := os.Rename(tmp, src); err != nil {
				return nil, fmt.Errorf("ocr: %w", err)
			}
		}
	}
	outs, _ := filepath.Glob(filepath.Join(dir, "p-*.pgm"))
	slices.Sort(outs)
	if len(outs) == 0 {
		return nil, unreadable(ReasonScanUnreadable, errors.New("no page images"))
	}
	if len(outs) > o.maxRendered() {
		return nil, unreadable(ReasonScanTooMany, fmt.Errorf("more than %d pages", o.maxRendered()))
	}
	var pages []scanPage
	for num, p := range outs {
		// Contrast stretched and a half-size copy written in Go, one
		// page at a time: cheaper than ImageMagick's -normalize and
		// -resize 50%, and no PNG to compress.
		g, err := loadGray(p)
		if err != nil {
			return nil, unreadable(ReasonScanUnreadable, err)
		}
		if blankPage(g) {
			continue // the back of a page scanned on both sides
		}
		if len(pages) == o.maxPages() {
			return nil, unreadable(ReasonScanTooMany, fmt.Errorf("more than %d pages with something on them", o.maxPages()))
		}
		// The page, not the desk it was photographed on: mapped from the
		// photo at its own resolution where found there.
		mapped := false
		if big, err := loadGray(filepath.Join(dir, "b-"+strings.TrimPrefix(filepath.Base(p), "p-"))); err == nil {
			if m, ok := pagePhoto(big); ok {
				g, mapped = m, true
			}
		}
		if !mapped {
			g = photoPage(g)
			if photo {
				g = enlargeGray(g)
			}
		}
		normaliseGray(g)
		rotate := 0
		if upside, sure := upsideDownInk(g); upside && sure {
			// Turned before the first read, which then reads the page
			// the right way up: no read of it upside down, no OSD.
			g, rotate = turnGray(g), 180
		}
		small := filepath.Join(dir, "s-"+strings.TrimPrefix(filepath.Base(p), "p-"))
		if err := writePGM(p, g); err != nil {
			return nil, err
		}
		if err := writePGM(small, halfGray(g)); err != nil {
			return nil, err
		}
		// A fax's one-bit strokes are too thin for the median filter.
		pages = append(pages, scanPage{path: p, small: small, denoise: !isTIFF(data), rotate: rotate, num: num})
	}
	if len(pages) == 0 {
		return nil, unreadable(ReasonScanUnreadable, fmt.Errorf("%d pages, every one blank", len(outs)))
	}
	return pages, nil
}

// pageBound is what a page image is scaled down to, in ImageMagick's
// geometry: the pixels of A4 at about 200 dpi (1700 by 2400), whichever
// way up it is, as oversize measures.
const (
	pagePixels = 1700 * 2400
	pageBound  = "4080000@>"
	// photoBound is what a photo is scaled down to for its page to be
	// found in: a phone's 12 MP photo whole, a 48 MP one at a third.
	photoBound = "16000000@>"
)

// oversize says a rendered page has more pixels than A4 at about 200 dpi,
// for ImageMagick to scale down.
func (o *OCR) oversize(pages []string) bool {
	for _, p := range pages {
		w, h, err := imageSize(p)
		if err != nil || w*h > pagePixels {
			return true
		}
	}
	return false
}

// readWhole reads a page as today's scans without a template are read:
// another layout, a page too poor to register, or one whose boxes read
// poorly. The page (turned the right way up by recognise) is deskewed
// and read whole, its values found beside their printed labels.
func (o *OCR) readWhole(ctx context.Context, dir string, sp scanPage, rec *ocrPage) (*ocrPage, error) {
	var err error
	if sp.path, err = o.deskew(ctx, rec.path); err != nil {
		return nil, err
	}
	pg, err := o.readPage(ctx, dir, sp)
	if err != nil {
		return nil, err
	}
	pg.index = rec.index
	if pg.rotate == 0 {
		pg.rotate = rec.rotate
	}
	pg.reread = func(r image.Rectangle) (string, float64) { return o.readBox(ctx, dir, pg, r) }
	return pg, nil
}

// straightenFrom is the turn (degrees) of a page's ruled lines from which a
// page that did not register is straightened: nearer the 8 degrees a
// template's fit allows than the few a flatbed scan is turned.
const straightenFrom = 6.0

// straighten turns upright a page that did not register and read
// poorly, as a sheet fed crooked or a photo taken askew reads: a
// template's fit allows 8 degrees, and at 9 the half-size read finds a
// few words or none. The turn is the slope of the form's ruled lines,
// looked for up to 15 degrees either way (ImageMagick's -deskew took 7
// for 9, too little to read the half-size copy by). ok is false for a
// page that read well enough, which turning would not help, that has no
// ruled lines (no form of ours, which every template page has), or whose
// rules are turned less than straightenFrom.
func (o *OCR) straighten(ctx context.Context, sp scanPage, pg *ocrPage) (scanPage, bool, error) {
	if !upsideDown(pg.words) {
		return sp, false, nil
	}
	slope, ok := ruleSlopeWithin(pg.img, 0.27)
	deg := math.Atan(slope) * 180 / math.Pi
	if !ok || math.Abs(deg) < straightenFrom {
		// No rules, so no form of ours to register; or turned within
		// the fit's reach, which is not why it did not register.
		return sp, false, nil
	}
	out := strings.TrimSuffix(pg.path, filepath.Ext(pg.path)) + "-straight.pgm"
	// A rule sloping down to the right is a page turned clockwise: it is
	// turned back (ImageMagick turns clockwise), and cut back to the page's
	// size, as the turn widens the canvas and the page's width stands for
	// the form's scale when it registers.
	args := append(slices.Clone(imageLimits), pg.path, "-background", "white", "-rotate", strconv.FormatFloat(-deg, 'f', 2, 64),
		"-gravity", "center", "-extent", fmt.Sprintf("%dx%d", pg.w, pg.h), "+repage", "-depth", "8", out)
	if b, err := exec.CommandContext(ctx, o.Convert, args...).CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return sp, false, ctx.Err()
		}
		return sp, false, fmt.Errorf("convert -rotate: %w: %s", err, firstLine(b))
	}
	g, err := loadGray(out)
	if err != nil {
		return sp, false, err
	}
	small := out + ".small.pgm"
	if err := writePGM(small, halfGray(g)); err != nil {
		return sp, false, err
	}
	sp.path, sp.small, sp.rotate = out, small, pg.rotate
	return sp, true, nil
}

// deskew straightens a page that is read whole, for Tesseract's layout
// analysis and the label matching.
func (o *OCR) deskew(ctx context.Context, path string) (string, error) {
	out := strings.TrimSuffix(path, ".png") + "-deskewed.png"
	if b, err := exec.CommandContext(ctx, o.Convert, append(slices.Clone(imageLimits), path, "-deskew", "40%", "+repage", out)...).CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("convert -deskew: %w: %s", err, firstLine(b))
	}
	return out, nil
}

// tesseract runs Tesseract on one image with one thread (the machine's
// other cores read other attachments) and returns its stdout.
func (o *OCR) tesseract(ctx context.Context, img string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, o.Tesseract, append([]string{img, "stdout"}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	stderr := &limitedBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("tesseract: %w: %s", err, firstLine(stderr.Bytes()))
	}
	return out, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// readTimeout is the time one attachment may take: a PDF's, and with
// OCR on, a scan's on top (a scan is first tried as a PDF).
func (l Limits) readTimeout(ocr bool) time.Duration {
	if ocr {
		return l.PDFTimeout + l.OCRTimeout
	}
	return l.PDFTimeout
}

// NewChildOCRReader is NewChildPDFReader for a child that also reads
// scans and images by OCR (cmd must call ServePDFChildOCR with a non-nil
// OCR): images are sent to it, and it has Limits.OCRTimeout more time.
func NewChildOCRReader(cmd []string, l Limits, env ...string) PDFReader {
	c := NewChildPDFReader(cmd, l, env...).(*childPDF)
	c.ocr = true
	return c
}

// maxRereads bounds the value boxes read again on one page.
const maxRereads = 12

// readBox reads one value box again, alone, as a single line of text
// (Tesseract's page segmentation mode 7): a value the whole-page read
// missed or garbled beside the box's edges.
func (o *OCR) readBox(ctx context.Context, dir string, pg *ocrPage, r image.Rectangle) (string, float64) {
	r = r.Intersect(pg.img.Bounds())
	if r.Empty() || pg.rereads >= maxRereads || ctx.Err() != nil {
		return "", 0
	}
	pg.rereads++
	path := filepath.Join(dir, fmt.Sprintf("box-%d-%d.png", pg.index, pg.rereads))
	f, err := os.Create(path)
	if err != nil {
		return "", 0
	}
	err = png.Encode(f, pg.img.SubImage(r))
	if cerr := f.Close(); err != nil || cerr != nil {
		return "", 0
	}
	out, err := o.tesseract(ctx, path, "--dpi", strconv.Itoa(dpiFor(pg.w)), "--psm", "7", "-l", "eng", "tsv")
	if err != nil {
		return "", 0
	}
	var words []string
	var sum float64
	for _, w := range parseTSV(out) {
		if w.conf < minWordConf {
			continue
		}
		words = append(words, w.text)
		sum += w.conf
	}
	if len(words) == 0 {
		return "", 0
	}
	return strings.Join(words, " "), sum / float64(len(words)) / 100
}
