package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/report"
)

type evalOptions struct {
	json    bool
	split   string
	data    string
	threads int
}

func newEvalCmd(io streams) *cobra.Command {
	o := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval RUN_DIR",
		Short: "Print a finished run's error rate on the whole test set",
		Long: `Evaluate the checkpoint of a run directory (or a checkpoint file) on every
image of the test set. The run's config is read from its checkpoint.`,
		Example: `  lgm eval runs/softmax
  lgm eval runs/softmax --json
  lgm eval runs/lgm/checkpoint-best.safetensors --split val   # a run with --val N --keep best-val
  lgm eval runs/softmax/checkpoint.safetensors --data ~/fashion-mnist`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := useThreads(o.threads); err != nil {
				return err
			}
			res, err := experiment.EvalCalibrated(cmd.Context(), args[0], experiment.RunOptions{DataDir: o.data, Split: o.split,
				Progress: io.err, Terminal: isTerminal(io.err), LineEvery: time.Minute})
			if err != nil {
				return err
			}
			if o.json {
				return json.NewEncoder(io.out).Encode(res)
			}
			fmt.Fprintf(io.out, "%s error %.2f%% (%d of %d images wrong; error %v)\n", o.split, 100*res.Error, res.Wrong, res.N, res.Error)
			fmt.Fprintf(io.out, "calibration: ECE %.2f%%, MCE %.2f%% (%d bins), NLL %.4f, Brier %.4f\n", 100*res.ECE, 100*(*res.MCE), report.CalibrationBins, res.NLL, res.Brier)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, `print one JSON object: {"wrong", "n", "error", "img_s", "split", "nll", "ece", "mce", "brier"}; kept as eval.json beside a run, lgm report reads its calibration when the checkpoint is gone`)
	cmd.Flags().StringVar(&o.split, "split", "test", "split to evaluate: test | val | train (val: the images a run with data.val held out; train: those it trained on)")
	cmd.Flags().StringVar(&o.data, "data", "", "`folder` of the data set, if it moved since training")
	threadsFlag(cmd.Flags(), &o.threads)
	return cmd
}
