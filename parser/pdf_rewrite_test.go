package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// readRaw reads a PDF fixture in process.
func readRaw(t *testing.T, name string) ([]*RawForm, error) {
	t.Helper()
	return NewInProcessPDFReader(Limits{PDFTimeout: 5 * time.Second}).ReadPDF(context.Background(), pdfFixture(t, name))
}

// TestReadPDFViewerSaves reads our forms saved as viewers save them and
// asserts that what is read is exactly what the clean form gives, with the
// referrer's later changes where an incremental save made some.
func TestReadPDFViewerSaves(t *testing.T) {
	tests := []struct {
		file, clean string
		changes     map[string]string // field name: the newest value
	}{
		// pdf.js (Firefox): an xref stream appended after a classic table.
		{"viewer/pdfjs-referral.pdf", "referral-filled.pdf", map[string]string{"cyp_surname": "Nguyen-Byrne", "rag_rating": "Red"}},
		// Acrobat: a classic section with /XRefStm, the same /Prev as its
		// stream, the changed fields in an object stream.
		{"viewer/hybrid-consent.pdf", "consent-filled.pdf", map[string]string{"bid_decision_maker": "Dr Ada Ó Brien", "bid_role": "Consultant"}},
		{"viewer/objstm-consent.pdf", "consent-filled.pdf", nil},
		// Owner password only: opened with the empty user password.
		{"encrypted-rc4-40.pdf", "consent-filled.pdf", nil},
		{"viewer/owner-rc4-128.pdf", "consent-filled.pdf", nil},
		{"encrypted-aes128.pdf", "consent-filled.pdf", nil},
		{"encrypted-aes256.pdf", "consent-filled.pdf", nil},
		{"viewer/owner-aes256-objstm.pdf", "consent-filled.pdf", nil},
		// Syntax viewers accept, on the label-inline consent.
		{"viewer/filters.pdf", "label-inline.pdf", nil},
		{"viewer/escapes.pdf", "label-inline.pdf", nil},
		{"viewer/deep-pages.pdf", "label-inline.pdf", nil},
		{"viewer/duplicate-page.pdf", "label-inline.pdf", nil},
		{"viewer/inline-image.pdf", "label-inline.pdf", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			want, err := readRaw(t, tc.clean)
			if err != nil || len(want) != 1 {
				t.Fatalf("clean %s: forms %d, err %v", tc.clean, len(want), err)
			}
			for name, v := range tc.changes {
				old, ok := want[0].ByName[name]
				if !ok || old == v {
					t.Fatalf("clean form's %s = %q (present %v): the save must change it", name, old, ok)
				}
				want[0].ByName[name] = v
			}
			got, err := readRaw(t, tc.file)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read %s:\n%s", tc.file, rawFormDiff(got, want))
			}
		})
	}
}

// rawFormDiff says how two readings differ.
func rawFormDiff(got, want []*RawForm) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d forms, want %d", len(got), len(want))
	}
	var b bytes.Buffer
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Title != w.Title || g.Source != w.Source {
			fmt.Fprintf(&b, "form %d: %q/%q/%q, want %q/%q/%q\n", i, g.Kind, g.Title, g.Source, w.Kind, w.Title, w.Source)
		}
		keys := slices.Sorted(maps.Keys(w.ByName))
		for _, k := range slices.Sorted(maps.Keys(g.ByName)) {
			if _, ok := w.ByName[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			gv, gok := g.ByName[k]
			wv, wok := w.ByName[k]
			if gv != wv || gok != wok {
				fmt.Fprintf(&b, "form %d %s = %q (%v), want %q (%v)\n", i, k, gv, gok, wv, wok)
			}
		}
		if !reflect.DeepEqual(g.ByLabel, w.ByLabel) {
			fmt.Fprintf(&b, "form %d labels %q\nwant %q\n", i, g.ByLabel, w.ByLabel)
		}
	}
	return b.String()
}

func TestReadPDFViewerUnreadable(t *testing.T) {
	tests := []struct{ file, reason string }{
		// A password is needed to open them.
		{"viewer/user-aes256.pdf", ReasonPDFEncrypted},
		{"viewer/user-rc4-40.pdf", ReasonPDFEncrypted},
		// Broken, with /Encrypt bytes in them: damaged, not encrypted.
		{"viewer/damaged-encrypted.pdf", ReasonPDFDamaged},
		{"viewer/damaged-encrypt-text.pdf", ReasonPDFDamaged},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			forms, err := readRaw(t, tc.file)
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (forms %d), want UnreadableError", err, len(forms))
			}
			if ue.Reason != tc.reason {
				t.Errorf("reason = %q, want %q (%v)", ue.Reason, tc.reason, ue.Err)
			}
		})
	}
}

