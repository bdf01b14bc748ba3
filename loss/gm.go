package loss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Covariance models (Config.Covariance) and likelihood terms (Config.Likelihood) of GM.
const (
	CovIdentity        = "identity"
	CovIsotropic       = "isotropic"
	CovDiagonal        = "diagonal"
	LikelihoodOfficial = "official"
	LikelihoodPaper    = "paper"
)

// GM is the Gaussian-mixture loss and, with a margin α > 0, the large-margin GM (L-GM)
// loss of Wan, Zhong, Li and Chen, "Rethinking Feature Distribution for Loss Functions in
// Image Classification", CVPR 2018 (docs/heads.md). Features are modelled as a mixture
// of K Gaussians N(μ_k, Σ_k) with equal priors p(k) = 1/K; head "gm" is α = 0, "lgm" has
// α from Config.Alpha.
//
// For a sample with feature x (D) and label y:
//
//	d_k    = ½ (x − μ_k)ᵀ Σ_k⁻¹ (x − μ_k)
//	z_k    = −d_k − ½ log|Σ_k| + log p(k)                 logits (margin-free); the log-det
//	                                                       term only with Config.LogDet
//	z'_k   = z_k − 1(k = y)·α·d_y                          training logits: d_y counts 1+α times
//	L_cls  = −log( exp(z'_y) / Σ_k exp(z'_k) )             term "xent"
//	L_lkd  = −log N(x; μ_y, Σ_y)                           "paper": d_y + ½ log|Σ_y| + ½ D log 2π
//	       = ½ ||x − μ_y||²                                "official": Euclidean whatever Σ
//	loss   = mean over the batch of L_cls + λ·L_lkd        term "lkd" is the mean of L_lkd
//
// With α = 0, identity covariance and equal priors the logits are −½||x − μ_k||² − log K,
// and (the paper's Lemma 1) the summed "paper" L_lkd equals center loss's ½Σ||x − μ_y||²
// plus N·½·D·log 2π.
//
// Config fields: Classes is K, Dim is D, Alpha is α and Lambda is λ (both schedules, graph
// inputs set by SetStep at every step), Covariance picks Σ_k (identity; isotropic σ_k² I
// with one learned log σ_k² per class; diagonal with a learned log-variance per class and
// dimension), LogDet adds the −½ log|Σ_k| term to the logits (the paper has it, the
// official code does not; "paper" L_lkd always has it), Likelihood picks L_lkd,
// LogVarFloor floors the log-variances (in forward, and PostStep projects the parameters
// onto it), VarLRMult is their learning-rate multiplier and MeansNoDecay exempts the
// means from weight decay. Reference settings (docs/references.md): authors' later MNIST
// code α = 1, λ = 0.1, both warmed up over 5 epochs from 10% / 1%, identity covariance;
// official CIFAR-100 α 0.1 ×2 every 5000 steps up to 0.3, λ = 0.1, σ fixed at 1; TF demo
// α = 0.1, λ = 0.01; authors' later CIFAR-10 code α = 0.3, λ = 0.1.
//
// The official Caffe layer differs from the paper: logits −½ d_k / σ_k with no log-det,
// a margin applied as z_y(1+α) (the same as here when log-det is off), and a likelihood
// term that exists only as the gradient (λ/B)(x − μ_y), absent from its logged loss.
// Here L_lkd is always part of Loss and of Terms.
//
// The means ("head.means", K×D) start from N(0, 2/D), what PyTorch's kaiming_normal_
// gives a (K, D) tensor (fan-in D, gain √2), drawn from the rng given to New; they get
// weight decay unless MeansNoDecay, as in the official CIFAR code. Learned log-variances
// ("head.logvar", (K) isotropic or (K, D) diagonal) start at 0 (σ = 1), never get weight
// decay and learn at VarLRMult times the learning rate. Priors are fixed.
//
// Logits never see the labels or α. LogLik is log N(x; μ_ŷ, Σ_ŷ) under the predicted
// class ŷ = argmax_k z_k, with its log-det and −½ D log 2π whatever LogDet says; with
// identity covariance, −½||x − μ_ŷ||² − ½ D log 2π, the log of the paper's
// exp(−||x − μ_ŷ||²/2) score up to a constant.
type GM struct {
	cfg    Config
	g      *G.ExprGraph
	means  *G.Node            // (K, D) "head.means"
	logvar *G.Node            // (K) isotropic or (K, D) diagonal "head.logvar"; nil for identity
	alpha  *scalarInput       // () α; nil for gm
	lambda *scalarInput       // () λ
	sched  map[string]float64 // SetStep's result, reused
}

