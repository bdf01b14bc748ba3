package loss

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// uniform draws n values from U(-bound, bound) using rng. The draws do not depend on the
// dtype, so float32 and float64 heads built from the same seed start from the same values
// (up to rounding).
func uniform(rng *rand.Rand, n int, bound float64) []float64 {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = (2*rng.Float64() - 1) * bound
	}
	return vals
}

// fanInBound is PyTorch's default bound for nn.Linear's weight and bias, 1/√fanIn.
func fanInBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }

// newParam makes a learnable node of dtype dt named name, holding vals in row-major order.
// A 1-D shape makes a vector, a 2-D shape a matrix.
func newParam(g *G.ExprGraph, dt tensor.Dtype, name string, vals []float64, shape ...int) *G.Node {
	var backing any
	switch dt {
	case tensor.Float64:
		backing = append([]float64(nil), vals...)
	default:
		b := make([]float32, len(vals))
		for i, v := range vals {
			b[i] = float32(v)
		}
		backing = b
	}
	val := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing))
	opts := []G.NodeConsOpt{G.WithName(name), G.WithShape(shape...), G.WithValue(val)}
	if len(shape) == 1 {
		return G.NewVector(g, dt, opts...)
	}
	return G.NewMatrix(g, dt, opts...)
}

// normal draws n values from N(0, std²) using rng, independently of the dtype like uniform.
func normal(rng *rand.Rand, n int, std float64) []float64 {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = std * rng.NormFloat64()
	}
	return vals
}

// scalarInput is a scalar input node of a head's graph: a hyperparameter (λ, α, β) the
// head sets before each step. It is not a learnable.
type scalarInput struct {
	name string
	node *G.Node // ()
	dt   tensor.Dtype
}

// newScalarInput makes a scalar input node of dtype dt named "head."+name holding v.
func newScalarInput(g *G.ExprGraph, dt tensor.Dtype, name string, v float64) *scalarInput {
	s := &scalarInput{name: name, dt: dt}
	s.node = G.NewScalar(g, dt, G.WithName("head."+name))
	s.set(v)
	return s
}

// set makes v the node's value: written into the value bound by the first call, so that a
// training step allocates nothing (the machines only read input values; a whole-scalar
// write replaces anything a run could have left there).
func (s *scalarInput) set(v float64) {
	switch d := s.node.Value().(type) {
	case *G.F32:
		if s.dt == tensor.Float32 {
			*d = G.F32(float32(v))
			return
		}
	case *G.F64:
		if s.dt == tensor.Float64 {
			*d = G.F64(v)
			return
		}
	}
	var val G.Value = G.NewF32(float32(v))
	if s.dt == tensor.Float64 {
		val = G.NewF64(v)
	}
	if err := G.Let(s.node, val); err != nil {
		panic(fmt.Sprintf("loss: binding %s: %v", s.name, err)) // a programmer bug: the node is an input of this dtype
	}
}

// constant returns a scalar constant node of dtype dt.
func constant(dt tensor.Dtype, v float64) *G.Node {
	if dt == tensor.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
}

// paramData returns the float32 or float64 backing array of a parameter node's value.
func paramData(n *G.Node) (f32 []float32, f64 []float64, err error) {
	switch d := n.Value().Data().(type) {
	case []float32:
		return d, nil, nil
	case []float64:
		return nil, d, nil
	}
	return nil, nil, fmt.Errorf("%s holds %T, want []float32 or []float64", n.Name(), n.Value().Data())
}
