package nnops

import (
	"github.com/lgm-dev/lgm/internal/gemm"

	"fmt"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convRef is a direct float64 convolution: x (B, Cin, H, W), w (Cout, Cin,
// K, K), b (Cout) → (B, Cout, H', W').
func convRef(x, w, b []float64, bsz, cin, h, wd, cout, k, s, p int) []float64 {
	oh, ow := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	y := make([]float64, bsz*cout*oh*ow)
	for i := range y {
		y[i] = b[i/(oh*ow)%cout]
	}
	convTaps(bsz, cin, h, wd, cout, k, s, p, func(xi, wi, yi int) { y[yi] += w[wi] * x[xi] })
	return y
}

// convTaps calls f with the indices of x, w and y of every product of a
// direct convolution, in the order of the sum of each output.
func convTaps(bsz, cin, h, wd, cout, k, s, p int, f func(xi, wi, yi int)) {
	oh, ow := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	for n := 0; n < bsz; n++ {
		for o := 0; o < cout; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					yi := ((n*cout+o)*oh+i)*ow + j
					for c := 0; c < cin; c++ {
						for u := 0; u < k; u++ {
							for v := 0; v < k; v++ {
								ih, iw := i*s-p+u, j*s-p+v
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								f(((n*cin+c)*h+ih)*wd+iw, ((o*cin+c)*k+u)*k+v, yi)
							}
						}
					}
				}
			}
		}
	}
}

type convCase struct {
	b, cin, h, w, cout, k, s, p int
	bShape                      tensor.Shape // nil: (Cout)
	noBias                      bool         // Conv2d(x, w, nil, …)
}

func (c convCase) String() string {
	return fmt.Sprintf("x(%d,%d,%d,%d) w(%d,%d,%d,%d) s%d p%d b%v nobias=%v", c.b, c.cin, c.h, c.w, c.cout, c.cin, c.k, c.k, c.s, c.p, c.bShape, c.noBias)
}

func convCases() []convCase {
	var cs []convCase
	for _, hw := range []int{7, 9} {
		for _, k := range []int{3, 5} {
			for _, p := range []int{0, 1, 2} {
				for _, s := range []int{1, 2} {
					cs = append(cs, convCase{b: 3, cin: 2, h: hw, w: hw, cout: 5, k: k, s: s, p: p})
				}
			}
		}
	}
	return append(cs,
		convCase{b: 3, cin: 2, h: 7, w: 9, cout: 5, k: 3, s: 2, p: 1},                                   // H ≠ W
		convCase{b: 3, cin: 4, h: 6, w: 5, cout: 3, k: 1, s: 1, p: 0},                                   // 1×1: no im2col
		convCase{b: 2, cin: 3, h: 5, w: 5, cout: 4, k: 1, s: 2, p: 1},                                   // 1×1 strided, padded
		convCase{b: 3, cin: 2, h: 8, w: 8, cout: 5, k: 5, s: 1, p: 2, bShape: tensor.Shape{1, 5, 1, 1}}, // model's bias shape
		convCase{b: 5, cin: 1, h: 4, w: 4, cout: 2, k: 4, s: 3, p: 0},                                   // window = image
		convCase{b: 17, cin: 2, h: 5, w: 5, cout: 3, k: 3, s: 1, p: 1},                                  // several groups, the last one short
		convCase{b: 2, cin: 1, h: 20, w: 20, cout: 2, k: 5, s: 1, p: 2},                                 // one image per group, bands of rows
		convCase{b: 2, cin: 1, h: 33, w: 33, cout: 2, k: 3, s: 2, p: 1},                                 // the same, strided
		convCase{b: 2, cin: 2, h: 16, w: 16, cout: 3, k: 3, s: 1, p: 1},                                 // 256 columns: col rows padded (gemm.InPlaceStride)
		convCase{b: 9, cin: 1, h: 8, w: 8, cout: 3, k: 3, s: 1, p: 1},                                   // four 8×8 side by side: padded too
		// Without a bias (VGG's convolutions): one image per group, groups, strided, 1×1.
		convCase{b: 2, cin: 2, h: 16, w: 16, cout: 3, k: 3, s: 1, p: 1, noBias: true},
		convCase{b: 9, cin: 2, h: 8, w: 8, cout: 3, k: 3, s: 1, p: 1, noBias: true},
		convCase{b: 3, cin: 2, h: 9, w: 9, cout: 5, k: 3, s: 2, p: 1, noBias: true},
		convCase{b: 3, cin: 4, h: 6, w: 5, cout: 3, k: 1, s: 1, p: 0, noBias: true},
	)
}

// TestConv2d checks the forward against convRef and the gradients with
// respect to x, w and b against central differences of convRef.
func TestConv2d(t *testing.T) { testConv2d(t, convCases()) }

