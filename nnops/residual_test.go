package nnops

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// residualRef is max(0, a + P(x)) of ResidualReLU, in float64.
func residualRef(a, x []float64, as, xs tensor.Shape, s int) []float64 {
	y := make([]float64, len(a))
	b, c, oh, ow := as[0], as[1], as[2], as[3]
	cx, h, w := xs[1], xs[2], xs[3]
	p := (c - cx) / 2 // zero channels before x's
	for n := 0; n < b; n++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					k := ((n*c+ch)*oh+i)*ow + j
					v := a[k]
					if xc := ch - p; xc >= 0 && xc < cx {
						v += x[((n*cx+xc)*h+i*s)*w+j*s]
					}
					y[k] = math.Max(0, v)
				}
			}
		}
	}
	return y
}

var residualCases = []struct {
	as, xs tensor.Shape
	stride int
}{
	{tensor.Shape{3, 4, 5, 5}, tensor.Shape{3, 4, 5, 5}, 1}, // identity
	{tensor.Shape{2, 4, 4, 4}, tensor.Shape{2, 2, 8, 8}, 2}, // ResNet's stage change: stride 2, channels doubled
	{tensor.Shape{2, 7, 4, 4}, tensor.Shape{2, 3, 7, 7}, 2}, // odd size: 7 → 4 (MNIST's 7×7 stage)
	{tensor.Shape{2, 6, 3, 3}, tensor.Shape{2, 3, 3, 3}, 1}, // zero channels only: 1 before x's, 2 after
	{tensor.Shape{1, 3, 2, 3}, tensor.Shape{1, 1, 6, 9}, 3}, // stride 3, not square
	{tensor.Shape{4, 8, 4, 4}, tensor.Shape{4, 4, 8, 8}, 2}, // several workers
}

// TestResidualReLU checks the forward against residualRef and the gradients
// with respect to a and x against central differences.
func TestResidualReLU(t *testing.T) {
	for i, c := range residualCases {
		name := fmt.Sprintf("a%v x%v stride %d", c.as, c.xs, c.stride)
		rng := newRand(uint64(700 + i))
		// a in ±[0.1, 1.1), x in [-0.05, 0.05): a + P(x) is at least 0.05 from
		// the kink at 0, which a step of 1e-3 does not cross.
		av, xv := awayFromZero(rng, c.as.TotalSize()), uniform(rng, c.xs.TotalSize())
		for j := range xv {
			xv[j] *= 0.05
		}
		ops := []operand{{"a", c.as, av}, {"x", c.xs, xv}}
		r := to64(uniform(rng, c.as.TotalSize()))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return ResidualReLU(in[0], in[1], c.stride) })
		if got := rg.y.Shape(); !got.Eq(c.as) {
			t.Fatalf("case %s: got shape %v, want %v", name, got, c.as)
		}
		for run := 0; run < 2; run++ { // the second run reuses every buffer
			y, _, grads := rg.run(t)
			ps := [][]float64{to64(av), to64(xv)}
			if ok, msg := close32(y, residualRef(ps[0], ps[1], c.as, c.xs, c.stride), 1e-7, 1e-6); !ok {
				t.Errorf("case %s run %d: forward: %s", name, run, msg)
			}
			f := func(ps [][]float64) float64 { return dot(residualRef(ps[0], ps[1], c.as, c.xs, c.stride), r) }
			for k, what := range []string{"a", "x"} {
				num := numGrad(f, ps, k, 1e-3)
				if ok, msg := close32(grads[k], num, 1e-5, 1e-4); !ok {
					t.Errorf("case %s run %d: d cost/d %s: %s", name, run, what, msg)
				}
			}
		}
	}
}

// TestResidualReLUMatchesStock compares the identity shortcut with
// G.Rectify(G.Add(a, x)): values and gradients bit for bit (one float32 add
// and a max each).
func TestResidualReLUMatchesStock(t *testing.T) {
	s := tensor.Shape{3, 4, 6, 6}
	rng := newRand(9)
	ops := []operand{{"a", s, uniform(rng, s.TotalSize())}, {"x", s, uniform(rng, s.TotalSize())}}
	r := uniform(rng, s.TotalSize())
	ours := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) { return ResidualReLU(in[0], in[1], 1) })
	stock := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) {
		sum, err := G.Add(in[0], in[1])
		if err != nil {
			return nil, err
		}
		return G.Rectify(sum)
	})
	y1, _, g1 := ours.run(t)
	y2, _, g2 := stock.run(t)
	if ok, msg := close32(y1, to64(y2), 0, 0); !ok {
		t.Errorf("case forward: %s", msg)
	}
	for k := range g1 {
		if ok, msg := close32(g1[k], to64(g2[k]), 0, 0); !ok {
			t.Errorf("case gradient %d: %s", k, msg)
		}
	}
}

