package report

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
)

// GridSpec is a regular grid of Cols × Rows cells over a rectangle of the
// feature plane; the field is evaluated at the cells' centres.
type GridSpec struct {
	XMin, XMax, YMin, YMax float64
	Cols, Rows             int
}

// Points returns the centres of the cells, row by row from the bottom
// (YMin), each row left to right: the order of Field.Z.
func (g GridSpec) Points() [][2]float64 {
	pts := make([][2]float64, 0, g.Cols*g.Rows)
	dx, dy := (g.XMax-g.XMin)/float64(g.Cols), (g.YMax-g.YMin)/float64(g.Rows)
	for r := range g.Rows {
		for c := range g.Cols {
			pts = append(pts, [2]float64{g.XMin + (float64(c)+0.5)*dx, g.YMin + (float64(r)+0.5)*dy})
		}
	}
	return pts
}

// Likelihood is what the likelihood heatmap (Wan et al., Figure 1 f) draws:
// a scalar field over the feature plane with the features on top.
type Likelihood struct {
	Features           // D = 2: the points, the head's means, the marked (adversarial) points
	Grid     GridSpec  // from LikelihoodGrid(Features, n)
	Z        []float64 // Cols × Rows values at Grid.Points(), in that order
	ZName    string    // what Z is: "max_k log N(x; μ_k, I)"
}

// MaxMarked is the most attack examples a likelihood map marks (a seeded
// subsample of the rest): enough to see where they land.
const MaxMarked = 200

// likelihood picture geometry
const (
	likelihoodW = 5 * vg.Inch
	likelihoodH = 4.4 * vg.Inch
	likeStrip   = 1.5 * vg.Inch
)

// likelihoodPlot is the plot of l without its field, its ranges set and
// made equal in scale for the picture's data area.
func likelihoodBase(f *Features) (*plot.Plot, *scatter, error) {
	s, err := f.layout()
	if err != nil {
		return nil, nil, err
	}
	if s.proj != nil {
		return nil, nil, fmt.Errorf("likelihood map: the features have D = %d; it is drawn for D = 2 only", len(f.X[0]))
	}
	p := newPlot(f.Title, "f₁", "f₂")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = s.bounds()
	// Fix the ranges now, on a canvas the size of the picture's plot part,
	// so the grid the field is evaluated on fills the data area exactly.
	rec := draw.Canvas{Canvas: &recorder.Canvas{}, Rectangle: vg.Rectangle{Max: vg.Point{X: likelihoodW, Y: likelihoodH}}}
	equalScale(p, rec)
	return p, s, nil
}

// LikelihoodGrid returns the grid of n × n cells (0: 200) over the area the
// likelihood map of f shows; evaluate the field at its Points.
func LikelihoodGrid(f Features, n int) (GridSpec, error) {
	if n <= 0 {
		n = 200
	}
	p, _, err := likelihoodBase(&f)
	if err != nil {
		return GridSpec{}, err
	}
	return GridSpec{XMin: p.X.Min, XMax: p.X.Max, YMin: p.Y.Min, YMax: p.Y.Max, Cols: n, Rows: n}, nil
}

// fieldGrid is a GridSpec with values (plotter.GridXYZ).
type fieldGrid struct {
	g GridSpec
	z []float64
}

func (f fieldGrid) Dims() (int, int)   { return f.g.Cols, f.g.Rows }
func (f fieldGrid) Z(c, r int) float64 { return f.z[r*f.g.Cols+c] }
func (f fieldGrid) X(c int) float64 {
	return f.g.XMin + (float64(c)+0.5)*(f.g.XMax-f.g.XMin)/float64(f.g.Cols)
}
func (f fieldGrid) Y(r int) float64 {
	return f.g.YMin + (float64(r)+0.5)*(f.g.YMax-f.g.YMin)/float64(f.g.Rows)
}

// LikelihoodFloor is the quantile of the field below which the colour scale
// stops: far from every class the log-likelihood falls without bound, and a
// linear scale down to it would leave the classes one bright blur.
const LikelihoodFloor = 0.05