// TestConv2dPadded runs every stride-1 case through the padded convolution
// (gemm.SgemmGather on a zero-bordered copy of the image; forward and the
// dx that is a convolution) and the padded weight gradient (padW), with the
// narrowest rows and fewest taps too, and adds shapes with H ≠ W, pad 0, a
// pad below K−1 and many taps.
func TestConv2dPadded(t *testing.T) { testConv2dStride1(t, 1) }

// TestConv2dRows runs the same cases through rowConv (the taps packed from
// padded images 8 positions at a time) instead, and padW for dw.
func TestConv2dRows(t *testing.T) { testConv2dStride1(t, -1) }

// testConv2dStride1 runs the stride-1 cases with every geometry's
// unfolding skipped: padded when waste is 1, as a rowConv when it is −1.
func testConv2dStride1(t *testing.T, waste float64) {
	if !gemm.HasGather() {
		t.Skip("no gather GEMM on this machine")
	}
	// The Winograd path off: these cases are for the padded and row paths
	// (TestConv2dWino runs them through Winograd).
	oldW, oldW3, oldK, oldRK, oldWino := padMaxWaste, padMaxWaste3, padMinK, rowMinK, winoOn
	padMaxWaste, padMaxWaste3, padMinK, rowMinK, winoOn = waste, waste, 1, 1, false
	defer func() { padMaxWaste, padMaxWaste3, padMinK, rowMinK, winoOn = oldW, oldW3, oldK, oldRK, oldWino }()
	cs := append(convCases(),
		convCase{b: 2, cin: 3, h: 13, w: 17, cout: 9, k: 5, s: 1, p: 2},
		convCase{b: 2, cin: 3, h: 13, w: 17, cout: 9, k: 5, s: 1, p: 0},
		convCase{b: 2, cin: 2, h: 11, w: 6, cout: 17, k: 5, s: 1, p: 1, noBias: true},
		convCase{b: 3, cin: 5, h: 14, w: 14, cout: 4, k: 3, s: 1, p: 1},
		convCase{b: 2, cin: 21, h: 6, w: 6, cout: 10, k: 5, s: 1, p: 2}, // dw: K = 525 > one block of 480 taps, a partial tap group
		convCase{b: 11, cin: 3, h: 7, w: 7, cout: 9, k: 5, s: 1, p: 2},  // rowConv: several groups, the last one short
	)
	var stride1 []convCase
	for _, c := range cs {
		if c.s == 1 {
			stride1 = append(stride1, c)
		}
	}
	testConv2d(t, stride1)
}

func testConv2d(t *testing.T, cases []convCase) { testConv2dTol(t, cases, 1e-5) }

// testConv2dTol is testConv2d with the forward's tolerance (absolute and
// relative) fwdTol.
func testConv2dTol(t *testing.T, cases []convCase, fwdTol float64) {
	for _, c := range cases {
		rng := newRand(uint64(c.h*1000 + c.k*100 + c.p*10 + c.s))
		oh, ow := (c.h+2*c.p-c.k)/c.s+1, (c.w+2*c.p-c.k)/c.s+1
		bShape := c.bShape
		if bShape == nil {
			bShape = tensor.Shape{c.cout}
		}
		ops := []operand{
			{"x", tensor.Shape{c.b, c.cin, c.h, c.w}, uniform(rng, c.b*c.cin*c.h*c.w)},
			{"w", tensor.Shape{c.cout, c.cin, c.k, c.k}, uniform(rng, c.cout*c.cin*c.k*c.k)},
			{"b", bShape, uniform(rng, c.cout)},
		}
		if c.noBias {
			ops = ops[:2]
		}
		r := to64(uniform(rng, c.b*c.cout*oh*ow))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) {
			if c.noBias {
				return Conv2d(in[0], in[1], nil, c.s, c.p)
			}
			return Conv2d(in[0], in[1], in[2], c.s, c.p)
		})
		if got := rg.y.Shape(); !got.Eq(tensor.Shape{c.b, c.cout, oh, ow}) {
			t.Fatalf("case %v: got shape %v, want %v", c, got, tensor.Shape{c.b, c.cout, oh, ow})
		}
		if c.noBias {
			for _, n := range rg.g.AllNodes() {
				if _, ok := n.Op().(*convGradBOp); ok {
					t.Errorf("case %v: the graph has a bias gradient %v", c, n)
				}
			}
		}
		y, cost, grads := rg.run(t)

		ref := func(ps [][]float64) []float64 {
			bias := make([]float64, c.cout)
			if !c.noBias {
				bias = ps[2]
			}
			return convRef(ps[0], ps[1], bias, c.b, c.cin, c.h, c.w, c.cout, c.k, c.s, c.p)
		}
		ps := make([][]float64, len(ops))
		for i, o := range ops {
			ps[i] = to64(o.data)
		}
		want := ref(ps)
		if ok, msg := close32(y, want, fwdTol, fwdTol); !ok {
			t.Errorf("case %v: forward: %s", c, msg)
		}
		if wantCost := dot(want, r); !closeScalar(cost, wantCost, 1e-4) {
			t.Errorf("case %v: got cost %v, want %v", c, cost, wantCost)
		}
		f := func(ps [][]float64) float64 { return dot(ref(ps), r) }
		for i, o := range ops {
			num := numGrad(f, ps, i, 1e-3)
			if ok, msg := close32(grads[i], num, 1e-4, 1e-4); !ok {
				t.Errorf("case %v: d cost/d %s: %s", c, o.name, msg)
			}
		}
	}
}

