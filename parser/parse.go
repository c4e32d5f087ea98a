package parser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"image"
	_ "image/gif" // image.DecodeConfig tells a logo from a photo of a form by its size
	_ "image/jpeg"
	_ "image/png"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset go-message knows, for bodies and headers
	"github.com/emersion/go-message/mail"
	_ "golang.org/x/image/bmp"  // and Windows bitmaps
	_ "golang.org/x/image/webp" // and WebP pictures
)

// ErrTooLarge is returned for a message over Limits.MaxMessageBytes.
var ErrTooLarge = errors.New("message larger than the size limit")

// Hash is the identity of a raw message: the hex SHA-256 of its bytes.
func Hash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

const maxBody = 64 << 10

// Parse reads one raw RFC 5322 message. It returns an error only when
// nothing of the message can be read (or it is over the size limit);
// problems with single parts are reported in Submission.Problems and on
// the attachments.
func (p *Parser) Parse(ctx context.Context, raw []byte) (*Submission, error) {
	if int64(len(raw)) > p.limits.MaxMessageBytes {
		return nil, fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, len(raw), p.limits.MaxMessageBytes)
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') >= 0 {
		// Old Mac line ends, a CR alone, as a message saved on one keeps
		// them (sisimai's corpus has 80): Python's email reads such a
		// message line by line; here it would be one header line. Read
		// with LF instead, a copy of the same size, for this rare message
		// only; the raw message kept is the one received.
		raw = bytes.ReplaceAll(raw, []byte("\r"), []byte("\n"))
	}
	src := bytes.NewReader(raw)
	e, err := readEntity(src)
	if e == nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	sub := &Submission{Headers: map[string][]string{}}
	if err != nil {
		sub.Problems = append(sub.Problems, "the message has "+cleanErr(err))
	}
	p.readHeader(e.Header, sub)

	w := &walker{limits: p.limits, unread: src.Len, scratch: p.partScratch()}
	w.walk(e, 0, false)
	p.partBufs.Put(w.scratch)
	sub.Problems = append(sub.Problems, w.problems...)

	plainBody := false
	var attachments []*part
	var portals []string
	for _, pt := range w.parts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if isBody(pt) {
			shared, secure := linkedServices(pt.data)
			for _, s := range shared {
				if !slices.Contains(sub.SharedLinks, s) {
					sub.SharedLinks = append(sub.SharedLinks, s)
				}
			}
			for _, s := range secure {
				if !slices.Contains(portals, s) {
					portals = append(portals, s)
				}
			}
			// The first plain-text body wins; HTML only when there is none.
			if !plainBody && (sub.Body == "" || pt.mediaType != "text/html") {
				sub.Body = bodyText(pt)
				plainBody = pt.mediaType != "text/html"
			}
			continue
		}
		if len(attachments) >= p.limits.MaxAttachments {
			sub.Problems = append(sub.Problems, fmt.Sprintf("more than %d attachments: the rest were not read", p.limits.MaxAttachments))
			break
		}
		attachments = append(attachments, pt)
	}
	for _, s := range portals {
		// Like an encrypted email: a coordinator opens it on the
		// service's site, the referrer cannot send it otherwise.
		sub.Problems = append(sub.Problems, "the email is a secure message to read on "+s+"'s site, which the intake cannot open: a coordinator can, with the mailbox's sign-in")
	}
	sub.Attachments = p.withEmbedded(ctx, p.readAttachments(ctx, attachments), sub)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	p.assignForms(sub)
	if !sub.AutoReply {
		if why := reportKind(e.Header); why != "" {
			sub.AutoReply, sub.AutoReplyReason = true, why
		}
	}
	sub.Undelivered = undelivered(e.Header, sub.From, w, sub.InReplyTo)
	return sub, nil
}

// Auto-reply detection follows RFC 3834 and what Exchange, Gmail and
// mailers actually send.
var autoSubjects = regexp.MustCompile(`(?i)^\s*(automatic reply|auto(matic)?[- ]?reply|auto:|out of (the )?office|undeliverable|undelivered mail|delivery status notification|mail delivery (failed|failure|system)|returned mail|delivery failure|message not delivered)`)

