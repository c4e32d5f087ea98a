package parser

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/docx come from scripts/make-docx-fixtures.sh,
// which fills the real DSR templates.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "docx", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return data
}

// wantForm is what one form of a document must map to: the kind the
// mapping classifies it as, values that must be present (canonical,
// normalised), fields that must be blank, and raw ByName entries.
type wantForm struct {
	kind   FormKind
	values map[string]string
	blank  []string
	byName map[string]string
}

func checkForms(t *testing.T, forms []*RawForm, want []wantForm) {
	t.Helper()
	if len(forms) != len(want) {
		t.Fatalf("got %d forms, want %d", len(forms), len(want))
	}
	m := DefaultMapping()
	for i, w := range want {
		rf := forms[i]
		if rf.Source != "docx" {
			t.Errorf("form %d: source %q, want docx", i, rf.Source)
		}
		kind := m.Classify(rf)
		if kind != w.kind {
			t.Errorf("form %d: classified %q, want %q (title %q)", i, kind, w.kind, rf.Title)
			continue
		}
		f := m.Map(kind, rf)
		for name, v := range w.values {
			if got := f.Values[name]; got != v {
				t.Errorf("form %d (%s): %s = %q, want %q (invalid: %q)", i, kind, name, got, v, f.Invalid[name])
			}
		}
		for _, name := range w.blank {
			if f.Has(name) {
				t.Errorf("form %d (%s): %s = %q%q, want blank", i, kind, name, f.Values[name], f.Invalid[name])
			}
		}
		for name, v := range w.byName {
			got, ok := rf.ByName[name]
			if !ok || got != v {
				t.Errorf("form %d (%s): ByName[%q] = %q (present %v), want %q", i, kind, name, got, ok, v)
			}
		}
		if len(f.Invalid) > 0 {
			t.Errorf("form %d (%s): invalid fields %q", i, kind, f.Invalid)
		}
	}
}

var (
	zoeReferralWant = wantForm{
		kind: Referral,
		values: map[string]string{
			"referral_date": "2026-11-02", "cyp_first_names": "Zoë", "cyp_surname": "Nguyễn", "cyp_known_as": "Zoe",
			"cyp_dob": "2012-03-14", "cyp_nhs_number": "9993149586", "cyp_gender": "Female",
			"cyp_address": "Flat 3, Willow Court\n12 High Street\nBeckenham", "cyp_postcode": "BR3 1AW",
			"cyp_living_situation": "With family", "dx_learning_disability": "false", "dx_autism": "true",
			"mh_high_risk_admission": "true", "placement_breakdown_risk": "false", "rag_rating": "Amber",
			"plan_pbs": "true", "plan_ehcp": "false", "parent_name": "Siobhán Nguyễn", "parent_has_pr": "true",
			"referrer_email": "aoife.byrne@nhs.net",
		},
		blank: []string{"inpatient_hospital", "admission_date", "svc_social_care", "svc_other", "plan_other"},
	}
	zoeConsentWant = wantForm{
		kind: Consent,
		values: map[string]string{
			"cyp_full_name": "Zoë Nguyễn", "cyp_dob": "2012-03-14", "cyp_nhs_number": "9993149586",
			"consent_basis": BasisParental, "consent_given": "true", "factsheet_given": "true",
			"share_health": "true", "share_select": "false", "share_psg": "false",
			"signatory_name": "Siobhán Nguyễn", "signatory_has_pr": "true", "signed_date": "2026-11-01",
		},
		blank: []string{"yp_has_capacity", "bid_decision_maker", "bid_role", "bid_date", "bid_reason"},
	}
	siobhanReferralWant = wantForm{
		kind: Referral,
		values: map[string]string{
			"referral_date": "2026-11-10", "cyp_first_names": "Siobhán Mai", "cyp_surname": "Ó Briain",
			"cyp_dob": "2010-07-01", "cyp_nhs_number": "9995628198", "cyp_gender": "Non-binary",
			"cyp_address": "27 Station Road\nOrpington\nKent", "cyp_living_situation": "Foster care",
			"dx_learning_disability": "true", "dx_autism": "true", "rag_rating": "Red",
			"plan_ehcp": "true", "plan_pbs": "false", "plan_crisis": "false", "plan_cin_cp": "true",
			"parent_name": "Marek Wiśniewski", "parent_has_pr": "false", "referrer_name": "Tomás Ní Bhriain",
		},
		blank: []string{"cyp_known_as", "svc_health", "svc_education", "parent_phone"},
	}
	siobhanConsentWant = wantForm{
		kind: Consent,
		values: map[string]string{
			"cyp_full_name": "Siobhán Mai Ó Briain", "cyp_dob": "2010-07-01", "cyp_nhs_number": "9995628198",
			"consent_basis": BasisYoungPerson, "yp_has_capacity": CapacityYes, "consent_given": "true",
			"share_health": "true", "share_education": "false", "share_select": "true", "share_psg": "false",
			"signatory_relationship": "Self", "signatory_has_pr": "false", "signed_date": "2026-11-09",
		},
		blank: []string{"bid_decision_maker", "bid_date"},
	}
)

