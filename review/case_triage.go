package review

import (
	"net/http"

	"dsr-intake/register"
)

// overriddenRules names the rules an override sets aside: the labels of
// the case's reasons other than the best interest decision, which is
// confirmed rather than overridden.
func overriddenRules(d register.Decision) []string {
	var out []string
	for _, c := range d.Codes() {
		if c == register.CodeBestInterestDecision {
			continue
		}
		r, _ := register.ReasonFor(c)
		out = append(out, r.Label)
	}
	return out
}

// caseFormError shows the case page again with the form's error and what
// was typed, rather than a page of its own.
func (s *Server) caseFormError(w http.ResponseWriter, r *http.Request, p *principal, id int64, form, field, msg string, names ...string) {
	fe := &formError{Form: form, Field: field, Message: msg, Values: map[string]string{}}
	for _, n := range names {
		fe.Values[n] = formText(r, n)
	}
	s.showCase(w, r, p, id, http.StatusBadRequest, fe)
}
