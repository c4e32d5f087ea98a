package parser

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// attachInside writes in again with the files attached inside it by
// qpdf (the document's attachments, as Acrobat's paperclip adds them),
// each under its key and file name; extra are qpdf's options for the
// output (object streams, encryption).
func attachInside(t *testing.T, dir string, in []byte, files map[string][]byte, extra ...string) []byte {
	t.Helper()
	args := []string{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, "attach-"+strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, files[name], 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--add-attachment", path, "--key="+name, "--filename="+name, "--")
	}
	return reprint(t, dir, "qpdf", in, func(in, out string) []string {
		return append(append(append([]string{in}, args...), extra...), out)
	})
}

// pdfdetachFiles is what poppler's pdfdetach takes out of data: each
// file's name and bytes, in its order.
func pdfdetachFiles(t *testing.T, dir string, data []byte) []EmbeddedFile {
	t.Helper()
	if _, err := exec.LookPath("pdfdetach"); err != nil {
		t.Fatal("pdfdetach is needed (poppler-utils; scripts/install-test-deps.sh installs it)")
	}
	src := filepath.Join(dir, "detach.pdf")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("pdfdetach", "-enc", "UTF-8", "-list", src).Output()
	if err != nil {
		t.Fatalf("pdfdetach -list: %v", err)
	}
	var files []EmbeddedFile
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n")[1:] {
		_, name, _ := strings.Cut(line, ": ")
		n := len(files) + 1
		out := filepath.Join(dir, "detached")
		if b, err := exec.Command("pdfdetach", "-save", strconv.Itoa(n), "-o", out, src).CombinedOutput(); err != nil {
			t.Fatalf("pdfdetach -save %d: %v\n%s", n, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, EmbeddedFile{Name: name, Data: b})
	}
	return files
}

// asAnnotation moves the files of a QDF's name tree onto its first page
// as file-attachment annotations (Acrobat's "Attach File" comment), the
// name tree left empty.
func asAnnotation(t *testing.T, qdf []byte) []byte {
	t.Helper()
	leaves := regexp.MustCompile(`(?s)/Names \[\s*((?:(?:\([^)]*\)|<[0-9a-fA-F]*>)\s+\d+ 0 R\s*)+)\]`)
	m := leaves.FindSubmatchIndex(qdf)
	if m == nil {
		t.Fatal("no name tree leaves in the QDF")
	}
	var annots []string
	for _, ref := range regexp.MustCompile(`(\d+) 0 R`).FindAllSubmatch(qdf[m[2]:m[3]], -1) {
		annots = append(annots, "<< /Type /Annot /Subtype /FileAttachment /Rect [ 20 20 40 40 ] /FS "+string(ref[1])+" 0 R >>")
	}
	out := append(append(append([]byte{}, qdf[:m[0]]...), "/Names [ ]"...), qdf[m[1]:]...)
	page := regexp.MustCompile(`/Type /Page\n`).FindIndex(out)
	if page == nil || bytes.Contains(out, []byte("/Annots")) {
		t.Fatal("no first page without annotations in the QDF")
	}
	return append(append(append([]byte{}, out[:page[1]]...), "  /Annots [ "+strings.Join(annots, " ")+" ]\n"...), out[page[1]:]...)
}

// TestEmbeddedFilesAgreeWithPdfdetach: the files attached inside a PDF,
// in its attachments or as page annotations, however the PDF is written
// (object streams, AES-256 encryption with an empty user password), are
// taken out with pdfdetach's names and bytes.
func TestEmbeddedFilesAgreeWithPdfdetach(t *testing.T) {
	dir := t.TempDir()
	consent := pdfFixture(t, "consent-filled.pdf")
	letter := []byte("Letter to the GP about Zoë, with a care plan to follow.\n")
	two := map[string][]byte{"DSR consent form - Zoë.pdf": consent, "letter.txt": letter}
	tests := []struct {
		name string
		pdf  func(t *testing.T) []byte
	}{
		{"attachments, object streams", func(t *testing.T) []byte {
			return attachInside(t, dir, pdfFixture(t, "referral-filled.pdf"), two, "--object-streams=generate")
		}},
		{"attachments, no object streams", func(t *testing.T) []byte {
			return attachInside(t, dir, pdfFixture(t, "referral-flat-qpdf.pdf"), two, "--object-streams=disable")
		}},
		{"attachments, AES-256 with an empty user password", func(t *testing.T) []byte {
			return attachInside(t, dir, pdfFixture(t, "referral-filled.pdf"), two, "--encrypt", "", "owner", "256", "--")
		}},
		{"page annotations", func(t *testing.T) []byte {
			// Text files only: QDF shows an attached PDF's own pages and
			// annotations, which asAnnotation would take for the file's.
			texts := map[string][]byte{"care plan – Zoë.txt": letter, "letter.txt": bytes.Repeat(letter, 3)}
			return editQDF(t, dir, attachInside(t, dir, pdfFixture(t, "referral-flat-qpdf.pdf"), texts), func(q []byte) []byte { return asAnnotation(t, q) })
		}},
	}
	r := NewInProcessPDFReader(Limits{}).(pdfFileReader)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.pdf(t)
			want := pdfdetachFiles(t, dir, data)
			if len(want) != 2 {
				t.Fatalf("pdfdetach finds %d files", len(want))
			}
			c, err := r.ReadPDFFiles(context.Background(), data)
			if err != nil || c.FilesNote != "" {
				t.Fatalf("read: %v; files note %q", err, c.FilesNote)
			}
			slices.SortFunc(want, func(a, b EmbeddedFile) int { return strings.Compare(a.Name, b.Name) })
			got := slices.Clone(c.Files)
			slices.SortFunc(got, func(a, b EmbeddedFile) int { return strings.Compare(a.Name, b.Name) })
			if len(got) != len(want) {
				t.Fatalf("%d files, pdfdetach %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || !bytes.Equal(got[i].Data, want[i].Data) {
					t.Errorf("file %q (%d bytes), pdfdetach %q (%d bytes)", got[i].Name, len(got[i].Data), want[i].Name, len(want[i].Data))
				}
			}
			if len(c.Forms) != 1 || c.Forms[0].Kind != Referral {
				t.Errorf("the PDF's own forms: %d", len(c.Forms))
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		c, err := r.ReadPDFFiles(context.Background(), pdfFixture(t, "referral-filled.pdf"))
		if err != nil || len(c.Files) != 0 || c.FilesNote != "" {
			t.Errorf("files %d, note %q, err %v", len(c.Files), c.FilesNote, err)
		}
	})
}