var (
	_ Head         = (*GM)(nil)
	_ Scheduled    = (*GM)(nil)
	_ ParamOptions = (*GM)(nil)
	_ PostStepper  = (*GM)(nil)
	_ Floored      = (*GM)(nil)
)

// NewGM builds a GM head ("gm", α = 0) or an L-GM head ("lgm") in g, as cfg.Name says.
// Most callers want New(g, cfg, rng).
func NewGM(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*GM, error) {
	if cfg.Name != "gm" && cfg.Name != "lgm" {
		return nil, fmt.Errorf("gm head: name must be gm or lgm (got %q)", cfg.Name)
	}
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("%s head: %w", cfg.Name, errors.Join(errs...))
	}
	if g == nil || rng == nil {
		return nil, fmt.Errorf("%s head: graph and rng must not be nil", cfg.Name)
	}
	if cfg.Covariance == "" {
		cfg.Covariance = CovIdentity
	}
	if cfg.Likelihood == "" {
		cfg.Likelihood = LikelihoodOfficial
	}
	dt := cfg.dtype()
	k, d := cfg.Classes, cfg.Dim
	h := &GM{cfg: cfg, g: g}
	h.means = newParam(g, dt, "head.means", normal(rng, k*d, math.Sqrt(2/float64(d))), k, d) // (K, D)
	switch cfg.Covariance {
	case CovIsotropic:
		h.logvar = newParam(g, dt, "head.logvar", make([]float64, k), k) // (K)
	case CovDiagonal:
		h.logvar = newParam(g, dt, "head.logvar", make([]float64, k*d), k, d) // (K, D)
	}
	if cfg.Name == "lgm" {
		h.alpha = newScalarInput(g, dt, "alpha", cfg.Alpha.At(0, 0))
	}
	h.lambda = newScalarInput(g, dt, "lambda", cfg.Lambda.At(0, 0))
	return h, nil
}

// validateGM checks the fields of gm and lgm.
func (c Config) validateGM() []error {
	errs := c.Lambda.validate("head.lambda")
	if c.Name == "gm" {
		if !c.Alpha.constantAt(0) {
			errs = append(errs, fmt.Errorf("head.alpha must be 0 for gm (got %+v); use head lgm for a margin", c.Alpha))
		}
	} else {
		errs = append(errs, c.Alpha.validate("head.alpha")...)
	}
	if c.Bias {
		errs = append(errs, fmt.Errorf("head.bias must be false for %s (GM has no bias)", c.Name))
	}
	switch c.Covariance {
	case "", CovIdentity:
	case CovIsotropic, CovDiagonal:
		if math.IsNaN(c.LogVarFloor) || math.IsInf(c.LogVarFloor, 0) {
			errs = append(errs, fmt.Errorf("head.logvar_floor must be a finite number (got %v)", c.LogVarFloor))
		}
		if !(c.VarLRMult > 0) || math.IsInf(c.VarLRMult, 0) {
			errs = append(errs, fmt.Errorf("head.var_lr_mult must be > 0 with a learned covariance (got %v); 0.1 is the default", c.VarLRMult))
		}
	default:
		errs = append(errs, fmt.Errorf("head.covariance must be one of %s, %s, %s (got %q)", CovIdentity, CovIsotropic, CovDiagonal, c.Covariance))
	}
	switch c.Likelihood {
	case "", LikelihoodOfficial, LikelihoodPaper:
	default:
		errs = append(errs, fmt.Errorf("head.likelihood must be %q or %q (got %q)", LikelihoodPaper, LikelihoodOfficial, c.Likelihood))
	}
	return errs
}

