package experiment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidationSplit: data.val holds images out of training, reports
// val_loss and val_error every epoch, and train.keep: best-val keeps the
// checkpoint of the lowest validation error, which evaluates to that error
// on the held-out images; the test set is reported and never chooses.
func TestValidationSplit(t *testing.T) {
	cfg := smallConfig()
	cfg.Train.Epochs = 4
	cfg.Data.Val, cfg.Train.Keep = 40, KeepBestVal
	dir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	sets := func() TrainOptions {
		return TrainOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	}
	o := sets()
	o.Out, o.Stdout = dir, &out
	if err := Train(context.Background(), cfg, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "160 train / 40 validation / 70 test images") {
		t.Errorf("output does not report the split:\n%s", out.String())
	}
	ms := readMetrics(t, dir)
	best, bestEpoch := 2.0, 0
	for _, m := range ms {
		if m.ValError == nil || m.ValLoss == nil || m.ValN != 40 || !(*m.ValLoss > 0) {
			t.Fatalf("epoch %d: val fields %v %v %d, want a loss, an error and 40 images", m.Epoch, m.ValLoss, m.ValError, m.ValN)
		}
		if *m.ValError < best {
			best, bestEpoch = *m.ValError, m.Epoch
		}
	}
	ck, err := LoadCheckpoint(filepath.Join(dir, BestCheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != bestEpoch {
		t.Errorf("best checkpoint is of epoch %d, want %d (val errors %v)", ck.Epoch, bestEpoch, valErrors(ms))
	}
	for _, c := range []struct {
		path, split string
		want        float64
	}{
		{filepath.Join(dir, BestCheckpointFile), "val", best},
		{dir, "val", *ms[len(ms)-1].ValError},
		{dir, "test", ms[len(ms)-1].TestError},
	} {
		o := sets()
		res, err := Evaluate(context.Background(), c.path, RunOptions{Split: c.split, Train: o.Train, Test: o.Test})
		if err != nil || res.Error != c.want || (c.split == "val" && res.N != 40) {
			t.Errorf("case %s --split %s: got %v over %d (%v), want %v", filepath.Base(c.path), c.split, res.Error, res.N, err, c.want)
		}
	}
	o = sets()
	if res, err := Evaluate(context.Background(), dir, RunOptions{Split: "train", Train: o.Train, Test: o.Test}); err != nil || res.N != 160 {
		t.Errorf("--split train: %d images (%v), want the 160 trained on", res.N, err)
	}

	// Without data.val: no validation fields, no best checkpoint, and
	// --split val is refused.
	plain := trainSmall(t, smallConfig())
	raw, _ := os.ReadFile(filepath.Join(plain, MetricsFile))
	if bytes.Contains(raw, []byte(`"val_`)) || fileExists(filepath.Join(plain, BestCheckpointFile)) {
		t.Errorf("a run without data.val wrote validation results")
	}
	o = sets()
	if _, err := Evaluate(context.Background(), plain, RunOptions{Split: "val", Train: o.Train, Test: o.Test}); err == nil || !strings.Contains(err.Error(), "data.val") {
		t.Errorf("--split val of a run without data.val: got %v", err)
	}
}

func valErrors(ms []Metrics) []float64 {
	var out []float64
	for _, m := range ms {
		if m.ValError != nil {
			out = append(out, *m.ValError)
		}
	}
	return out
}

func TestValidationConfig(t *testing.T) {
	cases := []struct {
		val  int
		keep string
		want string // "" for valid
	}{
		{0, "", ""}, {0, "last", ""}, {100, "best-val", ""}, {100, "", ""},
		{0, "best-val", "train.keep best-val needs a validation set"},
		{10, "best", "train.keep must be one of last, best-val"},
		{-1, "", "data.val must be >= 0"},
	}
	for _, c := range cases {
		cfg := Default()
		cfg.Data.Val, cfg.Train.Keep = c.val, c.keep
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("case val %d keep %q: got %v, want %q", c.val, c.keep, err, c.want)
		}
	}
	// A config without them marshals as before: no new keys in config.yaml
	// or the checkpoint.
	if s := string(Default().Marshal()); strings.Contains(s, "val:") || strings.Contains(s, "keep:") {
		t.Errorf("the default config marshals with the new keys:\n%s", s)
	}
}
