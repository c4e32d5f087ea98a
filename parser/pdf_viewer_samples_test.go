package parser

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseSamplesSavedByViewers takes the sample emails, saves each PDF
// form in them as viewers, qpdf and MuPDF save it (object streams,
// linearized, owner-password encryption, an incremental update of the other
// cross-reference form, a hybrid-reference update; MuPDF's collected,
// hex-encoded, sanitised and re-drawn files) and asserts that the email is read exactly as
// with the clean forms.
func TestParseSamplesSavedByViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qpdf")
	}
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Fatal("qpdf is needed (scripts/install-test-deps.sh installs it)")
	}
	needPeer(t, "mutool")
	dir := t.TempDir()
	qpdf := func(args ...string) func(t *testing.T, in []byte) []byte {
		return func(t *testing.T, in []byte) []byte {
			src, dst := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
			if err := os.WriteFile(src, in, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("qpdf", append(append(args[:len(args):len(args)], src), dst)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("qpdf %v: %v\n%s", args, err, b)
			}
			out, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	// MuPDF's writer (mutool clean; PyMuPDF, which many web tools that
	// edit PDFs are built on, writes the same way).
	mutool := func(args ...string) func(t *testing.T, in []byte) []byte {
		return func(t *testing.T, in []byte) []byte {
			return reprint(t, dir, "mutool", in, func(in, out string) []string {
				return append(append([]string{"clean"}, args...), in, out)
			})
		}
	}
	variants := []struct {
		name string
		save func(t *testing.T, in []byte) []byte
	}{
		{"object streams", qpdf("--object-streams=generate")},
		// "Fast web view": a first-page section at the start of the file.
		{"linearized", qpdf("--linearize")},
		{"linearized, object streams", qpdf("--linearize", "--object-streams=generate")},
		{"owner password RC4-40", qpdf("--allow-weak-crypto", "--encrypt", "", "owner", "40", "--")},
		{"owner password AES-128", qpdf("--encrypt", "", "owner", "128", "--use-aes=y", "--")},
		{"owner password AES-256", qpdf("--encrypt", "", "owner", "256", "--")},
		// Acrobat 9's AES-256 (R5), and RC4 through a V4 crypt filter.
		{"owner password AES-256 R5", qpdf("--allow-weak-crypto", "--encrypt", "", "owner", "256", "--force-R5", "--")},
		{"owner password RC4-128 crypt filter", qpdf("--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--force-V4", "--")},
		{"incremental update, the other xref form", func(t *testing.T, in []byte) []byte { return appendUpdate(t, in, false) }},
		{"hybrid-reference update", func(t *testing.T, in []byte) []byte { return appendUpdate(t, in, true) }},
		// (MuPDF 1.21's linearized files are left out: their hint tables
		// fail qpdf's check, though they read as the clean form.)
		{"MuPDF, objects collected and merged, streams compressed", mutool("-gggg", "-z")},
		{"MuPDF, streams in ASCII hex", mutool("-a")},
		{"MuPDF, content streams cleaned and sanitised", mutool("-c", "-s")},
		{"MuPDF, appearance streams made again", mutool("-AA")},
	}
	samples, _ := filepath.Glob(filepath.Join("..", "testdata", "samples", "*", "message.eml"))
	p := New(Options{})
	ctx := context.Background()
	for _, path := range samples {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		clean, pdfs := rebuildEmail(t, raw, nil)
		if pdfs == 0 {
			continue
		}
		want, err := p.Parse(ctx, clean)
		if err != nil {
			t.Fatal(err)
		}
		if want.Referral == nil && want.Consent == nil {
			t.Fatalf("%s: no form read from the clean email", path)
		}
		for _, v := range variants {
			t.Run(filepath.Base(filepath.Dir(path))+"/"+v.name, func(t *testing.T) {
				saved, _ := rebuildEmail(t, raw, func(pdf []byte) []byte {
					out := v.save(t, pdf)
					check := filepath.Join(dir, "check.pdf")
					if err := os.WriteFile(check, out, 0o600); err != nil {
						t.Fatal(err)
					}
					// The saved file is valid: qpdf reads it without a warning.
					if b, err := exec.Command("qpdf", "--check", check).CombinedOutput(); err != nil {
						t.Fatalf("qpdf --check on the saved form: %v\n%s", err, b)
					}
					return out
				})
				got, err := p.Parse(ctx, saved)
				if err != nil {
					t.Fatal(err)
				}
				sameForms(t, got, want)
			})
		}
	}
}

// rebuildEmail writes an email again as one multipart/mixed message of its
// leaf parts, each base64, passing every PDF through save (nil: as it is).
// Rebuilding the clean email the same way keeps the comparison to the PDFs.
func rebuildEmail(t *testing.T, raw []byte, save func([]byte) []byte) ([]byte, int) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := multipart.NewWriter(&out)
	pdfs := 0
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		ct, params, _ := mime.ParseMediaType(get("Content-Type"))
		if strings.HasPrefix(ct, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(part.Header, part)
			}
		}
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(get("Content-Transfer-Encoding"), "base64") {
			if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), "")); err != nil {
				t.Fatal(err)
			}
		} else if strings.EqualFold(get("Content-Transfer-Encoding"), "quoted-printable") {
			if data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data))); err != nil {
				t.Fatal(err)
			}
		}
		if bytes.HasPrefix(data, []byte("%PDF-")) {
			pdfs++
			if save != nil {
				data = save(data)
			}
		}
		ph := map[string][]string{"Content-Type": {get("Content-Type")}, "Content-Transfer-Encoding": {"base64"}}
		if d := get("Content-Disposition"); d != "" {
			ph["Content-Disposition"] = []string{d}
		}
		pw, err := w.CreatePart(ph)
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.StdEncoding.EncodeToString(data)
		for len(enc) > 76 {
			fmt.Fprintf(pw, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(pw, "%s\r\n", enc)
	}
	walk(msg.Header, msg.Body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer
	for _, k := range []string{"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-Id", "In-Reply-To", "References"} {
		if v := msg.Header.Get(k); v != "" {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&head, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n", w.Boundary())
	return append(head.Bytes(), out.Bytes()...), pdfs
}

// appendUpdate appends an incremental update that defines the catalog
// again, unchanged: in the other cross-reference form than the file's
// last section (an xref stream after a table, as pdf.js writes; a table
// after a stream), or as a hybrid-reference section (the catalog in an
// object stream named by /XRefStm, with the same /Prev as the table).
func appendUpdate(t *testing.T, in []byte, hybrid bool) []byte {
	t.Helper()
	x, err := readXrefChain(in, DefaultLimits().MaxPDFObjects)
	if err != nil {
		t.Fatal(err)
	}
	root, ok := x.trailer["Root"].(pdfRef)
	if !ok {
		t.Fatal("no /Root")
	}
	f := &pdfFile{data: in, x: x, objstms: map[uint32]*objStm{}, budget: pdfContentBudget, loading: map[uint32]bool{}}
	cat, err := f.load(root.num)
	if err != nil {
		t.Fatal(err)
	}
	catBytes := appendPDFObj(nil, cat, 0)
	i := bytes.LastIndex(in, []byte("startxref"))
	l := pdfLexer{data: in, pos: i + len("startxref")}
	prev, _ := l.token().(int64)
	size, _ := pdfInt(x.trailer["Size"])
	lastIsTable := bytes.HasPrefix(bytes.TrimLeft(in[prev:], " \r\n"), []byte("xref"))
	common := pdfDict{"Root": root, "Prev": prev}
	for _, k := range []pdfName{"Info", "ID"} {
		if v, ok := x.trailer[k]; ok {
			common[k] = v
		}
	}
	out := append(bytes.Clone(in), '\n')
	xrefStream := func(num int64, rows [][3]int64, index pdfArray, extra pdfDict) {
		var data []byte
		for _, r := range rows {
			data = append(data, byte(r[0]), byte(r[1]>>24), byte(r[1]>>16), byte(r[1]>>8), byte(r[1]), byte(r[2]>>8), byte(r[2]))
		}
		d := pdfDict{"Type": pdfName("XRef"), "W": pdfArray{int64(1), int64(4), int64(2)}, "Index": index, "Length": int64(len(data))}
		for k, v := range extra {
			d[k] = v
		}
		out = fmt.Appendf(out, "%d 0 obj\n", num)
		out = appendPDFObj(out, d, 0)
		out = append(out, "\nstream\n"...)
		out = append(out, data...)
		out = append(out, "\nendstream\nendobj\n"...)
	}
	switch {
	case hybrid:
		stm, xs := size, size+1
		head := fmt.Sprintf("%d 0\n", root.num)
		stmOff := int64(len(out))
		body := append([]byte(head), catBytes...)
		out = fmt.Appendf(out, "%d 0 obj\n<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n", stm, len(head), len(body))
		out = append(out, body...)
		out = append(out, "\nendstream\nendobj\n"...)
		xsOff := int64(len(out))
		xrefStream(xs, [][3]int64{{2, stm, 0}}, pdfArray{int64(root.num), int64(1)}, pdfDict{"Size": size + 2, "Prev": prev})
		tableOff := len(out)
		out = fmt.Appendf(out, "xref\n0 1\n0000000000 65535 f \n%d 2\n%010d 00000 n \n%010d 00000 n \n", stm, stmOff, xsOff)
		tr := pdfDict{"Size": size + 2, "XRefStm": xsOff}
		for k, v := range common {
			tr[k] = v
		}
		out = append(out, "trailer\n"...)
		out = appendPDFObj(out, tr, 0)
		out = fmt.Appendf(out, "\nstartxref\n%d\n%%%%EOF\n", tableOff)
	case lastIsTable:
		catOff := int64(len(out))
		out = fmt.Appendf(out, "%d %d obj\n%s\nendobj\n", root.num, root.gen, catBytes)
		xsOff := int64(len(out))
		extra := pdfDict{"Size": size + 1}
		for k, v := range common {
			extra[k] = v
		}
		xrefStream(size, [][3]int64{{1, catOff, int64(root.gen)}, {1, xsOff, 0}}, pdfArray{int64(root.num), int64(1), size, int64(1)}, extra)
		out = fmt.Appendf(out, "startxref\n%d\n%%%%EOF\n", xsOff)
	default:
		catOff := len(out)
		out = fmt.Appendf(out, "%d %d obj\n%s\nendobj\n", root.num, root.gen, catBytes)
		tableOff := len(out)
		out = fmt.Appendf(out, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d %05d n \ntrailer\n", root.num, catOff, root.gen)
		tr := pdfDict{"Size": size}
		for k, v := range common {
			tr[k] = v
		}
		out = appendPDFObj(out, tr, 0)
		out = fmt.Appendf(out, "\nstartxref\n%d\n%%%%EOF\n", tableOff)
	}
	return out
}
