package sweep

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// load writes text as a sweep file in a temporary folder and loads it.
func load(t *testing.T, text string) (*Sweep, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test-sweep.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func names(s *Sweep) []string {
	var out []string
	for _, p := range s.Runs {
		out = append(out, p.Name)
	}
	return out
}

func TestLoadNames(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"configs and seeds, seeds outermost", "configs: [mnist-softmax, mnist-lgm]\nseeds: [1, 2]\n",
			[]string{"mnist-softmax-s1", "mnist-lgm-s1", "mnist-softmax-s2", "mnist-lgm-s2"}},
		{"a varying grid key names the run", "configs: [mnist-lgm]\ngrid:\n  head.alpha: [0.5, 1]\nseeds: [2]\n",
			[]string{"mnist-lgm_alpha0.5-s2", "mnist-lgm_alpha1-s2"}},
		{"a grid key of one value does not", "configs: [mnist-lgm]\ngrid:\n  head.alpha: [0.5]\n  train.lr: [0.01, 0.02]\nseeds: [1]\n",
			[]string{"mnist-lgm_lr0.01-s1", "mnist-lgm_lr0.02-s1"}},
		{"schedule value and field", "configs: [mnist-lgm]\ngrid:\n  head.lambda.value: [0.1, 0.2]\n  head.lambda.start: [0.01, 0.02]\nseeds: [1]\n",
			[]string{"mnist-lgm_lambda0.1_lambda.start0.01-s1", "mnist-lgm_lambda0.1_lambda.start0.02-s1",
				"mnist-lgm_lambda0.2_lambda.start0.01-s1", "mnist-lgm_lambda0.2_lambda.start0.02-s1"}},
		{"list values", "configs: [cifar10-softmax]\nset:\n  train.lr_step: 0\ngrid:\n  train.lr_milestones: [[10, 20], [15, 25]]\nseeds: [1]\n",
			[]string{"cifar10-softmax_lr_milestones10,20-s1", "cifar10-softmax_lr_milestones15,25-s1"}},
		{"no seeds: the config's own", "configs: [mnist2d-lgm]\n", []string{"mnist2d-lgm-s1"}},
		{"seed 0 is a seed", "configs: [mnist2d-lgm]\nseeds: [0]\n", []string{"mnist2d-lgm-s0"}},
		{"groups", "set:\n  train.epochs: 10\nconfigs: [mnist-softmax]\nseeds: [1, 2]\nruns:\n  - configs: [mnist-gm]\n    seeds: [1]\n  - configs: [mnist-lsoftmax]\n",
			[]string{"mnist-softmax-s1", "mnist-softmax-s2", "mnist-gm-s1", "mnist-lsoftmax-s1", "mnist-lsoftmax-s2"}},
		{"a shipped config by path", "configs: [configs/mnist-lgm.yaml]\nseeds: [3]\n", []string{"mnist-lgm-s3"}},
	} {
		s, err := load(t, c.text)
		if err != nil {
			t.Errorf("case %s: %v", c.name, err)
			continue
		}
		if got := names(s); !slices.Equal(got, c.want) {
			t.Errorf("case %s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// The runs resolve as lgm train would: overrides in order (grid after set,
// a group's set after the file's) and the seed.
func TestLoadResolves(t *testing.T) {
	s, err := load(t, "name: x\nset:\n  train.epochs: 10\n  head.alpha: 0.3\nruns:\n  - configs: [mnist-lgm]\n    set:\n      train.epochs: 4\n    grid:\n      head.alpha: [0.5, 1]\n    seeds: [7]\n")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Runs[0]
	if p.Name != "mnist-lgm_alpha0.5-s7" || p.Resolved.Seed != 7 || p.Resolved.Train.Epochs != 4 || p.Resolved.Head.Alpha.Value != 0.5 || p.Resolved.Name != "mnist-lgm" {
		t.Errorf("got %s seed %d epochs %d alpha %v name %s", p.Name, p.Resolved.Seed, p.Resolved.Train.Epochs, p.Resolved.Head.Alpha.Value, p.Resolved.Name)
	}
	want := []string{"train.epochs=10", "head.alpha=0.3", "train.epochs=4", "head.alpha=0.5"}
	if !slices.Equal(p.Sets, want) {
		t.Errorf("sets: got %v, want %v", p.Sets, want)
	}
	if s.Name != "x" {
		t.Errorf("name: got %s", s.Name)
	}
}

func TestLoadAfter(t *testing.T) {
	s, err := load(t, "configs: [mnist-lgm]\nafter:\n  attack:\n    method: fgsm\n    eps: [0, 0.1, 8/255]\n  report: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if a := s.After.Attack; a == nil || a.Method != "fgsm" || !slices.Equal(a.Eps, []string{"0", "0.1", "8/255"}) || !s.After.Report {
		t.Errorf("got %+v", s.After)
	}
	if s.Name != "test-sweep" {
		t.Errorf("name from the file: got %s", s.Name)
	}
}

// A config file beside the sweep file is found from there.
func TestLoadConfigBesideSweep(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("train:\n  epochs: 3\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sweeps"), 0o755)
	p := filepath.Join(dir, "sweeps", "s.yaml")
	os.WriteFile(p, []byte("configs: [../mine.yaml]\nseeds: [1]\n"), 0o644)
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Runs[0]; r.Name != "mine-s1" || r.Resolved.Train.Epochs != 3 || r.Config != filepath.Join(dir, "sweeps", "../mine.yaml") {
		t.Errorf("got %s %d %s", r.Name, r.Resolved.Train.Epochs, r.Config)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"unknown key", "configs: [mnist-lgm]\nsedes: [1]\n", "unknown key sedes (valid keys there: name, set, configs, grid, seeds, runs, after)"},
		{"unknown key in a group", "runs:\n  - configs: [mnist-lgm]\n    grids: {}\n", "unknown key runs[].grids"},
		{"unknown key in after", "configs: [mnist-lgm]\nafter:\n  reprot: true\n", "unknown key after.reprot"},
		{"unknown config key in set", "configs: [mnist-lgm]\nset:\n  train.epoch: 3\n", "set.train.epoch: unknown key train.epoch (nearest valid keys: train.epochs"},
		{"unknown config key in grid", "configs: [mnist-lgm]\ngrid:\n  head.alhpa: [1]\n", "grid.head.alhpa: unknown key head.alhpa"},
		{"empty grid", "configs: [mnist-lgm]\ngrid: {}\n", "grid is empty"},
		{"empty grid values", "configs: [mnist-lgm]\ngrid:\n  head.alpha: []\n", "grid.head.alpha is empty"},
		{"grid value not a list", "configs: [mnist-lgm]\ngrid:\n  head.alpha: 1\n", "grid.head.alpha must be a list of values (got 1); a single value belongs in set"},
		{"grid value twice", "configs: [mnist-lgm]\ngrid:\n  head.alpha: [1, 1]\n", "grid.head.alpha lists 1 twice"},
		{"seed in set", "configs: [mnist-lgm]\nset:\n  seed: 3\n", "set.seed: give the seeds as seeds: [1, 2, 3]"},
		{"seed twice", "configs: [mnist-lgm]\nseeds: [1, 1]\n", "seeds lists 1 twice"},
		{"no runs", "name: x\n", "no runs: give configs"},
		{"empty file", "", "empty: give configs"},
		{"group without configs", "runs:\n  - seeds: [1]\n", "runs[0].configs is empty"},
		{"duplicate run names", "configs: [mnist-lgm]\nseeds: [1]\nruns:\n  - configs: [mnist-lgm]\n    set:\n      train.epochs: 3\n    seeds: [1]\n",
			"two runs are named mnist-lgm-s1"},
		{"no such config", "configs: [mnist-lgmm]\n", "config mnist-lgmm: no such file, and lgm has no built-in config of that name (nearest names: mnist-lgm"},
		{"invalid resolved config", "configs: [mnist-lgm]\nset:\n  train.lr: -1\n", "train.lr must be > 0"},
		{"bad value", "configs: [mnist-lgm]\nset:\n  train.epochs: 2.5\n", "train.epochs must be a whole number"},
		{"attack without eps", "configs: [mnist-lgm]\nafter:\n  attack: {method: fgsm}\n", "after.attack.eps is empty"},
		{"bad name", "name: a/b\nconfigs: [mnist-lgm]\n", `name "a/b" must be letters`},
	} {
		_, err := load(t, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %s: got %v, want an error containing %q", c.name, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), "test-sweep.yaml") {
			t.Errorf("case %s: %v does not name the file", c.name, err)
		}
	}
}