// TestReadPDFViewerSavesInChild reads a rewritten file through the child
// process, as dsr does.
func TestReadPDFViewerSavesInChild(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	self := []string{os.Args[0], "-test.run=^$"}
	r := NewChildPDFReader(self, Limits{}, childEnv+"=serve")
	forms, err := r.ReadPDF(context.Background(), pdfFixture(t, "viewer/hybrid-consent.pdf"))
	if err != nil || len(forms) != 1 || forms[0].ByName["bid_decision_maker"] != "Dr Ada Ó Brien" {
		t.Fatalf("forms %+v, err %v", forms, err)
	}
	_, err = r.ReadPDF(context.Background(), pdfFixture(t, "viewer/user-aes256.pdf"))
	if ReasonOf(err) != ReasonPDFEncrypted {
		t.Fatalf("user-password file: err = %v", err)
	}
}

// TestRewriteAgreesWithQPDF checks the rewrite against qpdf: every object
// qpdf reads from a file (decrypted, streams decoded) is the same object
// qpdf reads from our rewrite of it, and qpdf finds nothing wrong in the
// rewrite; both with every object parsed and written again and with the
// plainly written objects of object streams copied as they are.
func TestRewriteAgreesWithQPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qpdf")
	}
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Fatal("qpdf is needed (scripts/install-test-deps.sh installs it)")
	}
	for _, name := range []string{
		"viewer/pdfjs-referral.pdf", "viewer/hybrid-consent.pdf", "viewer/objstm-consent.pdf",
		"encrypted-rc4-40.pdf", "viewer/owner-rc4-128.pdf", "encrypted-aes128.pdf", "encrypted-aes256.pdf",
		"viewer/owner-aes256-objstm.pdf", "viewer/filters.pdf", "viewer/escapes.pdf", "viewer/inline-image.pdf",
		"engines/pdflib-referral.pdf", "../thirdparty/irs-f1040-2025.pdf", "../thirdparty/pdfcpu-radiobuttons-vert.pdf",
		// pdfTeX's object streams, strings with escapes among them.
		"../../../testdata/thirdparty/pdf/shared-mime-info-spec.pdf",
	} {
		for _, copyPlain := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/copying=%v", name, copyPlain), func(t *testing.T) {
				data := pdfFixture(t, name)
				x, err := readXrefChain(data, DefaultLimits().MaxPDFObjects)
				if err != nil {
					t.Fatal(err)
				}
				clean, _, err := rewriteCopying(context.Background(), data, x, pdfContentBudget, copyPlain)
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "rewritten.pdf")
				if err := os.WriteFile(out, clean, 0o600); err != nil {
					t.Fatal(err)
				}
				if b, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil {
					t.Fatalf("qpdf --check on the rewrite: %v\n%s", err, b)
				}
				want := qpdfObjects(t, filepath.Join("testdata", "pdf", name))
				got := qpdfObjects(t, out)
				n := 0
				for key, w := range want {
					if isObjectContainer(w) {
						continue
					}
					n++
					g, ok := got[key]
					if !ok {
						t.Errorf("%s missing from the rewrite", key)
						continue
					}
					if !reflect.DeepEqual(stripStreamKeys(g), stripStreamKeys(w)) {
						t.Errorf("%s differs:\n got %.300v\nwant %.300v", key, g, w)
					}
				}
				t.Logf("%d objects agree", n)
				if n < 5 {
					t.Fatalf("qpdf read only %d objects", n)
				}
			})
		}
	}
}

