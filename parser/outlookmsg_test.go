package parser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestOutlookMsgMatchesMsgconvert reads the third-party Outlook items in
// testdata/thirdparty/msg (README.md there gives their source) and
// compares every attached file, name and bytes, with the email Debian's
// msgconvert (libemail-outlook-message-perl) makes of the item, embedded
// items' attachments included. msgconvert folds a long file name across
// header lines; names are compared with their spaces collapsed.
func TestOutlookMsgMatchesMsgconvert(t *testing.T) {
	tool, err := exec.LookPath("msgconvert")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("msgconvert is not installed; CI must run this test (scripts/install-test-deps.sh installs it)")
		}
		t.Skip("msgconvert is not installed")
	}
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "msg", "*.msg"))
	if len(paths) < 3 {
		t.Fatalf("%d third-party Outlook items", len(paths))
	}
	p := New(Options{})
	total := 0
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			item, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !isOutlookMsg(item) {
				t.Fatal("not recognised as an Outlook item")
			}
			eml := filepath.Join(t.TempDir(), "item.eml")
			if out, err := exec.Command(tool, "--outfile", eml, path).CombinedOutput(); err != nil {
				t.Fatalf("msgconvert: %v\n%s", err, out)
			}
			raw, err := os.ReadFile(eml)
			if err != nil {
				t.Fatal(err)
			}
			e, err := readEntity(bytes.NewReader(raw))
			if e == nil {
				t.Fatalf("msgconvert's email: %v", err)
			}
			w := &walker{limits: DefaultLimits()}
			w.walk(e, 0, false)
			want := map[string]string{}
			for _, pt := range w.parts {
				if pt.filename != "" {
					want[strings.Join(strings.Fields(pt.filename), " ")] = fmt.Sprintf("%x", sha256.Sum256(pt.data))
				}
			}
			files, err := readOutlookMsg(item, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range files {
				got[strings.Join(strings.Fields(f.name), " ")] = fmt.Sprintf("%x", sha256.Sum256(f.data))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("files\n got %v\nwant %v (msgconvert)", got, want)
			}
			total += len(got)

			// Attached to an email, the item's files are the email's
			// attachments, and none of these is a DSR form.
			sub, err := p.Parse(context.Background(), rebuiltWith(t, "Fwd: files", "application/vnd.ms-outlook", "forwarded.msg", item))
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) != len(files) || sub.Referral != nil || sub.Consent != nil {
				t.Errorf("%d attachments (want %d), forms %v %v", len(sub.Attachments), len(files), sub.Referral, sub.Consent)
			}
			for i, a := range sub.Attachments {
				if a.Filename != sanitiseFilename(files[i].name) || a.Size != int64(len(files[i].data)) {
					t.Errorf("attachment %d: %q %d bytes, want %q %d", i, a.Filename, a.Size, files[i].name, len(files[i].data))
				}
			}
		})
	}
	if total < 4 {
		t.Fatalf("only %d files in all the items", total)
	}
}

// rebuiltWith is an email with a line of text and one attachment.
func rebuiltWith(t *testing.T, subject, ctype, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@nhs.net\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n", subject)
	b.WriteString("--outer\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n")
	fmt.Fprintf(&b, "--outer\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s--outer--\r\n",
		ctype, name, name, b64(data))
	return b.Bytes()
}

// TestOutlookMsgDamage: an Outlook item cut short or with its directory
// broken is an unsupported attachment that says why, never a panic or a
// lost email; a Word file (a compound file without MAPI streams) is not
// taken for one.
func TestOutlookMsgDamage(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "msg", "*InnerMail*.msg"))
	if len(paths) != 1 {
		t.Fatalf("fixture: %v", paths)
	}
	item, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{})
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"cut to its header", item[:600]},
		{"cut in half", item[:len(item)/2]},
		{"directory sector zeroed", func() []byte {
			d := bytes.Clone(item)
			// The first directory sector is named in the header (offset 48).
			sec := int(d[48]) | int(d[49])<<8 | int(d[50])<<16
			off := 512 * (sec + 1)
			clear(d[off : off+512])
			return d
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := p.Parse(context.Background(), rebuiltWith(t, "Fwd", "application/octet-stream", "item.msg", tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) == 0 {
				t.Fatal("the item was lost")
			}
			for _, a := range sub.Attachments {
				if a.Kind == KindUnsupported && !strings.Contains(a.Error, "Outlook item (.msg) could not be opened (outlook item: ") {
					t.Errorf("unsupported, saying %q", a.Error)
				}
			}
			if len(sub.Attachments) == 1 && sub.Attachments[0].Kind != KindUnsupported {
				t.Errorf("one attachment %s %q, want the item unsupported", sub.Attachments[0].Kind, sub.Attachments[0].Error)
			}
		})
	}
	docs, _ := filepath.Glob(filepath.Join("testdata", "docx", "*"))
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err == nil && isOutlookMsg(b) {
			t.Errorf("%s taken for an Outlook item", d)
		}
	}
}

// FuzzReadOutlookMsg: any compound file is read in bounded time and
// memory without a panic, and gives no more bytes than it holds.
func FuzzReadOutlookMsg(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "thirdparty", "msg", "*TxtSample*.msg"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		files, _ := readOutlookMsg(d, 30)
		total := 0
		for _, x := range files {
			total += len(x.data)
		}
		if len(files) > 30 || total > len(d) {
			t.Fatalf("%d files, %d bytes from %d", len(files), total, len(d))
		}
	})
}
