package parser

import (
	"time"
)

// Submission is everything the intake needs from one email: who sent it,
// how it threads, what it carried and the forms' fields by canonical name.
type Submission struct {
	From       string // address only, lower-cased
	FromName   string
	ReplyTo    string // address only; empty when absent
	Subject    string
	Date       time.Time
	MessageID  string   // without angle brackets
	InReplyTo  []string // without angle brackets
	References []string // without angle brackets
	// CaseRef is a case reference quoted in the subject, like DSR-2026-000123.
	CaseRef string
	// AutoReply is set for automatic replies and bounces (RFC 3834
	// Auto-Submitted, delivery status notifications, out-of-office).
	AutoReply       bool
	AutoReplyReason string
	// Undelivered holds, for a delivery report saying a recipient could
	// not be reached, the Message-IDs (no angle brackets) of the messages
	// it reports on: a query of the intake's among them never reached the
	// referrer.
	Undelivered []string `json:",omitempty"`
	// List is set for mailing-list mail (List-Id, Precedence: bulk/list).
	List bool
	// Headers keeps the few raw header values later checks need
	// (Authentication-Results), keyed by canonical header name.
	Headers map[string][]string
	// Body is the plain-text body (or text derived from HTML), capped.
	Body string
	// SharedLinks names the file-sharing services (OneDrive or
	// SharePoint, Google Drive, ...) the body links to: forms shared as a
	// link are not in the email.
	SharedLinks []string `json:",omitempty"`
	Attachments []Attachment
	// Referral and Consent are the forms found, nil when absent. When an
	// email carries a form twice, the first found is used and the others
	// are noted in Problems.
	Referral *Form
	Consent  *Form
	// Problems are parts of the message that could not be read; none of
	// them stopped the rest of the message from being read.
	Problems []string
}

// AttachmentKind is what an attachment was found to be.
type AttachmentKind string

const (
	KindReferral    AttachmentKind = "referral"
	KindConsent     AttachmentKind = "consent"
	KindBoth        AttachmentKind = "both"
	KindNotForm     AttachmentKind = "not_form"
	KindUnreadable  AttachmentKind = "unreadable"
	KindUnsupported AttachmentKind = "unsupported" // e.g. winmail.dat: the referrer can resend
)

// Attachment is one attachment of the email (including those inside
// forwarded messages).
type Attachment struct {
	Filename    string // sanitised; never a path
	ContentType string // as declared, lower-cased
	Detected    string // what the content is: "pdf", "docx", "ole", "tnef", "msg", "encrypted", "image", "zip", "odf", "rtf", "pages", "xps", "other"
	Size        int64  // decoded size in bytes
	Kind        AttachmentKind
	// Error says why an unreadable or unsupported attachment could not be
	// read, in words fit for a coordinator.
	Error string
	// Data is the decoded content, kept so the intake can store it with
	// the case. Nil when the attachment was over the size limit.
	Data []byte `json:"-"`
	// Forms found in the attachment; usually one, two for a combined PDF.
	Forms []*Form `json:"-"`

	// embedded are the files attached inside a PDF, until they are read
	// as attachments of their own (Parser.withEmbedded); embeddedNote
	// says why some could not be taken out.
	embedded     []EmbeddedFile
	embeddedNote string
}

// Form is one form's fields, normalised, by canonical name.
type Form struct {
	Kind FormKind
	// Source says what the form was read from: "acroform", "pdf-text", "docx",
	// "doc" (Word 97-2003), "rtf" (Rich Text), "odt" (OpenDocument).
	Source string
	// Values holds normalised values: dates YYYY-MM-DD, yes/no "true" or
	// "false", NHS numbers as digits, choices as FORMS.md prints them.
	// Blank fields are absent.
	Values map[string]string
	// Invalid holds the trimmed text of fields that were filled in but
	// could not be normalised (a US-style date, an unknown choice).
	Invalid map[string]string
	// OCR is set when the form was read by OCR from a scan or photo:
	// each field's confidence and where on the page it was read.
	OCR *OCRForm `json:",omitempty"`
}

// Has reports whether the field was filled in, validly or not.
func (f *Form) Has(name string) bool {
	if f == nil {
		return false
	}
	if _, ok := f.Values[name]; ok {
		return true
	}
	_, ok := f.Invalid[name]
	return ok
}

// Get returns the normalised value of a field, "" when blank or invalid.
func (f *Form) Get(name string) string {
	if f == nil {
		return ""
	}
	return f.Values[name]
}

// DateOf returns a date field's value; ok is false when blank or invalid.
func (f *Form) DateOf(name string) (time.Time, bool) {
	v := f.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, v)
	return t, err == nil
}

// Bool returns a yes/no field's value; ok is false when blank or invalid.
func (f *Form) Bool(name string) (value, ok bool) {
	switch f.Get(name) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// RawForm is what a reader (PDF, DOCX) found in a document before the
// fields are mapped to canonical names and normalised.
type RawForm struct {
	// Kind is set when the reader could tell the form from its content
	// (a title, a DSR-REFERRAL / DSR-CONSENT marker); empty otherwise.
	Kind FormKind
	// Marked is set when Kind comes from the form's printed code
	// (DSR-REFERRAL / DSR-CONSENT), which no other document carries; a
	// Kind from a title alone needs the form's fields too (see Classify).
	Marked bool `json:",omitempty"`
	// Title is the document's heading text, a hint for classification.
	Title string
	// Source: "acroform", "pdf-text", "docx", "doc", "rtf" or "odt".
	Source string
	// ByName holds values keyed by field name (AcroForm /T names joined
	// with dots, Word content-control tags, legacy form-field names).
	// A PDF's every AcroForm field is here, a blank one (and in a form
	// with nothing filled, every one) with an empty value.
	ByName map[string]string
	// ByLabel holds values keyed by the printed label next to them, in
	// the order they were found. A word processor's labels (docx, doc,
	// rtf, odt) are whole table cells: see LabelCells.
	ByLabel []LabelValue
	// OCR is set when the form was read from a scan or photo.
	OCR *OCRForm `json:",omitempty"`
}

// LabelCells says whether the form's labels are whole table cells, as a
// word processor's are (the Word reader pairs a row's label cell with the
// cell beside it), so that words after a known label in one were typed
// there by the person filling the form in.
func (rf *RawForm) LabelCells() bool {
	switch rf.Source {
	case "docx", "doc", "rtf", "odt":
		return true
	}
	return false
}

// LabelValue is one printed label and the value written beside it.
type LabelValue struct {
	Label string
	Value string
}
