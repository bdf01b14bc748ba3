package configs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEveryFileIsEmbedded: the binary carries each configs/*.yaml, byte for
// byte, and a description for each.
func TestEveryFileIsEmbedded(t *testing.T) {
	disk, err := filepath.Glob("*.yaml")
	if err != nil || len(disk) == 0 {
		t.Fatalf("no configs on disk (%v)", err)
	}
	if got := len(List()); got != len(disk) {
		t.Errorf("embedded %d configs, want %d", got, len(disk))
	}
	for _, f := range disk {
		want, _ := os.ReadFile(f)
		for _, name := range []string{f, f[:len(f)-5], "configs/" + f} {
			got, ok := Read(name)
			if !ok || string(got) != string(want) {
				t.Errorf("case %v: got %d bytes (found %v), want the %d bytes of %s", name, len(got), ok, len(want), f)
			}
		}
	}
	for _, e := range List() {
		if e.Description == "" {
			t.Errorf("%s: no description (its first line must be a comment)", e.Name)
		}
	}
}

func TestReadAndDescription(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{{"mnist2d-lgm", true}, {"mnist2d-lgm.yaml", true}, {"configs/mnist2d-lgm.yaml", true},
		{"other/mnist2d-lgm.yaml", false}, {"mnist2d-lgmm", false}, {"", false}} {
		if _, ok := Read(c.name); ok != c.ok {
			t.Errorf("case %q: found %v, want %v", c.name, ok, c.ok)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"# MNIST, LeNet++: Figure 1.\n#\n# more\nmodel: {}\n", "MNIST, LeNet++: Figure 1."},
		{"\n\n## two hashes\n", "two hashes"},
		{"model:\n  dim: 2\n# late comment\n", ""},
		{"", ""},
	} {
		if got := Description([]byte(c.in)); got != c.want {
			t.Errorf("case %q: got %q, want %q", c.in, got, c.want)
		}
	}
}
