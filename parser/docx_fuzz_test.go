package parser

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
)

// FuzzReadDOCX feeds readDOCX whole files and, for inputs that are not a
// zip, the input as document.xml inside a stored (uncompressed) package,
// so the fuzzer can reach the XML walk without fighting deflate.
func FuzzReadDOCX(f *testing.F) {
	for _, name := range []string{"referral-plain.docx", "consent-sdt.docx", "referral-legacy.docx", "layout.docx", "truncated.docx", "encrypted.docx"} {
		f.Add(readFixture(f, name))
	}
	for _, body := range []string{
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lee</w:t><w:br/><w:t>☒ Yes ☐ No</w:t></w:r></w:p></w:tc></w:tr></w:tbl>`,
		`<w:sdt><w:sdtPr><w:tag w:val="a"/><w14:checkbox><w14:checked w14:val="1"/></w14:checkbox></w:sdtPr><w:sdtContent><w:p><w:r><w:t>x</w:t></w:r></w:p></w:sdtContent></w:sdt>`,
		`<w:p><w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="n"/><w:ddList><w:result w:val="1"/><w:listEntry w:val="a"/><w:listEntry w:val="b"/></w:ddList></w:ffData></w:fldChar></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`,
		`<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>DSR-CONSENT</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr></w:tc><w:tc><w:tbl><w:tr><w:tc/></w:tr></w:tbl></w:tc></w:tr></w:tbl>`,
	} {
		f.Add([]byte(docxXML(body)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("PK")) {
			data = storedDOCX(t, data)
		}
		forms, err := readDOCX(context.Background(), data, Limits{MaxDOCXUncompressed: 4 << 20})
		checkWordResult(t, forms, err, "docx")
	})
}

func storedDOCX(t *testing.T, document []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "word/document.xml", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(document); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadDOC feeds the Word 97-2003 reader whole compound files: it must
// answer with forms or an UnreadableError with a reason, never panic (a
// panic in the compound file library is caught; one in the reader's own
// parsing of the FIB, pieces and paragraph pages is a failure here).
func FuzzReadDOC(f *testing.F) {
	for _, name := range []string{"layout", "consent-plain", "referral-legacy"} {
		f.Add(formFixture(f, "doc", name))
	}
	f.Add(readFixture(f, "old-format.doc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		forms, err := readDOC(context.Background(), data, Limits{MaxDOCXUncompressed: 4 << 20})
		checkWordResult(t, forms, err, "doc")
	})
}

// checkWordResult asserts what a Word reader gives: forms from one of
// sources, or an UnreadableError with a reason.
func checkWordResult(t *testing.T, forms []*RawForm, err error, sources ...string) {
	t.Helper()
	if err != nil {
		var ue *UnreadableError
		if !errors.As(err, &ue) || ue.Reason == "" {
			t.Fatalf("error %v is not an UnreadableError with a reason", err)
		}
		return
	}
	if len(forms) == 0 {
		t.Fatal("no error and no form")
	}
	for _, rf := range forms {
		if !slices.Contains(sources, rf.Source) || rf.ByName == nil {
			t.Fatalf("form %+v", rf)
		}
	}
}

// FuzzReadRTF feeds the Rich Text reader arbitrary bytes: it must answer
// with forms or an UnreadableError with a reason, never panic.
func FuzzReadRTF(f *testing.F) {
	f.Add([]byte(rtfConsent))
	f.Add(formFixture(f, "rtf", "layout"))
	f.Add([]byte(`{\rtf1{\*\nesttableprops\trowd\nestrow}{\nonesttables x\par}\pard\intbl\itap3 a\nestcell\cell\row}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		forms, err := readRTF(context.Background(), data, Limits{MaxDOCXUncompressed: 4 << 20})
		checkWordResult(t, forms, err, "rtf")
	})
}

// FuzzReadODT feeds the OpenDocument reader content.xml bodies (stored in
// a minimal package) and whole files: forms or an UnreadableError with a
// reason, never a panic.
func FuzzReadODT(f *testing.F) {
	f.Add(formFixture(f, "odt", "layout"))
	f.Add([]byte(`<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:field="urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0"><office:body><office:text><table:table><table:table-row><table:table-cell table:number-rows-spanned="2"><text:p>Label</text:p></table:table-cell><table:table-cell><text:p><field:fieldmark text:name="a" field:type="vnd.oasis.opendocument.field.FORMCHECKBOX"><field:param field:name="Checkbox_Checked" field:value="true"/></field:fieldmark></text:p></table:table-cell></table:table-row><table:table-row><table:covered-table-cell/><table:table-cell><text:p>x<text:s text:c="3"/>y<text:tab/>z<text:line-break/></text:p></table:table-cell></table:table-row></table:table></office:text></office:body></office:document-content>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("PK")) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, err := zw.CreateHeader(&zip.FileHeader{Name: "content.xml", Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		forms, err := readODT(context.Background(), data, Limits{MaxDOCXUncompressed: 4 << 20})
		checkWordResult(t, forms, err, "odt")
	})
}
