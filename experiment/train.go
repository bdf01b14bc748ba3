package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/optim"
)

// TrainOptions are the parts of a training run that do not change what it computes.
type TrainOptions struct {
	Out      string    // run directory to create; it must not hold a run already
	Stdout   io.Writer // progress and results
	Progress bool      // draw a progress bar (stdout is a terminal) instead of one line per epoch
	// Train and Test, when set, replace the data the config names (tests use this).
	Train, Test *data.Set
}

// Metrics is one line of metrics.jsonl, written after every epoch.
type Metrics struct {
	Epoch      int                `json:"epoch"`
	LR         float64            `json:"lr"`
	TrainLoss  float64            `json:"train_loss"`  // mean over the epoch's batches
	TrainError float64            `json:"train_error"` // on the training batches, as they were trained
	Terms      map[string]float64 `json:"terms"`       // mean of each loss term
	TestError  float64            `json:"test_error"`  // fraction of the whole test split
	TestN      int                `json:"test_n"`
	Batches    int                `json:"batches"`
	// Timing fields: they differ between otherwise identical runs.
	ImgS     float64 `json:"img_s"`      // training images per second
	EvalImgS float64 `json:"eval_img_s"` // evaluation images per second
	Seconds  float64 `json:"seconds"`    // wall time of the epoch, evaluation included
}

// DivergedError reports a non-finite loss.
type DivergedError struct {
	Epoch, Batch int
	Term         string
	Value        float64
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged at epoch %d, batch %d: %s is %v; lower train.lr or raise train.batch",
		e.Epoch, e.Batch, e.Term, e.Value)
}

// Train runs cfg to completion, writing the run directory opts.Out.
func Train(ctx context.Context, cfg Config, opts TrainOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	if err := prepareRunDir(opts.Out); err != nil {
		return err
	}
	train, test := opts.Train, opts.Test
	if train == nil || test == nil {
		var err error
		if train, test, err = loadData(cfg); err != nil {
			return err
		}
	}
	if train.C != test.C || train.H != test.H || train.W != test.W || train.Classes != test.Classes {
		return fmt.Errorf("%s is %d×%d×%d with %d classes but %s is %d×%d×%d with %d",
			train.Name, train.C, train.H, train.W, train.Classes, test.Name, test.C, test.H, test.W, test.Classes)
	}
	norm := data.ComputeNorm(train)
	if err := normalise(norm, train, test); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(opts.Out, ConfigFile), cfg.Marshal()); err != nil {
		return err
	}

	s := shape{B: cfg.Train.Batch, C: train.C, H: train.H, W: train.W, K: train.Classes}
	ss, err := newSession(cfg, s, true)
	if err != nil {
		return err
	}
	defer ss.close()

	// The solver sees the raw float32 arrays of the parameters; gradients
	// are rebound after every step (the machine may hand out new arrays).
	params := make([]optim.Param, len(ss.params))
	for i, p := range ss.params {
		params[i] = optim.Param{Name: p.Name(), Value: p.Value().Data().([]float32), LRMult: 1}
	}
	sgd := optim.NewSGD(params, float32(cfg.Train.LR), float32(cfg.Train.Momentum), float32(cfg.Train.WeightDecay), cfg.Train.Nesterov)

	order := rand.NewPCG(cfg.Seed, streamOrder)
	orderRNG := rand.New(order)
	batches := (train.N + s.B - 1) / s.B
	if cfg.Train.Limit > 0 {
		batches = min(batches, cfg.Train.Limit)
	}
	fmt.Fprintf(out, "training %s (%s, D=%d, head %s) on %s: %d train / %d test images, %d epochs of %d batches of %d\n",
		cfg.Name, cfg.Model.Net, cfg.Model.Dim, cfg.Head.Name, cfg.Data.Dataset, train.N, test.N, cfg.Train.Epochs, batches, s.B)
	fmt.Fprintf(out, "run directory: %s\n", opts.Out)

	idx := make([]int, s.B)
	labels := make([]int, s.B)
	pred := make([]int, s.B)
	var history []Metrics
	for epoch := 0; epoch < cfg.Train.Epochs; epoch++ {
		epochStart := time.Now()
		lr := optim.StepDecay(cfg.Train.LR, cfg.Train.LRGamma, cfg.Train.LRStep, epoch)
		sgd.LR = float32(lr)
		perm := data.Perm(orderRNG, train.N)
		var bar *progressbar.ProgressBar
		if opts.Progress {
			bar = newBar(out, batches, epoch+1, cfg.Train.Epochs)
		}
		var sumLoss float64
		sumTerms := make(map[string]float64, len(ss.termNames))
		wrong, seen := 0, 0
		for bi := 0; bi < batches; bi++ {
			if err := ctx.Err(); err != nil {
				return interrupted(out, opts.Out, epoch)
			}
			// The last batch of an epoch is completed from the start of the
			// permutation, so the graph keeps its shape and every example is seen.
			for i := range idx {
				idx[i] = perm[(bi*s.B+i)%train.N]
			}
			ss.load(train, idx, labels)
			if err := ss.train.RunAll(); err != nil {
				ss.train.Reset()
				return fmt.Errorf("epoch %d, batch %d: %w", epoch+1, bi+1, err)
			}
			l := scalar(ss.lossV)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				ss.train.Reset()
				term := "loss"
				for _, name := range ss.termNames {
					if v := scalar(*ss.termV[name]); math.IsNaN(v) || math.IsInf(v, 0) {
						term = "loss term " + name
					}
				}
				return &DivergedError{Epoch: epoch + 1, Batch: bi + 1, Term: term, Value: l}
			}
			sumLoss += l
			for _, name := range ss.termNames {
				sumTerms[name] += scalar(*ss.termV[name])
			}
			ss.predictions(s.B, pred)
			for i := range pred {
				if pred[i] != labels[i] {
					wrong++
				}
			}
			seen += s.B
			for i, p := range ss.params {
				g, err := p.Grad()
				if err != nil {
					return fmt.Errorf("gradient of %s: %w", p.Name(), err)
				}
				params[i].Grad = g.Data().([]float32)
			}
			sgd.Step()
			for i := range params {
				// Gorgonia adds each run's gradient to the bound one; Reset does not clear it.
				clear(params[i].Grad)
			}
			ss.train.Reset()
			if bar != nil {
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f err %.2f%% %.0f img/s", epoch+1, cfg.Train.Epochs,
					sumLoss/float64(bi+1), 100*float64(wrong)/float64(seen), float64(seen)/time.Since(epochStart).Seconds()))
				bar.Add(1)
			}
		}
		trainTime := time.Since(epochStart).Seconds()
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(out)
		}
		res, err := evaluate(ctx, ss, test, nil)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return interrupted(out, opts.Out, epoch)
			}
			return err
		}
		m := Metrics{
			Epoch: epoch + 1, LR: lr, Batches: batches,
			TrainLoss: sumLoss / float64(batches), TrainError: float64(wrong) / float64(seen),
			Terms:     make(map[string]float64, len(sumTerms)),
			TestError: res.Error, TestN: res.N,
			ImgS: float64(seen) / trainTime, EvalImgS: res.ImgS, Seconds: time.Since(epochStart).Seconds(),
		}
		for name, v := range sumTerms {
			m.Terms[name] = v / float64(batches)
		}
		history = append(history, m)
		rng, _ := order.MarshalBinary()
		ck := &Checkpoint{Config: cfg, Epoch: epoch + 1, Norm: NormState{Mean: norm.Mean, Std: norm.Std}, RNG: rng}
		ck.Tensors, ck.Shapes = snapshot(ss, sgd)
		if err := ck.Save(filepath.Join(opts.Out, CheckpointFile)); err != nil {
			return err
		}
		if err := writeMetrics(filepath.Join(opts.Out, MetricsFile), history); err != nil {
			return err
		}
		fmt.Fprintf(out, "epoch %d/%d  lr %.4g  train loss %.4f  train error %.2f%%  test error %.2f%% (%d/%d)  %.0f img/s  %.1fs\n",
			m.Epoch, cfg.Train.Epochs, lr, m.TrainLoss, 100*m.TrainError, 100*m.TestError, res.Wrong, res.N, m.ImgS, m.Seconds)
	}
	fmt.Fprintf(out, "done: %s (evaluate with: lgm eval %s)\n", opts.Out, opts.Out)
	return nil
}