// qpdfObjects is qpdf's JSON of a file's objects, streams decoded.
func qpdfObjects(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := exec.Command("qpdf", "--json=2", "--json-key=qpdf", "--decode-level=generalized", "--json-stream-data=inline", path).Output()
	if err != nil {
		t.Fatalf("qpdf --json %s: %v", path, err)
	}
	var doc struct {
		QPDF []map[string]any `json:"qpdf"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.QPDF) != 2 {
		t.Fatalf("qpdf json: %v", err)
	}
	objs := doc.QPDF[1]
	delete(objs, "trailer")
	return objs
}

// isObjectContainer reports an object stream or xref stream, which the
// rewrite dissolves.
func isObjectContainer(o any) bool {
	s, _ := o.(map[string]any)["stream"].(map[string]any)
	d, _ := s["dict"].(map[string]any)
	return d["/Type"] == "/ObjStm" || d["/Type"] == "/XRef"
}

// stripStreamKeys drops what a rewrite may change in a stream's dictionary:
// its length and, once decoded, its filters.
func stripStreamKeys(o any) any {
	m, _ := o.(map[string]any)
	s, ok := m["stream"].(map[string]any)
	if !ok {
		return o
	}
	d, _ := s["dict"].(map[string]any)
	c := map[string]any{}
	for k, v := range d {
		if k != "/Length" && k != "/Filter" && k != "/DecodeParms" {
			c[k] = v
		}
	}
	return map[string]any{"dict": c, "data": s["data"]}
}

// BenchmarkRewriteDecision measures what every PDF now pays to decide
// whether it needs the rewrite: its cross-reference chain read and its
// bytes scanned.
func BenchmarkRewriteDecision(b *testing.B) {
	for _, name := range []string{"referral-filled.pdf", "referral-flat-qpdf.pdf", "combined-flat.pdf"} {
		data := pdfFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			loopCPU(b, func() {
				x, err := readXrefChain(data, DefaultLimits().MaxPDFObjects)
				names := scanNames(data, int64(DefaultLimits().MaxPDFObjects))
				if err != nil || rewriteReason(data, x, names) != "" {
					b.Fatalf("%v: %q", err, rewriteReason(data, x, names))
				}
			})
		})
	}
}

// BenchmarkReadPDFRewrite measures what the rewrite costs: each form read
// as the reader reads it (the library alone for a plain file, the rewrite
// first for a viewer's save), and, for comparison, plain files forced
// through the rewrite.
func BenchmarkReadPDFRewrite(b *testing.B) {
	for _, tc := range []struct {
		name   string
		forced bool
	}{
		{"consent-filled.pdf", false},
		{"consent-filled.pdf", true},
		{"viewer/objstm-consent.pdf", false},
		{"viewer/objstm-consent.pdf", true},
		{"viewer/hybrid-consent.pdf", false},
		{"encrypted-aes128.pdf", false},
		{"viewer/owner-aes256-objstm.pdf", false},
		{"referral-filled.pdf", false},
		{"viewer/pdfjs-referral.pdf", false},
	} {
		data := pdfFixture(b, tc.name)
		label := tc.name
		if tc.forced {
			label = "forced-rewrite/" + label
		}
		b.Run(label, func(b *testing.B) {
			r := NewInProcessPDFReader(Limits{}).(*inProcessPDF)
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			loopCPU(b, func() {
				var err error
				if tc.forced {
					var x *xrefInfo
					var clean []byte
					if x, err = readXrefChain(data, r.limits.MaxPDFObjects); err == nil {
						if clean, err = rewritePDF(ctx, data, x, pdfContentBudget); err == nil {
							_, err = r.readWithLibrary(ctx, clean)
						}
					}
				} else {
					_, err = r.ReadPDF(ctx, data)
				}
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// FuzzRewritePDF throws arbitrary bytes at the cross-reference reader and
// the rewrite: they must return, and what the rewrite writes must read
// back through a chain of its own and rewrite to the same bytes; the
// rewrite that copies plainly written objects must give a chain too.
func FuzzRewritePDF(f *testing.F) {
	for _, name := range []string{"label-inline.pdf", "prev-loop.pdf", "viewer/filters.pdf", "viewer/escapes.pdf", "viewer/inline-image.pdf", "viewer/deep-pages.pdf", "viewer/objstm-consent.pdf", "viewer/hybrid-consent.pdf"} {
		f.Add(pdfFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxObjs = 5000
		x, err := readXrefChain(data, maxObjs)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := rewritePDF(ctx, data, x, 1<<20)
		if err != nil {
			return
		}
		if len(out) > 2*len(data)+(1<<20)+64*len(x.entries)+1024 {
			t.Fatalf("rewrite of %d bytes wrote %d", len(data), len(out))
		}
		x2, err := readXrefChain(out, maxObjs)
		if err != nil {
			t.Fatalf("the rewrite's own chain: %v", err)
		}
		again, err := rewritePDF(ctx, out, x2, 1<<20)
		if err != nil {
			t.Fatalf("rewriting the rewrite: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("rewriting the rewrite changed it:\n%q\n%q", out, again)
		}
		// Copying objects as written gives a file with a chain of its own
		// as well, and the same file when there was nothing to copy.
		copying, copied, err := rewriteCopying(ctx, data, x, 1<<20, true)
		if err != nil {
			t.Fatalf("the copying rewrite failed where the other did not: %v", err)
		}
		if !copied && !bytes.Equal(copying, out) {
			t.Fatalf("nothing copied, and yet the rewrites differ")
		}
		if _, err := readXrefChain(copying, maxObjs); err != nil {
			t.Fatalf("the copying rewrite's own chain: %v", err)
		}
	})
}
