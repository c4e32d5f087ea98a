package outbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// Composer writes the emails decisions call for. Its texts are kind and
// specific, and carry identifiable details only to secure addresses.
type Composer struct {
	From          string   // the DSR inbox address
	FromName      string   // "Bromley DSR"
	SecureDomains []string // nhs.net, gov.uk: identifiable data may go there
	// SecureTag, when set (NHSmail's "[secure]"), is put in the subject of
	// mail to other domains, which NHSmail then encrypts; such mail may
	// carry identifiable data too.
	SecureTag string
	// Acknowledge sends a short note when a child is added.
	Acknowledge bool
}

// Secure reports whether identifiable data may be sent to addr as is.
func (c *Composer) Secure(addr string) bool {
	_, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !ok {
		return false
	}
	for _, d := range c.SecureDomains {
		d = strings.ToLower(strings.TrimPrefix(d, "."))
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// Replies returns the emails a decision on sub calls for: a query listing
// everything to fix, or an acknowledgement when configured. Automatic
// replies and our own mail never get an answer.
func (c *Composer) Replies(sub *parser.Submission, cs store.CaseInfo, d register.Decision) []store.OutboxMessage {
	to := sub.ReplyTo
	if to == "" {
		to = sub.From
	}
	if to == "" || sub.AutoReply || sub.List || c.Own(to) || c.Own(sub.From) {
		return nil
	}
	switch d.Outcome {
	case register.OutcomeQuery:
		return []store.OutboxMessage{c.query(sub, to, cs, d)}
	case register.OutcomeRegister:
		if c.Acknowledge {
			return []store.OutboxMessage{c.ack(sub, to, cs)}
		}
	}
	return nil
}

func (c *Composer) Own(addr string) bool {
	return c.From != "" && strings.EqualFold(strings.TrimSpace(addr), c.From)
}

func (c *Composer) subject(ref, text, to string) string {
	s := fmt.Sprintf("[%s] %s", ref, text)
	if c.SecureTag != "" && !c.Secure(to) {
		s = c.SecureTag + " " + s
	}
	return s
}

// identifiable reports whether the body may name the child.
func (c *Composer) identifiable(to string) bool {
	return c.Secure(to) || c.SecureTag != ""
}

func (c *Composer) query(sub *parser.Submission, to string, cs store.CaseInfo, d register.Decision) store.OutboxMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nThank you for your referral to the Bromley Dynamic Support Register (DSR). ")
	fmt.Fprintf(&b, "Before we can go ahead we need a little more from you:\n\n")
	names := childNames(sub)
	for _, r := range d.Reasons {
		msg := r.Message
		if !c.identifiable(to) {
			msg = anonymise(msg, names)
		}
		fmt.Fprintf(&b, "  - %s\n", msg)
	}
	fmt.Fprintf(&b, "\nPlease reply to this email with the corrected or missing form attached, and keep %s in the subject so it joins the referral.\n", cs.Ref)
	if !c.identifiable(to) {
		b.WriteString("\nFor privacy this email does not name the child; the reference above identifies the referral.\n")
	}
	fmt.Fprintf(&b, "\nIf you have any questions, reply to this email and a DSR coordinator will help.\n\nBromley DSR\n")
	return store.OutboxMessage{
		Kind:       "query",
		To:         to,
		Subject:    c.subject(cs.Ref, "More information needed for your DSR referral", to),
		Body:       b.String(),
		MessageID:  c.NewMessageID(),
		InReplyTo:  sub.MessageID,
		References: threadRefs(sub),
		CaseID:     cs.ID,
	}
}

func (c *Composer) ack(sub *parser.Submission, to string, cs store.CaseInfo) store.OutboxMessage {
	body := fmt.Sprintf("Hello,\n\nThank you for your referral. It is complete and the young person has been added to the Bromley Dynamic Support Register under reference %s. A DSR coordinator will be in touch.\n\nBromley DSR\n", cs.Ref)
	return store.OutboxMessage{
		Kind: "notice", To: to, Subject: c.subject(cs.Ref, "Your DSR referral has been received", to), Body: body,
		MessageID: c.NewMessageID(), InReplyTo: sub.MessageID, References: threadRefs(sub), CaseID: cs.ID,
	}
}

// Oversize is the one notice a sender gets when their email was too large
// to read.
func (c *Composer) Oversize(to, inReplyTo string, limitMB int) store.OutboxMessage {
	body := fmt.Sprintf("Hello,\n\nYour email to the Bromley Dynamic Support Register was larger than %d MB, so we could not read it. "+
		"Please send the referral form and the consent form again in a smaller email (for example as PDF or Word files, without other large attachments).\n\nBromley DSR\n", limitMB)
	var refs []string
	if inReplyTo != "" {
		refs = []string{inReplyTo}
	}
	return store.OutboxMessage{Kind: "notice", To: to, Subject: "Your email to the Bromley DSR was too large to read", Body: body,
		MessageID: c.NewMessageID(), InReplyTo: inReplyTo, References: refs}
}

func threadRefs(sub *parser.Submission) []string {
	refs := append([]string{}, sub.References...)
	if sub.MessageID != "" {
		refs = append(refs, sub.MessageID)
	}
	return refs
}

// childNames are the names a query must not carry to an insecure address.
func childNames(sub *parser.Submission) []string {
	var names []string
	for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
		if f == nil {
			continue
		}
		for _, k := range []string{"cyp_known_as", "cyp_first_names", "cyp_surname", "cyp_full_name"} {
			for _, n := range strings.Fields(f.Get(k)) {
				if len([]rune(n)) > 1 {
					names = append(names, n)
				}
			}
		}
	}
	return names
}

