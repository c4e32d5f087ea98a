package review

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"dsr-intake/intake"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// maxReason is the longest reason or email body a coordinator may type.
const maxReason = 20000

func formText(r *http.Request, name string) string {
	v := strings.TrimSpace(r.PostForm.Get(name))
	if len(v) > maxReason {
		v = v[:maxReason]
	}
	return v
}

// caseAction reads what every case form carries: the case from the path,
// the open review item it resolves (if any) from the form.
func caseAction(r *http.Request, p *principal, action string) (store.CaseAction, bool) {
	id, ok := pathID(r)
	if !ok {
		return store.CaseAction{}, false
	}
	a := store.CaseAction{CaseID: id, Actor: p.user.Name, Action: action, Why: formText(r, "why")}
	if v := r.PostForm.Get("review"); v != "" {
		rid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || rid <= 0 {
			return store.CaseAction{}, false
		}
		a.ReviewID = rid
	}
	return a, true
}

// actionFailed turns a store error into the page a coordinator sees.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, p *principal, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.problem(w, r, p, http.StatusNotFound, "Not found", "That case or record does not exist, or has been erased.")
	case errors.Is(err, store.ErrCaseState):
		s.problem(w, r, p, http.StatusConflict, "The case has already been decided",
			"Someone else may have acted on it. Go back to the case to see what happened.")
	default:
		s.fail(w, r, p, what, err)
	}
}

func (s *Server) needReason(w http.ResponseWriter, r *http.Request, p *principal, what string) {
	s.problem(w, r, p, http.StatusBadRequest, "Give a reason", "Write why you are "+what+". Go back, add the reason and try again.")
}

func redirectCase(w http.ResponseWriter, r *http.Request, id int64, done string) {
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?done=%s", id, done), http.StatusSeeOther)
}

// caseRegister adds the child to the register: confirming a best interest
// decision, or overriding the rules; a reason is required either way.
func (s *Server) caseRegister(w http.ResponseWriter, r *http.Request, p *principal) {
	action := "register_override"
	if r.PostForm.Get("mode") == "confirm_bid" {
		action = "register_confirm_bid"
	}
	a, ok := caseAction(r, p, action)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	if a.Why == "" {
		s.caseFormError(w, r, p, a.CaseID, "register", "register-why", "Enter why you are adding this child to the register", "why", "reply")
		return
	}
	if text := formText(r, "reply"); text != "" {
		notice, err := s.endingNotice(r, p, a.CaseID, text)
		if err != nil {
			s.problem(w, r, p, http.StatusConflict, "The notice cannot be sent", "This case's referrer cannot be written to. Empty the notice and add the child without it.")
			return
		}
		a.Notice = notice
	}
	if _, err := s.store.RegisterCase(r.Context(), a); err != nil {
		s.actionFailed(w, r, p, "add the child to the register", err)
		return
	}
	redirectCase(w, r, a.CaseID, "registered")
}

// replyTo finds whom to answer about a case and the email to thread to:
// the case's latest email that can be read.
func (s *Server) replyTo(ctx context.Context, caseID int64) (*parser.Submission, error) {
	msgs, err := s.store.CaseMessages(ctx, caseID)
	if err != nil {
		return nil, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		sub, err := s.readStored(ctx, msgs[i].Hash)
		if err == nil && (sub.ReplyTo != "" || sub.From != "") {
			return sub, nil
		}
	}
	return nil, errors.New("no email of the case can be answered")
}

type queryData struct {
	Case    store.Case
	Review  int64
	To      string
	Subject string
	Body    string
	Error   string
}

// draft is the query the Composer writes for the case's reasons, to the
// sender of its latest email.
func (s *Server) draft(ctx context.Context, c store.Case) (store.OutboxMessage, error) {
	if s.composer == nil {
		return store.OutboxMessage{}, errors.New("no composer configured")
	}
	sub, err := s.replyTo(ctx, c.ID)
	if err != nil {
		return store.OutboxMessage{}, err
	}
	d := register.Decision{Outcome: register.OutcomeQuery, Reasons: c.Decision.Reasons}
	msgs := s.composer.Replies(sub, store.CaseInfo{ID: c.ID, Ref: c.Ref, State: c.State}, d)
	if len(msgs) == 0 {
		return store.OutboxMessage{}, errors.New("the sender cannot be written to (an automatic reply, a list, or our own address)")
	}
	return msgs[0], nil
}

