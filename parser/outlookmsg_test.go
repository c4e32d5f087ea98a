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

// TestOutlookMsgMatchesMsgconvert reads the third-party Outlook items in
// testdata/thirdparty/msg (README.md there gives their source) and
// compares every attached file, name and bytes, with the email Debian's
// msgconvert (libemail-outlook-message-perl) makes of the item, embedded
// items' attachments included. msgconvert folds a long file name across
// header lines; names are compared with their spaces collapsed.
func TestOutlookMsgMatchesMsgconvert(t *testing.T) {
	tool := needPeer(t, "msgconvert")
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
	// A small item, written here: the fuzzer's minimiser spends its whole
	// budget on a 60 KB third-party one.
	f.Add(writeMsg("Referral", []tnefFile{{name: "Referral.pdf", data: []byte("%PDF-1.4 form")}}))
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

// cfbNode is a storage (with children) or a stream (with data) of a
// compound file written by writeCFB.
type cfbNode struct {
	name     string
	data     []byte
	children []*cfbNode
	storage  bool
}

// writeCFB writes a version 3 compound file (MS-CFB): 512-byte sectors,
// streams under 4096 bytes in the mini stream. Just enough of a writer to
// make Outlook items for the tests; msgconvert reads them back.
func writeCFB(root *cfbNode) []byte {
	const (
		free, endChain, fatSect, noStream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
	)
	// Directory entries in order, root first; each storage's children
	// sorted as MS-CFB compares names (length, then upper case), linked
	// as a chain of right siblings.
	type entry struct {
		n                  *cfbNode
		left, right, child uint32
		start              uint32
		size               uint64
	}
	var entries []*entry
	var add func(n *cfbNode) uint32
	add = func(n *cfbNode) uint32 {
		e := &entry{n: n, left: noStream, right: noStream, child: noStream}
		entries = append(entries, e)
		id := uint32(len(entries) - 1)
		kids := slices.Clone(n.children)
		slices.SortFunc(kids, func(a, b *cfbNode) int {
			if la, lb := len(utf16.Encode([]rune(a.name))), len(utf16.Encode([]rune(b.name))); la != lb {
				return la - lb
			}
			return strings.Compare(strings.ToUpper(a.name), strings.ToUpper(b.name))
		})
		var prev *entry
		for _, k := range kids {
			kid := add(k)
			if prev == nil {
				e.child = kid
			} else {
				prev.right = kid
			}
			prev = entries[kid]
		}
		return id
	}
	add(root)
	var mini, big []byte
	var miniFAT []uint32
	type bigStream struct {
		e    *entry
		data []byte
	}
	var bigs []bigStream
	for _, e := range entries[1:] {
		if e.n.storage {
			continue
		}
		e.size = uint64(len(e.n.data))
		if len(e.n.data) >= 4096 {
			bigs = append(bigs, bigStream{e, e.n.data})
			continue
		}
		if len(e.n.data) == 0 {
			e.start = endChain
			continue
		}
		e.start = uint32(len(mini) / 64)
		n := (len(e.n.data) + 63) / 64
		for i := range n {
			next := uint32(endChain)
			if i < n-1 {
				next = e.start + uint32(i) + 1
			}
			miniFAT = append(miniFAT, next)
		}
		mini = append(mini, e.n.data...)
		mini = append(mini, make([]byte, n*64-len(e.n.data))...)
	}
	sectors := func(n int) int { return (n + 511) / 512 }
	nDir := sectors(len(entries) * 128)
	nMiniFAT := sectors(len(miniFAT) * 4)
	nMini := sectors(len(mini))
	nBig := 0
	for _, b := range bigs {
		nBig += sectors(len(b.data))
	}
	rest := nDir + nMiniFAT + nMini + nBig
	nFAT := 1
	for nFAT*128 < nFAT+rest {
		nFAT++
	}
	fat := make([]uint32, nFAT*128)
	for i := range fat {
		fat[i] = free
	}
	next := uint32(0)
	chain := func(n int) uint32 {
		if n == 0 {
			return endChain
		}
		start := next
		for i := range n {
			if i < n-1 {
				fat[next] = next + 1
			} else {
				fat[next] = endChain
			}
			next++
		}
		return start
	}
	for range nFAT {
		fat[next] = fatSect
		next++
	}
	dirStart := chain(nDir)
	miniFATStart := chain(nMiniFAT)
	entries[0].start = chain(nMini)
	entries[0].size = uint64(len(mini))
	for _, b := range bigs {
		b.e.start = chain(sectors(len(b.data)))
		big = append(big, b.data...)
		big = append(big, make([]byte, sectors(len(b.data))*512-len(b.data))...)
	}
	le := binary.LittleEndian
	h := make([]byte, 512)
	copy(h, []byte(docxCFBHeader))
	le.PutUint16(h[24:], 0x003E)
	le.PutUint16(h[26:], 0x0003)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], uint32(nFAT))
	le.PutUint32(h[48:], dirStart)
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], miniFATStart)
	le.PutUint32(h[64:], uint32(nMiniFAT))
	le.PutUint32(h[68:], endChain)
	for i := range 109 {
		v := uint32(free)
		if i < nFAT {
			v = uint32(i)
		}
		le.PutUint32(h[76+4*i:], v)
	}
	out := h
	for _, v := range fat {
		out = le.AppendUint32(out, v)
	}
	dir := make([]byte, nDir*512)
	for i, e := range entries {
		d := dir[i*128 : (i+1)*128]
		name := utf16.Encode([]rune(e.n.name))
		for j, c := range name {
			le.PutUint16(d[2*j:], c)
		}
		le.PutUint16(d[64:], uint16(2*len(name)+2))
		switch {
		case i == 0:
			d[66] = 5
		case e.n.storage:
			d[66] = 1
		default:
			d[66] = 2
		}
		d[67] = 1 // black
		le.PutUint32(d[68:], e.left)
		le.PutUint32(d[72:], e.right)
		le.PutUint32(d[76:], e.child)
		le.PutUint32(d[116:], e.start)
		le.PutUint64(d[120:], e.size)
	}
	for i := len(entries); i < nDir*4; i++ {
		d := dir[i*128 : (i+1)*128]
		le.PutUint32(d[68:], noStream)
		le.PutUint32(d[72:], noStream)
		le.PutUint32(d[76:], noStream)
	}
	out = append(out, dir...)
	mf := make([]byte, nMiniFAT*512)
	for i := range mf {
		mf[i] = 0xFF
	}
	for i, v := range miniFAT {
		le.PutUint32(mf[4*i:], v)
	}
	out = append(out, mf...)
	out = append(out, mini...)
	out = append(out, make([]byte, nMini*512-len(mini))...)
	return append(out, big...)
}

