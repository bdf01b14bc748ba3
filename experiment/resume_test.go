package experiment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/nnops"
)

// TestResumeIsBitExactAtEveryPoint interrupts a small run at every point
// where an interruption can land — before an epoch's first step (its order
// already drawn), after every step, during every periodic save (one after
// each step here), before every evaluation batch, and between an epoch's end
// and the next one's start — resumes it, and requires the metrics (timing
// apart) and every tensor of the final checkpoint to equal an unbroken run's,
// bit for bit. The interruption is a cancel from a hook at the k-th point,
// for every k: nothing depends on timing. LeNet with the L-GM head (ramped α
// and λ, so the logged schedule is checked too), the VGG net with
// BatchNorm, augmentation and the center head (centres updated after each
// step), and ResNet-20 (its shortcuts and 19 BatchNorms) with augmentation
// and L-GM.
func TestResumeIsBitExactAtEveryPoint(t *testing.T) {
	lenet := smallConfig()
	lenet.Head = HeadDefaults("lgm")
	vgg := smallConfig()
	vgg.Head = HeadDefaults("center")
	vgg.Model.Net, vgg.Model.Width, vgg.Train.Epochs, vgg.Data.Augment = "vgg", 0.05, 2, true
	resnet := smallConfig() // stride-2 shortcuts, 19 BatchNorms, L-GM
	resnet.Head = HeadDefaults("lgm")
	resnet.Model.Net, resnet.Model.Width, resnet.Model.Dim, resnet.Train.Epochs, resnet.Data.Augment = "resnet20", 0.125, 8, 2, true
	val := smallConfig() // a validation split and the best checkpoint kept
	val.Head = HeadDefaults("lgm")
	val.Data.Val, val.Train.Keep = 30, KeepBestVal
	for _, c := range []struct {
		name     string
		cfg      Config
		channels int
	}{{"lenet", lenet, 1}, {"vgg+augment", vgg, 3}, {"resnet20+augment", resnet, 3}, {"lenet+val+best-val", val, 1}} {
		opts := func(dir string) TrainOptions {
			return TrainOptions{Out: dir, SaveEvery: time.Nanosecond,
				Train: syntheticC("synth/train", 200, 4, c.channels, 1), Test: syntheticC("synth/test", 70, 4, c.channels, 2)}
		}
		// The unbroken run, counting the interruption points.
		var points []string
		o := opts(filepath.Join(t.TempDir(), "whole"))
		o.at = func(where string, e, b int) {
			points = append(points, fmt.Sprintf("%s at epoch %d batch %d", where, e+1, b+1))
		}
		if err := Train(context.Background(), c.cfg, o); err != nil {
			t.Fatalf("%s: unbroken run: %v", c.name, err)
		}
		whole := unbrokenOf(t, o.Out)
		kinds := map[string]int{}
		for _, p := range points {
			kinds[strings.Fields(p)[0]]++
		}
		for _, k := range []string{"epoch", "step", "save", "eval", "epoch-end"} {
			if kinds[k] == 0 {
				t.Fatalf("%s: no interruption point of kind %q among %v", c.name, k, kinds)
			}
		}
		step := 1
		if testing.Short() {
			step = 7 // a sample of the points
		}
		for k := 0; k < len(points); k += step {
			name := fmt.Sprintf("%s, interrupted at point %d (%s)", c.name, k, points[k])
			dir := filepath.Join(t.TempDir(), "run")
			ctx, cancel := context.WithCancel(context.Background())
			o := opts(dir)
			n := 0
			o.at = func(string, int, int) {
				if n == k {
					cancel()
				}
				n++
			}
			err := Train(ctx, c.cfg, o)
			cancel()
			if err != nil {
				if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "lgm train --resume "+dir) {
					t.Fatalf("case %v: got %v, want an interruption that says how to resume", name, err)
				}
				if err := Resume(context.Background(), 0, opts(dir)); err != nil {
					t.Fatalf("case %v: resume: %v", name, err)
				}
			} // else the cancel came after the last check: the run finished
			whole.check(t, name, dir)
		}
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
	opts.at = onStep(func(e, b int) {
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
	})
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
	metrics  []Metrics
	ck, best *Checkpoint // best: checkpoint-best.safetensors, if the run keeps one
}

func unbroken(t *testing.T, cfg Config) unbrokenRun {
	t.Helper()
	return unbrokenOf(t, trainSmall(t, cfg))
}

