package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
)

// tableSweep is a sweep of one L-GM run at the budget of the MNIST runs.
const tableSweep = "configs: [mnist-lgm]\nset:\n  train.epochs: 10\n  train.lr_step: 2\n  train.lr_gamma: 0.5\nseeds: [1]\n"

// writeRun makes a run directory for p: its config.yaml (the resolved
// config, or text if not empty) and a checkpoint at epoch (none if < 0).
func writeRun(t *testing.T, dir string, p *Point, text string, epoch int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw := p.Resolved.Marshal()
	if text != "" {
		raw = []byte(text)
	}
	if err := os.WriteFile(filepath.Join(dir, experiment.ConfigFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if epoch >= 0 {
		ck := &experiment.Checkpoint{Config: p.Resolved, Epoch: epoch,
			Tensors: map[string][]float32{"w": {1}}, Shapes: map[string][]int{"w": {1}}}
		if err := ck.Save(filepath.Join(dir, experiment.CheckpointFile)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInspect(t *testing.T) {
	s, err := load(t, tableSweep)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Runs[0]
	// The config.yaml of the run already training under /work/runs/mnist,
	// written by lgm train from a copy of the shipped config with the three
	// train keys changed: the sweep must take it for its own.
	written := `name: mnist-lgm
seed: 1
data: {dataset: mnist, dir: "", coarse: false, augment: false}
model: {net: lenetpp, dim: 100, width: 1.0}
head:
    name: lgm
    bias: false
    lambda: {kind: linear, value: 0.1, start: 0.01, epochs: 5}
    alpha: {kind: linear, value: 1, start: 0.1, epochs: 5}
    margin: 0
    center_update: ""
    center_lr: 0
    center_lr_mult: 0
    covariance: identity
    logdet: false
    likelihood: official
    logvar_floor: -6.907755278982137
    var_lr_mult: 0.1
    means_no_decay: false
train:
    lr: 0.02
    epochs: 10
    batch: 64
    lr_step: 2
    lr_gamma: 5e-1
    momentum: 0.9
    nesterov: true
    weight_decay: 0.001
    limit: 0
`
	differs := strings.Replace(strings.Replace(written, "epochs: 10", "epochs: 50", 1), "lr_step: 2", "lr_step: 5", 1)
	for _, c := range []struct {
		name   string
		make   func(dir string)
		status Status
		want   string // in the detail
	}{
		{"no directory", func(string) {}, StatusNew, ""},
		{"empty directory", func(dir string) { os.MkdirAll(dir, 0o755) }, StatusNew, ""},
		{"config but no checkpoint", func(dir string) { writeRun(t, dir, p, "", -1) }, StatusRestart, "starts over"},
		{"checkpoint mid-way", func(dir string) { writeRun(t, dir, p, "", 3) }, StatusResume, "epoch 3/10"},
		{"checkpoint at the end", func(dir string) { writeRun(t, dir, p, "", 10) }, StatusDone, "epoch 10/10"},
		{"other formatting", func(dir string) { writeRun(t, dir, p, written, 1) }, StatusResume, "epoch 1/10"},
		{"config differs", func(dir string) { writeRun(t, dir, p, differs, 1) }, StatusRefused,
			"train.epochs is 50 there, 10 in the sweep; train.lr_step is 5 there, 2 in the sweep; change the sweep file"},
		{"unknown key", func(dir string) { writeRun(t, dir, p, written+"extra: 1\n", 1) }, StatusRefused, "field extra not found"},
		{"a file", func(dir string) { os.WriteFile(dir, nil, 0o644) }, StatusRefused, "is a file"},
		{"damaged checkpoint", func(dir string) {
			writeRun(t, dir, p, "", 2)
			os.WriteFile(filepath.Join(dir, experiment.CheckpointFile), []byte("junk"), 0o644)
		}, StatusRefused, "not a usable lgm checkpoint"},
	} {
		dir := filepath.Join(t.TempDir(), p.Name)
		c.make(dir)
		st := Inspect(p, dir)
		if st.Status != c.status || !strings.Contains(st.detail(), c.want) {
			t.Errorf("case %s: got %s (%s), want %s (…%s…)", c.name, st.Status, st.detail(), c.status, c.want)
		}
	}
}

func TestArgs(t *testing.T) {
	s, err := load(t, tableSweep)
	if err != nil {
		t.Fatal(err)
	}
	st := State{Point: s.Runs[0], Dir: "out/mnist-lgm-s1", Status: StatusNew}
	want := "train --config mnist-lgm --set train.epochs=10 --set train.lr_step=2 --set train.lr_gamma=0.5 --seed 1 --threads 2 --save-every 5m --out out/mnist-lgm-s1"
	if got := strings.Join(st.Args(2), " "); got != want {
		t.Errorf("new: got %s, want %s", got, want)
	}
	st.Status = StatusResume
	if got := strings.Join(st.Args(2), " "); got != "train --resume out/mnist-lgm-s1 --save-every 5m" {
		t.Errorf("resume: got %s", got)
	}
	st.Status = StatusDone
	if got := st.Args(2); got != nil {
		t.Errorf("done: got %v, want nothing", got)
	}
}

// TestSameConfigIgnoresLabels: a run trained before its sweep labelled the
// data (data.name) is the sweep's run; any other difference is named.
func TestSameConfigIgnoresLabels(t *testing.T) {
	want := experiment.Default()
	want.Data.Dataset, want.Data.Name = "folder", "cifar10"
	got := want
	got.Data.Name = ""
	if err := sameConfig(got.Marshal(), "run/config.yaml", want); err != nil {
		t.Errorf("only the label differs: %v", err)
	}
	got.Train.LR = 0.5
	err := sameConfig(got.Marshal(), "run/config.yaml", want)
	if err == nil || !strings.Contains(err.Error(), "train.lr is 0.5 there") || strings.Contains(err.Error(), "data.name") {
		t.Errorf("got %v, want train.lr named and data.name not", err)
	}
}
