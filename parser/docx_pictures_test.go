package parser

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wordWithPictures is a Word document (the parts Word needs, as LibreOffice
// writes them) holding the given PNG pictures, one a paragraph.
func wordWithPictures(t *testing.T, pics ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	put := func(name, body string) {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`)
	var rels, body strings.Builder
	for i := range pics {
		fmt.Fprintf(&rels, `<Relationship Id="rIdImg%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image%d.png"/>`, i, i)
		fmt.Fprintf(&body, `<w:p><w:r><w:drawing><wp:inline><wp:extent cx="5731510" cy="8105775"/><wp:docPr id="%d" name="Picture %d"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:blipFill><a:blip r:embed="rIdImg%d"/></pic:blipFill></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`, i+1, i+1, i)
	}
	put("word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+rels.String()+`</Relationships>`)
	put("word/document.xml", `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body><w:p><w:r><w:t>Photos of the forms</w:t></w:r></w:p>`+body.String()+`</w:body></w:document>`)
	for i, p := range pics {
		w, err := z.Create(fmt.Sprintf("word/media/image%d.png", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func blankPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// emailWith is an email carrying files, each named and typed.
func emailWith(files ...struct {
	name, ctype string
	data        []byte
}) []byte {
	parts := []string{"Content-Type: text/plain\n\nThe forms, photographed."}
	for _, f := range files {
		parts = append(parts, "Content-Type: "+f.ctype+"; name=\""+f.name+"\"\nContent-Disposition: attachment; filename=\""+f.name+"\"\nContent-Transfer-Encoding: base64\n\n"+b64(f.data))
	}
	return msg(withHeaders(`Content-Type: multipart/mixed; boundary="b"`), multipartBody("b", parts...))
}

const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// TestWordPictures: a picture in a Word document big enough to hold a page
// is taken out as an attachment of its own, named after the document; a
// logo is not, and the document is read as it is.
func TestWordPictures(t *testing.T) {
	doc := wordWithPictures(t, blankPNG(t, 160, 60), blankPNG(t, 1240, 1754))
	sub, err := New(Options{}).Parse(context.Background(), emailWith(struct {
		name, ctype string
		data        []byte
	}{"DSR forms.docx", docxType, doc}))
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Attachments) != 2 {
		t.Fatalf("attachments %+v", summary(sub))
	}
	doc0, pic := sub.Attachments[0], sub.Attachments[1]
	if doc0.Filename != "DSR forms.docx" || doc0.Kind != KindNotForm {
		t.Errorf("the document: %+v", doc0)
	}
	// Without OCR a photo is an attachment a coordinator reads.
	if pic.Filename != "DSR forms, picture 1.png" || pic.Kind != KindUnreadable {
		t.Errorf("the page-sized picture: %+v", pic)
	}
	// Our own Word forms carry no picture the size of a page.
	for _, sample := range []string{"03-docx-happy"} {
		s := parseSample(t, sample)
		for _, a := range s.Attachments {
			if strings.Contains(a.Filename, ", picture ") {
				t.Errorf("%s: a picture taken out of a Word form: %s", sample, a.Filename)
			}
		}
	}
}

// TestOCRPagesFromPhotos: a referral photographed a page a photo, the
// photos attached one by one or pasted into a Word document, or scanned by
// a copier set to one PDF a page, is one form:
// its pages read by OCR are put together, in attachment order, rather than
// the first page taken as the form and the others as second copies.
func TestOCRPagesFromPhotos(t *testing.T) {
	o := needOCR(t)
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm is needed (scripts/install-test-deps.sh installs it)")
	}
	// The typed scan of a referral (three pages) and its consent (a PNG),
	// with what they were filled with.
	raw, err := os.ReadFile(filepath.Join("testdata", "ocr", "sofia-scan-png.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var want ocrCase
	if b, err := os.ReadFile(filepath.Join("testdata", "ocr", "sofia-scan-png.json")); err != nil || json.Unmarshal(b, &want) != nil {
		t.Fatalf("expectations: %v", err)
	}
	var scan, consent []byte
	rebuildEmail(t, raw, func(pdf []byte) []byte { scan = pdf; return pdf })
	p := New(Options{})
	for _, a := range mustParse(t, p, raw).Attachments {
		if a.Filename == "consent.png" {
			consent = a.Data
		}
	}
	if scan == nil || consent == nil {
		t.Fatal("the fixture's scan and consent were not found")
	}
	// A page a photo, at a phone camera's 300 dpi or so.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scan.pdf"), scan, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", filepath.Join(dir, "scan.pdf"), filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, b)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(pages) != 3 {
		t.Fatalf("%d pages", len(pages))
	}
	var photos [][]byte
	for _, f := range pages {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		photos = append(photos, b)
	}
	// A copier set to one file a page sends the scan as PDFs of a page.
	if b, err := exec.Command("qpdf", "--split-pages", filepath.Join(dir, "scan.pdf"), filepath.Join(dir, "split-%d.pdf")).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --split-pages: %v\n%s", err, b)
	}
	var split [][]byte
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("split-%d.pdf", i)))
		if err != nil {
			t.Fatal(err)
		}
		split = append(split, b)
	}
	type file = struct {
		name, ctype string
		data        []byte
	}
	attached := []file{{"IMG_0001.png", "image/png", photos[0]}, {"IMG_0002.png", "image/png", photos[1]}, {"IMG_0003.png", "image/png", photos[2]}, {"IMG_0004.png", "image/png", consent}}
	inWord := []file{{"DSR forms.docx", docxType, wordWithPictures(t, photos[0], photos[1], photos[2], consent)}}

	ocr := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	onePDFAPage := []file{{"SCAN_001.pdf", "application/pdf", split[0]}, {"SCAN_002.pdf", "application/pdf", split[1]}, {"SCAN_003.pdf", "application/pdf", split[2]}, {"SCAN_004.png", "image/png", consent}}
	for name, files := range map[string][]file{"attached": attached, "in a Word document": inWord, "one PDF a page": onePDFAPage} {
		t.Run(name, func(t *testing.T) {
			sub, err := ocr.Parse(context.Background(), emailWith(files...))
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range sub.Problems {
				if strings.Contains(pr, "second") {
					t.Errorf("problem: %s", pr)
				}
			}
			r := sub.Referral
			if r == nil || r.OCR == nil || len(r.OCR.Pages) != 3 {
				t.Fatalf("referral read: %+v", r)
			}
			pagesRead := map[int]bool{}
			for _, f := range r.OCR.Fields {
				pagesRead[f.Page] = true
			}
			if !pagesRead[1] || !pagesRead[2] || !pagesRead[3] {
				t.Errorf("fields read on pages %v, want 1, 2 and 3", pagesRead)
			}
			for k, form := range map[FormKind]*Form{Referral: r, Consent: sub.Consent} {
				for f, v := range want.Fields[k] {
					if form == nil || form.Values[f] != v {
						t.Errorf("%s %s: read %q, want %q", k, f, form.Values[f], v)
					}
				}
			}
			// Fields of the later pages (the section on the child's needs
			// is on the second) are read too.
			if r.Values["rag_rating"] == "" || len(r.Values) < 30 {
				t.Errorf("%d referral fields read: %v", len(r.Values), r.Values)
			}
		})
	}
}

func mustParse(t *testing.T, p *Parser, raw []byte) *Submission {
	t.Helper()
	sub, err := p.Parse(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestAddOCRPages: a further picture read by OCR adds its fields to the
// form when it agrees with it on every field both read; one that reads a
// field otherwise, or adds nothing, is a second copy; forms not read by
// OCR are never put together.
func TestAddOCRPages(t *testing.T) {
	form := func(src string, pages int, vals map[string]string) *Form {
		f := &Form{Kind: Referral, Source: src, Values: vals, Invalid: map[string]string{}}
		if src == SourceOCR {
			f.OCR = &OCRForm{Pages: make([]OCRPageSize, pages), Fields: map[string]OCRField{}}
			for k := range vals {
				f.OCR.Fields[k] = OCRField{Text: vals[k], Page: 1}
			}
		}
		return f
	}
	for _, tt := range []struct {
		name     string
		dst, src *Form
		merged   bool
	}{
		{"the next page", form(SourceOCR, 1, map[string]string{"cyp_surname": "Marchetti", "cyp_nhs_number": "9995873427"}),
			form(SourceOCR, 1, map[string]string{"cyp_nhs_number": "9995873427", "rag_rating": "Blue"}), true},
		{"a page that reads a field otherwise", form(SourceOCR, 1, map[string]string{"cyp_nhs_number": "9995873427"}),
			form(SourceOCR, 1, map[string]string{"cyp_nhs_number": "9990920516", "rag_rating": "Blue"}), false},
		{"the same page again", form(SourceOCR, 1, map[string]string{"cyp_surname": "Marchetti"}),
			form(SourceOCR, 1, map[string]string{"cyp_surname": "Marchetti"}), false},
		{"typed forms", form("pdf-text", 0, map[string]string{"cyp_surname": "Marchetti"}),
			form("pdf-text", 0, map[string]string{"rag_rating": "Blue"}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.dst.Values)
			if got := addOCRPages(tt.dst, tt.src); got != tt.merged {
				t.Fatalf("merged %v, want %v", got, tt.merged)
			}
			if !tt.merged {
				if len(tt.dst.Values) != before {
					t.Errorf("values changed though not merged: %v", tt.dst.Values)
				}
				return
			}
			if tt.dst.Values["rag_rating"] != "Blue" || len(tt.dst.OCR.Pages) != 2 || tt.dst.OCR.Fields["rag_rating"].Page != 2 {
				t.Errorf("merged form %+v, OCR %+v", tt.dst.Values, tt.dst.OCR)
			}
		})
	}
}
