package parser

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
)

// editQDF writes a PDF again as a producer with a quirk would: qpdf
// writes it in QDF form, every stream decoded and no object streams,
// edit changes that text, and fix-qdf mends the streams' lengths and the
// cross-references.
func editQDF(t *testing.T, dir string, in []byte, edit func(qdf []byte) []byte) []byte {
	t.Helper()
	qdf := reprint(t, dir, "qpdf", in, func(in, out string) []string {
		return []string{"--qdf", "--object-streams=disable", "--decode-level=generalized", in, out}
	})
	src := filepath.Join(dir, "edited.pdf")
	if err := os.WriteFile(src, edit(qdf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("fix-qdf", src).Output() // it writes to its standard output
	if err != nil {
		t.Fatalf("fix-qdf: %v", err)
	}
	return out
}

func zlibBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// quirksReader reads the producers' files, each within a deadline.
func quirksReader() PDFReader {
	return NewInProcessPDFReader(Limits{PDFTimeout: 10 * time.Second})
}

// cleanForm is what the clean fixture name reads as: one form.
func cleanForm(t *testing.T, name string) []*RawForm {
	t.Helper()
	want, err := readRaw(t, name)
	if err != nil || len(want) != 1 {
		t.Fatalf("clean %s: forms %d, err %v", name, len(want), err)
	}
	return want
}

// readsAs asserts that data reads without error exactly as want.
func readsAs(t *testing.T, data []byte, want []*RawForm) {
	t.Helper()
	got, err := quirksReader().ReadPDF(context.Background(), data)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read:\n%s", rawFormDiff(got, want))
	}
}

// thirdPartyPDF reads testdata/thirdparty/pdf/name, a file that is no
// form, and asserts it reads without error; it returns the file.
func thirdPartyPDF(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	if forms, err := quirksReader().ReadPDF(context.Background(), data); err != nil || len(forms) != 0 {
		t.Errorf("read %s: forms %d, err %v", name, len(forms), err)
	}
	return data
}

// qdfStream is a stream as QDF writes it: the dictionary's last key its
// /Length (an indirect object fix-qdf recomputes), the data between the
// "stream" and "endstream" lines.
var qdfStream = regexp.MustCompile(`(?s)(  /Length \d+ 0 R\n)(>>\nstream\n)(.*?)(\nendstream)`)

// withPredictorOne writes a PDF again with every stream compressed and
// marked /DecodeParms << /Predictor 1 >>: "no prediction", as AutoCAD's
// PDF plotter (pdfplot10.hdi) marks all of its streams.
func withPredictorOne(t *testing.T, dir string, in []byte) []byte {
	t.Helper()
	return editQDF(t, dir, in, func(qdf []byte) []byte {
		if bytes.Contains(qdf, []byte("/Filter")) {
			t.Fatal("qpdf left a stream encoded")
		}
		n := 0
		marked := qdfStream.ReplaceAllFunc(qdf, func(m []byte) []byte {
			p := qdfStream.FindSubmatch(m)
			n++
			out := append([]byte{}, p[1]...)
			out = append(out, "  /Filter /FlateDecode\n  /DecodeParms << /Predictor 1 >>\n"...)
			out = append(out, p[2]...)
			out = append(out, zlibBytes(t, p[3])...)
			return append(out, p[4]...)
		})
		if n == 0 {
			t.Fatal("no stream to mark")
		}
		return marked
	})
}

// TestPredictorOneIsNoPrediction: a stream whose /DecodeParms say
// /Predictor 1 is only compressed (PDF 32000-1, table 8). The PDF library
// knows only PNG Up (12) and panicked on it, so such a file was "damaged"
// where pdftotext, qpdf and pdftk read it. Our forms, flattened and
// fillable, with every stream so marked, read exactly as they are; and so
// does a drawing by AutoCAD's plotter from pypdf's tests.
func TestPredictorOneIsNoPrediction(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "referral-filled.pdf"} {
		t.Run(name, func(t *testing.T) {
			readsAs(t, withPredictorOne(t, dir, pdfFixture(t, name)), cleanForm(t, name))
		})
	}
	t.Run("pypdf-AutoCad_Simple.pdf", func(t *testing.T) {
		// Not a form, and not damaged: pdftotext reads its one word.
		if data := thirdPartyPDF(t, "pypdf-AutoCad_Simple.pdf"); !bytes.Contains(data, []byte("/Predictor 1")) {
			t.Error("the drawing's streams are not marked /Predictor 1")
		}
	})
}

