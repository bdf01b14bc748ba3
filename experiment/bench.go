package experiment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lgm-dev/lgm/data"
)

// BenchOptions set up a throughput measurement on synthetic input.
type BenchOptions struct {
	Steps  int // measured steps (training) and batches (evaluation)
	Warmup int // unmeasured steps first
	// Shapes adds a profile of the training step's matrix products
	// (BenchResult.GEMM), over Steps more steps; it needs one thread.
	Shapes bool
	// Progress, if set, is called after every measured step.
	Progress func(phase string, step int)
}

// BenchResult is what lgm bench prints.
type BenchResult struct {
	Net        string  `json:"net"`
	Batch      int     `json:"batch"`
	Threads    int     `json:"threads"`
	Steps      int     `json:"steps"`
	TrainImgS  float64 `json:"train_img_s"` // median over steps of batch / step time
	EvalImgS   float64 `json:"eval_img_s"`  // median over batches
	PeakRSSMB  float64 `json:"peak_rss_mb"` // of the whole process
	TrainStepS float64 `json:"train_step_s"`
	EvalStepS  float64 `json:"eval_step_s"`
	// Precision of the network's products: "fp32" (float32 operands and
	// accumulation) or "bf16" (bfloat16 operands, float32 accumulation);
	// train.precision.
	Precision string  `json:"precision"`
	CPU       CPUInfo `json:"cpu"`
	// ForwardMFLOP is the network's counted forward arithmetic per image
	// (model.Net.FLOPs: convolutions and FC layers, a multiply-add is 2), in
	// millions; the head is not counted.
	ForwardMFLOP float64 `json:"forward_mflop"`
	// GFLOPS is the achieved rate, in 10⁹ FLOP per second of wall time:
	// training counts 3 × ForwardMFLOP per image (the forward product and the
	// backward's two), evaluation 1 ×.
	GFLOPS struct {
		Train float64 `json:"train"`
		Eval  float64 `json:"eval"`
	} `json:"gflops"`
	// GEMM is the training step's products by shape (BenchOptions.Shapes).
	GEMM *GEMMProfile `json:"gemm,omitempty"`
}

// Bench measures training-step and evaluation throughput of cfg's network
// and head on random images with random labels (1×28×28; 3×32×32 for vgg and resnet20): forward, backward
// and a solver step per training step; forward only for evaluation.
func Bench(ctx context.Context, cfg Config, opts BenchOptions) (BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return BenchResult{}, err
	}
	if opts.Steps < 1 {
		return BenchResult{}, fmt.Errorf("--steps must be >= 1 (got %d)", opts.Steps)
	}
	if opts.Shapes {
		if err := oneThread(); err != nil {
			return BenchResult{}, err
		}
	}
	t, set, err := benchTrainer(cfg)
	if err != nil {
		return BenchResult{}, setup(err)
	}
	defer t.ss.close()
	step := func() error {
		t.batch++
		return t.step()
	}
	evalStep := func() error {
		t.ss.load(set, t.idx, t.labels)
		return t.ss.runEval()
	}
	res := BenchResult{Net: cfg.Model.Net, Batch: cfg.Train.Batch, Steps: opts.Steps}
	var med [2]float64
	for phase, f := range []func() error{step, evalStep} {
		name := [2]string{"train", "eval"}[phase]
		times := make([]float64, 0, opts.Steps)
		for i := 0; i < opts.Warmup+opts.Steps; i++ {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("%w during the benchmark", ErrInterrupted)
			}
			t0 := time.Now()
			if err := f(); err != nil {
				return res, fmt.Errorf("bench %s step %d: %w", name, i+1, err)
			}
			if i >= opts.Warmup {
				times = append(times, time.Since(t0).Seconds())
				if opts.Progress != nil {
					opts.Progress(name, i-opts.Warmup+1)
				}
			}
		}
		slices.Sort(times)
		med[phase] = median(times)
	}
	res.TrainStepS, res.EvalStepS = med[0], med[1]
	res.TrainImgS = float64(cfg.Train.Batch) / med[0]
	res.EvalImgS = float64(cfg.Train.Batch) / med[1]
	res.PeakRSSMB = peakRSSMB()
	res.Precision, res.CPU = precisionName(cfg.Train), HostCPU() // after the session set the precision
	flops := float64(t.ss.net.FLOPs())
	res.ForwardMFLOP = flops / 1e6
	res.GFLOPS.Train = 3 * flops * res.TrainImgS / 1e9
	res.GFLOPS.Eval = flops * res.EvalImgS / 1e9
	if opts.Shapes {
		if res.GEMM, err = profileGEMM(ctx, step, opts.Steps); err != nil {
			return res, err
		}
	}
	return res, nil
}

// cifarNet reports whether net is one of the CIFAR networks (benchmarked on
// 3×32×32 input).
func cifarNet(net string) bool { return net == "vgg" || net == "resnet20" }

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// randomSet is one batch of uniform random images with random labels.
func randomSet(s shape, seed uint64) *data.Set {
	rng := rand.New(rand.NewPCG(seed, 7))
	set := &data.Set{Name: "synthetic", N: s.B, C: s.C, H: s.H, W: s.W, Classes: s.K,
		Images: make([]float32, s.B*s.imageSize()), Labels: make([]int, s.B)}
	for i := range set.Images {
		set.Images[i] = rng.Float32()
	}
	for i := range set.Labels {
		set.Labels[i] = rng.IntN(s.K)
	}
	return set
}

// benchTrainer is a trainer for cfg on one batch of random input (1×28×28;
// 3×32×32 for the CIFAR networks) that it trains on over and over: the
// fixed setup of lgm bench and of the training-step benchmarks.
func benchTrainer(cfg Config) (*trainer, *data.Set, error) {
	s := shape{B: cfg.Train.Batch, C: 1, H: 28, W: 28, K: 10} // MNIST-sized
	if cifarNet(cfg.Model.Net) {
		s.C, s.H, s.W = 3, 32, 32 // CIFAR-sized
	}
	set := randomSet(s, cfg.Seed)
	t, err := newTrainer(cfg, TrainOptions{Train: set, Test: set}, nil)
	if err != nil {
		return nil, nil, err
	}
	t.sgd.LR = 1e-4 // keep the random problem from diverging over many steps
	for i := range t.idx {
		t.idx[i] = i
	}
	t.batches = 1 << 30    // schedules see a long run
	return t, t.train, nil // the normalised copy the trainer trains on
}
