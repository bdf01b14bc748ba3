package experiment

import (
	"context"
	"fmt"
	"math"
	"time"

	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/data"
)

// EvalResult is the outcome of evaluating a network on a whole split.
type EvalResult struct {
	Wrong int     `json:"wrong"` // misclassified examples
	N     int     `json:"n"`     // examples evaluated: every one of the split
	Error float64 `json:"error"` // Wrong / N
	ImgS  float64 `json:"img_s"` // evaluation throughput
	// Loss is the mean cross-entropy of the margin-free logits (the
	// validation loss of metrics.jsonl).
	Loss float64 `json:"-"`
}

// evaluate runs the forward pass over every example of set in order, in
// batches of the session's size; the last partial batch is padded with zeros
// whose outputs are ignored. each, if not nil, is called for every example
// with its label, prediction and feature (valid only during the call).
func evaluate(ctx context.Context, ss *session, set *data.Set, each func(i, label, pred int, feat []float32) error) (EvalResult, error) {
	start := time.Now()
	b := ss.shape.B
	idx := make([]int, b)
	labels := make([]int, b)
	pred := make([]int, b)
	res := EvalResult{N: set.N}
	for lo := 0; lo < set.N; lo += b {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := min(b, set.N-lo)
		for i := 0; i < n; i++ {
			idx[i] = lo + i
		}
		ss.load(set, idx[:n], labels)
		if err := ss.runEval(); err != nil {
			return res, fmt.Errorf("evaluate %s: %w", set.Name, err)
		}
		ss.predictions(n, pred)
		res.Loss += crossEntropy(ss.logitsV.(*tensor.Dense).Float32s(), ss.shape.K, labels[:n]) // not Data(): its boxing allocates
		var feats []float32
		if each != nil {
			feats = ss.featV.(*tensor.Dense).Float32s()
		}
		d := len(feats) / b
		for i := 0; i < n; i++ {
			if pred[i] != labels[i] {
				res.Wrong++
			}
			if each != nil {
				if err := each(lo+i, labels[i], pred[i], feats[i*d:(i+1)*d]); err != nil {
					return res, err
				}
			}
		}
	}
	if res.N > 0 {
		res.Error = float64(res.Wrong) / float64(res.N)
		res.Loss /= float64(res.N)
	}
	res.ImgS = float64(res.N) / time.Since(start).Seconds()
	return res, nil
}

// crossEntropy is the summed −log softmax(z)_y over the first len(labels)
// rows of the (B, K) logits z, in float64.
func crossEntropy(logits []float32, k int, labels []int) float64 {
	sum := 0.0
	for i, y := range labels {
		row := logits[i*k : (i+1)*k]
		hi := float64(row[0])
		for _, v := range row {
			hi = max(hi, float64(v))
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(float64(v) - hi)
		}
		sum += hi + math.Log(z) - float64(row[y])
	}
	return sum
}
