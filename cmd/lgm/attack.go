package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/attack"
	"github.com/lgm-dev/lgm/experiment"
)

type attackOptions struct {
	method   string
	eps      string
	steps    int
	stepSize string
	restarts int
	loss     string
	limit    int
	seed     uint64
	threads  int
	json     bool
	scores   string
	data     string
}

func newAttackCmd(s streams) *cobra.Command {
	o := &attackOptions{}
	cmd := &cobra.Command{
		Use:   "attack RUN_DIR",
		Short: "Attack a finished run's test set (FGSM, BIM, PGD) and score adversarial detection",
		Long: `Attack every test image of a run with an untargeted L∞ attack in pixel space
[0, 1] (before the input normalisation, which is part of the model), at each
radius --eps, and print the error under attack and how well the head's
log-likelihood (and, for comparison, the largest posterior) tells attacked
images from clean ones: AUROC (ties count ½), TNR at 95% TPR and the best
threshold's detection accuracy, over all pairs and over the successful pairs
(clean image right, attacked one wrong).

  fgsm  x' = clip(x + ε·sign(∇ₓL), 0, 1)                      (Goodfellow et al. 2015)
  bim   --steps steps of --step-size, projected onto the ε-ball and [0, 1]  (Kurakin et al. 2016)
  pgd   bim from a uniform random start in the ε-ball, --restarts times,
        keeping each image's worst case                          (Madry et al. 2018)

L is the cross-entropy of the head's margin-free logits with the true label
(--loss xent), or the head's training loss, margin and likelihood term
included (--loss train). The default --step-size is 2.5·ε/steps at each ε.

The results are saved in the run directory: attack-<method>.json (what
--json prints), attack-<method>.csv (one row per test image per ε:
index,label,eps,prediction,loglik,posterior; ε = 0 rows are the clean
images) and, for a 2-D feature, attack-<method>-features.csv. lgm plot and
lgm report read them.`,
		Example: `  # the paper's Table 6: FGSM at ε = 0.1, 0.2, 0.3
  lgm attack runs/mnist-lgm

  # PGD with 10 steps and 2 restarts at the CIFAR radius 8/255
  lgm attack runs/cifar10-lgm --method pgd --eps 8/255 --steps 10 --restarts 2

  # a quick look at 1000 images, as JSON
  lgm attack runs/mnist-lgm --limit 1000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.options()
			if err != nil {
				return usageError{err, true}
			}
			if err := useThreads(o.threads); err != nil {
				return err
			}
			// Progress goes to stderr, so that stdout holds only the table or the JSON.
			opts.Stdout, opts.Progress, opts.LineEvery = s.err, s.terminal, time.Minute
			rep, err := experiment.Attack(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			if o.scores != "" {
				if err := writeScores(o.scores, rep); err != nil {
					return err
				}
			}
			if o.json {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printAttack(s.out, args[0], rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.method, "method", "fgsm", "attack: fgsm | bim | pgd")
	f.StringVar(&o.eps, "eps", "0,0.1,0.2,0.3", "comma-separated L∞ radii in pixel units; fractions allowed (8/255); the clean row ε = 0 is always included")
	f.IntVar(&o.steps, "steps", 10, "bim, pgd: iterations")
	f.StringVar(&o.stepSize, "step-size", "", "bim, pgd: step per iteration in pixel units, e.g. 0.01 or 2/255 (default 2.5·ε/steps)")
	f.IntVar(&o.restarts, "restarts", 1, "pgd: random starts; each image keeps its worst case")
	f.StringVar(&o.loss, "loss", "xent", "attack loss: xent (cross-entropy of the margin-free logits) | train (the head's training loss)")
	f.IntVar(&o.limit, "limit", 0, "attack only the first `N` test images (0: all)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of pgd's random starts")
	f.BoolVar(&o.json, "json", false, "print the results as one JSON object (as saved in attack-<method>.json)")
	f.StringVar(&o.scores, "scores", "", "also write the per-image scores CSV to `FILE.csv`")
	f.StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	threadsFlag(f, &o.threads)
	return cmd
}

// options checks the flags and turns them into experiment.AttackOptions.
func (o *attackOptions) options() (experiment.AttackOptions, error) {
	opts := experiment.AttackOptions{
		Method: attack.Method(o.method), Steps: o.steps, Restarts: o.restarts,
		Loss: o.loss, Limit: o.limit, Seed: o.seed, DataDir: o.data,
	}
	for _, f := range strings.Split(o.eps, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		v, err := parseFraction(f)
		if err != nil {
			return opts, fmt.Errorf("--eps: %w", err)
		}
		opts.Eps = append(opts.Eps, v)
	}
	if o.stepSize != "" {
		v, err := parseFraction(o.stepSize)
		if err != nil {
			return opts, fmt.Errorf("--step-size: %w", err)
		}
		if !(v > 0) {
			return opts, fmt.Errorf("--step-size must be > 0 (got %s)", o.stepSize)
		}
		opts.StepSize = v
	}
	return opts, opts.Validate()
}

// parseFraction reads a number or a fraction "a/b".
func parseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, den, frac := strings.Cut(s, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or a fraction like 8/255", s)
	}
	if !frac {
		return a, nil
	}
	b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
	if err != nil || b == 0 {
		return 0, fmt.Errorf("%q is not a number or a fraction like 8/255", s)
	}
	return a / b, nil
}

// printAttack writes the results as a table.
func printAttack(w io.Writer, run string, rep *experiment.AttackReport) {
	fmt.Fprintf(w, "%s on %s (D=%d, head %s): %d test images, loss %s, %.1fs\n", rep.Method, run, rep.Dim, rep.Head, rep.N, rep.Loss, rep.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "eps\terror\twrong/n\tAUROC lik\tAUROC post\tTNR@95 lik\tdet.acc lik\tsuccessful\tAUROC lik succ.\t")
	pct := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f", *p)
	}
	for _, r := range rep.Results {
		succ := "-"
		if r.Successful != nil {
			succ = strconv.Itoa(*r.Successful)
		}
		fmt.Fprintf(tw, "%s\t%.2f%%\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", strconv.FormatFloat(r.Eps, 'g', 4, 64), 100*r.Error, r.Wrong, r.N,
			pct(r.AUROC), pct(r.AUROCPosterior), pct(r.TNRAtTPR95), pct(r.DetectionAccuracy), succ, pct(r.AUROCSuccessful))
	}
	tw.Flush()
	fmt.Fprintf(w, "saved in %s\n", filepath.Join(run, experiment.AttackFile(rep.Method)))
}

// writeScores writes the per-image scores CSV to path ("-": stdout is not
// offered, as the table goes there) through a temporary file.
func writeScores(path string, rep *experiment.AttackReport) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = rep.WriteScores(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