func with(w wantForm, byName map[string]string) wantForm {
	w.byName = byName
	return w
}

func TestReadDOCXFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []wantForm
	}{
		{"referral-plain.docx", []wantForm{zoeReferralWant}},
		{"consent-plain.docx", []wantForm{zoeConsentWant}},
		// ☒/☐ typed before each option, and Wingdings boxes through w:sym
		// (plan_pbs, share_psg).
		{"referral-checkbox.docx", []wantForm{siobhanReferralWant}},
		{"consent-checkbox.docx", []wantForm{siobhanConsentWant}},
		// Content controls tagged with canonical names; Yes/No as Word 2010
		// checkbox controls; blank ones showing their placeholder.
		{"referral-sdt.docx", []wantForm{with(zoeReferralWant, map[string]string{
			"cyp_surname": "Nguyễn", "Surname": "Nguyễn", "cyp_address": "Flat 3, Willow Court\n12 High Street\nBeckenham",
			"dx_learning_disability": "No", "dx_autism": "Yes", "svc_social_care": "",
		})}},
		{"consent-sdt.docx", []wantForm{with(zoeConsentWant, map[string]string{
			"consent_basis": BasisParental, "share_select": "No", "yp_has_capacity": "",
		})}},
		// Legacy form fields: names cut to Word's 20 characters, drop-downs
		// for choices, FORMCHECKBOX for Yes/No.
		{"referral-legacy.docx", []wantForm{with(siobhanReferralWant, map[string]string{
			"cyp_surname": "Ó Briain", "cyp_gender": "Non-binary", "mh_high_risk_admissi": "Yes",
			"plan_crisis": "No", "cyp_known_as": "",
		})}},
		{"consent-legacy.docx", []wantForm{with(siobhanConsentWant, map[string]string{
			"signatory_relationsh": "Self", "share_education": "No",
		})}},
		// The same forms after LibreOffice's Word 2007 export: tags and the
		// placeholder mark are dropped, checkbox controls kept.
		{"referral-checkbox-libreoffice.docx", []wantForm{siobhanReferralWant}},
		{"consent-sdt-libreoffice.docx", []wantForm{zoeConsentWant}},
		{"referral-legacy-libreoffice.docx", []wantForm{siobhanReferralWant}},
		{"both-forms.docx", []wantForm{zoeReferralWant, zoeConsentWant}},
		{"layout.docx", []wantForm{{kind: Referral, values: map[string]string{
			"cyp_first_names": "Nguyễn Văn", "cyp_surname": "Trần", "cyp_dob": "2015-05-05",
			"cyp_address": "1 Kings Road\nWest Wickham\nKent", "cyp_nhs_number": "9999518087", "cyp_postcode": "BR4 9AA",
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			forms, err := readDOCX(context.Background(), readFixture(t, tt.file), Limits{})
			if err != nil {
				t.Fatalf("readDOCX: %v", err)
			}
			checkForms(t, forms, tt.want)
		})
	}
}

func TestReadDOCXTitles(t *testing.T) {
	forms, err := readDOCX(context.Background(), readFixture(t, "both-forms.docx"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind  FormKind
		title string
	}{
		{Referral, "Bromley Children and Young People's Dynamic Support Register - Referral Form"},
		{Consent, "Bromley Children and Young People's Dynamic Support Register - Consent Form"},
	}
	if len(forms) != len(want) {
		t.Fatalf("got %d forms, want %d", len(forms), len(want))
	}
	for i, w := range want {
		if forms[i].Kind != w.kind || forms[i].Title != w.title {
			t.Errorf("form %d: kind %q title %q, want %q %q", i, forms[i].Kind, forms[i].Title, w.kind, w.title)
		}
		if got := DefaultMapping().KindFromTitle(forms[i].Title); got != w.kind {
			t.Errorf("form %d: KindFromTitle(%q) = %q, want %q", i, forms[i].Title, got, w.kind)
		}
	}
}

// sampleAttachments returns the .docx attachments of a sample email.
func sampleAttachments(t *testing.T, sample string) map[string][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "samples", sample, "message.eml"))
	if err != nil {
		t.Fatalf("open sample: %v", err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	out := map[string][]byte{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		if !strings.HasSuffix(p.FileName(), ".docx") {
			continue
		}
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatalf("decode %s: %v", p.FileName(), err)
		}
		out[p.FileName()] = data
	}
	return out
}

func TestReadDOCXSample(t *testing.T) {
	atts := sampleAttachments(t, "03-docx-happy")
	tests := []struct {
		file string
		want wantForm
	}{
		{"DSR Referral Form - Amelia Novak.docx", wantForm{kind: Referral, values: map[string]string{
			"referral_date": "2026-11-23", "cyp_first_names": "Amelia", "cyp_surname": "Novák",
			"cyp_dob": "2014-02-20", "cyp_nhs_number": "9991058834",
			"cyp_address": "Flat 12, Maple House\n40 Masons Hill\nBromley", "cyp_postcode": "BR2 9HE",
			"dx_learning_disability": "true", "mh_high_risk_admission": "true", "rag_rating": "Red",
			"plan_cin_cp": "false", "referrer_email": "hcarver@riverside.bromley.sch.uk",
		}, blank: []string{"cyp_known_as", "inpatient_hospital", "admission_date"}}},
		{"DSR Consent Form - Amelia Novak.docx", wantForm{kind: Consent, values: map[string]string{
			"cyp_full_name": "Amelia Novák", "cyp_dob": "2014-02-20", "cyp_nhs_number": "9991058834",
			"consent_basis": BasisParental, "consent_given": "true", "factsheet_given": "true",
			"share_health": "true", "share_psg": "false", "signatory_has_pr": "true", "signed_date": "2026-11-21",
		}, blank: []string{"yp_has_capacity", "bid_decision_maker"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, ok := atts[tt.file]
			if !ok {
				t.Fatalf("sample has no attachment %q (has %d)", tt.file, len(atts))
			}
			if !sniffDOCX(data) {
				t.Error("sniffDOCX = false")
			}
			forms, err := readDOCX(context.Background(), data, Limits{})
			if err != nil {
				t.Fatalf("readDOCX: %v", err)
			}
			checkForms(t, forms, []wantForm{tt.want})
		})
	}
}

func TestReadDOCXUnreadable(t *testing.T) {
	plain := readFixture(t, "referral-plain.docx")
	docSize, stylesSize := partSize(t, plain, "word/document.xml"), partSize(t, plain, "word/styles.xml")
	tests := []struct {
		name   string
		data   []byte
		limits Limits
		reason string
	}{
		{"damaged deflate stream", readFixture(t, "damaged.docx"), Limits{}, reasonDOCXDamaged},
		{"truncated", readFixture(t, "truncated.docx"), Limits{}, reasonDOCXDamaged},
		{"zip bomb", readFixture(t, "bomb.docx"), Limits{}, reasonDOCXTooLarge},
		// Sizes that lie are damage: archive/zip stops at the declared size.
		{"zip bomb with lying sizes", readFixture(t, "bomb-lying.docx"), Limits{}, reasonDOCXDamaged},
		{"encrypted OLE package", readFixture(t, "encrypted.docx"), Limits{}, reasonDOCXEncrypted},
		{"old .doc", readFixture(t, "old-format.doc"), Limits{}, reasonDOCXOldDoc},
		{"spreadsheet", readFixture(t, "spreadsheet.xlsx"), Limits{}, reasonDOCXNotDOCX},
		{"pdf", []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), Limits{}, reasonDOCXNotDOCX},
		{"empty", nil, Limits{}, reasonDOCXNotDOCX},
		{"zip signature only", []byte("PK\x03\x04 not really a zip"), Limits{}, reasonDOCXDamaged},
		{"over a small limit", plain, Limits{MaxDOCXUncompressed: docSize / 2}, reasonDOCXTooLarge},
		// Styles are read first: the budget is shared, so document.xml no
		// longer fits although it alone would.
		{"over the limit across parts", plain, Limits{MaxDOCXUncompressed: docSize + stylesSize/2}, reasonDOCXTooLarge},
		{"too many entries", zipOf(t, manyEntries(docxMaxEntries+1)), Limits{}, reasonDOCXTooComplex},
		{"nested too deep", docxOf(t, strings.Repeat("<w:customXml>", docxMaxDepth)+strings.Repeat("</w:customXml>", docxMaxDepth)), Limits{}, reasonDOCXTooComplex},
		{"encrypted zip entry", encryptedEntry(t), Limits{}, reasonDOCXEncrypted},
		{"bad xml", docxOf(t, "<w:p><w:r><w:t>a</w:r></w:p>"), Limits{}, reasonDOCXDamaged},
		{"no document part", zipOf(t, map[string]string{"word/other.xml": "<x/>"}), Limits{}, reasonDOCXNotDOCX},
		{"empty document part", zipOf(t, map[string]string{"word/document.xml": ""}), Limits{}, reasonDOCXDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms, err := readDOCX(context.Background(), tt.data, tt.limits)
			if err == nil {
				t.Fatalf("read %d forms, want error %q", len(forms), tt.reason)
			}
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not an UnreadableError", err)
			}
			if got := ReasonOf(err); got != tt.reason {
				t.Errorf("reason %q, want %q (%v)", got, tt.reason, err)
			}
		})
	}
}

