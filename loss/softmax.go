package loss

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// Softmax is the baseline head: a linear layer followed by softmax cross-entropy, the
// "softmax" row of every table in the L-GM paper (Wan et al., CVPR 2018).
//
// For a sample with feature x (D) and label y, with W (D×K) and optional bias b (K):
//
//	z_k  = x·W[:,k] + b_k                      logits, k = 1..K
//	loss = -log( exp(z_y) / Σ_j exp(z_j) )     cross-entropy, averaged over the batch
//
// Config fields: Classes is K, Dim is D, Bias adds b (the center-loss paper's LeNet++,
// Wen et al., ECCV 2016, uses none). W and b start from U(-1/√D, 1/√D), PyTorch's
// default for nn.Linear, drawn from the rng given to New. The head has no margin, so
// Logits are z itself; LogLik is the winning logit max_k z_k, the only per-class score
// softmax has. There are no hyperparameters. W and b are learnables: they need an
// optimizer step like the network's weights.
type Softmax struct {
	cfg Config
	g   *G.ExprGraph
	w   *G.Node // (D, K) "head.W"
	b   *G.Node // (K) "head.b", nil without Config.Bias
}

var _ Head = (*Softmax)(nil)

// NewSoftmax builds a softmax head in g. Most callers want New(g, cfg, rng) with
// cfg.Name "softmax"; NewSoftmax ignores cfg.Name.
func NewSoftmax(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*Softmax, error) {
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("softmax head: %w", errors.Join(errs...))
	}
	if g == nil || rng == nil {
		return nil, errors.New("softmax head: graph and rng must not be nil")
	}
	dt := cfg.dtype()
	bound := fanInBound(cfg.Dim)
	h := &Softmax{cfg: cfg, g: g}
	h.w = newParam(g, dt, "head.W", uniform(rng, cfg.Dim*cfg.Classes, bound), cfg.Dim, cfg.Classes) // (D, K)
	if cfg.Bias {
		h.b = newParam(g, dt, "head.b", uniform(rng, cfg.Classes, bound), cfg.Classes) // (K)
	}
	return h, nil
}

// Name returns "softmax".
func (h *Softmax) Name() string { return "softmax" }

// Learnables returns W, then b when the head has a bias.
func (h *Softmax) Learnables() G.Nodes {
	if h.b == nil {
		return G.Nodes{h.w}
	}
	return G.Nodes{h.w, h.b}
}

// Forward adds logits and the cross-entropy loss for feat (B, D) and onehot (B, K).
// Terms holds "xent", equal to Loss. Forward may be called again (say for an evaluation
// batch of another size); every call shares W and b.
func (h *Softmax) Forward(feat, onehot *G.Node) (Out, error) {
	if err := checkInputs(h.g, h.cfg, feat, onehot); err != nil {
		return Out{}, fmt.Errorf("softmax head: %w", err)
	}
	logits, err := G.Mul(feat, h.w) // (B, K)
	if err != nil {
		return Out{}, fmt.Errorf("softmax head: logits: %w", err)
	}
	if h.b != nil {
		if logits, err = G.BroadcastAdd(logits, h.b, nil, []byte{0}); err != nil { // (B, K)
			return Out{}, fmt.Errorf("softmax head: bias: %w", err)
		}
	}
	top, logp, err := logSoftmax(logits)
	if err != nil {
		return Out{}, fmt.Errorf("softmax head: %w", err)
	}
	xent, err := crossEntropy(logp, onehot) // ()
	if err != nil {
		return Out{}, fmt.Errorf("softmax head: %w", err)
	}
	return Out{
		Loss:   xent,
		Logits: logits,
		Terms:  map[string]*G.Node{"xent": xent},
		LogLik: top,
	}, nil
}
