// Command docx writes the Word fixtures of parser/testdata/docx from the
// blank DSR templates beside it: filled forms in the styles referrers use
// (typed text, ☒/☐ boxes, content controls, legacy form fields, both forms
// in one document, a table laid out unusually) and broken files (damaged,
// truncated, zip bombs, OLE containers). Run it from the module root:
//
//	go run ./scripts/docx [-out parser/testdata/docx]
//
// The output is deterministic, so a rerun shows no diff unless this
// program or the templates changed. Test children are fictional; NHS
// numbers are from the 999 test range.
package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/xml"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"
)

// modified is every zip entry's time, so the fixtures are reproducible.
var modified = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("out", "parser/testdata/docx", "folder to write the fixtures to")
	tpl := flag.String("templates", "scripts/docx/templates", "folder holding the blank DSR templates")
	flag.Parse()
	if err := run(*tpl, *out); err != nil {
		log.Fatal(err)
	}
}

func run(tplDir, out string) error {
	ref, err := loadPackage(filepath.Join(tplDir, "dsr-referral-form.docx"))
	if err != nil {
		return err
	}
	con, err := loadPackage(filepath.Join(tplDir, "dsr-consent-form.docx"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", out, err)
	}
	files := map[string][]byte{}
	fill := func(p *pkg, kind string, values map[string]string, st style) []byte {
		doc, err := fillForm(p.document(), kind, values, st)
		if err != nil {
			log.Fatalf("%s: %v", kind, err)
		}
		return p.with(doc).zip()
	}

	files["referral-plain.docx"] = fill(ref, "referral", zoeReferral(), plainStyle)
	files["consent-plain.docx"] = fill(con, "consent", zoeConsent(), plainStyle)
	files["referral-checkbox.docx"] = fill(ref, "referral", siobhanReferral(), checkboxStyle)
	files["consent-checkbox.docx"] = fill(con, "consent", siobhanConsent(), checkboxStyle)
	files["referral-sdt.docx"] = fill(ref, "referral", zoeReferral(), sdtStyle)
	files["consent-sdt.docx"] = fill(con, "consent", zoeConsent(), sdtStyle)
	files["referral-legacy.docx"] = fill(ref, "referral", siobhanReferral(), legacyStyle)
	files["consent-legacy.docx"] = fill(con, "consent", siobhanConsent(), legacyStyle)

	// Both forms in one document: the referral's body, a page break, then
	// the consent form's body (the templates share their styles).
	refDoc, err := fillForm(ref.document(), "referral", zoeReferral(), plainStyle)
	if err != nil {
		return err
	}
	conDoc, err := fillForm(con.document(), "consent", zoeConsent(), plainStyle)
	if err != nil {
		return err
	}
	both, err := joinBodies(refDoc, conDoc)
	if err != nil {
		return err
	}
	files["both-forms.docx"] = ref.with(both).zip()
	files["layout.docx"] = ref.with(layoutDocument()).zip()

	plain := files["referral-plain.docx"]
	files["damaged.docx"] = damage(plain)
	files["truncated.docx"] = plain[:len(plain)*3/5]
	files["bomb.docx"] = bomb(ref, false)
	files["bomb-lying.docx"] = bomb(ref, true)
	files["encrypted.docx"] = compoundFile("EncryptionInfo", "EncryptedPackage")
	files["old-format.doc"] = compoundFile("WordDocument", "1Table")
	files["spreadsheet.xlsx"] = spreadsheet()

	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// pkg is a zip package held in memory, entries in their original order.
type pkg struct {
	names []string
	data  map[string][]byte
}

func loadPackage(file string) (*pkg, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("open template: %w", err)
	}
	defer zr.Close()
	p := &pkg{data: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		p.names = append(p.names, f.Name)
		p.data[f.Name] = b
	}
	return p, nil
}

func (p *pkg) document() string { return string(p.data["word/document.xml"]) }

func (p *pkg) with(doc string) *pkg {
	q := &pkg{names: p.names, data: map[string][]byte{}}
	for k, v := range p.data {
		q.data[k] = v
	}
	q.data["word/document.xml"] = []byte(doc)
	return q
}

func (p *pkg) zip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range p.names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := w.Write(p.data[name]); err != nil {
			log.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// style says how a value is typed into the form.
type style int

const (
	plainStyle    style = iota // typed text, Yes/No typed
	checkboxStyle              // Yes/No and choices as ☒/☐ boxes before each option
	sdtStyle                   // content controls tagged with canonical names
	legacyStyle                // legacy form fields (FORMTEXT, FORMCHECKBOX, FORMDROPDOWN)
)

// labels are the printed labels of FORMS.md, by canonical name.
var labels = map[string]map[string]string{
	"referral": {
		"referral_date": "Date of referral", "cyp_first_names": "First name(s)", "cyp_surname": "Surname",
		"cyp_known_as": "Known as", "cyp_dob": "Date of birth", "cyp_nhs_number": "NHS number",
		"cyp_gender": "Gender", "cyp_ethnicity": "Ethnicity", "cyp_first_language": "First language",
		"cyp_address": "Address", "cyp_postcode": "Postcode", "cyp_living_situation": "Living situation",
		"cyp_local_authority": "Responsible local authority", "cyp_gp_practice": "GP practice",
		"dx_learning_disability": "Diagnosed learning disability", "dx_autism": "Diagnosed autism",
		"dx_details": "Diagnosis details (what, when, by whom)", "mh_concern": "Mental health concern",
		"mh_high_risk_admission":   "At high risk of admission to a mental health hospital",
		"placement_breakdown_risk": "At high risk of family or placement breakdown",
		"rag_rating":               "Proposed RAG rating", "rag_reason": "Reason for RAG rating",
		"inpatient_hospital": "Hospital (if an inpatient)", "admission_date": "Date of admission",
		"svc_health": "Health services involved", "svc_education": "Education setting",
		"svc_social_care": "Social care involvement", "svc_other": "Other services",
		"needs_health": "Health needs", "needs_education": "Education needs", "needs_social_care": "Social care needs",
		"plan_ehcp": "Education, Health and Care Plan", "plan_pbs": "Positive Behaviour Support plan",
		"plan_crisis": "Crisis / safety plan", "plan_cin_cp": "Child in Need / Child Protection plan",
		"plan_other": "Other care plans", "parent_name": "Parent / carer name",
		"parent_relationship": "Relationship to child", "parent_has_pr": "Has parental responsibility",
		"parent_phone": "Parent / carer telephone", "parent_email": "Parent / carer email",
		"referrer_name": "Referrer name", "referrer_role": "Role", "referrer_organisation": "Organisation",
		"referrer_email": "Referrer email", "referrer_phone": "Referrer telephone",
	},
	"consent": {
		"cyp_full_name": "Name of child / young person", "cyp_dob": "Date of birth", "cyp_nhs_number": "NHS number",
		"consent_basis": "Consent is given by", "yp_has_capacity": "Young person has capacity to consent",
		"consent_given": "I consent to inclusion on the DSR", "factsheet_given": "I have been given the DSR fact sheet",
		"share_health": "Share with: Health", "share_education": "Share with: Education",
		"share_social_care": "Share with: Social Care", "share_select": "Share with: SELECT key worker programme",
		"share_psg": "Share with: Positive Support Group", "signatory_name": "Name of person giving consent",
		"signatory_relationship": "Relationship to child", "signatory_has_pr": "Has parental responsibility",
		"signature": "Signature (typed name accepted)", "signed_date": "Date",
		"bid_decision_maker": "Best interest decision made by (name)", "bid_role": "Role of decision maker",
		"bid_date": "Date of decision", "bid_reason": "Significant concern and reason for the decision",
	},
}

var yesNoFields = map[string]bool{
	"dx_learning_disability": true, "dx_autism": true, "mh_high_risk_admission": true,
	"placement_breakdown_risk": true, "plan_ehcp": true, "plan_pbs": true, "plan_crisis": true,
	"plan_cin_cp": true, "parent_has_pr": true, "consent_given": true, "factsheet_given": true,
	"share_health": true, "share_education": true, "share_social_care": true, "share_select": true,
	"share_psg": true, "signatory_has_pr": true,
}

// choices of the choice fields the checkbox and legacy styles print as
// options.
var choices = map[string][]string{
	"cyp_gender":    {"Male", "Female", "Non-binary", "Other", "Prefer not to say"},
	"rag_rating":    {"Blue", "Red", "Amber", "Green"},
	"consent_basis": {"Young person (16 or over, with capacity)", "Person with parental responsibility", "Best interest decision"},
}

func zoeReferral() map[string]string {
	return map[string]string{
		"referral_date": "02/11/2026", "cyp_first_names": "Zoë", "cyp_surname": "Nguyễn", "cyp_known_as": "Zoe",
		"cyp_dob": "14/03/2012", "cyp_nhs_number": "999 314 9586", "cyp_gender": "Female",
		"cyp_ethnicity": "Mixed - White and Asian", "cyp_first_language": "English",
		"cyp_address": "Flat 3, Willow Court\n12 High Street\nBeckenham", "cyp_postcode": "BR3 1AW",
		"cyp_living_situation": "With family", "cyp_local_authority": "London Borough of Bromley",
		"cyp_gp_practice": "Eden Park Surgery", "dx_learning_disability": "No", "dx_autism": "Yes",
		"dx_details":             "Autism diagnosed by Bromley CAMHS, 2019",
		"mh_concern":             "Self-harm and food refusal since September; two A&E attendances.",
		"mh_high_risk_admission": "Yes", "placement_breakdown_risk": "No", "rag_rating": "Amber",
		"rag_reason": "Escalating risk; community support in place but not yet effective.",
		"svc_health": "Bromley CAMHS; community paediatrics", "svc_education": "Langley Park School",
		"needs_health":    "CAMHS crisis plan review; dietetic input.",
		"needs_education": "Reduced timetable and a key adult.", "needs_social_care": "Early help assessment.",
		"plan_ehcp": "No", "plan_pbs": "Yes", "plan_crisis": "Yes", "plan_cin_cp": "No",
		"parent_name": "Siobhán Nguyễn", "parent_relationship": "Mother", "parent_has_pr": "Yes",
		"parent_phone": "07700 900412", "parent_email": "s.nguyen@example.org",
		"referrer_name": "Dr Aoife Byrne", "referrer_role": "Consultant Psychiatrist",
		"referrer_organisation": "Bromley CAMHS", "referrer_email": "aoife.byrne@nhs.net",
		"referrer_phone": "020 3228 4000",
	}
}

func zoeConsent() map[string]string {
	return map[string]string{
		"cyp_full_name": "Zoë Nguyễn", "cyp_dob": "14/03/2012", "cyp_nhs_number": "9993149586",
		"consent_basis": "Person with parental responsibility", "consent_given": "Yes", "factsheet_given": "Yes",
		"share_health": "Yes", "share_education": "Yes", "share_social_care": "Yes", "share_select": "No",
		"share_psg": "No", "signatory_name": "Siobhán Nguyễn", "signatory_relationship": "Mother",
		"signatory_has_pr": "Yes", "signature": "S. Nguyễn", "signed_date": "01/11/2026",
	}
}

func siobhanReferral() map[string]string {
	return map[string]string{
		"referral_date": "10 November 2026", "cyp_first_names": "Siobhán Mai", "cyp_surname": "Ó Briain",
		"cyp_dob": "2010-07-01", "cyp_nhs_number": "999-562-8198", "cyp_gender": "Non-binary",
		"cyp_ethnicity": "White - Irish", "cyp_address": "27 Station Road\nOrpington\nKent", "cyp_postcode": "BR6 0RA",
		"cyp_living_situation": "Foster care", "cyp_local_authority": "London Borough of Bromley",
		"dx_learning_disability": "Yes", "dx_autism": "Yes",
		"dx_details": "Severe learning disability and autism (Great Ormond Street, 2014)",
		"mh_concern": "Distressed behaviour escalating; placement at risk.", "mh_high_risk_admission": "Yes",
		"placement_breakdown_risk": "Yes", "rag_rating": "Red", "rag_reason": "Placement breakdown imminent.",
		"svc_social_care": "Children with Disabilities Team", "svc_other": "SELECT key worker",
		"needs_health": "Sleep clinic referral.", "needs_education": "Residential school assessment.",
		"needs_social_care": "Respite and foster carer support.",
		"plan_ehcp":         "Yes", "plan_pbs": "No", "plan_crisis": "No", "plan_cin_cp": "Yes",
		"parent_name": "Marek Wiśniewski", "parent_relationship": "Foster carer", "parent_has_pr": "No",
		"referrer_name": "Tomás Ní Bhriain", "referrer_role": "Social Worker",
		"referrer_organisation": "London Borough of Bromley", "referrer_email": "tomas.nibhriain@bromley.gov.uk",
		"referrer_phone": "020 8464 3333",
	}
}

func siobhanConsent() map[string]string {
	return map[string]string{
		"cyp_full_name": "Siobhán Mai Ó Briain", "cyp_dob": "01/07/2010", "cyp_nhs_number": "999 562 8198",
		"consent_basis": "Young person (16 or over, with capacity)", "yp_has_capacity": "Yes",
		"consent_given": "Yes", "factsheet_given": "Yes", "share_health": "Yes", "share_education": "No",
		"share_social_care": "Yes", "share_select": "Yes", "share_psg": "No",
		"signatory_name": "Siobhán Mai Ó Briain", "signatory_relationship": "Self", "signatory_has_pr": "No",
		"signature": "Siobhán Ó Briain", "signed_date": "09/11/2026",
	}
}

// fillForm types values into the template's value cells: it finds each
// label's cell, then the empty run in the next cell.
func fillForm(doc, kind string, values map[string]string, st style) (string, error) {
	for name, label := range labels[kind] {
		value := values[name]
		key := "<w:t>" + escape(label) + "</w:t>"
		if n := strings.Count(doc, key); n != 1 {
			return "", fmt.Errorf("label %q found %d times", label, n)
		}
		at := strings.Index(doc, key)
		cell := strings.Index(doc[at:], "<w:tc>")
		if cell < 0 {
			return "", fmt.Errorf("no value cell after %q", label)
		}
		cell += at
		runStart := strings.Index(doc[cell:], "<w:r>")
		runEnd := strings.Index(doc[cell:], "</w:r>")
		if runStart < 0 || runEnd < runStart {
			return "", fmt.Errorf("no empty run in the value cell of %q", label)
		}
		runStart += cell
		runEnd += cell + len("</w:r>")
		run := doc[runStart:runEnd]
		if strings.Contains(run, "<w:t") {
			return "", fmt.Errorf("value cell of %q is not empty", label)
		}
		rPr := between(run, "<w:rPr>", "</w:rPr>")
		doc = doc[:runStart] + renderValue(name, label, value, rPr, st) + doc[runEnd:]
	}
	return doc, nil
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	j := strings.Index(s, b)
	if i < 0 || j < i {
		return ""
	}
	return s[i+len(a) : j]
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	// The templates write apostrophes as &apos; and quotes as &quot;.
	return strings.NewReplacer("&#39;", "&apos;", "&#34;", "&quot;").Replace(b.String())
}

// textRuns renders text as runs, lines split by <w:br/>.
func textRuns(text, rPr string) string {
	var b strings.Builder
	b.WriteString("<w:r><w:rPr>" + rPr + "</w:rPr>")
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteString("<w:br/>")
		}
		b.WriteString(`<w:t xml:space="preserve">` + escape(line) + "</w:t>")
	}
	b.WriteString("</w:r>")
	return b.String()
}

