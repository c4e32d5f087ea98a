package intake

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"dsr-intake/parser"
)

// Trust decides whether a sender is believed. Authentication-Results
// headers are only believed from our own boundary: the server named by
// AuthServID, or, when AuthServID is empty, the topmost header (the one
// our own provider added; lower ones can be forged by the sender).
// Microsoft 365 writes its header without an authserv-id, which
// go-msgauth's parser refuses; such a header is read with a stand-in id.
type Trust struct {
	AuthServID   string
	AllowDomains []string // optional: only these sender domains are trusted
}

// Check returns why the sender of sub is not trusted, or "" when it is.
func (t Trust) Check(sub *parser.Submission) string {
	if len(t.AllowDomains) > 0 && !domainIn(sub.From, t.AllowDomains) {
		return "the sender's domain is not on the allow list"
	}
	for i, v := range sub.Headers["Authentication-Results"] {
		id, results, ok := parseAuthResults(v)
		if !ok {
			continue
		}
		ours := t.AuthServID == "" && i == 0 || t.AuthServID != "" && strings.EqualFold(id, t.AuthServID)
		if !ours {
			continue
		}
		for _, r := range results {
			if d, ok := r.(*authres.DMARCResult); ok && d.Value == authres.ResultFail {
				return "the sender failed DMARC at our mail boundary"
			}
		}
		if t.AuthServID == "" {
			break // only the topmost header
		}
	}
	return ""
}

// parseAuthResults parses one Authentication-Results value, including the
// Microsoft 365 form that has no authserv-id ("spf=pass ...; dmarc=fail ...").
func parseAuthResults(v string) (id string, results []authres.Result, ok bool) {
	id, results, err := authres.Parse(v)
	if err == nil {
		return id, results, true
	}
	first, _, _ := strings.Cut(strings.TrimSpace(v), ";")
	if strings.Contains(first, "=") {
		_, results, err = authres.Parse("unnamed; " + v)
		if err == nil {
			return "", results, true
		}
	}
	// A malformed header: read the DMARC verdict by hand rather than not
	// at all, so a forged malformed header cannot hide a failure.
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(strings.TrimSpace(k), "dmarc") {
			verdict, _, _ := strings.Cut(strings.TrimSpace(val), " ")
			return "", []authres.Result{&authres.DMARCResult{Value: authres.ResultValue(strings.ToLower(verdict))}}, true
		}
	}
	return "", nil, false
}

func domainIn(addr string, domains []string) bool {
	_, domain, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok {
		return false
	}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "."))
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}
