package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Attack is the summary `lgm attack` writes (attack-<method>.json): the
// error at every ε and, for ε > 0, the detection metrics of the likelihood
// score and of the largest posterior, clean test images against their
// attacked versions.
type Attack struct {
	Method  string      `json:"method"`
	Loss    string      `json:"loss"`
	N       int         `json:"n"`
	Seed    uint64      `json:"seed"`
	Results []AttackEps `json:"results"`
}

// AttackEps is one ε of an attack. Error is a fraction; the detection
// fields are absent (nil) at ε = 0, the clean test set.
type AttackEps struct {
	Eps                        float64  `json:"eps"`
	Error                      float64  `json:"error"`
	Wrong                      int      `json:"wrong"`
	N                          int      `json:"n"`
	Successful                 *int     `json:"successful,omitempty"`
	AUROC                      *float64 `json:"auroc,omitempty"` // likelihood score, higher = clean
	AUROCPosterior             *float64 `json:"auroc_posterior,omitempty"`
	TNRAtTPR95                 *float64 `json:"tnr_at_tpr95,omitempty"`
	TNRAtTPR95Posterior        *float64 `json:"tnr_at_tpr95_posterior,omitempty"`
	DetectionAccuracy          *float64 `json:"detection_accuracy,omitempty"`
	DetectionAccuracyPosterior *float64 `json:"detection_accuracy_posterior,omitempty"`
	AUROCSuccessful            *float64 `json:"auroc_successful,omitempty"`
	AUROCPosteriorSuccessful   *float64 `json:"auroc_posterior_successful,omitempty"`
}

// Score is one row of an attack's scores (attack-<method>.csv): a test
// image at one ε (0: clean) with the prediction and both detection scores.
type Score struct {
	Index, Label int
	Eps          float64
	Prediction   int
	LogLik       float64 // the head's log-likelihood under its predicted class
	Posterior    float64 // the largest posterior
}

// AttackScores are the scores of one head's attack run.
type AttackScores struct {
	Name   string
	Method string
	Rows   []Score
}

// epsilons are the distinct ε of rows, ascending.
func epsilons(rows []Score) []float64 {
	var es []float64
	for _, r := range rows {
		es = append(es, r.Eps)
	}
	slices.Sort(es)
	return slices.Compact(es)
}

// split returns the scores (by pick) at eps.
func split(rows []Score, eps float64, pick func(Score) float64) []float64 {
	var out []float64
	for _, r := range rows {
		if r.Eps == eps {
			out = append(out, pick(r))
		}
	}
	return out
}

func pickLogLik(s Score) float64    { return s.LogLik }
func pickPosterior(s Score) float64 { return s.Posterior }

// ROC returns the ROC curve of telling pos (the positive class: clean
// images) from neg by a score where higher means positive: the false and
// true positive rates at every distinct threshold, from (0, 0) to (1, 1),
// and the area under it. Tied scores make one diagonal step, so a tie
// between a positive and a negative counts ½ — the Mann–Whitney statistic.
func ROC(pos, neg []float64) (fpr, tpr []float64, auc float64, err error) {
	if len(pos) == 0 || len(neg) == 0 {
		return nil, nil, 0, fmt.Errorf("roc: %d positive and %d negative scores (need both)", len(pos), len(neg))
	}
	type sc struct {
		v   float64
		pos bool
	}
	all := make([]sc, 0, len(pos)+len(neg))
	for _, v := range pos {
		all = append(all, sc{v, true})
	}
	for _, v := range neg {
		all = append(all, sc{v, false})
	}
	for _, s := range all {
		if math.IsNaN(s.v) {
			return nil, nil, 0, errors.New("roc: a score is NaN")
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v > all[j].v })
	fpr, tpr = []float64{0}, []float64{0}
	var tp, fp float64
	np, nn := float64(len(pos)), float64(len(neg))
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			if all[j].pos {
				tp++
			} else {
				fp++
			}
			j++
		}
		x, y := fp/nn, tp/np
		auc += (x - fpr[len(fpr)-1]) * (y + tpr[len(tpr)-1]) / 2
		fpr, tpr = append(fpr, x), append(tpr, y)
		i = j
	}
	return fpr, tpr, auc, nil
}

// attack picture sizes
const (
	attackW     = 3.6 * vg.Inch
	attackH     = 3 * vg.Inch
	attackStrip = 1.15 * vg.Inch
)

// epsName names an ε in a legend.
func epsName(e float64) string {
	if e == 0 {
		return "clean"
	}
	return fmt.Sprintf("ε = %g", e)
}