// toUnicodeRef finds a font's ToUnicode map in QDF output.
var toUnicodeRef = regexp.MustCompile(`/ToUnicode (\d+) 0 R`)

// withCompressedMapsUnmarked writes a PDF again with its fonts'
// ToUnicode maps compressed but no /Filter saying so, as the producer of
// pdf.js's issue19802.pdf wrote them.
func withCompressedMapsUnmarked(t *testing.T, dir string, in []byte) []byte {
	t.Helper()
	return editQDF(t, dir, in, func(qdf []byte) []byte {
		n := 0
		for _, m := range toUnicodeRef.FindAllSubmatch(qdf, -1) {
			obj := regexp.MustCompile(`(?s)(\n` + string(m[1]) + ` 0 obj\n<<\n  /Length \d+ 0 R\n>>\nstream\n)(.*?)(\nendstream)`)
			qdf = obj.ReplaceAllFunc(qdf, func(s []byte) []byte {
				p := obj.FindSubmatch(s)
				n++
				return append(append(append([]byte{}, p[1]...), zlibBytes(t, p[2])...), p[3]...)
			})
		}
		if n == 0 {
			t.Fatal("no ToUnicode map to compress")
		}
		return qdf
	})
}

// TestUnreadableCharacterMap: a font whose ToUnicode stream the PDF
// library cannot read made it panic, and the whole page was lost
// ("damaged"; pdftotext reads pdf.js's issue19802.pdf). Such a map is
// now read by our own reader, which also takes a map compressed without
// its /Filter; a form whose maps were so written (LibreOffice's, whose
// fonts have no /Encoding, so the map is all that tells their letters)
// reads exactly as it is.
func TestUnreadableCharacterMap(t *testing.T) {
	broken := withCompressedMapsUnmarked(t, t.TempDir(), pdfFixture(t, "libreoffice-referral.pdf"))
	readsAs(t, broken, cleanForm(t, "libreoffice-referral.pdf"))
	t.Run("pdfjs-issue19802.pdf", func(t *testing.T) {
		thirdPartyPDF(t, "pdfjs-issue19802.pdf")
	})
}

// TestEmptyOwnerPassword: an AES-256 form with a user password but an
// empty owner password opens without asking in qpdf, poppler (pdftotext),
// pdf.js and PDFium, which try the empty password as the owner's too; the
// referrer's viewer opened it so, and it was refused here as encrypted.
// qpdf writes our consent form so at R6 and at the deprecated R5 (it asks
// for --allow-insecure: anyone can open such a file); both read as the
// clean form. pypdf's r5-user-password.pdf is the same at R5 from another
// writer, and a form whose owner password is not empty is still refused.
func TestEmptyOwnerPassword(t *testing.T) {
	want := cleanForm(t, "consent-filled.pdf")
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		owner string
		extra []string
	}{
		{"R6", "", nil},
		{"R5", "", []string{"--force-R5"}},
		{"R6 with an owner password", "secret-owner", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := reprint(t, dir, "qpdf", pdfFixture(t, "consent-filled.pdf"), func(in, out string) []string {
				args := append([]string{in, "--encrypt", "secret-user", tc.owner, "256"}, tc.extra...)
				return append(args, "--allow-insecure", "--", out)
			})
			if tc.owner == "" {
				readsAs(t, enc, want)
				return
			}
			if got, err := quirksReader().ReadPDF(context.Background(), enc); ReasonOf(err) != ReasonPDFEncrypted {
				t.Errorf("read: forms %d, err %v; want %q", len(got), err, ReasonPDFEncrypted)
			}
		})
	}
	// The same from other writers: pypdf at R5, pdf.js's test at R6.
	for _, name := range []string{"pypdf-r5-user-password.pdf", "pdfjs-pr6531_2.pdf"} {
		t.Run(name, func(t *testing.T) {
			thirdPartyPDF(t, name)
		})
	}
}

// pdfWords is every word of a PDF's pages as the text extractor reads
// them.
func pdfWords(t *testing.T, data []byte) []string {
	t.Helper()
	rd, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	e := newTextExtractor(pdfContentBudget, data)
	var words []string
	for i := 1; i <= rd.NumPage(); i++ {
		glyphs, err := e.page(rd.Page(i))
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		words = append(words, strings.Fields(layoutPage(glyphs).raw)...)
	}
	return words
}

