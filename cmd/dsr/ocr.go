package main

import (
	"context"
	"fmt"

	"dsr-intake/parser"
)

// scanReader finds the OCR tools that read scanned and photographed
// forms. Without them the daemon runs as before: scans stay unreadable
// attachments for a coordinator. why says what is missing.
func scanReader(ctx context.Context) (o *parser.OCR, why string) {
	o, err := parser.FindOCR(ctx)
	if err != nil {
		return nil, err.Error() + "; install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd imagemagick poppler-utils"
	}
	return o, ""
}

// scanStatus is dsr config check's line on scanned forms.
func scanStatus(ctx context.Context) string {
	o, why := scanReader(ctx)
	if o == nil {
		return "scanned forms: will not be read (" + why + ")"
	}
	heic := "no HEIC photos (heif-convert from libheif-examples is not installed)"
	if o.HeifConvert != "" {
		heic = "HEIC photos with " + o.HeifConvert
	}
	return fmt.Sprintf("scanned forms: read by OCR with %s; %s", o.Tesseract, heic)
}

// ocrJSON is dsr check --json's "ocr" object: for each form read from a
// scan, each field's confidence, page and box (and the text read).
func ocrJSON(forms ...*parser.Form) map[string]any {
	out := map[string]any{}
	for _, f := range forms {
		if f == nil || f.OCR == nil {
			continue
		}
		fields := map[string]any{}
		for name, fl := range f.OCR.Fields {
			// The crop is for the review pages, not for a terminal.
			fl.Crop = nil
			fields[name] = fl
		}
		out[string(f.Kind)] = map[string]any{"pages": len(f.OCR.Pages), "fields": fields}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
