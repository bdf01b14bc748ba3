package attack

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteAUROC counts every pair: positive above negative 1, tie ½.
func bruteAUROC(pos, neg []float64) float64 {
	var u float64
	for _, p := range pos {
		for _, q := range neg {
			switch {
			case p > q:
				u++
			case p == q:
				u += 0.5
			}
		}
	}
	return u / float64(len(pos)*len(neg))
}

// bruteAccuracy tries every threshold among the scores and +Inf.
func bruteAccuracy(pos, neg []float64) float64 {
	ts := append(append([]float64{math.Inf(1)}, pos...), neg...)
	best := 0
	for _, t := range ts {
		right := 0
		for _, p := range pos {
			if p >= t {
				right++
			}
		}
		for _, q := range neg {
			if q < t {
				right++
			}
		}
		best = max(best, right)
	}
	return float64(best) / float64(len(pos)+len(neg))
}

func smallScores(rng *rand.Rand, n, levels int, shift float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(rng.IntN(levels)) + shift // few levels: many ties
	}
	return v
}

func TestAUROCAndAccuracyAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for c := 0; c < 200; c++ {
		pos := smallScores(rng, 1+rng.IntN(12), 1+rng.IntN(6), float64(rng.IntN(3)))
		neg := smallScores(rng, 1+rng.IntN(12), 1+rng.IntN(6), 0)
		if got, want := AUROC(pos, neg), bruteAUROC(pos, neg); math.Abs(got-want) > 1e-12 {
			t.Errorf("case %d AUROC(%v, %v): got %v, want %v", c, pos, neg, got, want)
		}
		if got, want := DetectionAccuracy(pos, neg), bruteAccuracy(pos, neg); math.Abs(got-want) > 1e-12 {
			t.Errorf("case %d DetectionAccuracy(%v, %v): got %v, want %v", c, pos, neg, got, want)
		}
	}
	if got := AUROC([]float64{3, 4}, []float64{1, 2}); got != 1 {
		t.Errorf("separated: got %v, want 1", got)
	}
	if got := AUROC([]float64{1, 1}, []float64{1}); got != 0.5 {
		t.Errorf("all tied: got %v, want 0.5", got)
	}
	if !math.IsNaN(AUROC(nil, []float64{1})) {
		t.Errorf("no positives: want NaN")
	}
}

// TestTNRAtTPRHandWorked: 20 positives 1…20; 95 % of them are >= 2 (19 of
// 20), so t = 2; of the negatives 0.5, 1, 1.5, 2, 3, the three below 2 are
// rejected: TNR 0.6. With a tie at the threshold (two positives at 2), t is
// still 2.
func TestTNRAtTPRHandWorked(t *testing.T) {
	pos := make([]float64, 20)
	for i := range pos {
		pos[i] = float64(i + 1)
	}
	neg := []float64{3, 0.5, 2, 1, 1.5}
	if got := TNRAtTPR(pos, neg, 0.95); got != 0.6 {
		t.Errorf("got %v, want 0.6", got)
	}
	// TPR 1: t is the smallest positive, 1; only 0.5 is below.
	if got := TNRAtTPR(pos, neg, 1); got != 0.2 {
		t.Errorf("tpr 1: got %v, want 0.2", got)
	}
	// 10 positives: 5 % of 10 is 0.5, so none may fall below t = 1.
	if got := TNRAtTPR(pos[:10], neg, 0.95); got != 0.2 {
		t.Errorf("10 positives: got %v, want 0.2", got)
	}
	tied := append([]float64{2}, pos...)
	if got := TNRAtTPR(tied, neg, 0.95); got != 0.6 {
		t.Errorf("tie at the threshold: got %v, want 0.6", got)
	}
}
