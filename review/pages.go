package review

import (
	"net/http"

	"dsr-intake/register/store"
)

// plainPage is a page of a heading and a few sentences, in the layout:
// the NHS.UK pattern for "page not found" and "you cannot do that".
func (s *Server) plainPage(w http.ResponseWriter, r *http.Request, p *principal, status int, title string, lines ...string) {
	s.render(w, r, p, status, "plain", page{Title: title, D: map[string]any{"Title": title, "Lines": lines}})
}

// notFoundPage is the styled 404 for a signed-in user.
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.plainPage(w, r, p, http.StatusNotFound, "Page not found",
		"If you typed the web address, check it is correct.",
		"If you followed a link to a case or record, it may have been closed, erased or never existed.")
}

// forbidden tells a user what their role lets them do, not another role's
// story: a coordinator on an admin page is not told they can only view.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, p *principal, need string) {
	var why string
	switch {
	case need == store.RoleAdmin && p.user.Role == store.RoleCoordinator:
		why = "Only a DSR administrator can manage accounts and read the audit. You can still review cases and change the register."
	case p.user.Role == store.RoleViewer:
		why = "Your account can view the register but not change it or export it. Ask a DSR administrator if you need to."
	default:
		why = "Your account does not allow this. Ask a DSR administrator if you need to."
	}
	s.plainPage(w, r, p, http.StatusForbidden, "You cannot do that", why)
}

// formError is a form's validation error, shown on the same page in the
// NHS.UK error-summary pattern with what was typed kept.
type formError struct {
	Form    string // which form on the page: "register", "close", "rag" ...
	Field   string // the id of the field in error, for the summary's link
	Message string
	Values  map[string]string // what was typed, by field name
	Dates   map[string]dateInput
}

// Date is a typed date's three boxes, for the template; the box ids are
// form-name-day and so on.
func (fe *formError) Date(form, name string) dateInput {
	in := dateInput{}
	if fe != nil && fe.Form == form {
		in = fe.Dates[name]
	}
	in.ID, in.Name = form+"-"+name, name
	if fe == nil || fe.Field != in.ID+"-day" {
		in.Error = ""
	}
	return in
}

// Value is a typed value, for the template.
func (fe *formError) Value(form, name string) string {
	if fe == nil || fe.Form != form {
		return ""
	}
	return fe.Values[name]
}

// On reports whether the error is on the given field.
func (fe *formError) On(field string) bool { return fe != nil && fe.Field == field }

// utf8BOM starts a CSV file so spreadsheets read it as UTF-8.
const utf8BOM = "\ufeff"

// mayExport: coordinators and admins may export the whole register;
// viewers only when the configuration allows it.
func (s *Server) mayExport(p *principal) bool {
	return can(p.user.Role, store.RoleCoordinator) || s.actions.ViewersExport
}
