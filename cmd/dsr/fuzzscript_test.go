package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFuzzScriptTellsTheDeadlineRace runs scripts/fuzz.sh with a stand-in
// go command: a run that fails only with Go 1.26's bare "context deadline
// exceeded" passes when its corpus replays; one whose replay fails, or
// that wrote a failing input, or that failed otherwise, fails make fuzz.
func TestFuzzScriptTellsTheDeadlineRace(t *testing.T) {
	script, err := filepath.Abs(filepath.Join(moduleRoot, "scripts", "fuzz.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		fuzzOut  string // what the fuzzing run prints; it exits 1 unless empty
		write    bool   // the fuzzing run writes a failing input
		replayOK bool
		wantOK   bool
	}{
		{"passes", "", false, true, true},
		{"deadline race, corpus replays", "--- FAIL: FuzzX (9.02s)\n    context deadline exceeded\nFAIL\n", false, true, true},
		{"deadline race, corpus fails", "--- FAIL: FuzzX (9.02s)\n    context deadline exceeded\nFAIL\n", false, false, false},
		{"failing input written", "--- FAIL: FuzzX (9.02s)\n    context deadline exceeded\nFAIL\n", true, true, false},
		{"another failure", "--- FAIL: FuzzX (0.10s)\n    x_test.go:9: wrong\n    Failing input written to testdata/fuzz/FuzzX/abc\nFAIL\n", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pkgDir := filepath.Join(dir, "pkg")
			fuzzExit, replayExit, write := "1", "1", ""
			if tc.fuzzOut == "" {
				fuzzExit = "0"
			}
			if tc.replayOK {
				replayExit = "0"
			}
			if tc.write {
				write = "mkdir -p " + pkgDir + "/testdata/fuzz/FuzzX && touch " + pkgDir + "/testdata/fuzz/FuzzX/abc"
			}
			fake := "#!/bin/sh\ncase \"$*\" in\n" +
				"\"list ./...\") echo example/pkg ;;\n" +
				"\"test -list ^Fuzz example/pkg\") echo FuzzX; echo ok ;;\n" +
				"list\\ -f*) echo " + pkgDir + " ;;\n" +
				"*-fuzz*) printf '%s' '" + strings.ReplaceAll(tc.fuzzOut, "'", "") + "'; " + write + "\n exit " + fuzzExit + " ;;\n" +
				"*-count=1*) exit " + replayExit + " ;;\n" +
				"esac\n"
			goCmd := filepath.Join(dir, "go")
			if err := os.WriteFile(goCmd, []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", script)
			cmd.Env = append(os.Environ(), "GO="+goCmd, "FUZZTIME=1s")
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != tc.wantOK {
				t.Errorf("make fuzz passed: %v, want %v\n%s", ok, tc.wantOK, out)
			}
		})
	}
}