// ErrInterrupted is returned when the context is cancelled during training.
var ErrInterrupted = errors.New("interrupted")

func interrupted(out io.Writer, dir string, epoch int) error {
	if epoch == 0 {
		return fmt.Errorf("%w during epoch 1: no checkpoint was written", ErrInterrupted)
	}
	return fmt.Errorf("%w during epoch %d: the checkpoint of epoch %d is in %s", ErrInterrupted, epoch+1, epoch, dir)
}

// prepareRunDir creates dir, refusing one that already holds a run, and
// checks it can be written before any training starts.
func prepareRunDir(dir string) error {
	if dir == "" {
		return errors.New("no run directory given: pass --out DIR")
	}
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%s already holds a run (%s); choose another --out or remove it", dir, f)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create run directory: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("run directory %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// snapshot copies every parameter and its solver velocity.
func snapshot(ss *session, sgd *optim.SGD) (map[string][]float32, map[string][]int) {
	tensors := map[string][]float32{}
	shapes := map[string][]int{}
	for i, p := range ss.params {
		shape := []int(p.Shape().Clone())
		tensors[p.Name()] = append([]float32(nil), p.Value().Data().([]float32)...)
		shapes[p.Name()] = shape
		tensors["opt.velocity."+p.Name()] = append([]float32(nil), sgd.Velocity(i)...)
		shapes["opt.velocity."+p.Name()] = shape
	}
	return tensors, shapes
}

// restore copies the parameters of ck into the session's graph.
func restore(ss *session, ck *Checkpoint) error {
	for _, p := range ss.params {
		v, ok := ck.Tensors[p.Name()]
		if !ok {
			return fmt.Errorf("checkpoint has no tensor %s", p.Name())
		}
		dst := p.Value().Data().([]float32)
		if len(v) != len(dst) {
			return fmt.Errorf("checkpoint tensor %s has %d values, the network wants %d", p.Name(), len(v), len(dst))
		}
		copy(dst, v)
	}
	return nil
}

// writeMetrics rewrites the whole metrics file atomically, one JSON object per line.
func writeMetrics(path string, history []Metrics) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, m := range history {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]Metrics, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ms []Metrics
	dec := json.NewDecoder(bytes.NewReader(raw))
	for dec.More() {
		var m Metrics
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func scalar(v interface{ Data() interface{} }) float64 {
	switch d := v.Data().(type) {
	case float32:
		return float64(d)
	case float64:
		return d
	case []float32:
		return float64(d[0])
	case []float64:
		return d[0]
	}
	return math.NaN()
}

func newBar(out io.Writer, n, epoch, epochs int) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
