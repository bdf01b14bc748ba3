package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptsHaveUsage: every script in scripts/ prints a usage line for
// -h and --help (exit 0, nothing started) and refuses an unknown argument
// (exit 2).
func TestScriptsHaveUsage(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	scripts, _ := filepath.Glob("../../scripts/*.sh")
	if len(scripts) == 0 {
		t.Fatal("no scripts found")
	}
	for _, s := range scripts {
		for _, arg := range []string{"-h", "--help"} {
			out, err := exec.Command(bash, s, arg).CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "usage: scripts/"+filepath.Base(s)) {
				t.Errorf("case %s %s: %v, printed %q; want exit 0 and a usage line", filepath.Base(s), arg, err, out)
			}
		}
		out, err := exec.Command(bash, s, "--no-such-option").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "unknown argument --no-such-option") {
			t.Errorf("case %s --no-such-option: %v, printed %q; want exit 2 naming it", filepath.Base(s), err, out)
		}
	}
}
