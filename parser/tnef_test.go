package parser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// needPeer finds a Debian tool the tests compare a reader with (tnef for
// winmail.dat, msgconvert for Outlook items); CI must have it.
func needPeer(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; CI must run this test (scripts/install-test-deps.sh installs it)", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}

// sampleEmail is a sample email's raw bytes, text and attached files.
type sampleEmail struct {
	name  string
	raw   []byte
	body  string
	files []tnefFile
}

// samplesWithFiles reads the sample emails that carry attachments.
func samplesWithFiles(t *testing.T) []sampleEmail {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	var out []sampleEmail
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e, err := readEntity(bytes.NewReader(raw))
		if e == nil {
			t.Fatalf("%s: %v", path, err)
		}
		w := &walker{limits: DefaultLimits()}
		w.walk(e, 0, false)
		s := sampleEmail{name: filepath.Base(filepath.Dir(path)), raw: raw}
		for _, pt := range w.parts {
			if isBody(pt) {
				s.body += string(pt.data)
				continue
			}
			s.files = append(s.files, tnefFile{name: pt.filename, data: pt.data})
		}
		if len(s.files) > 0 {
			out = append(out, s)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d samples have attachments", len(out))
	}
	return out
}

// sameReading asserts that an email whose files came wrapped was read as
// the same email with the files attached on their own.
func sameReading(t *testing.T, got, want *Submission) {
	t.Helper()
	if !reflect.DeepEqual(got.Referral, want.Referral) || !reflect.DeepEqual(got.Consent, want.Consent) {
		t.Errorf("wrapped forms read\n%+v %+v\nwant %+v %+v", got.Referral, got.Consent, want.Referral, want.Consent)
	}
	if len(got.Attachments) != len(want.Attachments) {
		t.Fatalf("%d attachments, want %d", len(got.Attachments), len(want.Attachments))
	}
	for i, a := range got.Attachments {
		wa := want.Attachments[i]
		if a.Filename != wa.Filename || a.Kind != wa.Kind || a.Error != wa.Error {
			t.Errorf("attachment %q %s %q, want %q %s %q", a.Filename, a.Kind, a.Error, wa.Filename, wa.Kind, wa.Error)
		}
	}
	if !reflect.DeepEqual(got.Problems, want.Problems) {
		t.Errorf("problems %q, want %q", got.Problems, want.Problems)
	}
}

// tnefToolFiles extracts a stream with the tnef tool and returns each
// file's name and SHA-256, and whether the tool finished without error.
func tnefToolFiles(t *testing.T, tool string, stream []byte) (map[string]string, bool) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "winmail.dat")
	if err := os.WriteFile(in, stream, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	err := exec.Command(tool, "-C", out, "--overwrite", in).Run()
	ents, rerr := os.ReadDir(out)
	if rerr != nil {
		t.Fatal(rerr)
	}
	files := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return files, err == nil
}

// TestTNEFMatchesTnefTool reads the third-party winmail.dat files in
// testdata/thirdparty/tnef (README.md there gives their source) and compares every file, name and bytes,
// with what Debian's tnef extracts. Where the tool gives up (an assertion
// on a damaged stream, trailing bytes), the reader must still give every
// file the tool gave. One difference is by design: for an embedded OLE
// object the tool writes the 16-byte interface identifier in front of
// the object's storage, the reader the storage alone (so it is detected
// by its own signature); no committed file has one.
func TestTNEFMatchesTnefTool(t *testing.T) {
	tool := needPeer(t, "tnef")
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "tnef", "*.tnef"))
	if len(paths) < 5 {
		t.Fatalf("%d third-party TNEF files", len(paths))
	}
	total := 0
	p := New(Options{})
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			stream, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, toolOK := tnefToolFiles(t, tool, stream)
			files, rerr := readTNEF(stream, 100)
			got := map[string]string{}
			for _, f := range files {
				got[f.name] = fmt.Sprintf("%x", sha256.Sum256(f.data))
			}
			total += len(got)
			if toolOK {
				if rerr != nil {
					t.Errorf("read with error %v where the tool read it cleanly", rerr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("files\n got %v\nwant %v (tnef)", got, want)
				}
				return
			}
			for name, sum := range want {
				if got[name] != sum {
					t.Errorf("%s: got %q, the tool extracted it before failing (%s)", name, got[name], sum)
				}
			}
			t.Logf("the tool failed; the reader gave %d files (the tool %d), error %v", len(got), len(want), rerr)
		})
		t.Run(filepath.Base(path)+"/in an email", func(t *testing.T) {
			// Sent as Outlook sends it, the files are the email's
			// attachments, and none of these is a DSR form.
			stream, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := readTNEF(stream, 100)
			raw := rebuilt(t, []byte("From: a@nhs.net\r\nSubject: files\r\n\r\n"), "Files attached.", nil, stream)
			sub, err := p.Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if sub.Referral != nil || sub.Consent != nil {
				t.Error("a third-party file read as a DSR form")
			}
			if len(files) > 0 && len(sub.Attachments) != len(files) {
				t.Errorf("%d attachments, want the %d files", len(sub.Attachments), len(files))
			}
		})
	}
	if total == 0 {
		t.Fatal("no file read from any stream")
	}
}

