package nnops

// Shared test machinery: seeded random data, a graph rig that runs one op
// forward and backward in a TapeMachine, float64 central differences of a
// reference, and comparison helpers.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// uniform returns n values in [-1, 1).
func uniform(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(2*rng.Float64() - 1)
	}
	return s
}

// awayFromZero returns n values in ±[0.1, 1.1), safe for central differences
// of functions with a kink at 0 (step well below 0.1).
func awayFromZero(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		v := 0.1 + rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		s[i] = float32(v)
	}
	return s
}

// distinct returns n values at least 0.01 apart, in random order, so that the
// arg-max of any window survives a step of 1e-3.
func distinct(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i, p := range rng.Perm(n) {
		s[i] = float32(p)*0.01 - float32(n)*0.005
	}
	return s
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// dense wraps a copy of data in a float32 tensor of shape s.
func dense(s tensor.Shape, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(s.Clone()...), tensor.WithBacking(append([]float32(nil), data...)))
}

// operand is one input of the op under test.
type operand struct {
	name  string
	shape tensor.Shape
	data  []float32
}

// rig is an op applied to input nodes in its own graph, with
// cost = Σ y ⊙ R for a fixed R, and a TapeMachine computing y, cost and the
// gradient of cost with respect to every input.
type rig struct {
	g      *G.ExprGraph
	inputs G.Nodes
	y      *G.Node
	yv     G.Value // y, copied out by G.Read during the run
	costv  G.Value
	vm     G.VM
}

// newRig builds build(inputs...) with cost Σ y ⊙ r.
func newRig(t testing.TB, ops []operand, r []float32, build func(G.Nodes) (*G.Node, error)) *rig {
	t.Helper()
	rg := &rig{g: G.NewGraph()}
	for _, o := range ops {
		n := G.NewTensor(rg.g, G.Float32, o.shape.Dims(), G.WithShape(o.shape.Clone()...), G.WithName(o.name),
			G.WithValue(dense(o.shape, o.data)))
		rg.inputs = append(rg.inputs, n)
	}
	var err error
	if rg.y, err = build(rg.inputs); err != nil {
		t.Fatalf("build: %v", err)
	}
	rn := G.NewTensor(rg.g, G.Float32, rg.y.Shape().Dims(), G.WithShape(rg.y.Shape().Clone()...), G.WithName("R"),
		G.WithValue(dense(rg.y.Shape(), r)))
	prod, err := G.HadamardProd(rg.y, rn)
	if err != nil {
		t.Fatalf("HadamardProd: %v", err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatalf("Sum: %v", err)
	}
	G.Read(rg.y, &rg.yv)
	G.Read(cost, &rg.costv)
	if _, err := G.Grad(cost, rg.inputs...); err != nil {
		t.Fatalf("Grad: %v", err)
	}
	rg.vm = G.NewTapeMachine(rg.g, G.BindDualValues(rg.inputs...))
	t.Cleanup(func() { rg.vm.Close() })
	return rg
}

// run sets the inputs (nil keeps one), clears the gradients, runs the
// machine once and returns y, the cost and the gradient of each input.
func (rg *rig) run(t testing.TB, data ...[]float32) (y []float32, cost float64, grads [][]float32) {
	t.Helper()
	for i, d := range data {
		if d != nil {
			copy(rg.inputs[i].Value().Data().([]float32), d)
		}
	}
	clearGrads(t, rg.inputs)
	if err := rg.vm.RunAll(); err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	defer rg.vm.Reset()
	y = append([]float32(nil), rg.yv.Data().([]float32)...)
	cost = float64(rg.costv.Data().(float32))
	for _, n := range rg.inputs {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("Grad of %v: %v", n.Name(), err)
		}
		grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
	}
	return y, cost, grads
}

// clearGrads zeroes the gradients bound to ns: Gorgonia adds every run's
// gradient to them, and Reset does not clear them.
func clearGrads(t testing.TB, ns G.Nodes) {
	t.Helper()
	for _, n := range ns {
		gv, err := n.Grad()
		if d, ok := gv.(tensor.Tensor); ok && err == nil {
			d.Zero()
		} // else not run yet: nothing to clear
	}
}

// numGrad is the central difference of f at p with respect to each element
// of ps[which], in float64.
func numGrad(f func(ps [][]float64) float64, ps [][]float64, which int, h float64) []float64 {
	p := ps[which]
	g := make([]float64, len(p))
	for i := range p {
		v := p[i]
		p[i] = v + h
		fp := f(ps)
		p[i] = v - h
		fm := f(ps)
		p[i] = v
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// dot is Σ a·b.
func dot(a []float64, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// close32 reports whether got and want agree within atol + rtol·|want|
// elementwise, and describes the worst element.
func close32(got []float32, want []float64, atol, rtol float64) (bool, string) {
	if len(got) != len(want) {
		return false, fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		g := float64(got[i])
		if g == want[i] || math.IsNaN(want[i]) && math.IsNaN(g) {
			continue
		}
		excess := math.Abs(g-want[i]) / (atol + rtol*math.Abs(want[i]))
		if math.IsNaN(excess) {
			excess = math.Inf(1)
		}
		if excess > worst {
			worst, at = excess, i
		}
	}
	if worst <= 1 {
		return true, ""
	}
	return false, fmt.Sprintf("element %d: got %v, want %v", at, got[at], want[at])
}