var caseRefPattern = regexp.MustCompile(`\bDSR-(\d{4})-(\d{6})\b`)

func (p *Parser) readHeader(h message.Header, sub *Submission) {
	mh := mail.Header{Header: h}
	if from, err := mh.AddressList("From"); err == nil && len(from) > 0 {
		sub.From = strings.ToLower(from[0].Address)
		sub.FromName = from[0].Name
	} else {
		sub.From = strings.ToLower(strings.Trim(lastAngle(headerText(h, "From")), " <>"))
	}
	if rt, err := mh.AddressList("Reply-To"); err == nil && len(rt) > 0 {
		sub.ReplyTo = strings.ToLower(rt[0].Address)
	}
	if s, err := mh.Subject(); err == nil {
		sub.Subject = strings.ToValidUTF8(s, "\uFFFD")
	} else {
		sub.Subject = headerText(h, "Subject")
	}
	if d, err := mh.Date(); err == nil {
		sub.Date = d.UTC()
	}
	sub.MessageID = msgID(h.Get("Message-Id"))
	sub.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	sub.References = msgIDs(h.Get("References"))
	if m := caseRefPattern.FindString(sub.Subject); m != "" {
		sub.CaseRef = m
	}
	for _, k := range []string{"Authentication-Results", "Auto-Submitted", "Return-Path", "List-Id", "Precedence", "X-Autoreply", "X-Autorespond"} {
		if vs := h.Values(k); len(vs) > 0 {
			sub.Headers[k] = vs
		}
	}

	auto := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	switch {
	case auto != "" && !strings.HasPrefix(auto, "no"):
		sub.AutoReply, sub.AutoReplyReason = true, "Auto-Submitted: "+auto
	case h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || h.Get("X-Autogenerated") != "":
		sub.AutoReply, sub.AutoReplyReason = true, "auto-reply header"
	case prec == "auto_reply":
		sub.AutoReply, sub.AutoReplyReason = true, "Precedence: auto_reply"
	case autoSubjects.MatchString(sub.Subject):
		sub.AutoReply, sub.AutoReplyReason = true, "automatic-reply subject"
	case fromMailSystem(h, sub.From):
		sub.AutoReply, sub.AutoReplyReason = true, "bounce from a mail system"
	}
	if h.Get("List-Id") != "" || prec == "bulk" || prec == "list" || prec == "junk" {
		sub.List = true
	}
}

// fromMailSystem reports whether an email with header h, from the
// address from, was sent by a mail system, not a person: a null
// Return-Path or From (McAfee's gateway writes From: <>), or a mail
// system's own name.
func fromMailSystem(h message.Header, from string) bool {
	return isNullSender(h.Get("Return-Path")) || isNullSender(h.Get("From")) || isDaemon(from)
}

// isNullSender reports whether a Return-Path or From is the null address,
// alone or with a display name (DragonFly's dma writes From: MAILER-DAEMON <>).
func isNullSender(rp string) bool {
	return strings.HasSuffix(strings.TrimSpace(rp), "<>")
}

func isDaemon(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	switch local {
	// post_master is in sisimai's corpus of real bounces: a mail system's
	// name for itself, as postmaster is.
	case "mailer-daemon", "postmaster", "post_master", "mail-daemon",
		"microsoftexchange329e71ec88ae4615bbc36ab6ce41109e":
		return true
	}
	return false
}

// reportKind says why an email is a machine's report (RFC 6522), or ""
// when it is none. Beside delivery reports and read receipts, abuse
// desks' feedback reports (ARF) and DMARC's failure reports are
// multipart/report too (sisimai's corpus has them from Hotmail, Yahoo,
// Amazon SES): none is a referrer writing, and none is to be queried.
//
// A report's status part may also come as the whole email, with no
// multipart/report around it (mailgun/flanker's delayed-broken.eml, a
// mail system's delay warning with no From and no Subject, was queried
// for its missing forms): what such a part says is a machine's too.
func reportKind(h message.Header) string {
	mt, params, _ := h.ContentType()
	switch strings.ToLower(mt) {
	case "message/delivery-status", "message/global-delivery-status",
		"message/disposition-notification", "message/global-disposition-notification":
		return "delivery status notification"
	case "message/feedback-report":
		return "automatic report (feedback-report)"
	}
	if !strings.EqualFold(mt, "multipart/report") {
		return ""
	}
	switch rt := strings.ToLower(params["report-type"]); rt {
	case "delivery-status", "disposition-notification":
		return "delivery status notification"
	case "":
		return "automatic report"
	default:
		return "automatic report (" + rt + ")"
	}
}