// LikelihoodPlot draws the field as a heatmap (brighter = higher, values
// below the LikelihoodFloor quantile as dark as that), with a colour bar,
// the features as small light dots, the means ringed, and the marked points
// (adversarial examples) as crosses.
func LikelihoodPlot(l Likelihood) (Picture, error) {
	p, s, err := likelihoodBase(&l.Features)
	if err != nil {
		return nil, err
	}
	if l.Grid.Cols <= 0 || l.Grid.Rows <= 0 || len(l.Z) != l.Grid.Cols*l.Grid.Rows {
		return nil, fmt.Errorf("likelihood map: %d values for a %d × %d grid", len(l.Z), l.Grid.Cols, l.Grid.Rows)
	}
	var finite []float64
	for _, z := range l.Z {
		if !math.IsNaN(z) && !math.IsInf(z, 0) {
			finite = append(finite, z)
		}
	}
	if len(finite) == 0 {
		return nil, errors.New("likelihood map: no finite value in the field")
	}
	lo, hi := quantile(finite, LikelihoodFloor), quantile(finite, 1)
	if hi <= lo {
		hi = lo + 1
	}
	cmap := moreland.BlackBody() // black → red → yellow → white: brighter is higher at a glance, in grey too
	cmap.SetMin(lo)
	cmap.SetMax(hi)
	hm := plotter.NewHeatMap(fieldGrid{l.Grid, l.Z}, cmap.Palette(255))
	hm.Min, hm.Max = lo, hi
	hm.Underflow = hm.Palette.Colors()[0]
	hm.Rasterized = true
	// The grid must fill the plot's ranges exactly: those of LikelihoodGrid.
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = l.Grid.XMin, l.Grid.XMax, l.Grid.YMin, l.Grid.YMax
	dots := &lightDots{s}
	p.Add(hm, dots, centres{s})
	if len(s.mx) > 0 {
		p.Add(marked{s})
	}
	leg := newLegend()
	leg.Add("features (colour:", glyphThumb{classStyle(0, 2.2)})
	leg.Add("their class)", glyphThumb{classStyle(1, 2.2)})
	leg.Add(s.centreOf, glyphThumb{draw.GlyphStyle{Color: blackish, Radius: 4, Shape: draw.RingGlyph{}}})
	if len(s.mx) > 0 {
		leg.Add(l.MarkedName, glyphThumb{draw.GlyphStyle{Color: markColour, Radius: 3, Shape: thickCross{1.5}}})
	}
	bar := plot.New()
	bar.Title.Text = l.ZName
	bar.Title.TextStyle.Font.Size = legSize
	bar.Y.Tick.Label.Font.Size = tickSize
	bar.HideX()
	bar.X.Min, bar.X.Max = 0, 1
	bar.Y.Min, bar.Y.Max = lo, hi
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	return &likelihoodPicture{plotPicture{p: p, w: likelihoodW + likeStrip, h: likelihoodH, legend: leg, legW: likeStrip}, bar}, nil
}

// likelihoodPicture is the map with its legend and, below it, the colour bar.
type likelihoodPicture struct {
	plotPicture
	bar *plot.Plot
}

func (lp *likelihoodPicture) Draw(c draw.Canvas) {
	// Not plotPicture.Draw: the ranges were made equal for this size already.
	plotC := draw.Crop(c, 0, -lp.legW, 0, 0)
	lp.p.Draw(plotC)
	strip := draw.Crop(c, c.Size().X-lp.legW, 0, 0, 0)
	lp.legend.Draw(draw.Crop(strip, 0, 0, 0, -titleHeight(lp.p)))
	barC := draw.Crop(strip, vg.Points(8), -lp.legW+vg.Points(8)+0.9*vg.Inch, vg.Points(30), -c.Size().Y*0.45)
	lp.bar.Draw(barC)
}

// lightDots draws the features as small dots of their class's colour over the field.
type lightDots struct{ s *scatter }

func (d *lightDots) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	styles := make([]draw.GlyphStyle, d.s.k)
	for i := range styles {
		styles[i] = draw.GlyphStyle{Color: Colour(i), Radius: 0.9, Shape: draw.CircleGlyph{}}
	}
	for i := range d.s.xs {
		pt := vg.Point{X: tx(d.s.xs[i]), Y: ty(d.s.ys[i])}
		if c.Contains(pt) {
			c.DrawGlyph(styles[d.s.cls[i]], pt)
		}
	}
}
