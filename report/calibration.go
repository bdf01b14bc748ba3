package report

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CalibrationBins is the number of equal-width confidence bins of the ECE,
// the usual choice since Guo et al., "On Calibration of Modern Neural
// Networks", ICML 2017.
const CalibrationBins = 15

// Bin is one confidence bin of a reliability diagram.
type Bin struct {
	Lo, Hi     float64 // the bin is (Lo, Hi]; the first also holds 0
	N          int     // examples whose largest posterior falls in it
	Confidence float64 // their mean largest posterior
	Accuracy   float64 // the fraction of them predicted right
}

// Calibration says how well a classifier's posteriors match its accuracy.
type Calibration struct {
	N int
	// ECE is the expected calibration error Σ_b |B_b|/N · |acc(B_b) − conf(B_b)|
	// over equal-width bins of the largest posterior (Naeini et al. 2015;
	// Guo et al. 2017).
	ECE float64
	// MCE is the maximum calibration error: max_b |acc(B_b) − conf(B_b)| over
	// non-empty bins.
	MCE float64
	// NLL is the mean negative log posterior of the true class, −(1/N) Σ log p_y
	// (posteriors below 1e-12 count as 1e-12, so one confident mistake is
	// large but finite).
	NLL float64
	// Brier is the multi-class Brier score (1/N) Σ_i Σ_k (p_ik − 1[k = y_i])²,
	// from 0 (perfect) to 2.
	Brier float64
	// Bins of the reliability diagram.
	Bins []Bin
}

// Binned says whether c has the bins of a reliability diagram: Calibrate's
// result has them; the figures a published run's eval.json recorded do not.
func (c *Calibration) Binned() bool { return len(c.Bins) > 0 }

// ProbFloor is the smallest posterior NLL takes the log of.
const ProbFloor = 1e-12

// Calibrate computes the calibration metrics of posteriors probs (N rows of
// K, each summing to 1) against labels, with bins equal-width confidence
// bins (CalibrationBins when 0). The prediction is each row's argmax, the
// first one on ties.
func Calibrate(probs [][]float64, labels []int, bins int) (Calibration, error) {
	if bins <= 0 {
		bins = CalibrationBins
	}
	n := len(probs)
	if n == 0 {
		return Calibration{}, errors.New("calibration: no examples")
	}
	if len(labels) != n {
		return Calibration{}, fmt.Errorf("calibration: %d rows of posteriors but %d labels", n, len(labels))
	}
	c := Calibration{N: n, Bins: make([]Bin, bins)}
	for b := range c.Bins {
		c.Bins[b].Lo, c.Bins[b].Hi = float64(b)/float64(bins), float64(b+1)/float64(bins)
	}
	correct := make([]int, bins)
	confSum := make([]float64, bins)
	for i, row := range probs {
		y := labels[i]
		if y < 0 || y >= len(row) {
			return Calibration{}, fmt.Errorf("calibration: example %d has label %d, its posteriors %d classes", i, y, len(row))
		}
		best := 0
		for k, p := range row {
			if p > row[best] {
				best = k
			}
			t := 0.0
			if k == y {
				t = 1
			}
			c.Brier += (p - t) * (p - t)
		}
		c.NLL -= math.Log(max(row[y], ProbFloor))
		conf := row[best]
		b := int(math.Ceil(conf*float64(bins))) - 1 // (Lo, Hi] bins
		b = max(0, min(bins-1, b))
		c.Bins[b].N++
		confSum[b] += conf
		if best == y {
			correct[b]++
		}
	}
	c.NLL /= float64(n)
	c.Brier /= float64(n)
	for b := range c.Bins {
		bin := &c.Bins[b]
		if bin.N == 0 {
			continue
		}
		bin.Confidence = confSum[b] / float64(bin.N)
		bin.Accuracy = float64(correct[b]) / float64(bin.N)
		gap := math.Abs(bin.Accuracy - bin.Confidence)
		c.ECE += float64(bin.N) / float64(n) * gap
		c.MCE = max(c.MCE, gap)
	}
	return c, nil
}

// Softmax returns the softmax of each row of logits, computed stably.
func Softmax(logits [][]float64) [][]float64 {
	out := make([][]float64, len(logits))
	for i, row := range logits {
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v)
		}
		p := make([]float64, len(row))
		var s float64
		for k, v := range row {
			p[k] = math.Exp(v - m)
			s += p[k]
		}
		for k := range p {
			p[k] /= s
		}
		out[i] = p
	}
	return out
}

// TopKError is the fraction of examples whose label is not among the k
// largest posteriors (ties broken towards the lower class index).
func TopKError(probs [][]float64, labels []int, k int) float64 {
	if len(probs) == 0 {
		return 0
	}
	wrong := 0
	for i, row := range probs {
		y := labels[i]
		above := 0 // classes ranked before y
		for j, p := range row {
			if p > row[y] || (p == row[y] && j < y) {
				above++
			}
		}
		if above >= k {
			wrong++
		}
	}
	return float64(wrong) / float64(len(probs))
}

// NamedCalibration is one head's calibration, for a reliability diagram.
type NamedCalibration struct {
	Name string
	Calibration
}

// ReliabilityPlot draws one reliability diagram per head: the accuracy of
// each confidence bin as a bar against the diagonal of perfect calibration,
// the gap to the bin's mean confidence shaded, with ECE, MCE, NLL and Brier in the title.
func ReliabilityPlot(heads []NamedCalibration) (Picture, error) {
	if len(heads) == 0 {
		return nil, errors.New("reliability: no heads")
	}
	pics := make([]Picture, len(heads))
	for i, h := range heads {
		p := newPlot(h.Name, "confidence (largest posterior)", "accuracy")
		p.Title.Text = fmt.Sprintf("%s\nECE %.2f%% · MCE %.2f%%\nNLL %.3f · Brier %.4f", h.Name, 100*h.ECE, 100*h.MCE, h.NLL, h.Brier)
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		for _, b := range h.Bins {
			if b.N == 0 {
				continue
			}
			// The gap is translucent and the accuracy is also a black line
			// across the bin, so an under-confident bin (accuracy above
			// the confidence, the gap over the bar's top) still shows
			// where its accuracy is.
			bar := rect(b.Lo, 0, b.Hi, b.Accuracy, Colour(0), 0.85)
			gapLo, gapHi := min(b.Accuracy, b.Confidence), max(b.Accuracy, b.Confidence)
			gap := rect(b.Lo, gapLo, b.Hi, gapHi, Colour(6), 0.55)
			top, _ := plotter.NewLine(plotter.XYs{{X: b.Lo, Y: b.Accuracy}, {X: b.Hi, Y: b.Accuracy}})
			top.LineStyle = draw.LineStyle{Color: blackish, Width: vg.Points(1.2)}
			p.Add(bar, gap, top)
		}
		diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		diag.LineStyle = draw.LineStyle{Color: blackish, Width: vg.Points(1), Dashes: dash(1)}
		p.Add(diag, plotter.NewGrid())
		leg := newLegend()
		leg.Add("accuracy", rectThumb{Colour(0), 0.85})
		leg.Add("gap to confidence", rectThumb{Colour(6), 0.55})
		leg.Add("perfect calibration", lineThumb{diag.LineStyle})
		pics[i] = &plotPicture{p: p, w: 3.6*vg.Inch + 1.5*vg.Inch, h: 3.6 * vg.Inch, legend: leg, legW: 1.5 * vg.Inch}
	}
	return Grid(min(3, len(pics)), pics...), nil
}