func (s *Server) openReviewID(ctx context.Context, caseID int64) int64 {
	items, err := s.store.ReviewQueue(ctx, store.ReviewFilter{CaseID: caseID})
	if err != nil || len(items) == 0 {
		return 0
	}
	return items[0].ID
}

// queryDraft shows the generated query, editable before it is sent.
func (s *Server) queryDraft(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	ctx := r.Context()
	c, m, ok := s.caseAndDraft(w, r, p, id)
	if !ok {
		return
	}
	d := queryData{Case: c, Review: s.openReviewID(ctx, c.ID), To: m.To, Subject: m.Subject, Body: m.Body}
	s.render(w, r, p, http.StatusOK, "query", page{Title: "Send a query for " + c.Ref, Nav: "queue", D: d})
}

// caseAndDraft reads a case and drafts its query, answering the request
// itself when either cannot be done.
func (s *Server) caseAndDraft(w http.ResponseWriter, r *http.Request, p *principal, id int64) (store.Case, store.OutboxMessage, bool) {
	c, err := s.store.Case(r.Context(), id, p.user.Name)
	if err != nil {
		s.actionFailed(w, r, p, "read the case", err)
		return store.Case{}, store.OutboxMessage{}, false
	}
	m, err := s.draft(r.Context(), c)
	if err != nil {
		s.problem(w, r, p, http.StatusConflict, "A query cannot be sent", "This case's referrer cannot be written to: "+err.Error()+".")
		return store.Case{}, store.OutboxMessage{}, false
	}
	return c, m, true
}

// querySend writes the edited query to the outbox. Only the subject and
// the text come from the form: the recipient and threading are worked out
// again here, so a form cannot send mail elsewhere.
func (s *Server) querySend(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := caseAction(r, p, "query")
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	ctx := r.Context()
	c, m, ok := s.caseAndDraft(w, r, p, a.CaseID)
	if !ok {
		return
	}
	subject, body := formText(r, "subject"), formText(r, "body")
	if body == "" || subject == "" {
		d := queryData{Case: c, Review: a.ReviewID, To: m.To, Subject: subject, Body: body, Error: "Enter the subject and the text of the email."}
		s.render(w, r, p, http.StatusBadRequest, "query", page{Title: "Send a query for " + c.Ref, Nav: "queue", D: d})
		return
	}
	if !strings.Contains(subject, c.Ref) {
		// Replies find their case by the reference in the subject too.
		subject = "[" + c.Ref + "] " + subject
	}
	m.Subject, m.Body = strings.ReplaceAll(strings.ReplaceAll(subject, "\r", " "), "\n", " "), strings.ReplaceAll(body, "\r\n", "\n")
	if _, err := s.store.SendCaseEmail(ctx, a, m); err != nil {
		s.actionFailed(w, r, p, "put the query in the outbox", err)
		return
	}
	redirectCase(w, r, a.CaseID, "query")
}

// caseClose closes a case as not for the DSR, with a reason, and with a
// reply to the referrer when one is written.
func (s *Server) caseClose(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := caseAction(r, p, "close")
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	if a.Why == "" {
		s.caseFormError(w, r, p, a.CaseID, "close", "close-why", "Enter why you are closing this case", "why", "reply")
		return
	}
	ctx := r.Context()
	var reply *store.OutboxMessage
	if text := formText(r, "reply"); text != "" {
		sub, err := s.replyTo(ctx, a.CaseID)
		if err != nil {
			s.problem(w, r, p, http.StatusConflict, "The reply cannot be sent", "This case's referrer cannot be written to. Close the case without a reply.")
			return
		}
		ref := ""
		if c, err := s.store.Case(ctx, a.CaseID, p.user.Name); err == nil {
			ref = c.Ref
		}
		reply = s.replyMessage(sub, ref, "Your referral to the Bromley DSR", text)
	}
	if err := s.store.CloseCase(ctx, a, reply); err != nil {
		s.actionFailed(w, r, p, "close the case", err)
		return
	}
	redirectCase(w, r, a.CaseID, "closed")
}

