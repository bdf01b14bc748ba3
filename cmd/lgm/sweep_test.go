package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/sweep"
)

// The flags of lgm sweep become its options; the options know the
// commands of the binary and compare in-process.
func TestSweepOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	os.WriteFile(file, []byte("configs: [mnist-lgm]\nseeds: [1, 2]\n"), 0o644)
	var got sweep.Options
	var loaded *sweep.Sweep
	var out bytes.Buffer
	io := streams{out: &out, err: &out}
	newRoot := func() *cobra.Command { // flags keep their values: a new one per case
		root := &cobra.Command{Use: "lgm", SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(newSweepCmd(io, func(_ *cobra.Command, s *sweep.Sweep, o sweep.Options) error {
			got, loaded = o, s
			return nil
		}), newTrainCmd(io, nil))
		return root
	}
	for _, c := range []struct {
		args          []string
		jobs, threads int
		dry           bool
		out           string
	}{
		{[]string{"sweep", file}, runtime.NumCPU(), 1, false, ""}, // one one-thread run per core
		{[]string{"sweep", file, "--jobs", "2", "--threads-per-job", "3", "--dry-run", "--out", "x"}, 2, 3, true, "x"},
		{[]string{"sweep", file, "-j", "4", "-n", "-o", "y"}, 4, max(1, runtime.NumCPU()/4), true, "y"},
	} {
		root := newRoot()
		root.SetArgs(c.args)
		if err := root.Execute(); err != nil {
			t.Errorf("case %v: %v", c.args, err)
			continue
		}
		if got.Jobs != c.jobs || got.Threads != c.threads || got.DryRun != c.dry || got.Out != c.out || got.Exe == "" || len(loaded.Runs) != 2 {
			t.Errorf("case %v: got %+v, want jobs %d threads %d dry %v out %q", c.args, got, c.jobs, c.threads, c.dry, c.out)
		}
	}
	if !got.Has("train") || got.Has("attack-nope") {
		t.Errorf("Has: train %v, attack-nope %v", got.Has("train"), got.Has("attack-nope"))
	}
	run := filepath.Join(dir, "runs", "lgm-s1")
	writeRun(t, run, "lgm", 3, []float64{0.05, 0.0053}, 60)
	var table bytes.Buffer
	if err := got.Compare(&table, []string{run}); err != nil || !strings.Contains(table.String(), "0.53% (53/10000)") {
		t.Errorf("compare: %v\n%s", err, table.String())
	}
}

func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("configs: [mnist-lgm]\nset:\n  train.epochs: 10\nseeds: [1]\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("configs: [mnist-lgm]\nseed: [1]\n"), 0o644)
	// A run directory with the shipped 50 epochs: refused.
	taken := filepath.Join(dir, "taken")
	code, cfg, _ := lgm(t, "config", "show", "--config", "mnist-lgm")
	if code != 0 {
		t.Fatal(cfg)
	}
	os.MkdirAll(filepath.Join(taken, "mnist-lgm-s1"), 0o755)
	os.WriteFile(filepath.Join(taken, "mnist-lgm-s1", "config.yaml"), []byte(cfg), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep"}, exitUsage, "accepts 1 arg(s)"},
		{[]string{"sweep", good, "--emit", "pbs"}, exitUsage, `--emit "pbs": the only scheduler is slurm`},
		{[]string{"sweep", good, "--jobs", "0"}, exitUsage, "--jobs must be >= 1"},
		{[]string{"sweep", good, "--threads-per-job", "0"}, exitUsage, "--threads-per-job must be between 1 and 256"},
		{[]string{"sweep", good, "--dryrun"}, exitUsage, "unknown flag: --dryrun"},
		{[]string{"sweep", bad}, exitUsage, "unknown key seed (valid keys there:"},
		{[]string{"sweep", filepath.Join(dir, "none.yaml")}, exitUsage, "no such file"},
		{[]string{"sweep", good, "--out", taken}, exitUsage, "train.epochs is 50 there, 10 in the sweep"},
		{[]string{"sweep", good, "--out", taken, "--dry-run"}, exitUsage, "refused"},
		{[]string{"sweep", good, "--out", taken, "--emit", "slurm"}, exitUsage, "train.epochs is 50 there"},
	} {
		code, out, errs := lgm(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("case %v: got exit %d, %q %q; want %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	code, out, _ := lgm(t, "sweep", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--emit slurm") {
		t.Errorf("help: %d %s", code, out)
	}
	// A dry run of a new sweep prints its runs and writes nothing.
	fresh := filepath.Join(dir, "fresh")
	code, out, _ = lgm(t, "sweep", good, "--dry-run", "--out", fresh)
	if code != 0 || !strings.Contains(out, "mnist-lgm-s1  new") {
		t.Errorf("dry run: %d %s", code, out)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("the dry run created %s", fresh)
	}
	// --emit slurm writes both scripts and prints how to submit them.
	code, out, _ = lgm(t, "sweep", good, "--emit", "slurm", "--out", fresh, "--threads-per-job", "2")
	if code != 0 || !strings.Contains(out, "sbatch --dependency=afterok:") {
		t.Errorf("emit: %d %s", code, out)
	}
	for _, f := range []string{"sweep.sbatch", "after.sbatch"} {
		if raw, err := os.ReadFile(filepath.Join(fresh, f)); err != nil || !strings.Contains(string(raw), "#SBATCH --cpus-per-task=2") {
			t.Errorf("%s: %v", f, err)
		}
	}
}