func lastAngle(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		return s[i:]
	}
	return s
}

func msgID(s string) string {
	ids := msgIDs(s)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// msgIDs reads a list of message ids leniently: <a@b> <c@d>, or bare ids
// separated by spaces or commas, as some mailers write them.
func msgIDs(s string) []string {
	var ids []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' }) {
		f = strings.Trim(f, "<>")
		if f != "" && strings.Contains(f, "@") {
			ids = append(ids, f)
		}
	}
	return ids
}

// isBody says whether a leaf is the message text rather than an
// attachment: text/plain or text/html with no file name.
func isBody(pt *part) bool {
	if pt.filename != "" || pt.disposition == "attachment" {
		return false
	}
	return pt.mediaType == "text/plain" || pt.mediaType == "text/html" || pt.mediaType == ""
}

var tagPattern = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

func bodyText(pt *part) string {
	s := string(bytes.ToValidUTF8(pt.data, []byte("\uFFFD")))
	if pt.mediaType == "text/html" {
		s = html.UnescapeString(tagPattern.ReplaceAllString(s, " "))
	}
	if len(s) > maxBody {
		s = strings.ToValidUTF8(s[:maxBody], "")
	}
	return s
}

// Detected content kinds.
const (
	detectPDF  = "pdf"
	detectDOCX = "docx"
	detectOLE  = "ole" // legacy .doc, or an encrypted Office file
	detectTNEF = "tnef"
	detectMsg  = "msg" // an Outlook item
	// An encrypted email or part: Microsoft 365 message encryption (an
	// .rpmsg file, which IMAP gives in place of a protected message),
	// S/MIME enveloped data, or OpenPGP.
	detectEncrypted = "encrypted"
	detectImage     = "image"
	detectZip       = "zip"     // a zip file whose files could not be taken out
	detectArchive   = "archive" // a 7-Zip or RAR archive, which is not opened
	detectODF       = "odf"     // an OpenDocument text (LibreOffice's own format)
	detectRTF       = "rtf"     // Rich Text Format
	detectPages     = "pages"   // an Apple Pages document (pages.go)
	detectXPS       = "xps"     // an XPS document, Windows' other print format (xps.go)
	detectOther     = "other"
)

// detect decides what an attachment is by its content, with the declared
// type and name only as tie-breakers.
func detect(pt *part) string {
	d := pt.data
	name := strings.ToLower(pt.filename)
	switch {
	case bytes.Contains(head(d, 1024), []byte("%PDF-")):
		return detectPDF
	case isTNEF(d):
		return detectTNEF
	case encryptedPart(pt) != "":
		return detectEncrypted
	case otherArchive(d) != "":
		return detectArchive
	case len(d) >= 4 && bytes.Equal(d[:4], []byte("PK\x03\x04")):
		switch {
		case bytes.Contains(d, []byte("word/")) || strings.HasSuffix(name, ".docx"):
			return detectDOCX
		case isODFText(d):
			return detectODF
		case isPagesDocument(pt):
			return detectPages
		case isXPSDocument(pt):
			return detectXPS
		case isZipArchive(pt):
			return detectZip // one whose files could not be taken out
		}
		return detectOther
	case isOutlookPart(pt):
		return detectMsg
	case len(d) >= 8 && bytes.Equal(d[:8], []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}):
		return detectOLE
	case bytes.HasPrefix(d, []byte(`{\rtf`)) && (pt.filename != "" || pt.disposition == "attachment"):
		// Word's "Rich Text Format", as some case-management systems
		// export a form; a file, not a mailer's text/rtf body.
		return detectRTF
	case isImageMagic(d) || isHEIC(d):
		// By content: phones' photos come as application/octet-stream too.
		return detectImage
	case pt.mediaType == "application/ms-tnef", pt.mediaType == "application/vnd.ms-tnef", name == "winmail.dat":
		// Declared a TNEF stream but without its signature (an image has
		// been taken above by its own).
		return detectTNEF
	case strings.HasPrefix(pt.mediaType, "image/"):
		return detectImage
	case strings.HasSuffix(name, ".pdf") || pt.mediaType == "application/pdf":
		// Named a PDF but not one (the reader will say why), or over the
		// size limit, when no bytes were kept and the name is all we have.
		return detectPDF
	case strings.HasSuffix(name, ".docx"):
		return detectDOCX
	}
	return detectOther
}

