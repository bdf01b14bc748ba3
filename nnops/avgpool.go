package nnops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GlobalAvgPool averages every channel plane of x (B, C, H, W) into y (B, C):
//
//	y[n][c] = Σ_{i,j} x[n][c][i][j] / (H·W),   dx[n][c][i][j] = dy[n][c] / (H·W).
//
// Each plane is summed in float64, in a fixed order. float32.
//
// Memory held: y, and the backward's dx.
func GlobalAvgPool(x *G.Node) (*G.Node, error) {
	if err := checkNode("globalavgpool: x", x, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	s := avgPoolShape{xShape: xs.Clone(), yShape: tensor.Shape{xs[0], xs[1]}, planes: xs[0] * xs[1], size: xs[2] * xs[3]}
	s.items, s.per = chunks(s.planes, s.size)
	return G.ApplyOp(&avgPoolOp{avgPoolShape: s, opBase: newBase()}, x)
}

// avgPoolShape is what GlobalAvgPool's forward and backward ops share:
// planes of size floats each, in items of per planes.
type avgPoolShape struct {
	xShape, yShape tensor.Shape
	planes, size   int
	items, per     int
}

// span returns the planes of item i.
func (s *avgPoolShape) span(i int) (lo, hi int) {
	return i * s.per, min((i+1)*s.per, s.planes)
}

type avgPoolOp struct {
	avgPoolShape
	opBase

	y *tensor.Dense
	l loop

	xd, out []float32
}

var _ G.SDOp = (*avgPoolOp)(nil)
var _ G.UsePreallocDoer = (*avgPoolOp)(nil)

func (op *avgPoolOp) Arity() int { return 1 }
func (op *avgPoolOp) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(2))
}
func (op *avgPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.yShape.Clone(), nil }
func (op *avgPoolOp) String() string                                 { return fmt.Sprintf("GlobalAvgPool{x%v}", op.xShape) }
func (op *avgPoolOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *avgPoolOp) Hashcode() uint32                               { return hashOf(op, op.id) }

func (op *avgPoolOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *avgPoolOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("globalavgpool x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.yShape)
	if y == nil {
		y = reuse(&op.y, op.yShape)
	}
	op.out = y.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.xd, op.out = nil, nil
	return y, nil
}

func (op *avgPoolOp) item(_, i int) {
	lo, hi := op.span(i)
	n := float64(op.size)
	for p := lo; p < hi; p++ {
		op.out[p] = float32(sum64(op.xd[p*op.size:(p+1)*op.size]) / n)
	}
}

// sum64 adds s in float64 with two running sums.
func sum64(s []float32) float64 {
	var a, b float64
	i := 0
	for ; i+2 <= len(s); i += 2 {
		a += float64(s[i])
		b += float64(s[i+1])
	}
	if i < len(s) {
		a += float64(s[i])
	}
	return a + b
}

func (op *avgPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns dx = avgPoolGrad(dy).
func (op *avgPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(inputs))
	}
	dx, err := G.ApplyOp(&avgPoolGradOp{avgPoolShape: op.avgPoolShape, opBase: newBase()}, grad)
	if err != nil {
		return nil, fmt.Errorf("globalavgpool dx: %w", err)
	}
	return G.Nodes{dx}, nil
}

// avgPoolGradOp spreads dy (B, C) evenly over dx (B, C, H, W).
type avgPoolGradOp struct {
	avgPoolShape
	opBase

	dx *tensor.Dense
	l  loop

	dy, out []float32
}

var _ G.UsePreallocDoer = (*avgPoolGradOp)(nil)

func (op *avgPoolGradOp) Arity() int { return 1 }
func (op *avgPoolGradOp) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4))
}
func (op *avgPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.xShape.Clone(), nil
}
func (op *avgPoolGradOp) String() string        { return fmt.Sprintf("GlobalAvgPoolGrad{x%v}", op.xShape) }
func (op *avgPoolGradOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *avgPoolGradOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *avgPoolGradOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *avgPoolGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *avgPoolGradOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *avgPoolGradOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.dy, err = floats("globalavgpool dy", vs[0], op.yShape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, op.xShape)
	if dx == nil {
		dx = reuse(&op.dx, op.xShape)
	}
	op.out = dx.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.dy, op.out = nil, nil
	return dx, nil
}

func (op *avgPoolGradOp) item(_, i int) {
	lo, hi := op.span(i)
	n := float64(op.size)
	for p := lo; p < hi; p++ {
		v := float32(float64(op.dy[p]) / n)
		dx := op.out[p*op.size : (p+1)*op.size]
		for j := range dx {
			dx[j] = v
		}
	}
}
