package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	G "gorgonia.org/gorgonia"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/internal/fileio"
	"github.com/lgm-dev/lgm/loss"
	"github.com/lgm-dev/lgm/model"
	"github.com/lgm-dev/lgm/nnops"
	"github.com/lgm-dev/lgm/optim"
)

// TrainOptions are the parts of a training run that do not change what it computes.
type TrainOptions struct {
	Out      string    // run directory to create; it must not hold a run already
	Stdout   io.Writer // progress and results
	Progress bool      // draw a progress bar (stdout is a terminal) instead of one line per epoch
	// LineEvery, without Progress, prints a plain progress line (epoch, batch,
	// running loss and error, speed) at most this often, for logs of long runs.
	LineEvery time.Duration
	// SaveEvery, when > 0, also saves the checkpoint mid-epoch at most this
	// often, so that a run killed without warning (SIGKILL, a machine going
	// down) loses at most that much work; an interrupt or the end of an
	// epoch saves in any case.
	SaveEvery time.Duration
	// Threads, for Resume, is the worker count the user asked for; 0 means
	// the count the run was trained with (recorded in its checkpoint), so
	// that the resumed run stays bit-identical to an unbroken one.
	Threads int
	// DataDir, for Resume, replaces the run's data.dir: the data moved. It
	// must hold the same data set (image shape, numbers of images).
	DataDir string
	// Train and Test, when set, replace the data the config names (tests use this).
	Train, Test *data.Set

	// at, for tests, is called at every point where an interruption can
	// land: "epoch" (the epoch's order drawn, before its first step), "step"
	// (after a step), "save" (during a periodic save), "eval" (before each
	// evaluation batch) and "epoch-end" (the epoch saved and logged).
	at func(where string, epoch, batch int)
	// beforeLock, for tests, runs after a new run's directory exists and
	// before its lock is taken (where a second lgm may slip in).
	beforeLock func()
}

// Metrics is one line of metrics.jsonl, written after every epoch.
type Metrics struct {
	Epoch      int                `json:"epoch"`
	LR         float64            `json:"lr"`
	TrainLoss  float64            `json:"train_loss"`         // mean over the epoch's batches
	TrainError float64            `json:"train_error"`        // on the training batches, as they were trained
	Terms      map[string]float64 `json:"terms"`              // mean of each loss term (before its weight)
	Schedule   map[string]float64 `json:"schedule,omitempty"` // the head's α, λ, β at the epoch's last step
	TestError  float64            `json:"test_error"`         // fraction of the whole test split
	TestN      int                `json:"test_n"`
	// With data.val: the held-out validation images' error (a fraction) and
	// loss (mean cross-entropy of the head's margin-free logits: no margin,
	// no regulariser, so heads compare on it); absent without.
	ValLoss  *float64 `json:"val_loss,omitempty"`
	ValError *float64 `json:"val_error,omitempty"`
	ValN     int      `json:"val_n,omitempty"`
	Batches  int      `json:"batches"`
	// Timing fields: they differ between otherwise identical runs.
	ImgS     float64 `json:"img_s"`      // training images per second
	EvalImgS float64 `json:"eval_img_s"` // evaluation images per second
	Seconds  float64 `json:"seconds"`    // wall time of the epoch, evaluation included
	// Build is the lgm binary that finished the epoch (Build()): a run
	// resumed by another build says so epoch by epoch.
	Build string `json:"build,omitempty"`
	// CPU is the processor that trained the epoch and the kernels lgm chose
	// on it (CPUInfo.String): a run resumed on another machine says so.
	CPU string `json:"cpu,omitempty"`
}

// DivergedError reports a non-finite loss.
type DivergedError struct {
	Epoch, Batch int
	Term         string  // what went bad: "loss", "loss term lkd", "a learned variance"
	Value        float64 // the non-finite value, if any
	Detail       string  // more about it, if any
	Hint         string  // what to change
	Checkpoint   string  // the last good checkpoint, if one was written
}

