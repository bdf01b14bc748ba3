package sweep

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func slurmSweep(t *testing.T) (*Sweep, string) {
	t.Helper()
	s := sweepOf(t, "name: tiny\nconfigs: [mnist-softmax, mnist-lgm]\nset:\n  model.net: lenet\n  train.epochs: 2\n  train.limit: 5\nseeds: [1, 2]\nafter:\n  attack: {method: fgsm, eps: [0, 0.1]}\n  report: true\n")
	return s, t.TempDir()
}

func TestSlurmScripts(t *testing.T) {
	s, out := slurmSweep(t)
	sc := Scripts(s, Plan(s, out), SlurmOptions{Exe: "/opt/lgm", Out: out, Workdir: "/home/u/lgm", Threads: 3})
	for _, w := range []string{
		"#SBATCH --array=0-3\n", "#SBATCH --cpus-per-task=3\n", "#SBATCH --requeue\n", "#SBATCH --chdir=/home/u/lgm\n",
		"#SBATCH --output=" + out + "/.slurm/%A_%a.out\n",
		"threads=${SLURM_CPUS_PER_TASK:-3}\n",
		"0) run=mnist-softmax-s1 epochs=2\n   train=(train --config mnist-softmax --set model.net=lenet --set train.epochs=2 --set train.limit=5 --seed 1) ;;\n",
		"3) run=mnist-lgm-s2 epochs=2\n",
		`exec "$lgm" train --resume "$dir" --save-every 5m`,
		`exec "$lgm" "${train[@]}" --threads "$threads" --save-every 5m --out "$dir"`,
		"id=$(sbatch --parsable " + out + "/sweep.sbatch)",
	} {
		if !strings.Contains(sc.Sweep, w) {
			t.Errorf("sweep.sbatch lacks %q:\n%s", w, sc.Sweep)
		}
	}
	for _, w := range []string{
		"#SBATCH --cpus-per-task=3\n", "set -euo pipefail\n",
		"  " + filepath.Join(out, "mnist-lgm-s2") + "\n)\n",
		`"$lgm" compare "${runs[@]}" | tee ` + filepath.Join(out, "compare.txt"),
		`"$lgm" attack "$dir" --method fgsm --eps 0,0.1 --threads "$threads"`,
		`"$lgm" report "${runs[@]}" --out ` + filepath.Join(out, "report"),
	} {
		if !strings.Contains(sc.After, w) {
			t.Errorf("after.sbatch lacks %q:\n%s", w, sc.After)
		}
	}
	if got := SubmitCommands("/r")[1]; got != "sbatch --dependency=afterok:${id%%;*} /r/after.sbatch" {
		t.Errorf("submit: %s", got)
	}
	// Without attack and report commands, the steps are left out and said.
	sc = Scripts(s, Plan(s, out), SlurmOptions{Exe: "/opt/lgm", Out: out, Workdir: "/w", Threads: 1, Has: func(string) bool { return false }})
	if strings.Contains(sc.After, `"$lgm" attack`) || strings.Contains(sc.After, `"$lgm" report`) || len(sc.Notes) != 2 {
		t.Errorf("steps not left out: notes %v\n%s", sc.Notes, sc.After)
	}
}

// Each array task, run by bash with a fake lgm: a new run trains, one with
// a checkpoint resumes, a finished one runs nothing.
func TestSlurmTask(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	s, out := slurmSweep(t)
	fake := filepath.Join(t.TempDir(), "lgm")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"lgm $*\"\n"), 0o755)
	writeRun(t, filepath.Join(out, "mnist-lgm-s1"), s.Runs[1], "", 1)
	writeRun(t, filepath.Join(out, "mnist-softmax-s2"), s.Runs[2], "", 2)
	os.WriteFile(filepath.Join(out, "mnist-softmax-s2", "metrics.jsonl"), []byte("{}\n{}\n"), 0o644)
	sc := Scripts(s, Plan(s, out), SlurmOptions{Exe: fake, Out: out, Workdir: out, Threads: 2})
	script := filepath.Join(out, "sweep.sbatch")
	os.WriteFile(script, []byte(sc.Sweep), 0o755)
	for task, want := range []string{
		"lgm train --config mnist-softmax --set model.net=lenet --set train.epochs=2 --set train.limit=5 --seed 1 --threads 4 --save-every 5m --out " + filepath.Join(out, "mnist-softmax-s1"),
		"lgm train --resume " + filepath.Join(out, "mnist-lgm-s1") + " --save-every 5m",
		"mnist-softmax-s2: finished all 2 epochs",
	} {
		cmd := exec.Command(bash, script)
		cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", task), "SLURM_CPUS_PER_TASK=4")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("task %d: %v %s", task, err, stderr.String())
			continue
		}
		name := s.Runs[task].Name
		log, _ := os.ReadFile(filepath.Join(out, name, "train.log"))
		if !strings.Contains(string(log), want+"\n") {
			t.Errorf("task %d: log lacks %q:\n%s", task, want, log)
		}
	}
	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=9")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no run for array task 9 (this array has 4)") {
		t.Errorf("task 9: %v %s", err, out)
	}
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("sweep.sbatch: %v %s", err, out)
	}
	after := filepath.Join(out, "after.sbatch")
	os.WriteFile(after, []byte(sc.After), 0o755)
	if out, err := exec.Command(bash, "-n", after).CombinedOutput(); err != nil {
		t.Errorf("after.sbatch: %v %s", err, out)
	}
}
