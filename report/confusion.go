package report

import (
	"errors"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Confusion counts predictions: m[true][predicted], k × k.
func Confusion(labels, preds []int, k int) ([][]int, error) {
	if len(labels) != len(preds) {
		return nil, fmt.Errorf("confusion: %d labels but %d predictions", len(labels), len(preds))
	}
	m := make([][]int, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	for i, y := range labels {
		p := preds[i]
		if y < 0 || y >= k || p < 0 || p >= k {
			return nil, fmt.Errorf("confusion: example %d has label %d and prediction %d, outside 0..%d", i, y, p, k-1)
		}
		m[y][p]++
	}
	return m, nil
}

// confusionGrid is a confusion matrix as row fractions (plotter.GridXYZ);
// row r of the picture is true class k−1−r, so class 0 is at the top.
type confusionGrid struct{ m [][]int }

func (g confusionGrid) Dims() (int, int) { return len(g.m), len(g.m) }
func (g confusionGrid) X(c int) float64  { return float64(c) }
func (g confusionGrid) Y(r int) float64  { return float64(r) }
func (g confusionGrid) Z(c, r int) float64 {
	row := g.m[len(g.m)-1-r]
	var n int
	for _, v := range row {
		n += v
	}
	if n == 0 {
		return 0
	}
	return float64(row[c]) / float64(n)
}

// ConfusionPlot draws the confusion matrix as a heatmap of the fraction of
// each true class (rows, the first at the top) given each prediction
// (columns); brighter is more. Class names label the axes up to 20 classes.
func ConfusionPlot(title string, m [][]int, classes []string) (Picture, error) {
	k := len(m)
	if k == 0 {
		return nil, errors.New("confusion plot: empty matrix")
	}
	cmap := moreland.ExtendedKindlmann()
	cmap.SetMin(0)
	cmap.SetMax(1)
	hm := plotter.NewHeatMap(confusionGrid{m}, cmap.Palette(255))
	hm.Min, hm.Max = 0, 1
	p := newPlot(title, "predicted class", "true class")
	p.Add(hm)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5, -0.5, float64(k)-0.5
	if k <= 20 {
		var xt, yt []plot.Tick
		for i := range k {
			xt = append(xt, plot.Tick{Value: float64(i), Label: className(classes, i)})
			yt = append(yt, plot.Tick{Value: float64(k - 1 - i), Label: className(classes, i)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(xt)
		p.Y.Tick.Marker = plot.ConstantTicks(yt)
	}
	bar := plot.New()
	bar.Title.Text = "fraction"
	bar.Title.TextStyle.Font.Size = legSize
	bar.Y.Tick.Label.Font.Size = tickSize
	bar.HideX()
	bar.X.Min, bar.X.Max, bar.Y.Min, bar.Y.Max = 0, 1, 0, 1
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	return Row(&plotPicture{p: p, w: 5 * vg.Inch, h: 5 * vg.Inch, equal: true}, &plotPicture{p: bar, w: 1.1 * vg.Inch, h: 5 * vg.Inch}), nil
}
