package loss

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// Center update modes (Config.CenterUpdate).
const (
	CenterOfficial = "official"
	CenterGradient = "gradient"
)

// Center is softmax plus the center loss of Wen, Zhang, Li and Qiao, "A Discriminative
// Feature Learning Approach for Deep Face Recognition", ECCV 2016 (docs/heads.md, docs/paper-vs-code.md). It
// pulls each feature towards a learned centre of its class.
//
// For a batch of B features x_i (D) with labels y_i, W (D×K), optional bias b (K) and
// centres c_k (D):
//
//	z_ik  = x_i·W[:,k] + b_k                          logits (margin-free), as Softmax
//	L_S   = −1/B Σ_i log( exp(z_iy_i) / Σ_k exp(z_ik) )  term "xent"
//	L_C   = 1/(2B) Σ_i ||x_i − c_{y_i}||²               term "center"
//	loss  = L_S + λ·L_C
//
// Config fields: Classes is K, Dim is D, Bias adds b (the paper's LeNet++ has none), Lambda
// is λ (a graph input set by SetStep; official MNIST 0.01), CenterUpdate picks how the
// centres learn, CenterLR is α_c and CenterLRMult the centres' learning-rate multiplier.
//
// "official" (default): the paper's rule, which does not use the loss gradient. After
// each solver step (PostStep), with n_j the number of samples of class j in the batch
// just run and x_i its features,
//
//	Δc_j = Σ_{i: y_i = j} (c_j − x_i) / (1 + n_j),   c_j ← c_j − α_c·Δc_j
//
// independent of λ and of the trainer's learning rate (the paper uses α_c = 0.5). The
// centres are then not learnables: they are Buffers, and a checkpoint must carry them.
//
// "gradient": the centres are learnables (after W and b) with learning-rate multiplier
// CenterLRMult and no weight decay. The loss value is still L_S + λ·L_C and the features
// get its gradient, λ·(x_i − c_{y_i})/B, but the centres get ∂L_C/∂c_j =
// Σ_{i: y_i = j} (c_j − x_i)/B, the loss gradient divided by λ: what PyTorch ports do by
// multiplying the centres' gradient by 1/λ before their own solver step. Here the division
// is built into the graph (a stop-gradient on each side of L_C), so λ = 0 does not make
// it NaN. (Ports whose L_C lacks the ½ give the centres twice this gradient.)
//
// W and b start as in Softmax (U(−1/√D, 1/√D)); the centres start from N(0, 1), as the
// PyTorch port's randn, all drawn from the rng given to New. Centres never get weight
// decay. Logits are the softmax part's z: no centre enters them. LogLik is −½||x − c_ŷ||²
// with ŷ = argmax_k z_k, the log of the paper's exp(−||x − c_ŷ||²/2) score.
type Center struct {
	cfg     Config
	g       *G.ExprGraph
	soft    *Softmax           // W, b and the softmax cross-entropy
	centers *G.Node            // (K, D) "head.centers"
	lambda  *scalarInput       // () λ
	sched   map[string]float64 // SetStep's result, reused
	// batches hold, per Forward call in official mode, the features and labels copied out
	// of the graph by Read nodes during the last run; PostStep consumes them.
	batches []*centerBatch
}

// centerBatch is what a Forward call's Read nodes copy out of a run.
type centerBatch struct {
	feat   G.Value // (B, D)
	onehot G.Value // (B, K)
}

var (
	_ Head         = (*Center)(nil)
	_ Scheduled    = (*Center)(nil)
	_ ParamOptions = (*Center)(nil)
	_ PostStepper  = (*Center)(nil)
	_ Buffered     = (*Center)(nil)
)

// NewCenter builds a center-loss head in g. Most callers want New(g, cfg, rng) with
// cfg.Name "center".
func NewCenter(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*Center, error) {
	cfg.Name = "center"
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("center head: %w", errors.Join(errs...))
	}
	if g == nil || rng == nil {
		return nil, errors.New("center head: graph and rng must not be nil")
	}
	if cfg.CenterUpdate == "" {
		cfg.CenterUpdate = CenterOfficial
	}
	soft, err := NewSoftmax(g, cfg, rng)
	if err != nil {
		return nil, fmt.Errorf("center head: %w", err)
	}
	dt := cfg.dtype()
	h := &Center{cfg: cfg, g: g, soft: soft}
	h.centers = newParam(g, dt, "head.centers", normal(rng, cfg.Classes*cfg.Dim, 1), cfg.Classes, cfg.Dim) // (K, D)
	h.lambda = newScalarInput(g, dt, "lambda", cfg.Lambda.At(0, 0))
	return h, nil
}