func renderValue(name, label, value, rPr string, st style) string {
	switch st {
	case checkboxStyle:
		return checkboxValue(name, value, rPr)
	case sdtStyle:
		return sdtValue(name, label, value, rPr)
	case legacyStyle:
		return legacyValue(name, value, rPr)
	}
	return textRuns(value, rPr)
}

// checkboxValue prints Yes/No and choices as boxes before each option,
// the way Word users build forms from a symbol font or typed glyphs.
func checkboxValue(name, value, rPr string) string {
	var opts []string
	switch {
	case yesNoFields[name]:
		opts = []string{"Yes", "No"}
	case choices[name] != nil:
		opts = choices[name]
	default:
		return textRuns(value, rPr)
	}
	var b strings.Builder
	for i, o := range opts {
		ticked := o == value
		b.WriteString("<w:r><w:rPr>" + rPr + "</w:rPr>")
		if i > 0 {
			if len(opts) > 2 {
				b.WriteString("<w:br/>")
			} else {
				b.WriteString(`<w:t xml:space="preserve">   </w:t>`)
			}
		}
		// Some boxes come from Wingdings through w:sym (Word's Insert
		// Symbol), most are typed glyphs.
		switch {
		case name == "share_psg" || name == "plan_pbs":
			char := "F0A8"
			if ticked {
				char = "F0FE"
			}
			// Word gives an inserted symbol a run of its own.
			b.WriteString(`<w:sym w:font="Wingdings" w:char="` + char + `"/></w:r><w:r><w:rPr>` + rPr + `</w:rPr>`)
			b.WriteString(`<w:t xml:space="preserve"> ` + escape(o) + "</w:t>")
		case ticked:
			b.WriteString(`<w:t xml:space="preserve">☒ ` + escape(o) + "</w:t>")
		default:
			b.WriteString(`<w:t xml:space="preserve">☐ ` + escape(o) + "</w:t>")
		}
		b.WriteString("</w:r>")
	}
	return b.String()
}