// TestParseConsentAttachedInsideReferral: a referrer attaches the consent
// form to the referral PDF in Acrobat and sends the one PDF. Both forms
// are read, the consent as an attachment of its own right after the
// referral, by the in-process reader and by the PDF child; a file inside
// the attached file is not taken out (one level).
func TestParseConsentAttachedInsideReferral(t *testing.T) {
	dir := t.TempDir()
	inner := attachInside(t, dir, pdfFixture(t, "consent-filled.pdf"), map[string][]byte{"note.txt": []byte("a note")})
	data := attachInside(t, dir, pdfFixture(t, "referral-filled.pdf"), map[string][]byte{"DSR consent form.pdf": inner})
	email := rebuiltWith(t, "DSR referral", "application/pdf", "DSR referral form.pdf", data)
	readers := map[string]PDFReader{"in process": nil}
	if !testing.Short() {
		readers["child"] = NewChildPDFReader([]string{os.Args[0], "-test.run=^$"}, Limits{}, childEnv+"=serve")
	}
	for name, rd := range readers {
		t.Run(name, func(t *testing.T) {
			s, err := New(Options{PDF: rd}).Parse(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range s.Attachments {
				got = append(got, a.Filename+":"+string(a.Kind))
			}
			want := []string{"DSR referral form.pdf:" + string(KindReferral), "DSR consent form.pdf:" + string(KindConsent)}
			if !slices.Equal(got, want) {
				t.Fatalf("attachments %q, want %q", got, want)
			}
			if s.Referral == nil || s.Consent == nil || s.Consent.Get("cyp_full_name") != "Zoë Nguyễn" {
				t.Errorf("referral %v, consent %v", s.Referral != nil, s.Consent)
			}
			if !bytes.Equal(s.Attachments[1].Data, inner) {
				t.Error("the consent's bytes are not the file attached")
			}
		})
	}
}

// TestEmbeddedFilesFromOtherWriters: a file attached by another writer
// than qpdf (pypdf's attachment.pdf, made with its test suite; its
// /Params give a /Size over the object limit, which once refused the
// whole PDF) is taken out as pdfdetach takes it.
func TestEmbeddedFilesFromOtherWriters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "pdf", "pypdf-attachment.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	want := pdfdetachFiles(t, t.TempDir(), data)
	c, err := NewInProcessPDFReader(Limits{}).(pdfFileReader).ReadPDFFiles(context.Background(), data)
	if err != nil || c.FilesNote != "" || len(want) == 0 || len(c.Files) != len(want) {
		t.Fatalf("%d files (pdfdetach %d), note %q, err %v", len(c.Files), len(want), c.FilesNote, err)
	}
	for i := range want {
		if c.Files[i].Name != want[i].Name || !bytes.Equal(c.Files[i].Data, want[i].Data) {
			t.Errorf("file %q (%d bytes), pdfdetach %q (%d bytes)", c.Files[i].Name, len(c.Files[i].Data), want[i].Name, len(want[i].Data))
		}
	}
}

// TestEmbeddedFilesBounded: at most maxEmbeddedFiles files are taken out
// of one PDF, and the rest are said to the coordinator; the files count
// against the email's attachment limit, and those over it are said too.
func TestEmbeddedFilesBounded(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range maxEmbeddedFiles + 1 {
		files[fmt.Sprintf("note%02d.txt", i)] = []byte(fmt.Sprintf("note %d", i))
	}
	data := attachInside(t, dir, pdfFixture(t, "referral-filled.pdf"), files)
	c, err := NewInProcessPDFReader(Limits{}).(pdfFileReader).ReadPDFFiles(context.Background(), data)
	if err != nil || len(c.Files) != maxEmbeddedFiles || !strings.Contains(c.FilesNote, "more than 16 files") {
		t.Fatalf("%d files, note %q, err %v", len(c.Files), c.FilesNote, err)
	}
	email := rebuiltWith(t, "DSR referral", "application/pdf", "referral.pdf", data)
	for _, tt := range []struct {
		max, attachments int
		problem          string
	}{
		{0, 1 + maxEmbeddedFiles, "could not all be taken out"},
		{3, 3, "14 were not read"},
	} {
		s, err := New(Options{Limits: Limits{MaxAttachments: tt.max}}).Parse(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Attachments) != tt.attachments || !slices.ContainsFunc(s.Problems, func(p string) bool { return strings.Contains(p, tt.problem) }) {
			t.Errorf("limit %d: %d attachments, problems %q; want %d and %q", tt.max, len(s.Attachments), s.Problems, tt.attachments, tt.problem)
		}
	}
}
