package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Epoch is one epoch of a run's training log (a metrics.jsonl line).
type Epoch struct {
	Epoch      int
	LR         float64
	TrainLoss  float64
	TrainError float64            // fraction
	TestError  float64            // fraction
	Terms      map[string]float64 // loss terms before their weights: xent, center, lkd
	Schedule   map[string]float64 // alpha, lambda, beta at the epoch's last step
}

// Curve is the training log of one run.
type Curve struct {
	Name   string
	Epochs []Epoch
}

// series is one line of a panel.
type series struct {
	run, qty int // indices: which run, which quantity
	xs, ys   []float64
}

// panel is one plot of the curves picture.
type panel struct {
	title, ylabel string
	qtys          []string // quantity names, by index
	lines         []series
	// log draws the y axis on a log scale (the error panel: a 0.4 % test
	// error beside a 10 % first epoch is unreadable on a linear one);
	// values <= 0 are left out of a log panel.
	log bool
}

// termNames are the loss-term names that appear in runs, sorted.
func termNames(runs []Curve) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for _, e := range r.Epochs {
			for k := range e.Terms {
				set[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// scheduleNames are the scheduled hyperparameters in runs, in the order α, λ, then others.
func scheduleNames(runs []Curve) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for _, e := range r.Epochs {
			for k := range e.Schedule {
				set[k] = true
			}
		}
	}
	var out []string
	for _, k := range []string{"alpha", "lambda"} {
		if set[k] {
			out = append(out, k)
			delete(set, k)
		}
	}
	return append(out, slices.Sorted(maps.Keys(set))...)
}

// symbol is how a quantity is named in a legend.
func symbol(name string) string {
	switch name {
	case "alpha":
		return "α"
	case "lambda":
		return "λ"
	case "beta":
		return "β"
	}
	return name
}

// CurvesPlot draws training curves of one or several runs: the loss and
// its terms, train and test error, the learning rate, and the head's
// schedules (α and λ; β of L-Softmax in a panel of its own, its values being
// orders of magnitude larger). With several runs the colour tells the runs
// apart and the dash the quantities.
func CurvesPlot(runs []Curve) (Picture, error) {
	if len(runs) == 0 {
		return nil, errors.New("curves: no runs")
	}
	for _, r := range runs {
		if len(r.Epochs) == 0 {
			return nil, fmt.Errorf("curves: run %s has no finished epoch", r.Name)
		}
	}
	terms := termNames(runs)
	loss := panel{title: "Training loss", ylabel: "loss (mean over the epoch)", qtys: append([]string{"loss"}, terms...)}
	errs := panel{title: "Error", ylabel: "error (%, log scale)", qtys: []string{"test", "train"}, log: true}
	lr := panel{title: "Learning rate", ylabel: "learning rate", qtys: []string{"lr"}}
	var sched, beta panel
	var schedNames []string
	for _, n := range scheduleNames(runs) {
		if n != "beta" {
			schedNames = append(schedNames, n)
		}
	}
	sched = panel{title: "Schedules", ylabel: "value at the epoch's end", qtys: symbols(schedNames)}
	beta = panel{title: "L-Softmax β", ylabel: "β at the epoch's end", qtys: []string{"β"}}
	hasBeta := false
	for ri, r := range runs {
		n := len(r.Epochs)
		xs := make([]float64, n)
		for i, e := range r.Epochs {
			xs[i] = float64(e.Epoch)
		}
		col := func(f func(Epoch) (float64, bool)) []float64 {
			ys := make([]float64, n)
			for i, e := range r.Epochs {
				v, ok := f(e)
				if !ok {
					v = math.NaN()
				}
				ys[i] = v
			}
			return ys
		}
		loss.lines = append(loss.lines, series{ri, 0, xs, col(func(e Epoch) (float64, bool) { return e.TrainLoss, true })})
		for ti, t := range terms {
			ys := col(func(e Epoch) (float64, bool) { v, ok := e.Terms[t]; return v, ok })
			loss.lines = append(loss.lines, series{ri, ti + 1, xs, ys})
		}
		errs.lines = append(errs.lines,
			series{ri, 0, xs, col(func(e Epoch) (float64, bool) { return 100 * e.TestError, true })},
			series{ri, 1, xs, col(func(e Epoch) (float64, bool) { return 100 * e.TrainError, true })})
		lr.lines = append(lr.lines, series{ri, 0, xs, col(func(e Epoch) (float64, bool) { return e.LR, true })})
		for si, s := range schedNames {
			ys := col(func(e Epoch) (float64, bool) { v, ok := e.Schedule[s]; return v, ok })
			if anyFinite(ys) {
				sched.lines = append(sched.lines, series{ri, si, xs, ys})
			}
		}
		if ys := col(func(e Epoch) (float64, bool) { v, ok := e.Schedule["beta"]; return v, ok }); anyFinite(ys) {
			beta.lines = append(beta.lines, series{ri, 0, xs, ys})
			hasBeta = true
		}
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.Name
	}
	names = legendNames(names)
	panels := []panel{loss, errs, lr}
	if len(sched.lines) > 0 {
		panels = append(panels, sched)
	}
	if hasBeta {
		panels = append(panels, beta)
	}
	pics := make([]Picture, len(panels))
	for i, p := range panels {
		pics[i] = p.picture(names)
	}
	return Grid(2, pics...), nil
}

func symbols(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = symbol(n)
	}
	return out
}