// sdtValue wraps the value in a content control tagged with the canonical
// name: Yes/No as a Word 2010 checkbox control, an empty field as the
// control's placeholder text.
func sdtValue(name, label, value, rPr string) string {
	props := `<w:alias w:val="` + escape(label) + `"/><w:tag w:val="` + name + `"/>`
	switch {
	case yesNoFields[name]:
		checked, glyph := "0", "☐"
		if value == "Yes" {
			checked, glyph = "1", "☒"
		}
		return `<w:sdt><w:sdtPr>` + props + `<w14:checkbox><w14:checked w14:val="` + checked +
			`"/><w14:checkedState w14:val="2612" w14:font="MS Gothic"/><w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>` +
			`<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"/>` + rPr + `</w:rPr><w:t>` + glyph + `</w:t></w:r></w:sdtContent></w:sdt>`
	case value == "":
		return `<w:sdt><w:sdtPr>` + props + `<w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rStyle w:val="PlaceholderText"/>` + rPr +
			`</w:rPr><w:t>Click or tap here to enter text.</w:t></w:r></w:sdtContent></w:sdt>`
	case choices[name] != nil:
		var items strings.Builder
		for _, c := range choices[name] {
			items.WriteString(`<w:listItem w:displayText="` + escape(c) + `" w:value="` + escape(c) + `"/>`)
		}
		return `<w:sdt><w:sdtPr>` + props + `<w:dropDownList>` + items.String() + `</w:dropDownList></w:sdtPr><w:sdtContent>` + textRuns(value, rPr) + `</w:sdtContent></w:sdt>`
	case strings.HasSuffix(name, "_dob") || strings.HasSuffix(name, "_date"):
		return `<w:sdt><w:sdtPr>` + props + `<w:date><w:dateFormat w:val="dd/MM/yyyy"/><w:lid w:val="en-GB"/></w:date></w:sdtPr><w:sdtContent>` + textRuns(value, rPr) + `</w:sdtContent></w:sdt>`
	}
	return `<w:sdt><w:sdtPr>` + props + `<w:text w:multiLine="1"/></w:sdtPr><w:sdtContent>` + textRuns(value, rPr) + `</w:sdtContent></w:sdt>`
}

