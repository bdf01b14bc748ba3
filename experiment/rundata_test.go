package experiment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/data"
)

// blank is a set of n zero images of c×h×w with 4 classes.
func blank(name string, n, c, h, w int) *data.Set {
	s := &data.Set{Name: name, N: n, C: c, H: h, W: w, Classes: 4, Images: make([]float32, n*c*h*w), Labels: make([]int, n)}
	for i := range s.Labels {
		s.Labels[i] = i % 4
	}
	return s
}

// TestResumeFromMovedData: a run resumes from its data at a new place
// (TrainOptions.DataDir, lgm train --resume RUN --data NEW) when it is the
// same data set, and the run's config then names the new place; another
// image shape, number of training images or of test images is refused
// saying which differs.
func TestResumeFromMovedData(t *testing.T) {
	cfg := smallConfig()
	cfg.Train.Epochs = 1
	cfg.Data.Dir = "/data/old"
	dir := filepath.Join(t.TempDir(), "run")
	train, test := synthetic("synth/train", 200, 4, 1), synthetic("synth/test", 70, 4, 2)
	if err := Train(context.Background(), cfg, TrainOptions{Out: dir, Train: train, Test: test}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		train, test *data.Set
		want        string
	}{
		{"image shape", blank("b/train", 200, 1, 32, 32), blank("b/test", 70, 1, 32, 32),
			"image size mismatch: the data in /data/new holds 32×32 images with 1 channel but " + dir + " was trained on 28×28 images with 1 channel"},
		{"channels", syntheticC("c/train", 200, 4, 3, 1), syntheticC("c/test", 70, 4, 3, 2),
			"image size mismatch: the data in /data/new holds 28×28 images with 3 channels but"},
		{"training images", synthetic("s/train", 150, 4, 1), test,
			"the data in /data/new is not the data " + dir + " was trained on: it holds 150 training images, not 200"},
		{"test images", train, synthetic("s/test", 69, 4, 2), "it holds 69 test images, not 70"},
		{"same data", train, test, ""},
	} {
		var out bytes.Buffer
		err := Resume(context.Background(), 2, TrainOptions{Out: dir, DataDir: "/data/new", Train: c.train, Test: c.test, Stdout: &out})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %s: got %v, want the resume to run", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("case %s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if ck.Epoch != 2 || ck.Config.Data.Dir != "/data/new" || !bytes.Equal(saved, ck.Config.Marshal()) {
		t.Errorf("after the resume: epoch %d, data.dir %q, config.yaml the checkpoint's: %v; want 2, /data/new, true", ck.Epoch, ck.Config.Data.Dir, bytes.Equal(saved, ck.Config.Marshal()))
	}
	if ck.Data != (DataShape{TrainN: 200, TestN: 70, C: 1, H: 28, W: 28, Classes: 4}) {
		t.Errorf("the checkpoint records data %+v", ck.Data)
	}
}

// TestResumeRefusesHandEditedConfig: a run's config.yaml edited by hand
// after its checkpoint is reported before --resume runs (which would run
// the checkpoint's config and overwrite the file), listing each change and
// how to proceed; the file as written, or no file, resumes.
func TestResumeRefusesHandEditedConfig(t *testing.T) {
	opts, path, orig := trainOneEpoch(t, smallConfig())
	dir := opts.Out
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"lr and seed", strings.Replace(strings.Replace(string(orig), "lr: 0.01", "lr: 0.05", 1), "seed: 1", "seed: 7", 1),
			[]string{"seed: 1 → 7", "train.lr: 0.01 → 0.05"}},
		{"key removed", strings.Replace(string(orig), "    momentum: 0.9\n", "", 1), []string{"train.momentum: 0.9 → 0"}},
		{"broken", string(orig) + "train: [\n", []string{"it no longer parses"}},
		{"only reformatted", "# a comment\n" + string(orig), nil},
	} {
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Resume(context.Background(), 0, opts)
		if c.want == nil {
			if err == nil || !strings.Contains(err.Error(), "finished all 1 epochs") {
				t.Errorf("case %s: got %v, want the resume to go ahead (and find the run finished)", c.name, err)
			}
			continue
		}
		for _, w := range append(c.want, path+" was edited after the run's last checkpoint", "--resume runs the config saved in the checkpoint",
			"remove "+path, "lgm train --config "+path+" --out NEW_DIR") {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("case %s: got %v, want it to say %q", c.name, err, w)
			}
		}
		if b, _ := os.ReadFile(path); string(b) != c.text {
			t.Errorf("case %s: the edited file was changed", c.name)
		}
	}
	os.Remove(path)
	if err := Resume(context.Background(), 2, opts); err != nil {
		t.Fatalf("resume without config.yaml: %v", err)
	}
	ck, _ := OpenCheckpoint(dir)
	if b, _ := os.ReadFile(path); ck == nil || !bytes.Equal(b, ck.Config.Marshal()) {
		t.Errorf("config.yaml was not written again from the checkpoint")
	}
}

// TestEvalImageSizeMismatch: evaluating a run on data of another image size
// says "image size mismatch" and both sizes (before: only counts of tensor
// values).
func TestEvalImageSizeMismatch(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	train := synthetic("synth/train", 200, 4, 1)
	_, err := Evaluate(context.Background(), dir, RunOptions{DataDir: "/elsewhere", Train: train, Test: blank("b/test", 10, 1, 32, 32)})
	want := "image size mismatch: --data /elsewhere holds 32×32 images with 1 channel but " + dir + " was trained on 28×28 images with 1 channel"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// trainOneEpoch trains cfg for one epoch on the small synthetic set into a
// new run directory and returns the options that trained it, the path of
// its config.yaml and the file as written.
func trainOneEpoch(t *testing.T, cfg Config) (opts TrainOptions, path string, written []byte) {
	t.Helper()
	cfg.Train.Epochs = 1
	dir := filepath.Join(t.TempDir(), "run")
	opts = TrainOptions{Out: dir, Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	if err := Train(context.Background(), cfg, opts); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, ConfigFile)
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return opts, path, written
}