// Name returns "gm" or "lgm".
func (h *GM) Name() string { return h.cfg.Name }

// Learnables returns the means, then the log-variances with a learned covariance.
func (h *GM) Learnables() G.Nodes {
	if h.logvar == nil {
		return G.Nodes{h.means}
	}
	return G.Nodes{h.means, h.logvar}
}

// ParamOptions: the means at the base learning rate, decayed unless MeansNoDecay; the
// log-variances at VarLRMult, never decayed.
func (h *GM) ParamOptions() []ParamOpt {
	opts := []ParamOpt{{LRMult: 1, NoWD: h.cfg.MeansNoDecay}}
	if h.logvar != nil {
		opts = append(opts, ParamOpt{LRMult: h.cfg.VarLRMult, NoWD: true})
	}
	return opts
}

// SetStep sets λ (and α for lgm) from their schedules and returns {"lambda": λ} (and
// "alpha": α).
func (h *GM) SetStep(iter int, epoch float64) map[string]float64 {
	lam := h.cfg.Lambda.At(iter, epoch)
	h.lambda.set(lam)
	if h.sched == nil {
		h.sched = map[string]float64{}
	}
	h.sched["lambda"] = lam
	if h.alpha != nil {
		a := h.cfg.Alpha.At(iter, epoch)
		h.alpha.set(a)
		h.sched["alpha"] = a
	}
	return h.sched
}

// floor is LogVarFloor rounded to the head's dtype, so that a float32 parameter projected
// onto it compares equal to it.
func (h *GM) floor() float64 {
	if h.cfg.dtype() == tensor.Float32 {
		return float64(float32(h.cfg.LogVarFloor))
	}
	return h.cfg.LogVarFloor
}

// PostStep projects the log-variances onto [LogVarFloor, ∞) after a solver step. The
// forward pass floors them anyway; the projection keeps the parameter where its gradient
// is alive. Without a learned covariance it does nothing.
func (h *GM) PostStep() error {
	if h.logvar == nil {
		return nil
	}
	f := h.floor()
	v32, v64, err := paramData(h.logvar)
	if err != nil {
		return fmt.Errorf("%s head: %w", h.cfg.Name, err)
	}
	for i, v := range v32 {
		if float64(v) < f || v != v {
			v32[i] = float32(f)
		}
	}
	for i, v := range v64 {
		if v < f || v != v {
			v64[i] = f
		}
	}
	return nil
}