// TestConv2dRepeat runs one machine on two batches and checks that the
// second run, with the op's reused buffers, is right.
func TestConv2dRepeat(t *testing.T) {
	c := convCase{b: 3, cin: 2, h: 9, w: 9, cout: 5, k: 5, s: 1, p: 2}
	rng := newRand(7)
	ops := []operand{
		{"x", tensor.Shape{c.b, c.cin, c.h, c.w}, uniform(rng, c.b*c.cin*c.h*c.w)},
		{"w", tensor.Shape{c.cout, c.cin, c.k, c.k}, uniform(rng, c.cout*c.cin*c.k*c.k)},
		{"b", tensor.Shape{c.cout}, uniform(rng, c.cout)},
	}
	r := to64(uniform(rng, c.b*c.cout*c.h*c.w))
	rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return Conv2d(in[0], in[1], in[2], c.s, c.p) })
	_, _, first := rg.run(t)
	x2 := uniform(rng, len(ops[0].data))
	y, _, second := rg.run(t, x2)
	want := convRef(to64(x2), to64(ops[1].data), to64(ops[2].data), c.b, c.cin, c.h, c.w, c.cout, c.k, c.s, c.p)
	if ok, msg := close32(y, want, 1e-5, 1e-5); !ok {
		t.Errorf("case %v: second run forward: %s", c, msg)
	}
	// dx depends only on w and R, so it must not change (nor accumulate).
	if ok, msg := close32(second[0], to64(first[0]), 0, 0); !ok {
		t.Errorf("case %v: second run dx: %s", c, msg)
	}
	// db depends only on R.
	if ok, msg := close32(second[2], to64(first[2]), 0, 0); !ok {
		t.Errorf("case %v: second run db: %s", c, msg)
	}
}

// TestConv2dErrors checks that bad shapes are refused with an error.
func TestConv2dErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
	x64 := G.NewTensor(g, G.Float64, 4, G.WithShape(2, 3, 8, 8), G.WithName("x64"))
	w := G.NewTensor(g, G.Float32, 4, G.WithShape(4, 3, 3, 3), G.WithName("w"))
	wBad := G.NewTensor(g, G.Float32, 4, G.WithShape(4, 2, 3, 3), G.WithName("wBad"))
	wBig := G.NewTensor(g, G.Float32, 4, G.WithShape(4, 3, 11, 11), G.WithName("wBig"))
	b := G.NewTensor(g, G.Float32, 1, G.WithShape(4), G.WithName("b"))
	bBad := G.NewTensor(g, G.Float32, 1, G.WithShape(5), G.WithName("bBad"))
	for i, c := range []struct {
		x, w, b     *G.Node
		stride, pad int
	}{
		{x64, w, b, 1, 0}, {x, wBad, b, 1, 0}, {x, w, bBad, 1, 0}, {x, wBig, b, 1, 1}, {x, w, b, 0, 0}, {x, w, b, 1, -1},
	} {
		if _, err := Conv2d(c.x, c.w, c.b, c.stride, c.pad); err == nil {
			t.Errorf("case %d: got no error, want one", i)
		}
	}
}

func toF32(s []float64) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}

func closeScalar(got, want, rtol float64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	m := want
	if m < 0 {
		m = -m
	}
	return d <= rtol*(1+m)
}

// TestConvGroups checks that the groups of images the conv ops work on
// cover the batch once, the last one possibly short.
func TestConvGroups(t *testing.T) {
	for _, c := range []struct{ b, hw, k, p, want int }{
		{17, 5, 3, 1, min(17, groupCols/25)}, {128, 7, 5, 2, groupCols / 49}, {128, 28, 5, 2, 1}, {3, 7, 5, 2, 3}, {4, 6, 1, 0, 1},
	} {
		s := newConvShape(tensor.Shape{c.b, 2, c.hw, c.hw}, tensor.Shape{3, 2, c.k, c.k}, tensor.Shape{3}, 1, c.p)
		if s.group != c.want {
			t.Errorf("case %+v: got group %d, want %d", c, s.group, c.want)
		}
		seen := 0
		for i := 0; i < s.items(); i++ {
			n0, g := s.images(i)
			if n0 != seen || g < 1 || g > s.group {
				t.Errorf("case %+v: got group %d = images %d..%d, want from %d", c, i, n0, n0+g-1, seen)
			}
			seen = n0 + g
		}
		if seen != c.b {
			t.Errorf("case %+v: got %d images covered, want %d", c, seen, c.b)
		}
	}
}
