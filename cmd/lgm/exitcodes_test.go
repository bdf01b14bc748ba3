package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExitCodes: 2 for every mistake found before any work starts (the
// command line, the config, the data and run directory named, checked at
// start), 1 for a failure once work has begun, 0 for success.
func TestExitCodes(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey := write("unknown.yaml", "train:\n  learning_rate: 0.1\n")
	badYAML := write("bad.yaml", "train:\n  epochs: [1\n")
	tabs := write("tabs.yaml", "train:\n\tepochs: 1\n")
	notDir := write("file.txt", "x")

	good := mnistDir(t, 40, 10)
	truncated := mnistDir(t, 40, 10)
	p := filepath.Join(truncated, "train-images-idx3-ubyte")
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, raw[:len(raw)-100], 0o644)
	badMagic := mnistDir(t, 40, 10)
	p = filepath.Join(badMagic, "t10k-labels-idx1-ubyte")
	raw, _ = os.ReadFile(p)
	raw[3] = 3
	os.WriteFile(p, raw, 0o644)

	tiny := func(out string, more ...string) []string {
		return append([]string{"train", "--net", "lenet", "--data", good, "--epochs", "1", "--batch", "8", "--threads", "1", "--out", out}, more...)
	}
	finished := filepath.Join(tmp, "finished")
	if code, out, stderr := lgm(t, tiny(finished)...); code != exitOK {
		t.Fatalf("tiny run: exit %d\n%s%s", code, out, stderr)
	}
	fresh := func() string { d, _ := os.MkdirTemp(tmp, "run"); os.Remove(d); return d }

	cases := []struct {
		name string
		args []string
		code int
	}{
		// The command line.
		{"unknown flag", []string{"train", "--epoch", "1"}, exitUsage},
		{"unknown command", []string{"trian"}, exitUsage},
		{"missing argument", []string{"eval"}, exitUsage},
		{"bad --threads", []string{"train", "--threads", "0"}, exitUsage},
		{"--resume with --net", []string{"train", "--resume", finished, "--net", "vgg"}, exitUsage},
		// The config.
		{"unknown key in the file", []string{"train", "--config", unknownKey, "--out", fresh()}, exitUsage},
		{"YAML syntax", []string{"train", "--config", badYAML, "--out", fresh()}, exitUsage},
		{"tabs in YAML", []string{"train", "--config", tabs, "--out", fresh()}, exitUsage},
		{"missing config", []string{"train", "--config", filepath.Join(tmp, "none.yaml")}, exitUsage},
		{"bad value by flag", []string{"train", "--lr", "-1"}, exitUsage},
		{"unknown --set key", []string{"train", "--set", "head.alhpa=1"}, exitUsage},
		{"bad --set value", []string{"config", "show", "--set", "train.epochs=x"}, exitUsage},
		// The data, checked at start.
		{"data folder missing", tiny(fresh(), "--data", filepath.Join(tmp, "nowhere")), exitUsage},
		{"data path is a file", tiny(fresh(), "--data", notDir), exitUsage},
		{"truncated IDX", tiny(fresh(), "--data", truncated), exitUsage},
		{"wrong magic", tiny(fresh(), "--data", badMagic), exitUsage},
		{"cifar10 without --data", []string{"train", "--dataset", "cifar10", "--net", "vgg", "--out", fresh()}, exitUsage},
		{"folder data set missing", tiny(fresh(), "--dataset", "folder", "--data", filepath.Join(tmp, "none.tar.gz")), exitUsage},
		// Run directories and checkpoints.
		{"run directory taken", tiny(finished), exitUsage},
		{"eval of no run", []string{"eval", filepath.Join(tmp, "nope")}, exitUsage},
		{"embed of no run", []string{"embed", filepath.Join(tmp, "nope"), "--out", filepath.Join(tmp, "f.csv")}, exitUsage},
		{"embed into a missing folder", []string{"embed", finished, "--out", filepath.Join(tmp, "no", "f.csv")}, exitUsage},
		{"resume of a finished run", []string{"train", "--resume", finished}, exitUsage},
		{"compare of no run", []string{"compare", filepath.Join(tmp, "nope")}, exitUsage},
		// Failures once work has begun.
		{"training diverges", tiny(fresh(), "--epochs", "3", "--lr", "100", "--set", "train.momentum=0.99"), exitFailure},
		// Success.
		{"eval", []string{"eval", finished, "--threads", "1"}, exitOK},
		{"config show", []string{"config", "show", "--config", "mnist2d-lgm"}, exitOK},
	}
	for _, c := range cases {
		code, _, stderr := lgm(t, c.args...)
		if code != c.code {
			t.Errorf("case %v: exit code got %d, want %d (stderr %q)", c.name, code, c.code, stderr)
		}
	}
}
