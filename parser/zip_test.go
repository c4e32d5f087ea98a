package parser

import (
	"archive/zip"
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// zipWithTool zips files with Info-ZIP's zip, as a referrer's machine
// would, with any extra flags (-P for a password).
func zipWithTool(t *testing.T, files []tnefFile, flags ...string) []byte {
	t.Helper()
	tool := needPeer(t, "zip")
	dir := t.TempDir()
	var names []string
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, f.name)
	}
	out := filepath.Join(t.TempDir(), "forms.zip")
	cmd := exec.Command(tool, append(append([]string{"-q", "-j"}, flags...), append([]string{out}, names...)...)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unzipNames lists a zip's files as Info-ZIP's unzip reads them.
func unzipNames(t *testing.T, data []byte) []string {
	t.Helper()
	tool := needPeer(t, "unzip")
	path := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-Z1", path).Output()
	if err != nil {
		t.Fatalf("unzip -Z1: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestParseSamplesInZip: each sample's files, zipped by Info-ZIP and sent
// as Windows and other mailers type a zip, read as the same email with
// the files attached on their own; the files taken out are those unzip
// lists.
func TestParseSamplesInZip(t *testing.T) {
	p := New(Options{})
	ctx := context.Background()
	for _, sm := range samplesWithFiles(t) {
		for _, ctype := range []string{"application/zip", "application/x-zip-compressed", "application/octet-stream"} {
			t.Run(sm.name+"/"+ctype, func(t *testing.T) {
				z := zipWithTool(t, sm.files)
				want, err := p.Parse(ctx, rebuilt(t, sm.raw, sm.body, sm.files, nil))
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.Parse(ctx, rebuiltWrapped(t, sm.raw, sm.body, nil, &wrapperPart{ctype: ctype, name: "Forms for DSR.zip", data: z}))
				if err != nil {
					t.Fatal(err)
				}
				if want.Referral == nil && want.Consent == nil && strings.Contains(sm.name, "happy") {
					t.Fatal("no form read from the plain email")
				}
				sameReading(t, got, want)
				var taken []string
				for _, a := range got.Attachments {
					taken = append(taken, a.Filename)
				}
				peer := unzipNames(t, z)
				slices.Sort(taken)
				slices.Sort(peer)
				if !slices.Equal(taken, peer) {
					t.Errorf("files taken out %q, unzip lists %q", taken, peer)
				}
			})
		}
	}
}

// zipOf writes a zip with Go's writer, for what Info-ZIP would not make:
// macOS's resource forks, a Windows code page name.
func zipEntries(t *testing.T, entries ...zip.FileHeader) func(data map[string][]byte) []byte {
	return func(data map[string][]byte) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, h := range entries {
			h.Method = zip.Deflate
			w, err := zw.CreateHeader(&h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data[h.Name])
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
}

// TestZipAttachments: what a zip holds besides plain forms, and the zips
// that cannot be opened, each with what a coordinator or referrer needs.
func TestZipAttachments(t *testing.T) {
	samples := samplesWithFiles(t)
	var referral, docx []byte
	for _, sm := range samples {
		for _, f := range sm.files {
			switch {
			case referral == nil && sm.name == "01-fillable-pdf-happy" && strings.HasSuffix(strings.ToLower(f.name), ".pdf"):
				referral = f.data
			case docx == nil && strings.HasSuffix(f.name, ".docx") && strings.Contains(f.name, "Referral"):
				docx = f.data
			}
		}
	}
	if referral == nil || docx == nil {
		t.Fatal("the samples have no fillable PDF or Word form")
	}
	cp850 := string([]byte{'R', 0x82, 'f', 'e', 'r', 'r', 'a', 'l', '.', 'p', 'd', 'f'}) // "Réferral.pdf" in code page 850
	// As LibreOffice writes it: the media type first, stored, its sizes in
	// the local header.
	odtWith := func(content string) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		mt := []byte("application/vnd.oasis.opendocument.text")
		w, _ := zw.CreateRaw(&zip.FileHeader{Name: "mimetype", Method: zip.Store, CRC32: crc32.ChecksumIEEE(mt),
			CompressedSize64: uint64(len(mt)), UncompressedSize64: uint64(len(mt))})
		w.Write(mt)
		w, _ = zw.Create("content.xml")
		w.Write([]byte(content))
		zw.Close()
		return b.Bytes()
	}
	odt := odtWith(`<office:document-content/>`)
	// Its content cut short: a document that cannot be read.
	odtDamaged := odtWith(`<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body><office:text>`)
	bomb := make([]byte, 2<<20)
	tests := []struct {
		name, ctype, filename string
		data                  func(t *testing.T) []byte
		limits                Limits
		want                  []string // filename(kind) of each attachment
		wantErr               string   // in the one attachment's Error
	}{
		{
			name: "a Mac's zip: its folder entry and resource forks are left out", ctype: "application/zip", filename: "Archive.zip",
			data: func(t *testing.T) []byte {
				return zipEntries(t, zip.FileHeader{Name: "Forms/"}, zip.FileHeader{Name: "Forms/referral.pdf"},
					zip.FileHeader{Name: "__MACOSX/Forms/._referral.pdf"})(map[string][]byte{"Forms/referral.pdf": referral, "__MACOSX/Forms/._referral.pdf": []byte("\x00\x05\x16\x07 resource fork")})
			},
			want: []string{"referral.pdf(referral)"},
		},
		{
			name: "a Windows zip's name in code page 850", ctype: "application/x-zip-compressed", filename: "forms.zip",
			data: func(t *testing.T) []byte {
				return zipEntries(t, zip.FileHeader{Name: cp850, NonUTF8: true})(map[string][]byte{cp850: referral})
			},
			want: []string{"Réferral.pdf(referral)"},
		},
		{
			name: "password-protected: a coordinator may have the password", ctype: "application/zip", filename: "forms.zip",
			data: func(t *testing.T) []byte {
				return zipWithTool(t, []tnefFile{{name: "referral.pdf", data: referral}}, "-P", "not-a-real-password")
			},
			want: []string{"forms.zip(unreadable)"}, wantErr: "password-protected",
		},
		{
			name: "inflating past the attachment limit stops there", ctype: "application/zip", filename: "forms.zip",
			data: func(t *testing.T) []byte {
				return zipWithTool(t, []tnefFile{{name: "referral.pdf", data: bomb}})
			},
			limits: Limits{MaxAttachmentBytes: 1 << 20},
			want:   []string{"forms.zip(unreadable)"}, wantErr: "larger than the attachment limit",
		},
		{
			name: "cut short", ctype: "application/zip", filename: "forms.zip",
			data: func(t *testing.T) []byte {
				z := zipWithTool(t, []tnefFile{{name: "referral.pdf", data: referral}})
				return z[:len(z)/2]
			},
			want: []string{"forms.zip(unreadable)"}, wantErr: "damaged",
		},
		{
			name: "a zip inside a zip is not opened, and says so", ctype: "application/zip", filename: "outer.zip",
			data: func(t *testing.T) []byte {
				inner := zipWithTool(t, []tnefFile{{name: "referral.pdf", data: referral}})
				return zipWithTool(t, []tnefFile{{name: "inner.zip", data: inner}})
			},
			want: []string{"inner.zip(unreadable)"}, wantErr: "inside a zip file",
		},
		{
			name: "a Word form sent as application/zip is a Word form, not an archive", ctype: "application/zip", filename: "Referral.docx",
			data: func(*testing.T) []byte { return docx },
			want: []string{"Referral.docx(referral)"},
		},
		{
			name: "a document in LibreOffice's own format that cannot be read can be sent again as Word or PDF", ctype: "application/vnd.oasis.opendocument.text", filename: "DSR referral.odt",
			data: func(*testing.T) []byte { return odtDamaged },
			want: []string{"DSR referral.odt(unsupported)"}, wantErr: "save it as Word (.docx) or PDF",
		},
		{
			name: "an empty document in LibreOffice's own format is no form", ctype: "application/vnd.oasis.opendocument.text", filename: "notes.odt",
			data: func(*testing.T) []byte { return odt },
			want: []string{"notes.odt(not_form)"},
		},
		{
			name: "a LibreOffice spreadsheet is not a form", ctype: "application/vnd.oasis.opendocument.spreadsheet", filename: "chronology.ods",
			data: func(*testing.T) []byte {
				return bytes.Replace(odt, []byte("opendocument.text"), []byte("opendocument.sheet"), 1)
			},
			want: []string{"chronology.ods(not_form)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rebuiltWith(t, "DSR", tt.ctype, tt.filename, tt.data(t))
			s, err := New(Options{Limits: tt.limits}).Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range s.Attachments {
				got = append(got, a.Filename+"("+string(a.Kind)+")")
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("attachments %q, want %q", got, tt.want)
			}
			if tt.wantErr != "" && !strings.Contains(s.Attachments[0].Error, tt.wantErr) {
				t.Errorf("error %q, want it to say %q", s.Attachments[0].Error, tt.wantErr)
			}
			if tt.wantErr == "" && s.Attachments[0].Error != "" {
				t.Errorf("unexpected error %q", s.Attachments[0].Error)
			}
		})
	}
}

// TestOtherArchives: a 7-Zip or RAR archive is not opened (7-Zip with a
// password is how many offices send personal data by ordinary email), but
// it may hold the forms: it is an attachment that could not be read,
// saying what it is, so a coordinator opens it rather than the referrer
// being asked for forms they sent. The RAR file is libarchive's (RAR 5,
// written by WinRAR); the 7-Zip one was written by 7-Zip with a password
// and its names encrypted.
func TestOtherArchives(t *testing.T) {
	for _, tt := range []struct{ file, name, says string }{
		{filepath.Join("testdata", "forms-password.7z"), "DSR forms - Ava Example.7z", "a 7-Zip archive"},
		{filepath.Join("..", "testdata", "thirdparty", "archive", "libarchive-rar5-unicode.rar"), "forms.rar", "a RAR archive"},
	} {
		t.Run(tt.says, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			raw := msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b",
				"Content-Type: text/plain\n\nThe forms are in the archive; the password follows separately.",
				"Content-Type: application/octet-stream; name=\""+tt.name+"\"\nContent-Disposition: attachment; filename=\""+tt.name+"\"\nContent-Transfer-Encoding: base64\n\n"+b64(data)))
			sub, err := New(Options{}).Parse(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(sub.Attachments) != 1 || sub.Attachments[0].Kind != KindUnreadable || !strings.HasPrefix(sub.Attachments[0].Error, tt.says) {
				t.Fatalf("attachments %+v", summary(sub))
			}
		})
	}
}
