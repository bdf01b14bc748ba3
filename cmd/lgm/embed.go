package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
)

type embedOptions struct {
	split   string
	out     string
	data    string
	threads int
}

func newEmbedCmd(s streams) *cobra.Command {
	o := &embedOptions{}
	cmd := &cobra.Command{
		Use:   "embed RUN_DIR --out FILE.csv",
		Short: "Write the features of a finished run's network as CSV",
		Long: `Run a trained network over a whole split and write one CSV row per image:
label, prediction and the D feature values, after a header line.`,
		Example: `  lgm embed runs/mnist2d-softmax --out features.csv
  lgm embed runs/mnist2d-softmax --split train --out train-features.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.out == "" {
				return usageError{errors.New("--out FILE.csv is required"), true}
			}
			if o.split != "train" && o.split != "test" && o.split != "val" {
				return usageError{fmt.Errorf("--split must be train, val or test (got %q)", o.split), true}
			}
			if err := useThreads(o.threads); err != nil {
				return err
			}
			// Write beside the target and rename at the end: a failed or
			// interrupted embed never leaves a partial CSV under the name.
			tmp, err := os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".tmp-*")
			if err != nil {
				return usageError{err: fmt.Errorf("cannot write --out %s: %w", o.out, err)}
			}
			defer os.Remove(tmp.Name())
			res, err := experiment.Embed(cmd.Context(), args[0], tmp, experiment.RunOptions{Split: o.split, DataDir: o.data,
				Progress: s.err, Terminal: isTerminal(s.err), LineEvery: time.Minute})
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), o.out); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "wrote %d rows to %s (%s error %.2f%%)\n", res.N, o.out, o.split, 100*res.Error)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.split, "split", "test", "split to embed: train | val | test (val: the images a run with data.val held out; train: those it trained on)")
	f.StringVarP(&o.out, "out", "o", "", "CSV `file` to write")
	f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	threadsFlag(f, &o.threads)
	return cmd
}
