package experiment

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lgm-dev/lgm/loss"
)

// TestEveryHeadTrains trains each head on the synthetic problem and checks
// the run learns it, logs its schedules, and that eval of the checkpoint
// (which must carry centres and means) reproduces the last test error.
func TestEveryHeadTrains(t *testing.T) {
	for _, name := range loss.Names() {
		cfg := smallConfig()
		cfg.Head = HeadDefaults(name)
		cfg.Model.Dim = 4
		dir := trainSmall(t, cfg)
		ms := readMetrics(t, dir)
		last := ms[len(ms)-1]
		if last.TestError > 0.2 {
			t.Errorf("case %v: test error after %d epochs got %v, want <= 0.2", name, len(ms), last.TestError)
		}
		want := map[string][]string{"center": {"lambda"}, "lsoftmax": {"beta"}, "gm": {"lambda"}, "lgm": {"alpha", "lambda"}}[name]
		for _, k := range want {
			if _, ok := last.Schedule[k]; !ok {
				t.Errorf("case %v: metrics schedule %v lacks %q", name, last.Schedule, k)
			}
		}
		res, err := Evaluate(context.Background(), dir, RunOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)})
		if err != nil {
			t.Fatalf("case %v: eval: %v", name, err)
		}
		if res.Error != last.TestError {
			t.Errorf("case %v: eval got %v, want the last test_error %v", name, res.Error, last.TestError)
		}
	}
}

func TestCenterCheckpointHoldsCentres(t *testing.T) {
	cfg := smallConfig()
	cfg.Head = HeadDefaults("center")
	ck, err := LoadCheckpoint(filepath.Join(trainSmall(t, cfg), CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ck.Tensors["head.centers"]; !ok || len(c) != 4*cfg.Model.Dim {
		t.Errorf("checkpoint centres got %d values (present %v), want %d", len(c), ok, 4*cfg.Model.Dim)
	}
}

func TestHeadSettingsFromFileAndFlag(t *testing.T) {
	p := writeFile(t, "lgm.yaml", "head:\n  name: lgm\n  lambda: 0.05\n  alpha:\n    kind: step\n    value: 0.1\n    every: 5000\n    factor: 2\n    max: 0.3\n")
	c := Default()
	if err := LoadFile(p, &c, ""); err != nil {
		t.Fatal(err)
	}
	want := HeadDefaults("lgm")
	want.Lambda = Schedule(loss.Constant(0.05))
	want.Alpha = Schedule{Kind: "step", Value: 0.1, Every: 5000, Factor: 2, Max: 0.3}
	if c.Head != want {
		t.Errorf("got %+v, want %+v", c.Head, want)
	}
	// A --head flag picks the head; the file's head settings apply over its defaults.
	c = Default()
	if err := LoadFile(p, &c, "center"); err != nil {
		t.Fatal(err)
	}
	want = HeadDefaults("center")
	want.Lambda = Schedule(loss.Constant(0.05))
	want.Alpha = Schedule{Kind: "step", Value: 0.1, Every: 5000, Factor: 2, Max: 0.3}
	if c.Head != want {
		t.Errorf("with --head center: got %+v, want %+v", c.Head, want)
	}
	bad := writeFile(t, "bad.yaml", "head:\n  name: lgm\n  alpha:\n    kind: step\n    valu: 0.1\n")
	c = Default()
	if err := LoadFile(bad, &c, ""); err == nil {
		t.Errorf("unknown schedule key: got no error")
	}
}
