package report

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Features is what the feature scatter (Wan et al., Figure 1 a–e) draws.
type Features struct {
	Title   string
	X       [][]float64 // N × D features
	Labels  []int       // N labels in [0, K)
	Classes []string    // K class names; nil: the labels' numbers
	// Centres are the head's K × D class centres or means, drawn as large
	// markers; nil draws the class means of X instead.
	Centres    [][]float64
	CentreName string // legend entry of the centres: "means μ_k"; "" says "class means" or "centres"
	// MaxPoints is the most points drawn; above it a subsample with Seed
	// (0: 5000). Points are drawn in a seeded random order so that no class
	// is drawn over all others.
	MaxPoints int
	Seed      uint64
	// Marked are drawn on top, as black-edged crosses (adversarial examples).
	Marked     [][]float64
	MarkedName string
}

// DefaultMaxPoints is the number of points a scatter draws when it is not told.
const DefaultMaxPoints = 5000

// Scatter sizes.
const (
	pointRadius  = vg.Length(1.3)
	centreRadius = vg.Length(4.5)
	markedRadius = vg.Length(2.2)
	scatterW     = 5 * vg.Inch
	scatterH     = 4.4 * vg.Inch
	legendStrip  = 1.25 * vg.Inch
)

// projection is a linear map from D dimensions to the two drawn.
type projection struct {
	mean []float64
	vecs [2][]float64 // unit vectors
	vars [2]float64   // fraction of the variance along each
}

func (p *projection) apply(x []float64) (float64, float64) {
	if p == nil {
		return x[0], x[1]
	}
	var a, b float64
	for j, v := range x {
		a += (v - p.mean[j]) * p.vecs[0][j]
		b += (v - p.mean[j]) * p.vecs[1][j]
	}
	return a, b
}