func anyFinite(ys []float64) bool {
	for _, y := range ys {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			return true
		}
	}
	return false
}

// lineStyle of a series: with one run the colour and the dash both follow
// the quantity; with several the colour follows the run, the dash the quantity.
func lineStyle(s series, runs int) draw.LineStyle {
	c := Colour(s.run)
	if runs == 1 {
		c = Colour(s.qty)
	}
	return draw.LineStyle{Color: c, Width: vg.Points(1.4), Dashes: dash(s.qty)}
}

// panelW and panelH are the size of one panel of the curves picture.
const (
	panelW     = 4.6 * vg.Inch
	panelH     = 3 * vg.Inch
	panelStrip = 1.4 * vg.Inch
)

func (pn panel) picture(runs []string) Picture {
	p := newPlot(pn.title, "epoch", pn.ylabel)
	drawn := 0
	for _, s := range pn.lines {
		xy := make(plotter.XYs, 0, len(s.xs))
		for i := range s.xs {
			if !math.IsNaN(s.ys[i]) && !math.IsInf(s.ys[i], 0) && (!pn.log || s.ys[i] > 0) {
				xy = append(xy, plotter.XY{X: s.xs[i], Y: s.ys[i]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			continue
		}
		drawn += len(xy)
		l.LineStyle = lineStyle(s, len(runs))
		pts.GlyphStyle = draw.GlyphStyle{Color: l.LineStyle.Color, Radius: 1.6, Shape: draw.CircleGlyph{}}
		p.Add(l, pts)
	}
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = integerTicks{}
	if pn.log && drawn > 0 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	leg := newLegend()
	if len(runs) == 1 {
		for qi, q := range pn.qtys {
			leg.Add(q, lineThumb{lineStyle(series{qty: qi}, 1)})
		}
	} else {
		for ri, r := range runs {
			leg.Add(r, lineThumb{draw.LineStyle{Color: Colour(ri), Width: vg.Points(1.4)}})
		}
		if len(pn.qtys) > 1 {
			for qi, q := range pn.qtys {
				leg.Add(q, lineThumb{draw.LineStyle{Color: blackish, Width: vg.Points(1.2), Dashes: dash(qi)}})
			}
		}
	}
	return &plotPicture{p: p, w: panelW + panelStrip, h: panelH, legend: leg, legW: panelStrip}
}

// integerTicks puts ticks on whole epochs only.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	out := ticks[:0]
	for _, t := range ticks {
		if t.Value == math.Trunc(t.Value) {
			out = append(out, t)
		} else if t.Label != "" {
			continue
		}
	}
	if len(out) == 0 {
		for v := math.Ceil(lo); v <= hi; v++ {
			out = append(out, plot.Tick{Value: v, Label: fmt.Sprint(v)})
		}
	}
	return out
}

// legendNames drops the prefix all names share up to a separator ("-", "_"
// or "."), so that names such as cifar10-resnet20-softmax-s1 and
// cifar10-resnet20-lgm-s1 fit the legend's strip as softmax-s1 and lgm-s1
// rather than being cut to the same cifar10-resnet20-….
func legendNames(names []string) []string {
	if len(names) < 2 {
		return names
	}
	cut := len(names[0])
	for _, n := range names[1:] {
		i := 0
		for i < cut && i < len(n) && n[i] == names[0][i] {
			i++
		}
		cut = i
	}
	cut = strings.LastIndexAny(names[0][:cut], "-_.") + 1
	out := make([]string, len(names))
	for i, n := range names {
		if cut >= len(n) {
			return names // a name would be empty
		}
		out[i] = n[cut:]
	}
	return out
}
