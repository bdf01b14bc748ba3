package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/configs"
	"github.com/lgm-dev/lgm/experiment"
)

// TestSetBetweenFileAndFlags: --set overrides beat the file and lose to the
// named flags; the result is what the run gets.
func TestSetBetweenFileAndFlags(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "exp.yaml")
	os.WriteFile(cfgFile, []byte("model:\n  dim: 64\ntrain:\n  lr: 0.05\n  epochs: 7\n"), 0o644)
	var got experiment.Config
	cmd := newTrainCmd(streams{out: io.Discard}, func(_ context.Context, cfg experiment.Config, _ experiment.TrainOptions) error {
		got = cfg
		return nil
	})
	cmd.SetArgs([]string{"--config", cfgFile, "--set", "train.lr=0.3", "--set", "train.epochs=9", "--set", "head.name=lgm",
		"--set", "head.alpha=0.5", "--lr", "0.2", "--out", "somewhere"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := experiment.Default()
	want.Name, want.Model.Dim = "exp", 64
	want.Train.Epochs = 9 // --set beats the file
	want.Train.LR = 0.2   // the flag beats --set
	want.Head = experiment.HeadDefaults("lgm")
	want.Head.Alpha = experiment.Schedule{Kind: "constant", Value: 0.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestConfigShowIsWhatTrainRuns: lgm config show prints the config train
// would receive, for a built-in config named from a folder without it.
func TestConfigShowIsWhatTrainRuns(t *testing.T) {
	args := []string{"--config", "mnist2d-lgm", "--set", "head.alpha=0.5", "--epochs", "3"}
	var got experiment.Config
	cmd := newTrainCmd(streams{out: io.Discard}, func(_ context.Context, cfg experiment.Config, _ experiment.TrainOptions) error {
		got = cfg
		return nil
	})
	cmd.SetArgs(append(args, "--out", "x"))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := lgm(t, append([]string{"config", "show"}, args...)...)
	if code != exitOK {
		t.Fatalf("config show: exit %d: %s", code, stderr)
	}
	if out != string(got.Marshal()) {
		t.Errorf("config show printed\n%s\nwant what train runs:\n%s", out, got.Marshal())
	}
	shown, err := experiment.ParseConfig([]byte(out))
	if err != nil || shown.Head.Alpha.Value != 0.5 || shown.Train.Epochs != 3 || shown.Name != "mnist2d-lgm" {
		t.Errorf("config show: %v, %+v", err, shown)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "show", "--set", "head.alhpa=1"}, "nearest valid keys: head.alpha"},
		{[]string{"config", "show", "--config", "mnist2d-lgmm"}, "nearest names: mnist2d-lgm"},
		{[]string{"config", "show", "--head", "lgm", "--set", "head.alpha=-1"}, "--set head.alpha=-1: head.alpha must be >= 0"},
		{[]string{"train", "--set", "train.epochz=1"}, "unknown key train.epochz (nearest valid keys: train.epochs"},
	} {
		code, _, stderr := lgm(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("case %v: exit %d, %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}

func TestConfigsLists(t *testing.T) {
	code, out, _ := lgm(t, "configs")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != len(configs.List()) {
		t.Fatalf("exit %d, %d lines; want %d", code, len(lines), len(configs.List()))
	}
	for i, e := range configs.List() {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != e.Name || !strings.HasSuffix(lines[i], e.Description) {
			t.Errorf("line %q: want %s and its description %q", lines[i], e.Name, e.Description)
		}
	}
}
