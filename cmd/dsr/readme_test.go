package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The repository explains itself: these tests keep the README and docs/ in
// step with the code, so they cannot drift. docs/forms.md has its own
// tests beside the codes (register) and the fields (parser).

// moduleRoot is the repository's top folder, from cmd/dsr.
var moduleRoot = filepath.Join("..", "..")

func readRoot(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the lines of a Markdown document under the heading
// (exactly as written, "## Layout") up to the next heading of any level.
func section(t *testing.T, doc, heading string) []string {
	t.Helper()
	var out []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			if in {
				break
			}
			in = strings.TrimSpace(line) == heading
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("no %q section", heading)
	}
	return out
}

// tableRows returns the cells of each row of the Markdown tables in lines,
// header and rule rows dropped; `\|` inside a cell is a literal bar.
func tableRows(lines []string) [][]string {
	var rows [][]string
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		line = strings.ReplaceAll(line, `\|`, "\x00")
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i, c := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(c, "\x00", "|"))
		}
		rows = append(rows, cells)
	}
	if len(rows) > 0 {
		rows = rows[1:] // the header
	}
	return rows
}

var codeSpanRE = regexp.MustCompile("`([^`]+)`")

func codeSpans(cell string) []string {
	var out []string
	for _, m := range codeSpanRE.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

var (
	commandWordRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	flagRE        = regexp.MustCompile(`^--?([a-z][a-z0-9-]*)$`)
)

// parseCommandLine splits "dsr user add NAME --role R [--config FILE]"
// into the command ("user add") and its flags ("config", "role").
func parseCommandLine(line string) (string, []string) {
	words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "dsr "))
	var cmd, flags []string
	for i, w := range words {
		if len(flags) == 0 && i == len(cmd) && commandWordRE.MatchString(w) {
			cmd = append(cmd, w)
			continue
		}
		if m := flagRE.FindStringSubmatch(strings.Trim(w, "[]")); m != nil {
			flags = append(flags, m[1])
		}
	}
	sort.Strings(flags)
	return strings.Join(cmd, " "), slices.Compact(flags)
}

// helpCommands are the commands `dsr help` lists, with their flags.
func helpCommands(t *testing.T) map[string][]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"help"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("dsr help: exit %d: %s", code, stderr.String())
	}
	out := map[string][]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "  dsr ") {
			cmd, flags := parseCommandLine(line)
			out[cmd] = flags
		}
	}
	if len(out) < 10 {
		t.Fatalf("dsr help lists only %d commands:\n%s", len(out), stdout.String())
	}
	return out
}

