package review

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
)

//go:embed templates/*.html
var templateFiles embed.FS

// views holds each page's template: the layout and partials parsed once at
// start-up, cloned per page; a render clones again so that per-request
// functions (the CSRF token) never race between requests.
type views struct {
	pages map[string]*template.Template
}

var london = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

var templateFuncs = template.FuncMap{
	"csrf": func() string { return "" }, // replaced per request
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.In(london).Format("2 Jan 2006 15:04")
	},
	"datetimep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(london).Format("2 Jan 2006 15:04")
	},
	"isodate": func(t time.Time) string { return t.In(london).Format("2006-01-02") },
	"day":     displayDate,
	"reason":  reasonText,
	"field":   fieldLabel,
	"ragtag":  ragTagClass,
	"yesno": func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	},
	"partner": func(p string) string { return partnerNames[p] },
	"state":   stateText,
	"join":    strings.Join,
	"sub":     func(a, b int) int { return a - b },
	"add":     func(a, b int) int { return a + b },
	"lv": func(title string, items []parser.LabelValue) map[string]any {
		return map[string]any{"Title": title, "Items": items}
	},
	"navItem": func(href, text, key, current string) map[string]any {
		return map[string]any{"Href": href, "Text": text, "Current": key == current}
	},
}

func parseViews() (*views, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" {
			continue
		}
		t, err := base.Clone()
		if err == nil {
			_, err = t.ParseFS(templateFiles, n)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		v.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return v, nil
}

// page is what every template gets: the page's own data in D, and what the
// layout needs. Title never holds personal data (it shows in browser
// history and tab lists): a case reference or a record number at most.
type page struct {
	Title string
	Nav   string
	User  *register.User
	Done  string // a short notice after an action, by code
	D     any
}

func (p page) CanAct() bool   { return p.User != nil && can(p.User.Role, register.RoleCoordinator) }
func (p page) CanAdmin() bool { return p.User != nil && can(p.User.Role, register.RoleAdmin) }