// TestEmptyCharacterMapFallsBack: a simple font with no /Encoding and a
// ToUnicode map that leaves codes out is decoded by the map alone in the
// PDF library, so a code the map left out was no text; pdftotext reads it
// by the font's encoding. iText 5 wrote its fonts so, with maps that map
// nothing: pdf.js's issue1350.pdf (a voucher, three pages) read as no
// text at all, "a scan". Its words are now pdftotext's.
func TestEmptyCharacterMapFallsBack(t *testing.T) {
	file := filepath.Join("..", "testdata", "thirdparty", "pdf", "pdfjs-issue1350.pdf")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	peer := strings.Fields(string(out))
	if len(peer) < 100 {
		t.Fatalf("pdftotext read %d words", len(peer))
	}
	ours := map[string]int{}
	for _, w := range pdfWords(t, data) {
		ours[w]++
	}
	found := 0
	for _, w := range peer {
		if ours[w] > 0 {
			ours[w]--
			found++
		}
	}
	// Words split or joined differently where the two lay lines out
	// differently are the rest.
	t.Logf("%d of pdftotext's %d words read", found, len(peer))
	if found*10 < len(peer)*9 {
		t.Errorf("%d of pdftotext's %d words read", found, len(peer))
	}
}

// TestPaddingAfterTheEnd: NUL bytes or blank lines after a PDF's %%EOF
// (Selenium saved pypdf's selenium-pypdf-issue-177.pdf with 20 KB of
// NULs) made it "incomplete (cut off)": its %%EOF was not in its last
// 2 KB. poppler, qpdf and pdf.js pass over them, and so does dsr now; a
// file cut off is still refused.
func TestPaddingAfterTheEnd(t *testing.T) {
	want := cleanForm(t, "referral-filled.pdf")
	clean := pdfFixture(t, "referral-filled.pdf")
	for name, pad := range map[string][]byte{
		"NULs":        make([]byte, 20<<10),
		"blank lines": bytes.Repeat([]byte("\r\n"), 4<<10),
	} {
		t.Run(name, func(t *testing.T) {
			readsAs(t, append(bytes.Clone(clean), pad...), want)
		})
	}
	t.Run("cut off, then padded", func(t *testing.T) {
		cut := append(bytes.Clone(clean[:len(clean)-4096]), make([]byte, 20<<10)...)
		if _, err := quirksReader().ReadPDF(context.Background(), cut); ReasonOf(err) != ReasonPDFTruncated {
			t.Errorf("read: %v; want %q", err, ReasonPDFTruncated)
		}
	})
	t.Run("pypdf-selenium-pypdf-issue-177.pdf", func(t *testing.T) {
		thirdPartyPDF(t, "pypdf-selenium-pypdf-issue-177.pdf")
	})
}

// TestEncryptionWithoutLength: an RC4 form whose encryption dictionary
// lost its /Length (qpdf's own bad-encryption-length.pdf writes it
// "/Wength 128") was refused as needing a password: the spec's default
// of 40 bits gives a key that /U does not prove. qpdf reads such a file
// with the 128-bit key /U does prove (poppler refuses it); so does dsr
// now, and only where /Length is missing.
func TestEncryptionWithoutLength(t *testing.T) {
	want := cleanForm(t, "consent-filled.pdf")
	enc := reprint(t, t.TempDir(), "qpdf", pdfFixture(t, "consent-filled.pdf"), func(in, out string) []string {
		return []string{"--allow-weak-crypto", in, "--object-streams=disable", "--encrypt", "", "secret-owner", "128", "--use-aes=n", "--", out}
	})
	for _, tc := range []struct {
		name, from, to string
		reason         string
	}{
		{"as written", "", "", ""},
		{"its /Length lost", "/Length 128", "/Wength 128", ""},
		{"a wrong /Length", "/Length 128", "/Length 048", ReasonPDFEncrypted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := enc
			if tc.from != "" {
				i := bytes.Index(enc, []byte("/Filter /Standard"))
				j := bytes.Index(enc[i:], []byte(tc.from))
				if i < 0 || j < 0 || j > 200 {
					t.Fatal("no /Length in the encryption dictionary")
				}
				data = bytes.Clone(enc)
				copy(data[i+j:], tc.to)
			}
			if tc.reason == "" {
				readsAs(t, data, want)
				return
			}
			if _, err := quirksReader().ReadPDF(context.Background(), data); ReasonOf(err) != tc.reason {
				t.Errorf("read: %v; want %q", err, tc.reason)
			}
		})
	}
	t.Run("qpdf-bad-encryption-length.pdf", func(t *testing.T) {
		thirdPartyPDF(t, "qpdf-bad-encryption-length.pdf")
	})
}

