// Package attack holds adversarial attacks on image classifiers and the
// metrics of detecting adversarial inputs by a score.
//
// The attacks are untargeted and bounded in L∞ in pixel space: images are
// float32 values in [0, 1], before any input normalisation (which belongs to
// the model being attacked), so ε = 0.1 means a tenth of the pixel range, as
// in Goodfellow et al. and in Table 6 of Wan et al. (CVPR 2018). Every
// adversarial image x' satisfies |x' − x| ≤ ε elementwise and 0 ≤ x' ≤ 1.
//
//   - FGSM, the fast gradient sign method (Goodfellow, Shlens and Szegedy,
//     "Explaining and Harnessing Adversarial Examples", ICLR 2015):
//     x' = clip(x + ε·sign(∇ₓL(x, y)), 0, 1).
//   - BIM, the basic iterative method or I-FGSM (Kurakin, Goodfellow and
//     Bengio, "Adversarial Examples in the Physical World", 2016): Steps
//     steps of FGSM with step StepSize from x, each projected onto the ε-ball
//     around x and onto [0, 1].
//   - PGD, projected gradient descent (Madry et al., "Towards Deep Learning
//     Models Resistant to Adversarial Attacks", ICLR 2018): BIM from a
//     uniform random start in the ε-ball, Restarts times, keeping for each
//     image the worst case (misclassified first, then the highest loss).
//
// The package knows nothing of files, networks or graphs: a Model gives the
// logits and the gradient of a loss with respect to the pixels for a batch.
package attack

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a classifier under attack, seen in pixel space. A batch of n
// images is n·Size() float32 values (each image C×H×W, row-major) in [0, 1].
type Model interface {
	// Size is the number of values in one image.
	Size() int
	// Classes is the number of classes K.
	Classes() int
	// Gradient writes, for the n = len(y) images x with labels y, the
	// margin-free logits (n×K) and ∂L/∂x (n×Size), where L is a sum of one
	// loss term per image that grows as the image is classified worse (the
	// attack's loss). Only the sign and relative size within an image matter
	// to the attacks here.
	Gradient(x []float32, y []int, logits, grad []float32) error
}

// Method names an attack.
type Method string

// The attacks.
const (
	FGSM Method = "fgsm"
	BIM  Method = "bim"
	PGD  Method = "pgd"
)

// Methods lists the attack names, for messages and completion.
var Methods = []string{string(FGSM), string(BIM), string(PGD)}

// Config is one attack at one ε.
type Config struct {
	Method   Method
	Eps      float64 // L∞ radius in pixel units, >= 0
	Steps    int     // BIM, PGD: iterations, >= 1
	StepSize float64 // BIM, PGD: step per iteration, > 0 (for ε > 0)
	Restarts int     // PGD: random starts, >= 1
}

// Validate reports every problem of c at once, naming the flag that sets it.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.Eps) || c.Eps < 0 || c.Eps > 1 {
		errs = append(errs, fmt.Errorf("--eps must be in [0, 1] (pixel units; got %v)", c.Eps))
	}
	switch c.Method {
	case FGSM:
	case BIM, PGD:
		if c.Steps < 1 {
			errs = append(errs, fmt.Errorf("--steps must be >= 1 (got %d)", c.Steps))
		}
		if c.Eps > 0 && (!(c.StepSize > 0) || math.IsInf(c.StepSize, 0)) {
			errs = append(errs, fmt.Errorf("--step-size must be > 0 (got %v)", c.StepSize))
		}
		if c.Method == PGD && c.Restarts < 1 {
			errs = append(errs, fmt.Errorf("--restarts must be >= 1 (got %d)", c.Restarts))
		}
	default:
		errs = append(errs, fmt.Errorf("--method must be one of fgsm, bim, pgd (got %q)", c.Method))
	}
	return errors.Join(errs...)
}

// Buffers are the scratch arrays of an attack on batches of up to n images;
// reusing them keeps an attack loop free of allocations.
type Buffers struct {
	grad, logits, cur, best []float32
	bestLoss                []float64
	bestWrong               []bool
}

// NewBuffers returns scratch space for m's batches of up to n images.
func NewBuffers(m Model, n int) *Buffers {
	s, k := m.Size(), m.Classes()
	return &Buffers{
		grad: make([]float32, n*s), logits: make([]float32, n*k),
		cur: make([]float32, n*s), best: make([]float32, n*s),
		bestLoss: make([]float64, n), bestWrong: make([]bool, n),
	}
}

