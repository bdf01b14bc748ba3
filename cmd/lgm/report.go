package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/report"
)

type reportOptions struct {
	out       string
	title     string
	confusion bool
	noEval    bool
	data      string
	grid      int
	threads   int
}

func newReportCmd(io streams) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report RUN_DIR... [--out DIR]",
		Short: "Write report.md and a self-contained report.html of runs, beside the paper's numbers",
		Long: `Read run directories and write DIR/report.md (with its pictures as PNG files
beside it) and DIR/report.html (one self-contained page, pictures inline):

  - the runs, and their groups (runs that differ only in the seed) with the last
    epoch's test error as mean ± sample std over the seeds (never the best epoch);
  - the paper's numbers beside ours with the difference and the table each comes
    from (Table 6, Table 3 — marked "paper: CIFAR-100" beside a CIFAR-10 run —
    and the authors' later code);
  - Table 6 in its layout (clean and FGSM rows), the detection table (AUROC per
    head and ε) and the pictures of Figures 3 and 4, where lgm attack has run;
  - the calibration table (ECE, MCE, NLL, Brier; top-5 error for CIFAR-100) and
    reliability diagrams, Figure 1 for D = 2 runs, the training curves.

The checkpoints are run over the test set once each for the calibration and
the features (--no-eval skips that: tables of the logged numbers only).`,
		Example: `  lgm report runs/softmax runs/center runs/lgm --out results
  lgm report runs/mnist2d-* --out fig1 --title "Figure 1"
  lgm report runs/cifar100-* --confusion --out c100`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := useThreads(o.threads); err != nil {
				return err
			}
			opts := experiment.ReportOptions{Inspect: !o.noEval, Likelihood: !o.noEval, Confusion: o.confusion, Data: o.data, GridN: o.grid, Log: io.err}
			var runs []*report.Run
			for _, dir := range args {
				r, err := experiment.ReadReportRun(cmd.Context(), dir, opts)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			doc, err := report.Build(runs, report.Options{Title: o.title, Confusion: o.confusion})
			if err != nil {
				return err
			}
			md, page, files, err := doc.Render()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(o.out, 0o755); err != nil {
				return fmt.Errorf("--out %s: %w", o.out, err)
			}
			for _, name := range slices.Sorted(maps.Keys(files)) {
				if err := writeFileAtomic(filepath.Join(o.out, name), files[name]); err != nil {
					return err
				}
			}
			for name, b := range map[string][]byte{"report.md": md, "report.html": page} {
				if err := writeFileAtomic(filepath.Join(o.out, name), b); err != nil {
					return err
				}
			}
			fmt.Fprintf(io.out, "wrote %s and %s (%d runs, %d pictures)\n",
				filepath.Join(o.out, "report.md"), filepath.Join(o.out, "report.html"), len(runs), len(files))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "report", "`folder` to write report.md, report.html and the pictures into")
	f.StringVar(&o.title, "title", "", "title of the report (default \"lgm report\")")
	f.BoolVar(&o.confusion, "confusion", false, "add a confusion-matrix picture of every run")
	f.BoolVar(&o.noEval, "no-eval", false, "do not run the checkpoints: no calibration, features or likelihood map")
	f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	f.IntVar(&o.grid, "grid", 200, "grid cells per side of the likelihood maps")
	threadsFlag(f, &o.threads)
	return cmd
}
