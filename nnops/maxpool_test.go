package nnops

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxPoolRef is a float64 max-pooling over (B·C) planes of H×W with the
// documented NaN rule (the first NaN of a window wins). It returns y and,
// for each output, the index of the chosen input within x.
func maxPoolRef(x []float64, planes, h, w, k, s int) (y []float64, arg []int) {
	oh, ow := (h-k)/s+1, (w-k)/s+1
	for p := 0; p < planes; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				best, at := math.Inf(-1), -1
				for u := 0; u < k && !math.IsNaN(best); u++ {
					for v := 0; v < k; v++ {
						idx := (p*h+i*s+u)*w + j*s + v
						if xv := x[idx]; at < 0 || xv > best || math.IsNaN(xv) {
							best, at = xv, idx
							if math.IsNaN(xv) {
								break
							}
						}
					}
				}
				y, arg = append(y, best), append(arg, at)
			}
		}
	}
	return y, arg
}

type poolCase struct{ b, c, h, w, k, s int }

func (c poolCase) String() string {
	return fmt.Sprintf("x(%d,%d,%d,%d) k%d s%d", c.b, c.c, c.h, c.w, c.k, c.s)
}

var poolCases = []poolCase{
	{3, 2, 7, 7, 2, 2}, // floor: 7 → 3
	{3, 2, 8, 8, 2, 2},
	{3, 2, 9, 9, 3, 2}, // overlapping windows
	{2, 3, 8, 8, 2, 1},
	{2, 3, 7, 9, 3, 3}, // H ≠ W
	{4, 1, 5, 5, 5, 1}, // window = plane
}

// TestMaxPool2d checks the forward against maxPoolRef and the gradient with
// respect to x against central differences (on inputs at least 0.01 apart,
// so that no arg-max changes within a step).
func TestMaxPool2d(t *testing.T) {
	for i, c := range poolCases {
		rng := newRand(uint64(100 + i))
		n := c.b * c.c * c.h * c.w
		oh, ow := (c.h-c.k)/c.s+1, (c.w-c.k)/c.s+1
		ops := []operand{{"x", tensor.Shape{c.b, c.c, c.h, c.w}, distinct(rng, n)}}
		r := to64(uniform(rng, c.b*c.c*oh*ow))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return MaxPool2d(in[0], c.k, c.s) })
		if got, want := rg.y.Shape(), (tensor.Shape{c.b, c.c, oh, ow}); !got.Eq(want) {
			t.Fatalf("case %v: got shape %v, want %v", c, got, want)
		}
		y, _, grads := rg.run(t)
		ref := func(ps [][]float64) []float64 {
			y, _ := maxPoolRef(ps[0], c.b*c.c, c.h, c.w, c.k, c.s)
			return y
		}
		ps := [][]float64{to64(ops[0].data)}
		if ok, msg := close32(y, ref(ps), 0, 0); !ok {
			t.Errorf("case %v: forward: %s", c, msg)
		}
		num := numGrad(func(ps [][]float64) float64 { return dot(ref(ps), r) }, ps, 0, 1e-3)
		if ok, msg := close32(grads[0], num, 1e-5, 1e-5); !ok {
			t.Errorf("case %v: d cost/d x: %s", c, msg)
		}
	}
}

// TestMaxPool2dNaN feeds NaN, ±Inf and ties: no panic, the forward follows
// the documented rule (first NaN, else first maximum) and the gradient goes
// to the chosen element.
func TestMaxPool2dNaN(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	for i, c := range []struct {
		name string
		x    []float32 // one 4×4 plane, k = s = 2
	}{
		{"all NaN", []float32{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}},
		{"NaN first", []float32{nan, 5, 1, 2, 9, 3, 3, nan, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"NaN after the max", []float32{9, 1, 1, 2, 1, nan, 3, 4, -inf, -inf, inf, 1, -inf, -inf, 2, inf}},
		{"Inf", []float32{inf, inf, -inf, -inf, inf, inf, -inf, -inf, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"ties and signed zeros", []float32{negZero, 0, -1, -1, 0, negZero, -1, -2, 3, 1, 2, 2, 1, 3, 2, 2}},
	} {
		ops := []operand{{"x", tensor.Shape{1, 1, 4, 4}, c.x}}
		r := []float32{1, 2, 3, 4}
		rg := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) { return MaxPool2d(in[0], 2, 2) })
		y, _, grads := rg.run(t) // must not panic
		wantY, arg := maxPoolRef(to64(c.x), 1, 4, 4, 2, 2)
		if ok, msg := close32(y, wantY, 0, 0); !ok {
			t.Errorf("case %d (%s): forward: %s", i, c.name, msg)
		}
		wantDx := make([]float64, 16)
		for o, at := range arg {
			wantDx[at] += float64(r[o])
		}
		if ok, msg := close32(grads[0], wantDx, 0, 0); !ok {
			t.Errorf("case %d (%s): dx: %s", i, c.name, msg)
		}
	}
}

