package parser

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFormsDocListsEveryField: docs/forms.md lists, for each form, exactly
// the canonical fields the parser knows, in the order the form prints them,
// each with its printed label and type.
func TestFormsDocListsEveryField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "forms.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := docFields(string(b))
	for _, tc := range []struct {
		heading string
		specs   []FieldSpec
	}{
		{"## The referral form (`DSR-REFERRAL`)", ReferralFields},
		{"## The consent form (`DSR-CONSENT`)", ConsentFields},
	} {
		rows := doc[tc.heading]
		if len(rows) == 0 {
			t.Errorf("docs/forms.md has no field table under %q", tc.heading)
			continue
		}
		for i := 0; i < max(len(rows), len(tc.specs)); i++ {
			switch {
			case i >= len(rows):
				t.Errorf("%s: %s (%q) is not listed", tc.heading, tc.specs[i].Name, tc.specs[i].Label)
			case i >= len(tc.specs):
				t.Errorf("%s: lists %s, which the parser does not know", tc.heading, rows[i].name)
			default:
				want := docRow{name: tc.specs[i].Name, label: tc.specs[i].Label, typ: docType[tc.specs[i].Type]}
				if rows[i] != want {
					t.Errorf("%s: row %d is %+v, want %+v", tc.heading, i+1, rows[i], want)
				}
			}
		}
	}
}

// docType is how docs/forms.md names each field type.
var docType = map[FieldType]string{Text: "text", Date: "date", YesNo: "yes/no", Choice: "choice", NHSNumber: "NHS number"}

type docRow struct{ name, label, typ string }

var fieldRowRE = regexp.MustCompile("^\\|\\s*`([a-z0-9_]+)`\\s*\\|([^|]*)\\|([^|]*)\\|")

// docFields reads the field tables of each "## " section: heading → rows.
func docFields(doc string) map[string][]docRow {
	out := map[string][]docRow{}
	heading := ""
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			heading = strings.TrimSpace(line)
			continue
		}
		if m := fieldRowRE.FindStringSubmatch(line); m != nil {
			out[heading] = append(out[heading], docRow{name: m[1], label: strings.TrimSpace(m[2]), typ: strings.TrimSpace(m[3])})
		}
	}
	return out
}
