package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigSyntaxErrors: YAML mistakes name the line at fault (yaml itself
// often names the one before), and tabs get "indent with spaces".
func TestConfigSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"tab under a section", "model:\n  net: lenet\ntrain:\n\tepochs: 1\n", "line 4: indent with spaces"},
		{"tab as the first indent", "model:\n\tnet: lenet\n", "line 2: indent with spaces"},
		{"unclosed flow sequence", "model:\n  net: lenet\n  dim: [1\n", "line 3: did not find expected ',' or ']'"},
		{"indent too small", "model:\n  net: lenet\n dim: 3\n", "line 3: did not find expected key"},
		{"indent too large", "train:\n  epochs: 3\n   batch: 4\n", "line 3: mapping values are not allowed"},
		{"a float for an int", "train:\n  epochs: 3\n  batch: 2.5\n", "line 3: train.batch must be a whole number (got 2.5)"},
		{"unknown key", "train:\n  epochz: 3\n", "line 2: unknown key train.epochz (nearest valid keys: train.epochs"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(c.text), 0o644)
		cfg := Default()
		err := LoadFile(p, &cfg, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "c.yaml") {
			t.Errorf("case %v: got %v, want %q", c.name, err, c.want)
		}
	}
	// A list split over lines is fine.
	p := filepath.Join(t.TempDir(), "ok.yaml")
	os.WriteFile(p, []byte("train:\n  lr_step: 0\n  lr_milestones: [15,\n    25]\n"), 0o644)
	cfg := Default()
	if err := LoadFile(p, &cfg, ""); err != nil || len(cfg.Train.LRMilestones) != 2 {
		t.Errorf("multi-line flow list: %v, %v", err, cfg.Train.LRMilestones)
	}
}

// TestDataAdviceFitsTheDataSet: a folder of another data set is named as
// such, with the flag that would read it; the "reading" line names the
// data set and folder actually read.
func TestDataAdviceFitsTheDataSet(t *testing.T) {
	folder := func(files ...string) string {
		d := t.TempDir()
		for _, f := range files {
			if strings.HasSuffix(f, "/") {
				os.MkdirAll(filepath.Join(d, f), 0o755)
				continue
			}
			os.WriteFile(filepath.Join(d, f), []byte("x"), 0o644)
		}
		return d
	}
	idx := folder("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
	c10 := folder("cifar-10-batches-bin/")
	imgs := folder("train/", "test/")
	cases := []struct {
		dataset, dir string
		want         []string
		not          string
	}{
		{"cifar10", idx, []string{"holds IDX files", "not cifar10", "--dataset mnist", "lgm data download cifar10"}, "GoMNIST"},
		{"cifar100", imgs, []string{"holds train/ and test/ image folders", "--dataset folder"}, ""},
		{"mnist", c10, []string{"holds CIFAR-10's binary batches", "--dataset cifar10"}, ""},
		{"folder", idx, []string{"holds IDX files", "not folder"}, ""},
	}
	for _, c := range cases {
		cfg := Default()
		cfg.Data.Dataset, cfg.Data.Dir = c.dataset, c.dir
		var out strings.Builder
		_, _, err := loadData(cfg, &out)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("case %s in %s: got %v, want it to mention %q", c.dataset, filepath.Base(c.dir), err, w)
			}
		}
		if c.not != "" && err != nil && strings.Contains(err.Error(), c.not) {
			t.Errorf("case %s: %v mentions %q", c.dataset, err, c.not)
		}
		if want := "reading " + c.dataset + " from " + c.dir + "\n"; out.String() != want {
			t.Errorf("case %s: printed %q, want %q", c.dataset, out.String(), want)
		}
	}
	var out strings.Builder
	cfg := Default()
	cfg.Data.Dataset = "fashion-mnist"
	if _, _, err := loadData(cfg, &out); err == nil || out.String() != "" {
		t.Errorf("fashion-mnist without a folder: printed %q, err %v; want nothing printed and an error", out.String(), err)
	}
}