// histogram returns the fraction of vs in each of n equal bins of [lo, hi]
// (values outside go to the end bins) as a step line's points.
func histogram(vs []float64, lo, hi float64, n int) plotter.XYs {
	counts := make([]float64, n)
	w := (hi - lo) / float64(n)
	for _, v := range vs {
		b := 0
		if w > 0 {
			b = int(math.Floor((v - lo) / w))
		}
		counts[max(0, min(n-1, b))]++
	}
	xy := make(plotter.XYs, 0, n+2)
	for b, c := range counts {
		xy = append(xy, plotter.XY{X: lo + float64(b)*w, Y: c / float64(max(1, len(vs)))})
	}
	xy = append(xy, plotter.XY{X: hi, Y: xy[len(xy)-1].Y})
	return xy
}

// quantile returns the q-quantile of vs (nearest rank on a sorted copy).
func quantile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	i := int(math.Round(q * float64(len(s)-1)))
	return s[max(0, min(len(s)-1, i))]
}

// histPanel draws the histograms of each ε's scores, one step line each.
func histPanel(title, xlabel string, rows []Score, pick func(Score) float64, withClean bool, lo, hi float64) Picture {
	p := newPlot(title, xlabel, "fraction of images")
	leg := newLegend()
	for i, e := range epsilons(rows) {
		if e == 0 && !withClean {
			continue
		}
		vs := split(rows, e, pick)
		l, err := plotter.NewLine(histogram(vs, lo, hi, 30))
		if err != nil {
			continue
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle = draw.LineStyle{Color: Colour(i), Width: vg.Points(1.4), Dashes: dash(i)}
		p.Add(l)
		leg.Add(epsName(e), lineThumb{l.LineStyle})
	}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return &plotPicture{p: p, w: attackW + attackStrip, h: attackH, legend: leg, legW: attackStrip}
}

// rocPanel draws the ROC curves of clean against each ε > 0 by one score.
func rocPanel(title string, rows []Score, pick func(Score) float64) Picture {
	p := newPlot(title, "false positive rate (attacked taken for clean)", "true positive rate (clean kept)")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	leg := newLegend()
	clean := split(rows, 0, pick)
	for i, e := range epsilons(rows) {
		if e == 0 {
			continue
		}
		fpr, tpr, auc, err := ROC(clean, split(rows, e, pick))
		if err != nil {
			continue
		}
		xy := make(plotter.XYs, len(fpr))
		for j := range fpr {
			xy[j] = plotter.XY{X: fpr[j], Y: tpr[j]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			continue
		}
		l.LineStyle = draw.LineStyle{Color: Colour(i), Width: vg.Points(1.4), Dashes: dash(i)}
		p.Add(l)
		leg.Add(fmt.Sprintf("%s AUROC %.3f", epsName(e), auc), lineThumb{l.LineStyle})
	}
	chance, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	chance.LineStyle = draw.LineStyle{Color: rgb(0xaa, 0xaa, 0xaa), Width: vg.Points(0.8), Dashes: dash(2)}
	p.Add(chance, plotter.NewGrid())
	return &plotPicture{p: p, w: attackW + attackStrip + 0.4*vg.Inch, h: attackH, legend: leg, legW: attackStrip + 0.4*vg.Inch}
}

// AttackPlot draws, for each head, a row of four: the histogram of the
// largest posterior of the attacked images (Wan et al., Figure 3), the
// histogram of the log-likelihood score of clean and attacked images
// (Figure 4), and the ROC curves of detecting the attacked images by the
// likelihood and by the posterior, with their AUROC in the legend.
func AttackPlot(heads []AttackScores) (Picture, error) {
	if len(heads) == 0 {
		return nil, errors.New("attack plot: no attack scores")
	}
	var pics []Picture
	for _, h := range heads {
		if len(h.Rows) == 0 {
			return nil, fmt.Errorf("attack plot: %s has no scores", h.Name)
		}
		if len(epsilons(h.Rows)) < 2 || epsilons(h.Rows)[0] != 0 {
			return nil, fmt.Errorf("attack plot: %s needs clean (ε = 0) and attacked scores", h.Name)
		}
		method := strings.ToUpper(h.Method)
		if method == "" {
			method = "attacked"
		}
		lls := make([]float64, len(h.Rows))
		for i, r := range h.Rows {
			lls[i] = r.LogLik
		}
		lo, hi := quantile(lls, 0.005), quantile(lls, 1)
		pics = append(pics,
			histPanel(fmt.Sprintf("%s: posterior of %s images", h.Name, method), "largest posterior", h.Rows, pickPosterior, false, 0, 1),
			histPanel(fmt.Sprintf("%s: likelihood, clean vs %s", h.Name, method), "log-likelihood score", h.Rows, pickLogLik, true, lo, hi),
			rocPanel(fmt.Sprintf("%s: detection by likelihood", h.Name), h.Rows, pickLogLik),
			rocPanel(fmt.Sprintf("%s: detection by posterior", h.Name), h.Rows, pickPosterior),
		)
	}
	return Grid(4, pics...), nil
}
