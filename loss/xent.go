package loss

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// logSoftmax returns the row maxima top (B) and the log-probabilities logp (B, K) of
// logits z (B, K), computed stably:
//
//	logp_k = (z_k - m) - log Σ_j exp(z_j - m),   m = max_j z_j
//
// Every exponent is <= 0 and the sum is in [1, K], so neither overflows nor takes the log
// of 0, however large |z| is. The result does not depend on m, so the gradient that flows
// into m cancels exactly (Σ_k ∂logp/∂m = 0 per output); Gorgonia still differentiates
// through Max, which adds only rounding noise to the argmax entries.
func logSoftmax(z *G.Node) (top, logp *G.Node, err error) {
	if top, err = G.Max(z, 1); err != nil { // (B)
		return nil, nil, fmt.Errorf("log-softmax: max: %w", err)
	}
	shifted, err := G.BroadcastSub(z, top, nil, []byte{1}) // (B, K), <= 0
	if err != nil {
		return nil, nil, fmt.Errorf("log-softmax: shift: %w", err)
	}
	e, err := G.Exp(shifted) // (B, K), in (0, 1]
	if err != nil {
		return nil, nil, fmt.Errorf("log-softmax: exp: %w", err)
	}
	s, err := G.Sum(e, 1) // (B), in [1, K]
	if err != nil {
		return nil, nil, fmt.Errorf("log-softmax: sum: %w", err)
	}
	lse, err := G.Log(s) // (B)
	if err != nil {
		return nil, nil, fmt.Errorf("log-softmax: log: %w", err)
	}
	if logp, err = G.BroadcastSub(shifted, lse, nil, []byte{1}); err != nil { // (B, K)
		return nil, nil, fmt.Errorf("log-softmax: normalise: %w", err)
	}
	return top, logp, nil
}

// CrossEntropy returns the batch mean of the cross-entropy −log softmax(z)_y of
// logits z (B, K) with one-hot labels onehot (B, K), as a scalar node: the
// loss of a plain classifier with these logits. A row of onehot that is all
// zero (padding) adds 0. Attacks use it on a head's margin-free logits.
func CrossEntropy(z, onehot *G.Node) (*G.Node, error) {
	_, logp, err := logSoftmax(z)
	if err != nil {
		return nil, err
	}
	return crossEntropy(logp, onehot)
}

// crossEntropy returns the batch mean of -Σ_k onehot_k·logp_k for logp and onehot (B, K).
func crossEntropy(logp, onehot *G.Node) (*G.Node, error) {
	picked, err := G.HadamardProd(onehot, logp) // (B, K)
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	perSample, err := G.Sum(picked, 1) // (B)
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	mean, err := G.Mean(perSample) // ()
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	xent, err := G.Neg(mean) // ()
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	return xent, nil
}
