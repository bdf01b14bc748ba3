package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// synthFeatures returns n points per class around k means on a circle.
func synthFeatures(k, n, d int) Features {
	rng := rand.New(rand.NewPCG(3, 4))
	var f Features
	for c := range k {
		a := 2 * math.Pi * float64(c) / float64(k)
		for range n {
			x := make([]float64, d)
			for j := range x {
				x[j] = 0.4 * rng.NormFloat64()
			}
			x[0] += 4 * math.Cos(a)
			x[1] += 4 * math.Sin(a)
			f.X = append(f.X, x)
			f.Labels = append(f.Labels, c)
		}
	}
	f.Title = "synthetic"
	return f
}

func synthScores() []AttackScores {
	rng := rand.New(rand.NewPCG(5, 6))
	var a AttackScores
	a.Name, a.Method = "lgm", "fgsm"
	for _, e := range []float64{0, 0.1, 0.2} {
		for i := range 50 {
			a.Rows = append(a.Rows, Score{Index: i, Eps: e, LogLik: -rng.ExpFloat64() - 10*e, Posterior: 1 - 0.3*rng.Float64() - e})
		}
	}
	return []AttackScores{a}
}

func synthCurves() []Curve {
	var cs []Curve
	for r := range 2 {
		c := Curve{Name: fmt.Sprint("run", r)}
		for e := 1; e <= 3; e++ {
			c.Epochs = append(c.Epochs, Epoch{Epoch: e, LR: 0.01, TrainLoss: 1 / float64(e), TrainError: 0.1, TestError: 0.05,
				Terms: map[string]float64{"xent": 0.5}, Schedule: map[string]float64{"alpha": 0.1 * float64(e), "beta": 100}})
		}
		cs = append(cs, c)
	}
	return cs
}

func synthLikelihood(t *testing.T) Likelihood {
	f := synthFeatures(3, 30, 2)
	f.Marked = [][]float64{{0, 0}}
	f.MarkedName = "FGSM ε = 0.1"
	g, err := LikelihoodGrid(f, 20)
	if err != nil {
		t.Fatal(err)
	}
	var z []float64
	for _, p := range g.Points() {
		z = append(z, -(p[0]*p[0]+p[1]*p[1])/2)
	}
	return Likelihood{Features: f, Grid: g, Z: z, ZName: "log-likelihood"}
}

// pictures are one of every kind of picture, on small synthetic data.
func pictures(t *testing.T) map[string]Picture {
	cal, err := Calibrate(Softmax([][]float64{{2, 0}, {0, 1}, {1, 1}}), []int{0, 0, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := Confusion([]int{0, 1, 1}, []int{0, 1, 0}, 2)
	make := map[string]func() (Picture, error){
		"features":     func() (Picture, error) { return FeaturePlot(synthFeatures(3, 20, 2)) },
		"features-pca": func() (Picture, error) { return FeaturePlot(synthFeatures(3, 20, 5)) },
		"likelihood":   func() (Picture, error) { return LikelihoodPlot(synthLikelihood(t)) },
		"curves":       func() (Picture, error) { return CurvesPlot(synthCurves()) },
		"calibration":  func() (Picture, error) { return ReliabilityPlot([]NamedCalibration{{"a", cal}, {"b", cal}}) },
		"attack":       func() (Picture, error) { return AttackPlot(synthScores()) },
		"confusion":    func() (Picture, error) { return ConfusionPlot("c", conf, []string{"x", "y"}) },
	}
	out := map[string]Picture{}
	for name, f := range make {
		p, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = p
	}
	return out
}

func TestPicturesDeterministic(t *testing.T) {
	for name, pic := range pictures(t) {
		for _, format := range Formats {
			a, err := Encode(pic, format)
			if err != nil {
				t.Fatalf("case %v %v: %v", name, format, err)
			}
			b, err := Encode(pic, format)
			if err != nil {
				t.Fatalf("case %v %v: %v", name, format, err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("case %v %v: two renderings differ", name, format)
			}
		}
	}
	// Built again from the same input, too.
	a, _ := Encode(pictures(t)["features"], "png")
	b, _ := Encode(pictures(t)["features"], "png")
	if !bytes.Equal(a, b) {
		t.Error("features built twice from the same input: got different PNGs")
	}
}

func TestPicturesParse(t *testing.T) {
	for name, pic := range pictures(t) {
		raw, _ := Encode(pic, "png")
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("case %v: the PNG does not decode: %v", name, err)
			continue
		}
		w, h := pic.Size()
		if got, want := img.Bounds().Dx(), int(math.Round(float64(w)/72*DPI)); got != want {
			t.Errorf("case %v: got width %d px, want %d", name, got, want)
		}
		_ = h
		svg, _ := Encode(pic, "svg")
		dec := xml.NewDecoder(bytes.NewReader(svg))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("case %v: the SVG is not XML: %v", name, err)
				break
			}
		}
	}
}