// otherArchive names an archive the intake does not open, by its
// signature: "7-Zip" or "RAR"; "" for anything else.
func otherArchive(d []byte) string {
	switch {
	case bytes.HasPrefix(d, []byte("7z\xbc\xaf\x27\x1c")):
		return "7-Zip"
	case bytes.HasPrefix(d, []byte("Rar!\x1a\x07\x00")), bytes.HasPrefix(d, []byte("Rar!\x1a\x07\x01\x00")):
		return "RAR"
	}
	return ""
}

// encryptedPart says how a part is encrypted, in a coordinator's words,
// or "" when it is not.
func encryptedPart(pt *part) string {
	name := strings.ToLower(pt.filename)
	switch {
	case pt.mediaType == "application/x-microsoft-rpmsg-message" || strings.HasSuffix(name, ".rpmsg"):
		return "the email is protected with Microsoft 365 message encryption, which only Outlook can open: open it there"
	case pt.mediaType == "application/pkcs7-mime" || pt.mediaType == "application/x-pkcs7-mime":
		switch strings.ToLower(pt.params["smime-type"]) {
		case "signed-data":
			// Only when what it carries could not be taken out (smime.go).
			return "the email is signed with S/MIME in a form the intake could not open: open it in the mailbox's mail client"
		case "enveloped-data", "authenveloped-data":
			return "the email is encrypted with S/MIME, which only the mailbox's own mail client can open: open it there"
		case "":
			if strings.HasSuffix(name, ".p7m") {
				return "the email is encrypted with S/MIME, which only the mailbox's own mail client can open: open it there"
			}
		}
	case bytes.HasPrefix(bytes.TrimSpace(head(pt.data, 64)), []byte("-----BEGIN PGP MESSAGE-----")):
		// PGP/MIME's data part (its application/pgp-encrypted part holds
		// only "Version: 1" and is no form).
		return "the email is encrypted with OpenPGP, which the intake cannot open"
	}
	return ""
}

// minPageSide and minPageLong are the least a picture of a form page can
// be and still be read: A4 at about 75 dpi. Logos and icons are smaller.
const minPageSide, minPageLong = 600, 800

// bodyImage says an image is part of the message's text, not a form: one
// too small to hold a readable page, whatever its place; or, when its
// size cannot be read, one placed in the body (inside multipart/related,
// or inline with a Content-ID), as a signature logo is. A photo of a form
// is never small, and iOS Mail sends one inline with a Content-ID, and
// Outlook pastes one into the body: those are read as forms.
func bodyImage(pt *part) bool {
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(pt.data)); err == nil {
		return !pageSized(cfg)
	}
	return pt.inRelated || (pt.disposition == "inline" && pt.contentID != "")
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// isImageMagic says whether d is a picture ImageMagick reads for OCR: PNG,
// JPEG, GIF, TIFF, WebP (Chrome's "Save image", some phones and
// messaging apps) or Windows' BMP (Paint); HEIC apart (isHEIC).
func isImageMagic(d []byte) bool {
	for _, m := range [][]byte{{0x89, 'P', 'N', 'G'}, {0xff, 0xd8, 0xff}, []byte("GIF8"), []byte("II*\x00"), []byte("MM\x00*")} {
		if bytes.HasPrefix(d, m) {
			return true
		}
	}
	return isWebP(d) || isBMP(d)
}

