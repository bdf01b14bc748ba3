package experiment

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	G "gorgonia.org/gorgonia"

	"github.com/lgm-dev/lgm/attack"
	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/internal/vm"
	"github.com/lgm-dev/lgm/loss"
	"github.com/lgm-dev/lgm/report"
)

// streamAttack is the PCG stream of PGD's random starts (see the streams in session.go).
const streamAttack = 4

// AttackOptions configure an attack on a run's test set.
type AttackOptions struct {
	Method   attack.Method
	Eps      []float64 // the radii, pixel units; the clean test set (ε = 0) is always evaluated first
	Steps    int       // BIM, PGD
	StepSize float64   // BIM, PGD: 0 means 2.5·ε/Steps at each ε (Madry et al.'s rule)
	Restarts int       // PGD
	// Loss is the attack's loss: "xent" (default: the cross-entropy of the
	// head's margin-free logits with the true label) or "train" (the head's
	// training loss, margin and likelihood term included, at the run's last
	// step's α, λ and β).
	Loss  string
	Limit int    // attack only the first Limit test images; 0: all
	Seed  uint64 // PGD's random starts
	// Examples keeps the first Examples test images, clean and attacked at
	// every ε, in the report's Examples (for a picture).
	Examples int

	DataDir   string // overrides the run's data.dir
	Stdout    io.Writer
	Progress  bool          // a progress bar (a terminal) instead of lines
	LineEvery time.Duration // without Progress: a progress line at most this often
	// Train and Test, when set, replace the data the run's config names (tests use this).
	Train, Test *data.Set
}

// AttackReport is the outcome of an attack: one entry per ε, the clean
// test set (ε = 0) first. It is what attack-<method>.json holds.
type AttackReport struct {
	Method   attack.Method `json:"method"`
	Loss     string        `json:"loss"`
	N        int           `json:"n"`
	Steps    int           `json:"steps,omitempty"`
	StepSize float64       `json:"step_size,omitempty"` // 0: 2.5·ε/steps
	Restarts int           `json:"restarts,omitempty"`
	Seed     uint64        `json:"seed"`
	Dim      int           `json:"dim"`
	Head     string        `json:"head"`
	Seconds  float64       `json:"seconds"`
	Results  []EpsResult   `json:"results"`

	// Per image and ε, in the order of Results: prediction, the head's
	// log-likelihood score under its prediction, the largest posterior, and
	// (D = 2) the features. Written to the CSV files, not to the JSON.
	Labels []int         `json:"-"`
	Pred   [][]int       `json:"-"`
	LogLik [][]float64   `json:"-"`
	Post   [][]float64   `json:"-"`
	Feat   [][][]float32 `json:"-"`
	// Examples are the first AttackOptions.Examples images at every ε.
	Examples report.Examples `json:"-"`
}

// EpsResult is the error at one ε and, for ε > 0, how well the head's
// log-likelihood ("auroc", …) and the largest posterior ("…_posterior")
// tell the attacked images from the clean ones: over all pairs, and over the
// successful pairs only (clean image right, attacked one wrong). It is the
// report's type, which reads attack-<method>.json back.
type EpsResult = report.AttackEps

// AttackFile names the JSON result of an attack in a run directory; the
// per-image scores go to the same name with .csv, and for a 2-D feature
// the features to -features.csv.
func AttackFile(method attack.Method) string { return "attack-" + string(method) + ".json" }