// render writes a page; the CSRF token is always injected, so no form can
// be written without it.
func (s *Server) render(w http.ResponseWriter, r *http.Request, p *principal, status int, name string, pg page) {
	base, ok := s.views.pages[name]
	if !ok {
		s.log.Error("no such template", "name", name)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	token := ""
	if p != nil {
		token = p.sess.CSRF
		u := p.user
		pg.User = &u
	} else if c, err := r.Cookie(signinCookie); err == nil {
		token = c.Value
	}
	if pg.Done == "" {
		pg.Done = doneText[r.URL.Query().Get("done")]
	}
	t, err := base.Clone()
	if err != nil {
		s.log.Error("clone template", "name", name, "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	t.Funcs(template.FuncMap{"csrf": func() string { return token }})
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		s.log.Error("render", "template", name, "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// problem shows a page that says what went wrong and how to go on.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, p *principal, status int, title, message string) {
	s.render(w, r, p, status, "problem", page{Title: title, D: map[string]string{"Title": title, "Message": message}})
}

// doneText is the notice after a redirect, by the code in ?done= (codes
// only: nothing personal goes in a URL).
var doneText = map[string]string{
	"registered": "The child has been added to the register.",
	"query":      "The query has been put in the outbox; it will be sent shortly.",
	"closed":     "The case has been closed.",
	"withdrawn":  "The withdrawal has been confirmed and the child's personal data erased.",
	"reprocess":  "The email has been processed again.",
	"rag":        "The RAG rating has been changed.",
	"date":       "The date has been recorded.",
	"user":       "The account has been saved.",
	// After a confirmation that the rules did not pass: the reasons show.
	"scan_confirmed": "The scanned forms have been confirmed; the rules found what the case now shows.",
}

func parseDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

func displayDate(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("2 January 2006")
}

var partnerNames = map[string]string{
	"health": "Health", "education": "Education", "social_care": "Social care", "select": "SELECT", "psg": "Positive Support Group",
}

var partnerOrder = []string{"health", "education", "social_care", "select", "psg"}

func stateText(s string) string {
	switch s {
	case register.CaseAwaitingInformation:
		return "Awaiting information"
	case register.CaseInReview:
		return "In review"
	case register.CaseRegistered:
		return "Registered"
	case register.CaseClosed:
		return "Closed"
	case register.CaseWithdrawn:
		return "Withdrawn"
	case register.OutboxPending:
		return "Waiting to be sent"
	case register.OutboxSent:
		return "Sent"
	case register.OutboxFailed:
		return "Failed"
	case register.OutboxCancelled:
		return "Cancelled"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func ragTagClass(rag string) string {
	switch rag {
	case "Red":
		return "nhsuk-tag--red"
	case "Amber":
		return "nhsuk-tag--orange"
	case "Green":
		return "nhsuk-tag--green"
	case "Blue":
		return "nhsuk-tag--blue"
	}
	return "nhsuk-tag--grey"
}

// reasonWords are the review reasons in a coordinator's plain words.
var reasonWords = map[string]string{
	register.CodeAge18OrOver:                "The young person is 18 or over",
	register.CodeNotEligibleDiagnosis:       "No learning disability or autism on the referral",
	register.CodeNotEligibleRisk:            "No risk of admission or placement breakdown on the referral",
	register.CodeBestInterestDecision:       "Consent is a best interest decision: confirm it",
	register.CodeUnreadableAttachment:       "An attachment could not be read",
	register.CodeSenderNotTrusted:           "The sender could not be verified",
	register.CodeWithdrawalRequest:          "A request to withdraw consent",
	register.CodeMissingReferralForm:        "The referral form is missing",
	register.CodeMissingConsentForm:         "The consent form is missing",
	register.CodeInvalidNHSNumber:           "The NHS number is not valid",
	register.CodeConsentNotGiven:            "Consent was not given",
	register.CodeFactsheetNotGiven:          "The factsheet was not given",
	register.CodeConsentSelfUnder16:         "A young person under 16 signed their own consent",
	register.CodeConsentSelfWithoutCapacity: "A young person without capacity signed their own consent",
	register.CodeConsentParentForCapable16:  "A parent consented for a capable young person of 16 or over",
	register.CodeConsentSignatoryWithoutPR:  "The signatory does not have parental responsibility",
	register.CodeConsentMismatch:            "The consent form is for a different child",
	register.CodeUnsupportedAttachment:      "An attachment is in a format we cannot read",
	register.CodeBlueWithoutAdmission:       "Rated Blue without a hospital admission",
	register.CodeNoReply:                    "The sender cannot be replied to",
	register.CodeConfirmScannedForm:         "A form was scanned: check what was read",
	register.ReasonProcessingFailed:         "The email could not be processed",
}

// reasonText names a reason code in plain words; field codes name the field.
func reasonText(code string) string {
	if w, ok := reasonWords[code]; ok {
		return w
	}
	for _, p := range []struct{ prefix, words string }{
		{register.PrefixMissingField, "Missing: "}, {register.PrefixInvalidField, "Not valid: "}, {register.PrefixDateInFuture, "Date in the future: "},
	} {
		if name, ok := strings.CutPrefix(code, p.prefix); ok {
			return p.words + fieldLabel(name)
		}
	}
	return strings.ReplaceAll(code, "_", " ")
}

// fieldLabel is a canonical field's printed label.
func fieldLabel(name string) string {
	for _, list := range [][]parser.FieldSpec{parser.ReferralFields, parser.ConsentFields} {
		for _, f := range list {
			if f.Name == name {
				return f.Label
			}
		}
	}
	return strings.ReplaceAll(name, "_", " ")
}

// age says how long ago t was, as a person would.
func age(now, t time.Time) string {
	d := now.Sub(t)
	n, unit := int(d.Hours()/24), "day"
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		n, unit = int(d.Minutes()), "minute"
	case d < 48*time.Hour:
		n, unit = int(d.Hours()), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