func (e *DivergedError) Error() string {
	what := fmt.Sprintf("%s is %v", e.Term, e.Value)
	if e.Detail != "" {
		what = fmt.Sprintf("%s reached its floor (%s)", e.Term, e.Detail)
	}
	hint := e.Hint
	if hint == "" {
		hint = "lower train.lr (or the head's alpha and lambda), or raise train.batch"
	}
	ck := "no checkpoint was written yet"
	if e.Checkpoint != "" {
		ck = "the last good checkpoint is " + e.Checkpoint
	}
	return fmt.Sprintf("training diverged at epoch %d, batch %d: %s; %s; %s", e.Epoch, e.Batch, what, ck, hint)
}

// Train runs cfg to completion, writing the run directory opts.Out.
func Train(ctx context.Context, cfg Config, opts TrainOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lock, madeDir, err := prepareRunDir(opts.Out, opts.beforeLock)
	if err != nil {
		return setup(err)
	}
	// A run that fails before it starts leaves no trace: what this process
	// made (the lock file, the directory) goes, and only that. Ownership
	// comes from the creations themselves (Mkdir, the lock file's O_EXCL),
	// so a refused or failing process never removes another's lock.
	failed := func(err error) error {
		lock.release()
		if madeDir {
			os.Remove(opts.Out) // only if empty
		}
		return err
	}
	defer lock.unlock()
	t, err := newTrainer(cfg, opts, nil)
	if err != nil {
		return failed(setup(err))
	}
	defer t.ss.close()
	if err := writeFileAtomic(filepath.Join(opts.Out, ConfigFile), cfg.Marshal()); err != nil {
		return err
	}
	return t.run(ctx)
}