// validateCenter checks center's own fields.
func (c Config) validateCenter() []error {
	errs := c.Lambda.validate("head.lambda")
	switch c.CenterUpdate {
	case "", CenterOfficial, CenterGradient:
	default:
		errs = append(errs, fmt.Errorf("head.center_update must be %q or %q (got %q)", CenterOfficial, CenterGradient, c.CenterUpdate))
	}
	if err := nonNegative("head.center_lr", c.CenterLR); err != nil {
		errs = append(errs, err)
	}
	if err := nonNegative("head.center_lr_mult", c.CenterLRMult); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Name returns "center".
func (h *Center) Name() string { return "center" }

// Learnables returns W, then b with Config.Bias, then the centres in "gradient" mode.
func (h *Center) Learnables() G.Nodes {
	ps := h.soft.Learnables()
	if h.cfg.CenterUpdate == CenterGradient {
		ps = append(ps, h.centers)
	}
	return ps
}

// ParamOptions: W and b as usual; the centres ("gradient" mode) with CenterLRMult and no
// weight decay.
func (h *Center) ParamOptions() []ParamOpt {
	opts := make([]ParamOpt, len(h.soft.Learnables()))
	for i := range opts {
		opts[i].LRMult = 1
	}
	if h.cfg.CenterUpdate == CenterGradient {
		opts = append(opts, ParamOpt{LRMult: h.cfg.CenterLRMult, NoWD: true})
	}
	return opts
}

// Buffers returns the centres in "official" mode, where they are not learnables, and
// nothing in "gradient" mode.
func (h *Center) Buffers() G.Nodes {
	if h.cfg.CenterUpdate == CenterOfficial {
		return G.Nodes{h.centers}
	}
	return nil
}

// SetStep sets λ from Config.Lambda and returns {"lambda": λ}.
func (h *Center) SetStep(iter int, epoch float64) map[string]float64 {
	lam := h.cfg.Lambda.At(iter, epoch)
	h.lambda.set(lam)
	if h.sched == nil {
		h.sched = map[string]float64{}
	}
	h.sched["lambda"] = lam
	return h.sched
}

// Forward adds the logits, the loss and the terms "xent" and "center" for feat (B, D)
// and onehot (B, K). In "official" mode it also adds Read nodes that copy feat and onehot
// out of each run for PostStep. Every call shares the head's parameters.
func (h *Center) Forward(feat, onehot *G.Node) (Out, error) {
	if err := checkInputs(h.g, h.cfg, feat, onehot); err != nil {
		return Out{}, fmt.Errorf("center head: %w", err)
	}
	out, err := h.soft.Forward(feat, onehot) // xent, logits (B, K)
	if err != nil {
		return Out{}, fmt.Errorf("center head: %w", err)
	}
	xent := out.Loss // ()
	fail := func(what string, err error) (Out, error) {
		return Out{}, fmt.Errorf("center head: %s: %w", what, err)
	}

	var lc, extra *G.Node // () L_C; () 0 carrying the centres' gradient, or nil
	if h.cfg.CenterUpdate == CenterGradient {
		cStop, err := stopGradient(h.centers) // (K, D)
		if err != nil {
			return fail("centres", err)
		}
		xStop, err := stopGradient(feat) // (B, D)
		if err != nil {
			return fail("features", err)
		}
		if lc, err = halfMeanSquaredDistance(feat, onehot, cStop); err != nil { // (), gradient to feat only
			return fail("centre term", err)
		}
		lcc, err := halfMeanSquaredDistance(xStop, onehot, h.centers) // (), gradient to the centres only
		if err != nil {
			return fail("centre term", err)
		}
		if extra, err = gradientOnly(lcc); err != nil { // () 0
			return fail("centre gradient", err)
		}
	} else {
		if lc, err = halfMeanSquaredDistance(feat, onehot, h.centers); err != nil { // ()
			return fail("centre term", err)
		}
		b := &centerBatch{}
		G.Read(feat, &b.feat)
		G.Read(onehot, &b.onehot)
		h.batches = append(h.batches, b)
	}
	weighted, err := G.Mul(h.lambda.node, lc) // ()
	if err != nil {
		return fail("λ·L_C", err)
	}
	loss, err := G.Add(xent, weighted) // ()
	if err != nil {
		return fail("loss", err)
	}
	if extra != nil {
		if loss, err = G.Add(loss, extra); err != nil { // ()
			return fail("loss", err)
		}
	}

	// LogLik: −½||x − c_ŷ||² under the predicted class ŷ.
	pred, err := argmaxOneHot(out.Logits) // (B, K)
	if err != nil {
		return fail("prediction", err)
	}
	cHat, err := G.Mul(pred, h.centers) // (B, D)
	if err != nil {
		return fail("predicted centres", err)
	}
	sq, err := halfSquaredDistance(feat, cHat) // (B)
	if err != nil {
		return fail("loglik", err)
	}
	loglik, err := G.Neg(sq) // (B)
	if err != nil {
		return fail("loglik", err)
	}
	return Out{
		Loss:   loss,
		Logits: out.Logits,
		Terms:  map[string]*G.Node{"xent": xent, "center": lc},
		LogLik: loglik,
	}, nil
}

// PostStep applies the official centre update for the batch of each Forward call that the
// last run computed, then forgets those batches. In "gradient" mode it does nothing.
// Rows of onehot that are all zero (padding) are skipped.
func (h *Center) PostStep() error {
	for _, b := range h.batches {
		if b.feat == nil || b.onehot == nil {
			continue
		}
		x, err := floats64(b.feat)
		if err != nil {
			return fmt.Errorf("center head: features: %w", err)
		}
		oh, err := floats64(b.onehot)
		if err != nil {
			return fmt.Errorf("center head: labels: %w", err)
		}
		b.feat, b.onehot = nil, nil
		if err := h.updateCenters(x, oh); err != nil {
			return err
		}
	}
	return nil
}

// updateCenters applies c_j ← c_j − α_c Σ_{i: y_i = j}(c_j − x_i)/(1 + n_j) for features x
// (B·D) and one-hot labels oh (B·K), row-major.
func (h *Center) updateCenters(x, oh []float64) error {
	k, d := h.cfg.Classes, h.cfg.Dim
	b := len(x) / d
	if len(x) != b*d || len(oh) != b*k {
		return fmt.Errorf("center head: %d feature and %d label numbers do not make (B, %d) and (B, %d)", len(x), len(oh), d, k)
	}
	c32, c64, err := paramData(h.centers)
	if err != nil {
		return fmt.Errorf("center head: %w", err)
	}
	c := make([]float64, k*d) // (K, D) current centres
	for i := range c {
		if c64 != nil {
			c[i] = c64[i]
		} else {
			c[i] = float64(c32[i])
		}
	}
	sum := make([]float64, k*d) // (K, D) Σ_{i: y_i = j} (c_j − x_i)
	n := make([]int, k)         // (K) n_j
	for i := 0; i < b; i++ {
		y := -1
		for j := 0; j < k; j++ {
			if oh[i*k+j] == 1 {
				y = j
				break
			}
		}
		if y < 0 {
			continue
		}
		n[y]++
		for j := 0; j < d; j++ {
			sum[y*d+j] += c[y*d+j] - x[i*d+j]
		}
	}
	for j := 0; j < k; j++ {
		if n[j] == 0 {
			continue
		}
		for e := 0; e < d; e++ {
			v := c[j*d+e] - h.cfg.CenterLR*sum[j*d+e]/float64(1+n[j])
			if c64 != nil {
				c64[j*d+e] = v
			} else {
				c32[j*d+e] = float32(v)
			}
		}
	}
	return nil
}

// halfSquaredDistance returns ½||a_i − b_i||² (B) for a and b (B, D).
func halfSquaredDistance(a, b *G.Node) (*G.Node, error) {
	diff, err := G.Sub(a, b) // (B, D)
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(diff) // (B, D)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(sq, 1) // (B)
	if err != nil {
		return nil, err
	}
	return G.Mul(s, constant(a.Dtype(), 0.5)) // (B)
}

// halfMeanSquaredDistance returns 1/(2B) Σ_i ||x_i − c_{y_i}||² for x (B, D), onehot (B, K)
// and centres (K, D).
func halfMeanSquaredDistance(x, onehot, centers *G.Node) (*G.Node, error) {
	cy, err := G.Mul(onehot, centers) // (B, D) c_{y_i}
	if err != nil {
		return nil, err
	}
	per, err := halfSquaredDistance(x, cy) // (B)
	if err != nil {
		return nil, err
	}
	return G.Mean(per) // ()
}
