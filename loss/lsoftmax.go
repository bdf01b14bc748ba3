package loss

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// normEps guards the norms L-Softmax divides by: ||v|| is computed as √(Σv² + normEps).
const normEps = 1e-12

// LSoftmax is the large-margin softmax of Liu, Wen, Yu and Yang, "Large-Margin Softmax
// Loss for Convolutional Neural Networks", ICML 2016 (docs/heads.md). It asks the true
// class's angle to win by a factor m.
//
// For a sample with feature x (D) and label y, with W (D×K) and no bias, θ_k the angle
// between x and W[:,k] and cos θ_y = W_yᵀx / (||W_y||·||x||):
//
//	z_k   = W_kᵀx                                       logits (margin-free), k = 1..K
//	ψ(θ)  = (−1)^k·cos(mθ) − 2k   for θ ∈ [kπ/m, (k+1)π/m], k ∈ {0, …, m−1}
//	f_y   = (||W_y||·||x||·ψ(θ_y) + β·W_yᵀx) / (1 + β)
//	loss  = −log( exp(f_y) / (exp(f_y) + Σ_{k≠y} exp(z_k)) ), averaged over the batch
//
// cos(mθ) is the Chebyshev polynomial T_m(cos θ) (m = 2: 2c²−1; 3: 4c³−3c; 4: 8c⁴−8c²+1)
// and k is computed in the forward pass and held constant for the gradient, as in the
// paper's eq. 6–7. ψ is continuous and decreasing, so the gradient is correct at
// every θ except exactly on a segment boundary. Norms are √(Σv² + 1e-12), so a zero feature
// or weight column gives cos θ = 0 rather than a NaN. With m = 1, ψ(θ) = cos θ and f_y = z_y:
// the head is softmax without bias.
//
// Config fields: Classes is K, Dim is D, Margin is m (1–4), Beta is β's schedule, a graph
// input set by SetStep at every step: β_t = max(β_min, base·(1 + γt)^(−power)), with
// official MNIST values m = 4, base 1000, γ = 2.5e-5, power 35, β_min = 0 (β ≈ 421 at step
// 1000, 16 at 5000, 0.4 at 10000; CIFAR-10: m = 2, power 45). Without the annealing, m = 4
// often fails to train. Bias must be false.
//
// W starts from U(−1/√D, 1/√D) like Softmax's, drawn from the rng given to New; it is the
// only learnable. Logits are the plain z (the margin lives only in Loss); LogLik is the
// winning logit max_k z_k, as for softmax. Terms holds "xent", the margin cross-entropy,
// equal to Loss.
type LSoftmax struct {
	cfg   Config
	g     *G.ExprGraph
	w     *G.Node            // (D, K) "head.W"
	beta  *scalarInput       // () β
	sched map[string]float64 // SetStep's result, reused
}

var (
	_ Head         = (*LSoftmax)(nil)
	_ Scheduled    = (*LSoftmax)(nil)
	_ ParamOptions = (*LSoftmax)(nil)
)

// NewLSoftmax builds an L-Softmax head in g. Most callers want New(g, cfg, rng) with
// cfg.Name "lsoftmax".
func NewLSoftmax(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*LSoftmax, error) {
	cfg.Name = "lsoftmax"
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("lsoftmax head: %w", errors.Join(errs...))
	}
	if g == nil || rng == nil {
		return nil, errors.New("lsoftmax head: graph and rng must not be nil")
	}
	dt := cfg.dtype()
	h := &LSoftmax{cfg: cfg, g: g}
	h.w = newParam(g, dt, "head.W", uniform(rng, cfg.Dim*cfg.Classes, fanInBound(cfg.Dim)), cfg.Dim, cfg.Classes) // (D, K)
	h.beta = newScalarInput(g, dt, "beta", cfg.Beta.At(0, 0))
	return h, nil
}

// validateLSoftmax checks lsoftmax's own fields.
func (c Config) validateLSoftmax() []error {
	var errs []error
	if c.Margin < 1 || c.Margin > 4 {
		errs = append(errs, fmt.Errorf("head.margin must be 1, 2, 3 or 4 (got %d)", c.Margin))
	}
	if c.Bias {
		errs = append(errs, errors.New("head.bias must be false for lsoftmax (L-Softmax has no bias)"))
	}
	return append(errs, c.Beta.validate("head.beta")...)
}

// Name returns "lsoftmax".
func (h *LSoftmax) Name() string { return "lsoftmax" }

// Learnables returns W.
func (h *LSoftmax) Learnables() G.Nodes { return G.Nodes{h.w} }

// ParamOptions: W is an ordinary weight.
func (h *LSoftmax) ParamOptions() []ParamOpt { return []ParamOpt{{LRMult: 1}} }