// fillCount counts the SVG paths filled with each palette colour.
func fillCount(svg []byte) map[int]int {
	n := map[int]int{}
	for i, c := range Palette {
		n[i] = strings.Count(string(svg), fmt.Sprintf("style=\"fill:#%02X%02X%02X\"", c.R, c.G, c.B))
	}
	return n
}

func TestFeaturePlotPointsAndColours(t *testing.T) {
	for i, test := range []struct {
		k, n, max int
		want      int // points drawn per class
	}{
		{3, 20, 0, 20},   // all drawn
		{4, 50, 100, -1}, // subsampled to 100 in all: per class unknown, total checked
	} {
		f := synthFeatures(test.k, test.n, 2)
		f.MaxPoints = test.max
		pic, err := FeaturePlot(f)
		if err != nil {
			t.Fatal(err)
		}
		svg, _ := Encode(pic, "svg")
		counts := fillCount(svg)
		total := 0
		for c := range Palette {
			// Classes 0..3 have filled markers: each point, its centre and its
			// legend entry are one filled path each.
			got := counts[c]
			if c >= test.k {
				if got != 0 {
					t.Errorf("case %v: colour %d (no such class) filled %d times", i, c, got)
				}
				continue
			}
			if test.want >= 0 && got != test.want+2 {
				t.Errorf("case %v: class %d: got %d filled paths, want %d points + centre + legend", i, c, got, test.want)
			}
			total += got - 2
		}
		if test.max > 0 && total != test.max {
			t.Errorf("case %v: got %d points drawn, want the subsample of %d", i, total, test.max)
		}
		// The PNG holds each class colour, and no other palette colour.
		raw, _ := Encode(pic, "png")
		img, _ := png.Decode(bytes.NewReader(raw))
		seen := map[int]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				for c, p := range Palette {
					if uint8(r>>8) == p.R && uint8(g>>8) == p.G && uint8(bl>>8) == p.B {
						seen[c] = true
					}
				}
			}
		}
		for c := range Palette[:len(Palette)-1] { // the last, a grey, is also in anti-aliased black text
			if seen[c] != (c < test.k) {
				t.Errorf("case %v: colour %d in the PNG: got %v, want %v", i, c, seen[c], c < test.k)
			}
		}
	}
}

func TestFeaturePlotSubsampleSeeded(t *testing.T) {
	f := synthFeatures(3, 100, 2)
	f.MaxPoints = 50
	a, _ := f.layout()
	b, _ := f.layout()
	f.Seed = 9
	c, _ := f.layout()
	if len(a.xs) != 50 || fmt.Sprint(a.xs) != fmt.Sprint(b.xs) {
		t.Errorf("same seed: got %d points, %v, want 50 points, the same twice", len(a.xs), fmt.Sprint(a.xs) == fmt.Sprint(b.xs))
	}
	if fmt.Sprint(a.xs) == fmt.Sprint(c.xs) {
		t.Error("another seed: got the same subsample")
	}
}

