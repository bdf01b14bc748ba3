package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/internal/fileio"
	"github.com/lgm-dev/lgm/report"
)

// plotOptions are the flags shared by the plot commands.
type plotOptions struct {
	out       string
	split     string
	data      string
	maxPoints int
	grid      int
	eps       float64
	threads   int
}

// plotKinds are the pictures `lgm plot` draws, with their default file names.
var plotKinds = []struct{ name, short, long, file string }{
	{"features", "2-D feature scatter (the paper's Figure 1 a–e)",
		`Run each checkpoint over a split and draw its features: one colour and marker
per class, the class centres or means as large discs, both axes at one scale.
Features with D > 2 are drawn as their PCA projection. Several runs make one
picture, side by side.`, "features-%s.png"},
	{"likelihood", "likelihood heatmap over the feature plane (Figure 1 f)",
		`Evaluate the head's log-likelihood score (max_k log N(x; μ_k, Σ) for GM and
L-GM, the winning logit for softmax, −½‖x − c_ŷ‖² for center) on a grid over
the 2-D features and draw it as a heatmap, brighter = higher, with the
features and the attack examples of lgm attack (attack-fgsm-features.csv) on
top. D = 2 runs only.`, "likelihood.png"},
	{"curves", "training curves from metrics.jsonl, several runs overlaid",
		`Draw the loss and its terms, train and test error, learning rate and the α, λ
and β schedules over the epochs of each run; several runs share the panels.`, "curves.png"},
	{"attack", "posterior and likelihood histograms and ROC under attack (Figures 3, 4)",
		`From each run's attack-<method>.json and attack-<method>.csv (written by lgm
attack): the histogram of the largest posterior of the attacked images, the
likelihood of clean against attacked images, and the ROC curves of telling
them apart by likelihood and by posterior, AUROC in the legend.`, "attack.png"},
	{"calibration", "reliability diagram with ECE, MCE, NLL and Brier",
		`Run each checkpoint over the test set and draw the accuracy against the
confidence (largest posterior) in 15 equal-width bins, with the expected and
maximum calibration errors, the negative log-likelihood and the Brier score.`, "calibration.png"},
	{"confusion", "confusion matrix of the test set",
		`Run each checkpoint over the test set and draw the fraction of each true
class given each predicted class.`, "confusion.png"},
}

func newPlotCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plot KIND RUN_DIR...",
		Short: "Draw a picture of runs: features, likelihood, curves, attack, calibration, confusion",
		Long: `Draw one of the paper's pictures (or a training or calibration picture) of one or
more run directories, as PNG or SVG (the --out file's extension chooses). By
default the picture goes into the first run directory.`,
		Example: `  lgm plot features runs/mnist2d-lgm
  lgm plot features runs/mnist2d-softmax runs/mnist2d-lgm --split train --out fig1.svg
  lgm plot likelihood runs/mnist2d-lgm
  lgm plot curves runs/softmax runs/lgm --out curves.png
  lgm plot attack runs/softmax runs/lgm
  lgm plot calibration runs/softmax runs/lgm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, k := range plotKinds {
		o := &plotOptions{}
		sub := &cobra.Command{
			Use:     k.name + " RUN_DIR...",
			Short:   k.short,
			Long:    k.long,
			Example: fmt.Sprintf("  lgm plot %s runs/a runs/b\n  lgm plot %s runs/a --out %s", k.name, k.name, "/tmp/"+fmt.Sprintf(k.file, "test")),
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if o.split != "train" && o.split != "test" {
					return usageError{fmt.Errorf("--split must be train or test (got %q)", o.split), true}
				}
				out := o.out
				if out == "" {
					out = filepath.Join(args[0], k.file)
					if k.name == "features" {
						out = filepath.Join(args[0], fmt.Sprintf(k.file, o.split))
					}
				}
				format, err := report.FormatOf(out)
				if err != nil {
					return usageError{fmt.Errorf("--out %w", err), true}
				}
				if err := useThreads(o.threads); err != nil {
					return err
				}
				pic, err := drawKind(cmd.Context(), k.name, args, o)
				if err != nil {
					return err
				}
				if err := savePicture(out, format, pic); err != nil {
					return err
				}
				fmt.Fprintf(io.out, "wrote %s\n", out)
				return nil
			},
		}
		f := sub.Flags()
		f.StringVarP(&o.out, "out", "o", "", "picture `file` to write, .png or .svg (default: in the first run directory)")
		f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
		threadsFlag(f, &o.threads)
		switch k.name {
		case "features", "likelihood":
			f.IntVar(&o.maxPoints, "max-points", report.DefaultMaxPoints, "draw at most this many features (a subsample seeded by the run's seed)")
		}
		o.split = "test"
		if k.name == "features" {
			f.StringVar(&o.split, "split", "test", "split whose features are drawn: train | test")
		}
		if k.name == "likelihood" {
			f.IntVar(&o.grid, "grid", 200, "grid cells per side of the heatmap")
			f.Float64Var(&o.eps, "eps", 0, "ε of the attack examples marked (0: the smallest in attack-fgsm-features.csv)")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

// drawKind makes the picture kind of the runs in dirs.
func drawKind(ctx context.Context, kind string, dirs []string, o *plotOptions) (report.Picture, error) {
	ropts := experiment.ReportOptions{Data: o.data, Split: o.split, MaxPoints: o.maxPoints, GridN: o.grid, MarkEps: o.eps}
	var pics []report.Picture
	switch kind {
	case "features":
		for _, dir := range dirs {
			pic, err := featurePicture(ctx, dir, ropts)
			if err != nil {
				return nil, err
			}
			pics = append(pics, pic)
		}
		return report.Grid(3, pics...), nil
	case "likelihood":
		ropts.Inspect, ropts.Likelihood = true, true
		for _, dir := range dirs {
			r, err := experiment.ReadReportRun(ctx, dir, ropts)
			if err != nil {
				return nil, err
			}
			if r.Likelihood == nil {
				return nil, fmt.Errorf("%s: no likelihood map: the run has D = %d (the map is drawn for D = 2) or no checkpoint yet", dir, r.Dim)
			}
			pic, err := report.LikelihoodPlot(*r.Likelihood)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", dir, err)
			}
			pics = append(pics, pic)
		}
		return report.Grid(3, pics...), nil
	case "curves":
		var curves []report.Curve
		for _, dir := range dirs {
			_, ms, err := experiment.ReadRunConfig(dir)
			if err != nil {
				return nil, err
			}
			if len(ms) == 0 {
				return nil, fmt.Errorf("%s: no finished epoch in %s yet", dir, experiment.MetricsFile)
			}
			curves = append(curves, experiment.ReportCurve(filepath.Base(filepath.Clean(dir)), ms))
		}
		return report.CurvesPlot(curves)
	case "attack":
		var all []report.AttackScores
		for _, dir := range dirs {
			cfg, _, err := experiment.ReadRunConfig(dir)
			if err != nil {
				return nil, err
			}
			_, scores, err := experiment.ReadAttacks(dir)
			if err != nil {
				return nil, err
			}
			if len(scores) == 0 {
				return nil, fmt.Errorf("%s: no attack scores (attack-<method>.csv); run lgm attack %s --scores %s first", dir, dir, experiment.AttackScoresPath(dir, "fgsm"))
			}
			for _, s := range scores {
				s.Name = fmt.Sprintf("%s (%s)", cfg.Head.Name, filepath.Base(filepath.Clean(dir)))
				all = append(all, s)
			}
		}
		return report.AttackPlot(all)
	case "calibration", "confusion":
		ropts.Inspect, ropts.Confusion, ropts.Split = true, kind == "confusion", "test"
		var cals []report.NamedCalibration
		for _, dir := range dirs {
			r, err := experiment.ReadReportRun(ctx, dir, ropts)
			if err != nil {
				return nil, err
			}
			if r.Calibration == nil || (kind == "calibration" && !r.Calibration.Binned()) || (kind == "confusion" && r.Confusion == nil) {
				return nil, fmt.Errorf("%s: no checkpoint to evaluate (its eval.json, if any, has the calibration's figures but not the bins or confusion matrix: lgm report shows those)", dir)
			}
			if kind == "confusion" {
				pic, err := report.ConfusionPlot("Confusion matrix: "+r.Name, r.Confusion, r.Classes)
				if err != nil {
					return nil, err
				}
				pics = append(pics, pic)
				continue
			}
			name := r.Head + " (" + r.Name + ")"
			cals = append(cals, report.NamedCalibration{Name: name, Calibration: *r.Calibration})
		}
		if kind == "confusion" {
			return report.Grid(2, pics...), nil
		}
		return report.ReliabilityPlot(cals)
	}
	return nil, fmt.Errorf("unknown picture %q", kind)
}

// featurePicture runs the checkpoint in dir over a split and draws its features.
func featurePicture(ctx context.Context, dir string, o experiment.ReportOptions) (report.Picture, error) {
	ck, err := experiment.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	out, err := experiment.Inspect(ctx, dir, experiment.RunOptions{DataDir: o.Data, Split: o.Split})
	if err != nil {
		return nil, err
	}
	f := experiment.FeaturesOf(out, ck.Config, o)
	pic, err := report.FeaturePlot(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return pic, nil
}

// savePicture writes pic to path atomically: a temporary file beside it,
// renamed at the end, so a failure never leaves half a picture.
func savePicture(path, format string, pic report.Picture) error {
	b, err := report.Encode(pic, format)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic writes b to path through a temporary file and a rename
// (fileio.Create: a symlink to a regular file is written through, a special
// file refused).
func writeFileAtomic(path string, b []byte) error {
	out, err := fileio.Create(path)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := out.Write(b); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return out.Commit()
}