// SetStep sets β from Config.Beta and returns {"beta": β}.
func (h *LSoftmax) SetStep(iter int, epoch float64) map[string]float64 {
	b := h.cfg.Beta.At(iter, epoch)
	h.beta.set(b)
	if h.sched == nil {
		h.sched = map[string]float64{}
	}
	h.sched["beta"] = b
	return h.sched
}

// Forward adds the logits and the margin cross-entropy for feat (B, D) and onehot (B, K).
// Every call shares W and β.
func (h *LSoftmax) Forward(feat, onehot *G.Node) (Out, error) {
	if err := checkInputs(h.g, h.cfg, feat, onehot); err != nil {
		return Out{}, fmt.Errorf("lsoftmax head: %w", err)
	}
	f, err := h.forward(feat, onehot)
	if err != nil {
		return Out{}, fmt.Errorf("lsoftmax head: %w", err)
	}
	return f, nil
}

func (h *LSoftmax) forward(feat, onehot *G.Node) (Out, error) {
	e := &expr{dt: h.cfg.dtype()}
	m := h.cfg.Margin

	z := e.bin("logits", G.Mul, feat, h.w)                                                         // (B, K) W_kᵀx
	zy := e.sum("target logit", e.bin("", G.HadamardProd, onehot, z), 1)                           // (B) W_yᵀx
	xx := e.sum("|x|²", e.un("", G.Square, feat), 1)                                               // (B) ||x||²
	nx := e.un("|x|", G.Sqrt, e.plus("", xx, normEps))                                             // (B) ||x||, guarded
	ww := e.sum("|W_k|²", e.un("", G.Square, h.w), 0)                                              // (K) ||W_k||²
	wy := e.bin("|W_y|²", G.Mul, onehot, ww)                                                       // (B) ||W_y||²
	nw := e.un("|W_y|", G.Sqrt, e.plus("", wy, normEps))                                           // (B) ||W_y||, guarded
	norms := e.bin("|W_y||x|", G.HadamardProd, nx, nw)                                             // (B)
	c := e.bin("cos θ", G.HadamardDiv, zy, norms)                                                  // (B) cos θ_y
	k := e.un("k", func(c *G.Node) (*G.Node, error) { return angleSegment(c, m, false) }, c)       // (B) constant
	sgn := e.un("(−1)^k", func(c *G.Node) (*G.Node, error) { return angleSegment(c, m, true) }, c) // (B) constant
	cosM := e.un("cos mθ", func(c *G.Node) (*G.Node, error) { return chebyshev(c, m) }, c)         // (B) T_m(cos θ_y)
	psi := e.bin("ψ", G.Sub, e.bin("", G.HadamardProd, sgn, cosM), e.scale("", k, 2))              // (B) ψ(θ_y)
	// f_y − z_y = (||W_y|| ||x|| ψ − z_y) / (1 + β): what the margin changes in the target logit.
	delta := e.bin("f_y − z_y", G.Sub, e.bin("", G.HadamardProd, norms, psi), zy)     // (B)
	delta = e.bin("f_y − z_y", G.HadamardDiv, delta, e.plus("1 + β", h.beta.node, 1)) // (B)
	shift := e.bcast("margin", G.BroadcastHadamardProd, onehot, delta, 1)             // (B, K) f_y − z_y at y, else 0
	zt := e.bin("margin logits", G.Add, z, shift)                                     // (B, K) z with z_y → f_y
	top := e.un("loglik", func(z *G.Node) (*G.Node, error) { return G.Max(z, 1) }, z) // (B) winning logit
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
	return Out{Loss: xent, Logits: z, Terms: map[string]*G.Node{"xent": xent}, LogLik: top}, nil
}

// chebyshev returns T_m(c) = cos(mθ) for c = cos θ, m in 1..4, elementwise.
func chebyshev(c *G.Node, m int) (*G.Node, error) {
	e := &expr{dt: c.Dtype()}
	var t *G.Node
	switch m {
	case 1:
		return c, nil
	case 2: // 2c² − 1
		t = e.plus("", e.scale("", e.un("", G.Square, c), 2), -1)
	case 3: // c(4c² − 3)
		t = e.bin("", G.HadamardProd, c, e.plus("", e.scale("", e.un("", G.Square, c), 4), -3))
	case 4: // 8c²(c² − 1) + 1
		c2 := e.un("", G.Square, c)
		t = e.plus("", e.scale("", e.bin("", G.HadamardProd, c2, e.plus("", c2, -1)), 8), 1)
	default:
		return nil, fmt.Errorf("margin m = %d is not in 1..4", m)
	}
	return t, e.err
}
