package experiment

import (
	"context"
	"errors"
	"github.com/lgm-dev/lgm/data"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestResumeIsBitExact interrupts a run at several places — mid-epoch, at
// the last batch of an epoch, before the first step — resumes it, and
// compares its metrics and final checkpoint with an unbroken run.
func TestResumeIsBitExact(t *testing.T) {
	cfg := smallConfig()
	data := func() TrainOptions {
		return TrainOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	}
	whole := unbroken(t, cfg)
	cases := []struct {
		name         string
		epoch, batch int // interrupt after this step (0-based)
	}{
		{"mid epoch 2", 1, 2},
		{"last batch of epoch 1", 0, 6},
		{"first batch", 0, 0},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithCancel(context.Background())
		opts := data()
		opts.Out = dir
		opts.afterStep = func(e, b int) {
			if e == c.epoch && b == c.batch {
				cancel()
			}
		}
		err := Train(ctx, cfg, opts)
		cancel()
		if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "lgm train --resume "+dir) {
			t.Fatalf("case %v: got %v, want an interruption that says how to resume", c.name, err)
		}
		opts = data()
		opts.Out = dir
		if err := Resume(context.Background(), 0, opts); err != nil {
			t.Fatalf("case %v: resume: %v", c.name, err)
		}
		whole.check(t, c.name, dir)
	}
}

// TestPeriodicSaveResumesBitExact saves mid-epoch after every step
// (SaveEvery), copies the run directory as it is after one of those saves —
// what a run killed there without warning leaves — and resumes the copy: its
// metrics and final checkpoint must equal an unbroken run's.
func TestPeriodicSaveResumesBitExact(t *testing.T) {
	cfg := smallConfig()
	data := func() TrainOptions {
		return TrainOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	}
	whole := unbroken(t, cfg)
	dir, killed := filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "killed")
	opts := data()
	opts.Out, opts.SaveEvery = dir, time.Nanosecond
	opts.afterStep = func(e, b int) {
		if e != 1 || b != 2 {
			return
		}
		if err := os.MkdirAll(killed, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile} {
			raw, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(killed, f), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := Train(context.Background(), cfg, opts); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	opts = data()
	opts.Out, opts.Stdout = killed, &out
	if err := Resume(context.Background(), 0, opts); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if !strings.Contains(out.String(), "resuming at epoch 2, batch 4") {
		t.Errorf("resume output %q: want it to start after the saved step (epoch 2, batch 4)", out.String())
	}
	whole.check(t, "killed after a periodic save", killed)
}

// unbrokenRun is what an uninterrupted run of a config leaves: its metrics
// without the timing fields and its final checkpoint.
type unbrokenRun struct {
	metrics []Metrics
	ck      *Checkpoint
}

func unbroken(t *testing.T, cfg Config) unbrokenRun {
	t.Helper()
	dir := trainSmall(t, cfg)
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	return unbrokenRun{withoutTiming(readMetrics(t, dir)), ck}
}

// check requires the run in dir to have ended exactly as the unbroken one:
// the same metrics, weights and solver state.
func (u unbrokenRun) check(t *testing.T, name, dir string) {
	t.Helper()
	got := withoutTiming(readMetrics(t, dir))
	if len(got) != len(u.metrics) {
		t.Fatalf("case %v: %d metrics lines, want %d", name, len(got), len(u.metrics))
	}
	for i := range u.metrics {
		if !equalMetrics(got[i], u.metrics[i]) {
			t.Errorf("case %v: epoch %d got %+v, want %+v", name, i+1, got[i], u.metrics[i])
		}
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ck.Tensors, u.ck.Tensors) {
		t.Errorf("case %v: final weights or solver state differ from the unbroken run", name)
	}
}

func TestResumeRefusals(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	opts := TrainOptions{Out: dir, Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	if err := Resume(context.Background(), 0, opts); err == nil || !strings.Contains(err.Error(), "--epochs") {
		t.Errorf("finished run: got %v, want a hint to pass --epochs", err)
	}
	// Training a finished run longer continues from its last epoch.
	if err := Resume(context.Background(), 4, opts); err != nil {
		t.Fatalf("extend to 4 epochs: %v", err)
	}
	if n := len(readMetrics(t, dir)); n != 4 {
		t.Errorf("extended run has %d metrics lines, want 4", n)
	}
	// An altered checkpoint is refused.
	p := filepath.Join(dir, CheckpointFile)
	raw, _ := os.ReadFile(p)
	raw[len(raw)-3] ^= 0x40
	os.WriteFile(p, raw, 0o644)
	if err := Resume(context.Background(), 9, opts); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("altered checkpoint: got %v, want a checksum error", err)
	}
	if _, err := Evaluate(context.Background(), dir, RunOptions{Train: opts.Train, Test: opts.Test}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("eval of altered checkpoint: got %v, want a checksum error", err)
	}
	opts.Out = filepath.Join(t.TempDir(), "none")
	if err := Resume(context.Background(), 0, opts); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing run: got %v", err)
	}
}

