package parser

import (
	"bufio"
	"bytes"
	"io"
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
		if failedDelivery(data) {
			w.dsnFailed = true
		}
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

// failedDelivery reports whether a delivery-status part gives any
// recipient "Action: failed" (not "delayed", "delivered", "relayed" or
// "expanded", which are no failure).
func failedDelivery(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data[:min(len(data), maxReportBytes)]))
	sc.Buffer(make([]byte, 0, 4096), maxReportBytes)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "action") &&
			strings.HasPrefix(strings.ToLower(strings.TrimSpace(value)), "failed") {
			return true
		}
	}
	return false
}

// undelivered is what a parsed email from sender says came back
// undelivered: for a delivery report with a failed recipient, the
// messages it returns, or when it returns none, those it replies to.
func undelivered(h message.Header, sender string, w *walker, inReplyTo []string) []string {
	if !w.dsnFailed {
		return nil
	}
	mt, params, _ := h.ContentType()
	if strings.EqualFold(mt, "multipart/report") {
		// Some servers leave out report-type (CPython's msg_16 is one); a
		// read receipt (disposition-notification) reports no delivery.
		if strings.EqualFold(params["report-type"], "disposition-notification") {
			return nil
		}
	} else if !fromMailSystem(h, sender) {
		// McAfee's gateway sends the same parts as a multipart/mixed
		// (sisimai's lhost-mcafee): taken only from a mail system, since a
		// person's email may carry a report it forwards.
		return nil
	}
	if len(w.returned) > 0 {
		return w.returned
	}
	return inReplyTo[:min(len(inReplyTo), maxBounced)]
}
