package report

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteAUROC counts the pairs a positive outscores, ties counting ½.
func bruteAUROC(pos, neg []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestROC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct{ pos, neg []float64 }{
		{[]float64{3, 2}, []float64{1, 2}},
		{[]float64{1, 1}, []float64{1, 1}},
		{[]float64{0}, []float64{1}},
	}
	for range 5 {
		var pos, neg []float64
		for range 40 {
			pos = append(pos, float64(rng.IntN(6)))
			neg = append(neg, float64(rng.IntN(6))-1)
		}
		cases = append(cases, struct{ pos, neg []float64 }{pos, neg})
	}
	for i, test := range cases {
		fpr, tpr, auc, err := ROC(test.pos, test.neg)
		if err != nil {
			t.Fatalf("case %v: %v", i, err)
		}
		if want := bruteAUROC(test.pos, test.neg); math.Abs(auc-want) > 1e-12 {
			t.Errorf("case %v: got AUROC %v, want %v", i, auc, want)
		}
		if fpr[0] != 0 || tpr[0] != 0 || fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
			t.Errorf("case %v: got a curve from (%v, %v) to (%v, %v), want (0, 0) to (1, 1)", i, fpr[0], tpr[0], fpr[len(fpr)-1], tpr[len(tpr)-1])
		}
	}
	if got := cases[0]; true {
		_, _, auc, _ := ROC(got.pos, got.neg)
		if auc != 0.875 {
			t.Errorf("hand-worked case: got %v, want 0.875", auc)
		}
	}
	if _, _, _, err := ROC(nil, []float64{1}); err == nil {
		t.Error("no positives: got no error, want one")
	}
}
