package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

type fieldRow struct {
	Label    string
	Referral string
	Consent  string
	Failed   bool
	Why      string // what failed, in plain words
}

type attachmentView struct {
	N        int
	Filename string
	Size     int64
	Detected string
	Kind     string
	Error    string
	Viewable bool
	Stored   bool
}

type emailView struct {
	Hash        string
	State       string
	From        string
	Subject     string
	Date        string
	Body        string
	Attachments []attachmentView
	Problem     string // why the stored email could not be read again
}

type caseData struct {
	Case       store.Case
	Open       *store.ReviewItem
	Resolved   []store.ReviewItem
	Fields     []fieldRow
	Received   []emailView
	Sent       []store.OutboxItem
	History    []store.AuditEntry
	IsOpen     bool
	BID        bool
	Withdrawal bool
	CanQuery   bool
	// Heading is who the case is about, what arrived and how long it has
	// waited.
	Heading  store.CaseHeading
	ChildAge string
	Waited   string
	// Overrides names the rules an override sets aside.
	Overrides []string
	// Err is a form's validation error; its typed values are kept.
	Err *formError
	// The notices to the referrer a close or an addition would send,
	// for the coordinator to read and edit.
	CloseNotice    string
	RegisterNotice string
	// Scan are the fields read by OCR, to confirm.
	Scan []scanField
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// caseView shows a case: the decision and its reasons, the two forms side
// by side with the failed fields highlighted, the emails of its thread with
// their attachments, and what happened to it. The view is audited.
func (s *Server) caseView(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	if !ok {
		s.notFoundPage(w, r, p)
		return
	}
	s.showCase(w, r, p, id, http.StatusOK, nil)
}

// showCase renders the case page, with a form's error when fe is set.
func (s *Server) showCase(w http.ResponseWriter, r *http.Request, p *principal, id int64, status int, fe *formError) {
	ctx := r.Context()
	c, err := s.store.Case(ctx, id, p.user.Name)
	if errors.Is(err, store.ErrNotFound) {
		s.notFoundPage(w, r, p)
		return
	}
	if err != nil {
		s.fail(w, r, p, "read the case", err)
		return
	}
	d := caseData{Case: c, IsOpen: c.State == store.CaseInReview || c.State == store.CaseAwaitingInformation,
		BID: c.Decision.Has(register.CodeBestInterestDecision), Withdrawal: c.Decision.Has(register.CodeWithdrawalRequest),
		CanQuery: s.composer != nil}
	open, err := s.store.ReviewQueue(ctx, store.ReviewFilter{CaseID: c.ID})
	if err != nil {
		s.fail(w, r, p, "read the case's review items", err)
		return
	}
	if len(open) > 0 {
		d.Open = &open[0]
	}
	if d.Resolved, err = s.store.ReviewQueue(ctx, store.ReviewFilter{CaseID: c.ID, State: store.ReviewResolved}); err != nil {
		s.fail(w, r, p, "read the case's review items", err)
		return
	}
	d.Fields = sideBySide(c.Forms, c.Decision)
	d.Scan = scanFields(c.Forms)
	if d.Received, err = s.caseEmails(ctx, c.ID); err != nil {
		s.fail(w, r, p, "read the case's emails", err)
		return
	}
	if d.Sent, err = s.store.CaseOutbox(ctx, c.ID); err != nil {
		s.fail(w, r, p, "read the case's sent emails", err)
		return
	}
	hist, err := s.store.Audit(ctx, store.AuditFilter{CaseRef: c.Ref, Limit: 200})
	if err != nil {
		s.fail(w, r, p, "read the case's history", err)
		return
	}
	for _, e := range hist {
		if e.Action != "case.view" {
			d.History = append(d.History, e)
		}
	}
	d.Err = fe
	d.Heading = store.CaseHeadingOf(c)
	d.ChildAge = childAge(d.Heading.DOB, s.now())
	d.Waited = age(s.now(), c.CreatedAt)
	d.Overrides = overriddenRules(c.Decision)
	d.CloseNotice, d.RegisterNotice = s.noticeDraft(c, "closed"), s.noticeDraft(c, "registered")
	if fe != nil && fe.Form == "close" {
		d.CloseNotice = fe.Values["reply"]
	}
	if fe != nil && fe.Form == "register" {
		d.RegisterNotice = fe.Values["reply"]
	}
	title := "Case " + c.Ref
	if fe != nil {
		title = "Error: " + title
	}
	s.render(w, r, p, status, "case", page{Title: title, Nav: "queue", D: d})
}

// caseEmails reads the case's stored emails again, for their headers, text
// and attachments.
func (s *Server) caseEmails(ctx context.Context, caseID int64) ([]emailView, error) {
	msgs, err := s.store.CaseMessages(ctx, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]emailView, 0, len(msgs))
	for _, m := range msgs {
		ev := emailView{Hash: m.Hash, State: m.State, Date: m.ReceivedAt.In(london).Format("2 Jan 2006, 15:04")}
		sub, err := s.readStored(ctx, m.Hash)
		if err != nil {
			ev.Problem = "The stored email could not be read again."
			if errors.Is(err, errErased) {
				ev.Problem = "The email's content has been erased."
			}
			out = append(out, ev)
			continue
		}
		ev.From, ev.Subject, ev.Body = sub.From, sub.Subject, sub.Body
		if !sub.Date.IsZero() {
			ev.Date = sub.Date.In(london).Format("2 Jan 2006, 15:04")
		}
		for i, a := range sub.Attachments {
			ct := servedType(a)
			ev.Attachments = append(ev.Attachments, attachmentView{N: i, Filename: a.Filename, Size: a.Size, Detected: a.Detected,
				Kind: string(a.Kind), Error: a.Error, Stored: a.Data != nil, Viewable: a.Data != nil && strings.HasPrefix(ct, "image/")})
		}
		out = append(out, ev)
	}
	return out, nil
}

