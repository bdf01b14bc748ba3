package experiment

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigWithSeveralDocumentsRefused: a config file (or a run's saved
// config) holding a second YAML document is refused, saying where it
// starts; before, the second document was ignored without a word. A
// trailing "---" with nothing after it is harmless.
func TestConfigWithSeveralDocumentsRefused(t *testing.T) {
	for _, c := range []struct {
		text, want string // want: "" when accepted
	}{
		{"seed: 2\n", ""},
		{"seed: 2\n---\n", ""},
		{"seed: 2\n---\n# only a comment\n", ""},
		{"seed: 2\n---\nseed: 3\n", "holds more than one YAML document (the second starts at line 3)"},
		{"---\nseed: 2\n---\ntrain:\n  lr: 5\n", "holds more than one YAML document (the second starts at line 4)"},
	} {
		path := writeFile(t, "c.yaml", c.text)
		cfg := Default()
		err := LoadFile(path, &cfg, "")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %q: got %v, want it accepted", c.text, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path)):
			t.Errorf("case %q: got %v, want an error naming %s and saying %q", c.text, err, path, c.want)
		}
		if c.want != "" {
			if _, err := ParseConfig([]byte(string(smallConfig().Marshal()) + "---\nseed: 3\n")); err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
				t.Errorf("ParseConfig of two documents: got %v, want a refusal", err)
			}
		}
	}
}

// TestCheckpointTensorsMustFit: eval of a checkpoint whose tensor has the
// right number of values in the wrong shape is refused naming the tensor
// and both shapes, and one holding NaN or ±Inf is refused naming the
// network's first bad tensor (before: evaluated, 90% error, no warning).
func TestCheckpointTensorsMustFit(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	train, test := synthetic("synth/train", 200, 4, 1), synthetic("synth/test", 70, 4, 2)
	ss, err := newSession(ck.Config, shape{B: ck.Config.Train.Batch, C: test.C, H: test.H, W: test.W, K: test.Classes}, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string // in the network's order
	for _, p := range ss.params {
		names = append(names, p.Name())
	}
	ss.close()
	// A 2-D tensor that is not square, to transpose.
	var flat string
	for _, n := range names {
		if s := ck.Shapes[n]; len(s) == 2 && s[0] != s[1] {
			flat = n
			break
		}
	}
	if flat == "" {
		t.Fatalf("no non-square 2-D tensor among %v", names)
	}
	first, last := names[0], names[len(names)-1]
	for _, c := range []struct {
		name   string
		change func(ck *Checkpoint)
		want   []string
	}{
		{"transposed", func(ck *Checkpoint) {
			s := ck.Shapes[flat]
			ck.Shapes[flat] = []int{s[1], s[0]}
		}, []string{"checkpoint tensor " + flat + " has shape " + fmt.Sprint([]int{ck.Shapes[flat][1], ck.Shapes[flat][0]}),
			"the network wants " + fmt.Sprint(ck.Shapes[flat])}},
		{"NaN", func(ck *Checkpoint) {
			ck.Tensors[last][0] = float32(math.NaN())
			ck.Tensors[first][3] = float32(math.NaN())
		}, []string{"checkpoint tensor " + first + " holds NaN at index 3", "not finite"}},
		{"+Inf", func(ck *Checkpoint) { ck.Tensors[last][1] = float32(math.Inf(1)) }, []string{"checkpoint tensor " + last + " holds +Inf at index 1"}},
	} {
		bad, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		c.change(bad)
		path := filepath.Join(t.TempDir(), "bad.safetensors")
		if err := bad.Save(path); err != nil {
			t.Fatal(err)
		}
		_, err = Evaluate(context.Background(), path, RunOptions{Train: train, Test: test})
		for _, w := range append([]string{path}, c.want...) {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("case %s: got %v, want it to say %q", c.name, err, w)
			}
		}
	}
}
