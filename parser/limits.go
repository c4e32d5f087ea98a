package parser

import (
	"errors"
	"time"
)

// Limits bound the time and memory one email can cost. Past a limit the
// attachment (or the message) is reported unreadable with a reason; the
// rest of the message is still read.
type Limits struct {
	MaxMessageBytes     int64         // whole raw message; NHSmail allows 35 MB
	MaxAttachments      int           // attachments read per message
	MaxAttachmentBytes  int64         // decoded size of one attachment
	MaxParts            int           // MIME parts walked per message
	MaxDepth            int           // nesting of multiparts and forwarded messages
	MaxDOCXUncompressed int64         // total uncompressed size read from a DOCX (zip bombs)
	MaxPDFPages         int           // pages read from a PDF
	MaxPDFObjects       int           // objects in a PDF's cross-reference table
	PDFTimeout          time.Duration // time budget for one PDF
	PDFMemoryBytes      int64         // address-space limit of the PDF reader process
	OCRTimeout          time.Duration // time budget for reading one scan or photo by OCR
}

// DefaultLimits are safe for a server reading NHSmail-sized mail.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:     40 << 20,
		MaxAttachments:      30,
		MaxAttachmentBytes:  35 << 20,
		MaxParts:            300,
		MaxDepth:            8,
		MaxDOCXUncompressed: 50 << 20,
		MaxPDFPages:         60,
		MaxPDFObjects:       50000,
		PDFTimeout:          10 * time.Second,
		PDFMemoryBytes:      1 << 30,
		OCRTimeout:          90 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = d.MaxAttachments
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = d.MaxAttachmentBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxDOCXUncompressed <= 0 {
		l.MaxDOCXUncompressed = d.MaxDOCXUncompressed
	}
	if l.MaxPDFPages <= 0 {
		l.MaxPDFPages = d.MaxPDFPages
	}
	if l.MaxPDFObjects <= 0 {
		l.MaxPDFObjects = d.MaxPDFObjects
	}
	if l.PDFTimeout <= 0 {
		l.PDFTimeout = d.PDFTimeout
	}
	if l.PDFMemoryBytes <= 0 {
		l.PDFMemoryBytes = d.PDFMemoryBytes
	}
	if l.OCRTimeout <= 0 {
		l.OCRTimeout = d.OCRTimeout
	}
	return l
}

// UnreadableError says why a document could not be read, in words fit
// for a coordinator ("the PDF is encrypted", "the PDF has no text layer:
// it looks like a scan").
type UnreadableError struct {
	Reason string
	Err    error // the underlying error, if any; never shown to referrers
}

func (e *UnreadableError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// unreadable builds an UnreadableError.
func unreadable(reason string, err error) error {
	return &UnreadableError{Reason: reason, Err: err}
}

// ReasonOf returns the coordinator-facing reason of an error from a reader:
// none for no error, and a general one for an error that names none.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var ue *UnreadableError
	if errors.As(err, &ue) {
		return ue.Reason
	}
	return "the file could not be read"
}
