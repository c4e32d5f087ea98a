package parser

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Outlook on Microsoft 365 (NHSmail) shares a file kept in OneDrive or
// SharePoint as a link unless the sender picks "attach as copy"; other
// mailers do the same with their drives. The forms are then not in the
// email, and the intake cannot open the link (it needs the sender's
// sign-in, and a register must not fetch from wherever an email points).
// Noticing the link lets the query say so, rather than only that the forms
// are missing.

// linkService is a service known by its links: a host (itself or a
// subdomain) and the paths of the links that matter there.
type linkService struct {
	name  string
	host  string
	paths []string // path prefixes; none: every path
}

// linkServices are the file-sharing services whose file links are
// recognised: a host (itself or a subdomain) and the paths of its links
// to files, so that a link to an intranet page in a signature is not
// taken for shared forms.
var linkServices = []linkService{
	// Sharing links (/:b:/ a PDF, /:w:/ a Word file, ...) and personal
	// OneDrive folders.
	{"OneDrive or SharePoint", "sharepoint.com", []string{"/:", "/personal/"}},
	{"OneDrive or SharePoint", "1drv.ms", nil},
	{"OneDrive or SharePoint", "onedrive.live.com", nil},
	{"Google Drive", "drive.google.com", []string{"/file/", "/open", "/uc", "/drive/folders/"}},
	{"Google Drive", "docs.google.com", []string{"/document/", "/forms/"}},
	{"Dropbox", "dropbox.com", []string{"/s/", "/scl/", "/sh/"}},
	{"WeTransfer", "wetransfer.com", []string{"/downloads/"}},
	{"WeTransfer", "we.tl", nil},
	{"Box", "box.com", []string{"/s/"}},
	// Apple Mail sends a file over its size limit (a photographed or
	// scanned form, most often) as a Mail Drop link, on its own.
	{"iCloud Mail Drop", "icloud.com", []string{"/attachment/"}},
}

// securePortals are the secure-email services whose messages arrive as a
// link to read them on the service's site: local authorities and schools
// send personal data to the NHS this way (Egress above all). The forms
// are behind the link, which only the recipient's own sign-in opens: a
// coordinator can, the intake cannot, and the referrer cannot send them
// any other way. Hosts and paths of their read-the-message links.
var securePortals = []linkService{
	{"Egress", "switch.egress.com", nil},
	{"Egress", "egress.com", []string{"/ui/", "/readonline", "/securemail"}},
	{"Virtru", "secure.virtru.com", []string{"/start", "/secure-reader"}},
	{"Cisco Secure Email", "res.cisco.com", []string{"/websafe"}},
	{"Microsoft 365 message encryption", "outlook.office365.com", []string{"/Encryption/"}},
}

var urlPattern = regexp.MustCompile(`(?i)https?://[^\s"'<>()\[\]]+`)

// maxLinks bounds the URLs looked at in one body.
const maxLinks = 200

// linkedServices names the file-sharing services whose file links are in
// a body (text or HTML) and the secure-email services whose message links
// are, each once, in the order the links come: one pass over the body's
// URLs for both.
func linkedServices(body []byte) (shared, portals []string) {
	for _, m := range urlPattern.FindAll(body, maxLinks) {
		// Quoted-printable soft breaks and HTML entities do not reach
		// here: the part is decoded; an &amp; only ends the host early.
		u, err := url.Parse(string(bytes.TrimRight(m, ".,;:!?")))
		if err != nil {
			continue
		}
		host, path := strings.ToLower(u.Hostname()), u.Path
		shared = addLinked(shared, linkServices, host, path)
		portals = addLinked(portals, securePortals, host, path)
	}
	return shared, portals
}

// addLinked adds to found the services a link to host and path is to.
func addLinked(found []string, services []linkService, host, path string) []string {
	for _, sv := range services {
		if host != sv.host && !strings.HasSuffix(host, "."+sv.host) {
			continue
		}
		if sv.paths != nil && !slices.ContainsFunc(sv.paths, func(p string) bool { return strings.HasPrefix(path, p) }) {
			continue
		}
		if !slices.Contains(found, sv.name) {
			found = append(found, sv.name)
		}
	}
	return found
}