// anonymise replaces the child's names in a message with "the child".
// Names are matched as whole words in any case; word boundaries are
// Unicode-aware, as regexp's \b is not (it would miss "Zoë,").
func anonymise(msg string, names []string) string {
	for _, n := range names {
		msg = replaceName(msg, n)
	}
	// "the child the child" when both names were written out.
	for strings.Contains(msg, "the child the child") {
		msg = strings.ReplaceAll(msg, "the child the child", "the child")
	}
	return msg
}

func replaceName(msg, name string) string {
	lowerMsg, lowerName := strings.ToLower(msg), strings.ToLower(name)
	if len(lowerMsg) != len(msg) || lowerName == "" {
		// Lower-casing changed byte lengths: compare exactly instead.
		lowerMsg, lowerName = msg, name
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lowerMsg[i:], lowerName)
		if j < 0 {
			b.WriteString(msg[i:])
			return b.String()
		}
		start, end := i+j, i+j+len(lowerName)
		if !wordBoundary(msg, start, end) {
			b.WriteString(msg[i:end])
			i = end
			continue
		}
		b.WriteString(msg[i:start])
		if strings.HasPrefix(msg[end:], "'s") || strings.HasPrefix(msg[end:], "’s") {
			b.WriteString("the child's")
			_, size := utf8.DecodeRuneInString(msg[end:])
			end += size + 1
		} else {
			b.WriteString("the child")
		}
		i = end
	}
}

func wordBoundary(s string, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:start])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[end:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// NewMessageID makes a unique Message-ID in the From address's domain.
func (c *Composer) NewMessageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	_, domain, ok := strings.Cut(c.From, "@")
	if !ok || domain == "" {
		domain = "dsr.invalid"
	}
	return fmt.Sprintf("dsr.%s.%s@%s", time.Now().UTC().Format("20060102150405"), hex.EncodeToString(b[:]), domain)
}

// Render turns an outbox message into RFC 5322 bytes. Our mail says it is
// automatic, so well-behaved auto-responders do not answer it.
func (c *Composer) Render(m store.OutboxMessage, date time.Time) ([]byte, error) {
	var h mail.Header
	h.SetDate(date)
	h.SetAddressList("From", []*mail.Address{{Name: c.FromName, Address: c.From}})
	to := make([]*mail.Address, 0, 1)
	for _, a := range strings.Split(m.To, ",") {
		if a = strings.TrimSpace(a); a != "" {
			to = append(to, &mail.Address{Address: a})
		}
	}
	h.SetAddressList("To", to)
	h.SetSubject(m.Subject)
	h.SetMsgIDList("Message-Id", []string{m.MessageID})
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
	}
	if len(m.References) > 0 {
		h.SetMsgIDList("References", m.References)
	}
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Precedence", "auto_reply")
	var buf bytes.Buffer
	w, err := mail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var th mail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	if err := writePart(w, th, m.Body); err != nil {
		return nil, err
	}
	if m.HTML != "" {
		var hh mail.InlineHeader
		hh.SetContentType("text/html", map[string]string{"charset": "utf-8"})
		if err := writePart(w, hh, m.HTML); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return buf.Bytes(), nil
}

func writePart(w *mail.InlineWriter, h mail.InlineHeader, body string) error {
	pw, err := w.CreatePart(h)
	if err != nil {
		return fmt.Errorf("render part: %w", err)
	}
	if _, err := io.WriteString(pw, body); err != nil {
		return fmt.Errorf("render part: %w", err)
	}
	return pw.Close()
}