// replyMessage is a coordinator's own email in the thread of sub.
func (s *Server) replyMessage(sub *parser.Submission, ref, subject, body string) *store.OutboxMessage {
	to := sub.ReplyTo
	if to == "" {
		to = sub.From
	}
	if ref != "" {
		subject = "[" + ref + "] " + subject
	}
	from := "dsr.invalid"
	if s.composer != nil {
		if _, domain, ok := strings.Cut(s.composer.From, "@"); ok {
			from = domain
		}
		if s.composer.SecureTag != "" && !s.composer.Secure(to) {
			subject = s.composer.SecureTag + " " + subject
		}
	}
	refs := append([]string{}, sub.References...)
	if sub.MessageID != "" {
		refs = append(refs, sub.MessageID)
	}
	return &store.OutboxMessage{Kind: "notice", To: to, Subject: subject, Body: strings.ReplaceAll(body, "\r\n", "\n"),
		MessageID: newMessageID(from), InReplyTo: sub.MessageID, References: refs}
}

func newMessageID(domain string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "dsr-" + hex.EncodeToString(b) + "@" + domain
}

// caseWithdrawal confirms a request to withdraw consent: the child leaves
// the register and their personal data is erased.
func (s *Server) caseWithdrawal(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := caseAction(r, p, "confirm_withdrawal")
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	if _, err := s.store.ConfirmWithdrawal(r.Context(), a); err != nil {
		s.actionFailed(w, r, p, "confirm the withdrawal", err)
		return
	}
	redirectCase(w, r, a.CaseID, "withdrawn")
}

// reprocess runs a quarantined message through the pipeline again and,
// once it is applied, resolves its review item.
func (s *Server) reprocess(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	if s.pipeline == nil {
		s.problem(w, r, p, http.StatusServiceUnavailable, "Reprocessing is not available", "The intake is not running beside these pages.")
		return
	}
	ctx := r.Context()
	it, err := s.store.Review(ctx, id)
	if err != nil {
		s.actionFailed(w, r, p, "read the review item", err)
		return
	}
	if it.State != store.ReviewOpen || it.MessageHash == "" {
		s.problem(w, r, p, http.StatusConflict, "Nothing to reprocess", "This item has no email waiting, or has been dealt with.")
		return
	}
	st, err := s.store.MessageState(ctx, it.MessageHash)
	if err != nil {
		s.fail(w, r, p, "read the message", err)
		return
	}
	raw, err := s.store.RawMessage(ctx, it.MessageHash)
	if err != nil || len(raw) == 0 {
		s.problem(w, r, p, http.StatusConflict, "Nothing to reprocess", "The email's content is not stored.")
		return
	}
	applied, err := s.pipeline.Process(ctx, intake.Location{Mailbox: st.Mailbox, UIDValidity: st.UIDValidity, UID: st.UID}, raw)
	if err != nil {
		s.log.Warn("reprocess failed", "review", id)
		s.problem(w, r, p, http.StatusUnprocessableEntity, "The email still cannot be processed",
			"Processing it again failed. Open its attachments from the case, or ask the referrer to send it again.")
		return
	}
	if err := s.store.ResolveReview(ctx, id, p.user.Name, "reprocess", formText(r, "why")); err != nil {
		s.actionFailed(w, r, p, "resolve the review item", err)
		return
	}
	if applied.Case.ID != 0 {
		redirectCase(w, r, applied.Case.ID, "reprocess")
		return
	}
	http.Redirect(w, r, "/queue?done=reprocess", http.StatusSeeOther)
}