// tnefAttr appends one TNEF attribute: level, id, length, value, and
// the value's checksum (the sum of its bytes).
func tnefAttr(b []byte, level byte, id uint32, val []byte) []byte {
	b = append(b, level)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	b = append(b, val...)
	var sum uint16
	for _, c := range val {
		sum += uint16(c)
	}
	return binary.LittleEndian.AppendUint16(b, sum)
}

// writeTNEF writes files as Outlook does in winmail.dat: per file its
// rendering, an 8.3 title, the bytes, and the long file name as a
// Unicode MAPI property. The tool reads it back in the test below.
func writeTNEF(files []tnefFile) []byte {
	b := append(slices.Clone(tnefSignature), 0x01, 0x00)
	b = tnefAttr(b, tnefLevelMessage, 0x00089006, []byte{0, 0, 1, 0}) // attTnefVersion
	b = tnefAttr(b, tnefLevelMessage, 0x00069007, []byte{0xe4, 0x04, 0, 0, 0, 0, 0, 0})
	for i, f := range files {
		b = tnefAttr(b, tnefLevelAttachment, attAttachRendData, []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
		b = tnefAttr(b, tnefLevelAttachment, attAttachTitle, fmt.Appendf(nil, "FORM~%d.PDF\x00", i+1))
		b = tnefAttr(b, tnefLevelAttachment, attAttachData, f.data)
		name := utf16.Encode([]rune(f.name + "\x00"))
		props := binary.LittleEndian.AppendUint32(nil, 1)
		props = binary.LittleEndian.AppendUint16(props, ptUnicode)
		props = binary.LittleEndian.AppendUint16(props, prAttachLongFilename)
		props = binary.LittleEndian.AppendUint32(props, 1)
		props = binary.LittleEndian.AppendUint32(props, uint32(2*len(name)))
		for _, c := range name {
			props = binary.LittleEndian.AppendUint16(props, c)
		}
		for len(props)%4 != 0 {
			props = append(props, 0)
		}
		b = tnefAttr(b, tnefLevelAttachment, attAttachment, props)
	}
	return b
}

// TestParseSamplesInWinmailDat sends each sample's forms as Outlook does
// in its Rich Text format, wrapped in winmail.dat beside the message's
// text, and asserts that they are read exactly as when attached on their
// own. The tnef tool reads the wrapped stream as the same files first,
// so the stream is what a peer takes for Outlook's.
func TestParseSamplesInWinmailDat(t *testing.T) {
	tool := needPeer(t, "tnef")
	p := New(Options{})
	ctx := context.Background()
	for _, sm := range samplesWithFiles(t) {
		t.Run(sm.name, func(t *testing.T) {
			stream := writeTNEF(sm.files)
			toolFiles, ok := tnefToolFiles(t, tool, stream)
			if !ok || len(toolFiles) != len(sm.files) {
				t.Fatalf("the tnef tool read %d files (ok %v) of the %d written", len(toolFiles), ok, len(sm.files))
			}
			for _, f := range sm.files {
				if toolFiles[f.name] != fmt.Sprintf("%x", sha256.Sum256(f.data)) {
					t.Fatalf("the tnef tool did not read %q back", f.name)
				}
			}
			want, err := p.Parse(ctx, rebuilt(t, sm.raw, sm.body, sm.files, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Parse(ctx, rebuilt(t, sm.raw, sm.body, nil, stream))
			if err != nil {
				t.Fatal(err)
			}
			if want.Referral == nil && want.Consent == nil && strings.Contains(sm.name, "happy") {
				t.Fatal("no form read from the plain email")
			}
			sameReading(t, got, want)
		})
	}
}

// rebuilt writes a sample's header, its text, and either its files as
// plain attachments or one winmail.dat, as Outlook sends it.
func rebuilt(t *testing.T, raw []byte, body string, files []tnefFile, winmail []byte) []byte {
	t.Helper()
	var wrap *wrapperPart
	if winmail != nil {
		wrap = &wrapperPart{ctype: "application/ms-tnef", name: "winmail.dat", data: winmail}
	}
	return rebuiltWrapped(t, raw, body, files, wrap)
}

// wrapperPart is an attachment that holds other files: a winmail.dat, a
// zip.
type wrapperPart struct {
	ctype, name string
	data        []byte
}

// rebuiltWrapped is rebuilt with any wrapper attached after the files.
func rebuiltWrapped(t *testing.T, raw []byte, body string, files []tnefFile, wrap *wrapperPart) []byte {
	t.Helper()
	var b bytes.Buffer
	head, _, _ := bytes.Cut(raw, []byte("\n\n"))
	if bytes.Contains(head, []byte("\r\n")) {
		head, _, _ = bytes.Cut(raw, []byte("\r\n\r\n"))
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		k, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(k) {
		case "from", "to", "subject", "date", "message-id", "in-reply-to", "references":
			fmt.Fprintf(&b, "%s\r\n", line)
		}
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
	fmt.Fprintf(&b, "--outer\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s", b64([]byte(body)))
	add := func(ctype, name string, data []byte) {
		fmt.Fprintf(&b, "--outer\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
			ctype, name, name, b64(data))
	}
	for _, f := range files {
		add(typeByName(f.name), f.name, f.data)
	}
	if wrap != nil {
		add(wrap.ctype, wrap.name, wrap.data)
	}
	b.WriteString("--outer--\r\n")
	return b.Bytes()
}

// TestTNEFDamage: a winmail.dat cut short gives the files before the
// cut with a problem noted; one with nothing readable stays an
// unsupported attachment (the referrer is asked to send the forms
// again), saying why.
func TestTNEFDamage(t *testing.T) {
	pdfA, pdfB := []byte("%PDF-1.4 first"), []byte("%PDF-1.4 second")
	stream := writeTNEF([]tnefFile{{name: "Referral.pdf", data: pdfA}, {name: "Consent.pdf", data: pdfB}})
	secondAt := bytes.Index(stream, pdfB)
	tests := []struct {
		name      string
		stream    []byte
		files     []string
		wantErr   bool
		walkNotes int
	}{
		{"whole", stream, []string{"Referral.pdf", "Consent.pdf"}, false, 0},
		{"cut inside the second file", stream[:secondAt+4], []string{"Referral.pdf"}, true, 1},
		{"cut inside the first attribute", stream[:20], nil, true, 0},
		{"signature only", slices.Clone(tnefSignature), nil, true, 0},
		{"a bad level byte", append(slices.Clone(stream[:6]), 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), nil, true, 0},
		{"trailing padding", append(slices.Clone(stream), 0, 0, 0), []string{"Referral.pdf", "Consent.pdf"}, false, 0},
		{"a length past the end", append(slices.Clone(stream[:6]), 0x02, 0x02, 0x90, 0x06, 0x00, 0xff, 0xff, 0xff, 0x7f), nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := readTNEF(tt.stream, 10)
			var names []string
			for _, f := range files {
				names = append(names, f.name)
			}
			if !slices.Equal(names, tt.files) || (err != nil) != tt.wantErr {
				t.Fatalf("files %q, error %v; want %q, error %v", names, err, tt.files, tt.wantErr)
			}
			w := &walker{limits: DefaultLimits()}
			w.unwrap(&part{mediaType: "application/ms-tnef", filename: "winmail.dat", data: tt.stream}, "winmail.dat", readTNEF)
			if len(w.problems) != tt.walkNotes {
				t.Errorf("problems %q, want %d", w.problems, tt.walkNotes)
			}
			switch {
			case len(tt.files) > 0 && len(w.parts) != len(tt.files):
				t.Errorf("%d parts, want the %d files", len(w.parts), len(tt.files))
			case len(tt.files) == 0 && tt.wantErr && (len(w.parts) != 1 || w.parts[0].filename != "winmail.dat"):
				t.Errorf("parts %+v: want winmail.dat kept", w.parts)
			}
			if len(tt.files) == 0 && tt.wantErr {
				// The referrer is asked to send the forms again, and told why.
				a := New(Options{}).readAttachment(context.Background(), w.parts[0])
				if a.Kind != KindUnsupported || !strings.Contains(a.Error, "winmail.dat, which could not be opened (tnef: ") {
					t.Errorf("attachment %s %q, want unsupported, saying why", a.Kind, a.Error)
				}
			}
		})
	}
	// Fewer files than the stream has: the limit holds.
	if files, _ := readTNEF(stream, 1); len(files) != 1 {
		t.Errorf("limit 1 gave %d files", len(files))
	}
}

// FuzzReadTNEF: any stream is read in bounded time without a panic, and
// every file is a piece of the stream (nothing is made up or inflated).
func FuzzReadTNEF(f *testing.F) {
	f.Add(writeTNEF([]tnefFile{{name: "Referral.pdf", data: []byte("%PDF-1.4")}}))
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "tnef", "*two-files*.tnef"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		files, _ := readTNEF(d, 30)
		if len(files) > 30 {
			t.Fatalf("%d files over the limit", len(files))
		}
		total := 0
		for _, x := range files {
			total += len(x.data)
		}
		if total > len(d) {
			t.Fatalf("%d bytes of files from a %d-byte stream", total, len(d))
		}
	})
}
