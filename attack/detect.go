package attack

import (
	"math"
	"slices"
)

// Detection metrics for telling clean inputs (positives) from adversarial
// ones (negatives) by a score that is higher for clean inputs: the head's
// log-likelihood under its predicted class, or the largest posterior. Scores
// must not be NaN.

// AUROC is the area under the ROC curve: the probability that a random
// positive scores higher than a random negative, ties counting ½ (the
// Mann–Whitney U statistic over len(pos)·len(neg) pairs). NaN if either is
// empty.
func AUROC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	p, q := sorted(pos), sorted(neg)
	// For each positive, count the negatives below it and equal to it.
	var u float64
	lo, hi := 0, 0 // q[:lo] < v, q[:hi] <= v
	for _, v := range p {
		for lo < len(q) && q[lo] < v {
			lo++
		}
		if hi < lo {
			hi = lo
		}
		for hi < len(q) && q[hi] <= v {
			hi++
		}
		u += float64(lo) + 0.5*float64(hi-lo)
	}
	return u / (float64(len(p)) * float64(len(q)))
}

// TNRAtTPR is the fraction of negatives rejected (score < t) at the highest
// threshold t that accepts (score >= t) at least the fraction tpr of the
// positives — "TNR at 95 % TPR" for tpr = 0.95. NaN if either is empty.
func TNRAtTPR(pos, neg []float64, tpr float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	p := sorted(pos)
	// At most k positives may fall below t: t = p[k], the (k+1)-th smallest.
	k := int(math.Floor((1 - tpr) * float64(len(p)) * (1 + 1e-12)))
	k = min(max(k, 0), len(p)-1)
	t := p[k]
	rejected := 0
	for _, v := range neg {
		if v < t {
			rejected++
		}
	}
	return float64(rejected) / float64(len(neg))
}

// DetectionAccuracy is the best accuracy of a threshold rule "clean if
// score >= t" over every t, counting positives and negatives alike:
// max_t (#pos >= t + #neg < t) / (len(pos) + len(neg)). NaN if both are empty.
func DetectionAccuracy(pos, neg []float64) float64 {
	n := len(pos) + len(neg)
	if n == 0 {
		return math.NaN()
	}
	p, q := sorted(pos), sorted(neg)
	// Thresholds: every score, and +Inf (everything called adversarial).
	best := len(q) // t = +Inf: all negatives right
	i, j := 0, 0   // p[:i] < t, q[:j] < t
	for _, t := range distinct(p, q) {
		for i < len(p) && p[i] < t {
			i++
		}
		for j < len(q) && q[j] < t {
			j++
		}
		best = max(best, (len(p)-i)+j)
	}
	return float64(best) / float64(n)
}

func sorted(v []float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}

// distinct returns the distinct values of the sorted slices a and b, sorted.
func distinct(a, b []float64) []float64 {
	out := make([]float64, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