// TestAttachedFileIsNoObjectCount: a file attached to a PDF (Acrobat's
// paperclip: a letter or a care plan inside the referral) has its length
// in bytes as /Size in its /Params, which the check for a cross-reference
// /Size over the object limit took for a count of objects: the referral
// was "too complex to read" where qpdf, pdftk and pdftotext read it (Apache
// Tika's testPDF_childAttachments.pdf, a 61,440-byte Word file inside).
// Our forms with a 60,000-byte file attached by qpdf, its objects in
// object streams or not, read as they are; a cross-reference stream that
// does claim more objects than the limit, a file attached or not, is
// still refused.
func TestAttachedFileIsNoObjectCount(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Fatal("qpdf is needed (scripts/install-test-deps.sh installs it)")
	}
	dir := t.TempDir()
	attachment := filepath.Join(dir, "letter.doc")
	if err := os.WriteFile(attachment, bytes.Repeat([]byte("Letter to the GP. "), 60000/18+1), 0o600); err != nil {
		t.Fatal(err)
	}
	attach := func(t *testing.T, in []byte, streams string) []byte {
		t.Helper()
		return reprint(t, dir, "qpdf", in, func(in, out string) []string {
			return []string{in, "--object-streams=" + streams, "--add-attachment", attachment, "--mimetype=application/msword", "--", out}
		})
	}
	for _, name := range []string{"referral-filled.pdf", "consent-flat-qpdf.pdf"} {
		for _, streams := range []string{"generate", "disable"} {
			t.Run(name+", object streams "+streams, func(t *testing.T) {
				data := attach(t, pdfFixture(t, name), streams)
				if !regexp.MustCompile(`/Size 6\d{4}\b`).Match(data) {
					t.Fatal("qpdf wrote no /Size over the limit for the attached file")
				}
				readsAs(t, data, cleanForm(t, name))
			})
		}
	}
	t.Run("a cross-reference stream over the limit", func(t *testing.T) {
		data := attach(t, pdfFixture(t, "referral-filled.pdf"), "generate")
		// The cross-reference stream is the file's last object: what
		// follows it (its /Size) moves no object's offset.
		at := bytes.LastIndex(data, []byte("/Size "))
		end := at + len("/Size ")
		for end < len(data) && data[end] >= '0' && data[end] <= '9' {
			end++
		}
		if obj := bytes.LastIndex(data[:max(at, 0)], []byte(" obj")); obj < 0 || !bytes.Contains(data[obj:at], []byte("/XRef")) {
			t.Fatal("no cross-reference stream's /Size found")
		}
		huge := append(append(append([]byte{}, data[:at]...), "/Size 2000000000"...), data[end:]...)
		if _, err := quirksReader().ReadPDF(context.Background(), huge); ReasonOf(err) != ReasonPDFTooManyObjs {
			t.Errorf("err %v, want %q", err, ReasonPDFTooManyObjs)
		}
	})
}

// lengthsBroken writes a PDF again with every stream's /Length missing
// (the key renamed) or wrong (another number of as many digits), the
// offsets kept, as hand-made and broken producers leave them.
func lengthsBroken(t *testing.T, dir string, in []byte, missing bool, streams string) []byte {
	t.Helper()
	out := reprint(t, dir, "qpdf", in, func(in, out string) []string {
		return []string{in, "--object-streams=disable", "--stream-data=" + streams, out}
	})
	n := 0
	broken := regexp.MustCompile(`/Length (\d+)`).ReplaceAllFunc(out, func(m []byte) []byte {
		n++
		if missing {
			return append([]byte("/Xength"), m[len("/Length"):]...)
		}
		digits := m[len("/Length "):]
		wrong := bytes.Repeat([]byte("1"), len(digits)) // 1, 11, 111...: never the length, but for one byte
		if bytes.Equal(wrong, digits) {
			wrong[0] = '2'
		}
		return append([]byte("/Length "), wrong...)
	})
	if n == 0 {
		t.Fatal("no /Length to break")
	}
	return broken
}

