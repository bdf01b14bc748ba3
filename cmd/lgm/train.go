package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lgm-dev/lgm/experiment"
)

// trainOptions are the flags of lgm train.
type trainOptions struct {
	configOptions
	out       string
	resume    string
	threads   int
	saveEvery time.Duration
}

// trainFunc runs a resolved training; tests replace experiment.Train.
type trainFunc func(ctx context.Context, cfg experiment.Config, opts experiment.TrainOptions) error

func newTrainCmd(io streams, runF trainFunc) *cobra.Command {
	if runF == nil {
		runF = experiment.Train
	}
	o := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a network and head, evaluating on the test set after every epoch",
		Long: `Train a network with a loss head. Settings come from the defaults in code, then
the --config file (a file, or a config built into lgm: see lgm configs), then
the --set overrides in order, then the other flags you set. The run directory receives the
resolved config.yaml, metrics.jsonl (one line per epoch) and the checkpoint.`,
		Example: `  # LeNet++ with a 100-D feature and softmax, the authors' MNIST recipe
  lgm train --config configs/mnist-softmax.yaml

  # classic LeNet for one epoch, into a chosen run directory
  lgm train --config configs/mnist-softmax.yaml --net lenet --epochs 1 --out runs/lenet

  # continue an interrupted run exactly where it stopped
  lgm train --resume runs/lenet

  # a smoke run: 20 batches per epoch
  lgm train --config configs/mnist-softmax.yaml --epochs 1 --limit 20

  # a shipped config by name (built into lgm), with settings changed
  lgm train --config mnist2d-lgm --set head.alpha=0.5 --set head.lambda.value=0.2

  # a long CIFAR run on a machine that may be reclaimed: checkpoint every 5 minutes
  lgm data download cifar10 --dir data/cifar10
  lgm train --config configs/cifar10-lgm-a0.1.yaml --data data/cifar10 --save-every 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := useThreads(o.threads); err != nil {
				return err
			}
			if o.saveEvery < 0 {
				return usageError{fmt.Errorf("--save-every must be >= 0 (got %v)", o.saveEvery), true}
			}
			if o.resume != "" {
				return o.runResume(cmd, io)
			}
			cfg, err := o.resolve(cmd.Flags())
			if err != nil {
				return err
			}
			out := o.out
			if out == "" {
				out = filepath.Join("runs", cfg.Name+"-"+time.Now().Format("20060102-150405"))
			}
			return runF(cmd.Context(), cfg, experiment.TrainOptions{
				Out: out, Stdout: io.out, Progress: io.terminal, LineEvery: time.Minute, SaveEvery: o.saveEvery,
			})
		},
	}
	f := cmd.Flags()
	o.addFlags(f)
	f.StringVarP(&o.out, "out", "o", "", "run `directory` to create (default runs/<name>-<time>)")
	f.StringVar(&o.resume, "resume", "", "continue the run in `RUN_DIR` from its checkpoint, with its own config (--epochs may extend it)")
	threadsFlag(f, &o.threads)
	f.DurationVar(&o.saveEvery, "save-every", 10*time.Minute, "also save the checkpoint mid-epoch this often, so a run killed without warning loses at most this much (0: only at epoch ends and on interrupt)")
	return cmd
}

// runResume continues a run; only --epochs may change its config.
func (o *trainOptions) runResume(cmd *cobra.Command, io streams) error {
	var clash []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "resume" && f.Name != "epochs" && f.Name != "threads" && f.Name != "save-every" && f.Name != "data" {
			clash = append(clash, "--"+f.Name)
		}
	})
	if len(clash) > 0 {
		return usageError{fmt.Errorf("--resume continues a run with its own config; drop %s (only --epochs may change, and --data give the data's new place)", strings.Join(clash, ", ")), true}
	}
	epochs := 0
	if cmd.Flags().Changed("epochs") {
		if o.epochs < 1 {
			return usageError{fmt.Errorf("--epochs must be >= 1 (got %d)", o.epochs), true}
		}
		epochs = o.epochs
	}
	threads := 0 // the run's own count
	if cmd.Flags().Changed("threads") {
		threads = o.threads
	}
	return experiment.Resume(cmd.Context(), epochs, experiment.TrainOptions{
		Out: o.resume, Stdout: io.out, Progress: io.terminal, LineEvery: time.Minute, SaveEvery: o.saveEvery,
		Threads: threads, DataDir: o.data,
	})
}
