package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/nnops"
)

type benchOptions struct {
	net, head     string
	dim, batch    int
	steps, warmup int
	threads       int
	width         float64
	json          bool
}

func newBenchCmd(io streams) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and evaluation throughput on synthetic input",
		Long: `Time training steps (forward, backward, solver step) and evaluation batches of a
network and head on random images (1×28×28 for lenet and lenetpp, 3×32×32 for vgg and resnet20),
and report images per second (the median over the measured steps, after a warm-up)
and the process's peak memory.`,
		Example: `  lgm bench --net lenetpp --batch 128 --threads 1
  lgm bench --net lenet --threads 2 --json
  lgm bench --net vgg --width 0.25 --dim 96 --head lgm   # the shipped CIFAR configs' network
  lgm bench --net resnet20 --dim 64 --head lgm           # ResNet-20 with its pooled 64-D feature`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := useThreads(o.threads); err != nil {
				return err
			}
			cfg := experiment.Default()
			cfg.Model.Net, cfg.Model.Dim, cfg.Model.Width = o.net, o.dim, o.width
			cfg.Head, cfg.Train.Batch = experiment.HeadDefaults(o.head), o.batch
			if err := cfg.Validate(); err != nil { // every setting came from a flag
				return nameFlags(err, func(string) bool { return true }, "")
			}
			res, err := experiment.Bench(cmd.Context(), cfg, experiment.BenchOptions{Steps: o.steps, Warmup: o.warmup})
			if err != nil {
				return err
			}
			res.Threads = o.threads
			if o.json {
				return json.NewEncoder(io.out).Encode(res)
			}
			fmt.Fprintf(io.out, "%s batch %d, %d thread(s), median of %d steps: train %.1f img/s, eval %.1f img/s, peak memory %.0f MB\n",
				res.Net, res.Batch, res.Threads, res.Steps, res.TrainImgS, res.EvalImgS, res.PeakRSSMB)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.net, "net", "lenetpp", "network: lenetpp | lenet | vgg | resnet20")
	f.Float64Var(&o.width, "width", 1, "vgg's and resnet20's width multiplier (1 = the papers' 96/192/384 and 16/32/64 channels)")
	f.StringVar(&o.head, "head", "softmax", "loss head: softmax | center | lsoftmax | gm | lgm")
	f.IntVar(&o.dim, "dim", 2, "feature size D")
	f.IntVar(&o.batch, "batch", 128, "batch size")
	f.IntVar(&o.steps, "steps", 10, "measured steps")
	f.IntVar(&o.warmup, "warmup", 2, "unmeasured steps first")
	threadsFlag(f, &o.threads)
	f.BoolVar(&o.json, "json", false, `print one JSON object with "train_img_s", "eval_img_s", "peak_rss_mb"`)
	return cmd
}

// threadsFlag adds --threads, the cores a command uses, to f.
func threadsFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, "threads", runtime.NumCPU(), "cores to use (results are bit-for-bit reproducible for a given number)")
}

// useThreads checks the --threads value n and bounds the cores lgm uses to it.
func useThreads(n int) error {
	if n < 1 || n > nnops.MaxThreads {
		return usageError{fmt.Errorf("--threads must be between 1 and %d (got %d)", nnops.MaxThreads, n), true}
	}
	experiment.SetThreads(n) // Go's scheduler and our ops' workers
	return nil
}
