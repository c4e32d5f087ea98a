package parser

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readODTFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "odt", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return data
}

// TestReadODTAsDOCX reads forms saved in LibreOffice's own format
// (scripts/make-doc-fixtures.sh) and asserts each gives exactly what its
// .docx gives: the same forms, kinds, titles, labels with their values (a
// layout table nested in a cell, a label spanning rows, legacy check
// boxes, drop-downs and text fields, which LibreOffice keeps as
// fieldmarks with their state) and the same mapped form.
func TestReadODTAsDOCX(t *testing.T) {
	sample := sampleAttachments(t, "03-docx-happy")
	docx := func(name string) []byte {
		if kind, ok := strings.CutPrefix(name, "sample03-"); ok {
			for n, data := range sample {
				if strings.Contains(strings.ToLower(n), kind) && strings.HasSuffix(n, ".docx") {
					return data
				}
			}
			t.Fatalf("no %s in sample 03", kind)
		}
		return readFixture(t, name+".docx")
	}
	for _, name := range []string{"layout", "referral-legacy", "sample03-referral", "sample03-consent"} {
		t.Run(name, func(t *testing.T) {
			want, err := readDOCX(context.Background(), docx(name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := readODT(context.Background(), readODTFixture(t, name+".odt"), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d forms, the .docx has %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Source != "odt" || g.Kind != w.Kind || g.Marked != w.Marked || g.Title != w.Title {
					t.Errorf("form %d: %s %s %v %q, want %s %v %q", i, g.Source, g.Kind, g.Marked, g.Title, w.Kind, w.Marked, w.Title)
				}
				if !slices.Equal(g.ByLabel, w.ByLabel) || len(w.ByLabel) < 5 {
					t.Errorf("form %d labels:\n got %q\nwant %q", i, g.ByLabel, w.ByLabel)
				}
				// LibreOffice names no legacy check box or drop-down (its
				// fieldmarks are "__Fieldmark__..."): every name read is
				// the .docx's.
				for k, v := range g.ByName {
					if wv, ok := w.ByName[k]; !ok || wv != v {
						t.Errorf("form %d: name %q = %q, the .docx has %q", i, k, v, wv)
					}
				}
				if name == "referral-legacy" && len(g.ByName) < 30 {
					t.Errorf("form %d: %d names", i, len(g.ByName))
				}
				m := DefaultMapping()
				gf, wf := m.Map(w.Kind, g), m.Map(w.Kind, w)
				if !maps.Equal(gf.Values, wf.Values) || !maps.Equal(gf.Invalid, wf.Invalid) {
					t.Errorf("form %d mapped:\n got %v %v\nwant %v %v", i, gf.Values, gf.Invalid, wf.Values, wf.Invalid)
				}
			}
		})
	}
}

// TestParseSampleAsODT sends sample 03 with its two Word forms saved in
// LibreOffice's own format and asserts the email reads as the sample.
func TestParseSampleAsODT(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: helen.carver@riverside.sch.uk\r\nTo: bromley.dsr@nhs.net\r\nSubject: DSR referral\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	b.WriteString("--outer\r\nContent-Type: text/plain\r\n\r\nReferral and consent attached.\r\n")
	for _, f := range []struct{ file, name string }{
		{"sample03-referral.odt", "DSR Referral Form - Amelia Novak.odt"},
		{"sample03-consent.odt", "DSR Consent Form - Amelia Novak.odt"},
	} {
		fmt.Fprintf(&b, "--outer\r\nContent-Type: application/vnd.oasis.opendocument.text; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
			f.name, f.name, b64(readODTFixture(t, f.file)))
	}
	b.WriteString("--outer--\r\n")
	got, err := New(Options{}).Parse(context.Background(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := parseSample(t, "03-docx-happy")
	if got.Referral == nil || got.Consent == nil {
		t.Fatalf("referral %v, consent %v; attachments %+v", got.Referral != nil, got.Consent != nil, got.Attachments)
	}
	if !maps.Equal(got.Referral.Values, want.Referral.Values) || !maps.Equal(got.Consent.Values, want.Consent.Values) {
		t.Errorf("referral %v\nwant %v\nconsent %v\nwant %v", got.Referral.Values, want.Referral.Values, got.Consent.Values, want.Consent.Values)
	}
}