// unbrokenOf reads the finished run in dir.
func unbrokenOf(t *testing.T, dir string) unbrokenRun {
	t.Helper()
	ck, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	u := unbrokenRun{metrics: withoutTiming(readMetrics(t, dir)), ck: ck}
	if fileExists(filepath.Join(dir, BestCheckpointFile)) {
		if u.best, err = LoadCheckpoint(filepath.Join(dir, BestCheckpointFile)); err != nil {
			t.Fatal(err)
		}
	}
	return u
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
	u.checkCheckpoint(t, name, filepath.Join(dir, CheckpointFile), u.ck)
	if u.best != nil {
		u.checkCheckpoint(t, name+" (best)", filepath.Join(dir, BestCheckpointFile), u.best)
	} else if fileExists(filepath.Join(dir, BestCheckpointFile)) {
		t.Errorf("case %v: a best checkpoint the unbroken run does not have", name)
	}
}

// checkCheckpoint requires the checkpoint at path to equal want: weights,
// solver state, position and random streams.
func (u unbrokenRun) checkCheckpoint(t *testing.T, name, path string, want *Checkpoint) {
	t.Helper()
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatalf("case %v: %v", name, err)
	}
	u.ck = want
	if len(ck.Tensors) != len(u.ck.Tensors) {
		t.Errorf("case %v: final checkpoint has %d tensors, want %d", name, len(ck.Tensors), len(u.ck.Tensors))
	}
	for k, want := range u.ck.Tensors {
		if got := ck.Tensors[k]; !sameBits(got, want) {
			t.Errorf("case %v: final tensor %s differs from the unbroken run's", name, k)
		}
	}
	if !bytes.Equal(ck.RNG, u.ck.RNG) || !bytes.Equal(ck.AugRNG, u.ck.AugRNG) || ck.Epoch != u.ck.Epoch || ck.Batch != u.ck.Batch {
		t.Errorf("case %v: final position or random streams differ from the unbroken run's", name)
	}
}

// onStep is a TrainOptions.at hook that calls f(epoch, batch) after every
// training step only.
func onStep(f func(epoch, batch int)) func(string, int, int) {
	return func(where string, e, b int) {
		if where == "step" {
			f(e, b)
		}
	}
}

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool { return len(a) == len(b) && bitDiff(a, b) < 0 }

// bitDiff returns the first index at which xs and ys (of equal length)
// differ bit for bit, or -1.
func bitDiff(xs, ys []float32) int {
	for i := range xs {
		if math.Float32bits(xs[i]) != math.Float32bits(ys[i]) {
			return i
		}
	}
	return -1
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
		at: onStep(func(e, b int) {
			if e == 1 && b == 3 {
				cancel()
			}
		})}
	if err := Train(ctx, cfg, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want an interruption", err)
	}
	opts.at = nil
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
		return Train(ctx, cfg, TrainOptions{Out: dir, Train: tr, Test: te, at: onStep(func(e, b int) {
			if e*100+b == stopAt {
				cancel()
			}
		})})
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

// TestResumeKeepsThreadCount: the checkpoint records the ops' worker count;
// a resume without a count uses it (so it stays bit-exact), and one with
// another count says before starting that the result will differ.
func TestResumeKeepsThreadCount(t *testing.T) {
	defer SetThreads(nnops.Threads())
	SetThreads(2)
	cfg := smallConfig()
	cfg.Train.Epochs = 1
	dir := trainSmall(t, cfg)
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Threads != 2 {
		t.Errorf("checkpoint records %d threads, want 2", ck.Threads)
	}
	for _, c := range []struct {
		asked, want int
		note        bool
	}{{0, 2, false}, {2, 2, false}, {1, 1, true}} {
		SetThreads(3)
		var out strings.Builder
		opts := TrainOptions{Out: dir, Stdout: &out, Threads: c.asked,
			Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
		if err := Resume(context.Background(), ck.Epoch+1, opts); err != nil {
			t.Fatalf("case asked %d: %v", c.asked, err)
		}
		ck.Epoch++
		if got := nnops.Threads(); got != c.want {
			t.Errorf("case asked %d: resumed with %d threads, want %d", c.asked, got, c.want)
		}
		if got := strings.Contains(out.String(), "will not be bit-identical"); got != c.note {
			t.Errorf("case asked %d: note printed %v, want %v; output:\n%s", c.asked, got, c.note, out.String())
		}
	}
}
