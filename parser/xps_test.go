package parser

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestXPSIsAskedForAsPDF: a print by Windows' XPS printer (Apache Tika's
// testXLSX.xps, written by Excel through it), by its name, its type or
// its contents alone, is unsupported with a reason that asks for a PDF,
// not taken for no form.
func TestXPSIsAskedForAsPDF(t *testing.T) {
	xps, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "xps", "tika-testXLSX.xps"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, ctype string }{
		{"referral.xps", "application/octet-stream"},
		{"referral", "application/vnd.ms-xpsdocument"},
		{"referral.oxps", "application/oxps"},
		{"referral", "application/octet-stream"},
	} {
		s, err := New(Options{}).Parse(context.Background(), rebuiltWith(t, "DSR referral", f.ctype, f.name, xps))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Attachments) != 1 || s.Attachments[0].Detected != detectXPS || s.Attachments[0].Kind != KindUnsupported || s.Attachments[0].Error != reasonXPS {
			t.Errorf("%s as %s: %+v", f.name, f.ctype, s.Attachments)
		}
	}
}
