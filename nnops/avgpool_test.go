package nnops

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// avgPoolRef is the mean of each of the planes of size values in x.
func avgPoolRef(x []float64, size int) []float64 {
	y := make([]float64, len(x)/size)
	for p := range y {
		for _, v := range x[p*size : (p+1)*size] {
			y[p] += v
		}
		y[p] /= float64(size)
	}
	return y
}

// TestGlobalAvgPool checks the forward against avgPoolRef and the gradient
// with respect to x against central differences.
func TestGlobalAvgPool(t *testing.T) {
	for i, s := range []tensor.Shape{{3, 4, 5, 5}, {2, 3, 1, 1}, {1, 2, 7, 3}, {2, 2, 130, 130}} {
		rng := newRand(uint64(500 + i))
		ops := []operand{{"x", s, uniform(rng, s.TotalSize())}}
		r := to64(uniform(rng, s[0]*s[1]))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return GlobalAvgPool(in[0]) })
		if got, want := rg.y.Shape(), (tensor.Shape{s[0], s[1]}); !got.Eq(want) {
			t.Fatalf("case %v: got shape %v, want %v", s, got, want)
		}
		y, _, grads := rg.run(t)
		size := s[2] * s[3]
		ps := [][]float64{to64(ops[0].data)}
		if ok, msg := close32(y, avgPoolRef(ps[0], size), 1e-7, 1e-6); !ok {
			t.Errorf("case %v: forward: %s", s, msg)
		}
		var num []float64
		if s.TotalSize() > 10000 {
			// Too many elements to step one by one: dx = R / (H·W).
			for j := range ps[0] {
				num = append(num, r[j/size]/float64(size))
			}
		} else {
			num = numGrad(func(ps [][]float64) float64 { return dot(avgPoolRef(ps[0], size), r) }, ps, 0, 1e-3)
		}
		if ok, msg := close32(grads[0], num, 1e-6, 1e-5); !ok {
			t.Errorf("case %v: d cost/d x: %s", s, msg)
		}
	}
}

// TestGlobalAvgPoolErrors checks that inputs that are not (B, C, H, W)
// float32 are refused.
func TestGlobalAvgPoolErrors(t *testing.T) {
	g := G.NewGraph()
	for i, x := range []*G.Node{
		G.NewTensor(g, G.Float32, 3, G.WithShape(2, 3, 4), G.WithName("x3")),
		G.NewTensor(g, G.Float64, 4, G.WithShape(2, 3, 4, 4), G.WithName("x64")),
		nil,
	} {
		if _, err := GlobalAvgPool(x); err == nil {
			t.Errorf("case %d: got no error, want one", i)
		}
	}
}
