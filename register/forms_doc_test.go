package register

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// documentedNotYetInCode are the reason codes docs/forms.md lists from the
// forms contract before the code reports them. The test tolerates exactly
// these; once a code is in the code, its entry here must go (the test says
// so), and the list ends empty.
var documentedNotYetInCode = []string{}

// TestFormsDocListsEveryCode: docs/forms.md's table of reason codes lists
// exactly the codes the register knows (the decision's Code and Prefix
// constants, and the store's review Reason constants, wherever under
// register/ they live), each with the outcome the code gives it.
func TestFormsDocListsEveryCode(t *testing.T) {
	doc := docCodes(t, filepath.Join("..", "docs", "forms.md"))
	known := codeConstants(t, ".")
	if len(known) < 20 {
		t.Fatalf("found only %d code constants under register/: the scan is broken", len(known))
	}
	for code, c := range known {
		want, ok := doc[code]
		if !ok {
			t.Errorf("docs/forms.md does not list %s (%s)", code, c.name)
			continue
		}
		var got Outcome
		switch {
		case strings.HasPrefix(c.name, "Reason"):
			// The store's reasons put an item in the review queue
			// directly; they are never an outcome of Assess.
			got = OutcomeReview
		case strings.HasSuffix(code, ":<field>"):
			got = outcomeOf(strings.TrimSuffix(code, "<field>") + "cyp_dob")
		default:
			got = outcomeOf(code)
		}
		if want != got {
			t.Errorf("docs/forms.md gives %s the outcome %s; the code gives %s", code, want, got)
		}
	}
	for code := range doc {
		if _, ok := known[code]; ok {
			continue
		}
		if !slices.Contains(documentedNotYetInCode, code) {
			t.Errorf("docs/forms.md lists %s, which the code does not know", code)
		}
	}
	for _, code := range documentedNotYetInCode {
		if c, ok := known[code]; ok {
			t.Errorf("%s is in the code now (%s): remove it from documentedNotYetInCode", code, c.name)
		}
		if _, ok := doc[code]; !ok {
			t.Errorf("%s is in documentedNotYetInCode but not in docs/forms.md", code)
		}
	}
}

// codeRowRE is one row of the reason codes table: | `code` | outcome | ...
var codeRowRE = regexp.MustCompile("^\\|\\s*`([a-z0-9_:<>]+)`\\s*\\|\\s*([a-z]+)\\s*\\|")

// docCodes reads the "## Reason codes" section's table: code → outcome.
func docCodes(t *testing.T, path string) map[string]Outcome {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Outcome{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Reason codes"
			continue
		}
		if !in {
			continue
		}
		if m := codeRowRE.FindStringSubmatch(line); m != nil {
			if _, dup := out[m[1]]; dup {
				t.Errorf("docs/forms.md lists %s twice", m[1])
			}
			out[m[1]] = Outcome(m[2])
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no reason codes table under \"## Reason codes\"", path)
	}
	return out
}

type codeConst struct{ name string }

// codeConstants finds, in the non-test Go files under dir, every string
// constant named Code…, Prefix… or Reason… that holds a reason code; a
// prefix ("missing_field:") is returned as the docs write it
// ("missing_field:<field>").
func codeConstants(t *testing.T, dir string) map[string]codeConst {
	t.Helper()
	nameRE := regexp.MustCompile(`^(Code|Prefix|Reason)[A-Z]`)
	valueRE := regexp.MustCompile(`^[a-z0-9_]+:?$`)
	out := map[string]codeConst{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "migrations") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := goparser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !nameRE.MatchString(name.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil || !valueRE.MatchString(v) {
						continue
					}
					if strings.HasSuffix(v, ":") {
						v += "<field>"
					}
					// The decision's constant names the code where the
					// store repeats it (CodeNoReply, ReasonNoReply).
					if prev, ok := out[v]; ok && !strings.HasPrefix(prev.name, "Reason") {
						continue
					}
					out[v] = codeConst{name: name.Name}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