// isWebP: a RIFF container of WebP data (RIFF, its size, WEBP).
func isWebP(d []byte) bool {
	return len(d) >= 16 && string(d[:4]) == "RIFF" && string(d[8:12]) == "WEBP"
}

// isBMP: "BM", the file's size, four reserved bytes that are zero, and
// the offset of the pixels, which follow the 14-byte file header and a
// header of 12 bytes or more.
func isBMP(d []byte) bool {
	return len(d) >= 26 && string(d[:2]) == "BM" && string(d[6:10]) == "\x00\x00\x00\x00" && binary.LittleEndian.Uint32(d[10:14]) >= 26
}

// readAttachments reads the attachments at once, up to one per CPU: a
// referral comes with two forms, and the time to a decision is that of
// the slower one rather than of both.
func (p *Parser) readAttachments(ctx context.Context, parts []*part) []Attachment {
	out := make([]Attachment, len(parts))
	if len(parts) == 1 {
		out[0] = p.readAttachment(ctx, parts[0])
		return out
	}
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, pt := range parts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = p.readAttachment(ctx, pt)
		}()
	}
	wg.Wait()
	return out
}

func (p *Parser) readAttachment(ctx context.Context, pt *part) Attachment {
	a := Attachment{
		Filename:    pt.filename,
		ContentType: pt.mediaType,
		Size:        pt.size,
		Data:        pt.data,
	}
	a.Detected = detect(pt)
	if pt.err != "" {
		a.Kind, a.Error = KindUnreadable, pt.err
		return a
	}
	if pt.truncated {
		a.Kind = KindUnreadable
		a.Error = fmt.Sprintf("the attachment is larger than the %d MB limit", p.limits.MaxAttachmentBytes>>20)
		if a.Detected != detectPDF && a.Detected != detectDOCX {
			a.Kind = KindNotForm
		}
		return a
	}
	var forms []*RawForm
	var err error
	switch a.Detected {
	case detectPDF:
		var c pdfContent
		c, err = p.readPDF(ctx, pt.data)
		forms, a.embedded, a.embeddedNote = c.Forms, c.Files, c.FilesNote
	case detectDOCX:
		forms, err = readDOCX(ctx, pt.data, p.limits)
	case detectOLE:
		forms, err = readDOCX(ctx, pt.data, p.limits)
	case detectRTF:
		forms, err = readRTF(ctx, pt.data, p.limits)
	case detectODF:
		forms, err = readODT(ctx, pt.data, p.limits)
	case detectXPS:
		a.Kind, a.Error = KindUnsupported, reasonXPS
		return a
	case detectPages:
		preview, perr := pagesPreview(pt.data, p.limits.MaxAttachmentBytes)
		if perr != nil {
			a.Kind, a.Error = KindUnsupported, reasonPages
			p.log.Info("attachment unsupported", "type", a.Detected, "size", a.Size, "why", cleanErr(perr))
			return a
		}
		var c pdfContent
		c, err = p.readPDF(ctx, preview)
		forms = c.Forms
	case detectTNEF:
		// Only a winmail.dat whose files could not be taken out is left
		// here (the walker puts a readable one's files in its place).
		a.Kind = KindUnsupported
		why := pt.unwrapErr
		if why == "" {
			why = cleanErr(errNotTNEF) // declared TNEF, without its signature
		}
		a.Error = "Outlook sent the attachments wrapped in winmail.dat, which could not be opened (" + why + ")"
		return a
	case detectEncrypted:
		// Only the recipient's mail client can open it: a coordinator does,
		// in Outlook, so the case goes to review rather than a query
		// asking for forms the referrer did send.
		a.Kind = KindUnreadable
		a.Error = encryptedPart(pt)
		return a
	case detectZip:
		// A zip whose files could not be taken out: a password or damage.
		// The coordinator may have the password (referrers send it apart).
		a.Kind = KindUnreadable
		a.Error = pt.unwrapErr
		if a.Error == "" {
			// Taken out of another zip: one level is opened, no more.
			a.Error = "a zip file inside a zip file is not opened"
		}
		return a
	case detectArchive:
		// 7-Zip with a password is how many offices send personal data by
		// ordinary email: the forms may be in it, and a coordinator may
		// have the password (sent apart); the intake opens zip files only.
		a.Kind = KindUnreadable
		a.Error = "a " + otherArchive(pt.data) + " archive, which the intake does not open"
		return a
	case detectMsg:
		// As above, an Outlook item (.msg) whose files could not be taken out.
		a.Kind = KindUnsupported
		a.Error = "an attached Outlook item (.msg) could not be opened (" + pt.unwrapErr + ")"
		return a
	case detectImage:
		if bodyImage(pt) {
			a.Kind = KindNotForm
			return a
		}
		if p.ocr == nil {
			a.Kind = KindUnreadable
			a.Error = ReasonImageNoOCR
			return a
		}
		var c pdfContent
		c, err = p.readPDF(ctx, pt.data)
		forms = c.Forms
	default:
		a.Kind = KindNotForm
		return a
	}
	if err != nil {
		a.Kind, a.Error = KindUnreadable, ReasonOf(err)
		switch a.Detected {
		case detectRTF:
			// Rich Text that cannot be read: the referrer can save the
			// form as Word or PDF in a minute.
			a.Kind = KindUnsupported
			a.Error = "a Rich Text (.rtf) document cannot be read: save it as Word (.docx) or PDF and send it again"
		case detectODF:
			// The same for LibreOffice's and OpenOffice's own format,
			// unless a password is what stops it.
			if a.Error != reasonODTEncrypted {
				a.Kind = KindUnsupported
				a.Error = "a LibreOffice document (.odt) cannot be read: save it as Word (.docx) or PDF and send it again"
			}
		}
		if a.Error == reasonDOCXOldDoc {
			// Word 97-2003's format, which the referrer can save as .docx
			// in a minute; a coordinator would have to retype it.
			a.Kind = KindUnsupported
			a.Error = "an old Word document (.doc) cannot be read: save it as Word (.docx) or PDF and send it again"
		}
		p.log.Info("attachment unreadable", "type", a.Detected, "size", a.Size, "reason", a.Error)
		return a
	}
	nameHint := p.mapping.KindFromTitle(pt.filename)
	for _, rf := range forms {
		var hint FormKind
		if len(forms) == 1 {
			hint = nameHint
		}
		k := p.mapping.classifyHinted(rf, hint)
		if k == "" {
			continue
		}
		f := p.mapping.Map(k, rf)
		f.OCR = rf.OCR.forForm(f)
		a.Forms = append(a.Forms, f)
	}
	a.Kind = kindOf(a.Forms)
	return a
}

