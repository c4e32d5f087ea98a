package parser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadDOCAsDOCX reads each form saved in Word 97-2003's format by
// LibreOffice (scripts/make-doc-fixtures.sh) and asserts it gives exactly
// what its .docx gives: the same forms, kinds, titles, labels with their
// values (a label merged down over rows, a layout table nested in a cell,
// Wingdings' boxes, legacy check boxes, drop-downs and text fields, whose
// state and names the .doc keeps in its Data stream) and field names. A
// legacy check box whose state cannot be read is refused as a .doc the
// referrer is asked to send as .docx, never read blank.
func TestReadDOCAsDOCX(t *testing.T) {
	// LibreOffice writes no name for a legacy check box or drop-down in a
	// .doc (Word does, in FFData).
	assertReadsAsDOCX(t, "doc", readDOCX, []string{"referral-plain", "consent-plain", "both-forms", "layout",
		"referral-checkbox", "referral-legacy", "sample03-referral", "sample03-consent"}, "referral-legacy")
	t.Run("a check box whose state cannot be read", func(t *testing.T) {
		// A legacy check box whose FFData is not where its character
		// says: the form is refused, never read with the box blank.
		text := []rune("Consent given\a\x13 FORMCHECKBOX \x01\x14\x15\a\a")
		fcs := make([]uint32, len(text))
		for i := range fcs {
			fcs[i] = uint32(2 * i)
		}
		_, refused, _ := docWordML(text, fcs, nil, nil, func(int, int) *docFormField { return nil }, nil)
		if !refused {
			t.Error("read")
		}
		_, refused, _ = docWordML(text, fcs, nil, nil, func(int, int) *docFormField { return &docFormField{kind: 1, res: 1} }, nil)
		if refused {
			t.Error("refused though its state was read")
		}
	})
}

// TestParseSampleAsDOC sends sample 03 with its two Word forms saved as
// .doc (application/msword, as Outlook sends them) and asserts the email
// reads as the sample.
func TestParseSampleAsDOC(t *testing.T) { parseSampleAs(t, "doc", "application/msword") }

// docWords is the text a .doc shows, as words: the text of the
// WordprocessingML it is read as (field instructions and deleted text
// left out, as Word leaves them out).
func docWords(t *testing.T, data []byte) []string {
	t.Helper()
	doc, err := docAsWordML(context.Background(), data, Limits{MaxDOCXUncompressed: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return shownWords(doc)
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
// sameAsNormalCase asserts that a copy of tika-simple_normal_case.doc
// with its streams' names in another case reads as it does, where
// antiword reads nothing.
func sameAsNormalCase(t *testing.T, got, want []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "doc", "tika-simple_normal_case.doc"))
	if err != nil {
		t.Fatal(err)
	}
	normal := docWords(t, data)
	if len(want) != 0 || len(normal) == 0 || !slices.Equal(got, normal) {
		t.Errorf("words %q, antiword %q; the normal-case copy %q", got, want, normal)
	}
}

func TestDOCTextMatchesAntiword(t *testing.T) {
	antiword := needPeer(t, "antiword")
	third, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "doc", "*.doc"))
	ours, _ := filepath.Glob(filepath.Join("testdata", "doc", "*.doc"))
	if len(third) < 6 || len(ours) < 6 {
		t.Fatalf("%d third-party and %d own .doc files", len(third), len(ours))
	}
	// Where the reader and antiword part, each asserted with its reason.
	differs := map[string]func(t *testing.T, got, want []string){
		// A table nested in a cell: antiword prints the outer row's
		// other cells first, Word (and the reader) in place. The same
		// words.
		"poi-innertable.doc": func(t *testing.T, got, want []string) {
			if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
				t.Errorf("words %q, antiword %q", got, want)
			}
		},
		// A date revised with changes tracked, 17 deleted and 28
		// inserted: antiword shows both ("1728"), Word (and the reader)
		// the text as it now stands.
		// The same one-line document with its streams named in lower
		// and upper case ("worddocument"), as Apache Tika's tests have
		// it: a compound file's names are compared whatever their case
		// ([MS-CFB] 2.6.4), and Word, POI and the reader open all three;
		// antiword finds no Word document in the two.
		"tika-simple_lower_case.doc": sameAsNormalCase,
		"tika-simple_upper_case.doc": sameAsNormalCase,
		"poi-53446.doc": func(t *testing.T, got, want []string) {
			if !slices.Contains(want, "1728") || slices.Contains(got, "1728") || !strings.Contains(strings.Join(got, " "), "revised september 28 1999") {
				t.Errorf("the revised date: %q, antiword %q", got[:min(20, len(got))], want[:min(20, len(want))])
			}
		},
	}
	// Protected files are read in TestReadDOCThirdParty (a password) and
	// TestRightsManagedWordDocuments (rights management).
	protected := func(f string) bool { return strings.Contains(f, "password") || strings.Contains(f, "_drm") }
	third = slices.DeleteFunc(third, protected)
	files := append(slices.Clone(third), ours...)
	peer := func(f string) []string {
		out, err := exec.Command(antiword, "-w", "0", "-m", "UTF-8.txt", f).Output()
		if err != nil && slices.Contains([]string{"tika-simple_lower_case.doc", "tika-simple_upper_case.doc"}, filepath.Base(f)) {
			return nil // "This OLE file does not contain a Word document"
		}
		if err != nil {
			t.Fatalf("antiword %s: %v", f, err)
		}
		return wordsOf(strings.ReplaceAll(string(out), "[pic]", " "))
	}
	if words := peerWordsAgree(t, "antiword", files, docWords, peer, differs); words < 2000 {
		t.Errorf("%d words in all: the files no longer test the reading", words)
	}
	assertNoForm(t, "Newsletter", "application/msword", third)
}