// Run writes into adv the adversarial versions of the n = len(y) clean images
// x (labels y) under c. rng draws PGD's random starts (other methods ignore
// it). grad, if not nil, is ∂L/∂x at the clean images as m.Gradient gives
// it: FGSM then needs no gradient of its own (several ε can share one).
func Run(m Model, c Config, x []float32, y []int, adv []float32, rng *rand.Rand, buf *Buffers, grad []float32) error {
	if err := c.Validate(); err != nil {
		return err
	}
	n, s := len(y), m.Size()
	if len(x) != n*s || len(adv) != n*s {
		return fmt.Errorf("attack: %d labels need %d pixel values in x and adv (got %d and %d)", n, n*s, len(x), len(adv))
	}
	if c.Eps == 0 {
		copy(adv, x)
		return nil
	}
	g, logits := buf.grad[:n*s], buf.logits[:n*m.Classes()]
	switch c.Method {
	case FGSM:
		if grad == nil {
			if err := m.Gradient(x, y, logits, g); err != nil {
				return err
			}
			grad = g
		}
		signStep(adv, x, grad, float32(c.Eps))
		project(adv, x, float32(c.Eps))
		return nil
	case BIM:
		copy(adv, x)
		return iterate(m, c, x, y, adv, g, logits)
	}
	// PGD: restarts from uniform points of the ε-ball, the worst case kept.
	cur, best := buf.cur[:n*s], buf.best[:n*s]
	bestLoss, bestWrong := buf.bestLoss[:n], buf.bestWrong[:n]
	k := m.Classes()
	for r := 0; r < c.Restarts; r++ {
		for i := range cur {
			cur[i] = x[i] + float32(c.Eps*(2*rng.Float64()-1))
		}
		project(cur, x, float32(c.Eps))
		if err := iterate(m, c, x, y, cur, g, logits); err != nil {
			return err
		}
		// The loss at the final point, from one more forward pass.
		if err := m.Gradient(cur, y, logits, g); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			loss, wrong := Xent(logits[i*k:(i+1)*k], y[i])
			if r == 0 || (wrong && !bestWrong[i]) || (wrong == bestWrong[i] && loss > bestLoss[i]) {
				bestLoss[i], bestWrong[i] = loss, wrong
				copy(best[i*s:(i+1)*s], cur[i*s:(i+1)*s])
			}
		}
	}
	copy(adv, best)
	return nil
}

// iterate takes c.Steps signed steps of c.StepSize from adv, projecting after
// each onto the ε-ball around x and onto [0, 1].
func iterate(m Model, c Config, x []float32, y []int, adv, g, logits []float32) error {
	for step := 0; step < c.Steps; step++ {
		if err := m.Gradient(adv, y, logits, g); err != nil {
			return err
		}
		signStep(adv, adv, g, float32(c.StepSize))
		project(adv, x, float32(c.Eps))
	}
	return nil
}

// signStep sets dst = from + h·sign(g) (sign 0 for g = 0).
func signStep(dst, from, g []float32, h float32) {
	for i, v := range g {
		switch {
		case v > 0:
			dst[i] = from[i] + h
		case v < 0:
			dst[i] = from[i] - h
		default:
			dst[i] = from[i]
		}
	}
}

// project clips adv onto [x − ε, x + ε] and then onto [0, 1], elementwise.
// x itself is in [0, 1], so the result is in both.
func project(adv, x []float32, eps float32) {
	for i, v := range adv {
		lo, hi := x[i]-eps, x[i]+eps
		v = min(max(v, lo), hi)
		adv[i] = min(max(v, 0), 1)
	}
}

// Xent returns the cross-entropy −log softmax(z)_y of one image's logits z
// with its label y (computed stably in float64), and whether the image is
// misclassified (argmax z ≠ y; the first maximum wins ties).
func Xent(z []float32, y int) (loss float64, wrong bool) {
	top, lse := logSumExp(z)
	return lse - float64(z[y]), top != y
}

// Posterior returns the largest softmax probability of logits z and its class.
func Posterior(z []float32) (p float64, class int) {
	top, lse := logSumExp(z)
	return math.Exp(float64(z[top]) - lse), top
}

// logSumExp returns the index of the largest logit (the first of equals)
// and log Σ exp(z), computed from the largest so that nothing overflows.
func logSumExp(z []float32) (top int, lse float64) {
	for j, v := range z {
		if v > z[top] {
			top = j
		}
	}
	m := float64(z[top])
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return top, m + math.Log(s)
}
