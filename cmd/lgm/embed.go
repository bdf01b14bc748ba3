package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
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
  lgm embed runs/mnist2d-softmax --out features.csv --plot features.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.out == "" {
				return usageError{errors.New("--out FILE.csv is required"), true}
			}
			if o.split != "train" && o.split != "test" {
				return usageError{fmt.Errorf("--split must be train or test (got %q)", o.split), true}
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
			// Write beside the target and rename at the end: a failed or
			// interrupted embed never leaves a partial CSV under the name.
			tmp, err := os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".tmp-*")
			if err != nil {
				return fmt.Errorf("cannot write %s: %w", o.out, err)
			}
			defer os.Remove(tmp.Name())
			res, err := experiment.Embed(cmd.Context(), args[0], tmp, experiment.RunOptions{Split: o.split, DataDir: o.data})
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
			fmt.Fprintf(s.out, "wrote %s\n", o.plot)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.split, "split", "test", "split to embed: train | test")
	f.StringVarP(&o.out, "out", "o", "", "CSV `file` to write")
	f.StringVar(&o.plot, "plot", "", "also draw the features into this .png or .svg `file`")
	f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	threadsFlag(f, &o.threads)
	return cmd
}
