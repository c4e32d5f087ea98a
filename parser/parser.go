// Package parser turns the raw emails referrers send to the DSR inbox
// into Submissions: sender, threading, attachments and the referral and
// consent forms' fields by canonical name (see FORMS.md). It knows nothing
// of the database, IMAP or the rules.
package parser

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// PDFReader reads the forms in one PDF. Implementations must contain
// panics and bound time and memory: PDFs arrive from anyone by email.
type PDFReader interface {
	ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error)
}

// pdfFileReader is a PDFReader that also takes out the files attached
// inside a PDF (see EmbeddedFile); every reader of this package is one.
type pdfFileReader interface {
	ReadPDFFiles(ctx context.Context, data []byte) (pdfContent, error)
}

// pdfContent is what one PDF holds: its forms, the files attached inside
// it, and why some of those could not be taken out ("" when none).
type pdfContent struct {
	Forms     []*RawForm
	Files     []EmbeddedFile
	FilesNote string
}

// Options configure a Parser; zero values take safe defaults.
type Options struct {
	Mapping *Mapping  // nil: DefaultMapping
	Limits  Limits    // zero fields: DefaultLimits
	PDF     PDFReader // nil: an in-process reader (tests, dsr check without isolation)
	// OCR reads scans and photos; nil: they are unreadable attachments.
	// PDF must then read images too (a child started with OCR, or nil).
	OCR    *OCR
	Logger *slog.Logger
}

// Parser reads emails. It is safe for concurrent use.
type Parser struct {
	mapping *Mapping
	limits  Limits
	pdf     PDFReader
	ocr     *OCR
	log     *slog.Logger
	// partBufs are scratch buffers (*[]byte) the MIME parts of one
	// email are read into, kept for the next.
	partBufs sync.Pool
}

// partScratch is a scratch buffer for readPart.
func (p *Parser) partScratch() *[]byte {
	if b, ok := p.partBufs.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// New returns a Parser.
func New(opts Options) *Parser {
	p := &Parser{mapping: opts.Mapping, limits: opts.Limits.withDefaults(), pdf: opts.PDF, ocr: opts.OCR, log: opts.Logger}
	if p.mapping == nil {
		p.mapping = DefaultMapping()
	}
	if p.pdf == nil {
		p.pdf = withOCR(NewInProcessPDFReaderWith(p.limits, p.mapping), p.ocr, p.limits, p.mapping)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// AttachmentBound is the longest reading one attachment may take: the
// PDF reader's time limit, and with OCR on the scan reader's on top. A
// caller's own deadline for a message must leave room for it.
func (p *Parser) AttachmentBound() time.Duration {
	return p.limits.readTimeout(p.ocr != nil)
}