// TestStreamLengthRecovered: a stream whose /Length is missing or wrong
// is read up to its "endstream", as qpdf and poppler recover it; the
// library read none of a stream without /Length and the wrong part of
// one with a wrong /Length, so a page of text was read as a scan (six of
// PDFium's test files, hello_world.pdf among them, which pdftotext reads).
// Our forms with every stream so broken, compressed or not, read as they
// are.
func TestStreamLengthRecovered(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "referral-filled.pdf"} {
		for _, missing := range []bool{true, false} {
			for _, streams := range []string{"uncompress", "compress"} {
				t.Run(fmt.Sprintf("%s, missing %v, %s", name, missing, streams), func(t *testing.T) {
					readsAs(t, lengthsBroken(t, dir, pdfFixture(t, name), missing, streams), cleanForm(t, name))
				})
			}
		}
	}
}

// TestRightsManagedPDF: a PDF protected by Microsoft's rights management
// (as a Microsoft 365 sensitivity label with encryption saves it; Apache
// Tika's testMicrosoftIRMServices.pdf carries one inside a cover PDF)
// has /Filter /MicrosoftIRMServices, whose key comes from the
// organisation's sign-in: said so, not "password-protected, ask the
// sender for an unprotected copy". Made here from our form: its trailer
// given such an encryption dictionary (Tika's, its licence XML left out).
func TestRightsManagedPDF(t *testing.T) {
	data := editQDF(t, t.TempDir(), pdfFixture(t, "referral-flat-qpdf.pdf"), func(q []byte) []byte {
		trailer := bytes.LastIndex(q, []byte("trailer <<"))
		if trailer < 0 {
			t.Fatal("no trailer in the QDF")
		}
		size := regexp.MustCompile(`/Size (\d+)`).FindSubmatch(q[trailer:])
		if size == nil {
			t.Fatal("no /Size in the trailer")
		}
		num := string(size[1]) // the next object's number: fix-qdf wants them in order
		enc := num + " 0 obj\n<< /V 5 /CF << /MicrosoftIRMServices << /CFM /None /Type /CryptFilter >> >> /Filter /MicrosoftIRMServices /StrF /MicrosoftIRMServices /StmF /MicrosoftIRMServices /EncryptMetadata true /PublishingLicense (licence) >>\nendobj\n\n"
		xref := bytes.LastIndex(q[:trailer], []byte("xref\n"))
		out := append(append(append([]byte{}, q[:xref]...), enc...), q[xref:]...)
		return bytes.Replace(out, []byte("trailer <<"), []byte("trailer <<\n  /Encrypt "+num+" 0 R"), 1)
	})
	if !bytes.Contains(data, []byte("/Filter /MicrosoftIRMServices")) {
		t.Fatal("the trailer names no encryption dictionary")
	}
	if _, err := quirksReader().ReadPDF(context.Background(), data); ReasonOf(err) != ReasonPDFRightsManaged {
		t.Errorf("err %v, want %q", err, ReasonPDFRightsManaged)
	}
}

// checksumsBroken writes a PDF again with its streams compressed (in
// object streams or not), then makes every zlib stream's Adler-32
// checksum wrong, the deflate data left whole, as a writer that sums the
// wrong bytes leaves it.
func checksumsBroken(t *testing.T, dir string, in []byte, objectStreams string) []byte {
	t.Helper()
	out := reprint(t, dir, "qpdf", in, func(in, out string) []string {
		return []string{in, "--object-streams=" + objectStreams, "--stream-data=compress", out}
	})
	n := 0
	for at := 0; ; {
		i := bytes.Index(out[at:], []byte("stream"))
		if i < 0 {
			break
		}
		start := at + i + len("stream")
		at = start
		if bytes.HasPrefix(out[start:], []byte("\r\n")) {
			start += 2
		} else if bytes.HasPrefix(out[start:], []byte("\n")) {
			start++
		} else {
			continue // "endstream", or the word in a string
		}
		src := bytes.NewReader(out[start:])
		zr, err := zlib.NewReader(src)
		if err != nil {
			continue
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			continue
		}
		// bytes.Reader is an io.ByteReader: the inflater read no further
		// than the checksum's last byte.
		end := start + int(src.Size()) - src.Len()
		out[end-1] ^= 0xff
		n++
	}
	if n == 0 {
		t.Fatal("no zlib stream to break")
	}
	return out
}