// Attack attacks the test set of the run in path (a run directory or a
// checkpoint file) and writes attack-<method>.json, attack-<method>.csv and,
// for D = 2, attack-<method>-features.csv into the run directory.
func Attack(ctx context.Context, path string, opts AttackOptions) (*AttackReport, error) {
	if opts.Loss == "" {
		opts.Loss = "xent"
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ck, err := OpenCheckpoint(path)
	if err != nil {
		return nil, setup(err)
	}
	cfg := ck.Config
	if opts.DataDir != "" {
		cfg.Data.Dir = opts.DataDir
	}
	test := opts.Test
	if test == nil {
		if _, test, err = loadData(cfg, nil); err != nil {
			return nil, setup(err)
		}
	}
	norm := data.Norm{Mean: ck.Norm.Mean, Std: ck.Norm.Std}
	if err := norm.Validate(test.C); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := newAttackModel(cfg, ck, test, norm, opts.Loss)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer m.close()
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	rep, err := runAttack(ctx, m, test, opts)
	if err != nil {
		return nil, err
	}
	rep.Dim, rep.Head = cfg.Model.Dim, cfg.Head.Name
	if err := rep.write(dir); err != nil {
		return nil, err
	}
	return rep, nil
}

// Validate reports every problem of the options at once, naming the flags.
func (opts AttackOptions) Validate() error {
	var errs []error
	if opts.Loss != "" && opts.Loss != "xent" && opts.Loss != "train" {
		errs = append(errs, fmt.Errorf("--loss must be xent or train (got %q)", opts.Loss))
	}
	if opts.Limit < 0 {
		errs = append(errs, fmt.Errorf("--limit must be >= 0 (got %d)", opts.Limit))
	}
	if len(opts.Eps) == 0 {
		errs = append(errs, errNoAttack)
	}
	seen := map[string]bool{}
	for _, eps := range opts.Eps {
		c := attack.Config{Method: opts.Method, Eps: eps, Steps: opts.Steps, StepSize: stepSize(opts, eps), Restarts: opts.Restarts}
		if err := c.Validate(); err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stepSize is the BIM/PGD step at radius eps.
func stepSize(opts AttackOptions, eps float64) float64 {
	if opts.StepSize > 0 || opts.Method == attack.FGSM || opts.Steps < 1 {
		return opts.StepSize
	}
	return 2.5 * eps / float64(opts.Steps)
}

// runAttack attacks the first opts.Limit (or all) images of test with m.
func runAttack(ctx context.Context, m *attackModel, test *data.Set, opts AttackOptions) (*AttackReport, error) {
	start := time.Now()
	n := test.N
	if opts.Limit > 0 {
		n = min(n, opts.Limit)
	}
	eps := append([]float64{0}, opts.Eps...)
	for i := 1; i < len(eps); i++ { // the clean row once, first
		if eps[i] == 0 {
			eps = append(eps[:i], eps[i+1:]...)
			i--
		}
	}
	rep := &AttackReport{Method: opts.Method, Loss: opts.Loss, N: n, Seed: opts.Seed, Labels: make([]int, n)}
	if opts.Method != attack.FGSM {
		rep.Steps, rep.StepSize = opts.Steps, opts.StepSize
	}
	if opts.Method == attack.PGD {
		rep.Restarts = opts.Restarts
	}
	keepFeat := m.ss.dim == 2
	nEx := min(max(opts.Examples, 0), n)
	if nEx > 0 {
		rep.Examples = report.Examples{C: test.C, H: test.H, W: test.W, Eps: eps, Labels: test.Labels[:nEx:nEx], ClassNames: test.ClassNames}
		for range eps {
			rep.Examples.Images = append(rep.Examples.Images, make([]float32, 0, nEx*test.ImageSize()))
			rep.Examples.Preds = append(rep.Examples.Preds, make([]int, 0, nEx))
		}
	}
	for range eps {
		rep.Pred = append(rep.Pred, make([]int, n))
		rep.LogLik = append(rep.LogLik, make([]float64, n))
		rep.Post = append(rep.Post, make([]float64, n))
		if keepFeat {
			rep.Feat = append(rep.Feat, make([][]float32, n))
		}
	}
	b, size, k := m.ss.shape.B, m.Size(), m.Classes()
	x, adv, g := make([]float32, b*size), make([]float32, b*size), make([]float32, b*size)
	logits := make([]float32, b*k)
	y := make([]int, b)
	buf := attack.NewBuffers(m, b)
	rng := rand.New(rand.NewPCG(opts.Seed, streamAttack))

	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	batches := (n + b - 1) / b
	var bar *progressbar.ProgressBar
	if opts.Progress {
		bar = newBar(out, batches, 1, 1)
		bar.Describe(fmt.Sprintf("%s on %d images", opts.Method, n))
	}
	lastLine := start
	for bi, lo := 0, 0; lo < n; bi, lo = bi+1, lo+b {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w during the attack (nothing was written)", ErrInterrupted)
		}
		nb := min(b, n-lo)
		for i := 0; i < nb; i++ {
			test.Values(lo+i, x[i*size:(i+1)*size])
			y[i] = test.Labels[lo+i]
			rep.Labels[lo+i] = y[i]
		}
		for _, v := range x[:nb*size] {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("%s: a pixel of image %d is %v: attacks need pixels in [0, 1]", test.Name, lo, v)
			}
		}
		xs, ys, as := x[:nb*size], y[:nb], adv[:nb*size]
		var clean []float32 // the clean images' gradient, shared by every FGSM ε
		if opts.Method == attack.FGSM {
			if err := m.Gradient(xs, ys, logits[:nb*k], g[:nb*size]); err != nil {
				return nil, err
			}
			clean = g[:nb*size]
		}
		for e, r := range eps {
			c := attack.Config{Method: opts.Method, Eps: r, Steps: opts.Steps, StepSize: stepSize(opts, r), Restarts: opts.Restarts}
			if err := attack.Run(m, c, xs, ys, as, rng, buf, clean); err != nil {
				return nil, err
			}
			if err := m.forward(as, nb); err != nil {
				return nil, err
			}
			if keep := min(nb, nEx-lo); keep > 0 {
				rep.Examples.Images[e] = append(rep.Examples.Images[e], as[:keep*size]...)
			}
			lg, ll, ft := m.ss.logitsV.Data().([]float32), m.loglik(), m.ss.featV.Data().([]float32)
			for i := 0; i < nb; i++ {
				p, cls := attack.Posterior(lg[i*k : (i+1)*k])
				rep.Pred[e][lo+i], rep.Post[e][lo+i] = cls, p
				rep.LogLik[e][lo+i] = ll[i]
				if lo+i < nEx {
					rep.Examples.Preds[e] = append(rep.Examples.Preds[e], cls)
				}
				if keepFeat {
					rep.Feat[e][lo+i] = append([]float32(nil), ft[i*2:i*2+2]...)
				}
			}
		}
		if bar != nil {
			bar.Add(1)
		} else if opts.LineEvery > 0 && time.Since(lastLine) >= opts.LineEvery {
			lastLine = time.Now()
			fmt.Fprintf(out, "%s: batch %d/%d (%d of %d images)  %.0f img/s\n", opts.Method, bi+1, batches, lo+nb, n, float64(lo+nb)/time.Since(start).Seconds())
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(out)
	}
	for e, r := range eps {
		res := EpsResult{Eps: r, N: n}
		for i := 0; i < n; i++ {
			if rep.Pred[e][i] != rep.Labels[i] {
				res.Wrong++
			}
		}
		res.Error = float64(res.Wrong) / float64(n)
		if e > 0 {
			if err := detect(&res, rep, e); err != nil {
				return nil, err
			}
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// detect fills the detection metrics of ε number e against the clean images.
func detect(res *EpsResult, rep *AttackReport, e int) error {
	ptr := func(v float64) *float64 { return &v }
	for i, v := range rep.LogLik[e] {
		if math.IsNaN(v) || math.IsNaN(rep.LogLik[0][i]) {
			return fmt.Errorf("the head's log-likelihood of test image %d is NaN", i)
		}
	}
	clean, advd := rep.LogLik[0], rep.LogLik[e]
	cleanP, advP := rep.Post[0], rep.Post[e]
	res.AUROC, res.AUROCPosterior = ptr(attack.AUROC(clean, advd)), ptr(attack.AUROC(cleanP, advP))
	res.TNRAtTPR95, res.TNRAtTPR95Posterior = ptr(attack.TNRAtTPR(clean, advd, 0.95)), ptr(attack.TNRAtTPR(cleanP, advP, 0.95))
	res.DetectionAccuracy, res.DetectionAccuracyPosterior = ptr(attack.DetectionAccuracy(clean, advd)), ptr(attack.DetectionAccuracy(cleanP, advP))
	var sc, sa, scP, saP []float64
	for i, label := range rep.Labels {
		if rep.Pred[0][i] == label && rep.Pred[e][i] != label {
			sc, sa = append(sc, clean[i]), append(sa, advd[i])
			scP, saP = append(scP, cleanP[i]), append(saP, advP[i])
		}
	}
	ns := len(sc)
	res.Successful = &ns
	if ns > 0 {
		res.AUROCSuccessful, res.AUROCPosteriorSuccessful = ptr(attack.AUROC(sc, sa)), ptr(attack.AUROC(scP, saP))
	}
	return nil
}

// write saves the report into dir: the JSON, the scores CSV and (D = 2) the
// features CSV, each atomically.
func (rep *AttackReport) write(dir string) error {
	base := filepath.Join(dir, "attack-"+string(rep.Method))
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(base+".json", append(raw, '\n')); err != nil {
		return err
	}
	if err := writeAtomic(base+".csv", rep.WriteScores); err != nil {
		return err
	}
	if rep.Feat != nil {
		return writeAtomic(base+"-features.csv", rep.writeFeatures)
	}
	return nil
}

// WriteScores writes the per-image scores as CSV: a header
// "index,label,eps,prediction,loglik,posterior", then one row per test image
// per ε (the clean images, ε = 0, first).
func (rep *AttackReport) WriteScores(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("index,label,eps,prediction,loglik,posterior\n")
	var b []byte
	for e, r := range rep.Results {
		for i, label := range rep.Labels {
			b = strconv.AppendInt(b[:0], int64(i), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(label), 10)
			b = append(b, ',')
			b = strconv.AppendFloat(b, r.Eps, 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(rep.Pred[e][i]), 10)
			b = append(b, ',')
			b = strconv.AppendFloat(b, rep.LogLik[e][i], 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, rep.Post[e][i], 'g', -1, 64)
			b = append(b, '\n')
			bw.Write(b)
		}
	}
	return bw.Flush()
}

func (rep *AttackReport) writeFeatures(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("index,label,eps,prediction,f1,f2\n")
	for e, r := range rep.Results {
		for i, label := range rep.Labels {
			f := rep.Feat[e][i]
			fmt.Fprintf(bw, "%d,%d,%s,%d,%s,%s\n", i, label, strconv.FormatFloat(r.Eps, 'g', -1, 64), rep.Pred[e][i],
				strconv.FormatFloat(float64(f[0]), 'g', -1, 32), strconv.FormatFloat(float64(f[1]), 'g', -1, 32))
		}
	}
	return bw.Flush()
}

// attackModel is a run's network and head as an attack.Model: pixels in
// [0, 1] are normalised as in training, and the gradient reaches them
// through every op, in evaluation mode (BatchNorm's running statistics).
type attackModel struct {
	ss    *session
	norm  data.Norm
	run   *vm.Machine // forward, the attack's loss and ∂loss/∂x
	gradV G.Value     // ∂loss/∂x (B, C, H, W), normalised space
	plane int
	ll    []float64 // loglik's result, reused
}

var _ attack.Model = (*attackModel)(nil)

func newAttackModel(cfg Config, ck *Checkpoint, test *data.Set, norm data.Norm, lossName string) (*attackModel, error) {
	s := shape{B: cfg.Train.Batch, C: test.C, H: test.H, W: test.W, K: test.Classes}
	ss, err := newSession(cfg, s, false)
	if err != nil {
		return nil, err
	}
	if err := restore(ss, ck); err != nil {
		ss.close()
		return nil, err
	}
	m := &attackModel{ss: ss, norm: norm, plane: s.H * s.W}
	fail := func(err error) (*attackModel, error) {
		ss.close()
		return nil, err
	}
	l := ss.out.Loss
	if lossName == "xent" {
		if l, err = loss.CrossEntropy(ss.out.Logits, ss.onehot); err != nil {
			return fail(err)
		}
	} else if sh, ok := ss.head.(loss.Scheduled); ok {
		// The training loss as it was at the run's last step.
		batches := 1
		if len(ck.History) > 0 {
			batches = max(ck.History[len(ck.History)-1].Batches, 1)
		}
		iter := max(ck.Epoch*batches+ck.Batch-1, 0)
		sh.SetStep(iter, float64(iter)/float64(max(batches, 1)))
	}
	grads, err := G.Grad(l, ss.x)
	if err != nil {
		return fail(fmt.Errorf("gradient of the attack's loss with respect to the input: %w", err))
	}
	G.Read(grads[0], &m.gradV)
	if err := checkFits(ss.g, s.B); err != nil {
		return fail(err)
	}
	if m.run, err = vm.New(ss.g, vm.Share(&ss.arena)); err != nil { // never runs with ss.eval
		return fail(fmt.Errorf("attack machine: %w", err))
	}
	return m, nil
}

func (m *attackModel) close() {
	m.ss.close()
}

func (m *attackModel) Size() int    { return m.ss.shape.imageSize() }
func (m *attackModel) Classes() int { return m.ss.shape.K }

// load normalises the n images x (pixels) into the input batch, as
// data.Set's Gather does for training ((p − mean)/std in float32), zeroing
// the rows past n, and sets the one-hot labels y (nil: none).
func (m *attackModel) load(x []float32, y []int, n int) {
	in := m.ss.xT.Data().([]float32)
	size, plane := m.Size(), m.plane
	for i := 0; i < n; i++ {
		for c := range m.norm.Mean {
			mean, std := m.norm.Mean[c], m.norm.Std[c]
			off := i*size + c*plane
			for j, v := range x[off : off+plane] {
				in[off+j] = (v - mean) / std
			}
		}
	}
	clear(in[n*size:])
	oh := m.ss.yT.Data().([]float32)
	clear(oh)
	k := m.ss.shape.K
	for i, label := range y {
		oh[i*k+label] = 1
	}
}

// Gradient implements attack.Model; len(y) must not exceed the batch size.
func (m *attackModel) Gradient(x []float32, y []int, logits, grad []float32) error {
	n := len(y)
	if n > m.ss.shape.B {
		return fmt.Errorf("attack batch of %d images exceeds the model's batch of %d", n, m.ss.shape.B)
	}
	m.load(x, y, n)
	m.ss.setTraining(false)
	if err := m.run.RunAll(); err != nil {
		return fmt.Errorf("attack gradient: %w", err)
	}
	k := m.ss.shape.K
	copy(logits[:n*k], m.ss.logitsV.Data().([]float32)[:n*k])
	// ∂L/∂p = ∂L/∂x · ∂x/∂p, x = (p − mean)/std.
	g := m.gradV.Data().([]float32)
	size, plane := m.Size(), m.plane
	for i := 0; i < n; i++ {
		for c, std := range m.norm.Std {
			off := i*size + c*plane
			for j, v := range g[off : off+plane] {
				grad[off+j] = v / std
			}
		}
	}
	return nil
}

// forward runs the evaluation pass on the n images x; the logits, features
// and log-likelihood scores are then in the session's read values.
func (m *attackModel) forward(x []float32, n int) error {
	m.load(x, nil, n)
	return m.ss.runEval()
}

// loglik returns the head's log-likelihood scores of the last forward pass
// (B values, valid until the next call), or NaNs if the head has none.
func (m *attackModel) loglik() []float64 {
	if m.ll == nil {
		m.ll = make([]float64, m.ss.shape.B)
	}
	if m.ss.loglikV == nil {
		for i := range m.ll {
			m.ll[i] = math.NaN()
		}
		return m.ll
	}
	for i, v := range m.ss.loglikV.Data().([]float32) {
		m.ll[i] = float64(v)
	}
	return m.ll
}

// errNoAttack is returned for options that attack nothing.
var errNoAttack = errors.New("no --eps given: pass e.g. --eps 0.1,0.2,0.3")
