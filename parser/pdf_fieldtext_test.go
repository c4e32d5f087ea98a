package parser

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

var fieldNameEntry = regexp.MustCompile(`/T \(([^)\\]*)\)`)

// renameFields writes a fillable PDF again with its fields' names
// changed by rename (nil keeps a name), as a form made again in Acrobat
// names its fields.
func renameFields(t *testing.T, dir string, in []byte, rename func(i int, name string) string) []byte {
	t.Helper()
	i := 0
	return editQDF(t, dir, in, func(qdf []byte) []byte {
		out := fieldNameEntry.ReplaceAllFunc(qdf, func(m []byte) []byte {
			i++
			name := string(fieldNameEntry.FindSubmatch(m)[1])
			if n := rename(i, name); n != "" {
				name = n
			}
			return []byte("/T (" + name + ")")
		})
		if i == 0 {
			t.Fatal("no field names to change")
		}
		return out
	})
}

// TestUnnamedFieldsReadByLabel: our forms filled, their fields renamed as
// Acrobat's field detection names them when a form is made again from
// the printed one ("Text12", or the words beside the box), every field or
// every other one. pdftk reads each value under its new name; dsr reads
// each by the label printed beside the box, as it reads the same form
// flattened: every value the form read before, but a check box left
// unticked, which is no answer on paper either.
func TestUnnamedFieldsReadByLabel(t *testing.T) {
	pdftk := needPeer(t, "pdftk")
	dir := t.TempDir()
	// A field's label, from the mapping: the shortest of its labels.
	labelOf := map[string]string{}
	m := DefaultMapping()
	for _, k := range []FormKind{Referral, Consent} {
		for label, canon := range m.Labels(k) {
			if l, ok := labelOf[canon]; !ok || len(label) < len(l) || (len(label) == len(l) && label < l) {
				labelOf[canon] = label
			}
		}
	}
	renames := map[string]func(i int, name string) string{
		"numbered":    func(i int, _ string) string { return fmt.Sprintf("Text%d", i) },
		"every other": func(i int, _ string) string { return map[bool]string{true: fmt.Sprintf("Text%d", i)}[i%2 == 0] },
		"by the words beside them": func(i int, name string) string {
			if label := labelOf[name]; label != "" {
				return label // "date of birth", as the label reads
			}
			return fmt.Sprintf("Check Box%d", i)
		},
	}
	for _, fixture := range []string{"referral-filled.pdf", "consent-filled.pdf", "combined-filled.pdf"} {
		data := pdfFixture(t, fixture)
		want := pdfMapForms(t, data)
		for how, rename := range renames {
			t.Run(fixture+"/"+how, func(t *testing.T) {
				renamed := renameFields(t, dir, data, rename)
				// The peer reads every value, under names we do not know.
				file := filepath.Join(dir, "renamed.pdf")
				if err := os.WriteFile(file, renamed, 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(pdftk, file, "dump_data_fields_utf8").Output()
				if err != nil {
					t.Fatalf("pdftk: %v", err)
				}
				if bytes.Contains(out, []byte("FieldName: cyp_dob\n")) && how != "every other" {
					t.Fatal("the fields were not renamed")
				}
				got := pdfMapForms(t, renamed)
				if len(got) != len(want) {
					t.Fatalf("read %d forms, want %d", len(got), len(want))
				}
				for k, w := range want {
					g := got[k]
					if g == nil {
						t.Fatalf("no %s read", k)
					}
					if !samePrintedValues(g.Values, w.Values) || len(g.Invalid) != len(w.Invalid) {
						t.Errorf("%s read\n %v\nwant\n %v (invalid %v, want %v)", k, g.Values, w.Values, g.Invalid, w.Invalid)
					}
					if len(g.Values) < 10 {
						t.Errorf("%s: only %d values read: the test tells little", k, len(g.Values))
					}
				}
			})
		}
	}
}

// TestUnnamedHiddenFieldNotRead: a field a viewer does not show (its
// widget hidden, /F 2) is no answer where it would be shown: our referral
// with its fields renamed reads its surname, and does not when the
// surname's widget is hidden (the field keeps its value).
func TestUnnamedHiddenFieldNotRead(t *testing.T) {
	dir := t.TempDir()
	data := pdfFixture(t, "referral-filled.pdf")
	numbered := func(i int, _ string) string { return fmt.Sprintf("Text%d", i) }
	if got := pdfMapForms(t, renameFields(t, dir, data, numbered))[Referral]; got == nil || got.Values["cyp_surname"] != "Nguyễn" {
		t.Fatalf("renamed, the surname reads %+v", got)
	}
	surname := regexp.MustCompile(`(?s)/F 4(\s+/FT /Tx.{0,400}?/T \(cyp_surname\))`)
	hidden := editQDF(t, dir, data, func(qdf []byte) []byte {
		out := surname.ReplaceAll(qdf, []byte("/F 6$1"))
		if bytes.Equal(out, qdf) {
			t.Fatal("no surname widget to hide")
		}
		return out
	})
	got := pdfMapForms(t, renameFields(t, dir, hidden, numbered))[Referral]
	if got == nil || got.Values["cyp_first_names"] != "Zoë" {
		t.Fatalf("the other fields: %+v", got)
	}
	if v, ok := got.Values["cyp_surname"]; ok {
		t.Errorf("a hidden field read as the surname: %q", v)
	}
}
