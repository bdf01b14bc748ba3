package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/experiment"
)

// Status is what a sweep does with a run directory.
type Status string

// The statuses of a run directory.
const (
	StatusNew     Status = "new"     // no run directory yet: train it
	StatusRestart Status = "restart" // a config.yaml but no checkpoint (stopped in its first minutes): train it afresh
	StatusResume  Status = "resume"  // a checkpoint before the last epoch: lgm train --resume
	StatusDone    Status = "done"    // the checkpoint is at the last epoch: skip
	// StatusElsewhere is a run directory another process holds the lock of
	// (training into it now): skipped, not an error.
	StatusElsewhere Status = "running-elsewhere"
	// StatusRefused is a run directory the sweep must not touch: its
	// config.yaml differs from the sweep's, or it cannot be read.
	StatusRefused Status = "refused"
)

// State is a run of the sweep and what its run directory holds.
type State struct {
	*Point
	Dir     string
	Status  Status
	Epoch   int   // epochs the checkpoint has finished
	Batch   int   // batches it has finished of the next epoch (a mid-epoch checkpoint)
	PID     int   // for StatusElsewhere: the process holding the lock, if known
	Problem error // for StatusRefused: why
}

// Inspect looks at the run directory dir of p without writing or locking
// anything in it.
func Inspect(p *Point, dir string) State {
	st := State{Point: p, Dir: dir, Status: StatusNew}
	refuse := func(err error) State {
		st.Status, st.Problem = StatusRefused, err
		return st
	}
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return st
	case err != nil:
		return refuse(err)
	case !fi.IsDir():
		return refuse(fmt.Errorf("%s is a file, not a run directory: move it away", dir))
	}
	cfgPath := filepath.Join(dir, experiment.ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	hasConfig := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return refuse(err)
	}
	if hasConfig {
		if err := sameConfig(raw, cfgPath, p.Resolved); err != nil {
			return refuse(err)
		}
	}
	ck, ckErr := experiment.OpenCheckpoint(dir)
	hasCheckpoint := ckErr == nil
	if hasCheckpoint {
		st.Epoch, st.Batch = ck.Epoch, ck.Batch
	}
	if pid, held := lockHolder(dir); held {
		st.Status, st.PID = StatusElsewhere, pid
		return st
	}
	switch {
	case hasCheckpoint && ck.Epoch >= p.Resolved.Train.Epochs:
		st.Status = StatusDone
	case hasCheckpoint:
		st.Status = StatusResume
	case fileExists(filepath.Join(dir, experiment.CheckpointFile)):
		return refuse(fmt.Errorf("%w; move the run directory away to train it afresh", ckErr))
	case hasConfig || fileExists(filepath.Join(dir, experiment.MetricsFile)):
		st.Status = StatusRestart
	}
	if hasCheckpoint && !hasConfig {
		return refuse(fmt.Errorf("%s has a checkpoint but no %s: not a run of lgm train; move it away", dir, experiment.ConfigFile))
	}
	return st
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sameConfig compares the config.yaml of a run (raw, at path) with the
// config the sweep would run, ignoring formatting and labels (data.name,
// which change nothing in training): both are
// decoded and written again, then compared key by key. The error names every
// key that differs.
func sameConfig(raw []byte, path string, want experiment.Config) error {
	var got experiment.Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&got); err != nil {
		return fmt.Errorf("%s: %s; it is not a config this lgm wrote: move the run directory away", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	g, w := flatten(got.Unlabelled().Marshal()), flatten(want.Unlabelled().Marshal())
	var diffs []string
	for _, k := range union(g.keys, w.keys) {
		gv, gok := g.values[k]
		wv, wok := w.values[k]
		switch {
		case gok && wok && gv == wv:
		case !gok:
			diffs = append(diffs, fmt.Sprintf("%s is unset there, %s in the sweep", k, wv))
		case !wok:
			diffs = append(diffs, fmt.Sprintf("%s is %s there, unset in the sweep", k, gv))
		default:
			diffs = append(diffs, fmt.Sprintf("%s is %s there, %s in the sweep", k, gv, wv))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%s differs from the sweep's config: %s; change the sweep file to match, or give another --out",
		path, strings.Join(diffs, "; "))
}

// tree is a config flattened to dotted keys, in order.
type tree struct {
	keys   []string
	values map[string]string
}

func flatten(raw []byte) tree {
	t := tree{values: map[string]string{}}
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) != 1 {
		return t
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], prefix+n.Content[i].Value+".")
			}
			return
		}
		k := strings.TrimSuffix(prefix, ".")
		t.keys = append(t.keys, k)
		t.values[k] = valueText(n)
	}
	walk(doc.Content[0], "")
	return t
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	have := map[string]bool{}
	for _, k := range a {
		have[k] = true
	}
	for _, k := range b {
		if !have[k] {
			out = append(out, k)
		}
	}
	return out
}

// SaveEvery is the --save-every the sweep gives its trainings: a run killed
// without warning loses at most this much.
const SaveEvery = "5m"

// TrainArgs are the arguments of the `lgm train` that trains st afresh,
// after the executable, with threads ops threads.
func (st State) TrainArgs(threads string) []string {
	args := []string{"train", "--config", st.Config}
	for _, s := range st.Sets {
		args = append(args, "--set", s)
	}
	return append(args, "--seed", strconv.FormatUint(st.Seed, 10), "--threads", threads, "--save-every", SaveEvery, "--out", st.Dir)
}

// ResumeArgs are the arguments of the `lgm train` that continues st from
// its checkpoint, with the thread count the run started with (so the result
// is bit-identical to an unbroken run).
func (st State) ResumeArgs() []string {
	return []string{"train", "--resume", st.Dir, "--save-every", SaveEvery}
}

// Args are the arguments of what the sweep runs for st (nil for nothing).
func (st State) Args(threads int) []string {
	switch st.Status {
	case StatusNew, StatusRestart:
		return st.TrainArgs(strconv.Itoa(threads))
	case StatusResume:
		return st.ResumeArgs()
	case StatusElsewhere: // what it would run once the other process is gone
		if st.Epoch > 0 || fileExists(filepath.Join(st.Dir, experiment.CheckpointFile)) {
			return st.ResumeArgs()
		}
		return st.TrainArgs(strconv.Itoa(threads))
	}
	return nil
}
