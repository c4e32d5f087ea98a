package parser

import (
	"bufio"
	"bytes"
	"html"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// A delivery status notification (RFC 3464) is a multipart/report whose
// message/delivery-status part has a group of fields for each recipient,
// "Action: failed" for one that could not be reached, and usually a copy
// of the message it reports on, whole (message/rfc822) or its header only
// (message/rfc822-headers). The intake never answers one; it reads which
// of its own emails came back (Submission.Undelivered), since a query
// the referrer never received leaves its case waiting on nobody.

// maxReportBytes bounds what is read of a delivery-status part.
const maxReportBytes = 64 << 10

// readReport notes what a report's own parts say: a failed delivery, or
// the header of the message returned.
func (w *walker) readReport(mt string, data []byte) {
	switch mt {
	case "message/delivery-status", "message/global-delivery-status":
		acted, failed := deliveryActions(data)
		w.dsnSeen = w.dsnSeen || acted
		w.dsnFailed = w.dsnFailed || failed
	case "message/rfc822-headers", "text/rfc822-headers", "message/global-headers":
		r := io.MultiReader(bytes.NewReader(data[:min(len(data), maxReportBytes)]), strings.NewReader("\r\n\r\n"))
		if h, err := textproto.ReadHeader(bufio.NewReader(r)); err == nil {
			w.noteReturned(message.Header{Header: h})
		}
	}
}

// noteReturned keeps the Message-ID of a message carried in another: in
// a delivery report, the message it reports on.
func (w *walker) noteReturned(h message.Header) {
	if id := msgID(h.Get("Message-Id")); id != "" && len(w.returned) < maxBounced {
		w.returned = append(w.returned, id)
	}
}

// maxBounced bounds the Message-IDs one report names.
const maxBounced = 16

// deliveryActions reads a delivery-status part's Action fields: whether
// it has any (some Postfix reports have none, or the part is empty: then
// the report's text decides), and whether any recipient's is "failed"
// (not "delayed", "delivered", "relayed" or "expanded", which are no
// failure).
func deliveryActions(data []byte) (acted, failed bool) {
	sc := bufio.NewScanner(bytes.NewReader(data[:min(len(data), maxReportBytes)]))
	sc.Buffer(make([]byte, 0, 4096), maxReportBytes)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "action") {
			acted = true
			// SendGrid writes "expired" for a message it gave up on.
			if v := strings.ToLower(strings.TrimSpace(value)); strings.HasPrefix(v, "failed") || strings.HasPrefix(v, "expired") {
				return true, true
			}
		}
	}
	return acted, false
}

// undelivered is what a parsed email from sender says came back
// undelivered: for a delivery report with a failed recipient, or a mail
// system's bounce in plain text, the messages it returns (copied whole,
// or their header, as parts or pasted into its text), or when it returns
// none, those it replies to.
func undelivered(h message.Header, sender string, w *walker, inReplyTo []string) []string {
	mt, params, _ := h.ContentType()
	report := strings.EqualFold(mt, "multipart/report")
	// Some servers leave out report-type (CPython's msg_16 is one).
	rt := strings.ToLower(params["report-type"])
	switch {
	case report && rt == "disposition-notification":
		return nil // a read receipt reports no delivery
	case !report && !fromMailSystem(h, sender):
		// McAfee's gateway sends a report's parts as a multipart/mixed
		// (sisimai's lhost-mcafee): taken only from a mail system, since a
		// person's email may carry a report it forwards.
		return nil
	}
	if w.dsnFailed && len(w.returned) > 0 {
		return w.returned // the report's own parts say it all
	}
	copied, failed := plainBounce(h, w)
	if !w.dsnFailed {
		// A delivery-status part that fails no one (delayed, delivered)
		// is the mail system's last word; so is another kind of report
		// (abuse feedback). Without one, the text is read: a plain
		// bounce, or a report that left its status part out (sisimai's
		// lhost-activehunter, lhost-x3).
		if w.dsnSeen || (report && rt != "" && rt != "delivery-status") || !failed {
			return nil
		}
	}
	switch {
	case len(w.returned) > 0:
		return w.returned
	case len(copied) > 0:
		// Exchange Online pastes the returned message's header into its
		// text when it attaches none.
		return copied
	}
	return inReplyTo[:min(len(inReplyTo), maxBounced)]
}

// Many mail systems never learnt RFC 3464: qmail, Exim, old Gmail, Yahoo,
// GMX, Exchange 2003 and DragonFly's dma bounce a message with a text
// saying it failed and a copy of the message, or of its header, pasted
// below it (sisimai's corpus of real bounces has some 200 such, of 20
// mail systems). From a mail system, such a text is read as a failed
// delivery unless it is a warning that delivery goes on; the returned
// message's own Message-ID line names it.

// maxBounceText bounds what is read of one text part of a plain bounce:
// the explanation and a copied header come first.
const maxBounceText = 256 << 10