func TestFeaturePlotEqualScale(t *testing.T) {
	f := synthFeatures(3, 20, 2)
	for i := range f.X {
		f.X[i][1] *= 0.1 // a flat cloud: the y range must grow to match x
	}
	s, _ := f.layout()
	p := newPlot(f.Title, "x", "y")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = s.bounds()
	pic := &plotPicture{p: p, w: scatterW, h: scatterH, equal: true}
	if _, err := Encode(pic, "png"); err != nil {
		t.Fatal(err)
	}
	// After drawing, one unit is as long on both axes.
	raw, _ := Encode(pic, "svg") // draws again with the widened ranges
	_ = raw
	c := pngCanvas(pic)
	dc := p.DataCanvas(c)
	ux := (p.X.Max - p.X.Min) / float64(dc.Size().X)
	uy := (p.Y.Max - p.Y.Min) / float64(dc.Size().Y)
	if math.Abs(ux-uy) > 1e-6*ux {
		t.Errorf("got %v and %v data units per point on x and y, want them equal", ux, uy)
	}
}

func TestFeaturePlotPCATitle(t *testing.T) {
	f := synthFeatures(3, 20, 4)
	s, err := f.layout()
	if err != nil || s.proj == nil {
		t.Fatalf("D = 4: got projection %v (%v), want one", s.proj, err)
	}
	if s.proj.vars[0] < s.proj.vars[1] || s.proj.vars[0]+s.proj.vars[1] > 1+1e-9 {
		t.Errorf("got variance fractions %v, want decreasing and at most 1 in sum", s.proj.vars)
	}
	svg, _ := Encode(must(FeaturePlot(f)), "svg")
	if !bytes.Contains(svg, []byte("PCA projection of D = 4")) {
		t.Error("the title of a D = 4 scatter does not say it is a PCA projection")
	}
}

func TestLikelihoodGridCoversPlot(t *testing.T) {
	l := synthLikelihood(t)
	if len(l.Grid.Points()) != 400 {
		t.Fatalf("got %d grid points, want 400", len(l.Grid.Points()))
	}
	p, _, err := likelihoodBase(&l.Features)
	if err != nil {
		t.Fatal(err)
	}
	if p.X.Min != l.Grid.XMin || p.X.Max != l.Grid.XMax || p.Y.Min != l.Grid.YMin || p.Y.Max != l.Grid.YMax {
		t.Errorf("got plot ranges %v %v %v %v, want the grid's %+v", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max, l.Grid)
	}
	if _, err := LikelihoodPlot(Likelihood{Features: l.Features, Grid: l.Grid, Z: l.Z[:10]}); err == nil {
		t.Error("10 values for a 20 × 20 grid: got no error, want one")
	}
	f3 := synthFeatures(3, 10, 3)
	if _, err := LikelihoodGrid(f3, 10); err == nil {
		t.Error("D = 3: got no error, want one")
	}
}

func must(p Picture, err error) Picture {
	if err != nil {
		panic(err)
	}
	return p
}

// The error panel is on a log scale; a run whose errors are all zero (a tiny
// --limit run) must still draw, on a linear axis, and a zero among positive
// errors is left out rather than breaking the scale.
func TestCurvesLogErrorPanelWithZeros(t *testing.T) {
	for name, errs := range map[string][]float64{"all zero": {0, 0, 0}, "one zero": {0.1, 0, 0.02}} {
		c := Curve{Name: "r"}
		for e, v := range errs {
			c.Epochs = append(c.Epochs, Epoch{Epoch: e + 1, LR: 0.01, TrainLoss: 1, TrainError: v, TestError: v})
		}
		pic, err := CurvesPlot([]Curve{c})
		if err != nil {
			t.Fatalf("case %s: %v", name, err)
		}
		raw, err := Encode(pic, "png")
		if err != nil {
			t.Fatalf("case %s: %v", name, err)
		}
		if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
			t.Errorf("case %s: %v", name, err)
		}
	}
}