// Resume continues the run in opts.Out from its checkpoint with the run's
// own config; epochs > 0 replaces the number of epochs (to train longer),
// and opts.DataDir the data's location (the data moved: it must be the same
// data set). The result is the same, bit for bit, as if the run had not
// stopped. Hand edits to the run's config.yaml are refused, not lost.
func Resume(ctx context.Context, epochs int, opts TrainOptions) error {
	ck, err := OpenCheckpoint(opts.Out)
	if err != nil {
		return setup(err)
	}
	dataName, err := checkConfigFile(opts.Out, filepath.Join(opts.Out, ConfigFile), ck)
	if err != nil {
		return err
	}
	cfg := ck.Config
	cfg.Data.Name = dataName
	if epochs > 0 {
		cfg.Train.Epochs = epochs
	}
	if opts.DataDir != "" {
		cfg.Data.Dir = opts.DataDir
	}
	if ck.Epoch >= cfg.Train.Epochs {
		return setup(fmt.Errorf("%s has finished all %d epochs; pass --epochs N (more than %d) to train it longer", opts.Out, cfg.Train.Epochs, ck.Epoch))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	unlock, err := lockRunDir(opts.Out)
	if err != nil {
		return setup(err)
	}
	defer unlock()
	useRunThreads(ck.Threads, opts.Threads, opts.Stdout)
	// A crash during a write leaves its temporary file behind: clear them
	// (the lock says no other lgm is writing here).
	stale, _ := filepath.Glob(filepath.Join(opts.Out, ".*.tmp-*"))
	for _, p := range stale {
		os.Remove(p)
	}
	t, err := newTrainer(cfg, opts, ck)
	if err != nil {
		return setup(err)
	}
	defer t.ss.close()
	// The checkpoint's config first, then the file, so that the two agree
	// (a resume that stops before its next save would find them differ).
	if !bytes.Equal(cfg.Marshal(), ck.Config.Marshal()) {
		if err := t.save(); err != nil {
			return err
		}
	}
	if cfgPath := filepath.Join(opts.Out, ConfigFile); !bytes.Equal(cfg.Marshal(), ck.Config.Marshal()) || !fileExists(cfgPath) {
		if err := writeFileAtomic(cfgPath, cfg.Marshal()); err != nil {
			return err
		}
	}
	return t.run(ctx)
}

// useRunThreads sets the workers of a resumed run: the count it was
// trained with (ran) unless the user asked for another (asked > 0), in which
// case it says that the result will not be bit-identical to an unbroken run.
func useRunThreads(ran, asked int, out io.Writer) {
	if out == nil {
		out = io.Discard
	}
	switch {
	case asked > 0 && ran > 0 && asked != ran:
		fmt.Fprintf(out, "note: this run trained with --threads %d and resumes with %d: sums split another way round differently, so the result will not be bit-identical to an unbroken run (resume without --threads to keep it)\n", ran, asked)
		SetThreads(asked)
	case asked > 0:
		SetThreads(asked)
	case ran > 0:
		SetThreads(ran)
	}
}

// SetThreads bounds Go's scheduler and the ops' workers to n (at most
// nnops.MaxThreads).
func SetThreads(n int) {
	runtime.GOMAXPROCS(n)
	nnops.SetThreads(n)
}

// trainer holds a training run: its data, graph, solver and position.
type trainer struct {
	cfg         Config
	opts        TrainOptions
	out         io.Writer
	train, test *data.Set
	val         *data.Set // held out of the training split (data.val), or nil
	norm        data.Norm
	ss          *session
	params      []optim.Param
	sgd         *optim.SGD
	order       *rand.PCG // the data-order stream
	aug         *rand.PCG // the augmentation stream
	augRNG      *rand.Rand
	augBuf      []float32 // the batch before augmentation
	batches     int       // per epoch

	// Position: epoch epochs are complete and batch batches of the next one.
	epoch, batch int
	epochRNG     []byte     // state of order at the start of the current epoch
	stats        epochStats // of the current epoch so far
	history      []Metrics
	schedule     map[string]float64 // the head's scheduled values at the last step

	idx, labels, pred []int
}

// epochStats accumulate over an epoch's batches; they go into mid-epoch
// checkpoints so that a resumed epoch reports what an unbroken one would.
type epochStats struct {
	SumLoss  float64            `json:"sum_loss"`
	SumTerms map[string]float64 `json:"sum_terms"`
	Wrong    int                `json:"wrong"`
	Seen     int                `json:"seen"`
	Seconds  float64            `json:"seconds"` // training time so far (timing only)
}

// newTrainer loads the data and builds the graph; with ck it restores the
// run's weights, solver state, data order and position.
func newTrainer(cfg Config, opts TrainOptions, ck *Checkpoint) (*trainer, error) {
	t := &trainer{cfg: cfg, opts: opts, out: opts.Stdout}
	if t.out == nil {
		t.out = io.Discard
	}
	t.train, t.test = opts.Train, opts.Test
	if t.train == nil || t.test == nil {
		var err error
		if t.train, t.test, err = loadData(cfg, t.out); err != nil {
			return nil, err
		}
	}
	tr, te := t.train, t.test
	if tr.C != te.C || tr.H != te.H || tr.W != te.W || tr.Classes != te.Classes {
		return nil, fmt.Errorf("%s is %d×%d×%d with %d classes but %s is %d×%d×%d with %d",
			tr.Name, tr.C, tr.H, tr.W, tr.Classes, te.Name, te.C, te.H, te.W, te.Classes)
	}
	if cfg.Data.Val > 0 {
		var err error
		if t.train, t.val, err = holdOut(cfg, tr); err != nil {
			return nil, err
		}
		tr = t.train
	}
	if ck != nil { // the images trained on (without a validation split's) against the checkpoint's record
		from := "the data in " + cfg.Data.Dir
		if cfg.Data.Dir == "" {
			from = "the data"
		}
		if err := checkSameData(ck, opts.Out, from, tr, te); err != nil {
			return nil, err
		}
	}
	t.norm = data.ComputeNorm(tr) // of the images trained on
	if ck != nil {
		t.norm = data.Norm{Mean: ck.Norm.Mean, Std: ck.Norm.Std}
	}
	var err error
	if tr, err = normalised(t.norm, tr); err != nil {
		return nil, err
	}
	if te, err = normalised(t.norm, te); err != nil {
		return nil, err
	}
	t.train, t.test = tr, te
	if t.val != nil {
		if t.val, err = normalised(t.norm, t.val); err != nil {
			return nil, err
		}
	}
	s := shape{B: cfg.Train.Batch, C: tr.C, H: tr.H, W: tr.W, K: tr.Classes}
	ss, err := newSession(cfg, s, true)
	if err != nil {
		return nil, err
	}
	t.ss = ss
	// The solver sees the raw float32 arrays of the parameters and of the
	// gradients the training machine accumulates (the same arrays at every step).
	t.params = make([]optim.Param, len(ss.params))
	headOpts := loss.OptionsOf(ss.head)
	nNet := len(ss.params) - len(headOpts)
	for i, p := range ss.params {
		g, err := ss.train.Grad(p)
		if err != nil {
			ss.close()
			return nil, err
		}
		t.params[i] = optim.Param{Name: p.Name(), Value: p.Value().Data().([]float32), Grad: g, LRMult: 1}
		if i >= nNet {
			o := headOpts[i-nNet]
			t.params[i].LRMult, t.params[i].NoWD = float32(o.LRMult), o.NoWD
		}
	}
	t.sgd = optim.NewSGD(t.params, float32(cfg.Train.LR), float32(cfg.Train.Momentum), float32(cfg.Train.WeightDecay), cfg.Train.Nesterov)
	t.order = rand.NewPCG(cfg.Seed, streamOrder)
	t.aug = rand.NewPCG(cfg.Seed, streamAug)
	t.augRNG = rand.New(t.aug)
	if cfg.Data.Augment {
		t.augBuf = make([]float32, s.B*tr.C*tr.H*tr.W)
	}
	t.batches = (tr.N + s.B - 1) / s.B
	if cfg.Train.Limit > 0 {
		t.batches = min(t.batches, cfg.Train.Limit)
	}
	t.idx, t.labels, t.pred = make([]int, s.B), make([]int, s.B), make([]int, s.B)
	if ck != nil {
		if err := t.restore(ck); err != nil {
			ss.close()
			return nil, fmt.Errorf("%s: %w", filepath.Join(opts.Out, CheckpointFile), err)
		}
	}
	return t, nil
}

// restore puts the trainer where checkpoint ck left it.
func (t *trainer) restore(ck *Checkpoint) error {
	if err := restore(t.ss, ck); err != nil {
		return err
	}
	for i, p := range t.ss.params {
		v, ok := ck.Tensors["opt.velocity."+p.Name()]
		if !ok {
			return fmt.Errorf("checkpoint has no solver state for %s", p.Name())
		}
		if err := t.sgd.SetVelocity(i, v); err != nil {
			return err
		}
	}
	if err := t.order.UnmarshalBinary(ck.RNG); err != nil {
		return fmt.Errorf("data-order state: %w", err)
	}
	if err := t.aug.UnmarshalBinary(ck.AugRNG); err != nil {
		return fmt.Errorf("augmentation state: %w", err)
	}
	if ck.Batch < 0 || ck.Batch > t.batches {
		return fmt.Errorf("position batch %d is outside the epoch's %d batches", ck.Batch, t.batches)
	}
	if len(ck.History) != ck.Epoch {
		return fmt.Errorf("checkpoint holds %d metrics lines for %d epochs", len(ck.History), ck.Epoch)
	}
	t.epoch, t.batch, t.stats, t.history = ck.Epoch, ck.Batch, ck.Stats, ck.History
	if t.batch > 0 {
		t.epochRNG = ck.RNG
		// The epoch's metrics report the schedule at its last step: set it
		// as the last step before the interruption left it.
		if sh, ok := t.ss.head.(loss.Scheduled); ok {
			iter := t.epoch*t.batches + t.batch - 1
			t.schedule = sh.SetStep(iter, float64(iter)/float64(t.batches))
		}
	}
	return nil
}

// checkpoint captures the run's state at its current position.
func (t *trainer) checkpoint() *Checkpoint {
	ck := &Checkpoint{
		Config: t.cfg, Epoch: t.epoch, Batch: t.batch, Threads: nnops.Threads(), Data: shapeOf(t.train, t.test),
		Norm: NormState{Mean: t.norm.Mean, Std: t.norm.Std},
		RNG:  t.epochRNG, Stats: t.stats, History: t.history,
	}
	// Once an epoch has begun, its order has been drawn from the stream and
	// the resumed epoch must redraw it from the state at its start (epochRNG),
	// whether or not a step has run yet. Between epochs (epochRNG nil) the
	// stream's state is where the next epoch starts.
	if t.epochRNG == nil {
		ck.RNG, _ = t.order.MarshalBinary()
	}
	ck.AugRNG, _ = t.aug.MarshalBinary()
	ck.Tensors, ck.Shapes = snapshot(t.ss, t.sgd)
	return ck
}

func (t *trainer) save() error {
	return t.checkpoint().Save(filepath.Join(t.opts.Out, CheckpointFile))
}

// run trains from the current position to the last epoch.
func (t *trainer) run(ctx context.Context) error {
	cfg, s := t.cfg, t.ss.shape
	verb := "training"
	if t.epoch > 0 || t.batch > 0 {
		verb = fmt.Sprintf("resuming at epoch %d, batch %d:", t.epoch+1, t.batch+1)
		if t.batch == t.batches {
			verb = fmt.Sprintf("resuming at the evaluation of epoch %d:", t.epoch+1)
		}
	}
	val := ""
	if t.val != nil {
		val = fmt.Sprintf(" / %d validation", t.val.N)
	}
	ds := cfg.Data.Dataset
	if cfg.Data.Name != "" {
		ds += " (" + cfg.Data.Name + ", data.name)"
	}
	fmt.Fprintf(t.out, "%s %s (%s, D=%d, head %s) on %s: %d train%s / %d test images, %d epochs of %d batches of %d\n",
		verb, cfg.Name, cfg.Model.Net, cfg.Model.Dim, cfg.Head.Name, ds, t.train.N, val, t.test.N, cfg.Train.Epochs, t.batches, s.B)
	if p := model.PooledDim(cfg.Model.Net, cfg.Model.Width); p > 0 && p != cfg.Model.Dim {
		fmt.Fprintf(t.out, "note: %s's pooled feature is %d-D at width %g; a linear layer maps it to D=%d (model.dim %d makes the pooled feature the head's input)\n",
			cfg.Model.Net, p, cfg.Model.Width, cfg.Model.Dim, p)
	}
	fmt.Fprintf(t.out, "run directory: %s\n", t.opts.Out)
	if err := writeMetrics(filepath.Join(t.opts.Out, MetricsFile), t.history); err != nil {
		return err
	}
	for ; t.epoch < cfg.Train.Epochs; t.epoch++ {
		if err := t.runEpoch(ctx); err != nil {
			var de *DivergedError
			if errors.As(err, &de) {
				if p := filepath.Join(t.opts.Out, CheckpointFile); fileExists(p) {
					de.Checkpoint = p
				}
			}
			return err
		}
	}
	fmt.Fprintf(t.out, "done: %s (evaluate with: lgm eval %s)\n", t.opts.Out, t.opts.Out)
	return nil
}

// runEpoch trains the rest of the current epoch, evaluates, and saves.
func (t *trainer) runEpoch(ctx context.Context) error {
	cfg, s := t.cfg, t.ss.shape
	lr := optim.StepDecay(cfg.Train.LR, cfg.Train.LRGamma, cfg.Train.LRStep, t.epoch)
	if len(cfg.Train.LRMilestones) > 0 {
		lr = optim.MilestoneDecay(cfg.Train.LR, cfg.Train.LRGamma, cfg.Train.LRMilestones, t.epoch)
	}
	t.sgd.LR = float32(lr)
	if t.batch == 0 {
		t.epochRNG, _ = t.order.MarshalBinary()
		t.stats = epochStats{}
	} else if err := t.order.UnmarshalBinary(t.epochRNG); err != nil { // redraw the interrupted epoch's order
		return err
	}
	perm := data.Perm(rand.New(t.order), t.train.N)
	t.mark("epoch")
	var bar *progressbar.ProgressBar
	if t.opts.Progress {
		bar = newBar(t.out, t.batches, t.epoch+1, cfg.Train.Epochs)
		bar.Set(t.batch)
	}
	start := time.Now()
	lastLine, lastSave := start, start
	done := t.stats.Seconds
	for ; t.batch < t.batches; t.batch++ {
		if ctx.Err() != nil {
			return t.interrupted()
		}
		// The last batch of an epoch is completed from the start of the
		// permutation, so the graph keeps its shape and every example is seen.
		for i := range t.idx {
			t.idx[i] = perm[(t.batch*s.B+i)%t.train.N]
		}
		if err := t.step(); err != nil {
			return err
		}
		t.stats.Seconds = done + time.Since(start).Seconds()
		if t.opts.SaveEvery > 0 && time.Since(lastSave) >= t.opts.SaveEvery {
			// The checkpoint names the next batch as the place to resume.
			t.batch++
			t.mark("save")
			err := t.save()
			t.batch--
			if err != nil {
				return err
			}
			lastSave = time.Now()
		}
		t.mark("step")
		// Progress (formatting allocates: considered every 10 steps only).
		if bar != nil {
			if t.batch%10 == 0 || t.batch == t.batches-1 {
				loss, errPct, imgS := t.running()
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f err %.2f%% %.0f img/s", t.epoch+1, cfg.Train.Epochs, loss, errPct, imgS))
			}
			bar.Add(1)
		} else if t.batch%10 == 0 && t.opts.LineEvery > 0 && time.Since(lastLine) >= t.opts.LineEvery {
			lastLine = time.Now()
			loss, errPct, imgS := t.running()
			fmt.Fprintf(t.out, "epoch %d/%d  batch %d/%d  loss %.4f  train error %.2f%%  %.0f img/s\n",
				t.epoch+1, cfg.Train.Epochs, t.batch+1, t.batches, loss, errPct, imgS)
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(t.out)
	}
	var valRes *EvalResult
	if t.val != nil {
		r, err := evaluate(ctx, t.ss, t.val, t.evalEach("validation", t.val.N))
		if err != nil {
			if ctx.Err() != nil {
				return t.interrupted()
			}
			return err
		}
		valRes = &r
	}
	res, err := evaluate(ctx, t.ss, t.test, t.evalEach("test", t.test.N))
	if err != nil {
		if ctx.Err() != nil {
			return t.interrupted()
		}
		return err
	}
	st := t.stats
	m := Metrics{
		Epoch: t.epoch + 1, LR: lr, Batches: t.batches,
		TrainLoss: st.SumLoss / float64(t.batches), TrainError: float64(st.Wrong) / float64(st.Seen),
		Terms:     make(map[string]float64, len(st.SumTerms)),
		TestError: res.Error, TestN: res.N, Schedule: maps.Clone(t.schedule), // the head reuses its map
		ImgS: float64(st.Seen) / st.Seconds, EvalImgS: res.ImgS, Seconds: st.Seconds + float64(res.N)/res.ImgS,
		Build: Build(), CPU: HostCPU().String(),
	}
	for name, v := range st.SumTerms {
		m.Terms[name] = v / float64(t.batches)
	}
	best := false
	if valRes != nil {
		m.ValLoss, m.ValError, m.ValN = &valRes.Loss, &valRes.Error, valRes.N
		m.Seconds += float64(valRes.N) / valRes.ImgS
		best = cfg.Train.Keep == KeepBestVal && bestVal(t.history, valRes.Error)
	}
	t.history = append(t.history, m)
	// The epoch is complete: the checkpoint names the next one's start. The
	// best one is written first: a run stopped between the two writes
	// redoes this epoch's evaluation on resume, and so this choice.
	t.epoch++
	t.batch, t.epochRNG, t.stats = 0, nil, epochStats{}
	if best {
		err = t.checkpoint().Save(filepath.Join(t.opts.Out, BestCheckpointFile))
	}
	if err == nil {
		err = t.save()
	}
	t.epoch--
	if err != nil {
		return err
	}
	if err := writeMetrics(filepath.Join(t.opts.Out, MetricsFile), t.history); err != nil {
		return err
	}
	valText := ""
	if valRes != nil {
		valText = fmt.Sprintf("  val loss %.4f  val error %.2f%% (%d/%d)", valRes.Loss, 100*valRes.Error, valRes.Wrong, valRes.N)
		if best {
			valText += " best"
		}
	}
	fmt.Fprintf(t.out, "epoch %d/%d  lr %.4g  train loss %.4f  train error %.2f%%%s  test error %.2f%% (%d/%d)  %.0f img/s  %.1fs\n",
		m.Epoch, cfg.Train.Epochs, lr, m.TrainLoss, 100*m.TrainError, valText, 100*m.TestError, res.Wrong, res.N, m.ImgS, m.Seconds)
	t.mark("epoch-end")
	return nil
}

// bestVal says whether a validation error beats that of every epoch in
// history (ties keep the earlier epoch).
func bestVal(history []Metrics, valError float64) bool {
	for _, m := range history {
		if m.ValError != nil && *m.ValError <= valError {
			return false
		}
	}
	return true
}

// evalEach returns the per-example hook of an evaluation of n images of the
// split called what: it marks the interruption point before every batch
// and shows progress (a bar on a terminal, else a line at most every
// LineEvery).
func (t *trainer) evalEach(what string, n int) func(i, label, pred int, feat []float32) error {
	label := fmt.Sprintf("epoch %d/%d  evaluating %s", t.epoch+1, t.cfg.Train.Epochs, what)
	return evalProgress(t.out, t.opts.Progress, t.opts.LineEvery, label, n, t.ss.shape.B, func() { t.mark("eval") })
}

// mark calls the tests' hook at an interruption point.
func (t *trainer) mark(where string) {
	if t.opts.at != nil {
		t.opts.at(where, t.epoch, t.batch)
	}
}

// running returns the current epoch's mean loss, error (%) and images/s so
// far, through batch t.batch.
func (t *trainer) running() (loss, errPct, imgS float64) {
	st := &t.stats
	return st.SumLoss / float64(t.batch+1), 100 * float64(st.Wrong) / float64(st.Seen), float64(st.Seen) / st.Seconds
}

// step trains on the batch in t.idx: forward, backward, solver step.
func (t *trainer) step() error {
	ss, s := t.ss, t.ss.shape
	ss.load(t.train, t.idx, t.labels)
	if t.augBuf != nil { // the "+" setting: pad 4, random crop, random flip
		x := ss.xT.Float32s()
		copy(t.augBuf, x)
		data.Augment{Pad: 4, Crop: true, Flip: true}.ApplyBatch(t.augRNG, t.augBuf, x, s.B, s.C, s.H, s.W)
	}
	if sh, ok := ss.head.(loss.Scheduled); ok {
		iter := t.epoch*t.batches + t.batch
		t.schedule = sh.SetStep(iter, float64(iter)/float64(t.batches))
	}
	ss.setTraining(true)
	if err := ss.train.RunAll(); err != nil {
		return fmt.Errorf("epoch %d, batch %d: %w", t.epoch+1, t.batch+1, err)
	}
	l := scalar(ss.lossV)
	if math.IsNaN(l) || math.IsInf(l, 0) {
		term := "loss"
		for _, name := range ss.termNames {
			if v := scalar(*ss.termV[name]); math.IsNaN(v) || math.IsInf(v, 0) {
				term = "loss term " + name
			}
		}
		return &DivergedError{Epoch: t.epoch + 1, Batch: t.batch + 1, Term: term, Value: l}
	}
	if t.stats.SumTerms == nil {
		t.stats.SumTerms = make(map[string]float64, len(ss.termNames))
	}
	t.stats.SumLoss += l
	for _, name := range ss.termNames {
		t.stats.SumTerms[name] += scalar(*ss.termV[name])
	}
	ss.predictions(s.B, t.pred)
	for i := range t.pred {
		if t.pred[i] != t.labels[i] {
			t.stats.Wrong++
		}
	}
	t.stats.Seen += s.B
	t.sgd.Step()
	for i := range t.params {
		// The machine adds each run's gradient into its accumulator, as
		// Gorgonia's BindDualValues did: clear it for the next step.
		clear(t.params[i].Grad)
	}
	if ps, ok := ss.head.(loss.PostStepper); ok {
		if err := ps.PostStep(); err != nil {
			return fmt.Errorf("epoch %d, batch %d: %w", t.epoch+1, t.batch+1, err)
		}
	}
	if fl, ok := ss.head.(loss.Floored); ok {
		if what, at := fl.AtFloor(); at {
			return &DivergedError{Epoch: t.epoch + 1, Batch: t.batch + 1, Term: "a learned variance", Detail: what,
				Hint: "lower head.var_lr_mult or train.lr, or use head.covariance: identity"}
		}
	}
	return nil
}

// ErrInterrupted is returned when the context is cancelled during training.
var ErrInterrupted = errors.New("interrupted")

// interrupted saves a checkpoint at the current position and says how to resume.
func (t *trainer) interrupted() error {
	if err := t.save(); err != nil {
		return fmt.Errorf("%w at epoch %d, batch %d, and the checkpoint could not be saved: %v", ErrInterrupted, t.epoch+1, t.batch+1, err)
	}
	where := fmt.Sprintf("at epoch %d, batch %d of %d", t.epoch+1, t.batch+1, t.batches)
	if t.batch == t.batches {
		where = fmt.Sprintf("while evaluating epoch %d", t.epoch+1)
	}
	return fmt.Errorf("%w %s: checkpoint saved in %s; resume with: lgm train --resume %s",
		ErrInterrupted, where, t.opts.Out, t.opts.Out)
}

// prepareRunDir creates dir, refusing one that already holds a run, and
// takes its lock before any training starts. madeDir reports that this call
// created dir (so that a failure may remove it). beforeLock, for tests, runs
// between the two.
func prepareRunDir(dir string, beforeLock func()) (lock *dirLock, madeDir bool, err error) {
	if dir == "" {
		return nil, false, errors.New("no run directory given: pass --out DIR")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, false, fmt.Errorf("cannot create run directory: %w", err)
	}
	switch err := os.Mkdir(dir, 0o755); {
	case err == nil:
		madeDir = true
	case errors.Is(err, fs.ErrExist):
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, false, fmt.Errorf("run directory %s exists and is not a folder; choose another --out", dir)
		}
	default:
		return nil, false, fmt.Errorf("cannot create run directory: %w", err)
	}
	if beforeLock != nil {
		beforeLock()
	}
	if lock, err = takeLock(dir); err != nil { // also shows that dir is writable
		return nil, false, err
	}
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			lock.release()
			return nil, false, fmt.Errorf("%s already holds a run (%s); choose another --out or remove it", dir, f)
		}
	}
	return lock, madeDir, nil
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
	for _, b := range ss.buffers {
		tensors[b.Name()] = append([]float32(nil), b.Value().Data().([]float32)...)
		shapes[b.Name()] = []int(b.Shape().Clone())
	}
	return tensors, shapes
}