func TestReadDOCXTokenLimit(t *testing.T) {
	d := newDOCXReader(context.Background())
	d.maxTokens = 100
	doc := docxXML(strings.Repeat("<w:p><w:r><w:t>x</w:t></w:r></w:p>", 50))
	err := d.readDocument(strings.NewReader(doc))
	if !errors.Is(err, errDOCXComplex) {
		t.Errorf("error %v, want the token limit", err)
	}
}

func TestReadDOCXCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := readDOCX(ctx, readFixture(t, "referral-plain.docx"), Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// A zip bomb must cost little: it is refused before it is unpacked.
func TestReadDOCXBombMemory(t *testing.T) {
	for _, file := range []string{"bomb.docx", "bomb-lying.docx"} {
		data := readFixture(t, file)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readDOCX(context.Background(), data, Limits{})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%s: no error", file)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: allocated %d bytes reading a bomb", file, alloc)
		}
	}
}

func TestSniffDOCX(t *testing.T) {
	tests := []struct {
		file string
		want bool
	}{
		{"referral-plain.docx", true},
		{"consent-sdt-libreoffice.docx", true},
		{"spreadsheet.xlsx", false},
		{"encrypted.docx", false},
		{"truncated.docx", false},
	}
	for _, tt := range tests {
		if got := sniffDOCX(readFixture(t, tt.file)); got != tt.want {
			t.Errorf("sniffDOCX(%s) = %v, want %v", tt.file, got, tt.want)
		}
	}
}