// unicodeProp is a PT_UNICODE property stream's bytes, NUL-terminated.
func unicodeProp(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s + "\x00")) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// writeMsg writes an Outlook item with a subject and files attached, the
// way Outlook stores them: a storage per attachment with its bytes, its
// long file name and its attach method (1, by value).
func writeMsg(subject string, files []tnefFile) []byte {
	root := &cfbNode{name: "Root Entry", storage: true}
	root.children = append(root.children,
		&cfbNode{name: "__substg1.0_0037001F", data: unicodeProp(subject)},
		&cfbNode{name: "__substg1.0_1000001F", data: unicodeProp("Forms attached.")},
		&cfbNode{name: "__substg1.0_001A001F", data: unicodeProp("IPM.Note")},
		&cfbNode{name: "__properties_version1.0", data: make([]byte, 32)})
	for i, f := range files {
		props := make([]byte, 8)
		// PR_ATTACH_METHOD (0x3705, PT_LONG), readable, value 1.
		props = binary.LittleEndian.AppendUint32(props, 0x37050003)
		props = binary.LittleEndian.AppendUint32(props, 6)
		props = binary.LittleEndian.AppendUint64(props, 1)
		root.children = append(root.children, &cfbNode{name: fmt.Sprintf("__attach_version1.0_#%08X", i), storage: true, children: []*cfbNode{
			{name: "__substg1.0_37010102", data: f.data},
			{name: "__substg1.0_3707001F", data: unicodeProp(f.name)},
			{name: "__substg1.0_3704001F", data: unicodeProp(fmt.Sprintf("FORM~%d.PDF", i+1))},
			{name: "__properties_version1.0", data: props},
		}})
	}
	return writeCFB(root)
}

// TestParseSamplesInOutlookItem forwards each sample's forms as Outlook
// does "as an attachment": inside an Outlook item (.msg) attached to a new
// email. msgconvert reads the item back as the same files first; then the
// forms must be read exactly as when attached on their own.
func TestParseSamplesInOutlookItem(t *testing.T) {
	tool := needPeer(t, "msgconvert")
	p := New(Options{})
	ctx := context.Background()
	for _, sm := range samplesWithFiles(t) {
		t.Run(sm.name, func(t *testing.T) {
			item := writeMsg("DSR referral", sm.files)
			dir := t.TempDir()
			in, eml := filepath.Join(dir, "item.msg"), filepath.Join(dir, "item.eml")
			if err := os.WriteFile(in, item, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(tool, "--outfile", eml, in).CombinedOutput(); err != nil {
				t.Fatalf("msgconvert: %v\n%s", err, out)
			}
			back, err := os.ReadFile(eml)
			if err != nil {
				t.Fatal(err)
			}
			be, err := readEntity(bytes.NewReader(back))
			if be == nil {
				t.Fatal(err)
			}
			bw := &walker{limits: DefaultLimits()}
			bw.walk(be, 0, false)
			n := 0
			for _, pt := range bw.parts {
				for _, f := range sm.files {
					if pt.filename == f.name && bytes.Equal(pt.data, f.data) {
						n++
					}
				}
			}
			if n != len(sm.files) {
				t.Fatalf("msgconvert read %d of the %d files back", n, len(sm.files))
			}
			want, err := p.Parse(ctx, rebuilt(t, sm.raw, "", sm.files, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Parse(ctx, rebuiltWith(t, "Fwd: DSR referral", "application/vnd.ms-outlook", "DSR referral.msg", item))
			if err != nil {
				t.Fatal(err)
			}
			sameReading(t, got, want)
		})
	}
}