// pca returns the projection of x onto its first two principal components,
// each with the sign that makes its largest loading positive (so the
// picture does not flip between runs of the same data).
func pca(x [][]float64) (*projection, error) {
	n, d := len(x), len(x[0])
	if n < 2 {
		return nil, errors.New("a PCA projection needs at least 2 points")
	}
	m := mat.NewDense(n, d, nil)
	for i, row := range x {
		m.SetRow(i, row)
	}
	var pc stat.PC
	if !pc.PrincipalComponents(m, nil) {
		return nil, errors.New("principal components: the decomposition failed")
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	vars := pc.VarsTo(nil)
	var total float64
	for _, v := range vars {
		total += v
	}
	p := &projection{mean: make([]float64, d)}
	for j := range d {
		p.mean[j] = stat.Mean(mat.Col(nil, j, m), nil)
	}
	for k := range 2 {
		v := mat.Col(nil, k, &vecs)
		big := 0
		for j := range v {
			if math.Abs(v[j]) > math.Abs(v[big]) {
				big = j
			}
		}
		if v[big] < 0 {
			for j := range v {
				v[j] = -v[j]
			}
		}
		p.vecs[k] = v
		if total > 0 {
			p.vars[k] = vars[k] / total
		}
	}
	return p, nil
}

// check reports what is wrong with f's shapes.
func (f *Features) check() (n, d, k int, err error) {
	n = len(f.X)
	if n == 0 {
		return 0, 0, 0, errors.New("features: no points")
	}
	if len(f.Labels) != n {
		return 0, 0, 0, fmt.Errorf("features: %d points but %d labels", n, len(f.Labels))
	}
	d = len(f.X[0])
	if d < 2 {
		return 0, 0, 0, fmt.Errorf("features: D = %d; a scatter needs at least 2 dimensions", d)
	}
	for i, row := range f.X {
		if len(row) != d {
			return 0, 0, 0, fmt.Errorf("features: point %d has %d values, point 0 has %d", i, len(row), d)
		}
	}
	for _, l := range f.Labels {
		if l < 0 {
			return 0, 0, 0, fmt.Errorf("features: negative label %d", l)
		}
		k = max(k, l+1)
	}
	k = max(k, len(f.Classes), len(f.Centres))
	for i, c := range f.Centres {
		if len(c) != d {
			return 0, 0, 0, fmt.Errorf("features: centre %d has %d values, the points %d", i, len(c), d)
		}
	}
	for i, m := range f.Marked {
		if len(m) != d {
			return 0, 0, 0, fmt.Errorf("features: marked point %d has %d values, the points %d", i, len(m), d)
		}
	}
	return n, d, k, nil
}

// className is the name of class k.
func className(names []string, k int) string {
	if k < len(names) && names[k] != "" {
		return names[k]
	}
	return strconv.Itoa(k)
}

// scatter is the drawn part of a feature picture: points in 2-D with their
// classes, centres and marked points, in drawing order.
type scatter struct {
	xs, ys   []float64
	cls      []int
	cx, cy   []float64 // centres
	mx, my   []float64 // marked
	k        int
	centreOf string
	proj     *projection
}

// layout subsamples, projects and orders f's points.
func (f *Features) layout() (*scatter, error) {
	n, d, k, err := f.check()
	if err != nil {
		return nil, err
	}
	s := &scatter{k: k}
	if d > 2 {
		if s.proj, err = pca(f.X); err != nil {
			return nil, err
		}
	}
	limit := f.MaxPoints
	if limit <= 0 {
		limit = DefaultMaxPoints
	}
	order := rand.New(rand.NewPCG(f.Seed, 0x5ca77e4)).Perm(n)
	if len(order) > limit {
		order = order[:limit]
	}
	for _, i := range order {
		x, y := s.proj.apply(f.X[i])
		s.xs, s.ys, s.cls = append(s.xs, x), append(s.ys, y), append(s.cls, f.Labels[i])
	}
	centres := f.Centres
	s.centreOf = f.CentreName
	if centres == nil {
		centres = classMeans(f.X, f.Labels, k)
		if s.centreOf == "" {
			s.centreOf = "class means"
		}
	} else if s.centreOf == "" {
		s.centreOf = "centres"
	}
	for _, c := range centres {
		if c == nil {
			s.cx, s.cy = append(s.cx, math.NaN()), append(s.cy, math.NaN())
			continue
		}
		x, y := s.proj.apply(c)
		s.cx, s.cy = append(s.cx, x), append(s.cy, y)
	}
	for _, m := range f.Marked {
		x, y := s.proj.apply(m)
		s.mx, s.my = append(s.mx, x), append(s.my, y)
	}
	return s, nil
}

// classMeans returns the mean of each class's points (nil for a class with none).
func classMeans(x [][]float64, labels []int, k int) [][]float64 {
	d := len(x[0])
	sums := make([][]float64, k)
	counts := make([]int, k)
	for i, row := range x {
		l := labels[i]
		if sums[l] == nil {
			sums[l] = make([]float64, d)
		}
		for j, v := range row {
			sums[l][j] += v
		}
		counts[l]++
	}
	for l := range sums {
		for j := range sums[l] {
			sums[l][j] /= float64(counts[l])
		}
	}
	return sums
}

// bounds are the ranges covering the points and centres, with a margin.
func (s *scatter) bounds() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	add := func(xs, ys []float64) {
		for i := range xs {
			if math.IsNaN(xs[i]) || math.IsNaN(ys[i]) || math.IsInf(xs[i], 0) || math.IsInf(ys[i], 0) {
				continue
			}
			xmin, xmax = min(xmin, xs[i]), max(xmax, xs[i])
			ymin, ymax = min(ymin, ys[i]), max(ymax, ys[i])
		}
	}
	add(s.xs, s.ys)
	add(s.cx, s.cy)
	add(s.mx, s.my)
	if xmin > xmax { // nothing finite
		return -1, 1, -1, 1
	}
	mx, my := 0.05*(xmax-xmin), 0.05*(ymax-ymin)
	if mx == 0 {
		mx = 1
	}
	if my == 0 {
		my = 1
	}
	return xmin - mx, xmax + mx, ymin - my, ymax + my
}

// Plot draws the points in order (plot.Plotter).
func (s *scatter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	styles := make([]draw.GlyphStyle, s.k)
	for i := range styles {
		styles[i] = classStyle(i, pointRadius)
	}
	for i := range s.xs {
		pt := vg.Point{X: tx(s.xs[i]), Y: ty(s.ys[i])}
		if c.Contains(pt) {
			c.DrawGlyph(styles[s.cls[i]], pt)
		}
	}
}

