package outbox

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

func composeFixture() (*Composer, *parser.Submission, register.Decision) {
	c := &Composer{From: "bromley.dsr@nhs.net", FromName: "Bromley DSR", SecureDomains: []string{"nhs.net", "gov.uk"}}
	ref := &parser.Form{Kind: parser.Referral, Values: map[string]string{"cyp_first_names": "Zoë", "cyp_surname": "Okafor-Smith"}}
	sub := &parser.Submission{From: "worker@nhs.net", MessageID: "orig@nhs.net", References: []string{"older@nhs.net"}, Referral: ref}
	d := register.Decision{Outcome: register.OutcomeQuery, Reasons: []register.Reason{
		{Code: "consent_self_under_16", Message: "The consent form was signed by Zoë, but Zoë is 15, so a parent needs to sign it."},
		{Code: "missing_field:cyp_postcode", Message: "Please fill in Zoë's Postcode on the referral form."},
	}}
	return c, sub, d
}

func TestQueryComposition(t *testing.T) {
	c, sub, d := composeFixture()
	cs := store.CaseInfo{ID: 7, Ref: "DSR-2026-000123"}

	t.Run("to a secure domain: every reason, named, threaded", func(t *testing.T) {
		msgs := c.Replies(sub, cs, d)
		if len(msgs) != 1 {
			t.Fatalf("%d replies", len(msgs))
		}
		m := msgs[0]
		if m.To != "worker@nhs.net" || m.Subject != "[DSR-2026-000123] More information needed for your DSR referral" {
			t.Errorf("to %q subject %q", m.To, m.Subject)
		}
		for _, r := range d.Reasons {
			if !strings.Contains(m.Body, r.Message) {
				t.Errorf("body lacks %q", r.Message)
			}
		}
		if m.InReplyTo != "orig@nhs.net" || strings.Join(m.References, " ") != "older@nhs.net orig@nhs.net" || m.MessageID == "" || m.CaseID != 7 {
			t.Errorf("threading: %+v", m)
		}
	})
	t.Run("to another domain: no name anywhere", func(t *testing.T) {
		sub := *sub
		sub.From, sub.ReplyTo = "parent@gmail.com", ""
		m := c.Replies(&sub, cs, d)[0]
		for _, n := range []string{"Zoë", "Okafor", "Smith"} {
			if strings.Contains(m.Body+m.Subject, n) {
				t.Errorf("the child's name %q went to an insecure address:\n%s", n, m.Body)
			}
		}
		if !strings.Contains(m.Body, "the child's Postcode") || !strings.Contains(m.Body, "DSR-2026-000123") {
			t.Errorf("anonymised body reads badly:\n%s", m.Body)
		}
	})
	t.Run("secure subject tag lets names go, encrypted", func(t *testing.T) {
		c2 := *c
		c2.SecureTag = "[secure]"
		sub := *sub
		sub.From = "parent@gmail.com"
		m := c2.Replies(&sub, cs, d)[0]
		if !strings.HasPrefix(m.Subject, "[secure] [DSR-2026-000123]") || !strings.Contains(m.Body, "Zoë") {
			t.Errorf("subject %q body %q", m.Subject, m.Body)
		}
	})
	t.Run("Reply-To wins over From", func(t *testing.T) {
		sub := *sub
		sub.ReplyTo = "team@nhs.net"
		if m := c.Replies(&sub, cs, d)[0]; m.To != "team@nhs.net" {
			t.Errorf("to %q", m.To)
		}
	})
	t.Run("no answer to automatic mail, lists, or ourselves", func(t *testing.T) {
		for name, mod := range map[string]func(*parser.Submission){
			"auto reply": func(s *parser.Submission) { s.AutoReply = true },
			"list":       func(s *parser.Submission) { s.List = true },
			"ourselves":  func(s *parser.Submission) { s.From = "Bromley.DSR@nhs.net" },
			"no address": func(s *parser.Submission) { s.From = "" },
		} {
			s := *sub
			mod(&s)
			if msgs := c.Replies(&s, cs, d); len(msgs) != 0 {
				t.Errorf("%s: %d replies", name, len(msgs))
			}
		}
	})
	t.Run("register and review send nothing unless acknowledging", func(t *testing.T) {
		for _, o := range []register.Outcome{register.OutcomeRegister, register.OutcomeReview, register.OutcomeIgnore} {
			if msgs := c.Replies(sub, cs, register.Decision{Outcome: o}); len(msgs) != 0 {
				t.Errorf("%s: %d replies", o, len(msgs))
			}
		}
		c2 := *c
		c2.Acknowledge = true
		if msgs := c2.Replies(sub, cs, register.Decision{Outcome: register.OutcomeRegister}); len(msgs) != 1 || msgs[0].Kind != "notice" {
			t.Errorf("acknowledgement: %+v", msgs)
		}
	})
}

func TestRender(t *testing.T) {
	c, sub, d := composeFixture()
	m := c.Replies(sub, store.CaseInfo{ID: 1, Ref: "DSR-2026-000001"}, d)[0]
	m.HTML = "<p>Hello</p>"
	raw, err := c.Render(m, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	for k, want := range map[string]string{"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id, _ := h.MessageID(); id != m.MessageID {
		t.Errorf("Message-ID %q, want %q", id, m.MessageID)
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "orig@nhs.net" {
		t.Errorf("In-Reply-To %v", irt)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := p.Header.(*mail.InlineHeader).ContentType()
		parts = append(parts, ct)
	}
	if strings.Join(parts, ",") != "text/plain,text/html" {
		t.Errorf("parts %v, want text and HTML alternatives", parts)
	}
	// The parser reads our own mail back: same thread, and never mistaken
	// for a referral that needs an answer.
	back, err := parser.New(parser.Options{}).Parse(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if !back.AutoReply || back.CaseRef != "DSR-2026-000001" {
		t.Errorf("our own query read back: auto %v ref %q", back.AutoReply, back.CaseRef)
	}
}
