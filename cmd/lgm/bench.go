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
	json, shapes  bool
	precision     string
}

func newBenchCmd(io streams) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and evaluation throughput on synthetic input",
		Long: `Time training steps (forward, backward, solver step) and evaluation batches of a
network and head on random images (1×28×28 for lenet and lenetpp, 3×32×32 for vgg and resnet20),
and report images per second (the median over the measured steps, after a warm-up)
and the process's peak memory.

With --json, one object:
  net, batch, threads, steps     what was measured
  train_img_s, eval_img_s        images per second, medians over the measured steps
  train_step_s, eval_step_s      the median step times, in seconds
  peak_rss_mb                    the process's peak resident memory, in MB
  precision                      the network's products' arithmetic: "fp32" or "bf16"
  cpu                            {"model": the processor's model name,
                                  "features": the SIMD sets lgm's kernels use on it,
                                  such as ["avx2", "avx512f", "fma"]}
  forward_mflop                  the network's counted forward arithmetic per image, in
                                 MFLOP: convolutions 2·Cin·K·K·Cout·H'·W', FC layers
                                 2·In·Out (LeNet++ at D = 2: 161.8); the head is not counted
  gflops                         {"train": 3 × forward_mflop × train_img_s / 1000,
                                  "eval": forward_mflop × eval_img_s / 1000}: the achieved
                                 GFLOP/s (a training step counts the forward product and
                                 the backward's two)
  gemm                           with --shapes: {"steps", "peak_gflops": one core's FMA peak
                                 measured between the profiled steps, "step_s", "gemm_share":
                                 the products' share of the step, "gemm_pct_peak", "shapes":
                                 [{"entry", "trans_a", "trans_b", "m", "n", "k", "calls" per
                                 step, "step_share", "gflops", "pct_peak"}, most time first]}`,
		Example: `  lgm bench --net lenetpp --batch 128 --threads 1
  lgm bench --net lenetpp --threads 1 --shapes           # each GEMM shape's fraction of peak
  lgm bench --net lenetpp --threads 1 --precision bf16   # bfloat16 products (AVX512_BF16 CPUs)
  lgm bench --net lenet --threads 2 --json
  lgm bench --net vgg --width 0.25 --dim 96 --head lgm   # the shipped CIFAR configs' network
  lgm bench --net resnet20 --dim 64 --head lgm           # ResNet-20 with its pooled 64-D feature`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := useThreads(o.threads); err != nil {
				return err
			}
			if o.shapes && o.threads != 1 {
				return usageError{fmt.Errorf("--shapes measures one core at a time: add --threads 1 (got --threads %d)", o.threads), true}
			}
			cfg := experiment.Default()
			cfg.Model.Net, cfg.Model.Dim, cfg.Model.Width = o.net, o.dim, o.width
			cfg.Head, cfg.Train.Batch = experiment.HeadDefaults(o.head), o.batch
			cfg.Train.Precision = o.precision
			if err := cfg.Validate(); err != nil { // every setting came from a flag
				return nameFlags(err, func(string) bool { return true }, "")
			}
			res, err := experiment.Bench(cmd.Context(), cfg, experiment.BenchOptions{Steps: o.steps, Warmup: o.warmup, Shapes: o.shapes})
			if err != nil {
				return err
			}
			res.Threads = o.threads
			if o.json {
				return json.NewEncoder(io.out).Encode(res)
			}
			fmt.Fprintf(io.out, "%s batch %d, %d thread(s), median of %d steps: train %.1f img/s (%.1f GFLOP/s), eval %.1f img/s (%.1f GFLOP/s), peak memory %.0f MB, %s on %s\n",
				res.Net, res.Batch, res.Threads, res.Steps, res.TrainImgS, res.GFLOPS.Train, res.EvalImgS, res.GFLOPS.Eval, res.PeakRSSMB, res.Precision, res.CPU)
			if res.GEMM != nil {
				printGEMMProfile(io, res.GEMM)
			}
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
	f.BoolVar(&o.json, "json", false, `print one JSON object (its fields are listed above)`)
	precisionFlag(f, &o.precision)
	f.BoolVar(&o.shapes, "shapes", false, "then time every matrix product of --steps more training steps, by shape, against one core's FMA peak (needs --threads 1)")
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

// printGEMMProfile writes lgm bench --shapes' table.
func printGEMMProfile(io streams, p *experiment.GEMMProfile) {
	fmt.Fprintf(io.out, "matrix products of the training step, %d steps on one core (FMA peak %.1f GFLOP/s, measured between them): %.0f%% of the step's %.3f s, at %.0f%% of peak\n",
		p.Steps, p.PeakGFLOPS, 100*p.GEMMShare, p.StepS, p.GEMMPctPeak)
	fmt.Fprintf(io.out, "  %-11s %-5s %6s %7s %6s %10s %7s %8s %7s\n", "entry", "op", "M", "N", "K", "calls/step", "% step", "GFLOP/s", "% peak")
	for _, s := range p.Shapes {
		op := "A"
		if s.TransA {
			op += "ᵀ"
		}
		op += "B"
		if s.TransB {
			op += "ᵀ"
		}
		fmt.Fprintf(io.out, "  %-11s %-5s %6d %7d %6d %10.1f %7.1f %8.1f %7.1f\n", s.Entry, op, s.M, s.N, s.K, s.Calls, 100*s.StepShare, s.GFLOPS, s.PctPeak)
	}
}

// precisionFlag adds --precision, the arithmetic of the network's products.
func precisionFlag(f *pflag.FlagSet, p *string) {
	f.StringVar(p, "precision", "", "arithmetic of the network's products (convolutions, FC layers): fp32 | bf16 (bfloat16 operands, float32 accumulation; AVX512_BF16 CPUs only) (config train.precision; default fp32)")
}
