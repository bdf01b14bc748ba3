package experiment

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lgm-dev/lgm/data"
)

// RunOptions say where a finished run's data come from.
type RunOptions struct {
	DataDir string // overrides the run's data.dir (the data moved, or another copy)
	Split   string // "test" (default), "train" (the images trained on) or "val" (those held out by data.val)
	// Train and Test, when set, replace the data the run's config names (tests use this).
	Train, Test *data.Set
	// Progress, if not nil, receives the evaluation's progress: a bar when
	// Terminal, else a line at most every LineEvery.
	Progress  io.Writer
	Terminal  bool
	LineEvery time.Duration
}

// progress is the evaluation hook showing opts' progress over set, or nil.
func (opts RunOptions) progress(ss *session, set *data.Set) func(i, label, pred int, feat []float32) error {
	if opts.Progress == nil {
		return nil
	}
	split := opts.Split
	if split == "" {
		split = "test"
	}
	return evalProgress(opts.Progress, opts.Terminal, opts.LineEvery, "evaluating "+split, set.N, ss.shape.B, nil)
}

// OpenCheckpoint loads the checkpoint of a run directory, or a checkpoint
// file given directly.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("run directory %s does not exist", path)
		}
		return nil, err
	}
	if fi.IsDir() {
		path = filepath.Join(path, CheckpointFile)
	}
	return LoadCheckpoint(path)
}

// openRun loads a run's checkpoint, its data split (normalised as in
// training) and an evaluation session holding its weights.
func openRun(path string, opts RunOptions) (*session, *data.Set, error) {
	ss, set, err := openRunSetup(path, opts)
	return ss, set, setup(err)
}

func openRunSetup(path string, opts RunOptions) (*session, *data.Set, error) {
	ck, err := OpenCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	cfg := ck.Config
	if opts.DataDir != "" {
		cfg.Data.Dir = opts.DataDir
	}
	train, test := opts.Train, opts.Test
	if train == nil || test == nil {
		if train, test, err = loadData(cfg, nil); err != nil {
			return nil, nil, err
		}
	}
	set := test
	switch opts.Split {
	case "", "test":
	case "train", "val":
		if cfg.Data.Val == 0 {
			if opts.Split == "val" {
				return nil, nil, fmt.Errorf("%s holds out no validation images (its data.val is 0): use --split test or train", path)
			}
			set = train
			break
		}
		// The images the run held out, and those it trained on.
		rest, val, err := holdOut(cfg, train)
		if err != nil {
			return nil, nil, err
		}
		set = rest
		if opts.Split == "val" {
			set = val
		}
	default:
		return nil, nil, fmt.Errorf("--split must be train, val or test (got %q)", opts.Split)
	}
	from := "the data"
	if opts.DataDir != "" {
		from = "--data " + opts.DataDir
	} else if cfg.Data.Dir != "" {
		from = "the data in " + cfg.Data.Dir
	}
	if err := checkImageSize(ck, path, from, set); err != nil {
		return nil, nil, err
	}
	if set, err = normalised(data.Norm{Mean: ck.Norm.Mean, Std: ck.Norm.Std}, set); err != nil {
		return nil, nil, err
	}
	ss, err := newSession(cfg, shape{B: cfg.Train.Batch, C: set.C, H: set.H, W: set.W, K: set.Classes}, false)
	if err != nil {
		return nil, nil, err
	}
	if err := restore(ss, ck); err != nil {
		ss.close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ss, set, nil
}

// Evaluate computes the error of a finished run on a whole split.
func Evaluate(ctx context.Context, path string, opts RunOptions) (EvalResult, error) {
	ss, set, err := openRun(path, opts)
	if err != nil {
		return EvalResult{}, err
	}
	defer ss.close()
	return evaluate(ctx, ss, set, opts.progress(ss, set))
}

// Embed writes one CSV row per example of a split: label, prediction and
// the D feature values, after a header line "label,prediction,f1,…,fD".
func Embed(ctx context.Context, path string, w io.Writer, opts RunOptions) (EvalResult, error) {
	ss, set, err := openRun(path, opts)
	if err != nil {
		return EvalResult{}, err
	}
	defer ss.close()
	bw := bufio.NewWriter(w)
	bw.WriteString("label,prediction")
	for j := 1; j <= ss.dim; j++ {
		fmt.Fprintf(bw, ",f%d", j)
	}
	bw.WriteByte('\n')
	var buf []byte
	progress := opts.progress(ss, set)
	res, err := evaluate(ctx, ss, set, func(i, label, pred int, feat []float32) error {
		if progress != nil {
			progress(i, label, pred, feat)
		}
		buf = strconv.AppendInt(buf[:0], int64(label), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(pred), 10)
		for _, v := range feat {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return res, err
	}
	return res, bw.Flush()
}