// AtFloor reports whether any log-variance is at (or below) LogVarFloor.
func (h *GM) AtFloor() (string, bool) {
	if h.logvar == nil {
		return "", false
	}
	vals, err := floats64(h.logvar.Value())
	if err != nil {
		return "", false
	}
	f := h.floor()
	n, first := 0, -1
	for i, v := range vals {
		if v <= f {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if n == 0 {
		return "", false
	}
	where := fmt.Sprintf("class %d", first)
	if h.cfg.Covariance == CovDiagonal {
		where = fmt.Sprintf("class %d, dim %d", first/h.cfg.Dim, first%h.cfg.Dim)
	}
	return fmt.Sprintf("head.logvar: %d of %d at the floor %.4g (first: %s)", n, len(vals), h.cfg.LogVarFloor, where), true
}

// Forward adds the logits, the loss and the terms "xent" and "lkd" for feat (B, D) and
// onehot (B, K). Every call shares the means, log-variances, α and λ.
func (h *GM) Forward(feat, onehot *G.Node) (Out, error) {
	if err := checkInputs(h.g, h.cfg, feat, onehot); err != nil {
		return Out{}, fmt.Errorf("%s head: %w", h.cfg.Name, err)
	}
	out, err := h.forward(feat, onehot)
	if err != nil {
		return Out{}, fmt.Errorf("%s head: %w", h.cfg.Name, err)
	}
	return out, nil
}

func (h *GM) forward(feat, onehot *G.Node) (Out, error) {
	e := &expr{dt: h.cfg.dtype()}
	k, d := h.cfg.Classes, h.cfg.Dim
	halfDLog2Pi := 0.5 * float64(d) * math.Log(2*math.Pi)

	var v *G.Node // (K) or (K, D) floored log-variances; nil for identity
	if h.logvar != nil {
		v = e.un("log-variance floor", func(x *G.Node) (*G.Node, error) { return floorAt(x, h.floor()) }, h.logvar)
	}

	// Logits z (B, K), by expanding the squares into matrix products.
	mT := e.un("μᵀ", func(x *G.Node) (*G.Node, error) { return G.Transpose(x) }, h.means) // (D, K)
	var dist *G.Node                                                                      // (B, K) d_k
	switch h.cfg.Covariance {
	case CovIdentity, CovIsotropic:
		xx := e.sum("|x|²", e.un("", G.Square, feat), 1)          // (B)
		mm := e.sum("|μ_k|²", e.un("", G.Square, h.means), 1)     // (K)
		sq := e.scale("−2 xᵀμ_k", e.bin("", G.Mul, feat, mT), -2) // (B, K)
		sq = e.bcast("|x − μ_k|²", G.BroadcastAdd, sq, xx, 1)     // (B, K)
		sq = e.bcast("|x − μ_k|²", G.BroadcastAdd, sq, mm, 0)     // (B, K) ||x − μ_k||²
		dist = e.scale("d_k", sq, 0.5)                            // (B, K)
		if h.cfg.Covariance == CovIsotropic {
			prec := e.un("1/σ_k²", G.Exp, e.un("", G.Neg, v))             // (K)
			dist = e.bcast("d_k", G.BroadcastHadamardProd, dist, prec, 0) // (B, K)
		}
	case CovDiagonal:
		prec := e.un("Σ_k⁻¹", G.Exp, e.un("", G.Neg, v))                                    // (K, D)
		pm := e.bin("Σ_k⁻¹μ_k", G.HadamardProd, prec, h.means)                              // (K, D)
		t1 := e.bin("xᵀΣ_k⁻¹x", G.Mul, e.un("", G.Square, feat), e.un("", transpose, prec)) // (B, K)
		t2 := e.scale("−2 xᵀΣ_k⁻¹μ_k", e.bin("", G.Mul, feat, e.un("", transpose, pm)), -2) // (B, K)
		t3 := e.sum("μ_kᵀΣ_k⁻¹μ_k", e.bin("", G.HadamardProd, pm, h.means), 1)              // (K)
		dist = e.bcast("", G.BroadcastAdd, e.bin("", G.Add, t1, t2), t3, 0)                 // (B, K)
		dist = e.scale("d_k", dist, 0.5)                                                    // (B, K)
	}
	z := e.plus("logits", e.un("", G.Neg, dist), -math.Log(float64(k))) // (B, K) −d_k + log p(k)
	if h.cfg.LogDet && v != nil {
		ld := h.logDet(e, v)                                               // (K) log|Σ_k|
		z = e.bcast("log-det", G.BroadcastSub, z, e.scale("", ld, 0.5), 0) // (B, K)
	}

	// The true class's distance, direct (no expanded squares), for the margin and L_lkd.
	dy, ldy, euc := h.classTerms(e, feat, onehot, v) // (B) d_y, (B) log|Σ_y| or nil, (B) ½||x − μ_y||²
	zt := z                                          // (B, K)
	if h.alpha != nil {
		shift := e.bcast("margin", G.BroadcastHadamardProd, onehot, dy, 1) // (B, K) d_y at y, else 0
		shift = e.bin("α·d_y", G.Mul, h.alpha.node, shift)                 // (B, K)
		zt = e.bin("margin logits", G.Sub, z, shift)                       // (B, K)
	}
	var lkdPer *G.Node // (B) L_lkd per sample
	if h.cfg.Likelihood == LikelihoodPaper {
		lkdPer = dy
		if ldy != nil {
			lkdPer = e.bin("", G.Add, lkdPer, e.scale("", ldy, 0.5))
		}
		lkdPer = e.plus("−log N(x; μ_y, Σ_y)", lkdPer, halfDLog2Pi) // (B)
	} else {
		lkdPer = euc
	}
	lkd := e.un("lkd", func(x *G.Node) (*G.Node, error) { return G.Mean(x) }, lkdPer) // ()

	// LogLik under the predicted class: log N(x; μ_ŷ, Σ_ŷ).
	pred := e.un("prediction", argmaxOneHot, z)  // (B, K)
	dh, ldh, _ := h.classTerms(e, feat, pred, v) // (B), (B) or nil
	nll := dh
	if ldh != nil {
		nll = e.bin("", G.Add, nll, e.scale("", ldh, 0.5))
	}
	loglik := e.un("loglik", G.Neg, e.plus("", nll, halfDLog2Pi)) // (B)
	if e.err != nil {
		return Out{}, e.err
	}

	_, logp, err := logSoftmax(zt) // (B, K)
	if err != nil {
		return Out{}, err
	}
	xent, err := crossEntropy(logp, onehot) // ()
	if err != nil {
		return Out{}, err
	}
	loss := e.bin("loss", G.Add, xent, e.bin("λ·lkd", G.Mul, h.lambda.node, lkd)) // ()
	if e.err != nil {
		return Out{}, e.err
	}
	return Out{
		Loss:   loss,
		Logits: z,
		Terms:  map[string]*G.Node{"xent": xent, "lkd": lkd},
		LogLik: loglik,
	}, nil
}

// logDet returns log|Σ_k| (K) from the floored log-variances v: D·v_k isotropic, Σ_j v_kj
// diagonal.
func (h *GM) logDet(e *expr, v *G.Node) *G.Node {
	if h.cfg.Covariance == CovIsotropic {
		return e.scale("log|Σ_k|", v, float64(h.cfg.Dim)) // (K)
	}
	return e.sum("log|Σ_k|", v, 1) // (K)
}

// classTerms returns, for each sample and the class sel (B, K) picks (one-hot rows), the
// Mahalanobis half-distance d (B), the log-determinant log|Σ| (B) (nil for identity
// covariance) and the Euclidean ½||x − μ||² (B), all computed from x − μ directly.
func (h *GM) classTerms(e *expr, feat, sel, v *G.Node) (dist, logdet, euc *G.Node) {
	mu := e.bin("μ_y", G.Mul, sel, h.means)                     // (B, D)
	sq := e.un("", G.Square, e.bin("x − μ_y", G.Sub, feat, mu)) // (B, D)
	euc = e.scale("½|x − μ_y|²", e.sum("", sq, 1), 0.5)         // (B)
	switch h.cfg.Covariance {
	case CovIsotropic:
		vy := e.bin("log σ_y²", G.Mul, sel, v)                                         // (B)
		dist = e.bin("d_y", G.HadamardProd, euc, e.un("", G.Exp, e.un("", G.Neg, vy))) // (B)
		logdet = e.scale("log|Σ_y|", vy, float64(h.cfg.Dim))                           // (B)
	case CovDiagonal:
		vy := e.bin("log Σ_y", G.Mul, sel, v)                                    // (B, D)
		w := e.bin("", G.HadamardProd, sq, e.un("", G.Exp, e.un("", G.Neg, vy))) // (B, D)
		dist = e.scale("d_y", e.sum("", w, 1), 0.5)                              // (B)
		logdet = e.sum("log|Σ_y|", vy, 1)                                        // (B)
	default:
		dist = euc
	}
	return dist, logdet, euc
}

// transpose is G.Transpose of a matrix.
func transpose(x *G.Node) (*G.Node, error) { return G.Transpose(x) }