// TestStreamChecksumIgnored: a stream whose zlib checksum is wrong, its
// data whole, reads as it is. Poppler does not check the sum (pdftotext
// reads pdfminer's zen_of_python_corrupted.pdf, whose page content is
// such a stream), where the page was "damaged" here. Our forms with
// every stream's sum so broken, in object streams or not, read as the
// clean forms, and pdftotext reads them as it reads the clean ones.
func TestStreamChecksumIgnored(t *testing.T) {
	dir := t.TempDir()
	t.Run("pdfminer's zen_of_python_corrupted.pdf", func(t *testing.T) {
		// Its text is printed turned a quarter (a2ps, two pages to a
		// sheet), which the layout of a form's page does not put back in
		// lines: the letters read are compared, as many of each.
		data := thirdPartyPDF(t, "pdfminer-zen_of_python_corrupted.pdf")
		letters := func(s string) []rune {
			r := []rune(strings.Join(strings.Fields(s), ""))
			slices.Sort(r)
			return r
		}
		peer := letters(pdftotext(t, dir, data))
		ours := letters(strings.Join(pdfWords(t, data), ""))
		if len(peer) < 500 || !slices.Equal(ours, peer) {
			t.Errorf("read %d letters, pdftotext %d:\n%q\n%q", len(ours), len(peer), string(ours), string(peer))
		}
	})
	for _, name := range []string{"referral-flat-qpdf.pdf", "consent-flat-pdftk.pdf", "referral-filled.pdf"} {
		for _, objectStreams := range []string{"disable", "generate"} {
			t.Run(name+", object streams "+objectStreams, func(t *testing.T) {
				clean := pdfFixture(t, name)
				broken := checksumsBroken(t, dir, clean, objectStreams)
				if peer, want := pdftotext(t, dir, broken), pdftotext(t, dir, clean); peer != want {
					t.Fatalf("pdftotext reads the broken file otherwise:\n%q\nwant\n%q", peer, want)
				}
				readsAs(t, broken, cleanForm(t, name))
			})
		}
	}
}

