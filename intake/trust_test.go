package intake

import (
	"testing"

	"dsr-intake/parser"
)

func TestTrust(t *testing.T) {
	m365Pass := "spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=nhs.net; dkim=pass (signature was verified) header.d=nhs.net;dmarc=pass action=none header.from=nhs.net;compauth=pass reason=100"
	m365Fail := "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=nhs.net; dkim=none (message not signed) header.d=none;dmarc=fail action=quarantine header.from=nhs.net;compauth=fail reason=000"
	named := func(id, dmarc string) string {
		return id + "; spf=pass smtp.mailfrom=example.org; dmarc=" + dmarc + " header.from=example.org"
	}
	tests := []struct {
		name    string
		trust   Trust
		from    string
		headers []string
		trusted bool
	}{
		{"no headers, no allow list", Trust{}, "a@nhs.net", nil, true},
		{"Microsoft 365 pass (no authserv-id)", Trust{}, "a@nhs.net", []string{m365Pass}, true},
		{"Microsoft 365 DMARC fail (no authserv-id)", Trust{}, "a@nhs.net", []string{m365Fail}, false},
		{"a forged pass below our fail is not believed", Trust{}, "a@nhs.net", []string{m365Fail, m365Pass}, false},
		{"a forged fail below our pass does no harm", Trust{}, "a@nhs.net", []string{m365Pass, m365Fail}, true},
		{"named boundary: its fail counts", Trust{AuthServID: "mx.bromley.example"}, "a@example.org", []string{named("mx.bromley.example", "fail")}, false},
		{"named boundary: another server's fail is not ours", Trust{AuthServID: "mx.bromley.example"}, "a@example.org", []string{named("evil.example", "fail")}, true},
		{"named boundary: pass", Trust{AuthServID: "mx.bromley.example"}, "a@example.org", []string{named("mx.bromley.example", "pass")}, true},
		{"allow list: subdomain of nhs.net", Trust{AllowDomains: []string{"nhs.net", "gov.uk"}}, "x@bromley.gov.uk", nil, true},
		{"allow list: outside", Trust{AllowDomains: []string{"nhs.net"}}, "x@gmail.com", nil, false},
		{"allow list: look-alike domain", Trust{AllowDomains: []string{"nhs.net"}}, "x@evilnhs.net", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := &parser.Submission{From: tt.from, Headers: map[string][]string{}}
			if tt.headers != nil {
				sub.Headers["Authentication-Results"] = tt.headers
			}
			why := tt.trust.Check(sub)
			if (why == "") != tt.trusted {
				t.Errorf("Check = %q, want trusted %v", why, tt.trusted)
			}
		})
	}
}
