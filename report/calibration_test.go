package report

import (
	"math"
	"testing"
)

func TestCalibrate(t *testing.T) {
	for i, test := range []struct {
		probs                [][]float64
		labels               []int
		ece, mce, nll, brier float64
	}{
		{
			// Perfectly calibrated: all in one bin at confidence 0.8, 4 of 5 right.
			probs:  [][]float64{{0.8, 0.2}, {0.8, 0.2}, {0.8, 0.2}, {0.8, 0.2}, {0.8, 0.2}},
			labels: []int{0, 0, 0, 0, 1},
			ece:    0, mce: 0,
			nll:   -(4*math.Log(0.8) + math.Log(0.2)) / 5,
			brier: (4*(0.04+0.04) + (0.64 + 0.64)) / 5,
		},
		{
			// Perfectly calibrated in two bins: 0.6 (3 of 5 right) and 1.0 (all right).
			probs:  [][]float64{{0.6, 0.4}, {0.6, 0.4}, {0.6, 0.4}, {0.4, 0.6}, {0.4, 0.6}, {1, 0}, {0, 1}},
			labels: []int{0, 0, 0, 0, 0, 0, 1},
			ece:    0, mce: 0,
			nll:   -(3*math.Log(0.6) + 2*math.Log(0.4)) / 7,
			brier: (3*0.32 + 2*0.72) / 7,
		},
		{
			// Confident and wrong: the worst case.
			probs:  [][]float64{{1, 0}, {0, 1}},
			labels: []int{1, 0},
			ece:    1, mce: 1,
			nll:   -math.Log(ProbFloor),
			brier: 2,
		},
		{
			// 0.9 right (bin 14 of 15, gap 0.1) and 0.6 wrong (bin 9, gap 0.6).
			probs:  [][]float64{{0.9, 0.1, 0}, {0.3, 0.6, 0.1}},
			labels: []int{0, 2},
			ece:    0.5*0.1 + 0.5*0.6, mce: 0.6,
			nll:   -(math.Log(0.9) + math.Log(0.1)) / 2,
			brier: ((0.01 + 0.01) + (0.09 + 0.36 + 0.81)) / 2,
		},
	} {
		c, err := Calibrate(test.probs, test.labels, 0)
		if err != nil {
			t.Fatalf("case %v: %v", i, err)
		}
		for _, q := range []struct {
			name      string
			got, want float64
		}{{"ECE", c.ECE, test.ece}, {"MCE", c.MCE, test.mce}, {"NLL", c.NLL, test.nll}, {"Brier", c.Brier, test.brier}} {
			if math.Abs(q.got-q.want) > 1e-12 {
				t.Errorf("case %v: %s: got %v, want %v", i, q.name, q.got, q.want)
			}
		}
		n := 0
		for _, b := range c.Bins {
			n += b.N
		}
		if len(c.Bins) != CalibrationBins || n != len(test.probs) {
			t.Errorf("case %v: got %d bins holding %d examples, want %d holding %d", i, len(c.Bins), n, CalibrationBins, len(test.probs))
		}
	}
}

func TestCalibrateBinEdges(t *testing.T) {
	// A confidence exactly on an edge belongs to the bin below: (Lo, Hi].
	c, err := Calibrate([][]float64{{2.0 / 3, 1.0 / 3}, {0.5, 0.5}}, []int{0, 0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for b, want := range []int{0, 2, 0} {
		if c.Bins[b].N != want {
			t.Errorf("case %v: got %d examples, want %d", b, c.Bins[b].N, want)
		}
	}
}

func TestCalibrateErrors(t *testing.T) {
	for i, test := range []struct {
		probs  [][]float64
		labels []int
	}{
		{nil, nil},
		{[][]float64{{1, 0}}, []int{0, 1}},
		{[][]float64{{1, 0}}, []int{2}},
	} {
		if _, err := Calibrate(test.probs, test.labels, 0); err == nil {
			t.Errorf("case %v: got no error, want one", i)
		}
	}
}

func TestTopKError(t *testing.T) {
	probs := [][]float64{{0.5, 0.3, 0.2}, {0.5, 0.3, 0.2}, {0.5, 0.3, 0.2}}
	for i, test := range []struct {
		k    int
		want float64
	}{{1, 2.0 / 3}, {2, 1.0 / 3}, {3, 0}} {
		if got := TopKError(probs, []int{0, 1, 2}, test.k); math.Abs(got-test.want) > 1e-12 {
			t.Errorf("case %v: got %v, want %v", i, got, test.want)
		}
	}
}

func TestSoftmax(t *testing.T) {
	p := Softmax([][]float64{{1000, 1000}, {0, math.Log(3)}})
	for i, want := range [][]float64{{0.5, 0.5}, {0.25, 0.75}} {
		for k := range want {
			if math.Abs(p[i][k]-want[k]) > 1e-12 {
				t.Errorf("case %v: got %v, want %v", i, p[i], want)
			}
		}
	}
}
