package loss

// Small Gorgonia ops the heads need and Gorgonia lacks: a stop-gradient, a "gradient only"
// term, a floor with a usable gradient at the floor, a one-hot argmax and L-Softmax's
// angle segment k. Each is a Go function over the input's numbers (in float64 whatever the
// dtype) with, where it has one, a gradient built from stock ops. They run on (B, K)
// or smaller tensors, never on images, so they favour clarity over speed.

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fnOp is a unary op whose output has the input's type and shape and is computed by f.
// grad, when not nil, builds the input's gradient from the input, the output and the
// output's gradient; when nil the op is not differentiable: backpropagation treats its
// output as a constant (the way a stop-gradient does).
type fnOp struct {
	// name describes the op and every parameter f depends on. Gorgonia merges nodes whose
	// ops hash alike and whose inputs are the same, so two fnOps with the same name must
	// compute the same thing.
	name string
	f    func(in, out []float64, shape tensor.Shape)
	grad func(x, y, dy *G.Node) (*G.Node, error)

	in, out []float64 // UsePreallocDo's scratch: one machine at a time runs an op
}

var (
	_ G.SDOp            = (*fnOp)(nil)
	_ G.UsePreallocDoer = (*fnOp)(nil)
)

func (op *fnOp) Arity() int { return 1 }
func (op *fnOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *fnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: want 1 input (got %d)", op.name, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input shape is a %T", op.name, in[0])
	}
	return s.Clone(), nil
}
func (op *fnOp) ReturnsPtr() bool      { return false }
func (op *fnOp) CallsExtern() bool     { return false }
func (op *fnOp) OverwritesInput() int  { return -1 }
func (op *fnOp) String() string        { return op.name }
func (op *fnOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "loss.%s", op.name) }
func (op *fnOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// Do applies f to a copy of the input, in float64, and returns a new value of the input's
// dtype and shape.
func (op *fnOp) Do(vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%s: want 1 input (got %d)", op.name, len(vs))
	}
	in, err := floats64(vs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	out := make([]float64, len(in))
	op.f(in, out, vs[0].Shape())
	return valueLike(vs[0], out)
}

// UsePreallocDo is Do writing into prealloc (a float32 or float64 tensor or scalar of the
// input's size and dtype, such as an earlier result of Do) and reusing the op's float64
// scratch, so that it allocates nothing; with any other prealloc it returns a new value.
func (op *fnOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%s: want 1 input (got %d)", op.name, len(vs))
	}
	n := vs[0].Shape().TotalSize()
	if _, ok := vs[0].(G.Scalar); ok {
		n = 1
	}
	op.in, op.out = growF64(op.in, n), growF64(op.out, n)
	if err := readFloats(vs[0], op.in); err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	clear(op.out)
	op.f(op.in, op.out, vs[0].Shape())
	if writeFloats(prealloc, vs[0], op.out) {
		return prealloc, nil
	}
	return valueLike(vs[0], append([]float64(nil), op.out...))
}

func growF64(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// readFloats copies the numbers of v (a float32 or float64 tensor, not a view, or
// scalar) into dst, which has their count, without boxing them.
func readFloats(v G.Value, dst []float64) error {
	switch d := v.(type) {
	case *G.F32:
		dst[0] = float64(*d)
		return nil
	case *G.F64:
		dst[0] = float64(*d)
		return nil
	case *tensor.Dense:
		if !d.IsView() {
			switch d.Dtype() {
			case tensor.Float32:
				for i, x := range d.Float32s() {
					dst[i] = float64(x)
				}
				return nil
			case tensor.Float64:
				copy(dst, d.Float64s())
				return nil
			}
		}
	}
	in, err := floats64(v)
	if err != nil {
		return err
	}
	copy(dst, in)
	return nil
}

// writeFloats writes vals into dst, converted to dst's dtype, when dst is a value of
// like's kind, dtype and size; it reports whether it did.
func writeFloats(dst, like G.Value, vals []float64) bool {
	switch d := dst.(type) {
	case *G.F32:
		if _, ok := like.(*G.F32); ok && len(vals) == 1 {
			*d = G.F32(float32(vals[0]))
			return true
		}
	case *G.F64:
		if _, ok := like.(*G.F64); ok && len(vals) == 1 {
			*d = G.F64(vals[0])
			return true
		}
	case *tensor.Dense:
		if d.IsView() || d.Dtype() != like.Dtype() || d.Shape().TotalSize() != len(vals) {
			return false
		}
		if _, ok := like.(G.Scalar); ok {
			return false
		}
		switch d.Dtype() {
		case tensor.Float32:
			out := d.Float32s()
			for i, v := range vals {
				out[i] = float32(v)
			}
			return true
		case tensor.Float64:
			copy(d.Float64s(), vals)
			return true
		}
	}
	return false
}

func (op *fnOp) DiffWRT(n int) []bool { return []bool{op.grad != nil} }

func (op *fnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if op.grad == nil {
		return nil, fmt.Errorf("%s is not differentiable", op.name)
	}
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%s: want 1 input (got %d)", op.name, len(inputs))
	}
	dx, err := op.grad(inputs[0], output, grad)
	if err != nil {
		return nil, fmt.Errorf("%s gradient: %w", op.name, err)
	}
	return G.Nodes{dx}, nil
}