var errErased = errors.New("the stored email was erased")

func (s *Server) readStored(ctx context.Context, hash string) (*parser.Submission, error) {
	raw, err := s.store.RawMessage(ctx, hash)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, errErased
	}
	sub, err := s.parser.Parse(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("parse stored email: %w", err)
	}
	return sub, nil
}

// failedFields maps a field name to why it failed, from the decision's
// reason codes and the values the parser could not read.
func failedFields(forms register.CaseForms, d register.Decision) map[string]string {
	out := map[string]string{}
	// Every reason names its fields in the register's reason table; the
	// first reason to name a field says why it is marked.
	for _, code := range d.Codes() {
		r, _ := register.ReasonFor(code)
		for _, n := range r.Fields {
			if _, ok := out[n]; !ok {
				out[n] = r.Label
			}
		}
	}
	for _, f := range []*parser.Form{forms.Referral, forms.Consent} {
		if f == nil {
			continue
		}
		for name := range f.Invalid {
			if _, ok := out[name]; !ok {
				out[name] = "Not valid: " + fieldLabel(name)
			}
		}
	}
	return out
}

// sideBySide lines the referral and consent forms up, field by field, in
// the forms' order; a field on both forms (date of birth, NHS number) is
// one row. Blank fields are left out unless they failed.
func sideBySide(forms register.CaseForms, d register.Decision) []fieldRow {
	failed := failedFields(forms, d)
	value := func(f *parser.Form, name string) string {
		if f == nil {
			return ""
		}
		if v, ok := f.Values[name]; ok {
			switch v {
			case "true":
				return "Yes"
			case "false":
				return "No"
			}
			return v
		}
		if v, ok := f.Invalid[name]; ok {
			return v + " (not valid)"
		}
		return ""
	}
	var rows []fieldRow
	seen := map[string]bool{}
	add := func(name, label string) {
		if seen[name] {
			return
		}
		seen[name] = true
		row := fieldRow{Label: label, Referral: value(forms.Referral, name), Consent: value(forms.Consent, name)}
		row.Why, row.Failed = failed[name]
		if row.Referral == "" && row.Consent == "" && !row.Failed {
			return
		}
		rows = append(rows, row)
	}
	for _, f := range parser.ReferralFields {
		add(f.Name, f.Label)
	}
	for _, f := range parser.ConsentFields {
		add(f.Name, f.Label)
	}
	return rows
}
