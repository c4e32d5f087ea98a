package parser

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadODTAsDOCX reads forms saved in LibreOffice's own format
// (scripts/make-doc-fixtures.sh) and asserts each gives exactly what its
// .docx gives: the same forms, kinds, titles, labels with their values (a
// layout table nested in a cell, a label spanning rows, legacy check
// boxes, drop-downs and text fields, which LibreOffice keeps as
// fieldmarks with their state) and the same mapped form.
func TestReadODTAsDOCX(t *testing.T) {
	// LibreOffice names no legacy check box or drop-down (its fieldmarks
	// are "__Fieldmark__...").
	assertReadsAsDOCX(t, "odt", readODT, []string{"layout", "referral-legacy", "sample03-referral", "sample03-consent"}, "referral-legacy")
}

// TestParseSampleAsODT sends sample 03 with its two Word forms saved in
// LibreOffice's own format and asserts the email reads as the sample.
func TestParseSampleAsODT(t *testing.T) {
	parseSampleAs(t, "odt", "application/vnd.oasis.opendocument.text")
}

// odtWords is the text an .odt shows, as words: the text of the
// WordprocessingML it is read as.
func odtWords(t *testing.T, data []byte) []string {
	t.Helper()
	p, err := openPackage(data, Limits{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	f := p.find("content.xml")
	if f == nil {
		t.Fatal("no content.xml")
	}
	var m *textModel
	if err := p.read(context.Background(), f, func(r io.Reader) (err error) {
		m, err = odtModel(context.Background(), r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return modelWords(t, m)
}

// TestODTTextMatchesOdt2txt compares the text the .odt reader takes, word
// for word, with what odt2txt (Debian's) reads: OpenDocument files other
// producers wrote (Microsoft Word 2013, Apache OpenOffice 4.0.1, from the
// ODF Toolkit's tests, testdata/thirdparty/odt) and LibreOffice's exports
// of our forms. None of the third-party files is a DSR form.
func TestODTTextMatchesOdt2txt(t *testing.T) {
	odt2txt := needPeer(t, "odt2txt")
	third, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "odt", "odftoolkit-*.odt"))
	ours, _ := filepath.Glob(filepath.Join("testdata", "odt", "*.odt"))
	if len(third) < 4 || len(ours) < 4 {
		t.Fatalf("%d third-party and %d own .odt files", len(third), len(ours))
	}
	// Where the reader and odt2txt part, asserted with the reason.
	differs := map[string]func(t *testing.T, got, want []string){
		// Word 2013 writes a single space as <text:s/>, which the
		// OpenDocument standard reads as one space and odt2txt drops
		// ("gut, abernicht sehr gut").
		"odftoolkit-MultiStylesSimple-MSO2013.odt": func(t *testing.T, got, want []string) {
			if !slices.Contains(want, "abernicht") || !strings.Contains(strings.Join(got, " "), "gut aber nicht sehr gut") {
				t.Errorf("the <text:s/> space: %q, odt2txt %q", got, want)
			}
		},
	}
	peer := func(f string) []string {
		out, err := exec.Command(odt2txt, "--width=-1", "--encoding=UTF-8", f).Output()
		if err != nil {
			t.Fatalf("odt2txt %s: %v", f, err)
		}
		return wordsOf(string(out))
	}
	peerWordsAgree(t, "odt2txt", append(third, ours...), odtWords, peer, differs)
	assertNoForm(t, "Minutes", "application/vnd.oasis.opendocument.text", third)
}

// TestReadODTEncrypted: a document LibreOffice saved with a password
// (Apache Tika's testODTEncrypted.odt: every part encrypted, as its
// manifest says) is said to be password-protected, so the coordinator
// asks for a copy without the password, not for the form in another
// format (which was said, as for a damaged .odt).
func TestReadODTEncrypted(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "odt", "tika-testODTEncrypted.odt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readODT(context.Background(), data, Limits{}); ReasonOf(err) != reasonODTEncrypted {
		t.Fatalf("readODT: %v, want %q", err, reasonODTEncrypted)
	}
	s, err := New(Options{}).Parse(context.Background(), rebuiltWith(t, "Referral", "application/vnd.oasis.opendocument.text", "referral.odt", data))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindUnreadable || s.Attachments[0].Error != reasonODTEncrypted {
		t.Errorf("attachments %+v, want one unreadable: %q", s.Attachments, reasonODTEncrypted)
	}
}
