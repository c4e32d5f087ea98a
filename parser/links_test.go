package parser

import (
	"context"
	"slices"
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
		{"an intranet page in a signature is no shared file",
			"Bromley CAMHS | https://nhs.sharepoint.com/sites/BromleyCAMHS/SitePages/Home.aspx", nil},
		{"a look-alike host", "https://sharepoint.com.example.org/:b:/g/x and https://example.org/sharepoint.com/:b:/", nil},
		{"an NHS web page", "https://www.england.nhs.uk/learning-disabilities/care/ctr/", nil},
		{"no links", "Referral attached.", nil},
	} {
		if got := sharedLinkServices([]byte(tt.body)); !slices.Equal(got, tt.want) {
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
