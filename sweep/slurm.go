package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lgm-dev/lgm/experiment"
)

// Slurm is the text of the two batch scripts of a sweep on a Slurm cluster.
type Slurm struct {
	Sweep string // sweep.sbatch: the job array, one task per run
	After string // after.sbatch: compare, attack and report, once every task succeeded
	// Notes are things the user should know (steps left out, runs locked).
	Notes []string
}

// SlurmOptions say what the scripts run and where.
type SlurmOptions struct {
	Exe     string // the lgm executable on the cluster's nodes (absolute)
	Out     string // the sweep's run directories' parent (absolute)
	Workdir string // the folder the jobs run in (absolute): relative config paths are relative to it
	Threads int    // --cpus-per-task
	Has     func(command string) bool
}

// Scripts writes the batch scripts of s for the runs states (in s's order,
// one array task each: task i is states[i]).
func Scripts(s *Sweep, states []State, o SlurmOptions) Slurm {
	if o.Has == nil {
		o.Has = func(string) bool { return true }
	}
	var out Slurm
	n := len(states)
	logs := filepath.Join(o.Out, ".slurm")
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("#!/bin/bash")
	w("# lgm sweep %s: %d runs, one task of this Slurm job array each. Written by", s.Name, n)
	w("#   lgm sweep %s --emit slurm --out %s --threads-per-job %d", shellQuote(s.Path), shellQuote(o.Out), o.Threads)
	w("# Submit it and the after steps (after.sbatch, once every task succeeded) with")
	for _, l := range SubmitCommands(o.Out) {
		w("#   %s", l)
	}
	w("# Each task trains its run, resumes it if the run directory holds a checkpoint,")
	w("# or does nothing if the run has finished: --requeue and preemption lose at most")
	w("# the last %s of training (--save-every). A task's output goes to its run's train.log.", SaveEvery)
	w("#SBATCH --job-name=lgm-%s", s.Name)
	w("#SBATCH --array=0-%d", n-1)
	w("#SBATCH --ntasks=1")
	w("#SBATCH --cpus-per-task=%d", o.Threads)
	w("#SBATCH --requeue")
	w("#SBATCH --chdir=%s", o.Workdir)
	w("#SBATCH --output=%s/%%A_%%a.out", logs)
	w("#SBATCH --open-mode=append")
	w("set -u")
	w("lgm=%s", shellQuote(o.Exe))
	w("threads=${SLURM_CPUS_PER_TASK:-%d}", o.Threads)
	w(`task=${SLURM_ARRAY_TASK_ID:?run this script with sbatch: it is one task of a job array}`)
	w("case $task in")
	for i, st := range states {
		args := []string{"train", "--config", st.Config}
		for _, set := range st.Sets {
			args = append(args, "--set", set)
		}
		args = append(args, "--seed", fmt.Sprint(st.Seed))
		w("%d) run=%s epochs=%d", i, shellQuote(st.Name), st.Resolved.Train.Epochs)
		w("   train=(%s) ;;", shellJoin(args))
		if st.Status == StatusElsewhere {
			out.Notes = append(out.Notes, fmt.Sprintf("run %s is training elsewhere (%s): its task fails on the lock unless that process has finished by then", st.Name, st.detail()))
		}
	}
	w(`*) echo "lgm sweep: no run for array task $task (this array has %d)" >&2; exit 2 ;;`, n)
	w("esac")
	w("dir=%s/$run", shellQuote(o.Out))
	w(`mkdir -p "$dir" || exit 1`)
	w(`exec >>"$dir/train.log" 2>&1`)
	w(`echo "== $(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ) Slurm job ${SLURM_ARRAY_JOB_ID:-?} task $task (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname)"`)
	w("# lgm train writes the checkpoint before the epoch's line of metrics.jsonl, so a")
	w("# line for the last epoch means a finished checkpoint.")
	w(`if [ -f "$dir/%s" ] && [ "$(wc -l <"$dir/%s")" -ge "$epochs" ]; then`, experiment.MetricsFile, experiment.MetricsFile)
	w(`  echo "$run: finished all $epochs epochs"`)
	w("  exit 0")
	w("fi")
	w(`if [ -f "$dir/%s" ]; then`, experiment.CheckpointFile)
	w(`  exec "$lgm" train --resume "$dir" --save-every %s`, SaveEvery)
	w("fi")
	w("# No checkpoint: a new run, or one stopped before its first checkpoint (start over).")
	w(`rm -f "$dir/%s" "$dir/%s"`, experiment.ConfigFile, experiment.MetricsFile)
	w(`exec "$lgm" "${train[@]}" --threads "$threads" --save-every %s --out "$dir"`, SaveEvery)
	out.Sweep = b.String()

	b.Reset()
	w("#!/bin/bash")
	w("# The after steps of lgm sweep %s: compare (into compare.txt), then", s.Name)
	w("# attack each run and report, as the sweep file says. Submitted with")
	w("# --dependency=afterok on sweep.sbatch: it runs once every run finished.")
	w("#SBATCH --job-name=lgm-%s-after", s.Name)
	w("#SBATCH --ntasks=1")
	w("#SBATCH --cpus-per-task=%d", o.Threads)
	w("#SBATCH --chdir=%s", o.Workdir)
	w("#SBATCH --output=%s/after-%%j.out", logs)
	w("set -euo pipefail")
	w("lgm=%s", shellQuote(o.Exe))
	w("threads=${SLURM_CPUS_PER_TASK:-%d}", o.Threads)
	var dirs []string
	for _, st := range states {
		dirs = append(dirs, filepath.Join(o.Out, st.Name))
	}
	w("runs=(")
	for _, d := range dirs {
		w("  %s", shellQuote(d))
	}
	w(")")
	w(`"$lgm" compare "${runs[@]}" | tee %s`, shellQuote(filepath.Join(o.Out, "compare.txt")))
	if a := s.After.Attack; a != nil {
		if o.Has("attack") {
			w(`for dir in "${runs[@]}"; do`)
			w(`  "$lgm" attack "$dir" --method %s --eps %s --threads "$threads"`, shellQuote(a.Method), shellQuote(strings.Join(a.Eps, ",")))
			w("done")
		} else {
			w("# after.attack left out: %s has no attack command", o.Exe)
			out.Notes = append(out.Notes, fmt.Sprintf("after.attack left out of after.sbatch: %s has no attack command; emit again with an lgm that has it", o.Exe))
		}
	}
	if s.After.Report {
		if o.Has("report") {
			w(`"$lgm" report "${runs[@]}" --out %s`, shellQuote(filepath.Join(o.Out, "report")))
		} else {
			w("# after.report left out: %s has no report command", o.Exe)
			out.Notes = append(out.Notes, fmt.Sprintf("after.report left out of after.sbatch: %s has no report command; emit again with an lgm that has it", o.Exe))
		}
	}
	out.After = b.String()
	return out
}

