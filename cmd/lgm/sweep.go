package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/sweep"
)

// sweepOptions are the flags of lgm sweep.
type sweepOptions struct {
	jobs    int
	threads int
	dryRun  bool
	emit    string
	out     string
}

// sweepFunc runs a loaded sweep; tests replace sweep.Run.
type sweepFunc func(cmd *cobra.Command, s *sweep.Sweep, o sweep.Options) error

func newSweepCmd(io streams, runF sweepFunc) *cobra.Command {
	o := &sweepOptions{}
	cmd := &cobra.Command{
		Use:   "sweep SWEEP.yaml",
		Short: "Train a grid of runs (configs × overrides × seeds), here or as a Slurm job array",
		Long: `Train every run of a sweep file, each as its own lgm train process, at most --jobs at a
time with --threads-per-job threads each, into one run directory per run under --out
(default runs/<sweep name>/), named <config>[_<key><value>...]-s<seed> from the grid keys
that vary. Finished runs are skipped, interrupted ones resumed from their checkpoints, and a
run directory locked by another lgm is reported as running elsewhere and skipped. A run
directory whose config.yaml differs from what the sweep would run is refused, naming the
keys that differ. Ctrl-C stops every training at a safe point (each saves its checkpoint);
running the same command again continues. The sweep ends with lgm compare of all runs, and
runs the sweep file's after steps: lgm attack on each finished run, lgm report once all
have finished. A failed run does not stop the others; the exit code is then 1.

A sweep file:

  name: mnist-heads                      # default: the file's name
  set:                                   # --set overrides of every run
    train.epochs: 10
  configs: [mnist-softmax, mnist-lgm]    # shipped config names or config files
  grid:                                  # every combination of these values…
    head.alpha: [0.5, 1]
  seeds: [1, 2, 3]                       # …with every seed
  runs:                                  # more groups, each with configs, set, grid, seeds
    - configs: [mnist-gm]
      seeds: [1]
  after:
    attack: {method: fgsm, eps: [0, 0.1, 0.2, 0.3]}
    report: true

--emit slurm writes DIR/sweep.sbatch (a job array, one task per run, requeue-safe) and
DIR/after.sbatch (the after steps), and prints the two sbatch commands that submit them.`,
		Example: `  # what would run, and in which state each run directory is
  lgm sweep sweeps/mnist-table6.yaml --dry-run

  # two one-thread trainings at a time (on two cores this beats one two-thread run)
  lgm sweep sweeps/mnist-table6.yaml --jobs 2 --threads-per-job 1

  # on a Slurm cluster: write the scripts, then submit them as printed
  lgm sweep sweeps/mnist-figure1.yaml --emit slurm --threads-per-job 4 --out /scratch/runs/figure1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.jobs < 1 {
				return usageError{fmt.Errorf("--jobs must be >= 1 (got %d)", o.jobs), true}
			}
			if !cmd.Flags().Changed("threads-per-job") {
				o.threads = max(1, runtime.NumCPU()/o.jobs)
			}
			if o.threads < 1 || o.threads > 256 {
				return usageError{fmt.Errorf("--threads-per-job must be between 1 and 256 (got %d)", o.threads), true}
			}
			if o.emit != "" && o.emit != "slurm" {
				return usageError{fmt.Errorf("--emit %q: the only scheduler is slurm (--emit slurm)", o.emit), true}
			}
			s, err := sweep.Load(args[0])
			if err != nil {
				return usageError{err: err}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("cannot find the lgm executable the runs need: %w", err)
			}
			root := cmd.Root()
			opts := sweep.Options{
				Out: o.out, Jobs: o.jobs, Threads: o.threads, DryRun: o.dryRun, Exe: exe,
				Stdout: io.out, Terminal: io.terminal, ProgressEvery: time.Minute,
				Compare: func(w ioWriter, dirs []string) error { return compareDirs(streams{out: w, err: io.err}, dirs) },
				Has: func(name string) bool {
					for _, c := range root.Commands() {
						if c.Name() == name {
							return true
						}
					}
					return false
				},
			}
			if o.emit == "slurm" {
				return sweep.EmitSlurm(s, opts)
			}
			if runF == nil {
				return sweep.Run(cmd.Context(), s, opts)
			}
			return runF(cmd, s, opts)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.jobs, "jobs", "j", runtime.NumCPU(), "trainings at a time (default: one per core, each with one thread: on a small machine several one-thread runs use the cores better than one run on all of them)")
	f.IntVar(&o.threads, "threads-per-job", 0, "threads of each training, its --threads (default: the cores divided by --jobs); with --emit slurm, --cpus-per-task")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "print every run (name, status new/restart/resume/done/running-elsewhere, the exact command) and run nothing; writes nothing")
	f.StringVar(&o.emit, "emit", "", "write batch scripts for a scheduler instead of running: slurm")
	f.StringVarP(&o.out, "out", "o", "", "`folder` of the run directories (default runs/<sweep name>)")
	return cmd
}

// ioWriter is io.Writer (the streams parameter shadows the package).
type ioWriter = io.Writer

// compareDirs prints lgm compare of the run directories.
func compareDirs(io streams, dirs []string) error {
	runs := make([]runSummary, 0, len(dirs))
	var errs []error
	for _, dir := range dirs {
		r, err := summarize(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		runs = append(runs, r)
	}
	if len(runs) > 0 {
		if err := printSummary(io, runs, false); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