// TestResidualReLUNaN: NaN gives NaN out and a zero gradient.
func TestResidualReLUNaN(t *testing.T) {
	s := tensor.Shape{1, 1, 1, 2}
	nan := float32(math.NaN())
	rg := newRig(t, []operand{{"a", s, []float32{nan, 1}}, {"x", s, []float32{1, 1}}}, []float32{1, 1},
		func(in G.Nodes) (*G.Node, error) { return ResidualReLU(in[0], in[1], 1) })
	y, _, grads := rg.run(t)
	if !math.IsNaN(float64(y[0])) || y[1] != 2 || grads[0][0] != 0 || grads[0][1] != 1 {
		t.Errorf("case NaN: got y %v, da %v; want [NaN 2], [0 1]", y, grads[0])
	}
}

// TestResidualReLUErrors checks that shapes that do not fit are refused.
func TestResidualReLUErrors(t *testing.T) {
	g := G.NewGraph()
	n := func(name string, dt tensor.Dtype, s ...int) *G.Node {
		return G.NewTensor(g, dt, len(s), G.WithShape(s...), G.WithName(name))
	}
	a := n("a", G.Float32, 2, 4, 4, 4)
	for i, c := range []struct {
		a, x   *G.Node
		stride int
	}{
		{a, n("x1", G.Float32, 2, 4, 4, 4), 0},   // stride 0
		{a, n("x2", G.Float32, 3, 4, 4, 4), 1},   // batch
		{a, n("x3", G.Float32, 2, 5, 4, 4), 1},   // more channels than a
		{a, n("x4", G.Float32, 2, 4, 8, 8), 1},   // size without the stride
		{a, n("x5", G.Float32, 2, 4, 9, 9), 2},   // 9 → 5, not 4
		{a, n("x6", G.Float64, 2, 4, 4, 4), 1},   // float64
		{a, n("x7", G.Float32, 2, 4, 16), 1},     // 3-D
		{nil, a, 1},                              // nil
		{n("a2", G.Float32, 2, 4, 4, 4), nil, 1}, // nil
	} {
		if _, err := ResidualReLU(c.a, c.x, c.stride); err == nil {
			t.Errorf("case %d: got no error, want one", i)
		}
	}
}

// TestResidualReLUDoesNotAllocate: after a warm-up call, the forward and
// both backward ops reuse their outputs, and write into a preallocated
// tensor of the right shape.
func TestResidualReLUDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rng := newRand(11)
	s := residualShape{aShape: tensor.Shape{8, 8, 6, 6}, xShape: tensor.Shape{8, 4, 12, 12}, stride: 2}
	a, x := dense(s.aShape, uniform(rng, s.aShape.TotalSize())), dense(s.xShape, uniform(rng, s.xShape.TotalSize()))
	for _, c := range []struct {
		name  string
		op    G.UsePreallocDoer
		in    []G.Value
		shape tensor.Shape
	}{
		{"residual", &residualOp{residualShape: s, opBase: newBase()}, []G.Value{a, x}, s.aShape},
		{"residual da", &residualGradAOp{residualShape: s, opBase: newBase()}, []G.Value{a, a}, s.aShape},
		{"residual dx", &residualGradXOp{residualShape: s, opBase: newBase()}, []G.Value{a}, s.xShape},
	} {
		op := c.op.(G.Op)
		do := func() {
			if _, err := op.Do(c.in...); err != nil {
				t.Fatalf("case %s: %v", c.name, err)
			}
		}
		do()
		if got := testing.AllocsPerRun(10, do); got != 0 {
			t.Errorf("case %s: got %v allocations per call, want 0", c.name, got)
		}
		want, _ := op.Do(c.in...)
		p := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(c.shape.Clone()...))
		got, err := c.op.UsePreallocDo(p, c.in...)
		if err != nil || got != G.Value(p) {
			t.Fatalf("case %s: UsePreallocDo did not write into the preallocated tensor (%v)", c.name, err)
		}
		if ok, msg := close32(p.Float32s(), to64(want.Data().([]float32)), 0, 0); !ok {
			t.Errorf("case %s: into prealloc: %s", c.name, msg)
		}
	}
}
