package parser

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readDOCFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "doc", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return data
}

// TestReadDOCAsDOCX reads each form saved in Word 97-2003's format by
// LibreOffice (scripts/make-doc-fixtures.sh) and asserts it gives exactly
// what its .docx gives: the same forms, kinds, titles, labels with their
// values (a label merged down over rows, a layout table nested in a cell,
// Wingdings' boxes, legacy check boxes, drop-downs and text fields, whose
// state and names the .doc keeps in its Data stream) and field names. A
// legacy check box whose state cannot be read is refused as a .doc the
// referrer is asked to send as .docx, never read blank.
func TestReadDOCAsDOCX(t *testing.T) {
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
	for _, name := range []string{"referral-plain", "consent-plain", "both-forms", "layout", "referral-checkbox", "referral-legacy", "sample03-referral", "sample03-consent"} {
		t.Run(name, func(t *testing.T) {
			want, err := readDOCX(context.Background(), docx(name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := readDOCX(context.Background(), readDOCFixture(t, name+".doc"), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d forms, the .docx has %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Source != "doc" {
					t.Errorf("form %d: source %q", i, g.Source)
				}
				if g.Kind != w.Kind || g.Marked != w.Marked || g.Title != w.Title {
					t.Errorf("form %d: %s %v %q, want %s %v %q", i, g.Kind, g.Marked, g.Title, w.Kind, w.Marked, w.Title)
				}
				if !slices.Equal(g.ByLabel, w.ByLabel) {
					t.Errorf("form %d labels:\n got %q\nwant %q", i, g.ByLabel, w.ByLabel)
				}
				if name == "referral-legacy" {
					// LibreOffice writes no name for a legacy check box or
					// drop-down in a .doc (Word does, in FFData): every
					// name read is the .docx's, the text fields' all.
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
				// And the form the intake decides on: the same values.
				m := DefaultMapping()
				gf, wf := m.Map(w.Kind, g), m.Map(w.Kind, w)
				if !maps.Equal(gf.Values, wf.Values) || !maps.Equal(gf.Invalid, wf.Invalid) {
					t.Errorf("form %d mapped:\n got %v %v\nwant %v %v", i, gf.Values, gf.Invalid, wf.Values, wf.Invalid)
				}
				if len(w.ByLabel) < 5 {
					t.Errorf("form %d: the .docx gives %d labels: the fixture no longer tests the reading", i, len(w.ByLabel))
				}
			}
		})
	}
	t.Run("a check box whose state cannot be read", func(t *testing.T) {
		// A legacy check box whose FFData is not where its character
		// says: the form is refused, never read with the box blank.
		text := []rune("Consent given\a\x13 FORMCHECKBOX \x01\x14\x15\a\a")
		fcs := make([]uint32, len(text))
		for i := range fcs {
			fcs[i] = uint32(2 * i)
		}
		_, refused := docWordML(text, fcs, nil, nil, func(int, int) *docFormField { return nil })
		if !refused {
			t.Error("read")
		}
		_, refused = docWordML(text, fcs, nil, nil, func(int, int) *docFormField { return &docFormField{kind: 1, res: 1} })
		if refused {
			t.Error("refused though its state was read")
		}
	})
}

// TestParseSampleAsDOC sends sample 03 with its two Word forms saved as
// .doc (application/msword, as Outlook sends them) and asserts the email
// reads as the sample does: both forms found, every value the same.
func TestParseSampleAsDOC(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: helen.carver@riverside.sch.uk\r\nTo: bromley.dsr@nhs.net\r\nSubject: DSR referral\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	b.WriteString("--outer\r\nContent-Type: text/plain\r\n\r\nReferral and consent attached.\r\n")
	for _, f := range []struct{ file, name string }{
		{"sample03-referral.doc", "DSR Referral Form - Amelia Novak.doc"},
		{"sample03-consent.doc", "DSR Consent Form - Amelia Novak.doc"},
	} {
		fmt.Fprintf(&b, "--outer\r\nContent-Type: application/msword; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
			f.name, f.name, b64(readDOCFixture(t, f.file)))
	}
	b.WriteString("--outer--\r\n")
	p := New(Options{})
	got, err := p.Parse(context.Background(), b.Bytes())
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
		if a.Detected != detectOLE || (a.Kind != KindReferral && a.Kind != KindConsent) {
			t.Errorf("attachment %q: %s %s %q", a.Filename, a.Detected, a.Kind, a.Error)
		}
	}
}

// docWords is the text of a .doc's main document, as words.
func docWords(t *testing.T, data []byte) []string {
	t.Helper()
	streams, err := docStreams(data, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	word, tbl := streams["WordDocument"], streams["0Table"]
	if word[0x0B]&0x02 != 0 {
		tbl = streams["1Table"]
	}
	chars, err := wordText(word, tbl, int(uint32(word[0x4C])|uint32(word[0x4D])<<8|uint32(word[0x4E])<<16|uint32(word[0x4F])<<24))
	if err != nil {
		t.Fatal(err)
	}
	text := chars.text
	// What Word shows: a field's instructions (0x13 ... 0x14) are not.
	var shown []rune
	var open []bool // per open field: past its separator
	for _, r := range text {
		switch {
		case r == 0x13:
			open = append(open, false)
		case r == 0x14 && len(open) > 0:
			open[len(open)-1] = true
		case r == 0x15 && len(open) > 0:
			open = open[:len(open)-1]
		case len(open) == 0 || open[len(open)-1]:
			shown = append(shown, r)
		}
	}
	return wordsOf(string(shown))
}

var wordPattern = regexp.MustCompile(`[\p{L}\p{N}]+`)

func wordsOf(s string) []string {
	return wordPattern.FindAllString(strings.ToLower(s), -1)
}

// TestDOCTextMatchesAntiword compares the text the .doc reader takes from
// each file, word by word, with what antiword (Debian's) reads in it: real
// Word 97, 2000 and 2010 files from other projects' test suites
// (testdata/thirdparty/doc) and LibreOffice's exports of our forms.
// antiword writes "[pic]" for a picture, which is no text. None of the
// third-party files is a DSR form.
func TestDOCTextMatchesAntiword(t *testing.T) {
	if _, err := exec.LookPath("antiword"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("antiword is not installed; CI must run this test (scripts/install-test-deps.sh)")
		}
		t.Skip("antiword is not installed")
	}
	third, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "doc", "*.doc"))
	ours, _ := filepath.Glob(filepath.Join("testdata", "doc", "*.doc"))
	if len(third) < 3 || len(ours) < 6 {
		t.Fatalf("%d third-party and %d own .doc files", len(third), len(ours))
	}
	words := 0
	for _, f := range append(third, ours...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("antiword", "-w", "0", "-m", "UTF-8.txt", f).Output()
		if err != nil {
			t.Fatalf("antiword %s: %v", f, err)
		}
		want := wordsOf(strings.ReplaceAll(string(out), "[pic]", " "))
		got := docWords(t, data)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d words, antiword %d; first difference %s", filepath.Base(f), len(got), len(want), firstDifference(got, want))
		}
		words += len(want)
	}
	if words < 2000 {
		t.Errorf("%d words in all: the files no longer test the reading", words)
	}
	p := New(Options{})
	for _, f := range third {
		data, _ := os.ReadFile(f)
		s, err := p.Parse(context.Background(), rebuiltWith(t, "Newsletter", "application/msword", filepath.Base(f), data))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindNotForm || s.Referral != nil || s.Consent != nil {
			t.Errorf("%s: %+v", filepath.Base(f), s.Attachments)
		}
	}
}

func firstDifference(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at word %d: %q against %q", i, a[max(0, i-2):min(len(a), i+3)], b[max(0, i-2):min(len(b), i+3)])
		}
	}
	return "at the end"
}