// floats64 copies a float32 or float64 value (tensor or scalar) into a new []float64.
func floats64(v G.Value) ([]float64, error) {
	switch d := v.Data().(type) {
	case []float64:
		return append([]float64(nil), d...), nil
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out, nil
	case float64:
		return []float64{d}, nil
	case float32:
		return []float64{float64(d)}, nil
	}
	return nil, fmt.Errorf("value holds %T, want float32 or float64 numbers", v.Data())
}

// valueLike returns vals as a new value of like's kind (scalar or tensor), dtype and shape.
func valueLike(like G.Value, vals []float64) (G.Value, error) {
	dt := like.Dtype()
	if _, ok := like.(G.Scalar); ok {
		if len(vals) != 1 {
			return nil, fmt.Errorf("%d numbers for a scalar", len(vals))
		}
		if dt == tensor.Float64 {
			return G.NewF64(vals[0]), nil
		}
		return G.NewF32(float32(vals[0])), nil
	}
	var backing any
	switch dt {
	case tensor.Float64:
		backing = vals
	case tensor.Float32:
		b := make([]float32, len(vals))
		for i, v := range vals {
			b[i] = float32(v)
		}
		backing = b
	default:
		return nil, fmt.Errorf("dtype %v, want float32 or float64", dt)
	}
	return tensor.New(tensor.WithShape(like.Shape().Clone()...), tensor.WithBacking(backing)), nil
}

// stopGradient returns x unchanged; no gradient flows back through it.
func stopGradient(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(&fnOp{name: "stopGradient", f: func(in, out []float64, _ tensor.Shape) { copy(out, in) }}, x)
}

// gradientOnly returns 0 (of x's type and shape) whose gradient with respect to x is the
// identity: adding gradientOnly(t) to a loss leaves its value alone and adds ∂t to the
// gradient. It is t − stopGradient(t) without the rounding.
func gradientOnly(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(&fnOp{
		name: "gradientOnly",
		f:    func(_, out []float64, _ tensor.Shape) { clear(out) },
		grad: func(_, _, dy *G.Node) (*G.Node, error) { return dy, nil },
	}, x)
}

// floorAt returns max(x, floor) elementwise. Its gradient is dy where x >= floor and 0
// below: at the floor itself the gradient passes, so a parameter projected onto its floor
// after a solver step can still move up.
func floorAt(x *G.Node, floor float64) (*G.Node, error) {
	mask := &fnOp{
		name: fmt.Sprintf("atOrAbove{%v}", floor),
		f: func(in, out []float64, _ tensor.Shape) {
			for i, v := range in {
				if v >= floor {
					out[i] = 1
				}
			}
		},
	}
	op := &fnOp{
		name: fmt.Sprintf("floorAt{%v}", floor),
		f: func(in, out []float64, _ tensor.Shape) {
			for i, v := range in {
				out[i] = math.Max(v, floor)
			}
		},
		grad: func(x, _, dy *G.Node) (*G.Node, error) {
			m, err := G.ApplyOp(mask, x) // x's shape, 0 or 1
			if err != nil {
				return nil, err
			}
			return G.HadamardProd(m, dy)
		},
	}
	return G.ApplyOp(op, x)
}

// argmaxOneHot returns, for z (B, K), the (B, K) one-hot encoding of each row's argmax
// (the first one on ties; a row of NaNs picks column 0). It is not differentiable: it
// selects the predicted class.
func argmaxOneHot(z *G.Node) (*G.Node, error) {
	if z.Shape().Dims() != 2 {
		return nil, errors.New("argmaxOneHot: want a (B, K) matrix")
	}
	return G.ApplyOp(&fnOp{
		name: "argmaxOneHot",
		f: func(in, out []float64, s tensor.Shape) {
			k := s[1]
			for i := 0; i < s[0]; i++ {
				row := in[i*k : (i+1)*k]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				out[i*k+best] = 1
			}
		},
	}, z)
}

// angleSegment returns, elementwise for c = cos θ, L-Softmax's k, the integer in [0, m)
// with θ ∈ [kπ/m, (k+1)π/m], as a number; with sign it returns (−1)^k instead. Neither is
// differentiable: k is a constant for the gradient (Liu et al., ICML 2016, eq. 6).
// θ ≥ jπ/m exactly when c ≤ cos(jπ/m), so k counts the thresholds c is at or below; c
// outside [−1, 1] by rounding lands in the nearest end segment.
func angleSegment(c *G.Node, m int, sign bool) (*G.Node, error) {
	thresholds := make([]float64, m-1)
	for j := range thresholds {
		thresholds[j] = math.Cos(float64(j+1) * math.Pi / float64(m))
	}
	name := fmt.Sprintf("lsoftmaxK{m=%d}", m)
	if sign {
		name = fmt.Sprintf("lsoftmaxSign{m=%d}", m)
	}
	return G.ApplyOp(&fnOp{
		name: name,
		f: func(in, out []float64, _ tensor.Shape) {
			for i, c := range in {
				k := 0
				for _, th := range thresholds {
					if c <= th {
						k++
					}
				}
				switch {
				case !sign:
					out[i] = float64(k)
				case k%2 == 0:
					out[i] = 1
				default:
					out[i] = -1
				}
			}
		},
	}, c)
}