// readPDF applies the per-attachment time budget around the PDF reader,
// and takes out the files attached inside the PDF when the reader can.
func (p *Parser) readPDF(ctx context.Context, data []byte) (pdfContent, error) {
	ctx, cancel := context.WithTimeout(ctx, p.limits.readTimeout(p.ocr != nil))
	defer cancel()
	if fr, ok := p.pdf.(pdfFileReader); ok {
		return fr.ReadPDFFiles(ctx, data)
	}
	forms, err := p.pdf.ReadPDF(ctx, data)
	return pdfContent{Forms: forms}, err
}

// withEmbedded puts the files attached inside the PDFs among the
// attachments, each read as an attachment of its own right after its
// PDF: a consent form attached to the referral in Acrobat, or the forms
// of a PDF portfolio. One level only: files inside an attached PDF's
// own files are not taken out. The files count against the attachment
// limit; what is left out, or could not be taken out, is said.
func (p *Parser) withEmbedded(ctx context.Context, as []Attachment, sub *Submission) []Attachment {
	found := false
	for _, a := range as {
		found = found || len(a.embedded) > 0 || a.embeddedNote != ""
	}
	if !found {
		return as
	}
	out := make([]Attachment, 0, len(as))
	for i, a := range as {
		files, note := a.embedded, a.embeddedNote
		a.embedded, a.embeddedNote = nil, ""
		out = append(out, a)
		if note != "" {
			sub.Problems = append(sub.Problems, fmt.Sprintf("%q holds files attached inside it that could not all be taken out: %s", a.Filename, note))
		}
		if len(files) == 0 {
			continue
		}
		room := p.limits.MaxAttachments - len(out) - (len(as) - i - 1)
		if len(files) > room {
			sub.Problems = append(sub.Problems, fmt.Sprintf("%q holds %d files attached inside it; over the limit of %d attachments, %d were not read", a.Filename, len(files), p.limits.MaxAttachments, len(files)-max(room, 0)))
			files = files[:max(room, 0)]
		}
		parts := make([]*part, len(files))
		for j, f := range files {
			parts[j] = &part{
				mediaType:   typeByName(f.Name),
				params:      map[string]string{},
				disposition: "attachment",
				filename:    sanitiseFilename(f.Name),
				data:        f.Data,
				size:        int64(len(f.Data)),
			}
		}
		for _, e := range p.readAttachments(ctx, parts) {
			e.embedded, e.embeddedNote = nil, "" // one level
			out = append(out, e)
		}
	}
	return out
}

