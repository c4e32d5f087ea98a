package parser

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Word forms saved in other formats (.doc, .rtf, .odt) by LibreOffice
// (scripts/make-doc-fixtures.sh) are held to the .docx they came from by
// the helpers here, one rule for every format.

// formFixture is parser/testdata/<format>/<name>.<format>.
func formFixture(t testing.TB, format, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", format, name+"."+format))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return data
}

// sourceDOCX is the .docx a fixture came from: sample 03's Word form for
// "sample03-referral" and "sample03-consent", else testdata/docx/<name>.docx.
func sourceDOCX(t *testing.T, name string) []byte {
	t.Helper()
	kind, ok := strings.CutPrefix(name, "sample03-")
	if !ok {
		return readFixture(t, name+".docx")
	}
	for n, data := range sampleAttachments(t, "03-docx-happy") {
		if strings.Contains(strings.ToLower(n), kind) && strings.HasSuffix(n, ".docx") {
			return data
		}
	}
	t.Fatalf("no %s in sample 03", kind)
	return nil
}

// assertReadsAsDOCX reads each named fixture of format with read and
// asserts it gives exactly what its .docx gives: the same forms, kinds,
// titles, labels with their values, field names and the mapped form the
// intake decides on. For the fixtures in namesLost the producer kept no
// name for legacy check boxes and drop-downs: every name read must be the
// .docx's, and at least 30 of them.
func assertReadsAsDOCX(t *testing.T, format string, read func(context.Context, []byte, Limits) ([]*RawForm, error), names []string, namesLost ...string) {
	t.Helper()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, err := readDOCX(context.Background(), sourceDOCX(t, name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := read(context.Background(), formFixture(t, format, name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d forms, the .docx has %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Source != format || g.Kind != w.Kind || g.Marked != w.Marked || g.Title != w.Title {
					t.Errorf("form %d: %s %s %v %q, want %s %s %v %q", i, g.Source, g.Kind, g.Marked, g.Title, format, w.Kind, w.Marked, w.Title)
				}
				if !slices.Equal(g.ByLabel, w.ByLabel) {
					t.Errorf("form %d labels:\n got %q\nwant %q", i, g.ByLabel, w.ByLabel)
				}
				if len(w.ByLabel) < 5 {
					t.Errorf("form %d: the .docx gives %d labels: the fixture no longer tests the reading", i, len(w.ByLabel))
				}
				if slices.Contains(namesLost, name) {
					for k, v := range g.ByName {
						if wv, ok := w.ByName[k]; !ok || wv != v {
							t.Errorf("form %d: name %q = %q, the .docx has %q", i, k, v, wv)
						}
					}
					if len(g.ByName) < 30 {
						t.Errorf("form %d: %d names", i, len(g.ByName))
					}
				} else if !maps.Equal(g.ByName, w.ByName) {
					t.Errorf("form %d names:\n got %q\nwant %q", i, g.ByName, w.ByName)
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

// parseSampleAs sends sample 03 with its two Word forms saved in format
// (testdata/<format>/sample03-*.<format>) under ctype, as a mailer sends
// them, and asserts the email reads as the sample: both forms found,
// every value and invalid value the same, each form read from its file.
func parseSampleAs(t *testing.T, format, ctype string) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("From: helen.carver@riverside.sch.uk\r\nTo: bromley.dsr@nhs.net\r\nSubject: DSR referral\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	b.WriteString("--outer\r\nContent-Type: text/plain\r\n\r\nReferral and consent attached.\r\n")
	for _, kind := range []string{"Referral", "Consent"} {
		name := fmt.Sprintf("DSR %s Form - Amelia Novak.%s", kind, format)
		fmt.Fprintf(&b, "--outer\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
			ctype, name, name, b64(formFixture(t, format, "sample03-"+strings.ToLower(kind))))
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
	if !maps.Equal(got.Referral.Values, want.Referral.Values) || !maps.Equal(got.Referral.Invalid, want.Referral.Invalid) {
		t.Errorf("referral:\n got %v %v\nwant %v %v", got.Referral.Values, got.Referral.Invalid, want.Referral.Values, want.Referral.Invalid)
	}
	if !maps.Equal(got.Consent.Values, want.Consent.Values) || !maps.Equal(got.Consent.Invalid, want.Consent.Invalid) {
		t.Errorf("consent:\n got %v %v\nwant %v %v", got.Consent.Values, got.Consent.Invalid, want.Consent.Values, want.Consent.Invalid)
	}
	for _, a := range got.Attachments {
		if a.Kind != KindReferral && a.Kind != KindConsent {
			t.Errorf("attachment %q: %s %s %q", a.Filename, a.Detected, a.Kind, a.Error)
		}
	}
	if got.Referral.Source != format || got.Consent.Source != format {
		t.Errorf("read from %q and %q", got.Referral.Source, got.Consent.Source)
	}
}

// shownWords is the words of a WordprocessingML document's text runs: the
// text a reader shows (field instructions and deleted text are not in
// them).
func shownWords(doc []byte) []string {
	var shown strings.Builder
	for _, s := range shownText.FindAllStringSubmatch(string(doc), -1) {
		shown.WriteString(html.UnescapeString(s[1]) + " ")
	}
	return wordsOf(shown.String())
}

var shownText = regexp.MustCompile(`<w:t xml:space="preserve">([^<]*)</w:t>`)

// modelWords is the words a text model (an RTF's, an ODF document's)
// shows once written as WordprocessingML.
func modelWords(t *testing.T, m *textModel) []string {
	t.Helper()
	fcs := make([]uint32, len(m.text))
	for i := range fcs {
		fcs[i] = uint32(i)
	}
	doc, _, err := docWordML(m.text, fcs, m.marks, m.headings, func(b, _ int) *docFormField { return m.fields[b] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return shownWords(doc)
}

// peerWordsAgree compares, file by file, the words a reader takes from
// files (ours) with those a peer tool prints for them (peer). Where the
// two part, differs holds the file's own assertion, with the reason, and
// the file must still part. It returns how many words agreed.
func peerWordsAgree(t *testing.T, tool string, files []string, ours func(t *testing.T, data []byte) []string,
	peer func(path string) []string, differs map[string]func(t *testing.T, got, want []string),
) (words int) {
	t.Helper()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		got, want := ours(t, data), peer(f)
		if d, ok := differs[name]; ok {
			if slices.Equal(got, want) {
				t.Errorf("%s: now read as %s reads it", name, tool)
			}
			d(t, got, want)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d words, %s %d; first difference %s", name, len(got), tool, len(want), firstDifference(got, want))
		}
		words += len(want)
	}
	return words
}

// assertNoForm attaches each file to an email as ctype and asserts the
// email reads it as an attachment that holds no DSR form.
func assertNoForm(t *testing.T, subject, ctype string, files []string) {
	t.Helper()
	p := New(Options{})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Parse(context.Background(), rebuiltWith(t, subject, ctype, filepath.Base(f), data))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindNotForm || s.Referral != nil || s.Consent != nil {
			t.Errorf("%s: %+v", filepath.Base(f), s.Attachments)
		}
	}
}
