package parser

import "bytes"

// Windows' "Microsoft XPS Document Writer" prints to an XPS document (a
// zip of pages in XAML), offered beside "Microsoft Print to PDF": a
// referrer who prints the filled form to the wrong one sends an .xps or
// .oxps. The intake does not read XPS; rather than taking it for no form
// (the referrer would be asked for forms they sent), it asks for the
// forms printed to PDF or saved as Word.

// reasonXPS is why an XPS document is not read.
const reasonXPS = "an XPS document (a print by Windows' XPS printer) cannot be read: print the forms to PDF or save them as Word (.docx) and send them again"

// isXPSDocument says whether a zip part is an XPS document: by its name
// or declared type, or by its fixed document sequence, whose part name
// ("FixedDocSeq.fdseq" or "FixedDocumentSequence.fdseq") every XPS
// package lists.
func isXPSDocument(pt *part) bool {
	return namedOrTyped(pt, []string{"application/vnd.ms-xpsdocument", "application/oxps"}, ".xps", ".oxps") ||
		bytes.Contains(pt.data, []byte(".fdseq"))
}
