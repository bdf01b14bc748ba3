package loss

import (
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
