package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/internal/fileio"
	"github.com/lgm-dev/lgm/report"
)

type embedOptions struct {
	split   string
	out     string
	plot    string
	data    string
	threads int
}

func newEmbedCmd(s streams) *cobra.Command {
	o := &embedOptions{}
	cmd := &cobra.Command{
		Use:   "embed RUN_DIR --out FILE.csv",
		Short: "Write the features of a finished run's network as CSV",
		Long: `Run a trained network over a whole split and write one CSV row per image:
label, prediction and the D feature values, after a header line. With --plot
it also draws the features (as lgm plot features does; a PCA projection for
D > 2) into a .png or .svg file.`,
		Example: `  lgm embed runs/mnist2d-softmax --out features.csv
  lgm embed runs/mnist2d-softmax --split train --out train-features.csv
  lgm embed runs/mnist2d-softmax --out features.csv --plot features.png
  lgm embed runs/mnist2d-softmax --out - | head`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.out == "" {
				return usageError{errors.New("--out FILE.csv is required"), true}
			}
			if o.split != "train" && o.split != "test" && o.split != "val" {
				return usageError{fmt.Errorf("--split must be train, val or test (got %q)", o.split), true}
			}
			format := ""
			if o.plot != "" {
				var err error
				if format, err = report.FormatOf(o.plot); err != nil {
					return usageError{fmt.Errorf("--plot %w", err), true}
				}
			}
			if err := useThreads(o.threads); err != nil {
				return err
			}
			ropts := experiment.RunOptions{Split: o.split, DataDir: o.data,
				Progress: s.err, Terminal: isTerminal(s.err), LineEvery: time.Minute}
			summary := s.out
			if o.out == "-" { // the CSV on stdout, the summary on stderr
				res, err := experiment.Embed(cmd.Context(), args[0], s.out, ropts)
				if err != nil {
					return err
				}
				summary = s.err
				fmt.Fprintf(summary, "wrote %d rows to standard output (%s error %.2f%%)\n", res.N, o.split, 100*res.Error)
			} else {
				// Written beside the target and renamed at the end: a failed or
				// interrupted embed never leaves a partial CSV under the name.
				// A symlink is written through, a special file refused.
				out, err := fileio.Create(o.out)
				if err != nil { // found before any work: a usage mistake
					return usageError{err: fmt.Errorf("--out: %w", err)}
				}
				defer out.Abort()
				res, err := experiment.Embed(cmd.Context(), args[0], out, ropts)
				if err != nil {
					return err
				}
				if err := out.Commit(); err != nil {
					return err
				}
				fmt.Fprintf(summary, "wrote %d rows to %s (%s error %.2f%%)\n", res.N, o.out, o.split, 100*res.Error)
			}
			if o.plot == "" {
				return nil
			}
			pic, err := featurePicture(cmd.Context(), args[0], experiment.ReportOptions{Split: o.split, Data: o.data})
			if err != nil {
				return err
			}
			if err := savePicture(o.plot, format, pic); err != nil {
				return err
			}
			fmt.Fprintf(summary, "wrote %s\n", o.plot)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.split, "split", "test", "split to embed: train | val | test (val: the images a run with data.val held out; train: those it trained on)")
	f.StringVarP(&o.out, "out", "o", "", "CSV `file` to write (- for standard output; a symlink is written through, a special file refused)")
	f.StringVar(&o.plot, "plot", "", "also draw the features into this .png or .svg `file`")
	f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	threadsFlag(f, &o.threads)
	return cmd
}