// TestReadDOCXLoneBox: a cell holding one unticked box (☐ typed, or a
// check box control printed as one) is No for a Yes/No field and no answer
// for any other, as Normalise reads the same box from a printed form: the
// Word reader made every such cell "No", so "Other services" read "No"
// from the document and blank from its print.
func TestReadDOCXLoneBox(t *testing.T) {
	cell := func(label string) string {
		return "<w:tr><w:tc><w:p><w:r><w:t>" + label + "</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>☐</w:t></w:r></w:p></w:tc></w:tr>"
	}
	body := "<w:tbl>" + cell("First name(s)") + "<w:tr><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lee</w:t></w:r></w:p></w:tc></w:tr>" +
		cell("Other services") + cell("Diagnosed autism") + "</w:tbl>"
	raws, err := readDOCX(context.Background(), docxOf(t, body), Limits{})
	if err != nil || len(raws) != 1 {
		t.Fatalf("readDOCX: %d forms, %v", len(raws), err)
	}
	m := DefaultMapping()
	f := m.Map(Referral, raws[0])
	for name, want := range map[string]string{"cyp_first_names": "", "svc_other": "", "dx_autism": "false", "cyp_surname": "Lee"} {
		if got := f.Values[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestReadDOCXMarkup covers WordprocessingML details the fixtures do not:
// each body is a small document read on its own.
func TestReadDOCXMarkup(t *testing.T) {
	row := func(label, valueXML string) string {
		return "<w:tr><w:tc><w:p><w:r><w:t>" + label + "</w:t></w:r></w:p></w:tc><w:tc>" + valueXML + "</w:tc></w:tr>"
	}
	table := func(rows ...string) string { return "<w:tbl>" + strings.Join(rows, "") + "</w:tbl>" }
	p := func(runs string) string { return "<w:p>" + runs + "</w:p>" }
	r := func(inner string) string { return "<w:r>" + inner + "</w:r>" }
	tests := []struct {
		name   string
		body   string
		labels map[string]string // label → value
		byName map[string]string
	}{
		{
			name:   "tab, carriage return and non-breaking hyphen",
			body:   table(row("Address", p(r("<w:t>1</w:t><w:tab/><w:t>Main St</w:t><w:cr/><w:t>St</w:t><w:noBreakHyphen/><w:t>Mary Cray</w:t>")))),
			labels: map[string]string{"Address": "1 Main St\nSt-Mary Cray"},
		},
		{
			name:   "paragraphs of a cell are lines",
			body:   table(row("Address", p(r("<w:t>1 Main St</w:t>"))+p("")+p(r("<w:t>Orpington</w:t>")))),
			labels: map[string]string{"Address": "1 Main St\nOrpington"},
		},
		{
			name: "tracked changes: deletions and moved-from text are not text",
			body: table(row("Surname", p(
				`<w:del w:id="1"><w:r><w:delText>Smith</w:delText></w:r></w:del><w:ins w:id="2"><w:r><w:t>Smyth</w:t></w:r></w:ins>`+
					`<w:moveFrom w:id="3"><w:r><w:t>Jones</w:t></w:r></w:moveFrom>`))),
			labels: map[string]string{"Surname": "Smyth"},
		},
		{
			name: "field instructions are hidden, results shown",
			body: table(row("Referrer email", p(
				r(`<w:fldChar w:fldCharType="begin"/>`)+r(`<w:instrText> HYPERLINK "mailto:a@b.nhs.uk" </w:instrText>`)+
					r(`<w:fldChar w:fldCharType="separate"/>`)+r(`<w:t>a@b.nhs.uk</w:t>`)+r(`<w:fldChar w:fldCharType="end"/>`)))),
			labels: map[string]string{"Referrer email": "a@b.nhs.uk"},
		},
		{
			name: "placeholder run style without showingPlcHdr is blank",
			body: table(row("Known as", p(`<w:sdt><w:sdtPr><w:tag w:val="cyp_known_as"/></w:sdtPr><w:sdtContent>`+
				r(`<w:rPr><w:rStyle w:val="PlaceholderText"/></w:rPr><w:t>Type the name</w:t>`)+`</w:sdtContent></w:sdt>`))),
			labels: map[string]string{"Known as": ""},
			byName: map[string]string{"cyp_known_as": ""},
		},
		{
			name: "showingPlcHdr control in a cell is blank",
			body: table(row("Known as", `<w:sdt><w:sdtPr><w:alias w:val="Known as"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent>`+
				p(r(`<w:t>Click or tap here</w:t>`))+`</w:sdtContent></w:sdt>`)),
			labels: map[string]string{"Known as": ""},
			byName: map[string]string{"Known as": ""},
		},
		{
			name: "a control over several paragraphs",
			body: `<w:sdt><w:sdtPr><w:tag w:val="cyp_address"/></w:sdtPr><w:sdtContent>` +
				p(r("<w:t>1 Main St</w:t>")) + p(r("<w:t>Orpington</w:t>")) + `</w:sdtContent></w:sdt>`,
			byName: map[string]string{"cyp_address": "1 Main St\nOrpington"},
		},
		{
			name: "checkbox controls: ticked is a tick, unticked a lone box",
			body: table(
				row("Share with: Health", p(`<w:sdt><w:sdtPr><w:tag w:val="share_health"/><w14:checkbox><w14:checked w14:val="1"/></w14:checkbox></w:sdtPr><w:sdtContent>`+r(`<w:t>☐</w:t>`)+`</w:sdtContent></w:sdt>`)),
				row("Share with: Education", p(`<w:sdt><w:sdtPr><w:tag w:val="share_education"/><w14:checkbox><w14:checked w14:val="0"/></w14:checkbox></w:sdtPr><w:sdtContent>`+r(`<w:t>☒</w:t>`)+`</w:sdtContent></w:sdt>`)),
			),
			// The control's state wins over a stale glyph.
			labels: map[string]string{"Share with: Health": "✓", "Share with: Education": "☐"},
			byName: map[string]string{"share_health": "Yes", "share_education": "No"},
		},
		{
			name: "legacy checkbox takes its default when not changed",
			body: p(r(`<w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:checkBox><w:default w:val="1"/></w:checkBox></w:ffData></w:fldChar>`) +
				r(`<w:instrText> FORMCHECKBOX </w:instrText>`) + r(`<w:fldChar w:fldCharType="end"/>`)),
			byName: map[string]string{"Check1": "Yes"},
		},
		{
			// Malformed: the field ends inside its own instructions.
			name:   "field ended inside its instructions",
			body:   table(row("Surname", p(r(`<w:fldChar w:fldCharType="begin"/>`)+r(`<w:instrText><w:fldChar w:fldCharType="end"/> FORMTEXT </w:instrText>`)+r(`<w:t>Lee</w:t>`)))),
			labels: map[string]string{"Surname": "Lee"},
		},
		{
			name: "legacy text field spanning runs",
			body: p(r(`<w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text1"/><w:textInput/></w:ffData></w:fldChar>`) +
				r(`<w:instrText> FORMTEXT </w:instrText>`) + r(`<w:fldChar w:fldCharType="separate"/>`) +
				r(`<w:t>Zo</w:t>`) + r(`<w:t>ë</w:t>`) + r(`<w:fldChar w:fldCharType="end"/>`)),
			byName: map[string]string{"Text1": "Zoë"},
		},
		{
			name: "typed boxes",
			body: table(
				row("Diagnosed autism", p(r(`<w:t>☒ Yes   ☐ No</w:t>`))),
				row("Diagnosed learning disability", p(r(`<w:t>☐ Yes   ☒ No</w:t>`))),
				row("Crisis / safety plan", p(r(`<w:t>☐ Yes ☐ No</w:t>`))),
				row("Gender", p(r(`<w:t>☐ Male</w:t>`))+p(r(`<w:t>☑ Female</w:t>`))),
				row("Positive Behaviour Support plan", p(r(`<w:sym w:font="Wingdings" w:char="F0FE"/><w:t xml:space="preserve"> Yes </w:t><w:sym w:font="Wingdings" w:char="F0A8"/><w:t xml:space="preserve"> No</w:t>`))),
			),
			labels: map[string]string{
				"Diagnosed autism": "✓ Yes No", "Diagnosed learning disability": "Yes ✓ No",
				"Crisis / safety plan": "Yes No", "Gender": "Female", "Positive Behaviour Support plan": "✓ Yes No",
			},
		},
		{
			name: "rows: headings skipped, label after an empty cell, four-cell rows, nested tables",
			body: table(
				"<w:tr><w:tc><w:p><w:r><w:t>Section 1</w:t></w:r></w:p></w:tc></w:tr>",
				"<w:tr><w:tc><w:p/></w:tc><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Trần</w:t></w:r></w:p></w:tc></w:tr>",
				"<w:tr><w:tc><w:p><w:r><w:t>Gender</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Male</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Ethnicity</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Other</w:t></w:r></w:p></w:tc></w:tr>",
				row("Services", table(row("Health", p(r("<w:t>CAMHS</w:t>"))))+p("")),
			),
			labels: map[string]string{"Surname": "Trần", "Gender": "Male", "Ethnicity": "Other", "Health": "CAMHS", "Services": "Health CAMHS"},
		},
		{
			name: "alternate content is read once; drawings are not values",
			body: table(row("Postcode", p(
				`<mc:AlternateContent><mc:Choice Requires="w14">`+r("<w:t>BR1 1AA</w:t>")+`</mc:Choice><mc:Fallback>`+r("<w:t>BR1 1AA</w:t>")+`</mc:Fallback></mc:AlternateContent>`+
					r(`<w:pict><w:txbxContent><w:p><w:r><w:t>note</w:t></w:r></w:p></w:txbxContent></w:pict>`)))),
			labels: map[string]string{"Postcode": "BR1 1AA"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms, err := readDOCX(context.Background(), docxOf(t, tt.body), Limits{})
			if err != nil {
				t.Fatalf("readDOCX: %v", err)
			}
			if len(forms) != 1 {
				t.Fatalf("got %d forms, want 1", len(forms))
			}
			got := map[string]string{}
			for _, lv := range forms[0].ByLabel {
				if _, dup := got[lv.Label]; !dup {
					got[lv.Label] = lv.Value
				}
			}
			for label, v := range tt.labels {
				if g, ok := got[label]; !ok || g != v {
					t.Errorf("label %q = %q (present %v), want %q; all: %q", label, g, ok, v, forms[0].ByLabel)
				}
			}
			for name, v := range tt.byName {
				if g, ok := forms[0].ByName[name]; !ok || g != v {
					t.Errorf("ByName[%q] = %q (present %v), want %q", name, g, ok, v)
				}
			}
		})
	}
}

func TestReadDOCXFormSplit(t *testing.T) {
	heading := func(text string) string {
		return `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>` + text + `</w:t></w:r></w:p>`
	}
	para := func(text string) string { return `<w:p><w:r><w:t>` + text + `</w:t></w:r></w:p>` }
	rowT := func(l, v string) string {
		return "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>" + l + "</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>" + v + "</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
	}
	tests := []struct {
		name   string
		body   string
		kinds  []FormKind
		titles []string
	}{
		{
			name:   "body text naming the other form does not split",
			body:   para("DSR-REFERRAL") + heading("Referral Form") + para("Send with the signed DSR consent form.") + rowT("Surname", "Lee") + para("Return with the DSR consent form."),
			kinds:  []FormKind{Referral},
			titles: []string{"Referral Form"},
		},
		{
			name:   "second heading after fields splits",
			body:   heading("DSR Referral Form") + rowT("Surname", "Lee") + heading("DSR Consent Form") + rowT("Name of child / young person", "Ann Lee"),
			kinds:  []FormKind{Referral, Consent},
			titles: []string{"DSR Referral Form", "DSR Consent Form"},
		},
		{
			name:   "marker line without heading style splits",
			body:   para("DSR-CONSENT v3") + rowT("Signature", "A") + para("OFFICIAL · DSR-REFERRAL · v3") + rowT("Surname", "Lee"),
			kinds:  []FormKind{Consent, Referral},
			titles: []string{"DSR-CONSENT v3", "OFFICIAL · DSR-REFERRAL · v3"},
		},
		{
			name:   "a short first paragraph is a title",
			body:   para("Consent form") + para("Please fill in every row, then return it with the referral form.") + rowT("Signature", "A"),
			kinds:  []FormKind{Consent},
			titles: []string{"Consent form"},
		},
		{
			name:   "no title, no kind",
			body:   rowT("Surname", "Lee"),
			kinds:  []FormKind{""},
			titles: []string{""},
		},
		{
			name:   "trailing marker without fields adds no form",
			body:   heading("Referral Form") + rowT("Surname", "Lee") + para("DSR-REFERRAL page 2 of 2"),
			kinds:  []FormKind{Referral},
			titles: []string{"Referral Form"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms, err := readDOCX(context.Background(), docxOf(t, tt.body), Limits{})
			if err != nil {
				t.Fatalf("readDOCX: %v", err)
			}
			if len(forms) != len(tt.kinds) {
				t.Fatalf("got %d forms, want %d", len(forms), len(tt.kinds))
			}
			for i := range forms {
				if forms[i].Kind != tt.kinds[i] || forms[i].Title != tt.titles[i] {
					t.Errorf("form %d: kind %q title %q, want %q %q", i, forms[i].Kind, forms[i].Title, tt.kinds[i], tt.titles[i])
				}
			}
		})
	}
}

// The main part is found through the package relationships, and strict
// OOXML's namespace reads like the transitional one.
func TestReadDOCXPackageVariants(t *testing.T) {
	strict := strings.ReplaceAll(docxXML("<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lee</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"),
		"http://schemas.openxmlformats.org/wordprocessingml/2006/main", "http://purl.oclc.org/ooxml/wordprocessingml/main")
	tests := []struct {
		name  string
		parts map[string]string
	}{
		{"document2.xml named by the relationships", map[string]string{
			"_rels/.rels":         `<Relationships xmlns="` + nsPkgRels + `"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/word/document2.xml"/></Relationships>`,
			"word/document2.xml":  docxXML("<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lee</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"),
			"[Content_Types].xml": "<Types/>",
		}},
		{"strict namespace", map[string]string{"word/document.xml": strict}},
		{"part names in another case", map[string]string{"Word/Document.xml": docxXML("<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lee</w:t></w:r></w:p></w:tc></w:tr></w:tbl>")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms, err := readDOCX(context.Background(), zipOf(t, tt.parts), Limits{})
			if err != nil {
				t.Fatalf("readDOCX: %v", err)
			}
			if len(forms) != 1 || len(forms[0].ByLabel) != 1 || forms[0].ByLabel[0] != (LabelValue{"Surname", "Lee"}) {
				t.Errorf("got %+v", forms[0])
			}
		})
	}
}

func TestFinishValue(t *testing.T) {
	tests := []struct {
		in, want string
		yesNo    string // what the result is as a Yes/No field's: "true", "false", "blank"; "" when not a yes/no
	}{
		{"✓ Yes ☐ No", "✓ Yes No", "true"},
		{"☐ Yes ✓ No", "Yes ✓ No", "false"},
		{"☐ Yes ☐ No", "Yes No", "blank"},
		{"✓", "✓", "true"},
		// A lone box: No as a Yes/No field's, blank as any other's
		// (TestNormalise), as from a printed form.
		{"☐", "☐", "false"},
		{"☐ Blue\n✓ Red\n☐ Amber", "Red", ""},
		{"Consent is given by: ☐ Young person (16 or over, with capacity) ✓ Best interest decision", "Best interest decision", ""},
		{"✓ Health ✓ Education ☐ Social Care", "✓ Health ✓ Education Social Care", ""},
		{"Health ✓ Education ☐", "Health ✓ Education", ""},
		{"  Click or tap here to enter text. ", "", ""},
		{"Choose an item.", "", ""},
		{"Flat 1\n  2 High St ", "Flat 1\n2 High St", ""},
	}
	for _, tt := range tests {
		got := finishValue(tt.in)
		if got != tt.want {
			t.Errorf("finishValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.yesNo == "" {
			continue
		}
		res, err := Normalise(FieldSpec{Type: YesNo}, got)
		switch {
		case err != nil:
			res = "error"
		case res == "":
			res = "blank"
		}
		if res != tt.yesNo {
			t.Errorf("Normalise(Yes/No, %q) = %s, want %s", got, res, tt.yesNo)
		}
	}
}

func TestSymbolRune(t *testing.T) {
	tests := []struct {
		font, char string
		want       rune
	}{
		{"Wingdings", "F0FE", docxCheckedMark},
		{"Wingdings", "F0A8", docxEmptyMark},
		{"Wingdings", "F06F", docxEmptyMark},
		{"Wingdings 2", "F054", docxCheckedMark},
		{"Wingdings 2", "F0A3", docxEmptyMark},
		{"MS Gothic", "2612", docxCheckedMark},
		{"Segoe UI Symbol", "2610", docxEmptyMark},
		{"Arial", "00E9", 'é'},
		{"Wingdings", "F04A", 0}, // a smiley is not a box
		{"Symbol", "F0B7", 0},    // a bullet
		{"Wingdings", "zz", 0},
	}
	for _, tt := range tests {
		if got := symbolRune(tt.font, tt.char); got != tt.want {
			t.Errorf("symbolRune(%q, %q) = %q, want %q", tt.font, tt.char, got, tt.want)
		}
	}
}

func BenchmarkReadDOCX(b *testing.B) {
	for _, file := range []string{"referral-plain.docx", "both-forms.docx", "referral-sdt.docx"} {
		data := readFixture(b, file)
		b.Run(file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readDOCX(context.Background(), data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Helpers building small packages in memory.

func docxXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">` +
		`<w:body>` + body + `</w:body></w:document>`
}

// docxOf packs body into a minimal Word document.
func docxOf(t testing.TB, body string) []byte {
	return zipOf(t, map[string]string{
		"[Content_Types].xml": `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels":         `<Relationships xmlns="` + nsPkgRels + `"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/document.xml":   docxXML(body),
	})
}

// partsOf is every part of a package by name: zipOf's inverse.
func partsOf(t testing.TB, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		parts[zf.Name] = string(b)
	}
	return parts
}

func zipOf(t testing.TB, parts map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range parts {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manyEntries(n int) map[string]string {
	parts := map[string]string{"word/document.xml": docxXML("")}
	for i := range n {
		parts["x/"+strings.Repeat("a", i%7)+string(rune('a'+i%26))+strconv.Itoa(i)] = ""
	}
	return parts
}

func encryptedEntry(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "word/document.xml", Method: zip.Store, Flags: docxZipEncFlag})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "\x01\x02\x03 ciphertext"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func partSize(t *testing.T, data []byte, name string) int64 {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			return int64(f.UncompressedSize64)
		}
	}
	t.Fatalf("no part %s", name)
	return 0
}

// TestOldDocAsksForDocx: a form saved in Word 97-2003's format is one the
// referrer can save as .docx and send again (unsupported_attachment, a
// query), not one a coordinator has to retype.
func TestOldDocAsksForDocx(t *testing.T) {
	raw := rebuiltWith(t, "DSR referral", "application/msword", "DSR consent form.doc", readFixture(t, "old-format.doc"))
	s, err := New(Options{}).Parse(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Attachments) != 1 {
		t.Fatalf("%d attachments", len(s.Attachments))
	}
	a := s.Attachments[0]
	if a.Kind != KindUnsupported || a.Detected != detectOLE || !strings.Contains(a.Error, "save it as Word (.docx)") {
		t.Errorf("%s %s %q", a.Kind, a.Detected, a.Error)
	}
}

// TestRTFAsksForDocx: a form exported as Rich Text that cannot be read
// (here a check box whose state the file does not hold, as LibreOffice
// exports one) is one the referrer can save as .docx or PDF
// (unsupported_attachment), not an attachment that is no form (which
// would ask for forms the referrer did send).
func TestRTFAsksForDocx(t *testing.T) {
	rtf := []byte(strings.Replace(rtfConsent, `{\*\formfield{\fftype1\ffres1\ffdefres0{\*\ffname consent_given}}}`, "", 1))
	s, err := New(Options{}).Parse(context.Background(), rebuiltWith(t, "DSR referral", "application/octet-stream", "referral.rtf", rtf))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Attachments) != 1 {
		t.Fatalf("%d attachments", len(s.Attachments))
	}
	if a := s.Attachments[0]; a.Kind != KindUnsupported || a.Detected != detectRTF || !strings.Contains(a.Error, "save it as Word (.docx)") {
		t.Errorf("%s %s %q", a.Kind, a.Detected, a.Error)
	}
	// A mailer's rich-text body (text/rtf beside text/plain, no file
	// name) is the email's text, not a form sent in the wrong format.
	body := msg(withHeaders(`Content-Type: multipart/alternative; boundary="a"`), multipartBody("a",
		"Content-Type: text/plain\n\nForms to follow.", "Content-Type: text/rtf\n\n"+string(rtf)))
	s, err = New(Options{}).Parse(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Attachments {
		if a.Kind != KindNotForm {
			t.Errorf("the rich-text body is %s (%q)", a.Kind, a.Error)
		}
	}
}