// restore copies the parameters and buffers of ck into the session's graph.
// Each tensor must have the shape the network gives it (not only as many
// values) and hold finite values only: a diverged run's weights are refused,
// naming the first bad tensor, rather than evaluated or trained on.
func restore(ss *session, ck *Checkpoint) error {
	for _, p := range append(append(G.Nodes{}, ss.params...), ss.buffers...) {
		v, ok := ck.Tensors[p.Name()]
		if !ok {
			return fmt.Errorf("checkpoint has no tensor %s", p.Name())
		}
		dst := p.Value().Data().([]float32)
		want := []int(p.Shape())
		if got, ok := ck.Shapes[p.Name()]; ok && !slices.Equal(got, want) || len(v) != len(dst) {
			if !ok {
				got = []int{len(v)}
			}
			return fmt.Errorf("checkpoint tensor %s has shape %v, the network wants %v: the checkpoint is of another network or data shape", p.Name(), got, want)
		}
		if i := slices.IndexFunc(v, notFinite); i >= 0 {
			return fmt.Errorf("checkpoint tensor %s holds %v at index %d: the run's weights are not finite (it diverged); resume from an earlier checkpoint or train again with a lower train.lr", p.Name(), v[i], i)
		}
		copy(dst, v)
	}
	return nil
}

func notFinite(f float32) bool { return math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) }

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
	raw, err := fileio.ReadFile(path, "a metrics file", fileio.MaxMetricsBytes)
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

// scalar is the first number of v, a float32 or float64 scalar or tensor.
// The common cases (the loss and its terms) are read without Data, whose
// boxing would allocate at every step.
func scalar(v interface{ Data() interface{} }) float64 {
	switch d := v.(type) {
	case *G.F32:
		return float64(*d)
	case *G.F64:
		return float64(*d)
	}
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