// TestMaxPool2dErrors checks that impossible pools are refused.
func TestMaxPool2dErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	x3 := G.NewTensor(g, G.Float32, 3, G.WithShape(2, 3, 4), G.WithName("x3"))
	for i, c := range []struct {
		x    *G.Node
		k, s int
	}{{x, 5, 1}, {x, 0, 1}, {x, 2, 0}, {x3, 2, 2}} {
		if _, err := MaxPool2d(c.x, c.k, c.s); err == nil {
			t.Errorf("case %d: got no error, want one", i)
		}
	}
}

// TestMaxPool2x2SIMD: the AVX2 2×2 stride-2 path against the Go path and
// maxPoolRef, bit for bit in y and exact in the arg-max, on planes wide
// enough for its blocks of 8 windows (and odd widths, with tails), over
// values drawn from a small set so that ties, −0 against +0 and ±Inf are
// common, with NaNs (of either sign: order keys would not find them all) in
// some planes.
func TestMaxPool2x2SIMD(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 here")
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	set := []float32{-1, negZero, 0, 1, 2, inf, -inf, 0.5}
	rng := newRand(7)
	for _, c := range []poolCase{{2, 3, 4, 16, 2, 2}, {1, 2, 5, 17, 2, 2}, {2, 2, 6, 32, 2, 2}, {1, 3, 3, 41, 2, 2}, {1, 1, 2, 50, 2, 2}} {
		for _, nanRate := range []float64{0, 0.02} {
			n := c.b * c.c * c.h * c.w
			data := make([]float32, n)
			for i := range data {
				data[i] = set[rng.IntN(len(set))]
				if rng.Float64() < nanRate { // NaNs of both signs and several payloads
					data[i] = []float32{nan, -nan, math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00123)}[rng.IntN(4)]
				}
			}
			run := func(simd bool) ([]float32, []int32) {
				defer func(v bool) { useSIMD = v }(useSIMD)
				useSIMD = simd
				g := newGeom(1, c.h, c.w, 2, 2, 0)
				op := &maxPoolOp{geom: g, planes: c.b * c.c, xShape: tensor.Shape{c.b, c.c, c.h, c.w},
					yShape: tensor.Shape{c.b, c.c, g.oh, g.ow}, opBase: newBase()}
				x := tensor.New(tensor.WithShape(c.b, c.c, c.h, c.w), tensor.WithBacking(append([]float32(nil), data...)))
				y, err := op.UsePreallocDo(nil, x)
				if err != nil {
					t.Fatal(err)
				}
				return append([]float32(nil), y.(*tensor.Dense).Float32s()...), append([]int32(nil), op.argmax...)
			}
			ys, as := run(true)
			yg, ag := run(false)
			_, arg := maxPoolRef(to64(data), c.b*c.c, c.h, c.w, 2, 2)
			hw, ohw := c.h*c.w, len(ys)/(c.b*c.c)
			for i := range ys {
				if math.Float32bits(ys[i]) != math.Float32bits(yg[i]) || as[i] != ag[i] {
					t.Fatalf("%v, NaN rate %g: output %d: AVX2 %v at %d, Go %v at %d", c, nanRate, i, ys[i], as[i], yg[i], ag[i])
				}
				if want := arg[i] - i/ohw*hw; int(as[i]) != want {
					t.Fatalf("%v, NaN rate %g: output %d: arg-max %d, reference %d", c, nanRate, i, as[i], want)
				}
			}
		}
	}
}
