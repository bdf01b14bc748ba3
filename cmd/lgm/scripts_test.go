package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
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

// TestPublishResults runs scripts/publish-results.sh on a finished one-run
// sweep (a tiny MNIST-shaped data set, one epoch): it copies the run's
// config and metrics into OUT/runs/NAME and draws the report and the
// comparison naming the run by its name, not its path; published again after
// the run directory is gone (a sweep finished over several machines), it keeps
// the published copy and says so; with neither, it fails.
func TestPublishResults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lgm and trains: not with -short")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command: the script builds lgm")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3: the script writes machine.md with it")
	}
	tmp := t.TempDir()
	data := mnistDir(t, 40, 10)
	file, runs, out := filepath.Join(tmp, "tiny.yaml"), filepath.Join(tmp, "runs"), filepath.Join(tmp, "published")
	os.WriteFile(file, []byte("name: tiny\nset:\n  data.dir: "+data+"\n  train.epochs: 1\n  train.batch: 10\nconfigs: [mnist-softmax]\nseeds: [1]\n"), 0o644)
	// The sweep's own command for its one run, trained here in-process.
	code, plan, stderr := lgm(t, "sweep", file, "--dry-run", "--out", runs)
	if code != exitOK {
		t.Fatalf("sweep --dry-run: exit %d, %s", code, stderr)
	}
	var cmd []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.HasPrefix(line, "    ") {
			cmd = strings.Fields(line)[1:]
		}
	}
	if len(cmd) == 0 || cmd[0] != "train" {
		t.Fatalf("no train command in the dry run:\n%s", plan)
	}
	if code, _, stderr := lgm(t, cmd...); code != exitOK {
		t.Fatalf("lgm %v: exit %d, %s", cmd, code, stderr)
	}
	run := filepath.Join(runs, "mnist-softmax-s1")
	if code, _, stderr := lgm(t, "attack", run, "--eps", "0,0.1", "--limit", "10", "--threads", "1"); code != exitOK {
		t.Fatalf("lgm attack: exit %d, %s", code, stderr)
	}
	publish := func(out string) (string, error) {
		b, err := exec.Command(bash, "../../scripts/publish-results.sh", file, runs, out).CombinedOutput()
		return string(b), err
	}
	check := func(when string) {
		for _, f := range []string{"runs/mnist-softmax-s1/config.yaml", "runs/mnist-softmax-s1/metrics.jsonl", "report.md", "compare.md", "machine.md"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
		cmp, _ := os.ReadFile(filepath.Join(out, "compare.md"))
		if !strings.Contains(string(cmp), "| mnist-softmax-s1 |") || strings.Contains(string(cmp), tmp) {
			t.Errorf("%s: compare.md does not name the run by its name alone:\n%s", when, cmp)
		}
		// The attack summary is published beside the runs and feeds the
		// report's attack tables, also when the run directory is not here.
		if _, err := os.Stat(filepath.Join(out, "mnist-softmax-s1-attack-fgsm.json")); err != nil {
			t.Errorf("%s: %v", when, err)
		}
		if rep, _ := os.ReadFile(filepath.Join(out, "report.md")); !strings.Contains(string(rep), "## Adversarial detection") {
			t.Errorf("%s: report.md has no attack section:\n%s", when, rep)
		}
		// machine.md names the CPU that trained the run, as metrics.jsonl has it.
		if m, _ := os.ReadFile(filepath.Join(out, "machine.md")); !strings.Contains(string(m), experiment.HostCPU().String()+" (epoch 1) |") {
			t.Errorf("%s: machine.md does not name the CPU %q that trained the run:\n%s", when, experiment.HostCPU().String(), m)
		}
	}
	if msg, err := publish(out); err != nil {
		t.Fatalf("publish: %v\n%s", err, msg)
	}
	check("published")
	if err := os.Rename(run, filepath.Join(tmp, "moved")); err != nil {
		t.Fatal(err)
	}
	msg, err := publish(out)
	if err != nil || !strings.Contains(msg, "mnist-softmax-s1 is new here: kept as published before") {
		t.Errorf("published again without the run directory: %v\n%s", err, msg)
	}
	check("published again")
	msg, err = publish(filepath.Join(tmp, "empty"))
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(msg, "no finished or published runs") {
		t.Errorf("nothing to publish: %v\n%s", err, msg)
	}
}
