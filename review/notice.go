package review

import (
	"net/http"
	"strings"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// notEligible are the codes that close a referral as not for this
// register, whose notice says why and where else to turn.
var notEligible = []string{register.CodeAge18OrOver, register.CodeNotEligibleDiagnosis, register.CodeNotEligibleRisk}

// noticeDraft is the short email telling the referrer how a case ended,
// which the coordinator sees and may edit before it goes. It names the
// case by its reference only and never the child, so the same text is fit
// for any address (the rule queries follow for insecure addresses).
func (s *Server) noticeDraft(c store.Case, ending string) string {
	var b strings.Builder
	b.WriteString("Hello,\n\nThank you for your referral to the Bromley Dynamic Support Register (DSR), reference " + c.Ref + ".\n\n")
	switch ending {
	case "registered":
		b.WriteString("A DSR coordinator has looked at it and the young person has been added to the register. A coordinator will be in touch about what happens next.\n")
	default:
		var why []string
		for _, code := range c.Decision.Codes() {
			for _, ne := range notEligible {
				if code == ne {
					r, _ := register.ReasonFor(code)
					why = append(why, r.Referrer)
				}
			}
		}
		if len(why) > 0 {
			b.WriteString("A DSR coordinator has looked at it and closed it, because the referral is not one this register can take:\n\n")
			for _, w := range why {
				b.WriteString("  - " + w + "\n")
			}
			if help := strings.TrimSpace(s.actions.NotEligibleHelp); help != "" {
				b.WriteString("\n" + help + "\n")
			}
		} else {
			b.WriteString("A DSR coordinator has looked at it and closed it without adding the young person to the register.\n")
		}
	}
	b.WriteString("\nIf you have any questions, reply to this email and keep " + c.Ref + " in the subject.\n\nBromley DSR\n")
	return b.String()
}

// endingNotice is the coordinator's notice as an email in the thread of
// the case's latest readable email.
func (s *Server) endingNotice(r *http.Request, p *principal, caseID int64, text string) (*store.OutboxMessage, error) {
	sub, err := s.replyTo(r.Context(), caseID)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Case(r.Context(), caseID, p.user.Name)
	if err != nil {
		return nil, err
	}
	return s.replyMessage(sub, c.Ref, "Your referral to the Bromley DSR", text), nil
}