// drawCentres draws the centres: the class's marker, large, edged in black.
type centres struct{ s *scatter }

func (cs centres) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range cs.s.cx {
		if math.IsNaN(cs.s.cx[i]) {
			continue
		}
		pt := vg.Point{X: tx(cs.s.cx[i]), Y: ty(cs.s.cy[i])}
		if !c.Contains(pt) {
			continue
		}
		c.DrawGlyph(draw.GlyphStyle{Color: blackish, Radius: centreRadius + 1.2, Shape: draw.CircleGlyph{}}, pt)
		c.DrawGlyph(draw.GlyphStyle{Color: Colour(i), Radius: centreRadius, Shape: draw.CircleGlyph{}}, pt)
	}
}

// marked draws the marked points as crosses with a dark edge.
type marked struct{ s *scatter }

func (m marked) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	edge := draw.GlyphStyle{Color: blackish, Radius: markedRadius + 0.6, Shape: thickCross{2.2}}
	face := draw.GlyphStyle{Color: markColour, Radius: markedRadius, Shape: thickCross{1}}
	for i := range m.s.mx {
		pt := vg.Point{X: tx(m.s.mx[i]), Y: ty(m.s.my[i])}
		if c.Contains(pt) {
			c.DrawGlyph(edge, pt)
			c.DrawGlyph(face, pt)
		}
	}
}

// thickCross is an × of a given line width.
type thickCross struct{ width vg.Length }

func (t thickCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	ls := draw.LineStyle{Color: sty.Color, Width: t.width}
	r := sty.Radius
	c.StrokeLine2(ls, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
	c.StrokeLine2(ls, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
}

var (
	blackish   = rgb(0x22, 0x22, 0x22)
	markColour = rgb(0xee, 0x33, 0x77) // Tol's vibrant magenta: not a class colour
)

// axisNames are the axis labels of a scatter: the features or the components.
func (s *scatter) axisNames() (string, string) {
	if s.proj == nil {
		return "f₁", "f₂"
	}
	return fmt.Sprintf("PC 1 (%.0f%% of the variance)", 100*s.proj.vars[0]),
		fmt.Sprintf("PC 2 (%.0f%% of the variance)", 100*s.proj.vars[1])
}

// legend lists the classes present, the centres and the marked points.
func (s *scatter) legend(f *Features) *plot.Legend {
	l := newLegend()
	seen := make([]bool, s.k)
	for _, c := range f.Labels {
		seen[c] = true
	}
	for i := range s.k {
		if seen[i] {
			sty := classStyle(i, 3)
			l.Add(className(f.Classes, i), glyphThumb{sty})
		}
	}
	l.Add(s.centreOf, glyphThumb{draw.GlyphStyle{Color: blackish, Radius: 4, Shape: draw.RingGlyph{}}})
	if len(s.mx) > 0 {
		name := f.MarkedName
		if name == "" {
			name = "marked"
		}
		l.Add(name, glyphThumb{draw.GlyphStyle{Color: markColour, Radius: 3, Shape: thickCross{1.5}}})
	}
	return l
}

// FeaturePlot draws Figure 1 (a)–(e): the features as a scatter, one colour
// and marker per class, the class centres large and edged in black, both
// axes at the same scale. Features with D > 2 are drawn as their projection
// on the first two principal components, and the title says so.
func FeaturePlot(f Features) (Picture, error) {
	s, err := f.layout()
	if err != nil {
		return nil, err
	}
	title := f.Title
	if s.proj != nil {
		title = fmt.Sprintf("%s (PCA projection of D = %d)", f.Title, len(f.X[0]))
	}
	xl, yl := s.axisNames()
	p := newPlot(title, xl, yl)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = s.bounds()
	p.Add(s, centres{s})
	if len(s.mx) > 0 {
		p.Add(marked{s})
	}
	return &plotPicture{p: p, w: scatterW + legendStrip, h: scatterH, legend: s.legend(&f), legW: legendStrip, equal: true}, nil
}
