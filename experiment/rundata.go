package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/internal/fileio"
)

// DataShape is what a run was trained on, recorded in its checkpoint so
// that a resume or an evaluation from another copy of the data (--data) can
// check it is the same data set: same image shape, classes and counts.
type DataShape struct {
	TrainN  int `json:"train_n"`
	TestN   int `json:"test_n"`
	C       int `json:"c"`
	H       int `json:"h"`
	W       int `json:"w"`
	Classes int `json:"classes"`
}

// shapeOf describes the splits train and test.
func shapeOf(train, test *data.Set) DataShape {
	return DataShape{TrainN: train.N, TestN: test.N, C: train.C, H: train.H, W: train.W, Classes: train.Classes}
}

// imageWords says an image shape in words: "28×28 images with 1 channel".
func imageWords(h, w, c int) string {
	return fmt.Sprintf("%d×%d images with %d channel%s", w, h, c, map[bool]string{true: "", false: "s"}[c == 1])
}

// checkImageSize refuses a data split whose images are not the size the
// run ck was trained on, saying so in those words. run names the run,
// from names where the data came from. Checkpoints from before the record
// carry only the channel count (in their normalisation).
func checkImageSize(ck *Checkpoint, run, from string, set *data.Set) error {
	want := ck.Data
	if want.C == 0 {
		if c := len(ck.Norm.Mean); c > 0 && c != set.C {
			return fmt.Errorf("image size mismatch: %s holds images with %d channels but %s was trained on images with %d; pass --data with the data set the run was trained on", from, set.C, run, c)
		}
		return nil
	}
	if set.C != want.C || set.H != want.H || set.W != want.W {
		return fmt.Errorf("image size mismatch: %s holds %s but %s was trained on %s; pass --data with the data set the run was trained on",
			from, imageWords(set.H, set.W, set.C), run, imageWords(want.H, want.W, want.C))
	}
	if set.Classes != want.Classes {
		return fmt.Errorf("%s has %d classes but %s was trained on %d; pass --data with the data set the run was trained on", from, set.Classes, run, want.Classes)
	}
	return nil
}

// checkSameData refuses to resume the run ck from data that differ from
// what it was trained on (the data moved: --data), saying which of the
// image shape and the numbers of training and test images differs.
func checkSameData(ck *Checkpoint, run, from string, train, test *data.Set) error {
	if err := checkImageSize(ck, run, from, train); err != nil {
		return err
	}
	want := ck.Data
	var diffs []string
	if want.C > 0 && train.N != want.TrainN {
		diffs = append(diffs, fmt.Sprintf("%d training images, not %d", train.N, want.TrainN))
	}
	testN := want.TestN
	if want.C == 0 && len(ck.History) > 0 { // an older checkpoint: its metrics say
		testN = ck.History[0].TestN
	}
	if testN > 0 && test.N != testN {
		diffs = append(diffs, fmt.Sprintf("%d test images, not %d", test.N, testN))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s is not the data %s was trained on: it holds %s; resume with the same data set (or start a new run on this one)", from, run, strings.Join(diffs, " and "))
	}
	return nil
}

// checkConfigFile reports hand edits to a run's config.yaml before a
// resume: the checkpoint's config is what runs (and what the file would be
// rewritten to), so an edit would be silently lost. A missing file is
// fine: the resume writes it again.
//
// It returns the file's label data.name, which a resume keeps: it may be
// added or changed by hand, as it changes nothing in training.
func checkConfigFile(run, path string, ck *Checkpoint) (dataName string, err error) {
	dataName = ck.Config.Data.Name
	raw, err := fileio.ReadFile(path, "a config file", fileio.MaxConfigBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return dataName, nil
		}
		return dataName, err
	}
	// Both decoded the same way, so that keys a newer lgm added to configs
	// (absent from the file and from the checkpoint's copy) are no edit.
	var now Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var diffs []string
	if err := dec.Decode(&now); err != nil {
		diffs = []string{"it no longer parses: " + oneLine(err.Error())}
	} else if diffs, err = configDiff(ck.Config.Unlabelled().Marshal(), now.Unlabelled().Marshal()); err != nil {
		return dataName, err
	}
	if len(diffs) == 0 {
		return now.Data.Name, nil
	}
	return dataName, fmt.Errorf("%s was edited after the run's last checkpoint (%s); --resume runs the config saved in the checkpoint, not the file, and would overwrite the file. "+
		"To resume as trained, remove %s (the resume writes it again) and run the command again; to train with the edits, start a new run: lgm train --config %s --out NEW_DIR",
		path, strings.Join(diffs, "; "), path, path)
}

// configDiff lists the keys whose values differ between two YAML configs,
// as "train.lr: 0.01 → 0.05", in key order.
func configDiff(was, now []byte) ([]string, error) {
	var a, b map[string]any
	if err := yaml.Unmarshal(was, &a); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(now, &b); err != nil {
		return nil, err
	}
	fa, fb := map[string]string{}, map[string]string{}
	flatten("", a, fa)
	flatten("", b, fb)
	keys := slices.Sorted(maps.Keys(fa))
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var diffs []string
	for _, k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		switch {
		case !okb:
			diffs = append(diffs, k+": removed")
		case !oka:
			diffs = append(diffs, k+": added ("+vb+")")
		case va != vb:
			diffs = append(diffs, fmt.Sprintf("%s: %s → %s", k, va, vb))
		}
	}
	return diffs, nil
}

// flatten writes the leaves of a decoded YAML mapping as dotted keys.
func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok {
		for k, sub := range m {
			flatten(prefix+k+".", sub, out)
		}
		return
	}
	out[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
}