func kindOf(forms []*Form) AttachmentKind {
	var r, c bool
	for _, f := range forms {
		switch f.Kind {
		case Referral:
			r = true
		case Consent:
			c = true
		}
	}
	switch {
	case r && c:
		return KindBoth
	case r:
		return KindReferral
	case c:
		return KindConsent
	}
	return KindNotForm
}

// assignForms picks the submission's referral and consent forms: the
// first of each kind, in attachment order, with the further pages of one
// read by OCR from other pictures (addOCRPages); any further copy is
// noted.
func (p *Parser) assignForms(sub *Submission) {
	for _, a := range sub.Attachments {
		for _, f := range a.Forms {
			switch {
			case f.Kind == Referral && sub.Referral == nil:
				sub.Referral = f
			case f.Kind == Consent && sub.Consent == nil:
				sub.Consent = f
			case addOCRPages(sub.formOf(f.Kind), f):
				// Further pages of the form already taken.
			default:
				sub.Problems = append(sub.Problems, fmt.Sprintf("a second %s form (in %q) was not used", f.Kind, a.Filename))
			}
		}
	}
}

// formOf is the submission's form of kind k, if any.
func (s *Submission) formOf(k FormKind) *Form {
	switch k {
	case Referral:
		return s.Referral
	case Consent:
		return s.Consent
	}
	return nil
}

// addOCRPages adds to dst, a form read by OCR, the fields of src, read by
// OCR from another attachment, when src is more pages of the same form
// rather than a second copy of it: a phone takes a photo a page, and each
// photo is an attachment of its own. Its pages follow dst's. It is a
// second copy, and nothing is added, when a field both read differs, or
// when src adds nothing.
func addOCRPages(dst, src *Form) bool {
	if dst == nil || src == nil || dst.Source != SourceOCR || src.Source != SourceOCR || dst.OCR == nil || src.OCR == nil {
		return false
	}
	adds := false
	for name, v := range src.Values {
		if w, ok := dst.Values[name]; ok && w != v || dst.Invalid[name] != "" {
			return false
		} else if !ok {
			adds = true
		}
	}
	for name, v := range src.Invalid {
		if w, ok := dst.Invalid[name]; ok && w != v || dst.Values[name] != "" {
			return false
		} else if !ok {
			adds = true
		}
	}
	if !adds {
		return false
	}
	offset := len(dst.OCR.Pages)
	dst.OCR.Pages = append(dst.OCR.Pages, src.OCR.Pages...)
	for name, v := range src.Values {
		dst.Values[name] = v
	}
	for name, v := range src.Invalid {
		if dst.Invalid == nil {
			dst.Invalid = map[string]string{}
		}
		dst.Invalid[name] = v
	}
	if dst.OCR.Fields == nil {
		dst.OCR.Fields = map[string]OCRField{}
	}
	for name, fl := range src.OCR.Fields {
		if _, ok := dst.OCR.Fields[name]; !ok {
			fl.Page += offset
			dst.OCR.Fields[name] = fl
		}
	}
	return true
}