// plainBounce reads the text parts of a mail system's email: the
// Message-IDs of the messages copied into them, and whether their own
// words say a delivery failed for good (and none says it is still tried).
func plainBounce(h message.Header, w *walker) (ids []string, failed bool) {
	warned := false
	subject := strings.ToLower(h.Get("Subject"))
	for _, k := range bounceWarningSubjects {
		if strings.Contains(subject, k) {
			warned = true
		}
	}
	// A mail system that writes its bounce in HTML alone (no text/plain
	// part) is read from the HTML's text: its words passed unread, the
	// message it returned was given up silently.
	htmlOnly := !slices.ContainsFunc(w.parts, func(p *part) bool { return !p.inMessage && p.mediaType == "text/plain" && isBody(p) })
	for _, p := range w.parts {
		if p.inMessage || p.truncated || p.err != "" {
			continue
		}
		var text []byte
		switch {
		case p.mediaType == "text/plain":
			text = p.data[:min(len(p.data), maxBounceText)]
		case p.mediaType == "text/html" && htmlOnly && isBody(p):
			text = htmlText(p.data[:min(len(p.data), maxBounceText)])
		default:
			continue
		}
		// What the mail system wrote ends where the copy begins; the
		// copy's words (ours) say nothing about the delivery.
		own, id := text, ""
		if at, v := returnedMessageID(text); at >= 0 {
			own, id = text[:at], v
		}
		// A text attached as a file is the copy itself (Exchange 2003
		// attaches the returned message so): only its id counts.
		if isBody(p) {
			switch bounceText(own) {
			case bounceWarning:
				warned = true
			case bounceFailed:
				failed = true
			}
		}
		if id != "" && len(ids) < maxBounced && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, failed && !warned
}

// returnedMessageID finds the first Message-ID header line in text (a
// copied header, perhaps indented; the value perhaps on the next, folded
// line) and gives where its line starts and the id, or -1.
func returnedMessageID(text []byte) (int, string) {
	for at := 0; at < len(text); {
		end := bytes.IndexByte(text[at:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += at
		}
		line := bytes.TrimLeft(text[at:end], " \t>")
		if len(line) > len("message-id:") && bytes.EqualFold(line[:len("message-id:")], []byte("message-id:")) {
			value := string(line[len("message-id:"):])
			if strings.TrimSpace(value) == "" && end < len(text) {
				// Folded: the id on the next line.
				next, _, _ := bytes.Cut(text[end+1:], []byte("\n"))
				value = string(next)
			}
			if id := msgID(value); id != "" {
				return at, id
			}
		}
		at = end + 1
	}
	return -1, ""
}

type bounceVerdict int

const (
	bounceUnknown bounceVerdict = iota
	bounceFailed
	bounceWarning
)

// bounceText judges a mail system's own words: a warning that it is
// still trying, a failure, or neither (an out-of-office reply from a
// null sender, a notice).
func bounceText(b []byte) bounceVerdict {
	// One space for each run of blanks and line ends: Postfix breaks
	// "could not\nbe delivered" across lines. A typographic apostrophe
	// (Exchange's "weren’t") is read as the plain one the phrases have.
	text := strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(string(b), "’", "'"))), " ")
	for _, k := range bounceWarnings {
		if strings.Contains(text, k) {
			return bounceWarning
		}
	}
	for _, k := range bounceFailures {
		if strings.Contains(text, k) {
			return bounceFailed
		}
	}
	// An SMTP server's permanent refusal quoted: an enhanced status code
	// (RFC 3463) of class 5, as "550 5.1.1" or qmail's "#5.1.1" carry
	// it. A bare reply code is not enough: "550" is as likely a number
	// in the text.
	if permanentStatus.MatchString(text) {
		return bounceFailed
	}
	return bounceUnknown
}

// permanentStatus is a class-5 enhanced status code (5.1.1, 5.7.0,
// #5.5.0) standing alone.
var permanentStatus = regexp.MustCompile(`(?:^|[^0-9.])5\.[0-7]\.[0-9]{1,3}(?:[^0-9.]|\.(?:[^0-9]|$)|$)`)

// The phrases mail systems write, lower case. A warning is looked for
// first: "has not yet been delivered" must not read as a failure.
var (
	bounceWarningSubjects = []string{"delay", "warning", "still being retried", "will retry"}
	bounceWarnings        = []string{
		"delivery attempts will continue", "will continue to try", "will keep trying", "will be retried",
		"will retry", "still being retried", "still trying", "not yet been delivered", "no action is required",
		"has been delayed", "is delayed", "temporarily deferred",
	}
	// A phrase that another holds ("could not be delivered" holds "not be
	// delivered") is left out: the shorter one finds it.
	bounceFailures = []string{
		"not be delivered", "couldn't be delivered", "can't be delivered", "wasn't delivered", "not delivered",
		"unable to deliver", "not able to deliver", "n't able to deliver", "could not deliver", "couldn't deliver",
		"failed to deliver",
		"delivery failed", "delivery has failed", "delivery failure", "failed permanently", "permanent error",
		"permanent failure", "permanent fatal", "undeliverable", "undelivered", "returned mail",
		"non-delivery", "nondelivery", "user unknown", "unknown user", "no such user", "does not exist",
		"mailbox unavailable", "rejected", "giving up", "given up", "gave up",
		"retry timeout exceeded", "could not be sent", "did not reach", "failure reason", "failed address",
		"failed recipient",
		// German and French mail systems, whose words a UK referrer's
		// colleague abroad may send back.
		"unzustellbar", "nicht zugestellt", "n'a pas pu être remis", "non remis",
	}
)

// htmlText is the text of an HTML body, line by line: a line break or a
// block's end is a line end (a pasted header keeps its lines), any other
// tag a blank, entities decoded.
func htmlText(b []byte) []byte {
	s := htmlBreaks.ReplaceAllString(string(b), "\n")
	return []byte(html.UnescapeString(tagPattern.ReplaceAllString(s, " ")))
}

// htmlBreaks are the tags that end a line of an HTML body's text.
var htmlBreaks = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|pre|table)\s*>`)