// legacyName is the bookmark name Word gives a legacy field: at most 20
// characters, so long canonical names are cut, as Word cuts them.
func legacyName(name string) string {
	if len(name) > 20 {
		return name[:20]
	}
	return name
}

// legacyValue writes a Word 97-2003 form field: FORMCHECKBOX for Yes/No,
// FORMDROPDOWN for choices, FORMTEXT otherwise.
func legacyValue(name, value, rPr string) string {
	r := func(inner string) string { return "<w:r><w:rPr>" + rPr + "</w:rPr>" + inner + "</w:r>" }
	ffName := `<w:name w:val="` + legacyName(name) + `"/><w:enabled/><w:calcOnExit w:val="0"/>`
	switch {
	case yesNoFields[name]:
		checked := "0"
		if value == "Yes" {
			checked = "1"
		}
		return r(`<w:fldChar w:fldCharType="begin"><w:ffData>`+ffName+`<w:checkBox><w:sizeAuto/><w:default w:val="0"/><w:checked w:val="`+checked+`"/></w:checkBox></w:ffData></w:fldChar>`) +
			r(`<w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText>`) +
			r(`<w:fldChar w:fldCharType="end"/>`)
	case choices[name] != nil && name != "consent_basis":
		var entries strings.Builder
		result := 0
		entries.WriteString(`<w:listEntry w:val=" "/>`)
		for i, c := range choices[name] {
			entries.WriteString(`<w:listEntry w:val="` + escape(c) + `"/>`)
			if c == value {
				result = i + 1
			}
		}
		return r(`<w:fldChar w:fldCharType="begin"><w:ffData>`+ffName+`<w:ddList><w:result w:val="`+fmt.Sprint(result)+`"/>`+entries.String()+`</w:ddList></w:ffData></w:fldChar>`) +
			r(`<w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText>`) +
			r(`<w:fldChar w:fldCharType="end"/>`)
	}
	shown := value
	if shown == "" {
		shown = "\u2002\u2002\u2002\u2002\u2002" // Word's blank FORMTEXT
	}
	return r(`<w:fldChar w:fldCharType="begin"><w:ffData>`+ffName+`<w:textInput/></w:ffData></w:fldChar>`) +
		r(`<w:instrText xml:space="preserve"> FORMTEXT </w:instrText>`) +
		r(`<w:fldChar w:fldCharType="separate"/>`) +
		textRuns(shown, rPr) +
		r(`<w:fldChar w:fldCharType="end"/>`)
}