// TestResumeWithAugmentation checks bit-exact resume when the augmentation
// stream is in play too.
func TestResumeWithAugmentation(t *testing.T) {
	cfg := smallConfig()
	cfg.Data.Augment = true
	whole := trainSmall(t, cfg)
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	opts := TrainOptions{Out: dir, Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2),
		afterStep: func(e, b int) {
			if e == 1 && b == 3 {
				cancel()
			}
		}}
	if err := Train(ctx, cfg, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want an interruption", err)
	}
	opts.afterStep = nil
	opts.Train, opts.Test = synthetic("synth/train", 200, 4, 1), synthetic("synth/test", 70, 4, 2)
	if err := Resume(context.Background(), 0, opts); err != nil {
		t.Fatal(err)
	}
	a, b := withoutTiming(readMetrics(t, whole)), withoutTiming(readMetrics(t, dir))
	for i := range a {
		if !equalMetrics(a[i], b[i]) {
			t.Errorf("epoch %d got %+v, want %+v", i+1, b[i], a[i])
		}
	}
	plain := readMetrics(t, trainSmall(t, smallConfig()))
	if plain[0].TrainLoss == a[0].TrainLoss {
		t.Errorf("augmentation changed nothing: train loss %v both ways", a[0].TrainLoss)
	}
}

// TestVGGTrainsResumesAndEvaluates covers BatchNorm in the trainer: running
// statistics are saved, restored on resume (bit-exact) and used by eval.
func TestVGGTrainsResumesAndEvaluates(t *testing.T) {
	cfg := smallConfig()
	cfg.Model.Net, cfg.Model.Width, cfg.Train.Epochs = "vgg", 0.05, 2
	sets := func() (*data.Set, *data.Set) {
		return syntheticC("rgb/train", 200, 4, 3, 1), syntheticC("rgb/test", 70, 4, 3, 2)
	}
	run := func(dir string, stopAt int) error {
		tr, te := sets()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return Train(ctx, cfg, TrainOptions{Out: dir, Train: tr, Test: te, afterStep: func(e, b int) {
			if e*100+b == stopAt {
				cancel()
			}
		}})
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if err := run(whole, -1); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken")
	if err := run(broken, 103); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want an interruption", err)
	}
	tr, te := sets()
	if err := Resume(context.Background(), 0, TrainOptions{Out: broken, Train: tr, Test: te}); err != nil {
		t.Fatal(err)
	}
	a, b := withoutTiming(readMetrics(t, whole)), withoutTiming(readMetrics(t, broken))
	for i := range a {
		if !equalMetrics(a[i], b[i]) {
			t.Errorf("epoch %d got %+v, want %+v", i+1, b[i], a[i])
		}
	}
	ck, err := LoadCheckpoint(filepath.Join(whole, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ck.Tensors["net.bn1_1.mean"]; !ok {
		t.Errorf("checkpoint lacks BatchNorm running statistics")
	}
	tr, te = sets()
	res, err := Evaluate(context.Background(), whole, RunOptions{Train: tr, Test: te})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != a[len(a)-1].TestError {
		t.Errorf("eval got %v, want the last test_error %v", res.Error, a[len(a)-1].TestError)
	}
}
