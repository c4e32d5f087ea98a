package parser

import (
	"context"
	"errors"
)

// inProcessPDF is replaced by the real reader (pdf_*.go).
type inProcessPDF struct{ limits Limits }

// NewInProcessPDFReader reads PDFs in this process, containing panics.
func NewInProcessPDFReader(l Limits) PDFReader { return &inProcessPDF{limits: l.withDefaults()} }

func (r *inProcessPDF) ReadPDF(ctx context.Context, data []byte) ([]*RawForm, error) {
	return nil, unreadable("PDF reading is not built yet", errors.New("todo"))
}