// pdftotext is poppler's text of data, a peer's reading.
func pdftotext(t *testing.T, dir string, data []byte) string {
	t.Helper()
	tool := needPeer(t, "pdftotext")
	f, err := os.CreateTemp(dir, "peer-*.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(tool, f.Name(), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// identityCMap is Adobe's Identity-H CMap resource as some writers give it
// for a Type 0 font's ToUnicode map (cut to what a reader reads: it maps
// codes to CIDs and names no character).
const identityCMap = `%!PS-Adobe-3.0 Resource-CMap
%%BeginResource: CMap (Identity-H)
/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo 3 dict dup begin
  /Registry (Adobe) def
  /Ordering (Identity) def
  /Supplement 0 def
end def
/CMapName /Identity-H def
/CMapVersion 1.000 def
/CMapType 1 def
/WMode 0 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 begincidrange
<0000> <FFFF> 0
endcidrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
%%EndResource
%%EOF
`

// TestIdentityToUnicode: a Type 0 font whose codes are the characters'
// own numbers, with the Identity-H CMap for its ToUnicode map (by name,
// or as a copy of Adobe's resource, which maps codes to CIDs and names no
// character, beside a CIDToGIDMap that finds the glyphs), read as no text
// at all: "a scan". pdftotext and PDFBox read such a map as the identity
// it claims, and so does dsr now. PDFBox's PDFBOX-4322 (a Calibri name
// field) reads as they read it; our Type 0 referral with such a map reads
// as with its real map, and pdftotext reads it so too. Where the font
// has no CIDToGIDMap, its CIDs are glyph numbers, not characters (pdf.js's
// issue5801.pdf), and the page is left to OCR as before, where pdftotext
// reads noise. A map with entries stays the map.
func TestIdentityToUnicode(t *testing.T) {
	dir := t.TempDir()
	t.Run("PDFBox's PDFBOX-4322-Empty-ToUnicode-reduced.pdf", func(t *testing.T) {
		data := thirdPartyPDF(t, "pdfbox-PDFBOX-4322-Empty-ToUnicode-reduced.pdf")
		peer := strings.Fields(pdftotext(t, dir, data))
		// PDFBox's own expected text (the .pdf.txt beside it) is "Justin".
		if want := []string{"Justin"}; !slices.Equal(peer, want) {
			t.Fatalf("pdftotext reads %q, PDFBox %q", peer, want)
		}
		if ours := pdfWords(t, data); !slices.Equal(ours, peer) {
			t.Errorf("read %q, pdftotext %q", ours, peer)
		}
	})
	t.Run("pdf.js's issue5801.pdf: glyph numbers, no CIDToGIDMap", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "thirdparty", "pdf", "pdfjs-issue5801.pdf"))
		if err != nil {
			t.Fatal(err)
		}
		// Polish weekdays drawn in Arial Black's glyph numbers, three
		// below the letters': pdftotext's "SLĈWHN" is "piątek".
		if peer := pdftotext(t, dir, data); !strings.Contains(peer, "SLĈWHN") {
			t.Fatalf("pdftotext reads %q: not the noise expected", peer)
		}
		if _, err := quirksReader().ReadPDF(context.Background(), data); ReasonOf(err) != ReasonPDFScan {
			t.Errorf("read: %v; want %q, for OCR", err, ReasonPDFScan)
		}
	})
	clean := pdfFixture(t, "type0-table.pdf")
	want := cleanForm(t, "type0-table.pdf")
	toUnicode := regexp.MustCompile(`(?s)(/ToUnicode )(\d+) 0 R`)
	// resource puts Adobe's Identity-H resource for the ToUnicode map.
	resource := func(qdf []byte) []byte {
		m := toUnicode.FindSubmatch(qdf)
		if m == nil {
			t.Fatal("no ToUnicode map")
		}
		stream := regexp.MustCompile(`(?s)(\n` + string(m[2]) + ` 0 obj\n<<\n  /Length \d+ 0 R\n>>\nstream\n)(.*?)(\nendstream)`)
		if !stream.Match(qdf) {
			t.Fatal("the ToUnicode map is not a plain stream")
		}
		return stream.ReplaceAll(qdf, []byte("${1}"+identityCMap+"${3}")) // the map has no "$"
	}
	// cidToGID gives the descendant font a CIDToGIDMap stream (CID n to
	// glyph n, up to the ballot boxes' U+2612), as new objects 10 and 11:
	// the fixture has nine.
	cidToGID := func(qdf []byte) []byte {
		if !bytes.Contains(qdf, []byte("\n9 0 obj\n")) || bytes.Contains(qdf, []byte("\n10 0 obj\n")) {
			t.Fatal("the fixture's objects are not the nine expected")
		}
		qdf = bytes.Replace(qdf, []byte("/Subtype /CIDFontType2\n"), []byte("/CIDToGIDMap 10 0 R\n  /Subtype /CIDFontType2\n"), 1)
		var hex strings.Builder
		for c := range 0x2613 {
			fmt.Fprintf(&hex, "%04X", c)
		}
		obj := "10 0 obj\n<<\n  /Filter /ASCIIHexDecode\n  /Length 11 0 R\n>>\nstream\n" + hex.String() + ">\nendstream\nendobj\n\n11 0 obj\n0\nendobj\n\n"
		i := bytes.LastIndex(qdf, []byte("\nxref\n"))
		return append(append(bytes.Clone(qdf[:i+1]), obj...), qdf[i+1:]...)
	}
	t.Run("Adobe's Identity-H resource, no CIDToGIDMap", func(t *testing.T) {
		edited := editQDF(t, dir, clean, resource)
		if _, err := quirksReader().ReadPDF(context.Background(), edited); ReasonOf(err) != ReasonPDFScan {
			t.Errorf("read: %v; want %q, for OCR", err, ReasonPDFScan)
		}
	})
	for _, tc := range []struct {
		name string
		edit func(qdf []byte) []byte
	}{
		{"the name /Identity-H", func(qdf []byte) []byte {
			return toUnicode.ReplaceAll(qdf, []byte("${1}/Identity-H"))
		}},
		{"Adobe's Identity-H resource and a CIDToGIDMap", func(qdf []byte) []byte { return cidToGID(resource(qdf)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := editQDF(t, dir, clean, tc.edit)
			if peer, clean := pdftotext(t, dir, edited), pdftotext(t, dir, clean); peer != clean {
				t.Fatalf("pdftotext reads the edited file otherwise:\n%q\nwant\n%q", peer, clean)
			}
			readsAs(t, edited, want)
		})
	}
}