// flagsOf are the flags a command's own flag set defines, from `dsr CMD -h`.
func flagsOf(t *testing.T, cmd string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	run(context.Background(), append(strings.Fields(cmd), "-h"), strings.NewReader(""), &stdout, &stderr)
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-zA-Z0-9-]+)`).FindAllStringSubmatch(stderr.String(), -1) {
		flags = append(flags, m[1])
	}
	sort.Strings(flags)
	return flags
}

// TestHelpMatchesREADME: the README's CLI reference and `dsr help` list the
// same commands with the same flags, and those are the flags each command
// accepts: a flag a command takes is listed on its line, or, where
// subcommands share one flag set (dsr user), on a sibling's line.
func TestHelpMatchesREADME(t *testing.T) {
	help := helpCommands(t)
	readme := map[string][]string{}
	for _, row := range tableRows(section(t, readRoot(t, "README.md"), "### CLI reference")) {
		for _, span := range codeSpans(row[0]) {
			if strings.HasPrefix(span, "dsr ") {
				cmd, flags := parseCommandLine(span)
				readme[cmd] = flags
			}
		}
	}
	for cmd, flags := range help {
		rf, ok := readme[cmd]
		switch {
		case !ok:
			t.Errorf("dsr help lists %q; the README's CLI reference does not", cmd)
		case !slices.Equal(rf, flags):
			t.Errorf("dsr %s: dsr help lists flags %v, the README %v", cmd, flags, rf)
		}
	}
	for cmd := range readme {
		if _, ok := help[cmd]; !ok {
			t.Errorf("the README's CLI reference lists %q; dsr help does not", cmd)
		}
	}

	actual := map[string][]string{}
	for cmd := range help {
		actual[cmd] = flagsOf(t, cmd)
	}
	for cmd, listed := range help {
		for _, f := range listed {
			if !slices.Contains(actual[cmd], f) {
				t.Errorf("dsr help lists --%s for dsr %s, which does not take it (it takes %v)", f, cmd, actual[cmd])
			}
		}
		group := strings.Fields(cmd)[0]
		for _, f := range actual[cmd] {
			found := false
			for other, otherListed := range help {
				if strings.Fields(other)[0] == group && slices.Equal(actual[other], actual[cmd]) && slices.Contains(otherListed, f) {
					found = true
				}
			}
			if !found {
				t.Errorf("dsr %s takes --%s, which dsr help does not list", cmd, f)
			}
		}
	}
}

// TestLayoutMatchesGoList: the README's layout table names exactly the
// packages `go list ./...` knows; its folders (entries ending in /) exist.
func TestLayoutMatchesGoList(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(goBin, "list", "./...")
	cmd.Dir = moduleRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	module := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(readRoot(t, "go.mod"), "\n", 2)[0], "module"))
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		pkgs = append(pkgs, strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
	}

	var listed []string
	for _, row := range tableRows(section(t, readRoot(t, "README.md"), "## Layout")) {
		for _, e := range codeSpans(row[0]) {
			if strings.HasSuffix(e, "/") {
				if fi, err := os.Stat(filepath.Join(moduleRoot, e)); err != nil || !fi.IsDir() {
					t.Errorf("the layout table names the folder %s, which does not exist", e)
				}
				continue
			}
			listed = append(listed, e)
		}
	}
	var missing, extra []string
	for _, p := range pkgs {
		if !slices.Contains(listed, p) {
			missing = append(missing, p)
		}
	}
	for _, p := range listed {
		if !slices.Contains(pkgs, p) {
			extra = append(extra, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("packages missing from the README's layout table: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("the README's layout table names packages go list does not know: %v", extra)
	}
}

// TestDependenciesMatchGoMod: the README's dependency table names every
// module go.mod requires directly, and no other.
func TestDependenciesMatchGoMod(t *testing.T) {
	var direct []string
	inBlock := false
	for _, line := range strings.Split(readRoot(t, "go.mod"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 && !strings.Contains(line, "// indirect") {
			direct = append(direct, f[0])
		}
	}
	var listed []string
	for _, row := range tableRows(section(t, readRoot(t, "README.md"), "## Dependencies and why")) {
		listed = append(listed, codeSpans(row[0])...)
	}
	slices.Sort(direct)
	slices.Sort(listed)
	if len(direct) < 10 || !slices.Equal(direct, listed) {
		t.Errorf("README's dependency table\n  lists %v\ngo.mod requires directly\n        %v", listed, direct)
	}
}

// repoFiles lists the repository's tracked files (git ls-files), or, out of
// a git checkout, every file but build output and dependencies.
func repoFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = moduleRoot
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if _, err := os.Stat(filepath.Join(moduleRoot, f)); err == nil {
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "bin" || d.Name() == "artifacts") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(moduleRoot, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// mdLinkRE is a Markdown link's target: [text](target).
var mdLinkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestNoLinkOutsideTheRepository: no file names the workspace's shared
// folder, and every relative link in a Markdown file points at a file of
// the repository.
func TestNoLinkOutsideTheRepository(t *testing.T) {
	shared := []byte(".." + "/shared") // spelt in two, or this file would hold it
	root, err := filepath.Abs(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	files := repoFiles(t)
	if len(files) < 50 {
		t.Fatalf("found only %d files in the repository", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(moduleRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, shared) {
			t.Errorf("%s names %s, outside the repository", f, shared)
		}
		if !strings.HasSuffix(f, ".md") {
			continue
		}
		for _, m := range mdLinkRE.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs := filepath.Join(root, filepath.Dir(f), target)
			if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links to %s, outside the repository", f, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, m[1])
			}
		}
	}
}

// testNameRE is a test named in the docs: package path, test, subtest.
var testNameRE = regexp.MustCompile(`\b((?:[a-z0-9]+/)*[a-z0-9]+)\.((?:Test|Fuzz)[A-Za-z0-9_]*)(?:/([A-Za-z0-9_]+))?`)

var testFuncRE = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)

// TestDesignNamesRealTests: every test the docs name (package.TestName,
// package.TestName/Subtest) exists, in that package once it has tests
// there. A test named in a package that has no folder yet is looked for
// anywhere, so the docs can name where a move puts it.
func TestDesignNamesRealTests(t *testing.T) {
	sources := map[string]string{} // package folder → its test files
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(moduleRoot, filepath.Dir(path))
			sources[filepath.ToSlash(rel)] += string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string][]string{} // package folder → its test functions
	for pkg, src := range sources {
		for _, f := range testFuncRE.FindAllStringSubmatch(src, -1) {
			funcs[pkg] = append(funcs[pkg], f[1])
		}
	}
	named := 0
	for _, doc := range []string{"docs/design.md", "docs/forms.md", "testdata/samples/README.md", "README.md"} {
		for _, m := range testNameRE.FindAllStringSubmatch(readRoot(t, doc), -1) {
			pkg, name, sub := m[1], m[2], m[3]
			named++
			where := []string{pkg}
			if _, ok := sources[pkg]; !ok {
				where = slices.Collect(maps.Keys(sources))
			}
			found := false
			for _, p := range where {
				if slices.Contains(funcs[p], name) && (sub == "" || strings.Contains(sources[p], `"`+sub+`"`)) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s names %s, which is not a test of %s", doc, m[0], pkg)
			}
		}
	}
	if named < 30 {
		t.Errorf("the docs name only %d tests: is the pattern still right?", named)
	}
}

// TestSamplesREADME: testdata/samples/README.md has a row for every
// sample, with the outcome and reasons of its expected.json.
func TestSamplesREADME(t *testing.T) {
	rows := map[string][]string{}
	for _, row := range tableRows(section(t, readRoot(t, "testdata/samples/README.md"), "## The samples")) {
		if spans := codeSpans(row[0]); len(spans) == 1 && len(row) >= 4 {
			rows[spans[0]] = row
		}
	}
	dirs, err := filepath.Glob(filepath.Join(moduleRoot, "testdata", "samples", "*", "expected.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		var exp struct {
			Outcome string   `json:"outcome"`
			Reasons []string `json:"reasons"`
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("testdata/samples/README.md has no row for %s", name)
			continue
		}
		delete(rows, name)
		if got := codeSpans(row[2]); !slices.Equal(got, []string{exp.Outcome}) {
			t.Errorf("%s: the README says outcome %v, expected.json %s", name, got, exp.Outcome)
		}
		if got := codeSpans(row[3]); !slices.Equal(got, exp.Reasons) && !(len(got) == 0 && len(exp.Reasons) == 0) {
			t.Errorf("%s: the README says reasons %v, expected.json %v", name, got, exp.Reasons)
		}
	}
	for name := range rows {
		t.Errorf("testdata/samples/README.md lists %s, which is not a sample", name)
	}
}

// TestMakeDemoSaysItIsBuilding: `make demo` says what it is doing before
// the build that takes a minute on a fresh machine.
func TestMakeDemoSaysItIsBuilding(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command(makeBin, "-n", "demo")
	cmd.Dir = moduleRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n demo: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	say := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "building dsr: about a minute the first time") })
	build := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, " build ") && strings.Contains(l, "./cmd/dsr") })
	demo := slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, " demo") && strings.Contains(l, "dsr") })
	if say < 0 || build < 0 || demo < 0 || !(say < build && build < demo) {
		t.Errorf("make demo should say it is building, build, then run the demo; it runs:\n%s", out)
	}
}