// joinBodies puts the second document's body after the first's, with a
// page break, keeping the first's section properties at the end.
func joinBodies(first, second string) (string, error) {
	body := func(doc string) (string, string, error) {
		i := strings.Index(doc, "<w:body>")
		j := strings.LastIndex(doc, "<w:sectPr>")
		if i < 0 || j < i {
			return "", "", fmt.Errorf("no body")
		}
		return doc[i+len("<w:body>") : j], doc[j:], nil
	}
	b1, tail, err := body(first)
	if err != nil {
		return "", err
	}
	b2, _, err := body(second)
	if err != nil {
		return "", err
	}
	head := first[:strings.Index(first, "<w:body>")+len("<w:body>")]
	return head + b1 + `<w:p><w:r><w:br w:type="page"/></w:r></w:p>` + b2 + tail, nil
}

// layoutDocument is a form laid out the ways Word users do it that the
// templates do not: the form table nested in a one-cell layout table, a
// label merged down over the address lines (vMerge), a heading spanning
// the row (gridSpan), two label | value pairs in one four-cell row, a
// tab inside a value, and a checkbox drawn in a text box that is not a
// value.
func layoutDocument() string {
	cell := func(props, text string) string {
		return "<w:tc><w:tcPr>" + props + "</w:tcPr><w:p><w:r><w:t xml:space=\"preserve\">" + escape(text) + "</w:t></w:r></w:p></w:tc>"
	}
	row := func(cells ...string) string { return "<w:tr>" + strings.Join(cells, "") + "</w:tr>" }
	inner := "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>" +
		row(cell(`<w:gridSpan w:val="4"/>`, "Section 2: Child or young person")) +
		row(cell("", "First name(s)"), cell("", "Nguyễn Văn"), cell("", "Surname"), cell("", "Trần")) +
		row(cell("", "Date of birth"), cell(`<w:gridSpan w:val="3"/>`, "05/05/2015")) +
		row(cell(`<w:vMerge w:val="restart"/>`, "Address"), cell(`<w:gridSpan w:val="3"/>`, "1 Kings Road")) +
		row(cell(`<w:vMerge/>`, ""), cell(`<w:gridSpan w:val="3"/>`, "West Wickham")) +
		row(cell(`<w:vMerge/>`, ""), cell(`<w:gridSpan w:val="3"/>`, "Kent")) +
		row(cell("", "NHS number"), "<w:tc><w:p><w:r><w:t>999</w:t><w:tab/><w:t>951</w:t><w:tab/><w:t>8087</w:t></w:r></w:p></w:tc>") +
		row(cell("", "Postcode"), "<w:tc><w:p><w:r><w:t>BR4 9AA</w:t></w:r><w:r><w:drawing><wp:inline><w:txbxContent><w:p><w:r><w:t>☒ ignored</w:t></w:r></w:p></w:txbxContent></wp:inline></w:drawing></w:r></w:p></w:tc>") +
		"</w:tbl>"
	outer := "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/></w:tblGrid><w:tr><w:tc><w:p/>" + inner + "<w:p/></w:tc></w:tr></w:tbl>"
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><w:body>` +
		`<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>DSR Referral Form</w:t></w:r></w:p>` +
		outer + `<w:sectPr/></w:body></w:document>`
}

// damage flips bytes inside document.xml's deflate stream, leaving the
// zip's directories intact.
func damage(file []byte) []byte {
	out := bytes.Clone(file)
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "word/document.xml" {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			log.Fatal(err)
		}
		mid := off + int64(f.CompressedSize64)/2
		for i := mid; i < mid+16; i++ {
			out[i] ^= 0x5A
		}
	}
	return out
}

// bomb is a document whose document.xml unpacks to 64 MiB (one run of
// 64 Mi letters) from about 65 KB. The lying variant declares 2 KiB in its
// headers, as a bomb built to slip past a declared-size check does.
func bomb(p *pkg, lying bool) []byte {
	const size = 64 << 20
	head := []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>`)
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	crc := crc32.NewIEEE()
	w := io.MultiWriter(fw, crc)
	n := int64(len(head))
	if _, err := w.Write(head); err != nil {
		log.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("a"), 1<<16)
	for n < size {
		if _, err := w.Write(chunk); err != nil {
			log.Fatal(err)
		}
		n += int64(len(chunk))
	}
	tail := []byte("</w:t></w:r></w:p></w:body></w:document>")
	if _, err := w.Write(tail); err != nil {
		log.Fatal(err)
	}
	n += int64(len(tail))
	if err := fw.Close(); err != nil {
		log.Fatal(err)
	}
	declared := uint64(n)
	if lying {
		declared = 2 << 10
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range p.names {
		if name == "word/document.xml" {
			fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified,
				CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared, CRC32: crc.Sum32()}
			w, err := zw.CreateRaw(fh)
			if err != nil {
				log.Fatal(err)
			}
			if _, err := w.Write(comp.Bytes()); err != nil {
				log.Fatal(err)
			}
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := w.Write(p.data[name]); err != nil {
			log.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// compoundFile is a minimal OLE compound file (the container of old .doc
// files and of password-protected .docx packages): a header and one
// directory sector naming the streams. The streams themselves are empty;
// the reader tells the two apart by the names alone.
func compoundFile(streams ...string) []byte {
	const sector = 512
	out := make([]byte, sector*3)
	h := out[:sector]
	copy(h, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	le := binary.LittleEndian
	le.PutUint16(h[0x18:], 0x003E) // minor version
	le.PutUint16(h[0x1A:], 0x0003) // major version 3: 512-byte sectors
	le.PutUint16(h[0x1C:], 0xFFFE) // little-endian
	le.PutUint16(h[0x1E:], 9)      // sector shift
	le.PutUint16(h[0x20:], 6)      // mini sector shift
	le.PutUint32(h[0x2C:], 1)      // FAT sectors
	le.PutUint32(h[0x30:], 1)      // first directory sector
	le.PutUint32(h[0x38:], 0x1000) // mini stream cutoff
	le.PutUint32(h[0x3C:], 0xFFFFFFFE)
	le.PutUint32(h[0x44:], 0xFFFFFFFE)
	le.PutUint32(h[0x4C:], 0) // DIFAT[0]: the FAT is sector 0
	for i := 0x50; i < sector; i += 4 {
		le.PutUint32(h[i:], 0xFFFFFFFF)
	}
	fat := out[sector : 2*sector]
	le.PutUint32(fat[0:], 0xFFFFFFFD) // sector 0: FAT
	le.PutUint32(fat[4:], 0xFFFFFFFE) // sector 1: directory, end of chain
	for i := 8; i < sector; i += 4 {
		le.PutUint32(fat[i:], 0xFFFFFFFF)
	}
	dir := out[2*sector:]
	entry := func(i int, name string, typ byte) {
		e := dir[i*128 : (i+1)*128]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66] = typ
		e[67] = 1 // black
		le.PutUint32(e[68:], 0xFFFFFFFF)
		le.PutUint32(e[72:], 0xFFFFFFFF)
		le.PutUint32(e[76:], 0xFFFFFFFF)
		le.PutUint32(e[116:], 0xFFFFFFFE)
	}
	entry(0, "Root Entry", 5)
	for i, s := range streams {
		entry(i+1, s, 2)
	}
	// The root's child is the first stream; siblings chain to the right.
	le.PutUint32(dir[76:], 1)
	for i := 1; i < len(streams); i++ {
		le.PutUint32(dir[i*128+72:], uint32(i+1))
	}
	return out
}

// spreadsheet is a zip package that is not a Word document.
func spreadsheet() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, text string) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := io.WriteString(w, text); err != nil {
			log.Fatal(err)
		}
	}
	add("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`)
	add("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	add("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>`)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}
