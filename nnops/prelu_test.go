package nnops

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// preluRef is y = x if x > 0 else a[c]·x over x (B, C, size…).
func preluRef(x, a []float64, c, size int) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = a[(i/size)%c] * v
		}
	}
	return y
}

// TestPReLU checks the forward against preluRef and the gradients with
// respect to x and a against central differences (inputs kept 0.1 away from
// the kink).
func TestPReLU(t *testing.T) {
	for i, c := range []struct {
		x, a tensor.Shape
	}{
		{tensor.Shape{3, 4, 5, 5}, tensor.Shape{4}},
		{tensor.Shape{3, 4, 5, 5}, tensor.Shape{1, 4, 1, 1}},
		{tensor.Shape{5, 3}, tensor.Shape{3}},
		{tensor.Shape{2, 3, 7}, tensor.Shape{3}},
		{tensor.Shape{2, 2, 130, 130}, tensor.Shape{2}}, // planes larger than a work item
	} {
		name := fmt.Sprintf("x%v a%v", c.x, c.a)
		rng := newRand(uint64(200 + i))
		ops := []operand{
			{"x", c.x, awayFromZero(rng, c.x.TotalSize())},
			{"a", c.a, uniform(rng, c.a.TotalSize())},
		}
		r := to64(uniform(rng, c.x.TotalSize()))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return PReLU(in[0], in[1]) })
		y, _, grads := rg.run(t)
		size := c.x.TotalSize() / (c.x[0] * c.x[1])
		ref := func(ps [][]float64) []float64 { return preluRef(ps[0], ps[1], c.x[1], size) }
		ps := [][]float64{to64(ops[0].data), to64(ops[1].data)}
		if ok, msg := close32(y, ref(ps), 1e-7, 1e-6); !ok {
			t.Errorf("case %s: forward: %s", name, msg)
		}
		f := func(ps [][]float64) float64 { return dot(ref(ps), r) }
		var numX []float64
		if c.x.TotalSize() <= 10000 {
			numX = numGrad(f, ps, 0, 1e-3)
		} else {
			// Too many elements to step one by one: dx = R·(1 if x > 0 else a).
			numX = make([]float64, len(r))
			for j, v := range ps[0] {
				numX[j] = r[j]
				if v <= 0 {
					numX[j] *= ps[1][(j/size)%c.x[1]]
				}
			}
		}
		if ok, msg := close32(grads[0], numX, 1e-5, 1e-4); !ok {
			t.Errorf("case %s: d cost/d x: %s", name, msg)
		}
		if ok, msg := close32(grads[1], numGrad(f, ps, 1, 1e-3), 1e-4, 1e-4); !ok {
			t.Errorf("case %s: d cost/d a: %s", name, msg)
		}
	}
}

// reluRef is max(0, x).
func reluRef(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = max(0, v)
	}
	return y
}

// TestReLU checks ReLU against reluRef and central differences.
func TestReLU(t *testing.T) {
	for i, s := range []tensor.Shape{{3, 4, 5, 5}, {7, 3}, {11}, {2, 3, 100, 100}} {
		rng := newRand(uint64(300 + i))
		ops := []operand{{"x", s, awayFromZero(rng, s.TotalSize())}}
		r := to64(uniform(rng, s.TotalSize()))
		rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return ReLU(in[0]) })
		y, _, grads := rg.run(t)
		ps := [][]float64{to64(ops[0].data)}
		if ok, msg := close32(y, reluRef(ps[0]), 0, 0); !ok {
			t.Errorf("case %v: forward: %s", s, msg)
		}
		var num []float64
		if s.TotalSize() > 10000 {
			// The gradient of Σ relu(x)·R is R where x > 0.
			for j, v := range ps[0] {
				num = append(num, r[j]*float64(btof(v > 0)))
			}
		} else {
			num = numGrad(func(ps [][]float64) float64 { return dot(reluRef(ps[0]), r) }, ps, 0, 1e-3)
		}
		if ok, msg := close32(grads[0], num, 1e-5, 1e-5); !ok {
			t.Errorf("case %v: d cost/d x: %s", s, msg)
		}
	}
}

func btof(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// TestReLUNaN checks that NaN passes through ReLU with a zero gradient.
func TestReLUNaN(t *testing.T) {
	nan := float32(math.NaN())
	ops := []operand{{"x", tensor.Shape{4}, []float32{nan, -1, 2, 0}}}
	rg := newRig(t, ops, []float32{1, 2, 3, 4}, func(in G.Nodes) (*G.Node, error) { return ReLU(in[0]) })
	y, _, grads := rg.run(t)
	if ok, msg := close32(y, []float64{math.NaN(), 0, 2, 0}, 0, 0); !ok {
		t.Errorf("case NaN: forward: %s", msg)
	}
	if ok, msg := close32(grads[0], []float64{0, 0, 3, 0}, 0, 0); !ok {
		t.Errorf("case NaN: dx: %s", msg)
	}
}