// SubmitCommands are the shell commands that submit the scripts in out.
func SubmitCommands(out string) []string {
	return []string{
		fmt.Sprintf("id=$(sbatch --parsable %s)", shellQuote(filepath.Join(out, "sweep.sbatch"))),
		fmt.Sprintf("sbatch --dependency=afterok:${id%%%%;*} %s", shellQuote(filepath.Join(out, "after.sbatch"))),
	}
}

// EmitSlurm writes out/sweep.sbatch and out/after.sbatch for s and prints
// how to submit them (with o.DryRun, prints the scripts instead).
func EmitSlurm(s *Sweep, o Options) error {
	out, err := filepath.Abs(o.OutDir(s))
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	exe, err := filepath.Abs(o.Exe)
	if err != nil {
		return err
	}
	if o.Threads < 1 {
		return &experiment.SetupError{Err: fmt.Errorf("--threads-per-job must be >= 1 (got %d)", o.Threads)}
	}
	states := Plan(s, out)
	if err := Refused(states); err != nil {
		return err
	}
	sc := Scripts(s, states, SlurmOptions{Exe: exe, Out: out, Workdir: wd, Threads: o.Threads, Has: o.Has})
	if o.DryRun {
		fmt.Fprintf(o.Stdout, "# %s\n%s\n# %s\n%s", filepath.Join(out, "sweep.sbatch"), sc.Sweep, filepath.Join(out, "after.sbatch"), sc.After)
	} else {
		if err := os.MkdirAll(filepath.Join(out, ".slurm"), 0o755); err != nil { // Slurm does not create the --output folder
			return &experiment.SetupError{Err: fmt.Errorf("--out %s: %w", out, err)}
		}
		for name, text := range map[string]string{"sweep.sbatch": sc.Sweep, "after.sbatch": sc.After} {
			if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o755); err != nil {
				return err
			}
		}
		fmt.Fprintf(o.Stdout, "wrote %s (%d array tasks, %d CPUs each) and %s; %s\n",
			filepath.Join(out, "sweep.sbatch"), len(states), o.Threads, filepath.Join(out, "after.sbatch"), counts(states))
	}
	for _, n := range sc.Notes {
		fmt.Fprintf(o.Stdout, "note: %s\n", n)
	}
	fmt.Fprintln(o.Stdout, "submit with:")
	for _, l := range SubmitCommands(out) {
		fmt.Fprintf(o.Stdout, "  %s\n", l)
	}
	return nil
}