func firstDifference(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at word %d: %q against %q", i, a[max(0, i-2):min(len(a), i+3)], b[max(0, i-2):min(len(b), i+3)])
		}
	}
	return "at the end"
}

// TestReadDOCThirdParty reads Apache POI's test files for what a form
// needs: a table nested in a cell gives its rows and its outer cell's
// value as a .docx's does; a password-protected .doc is said to be one.
func TestReadDOCThirdParty(t *testing.T) {
	read := func(name string) ([]*RawForm, error) {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "doc", name))
		if err != nil {
			t.Fatal(err)
		}
		return readDOCX(context.Background(), data, Limits{})
	}
	forms, err := read("poi-innertable.doc")
	if err != nil || len(forms) != 1 {
		t.Fatalf("%d forms, %v", len(forms), err)
	}
	want := []LabelValue{{"A", "B"}, {"1", "2"}, {"3", "4"}, {"D", "E\n1 2\n3 4\nF"}, {"H", "I"}}
	if !slices.Equal(forms[0].ByLabel, want) {
		t.Errorf("labels %q, want %q", forms[0].ByLabel, want)
	}
	// The streams count against the Word size limit, read or not.
	if _, err := readDOC(context.Background(), formFixture(t, "doc", "layout"), Limits{MaxDOCXUncompressed: 4 << 10}); ReasonOf(err) != reasonDOCXTooComplex {
		t.Errorf("streams over the limit: %v, want %q", err, reasonDOCXTooComplex)
	}
	if _, err := read("poi-password_password_cryptoapi.doc"); ReasonOf(err) != reasonDOCXEncrypted {
		t.Errorf("err %v, want %q", err, reasonDOCXEncrypted)
	}
}

// TestDOCFieldRunBounded: a text of nothing but field begins (a damaged
// or hostile file) is read in time linear in its length, and one that
// would make more elements than the DOCX reader reads is refused before
// its document is written.
func TestDOCFieldRunBounded(t *testing.T) {
	for _, n := range []int{1 << 16, 4 << 20} {
		text := []rune(strings.Repeat("\x13", n))
		fcs := make([]uint32, len(text))
		doc, _, err := docWordML(text, fcs, nil, nil, func(int, int) *docFormField { return nil }, nil)
		switch {
		case n < docMaxElems && (err != nil || !bytes.Contains(doc, []byte(`w:fldCharType="begin"`))):
			t.Errorf("%d field begins: %v", n, err)
		case n > docMaxElems && ReasonOf(err) != reasonDOCXTooComplex:
			t.Errorf("%d field begins: %v, want %q", n, err, reasonDOCXTooComplex)
		}
	}
}

// TestRightsManagedWordDocuments: a Word document protected by
// Microsoft's rights management (a Microsoft 365 sensitivity label with
// encryption) is said to be so. A .doc so protected (Apache Tika's
// testWORD_protected_drm.doc) keeps its text in a "\tDRMContent" stream
// and shows only a notice that permission is restricted, which was read
// as a document that is no form; a .docx so protected is an encrypted
// package whose data space is the DRM one ([MS-OFFCRYPTO] 2.2), said
// before to be password-protected. A password-protected package stays so.
func TestRightsManagedWordDocuments(t *testing.T) {
	drm, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "doc", "tika-testWORD_protected_drm.doc"))
	if err != nil {
		t.Fatal(err)
	}
	container := func(names ...string) []byte {
		b := append([]byte(docxCFBHeader), make([]byte, 504)...)
		for _, n := range names {
			b = append(append(b, utf16LE(n)...), 0, 0)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"Tika's rights-managed .doc", drm, reasonDOCXRightsManaged},
		{"a rights-managed .docx", container("EncryptedPackage", "\x06DataSpaces", "DataSpaceMap", "DRMEncryptedDataSpace"), reasonDOCXRightsManaged},
		{"a password-protected .docx", container("EncryptedPackage", "EncryptionInfo", "\x06DataSpaces", "StrongEncryptionDataSpace"), reasonDOCXEncrypted},
	}
	for _, tt := range tests {
		if _, err := readDOCX(context.Background(), tt.data, Limits{}); ReasonOf(err) != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	s, err := New(Options{}).Parse(context.Background(), rebuiltWith(t, "DSR referral", "application/msword", "referral.doc", drm))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Attachments) != 1 || s.Attachments[0].Kind != KindUnreadable || s.Attachments[0].Error != reasonDOCXRightsManaged {
		t.Errorf("attachments %+v", s.Attachments)
	}
}
