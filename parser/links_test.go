package parser

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestSharedLinkServices(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"Outlook's OneDrive sharing link in HTML",
			`<p>Please see the forms: <a href="https://nhs-my.sharepoint.com/:b:/g/personal/a_referrer_nhs_net/EaBcD1234?e=XyZ">DSR Referral Form.pdf</a></p>`,
			[]string{"OneDrive or SharePoint"}},
		{"a personal OneDrive folder", "https://bromley-my.sharepoint.com/personal/a_referrer_nhs_net/Documents/DSR", []string{"OneDrive or SharePoint"}},
		{"1drv.ms short link, with a full stop after it", "Forms here: https://1drv.ms/b/s!AbCdEf.", []string{"OneDrive or SharePoint"}},
		{"Google Drive file and Dropbox, in the order they come",
			"consent https://www.dropbox.com/scl/fi/abc/consent.pdf?dl=0 and referral https://drive.google.com/file/d/1AbC/view?usp=sharing",
			[]string{"Dropbox", "Google Drive"}},
		{"WeTransfer", "https://we.tl/t-AbCdEf", []string{"WeTransfer"}},
		{"Apple Mail's Mail Drop, as its HTML writes it",
			`<a href="https://www.icloud.com/attachment/?u=https%3A%2F%2Fcvws.icloud-content.com%2FB%2FAbC&uk=xyz&f=DSR%20Referral%20Form.pdf&sz=28311552">Click to Download</a>`,
			[]string{"iCloud Mail Drop"}},
		{"an iCloud page in a signature is no shared file", "Sent from iCloud https://www.icloud.com/mail", nil},
		{"an intranet page in a signature is no shared file",
			"Bromley CAMHS | https://nhs.sharepoint.com/sites/BromleyCAMHS/SitePages/Home.aspx", nil},
		{"a look-alike host", "https://sharepoint.com.example.org/:b:/g/x and https://example.org/sharepoint.com/:b:/", nil},
		{"an NHS web page", "https://www.england.nhs.uk/learning-disabilities/care/ctr/", nil},
		{"no links", "Referral attached.", nil},
	} {
		if got, _ := linkedServices([]byte(tt.body)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestParseSharedLinks: an email whose forms were shared as a link, as
// Outlook does for a file kept in OneDrive, says so in the Submission,
// from its HTML body, its text body, or a forwarded message's body.
func TestParseSharedLinks(t *testing.T) {
	raw := msg(withHeaders(`Content-Type: multipart/alternative; boundary="a"`), multipartBody("a",
		"Content-Type: text/plain; charset=utf-8\n\nForms: DSR Referral Form.pdf <https://nhs-my.sharepoint.com/:b:/g/personal/x/Eab?e=1>",
		"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<a href=3D\"https://nhs-my.sharepoint.com/:w:/g/personal/x/Ecd?e=2\">DSR Consent Form.docx</a>"))
	sub, err := New(Options{}).Parse(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sub.SharedLinks, []string{"OneDrive or SharePoint"}) {
		t.Errorf("shared links %q", sub.SharedLinks)
	}
}

// TestParseSecurePortal: a secure email a local authority sends through
// Egress arrives as a link to read it on Egress's site; the intake notes
// it as a part it could not read, so a coordinator (who can sign in
// there) looks, rather than the referrer being asked for forms they sent.
// The service's own home page, in a footer, is not such a link.
func TestParseSecurePortal(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       string // in a problem; "" for none
	}{
		{"Egress notification", "You have received a secure email from a social worker.\n\nRead it here: https://switch.egress.com/ui/read/9f2c1e?cm=1\n", "Egress"},
		{"Cisco Secure Email envelope", `<p>Open the attachment or <a href="https://res.cisco.com/websafe/root?x=1">read online</a>.</p>`, "Cisco Secure Email"},
		{"an Egress footer is not a message", "Sent securely. Learn more at https://www.egress.com/ and https://www.egress.com/products\n", ""},
		{"a plain email", "Forms attached.\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctype := "text/plain"
			if strings.HasPrefix(tt.body, "<") {
				ctype = "text/html"
			}
			sub, err := New(Options{}).Parse(context.Background(), msg(withHeaders("Content-Type: "+ctype+"; charset=utf-8"), tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, p := range sub.Problems {
				if strings.Contains(p, "secure message") {
					got = p
				}
			}
			switch {
			case tt.want == "" && got != "":
				t.Errorf("problem %q, want none", got)
			case tt.want != "" && !strings.Contains(got, tt.want+"'s site"):
				t.Errorf("problems %q, want one naming %s", sub.Problems, tt.want)
			}
		})
	}
}
