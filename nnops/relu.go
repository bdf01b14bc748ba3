package nnops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU is the rectifier y = max(0, x), elementwise on a float32 tensor of any
// shape; its gradient is dx = dy where x > 0 and 0 elsewhere (0 at x = 0).
// NaN input gives NaN output and a zero gradient.
//
// Memory held: y, and the backward's dx.
func ReLU(x *G.Node) (*G.Node, error) {
	if err := checkNode("relu: x", x, -1); err != nil {
		return nil, err
	}
	s := x.Shape()
	op := &reluOp{reluShape: reluShape{shape: s.Clone()}, opBase: newBase()}
	op.items, op.per = chunks(s.TotalSize(), 1)
	return G.ApplyOp(op, x)
}

// reluShape is what ReLU's forward and backward ops share: the shape, and
// the split of its elements into items of per elements.
type reluShape struct {
	shape      tensor.Shape
	items, per int
}

func (s *reluShape) span(i int) (lo, hi int) {
	return i * s.per, min((i+1)*s.per, s.shape.TotalSize())
}

type reluOp struct {
	reluShape
	opBase

	y *tensor.Dense
	l loop

	xd, out []float32
}

var _ G.SDOp = (*reluOp)(nil)
var _ G.UsePreallocDoer = (*reluOp)(nil)

func (op *reluOp) Arity() int { return 1 }
func (op *reluOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	return hm.NewFnType(t, t)
}
func (op *reluOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *reluOp) String() string                                 { return fmt.Sprintf("ReLU{%v}", op.shape) }
func (op *reluOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *reluOp) Hashcode() uint32                               { return hashOf(op, op.id) }

func (op *reluOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *reluOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("relu x", vs[0], op.shape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.shape)
	if y == nil {
		y = reuse(&op.y, op.shape)
	}
	op.out = y.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.xd, op.out = nil, nil
	return y, nil
}

func (op *reluOp) item(_, i int) {
	lo, hi := op.span(i)
	relu(op.xd[lo:hi], op.out[lo:hi])
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns dx = reluGrad(x, dy).
func (op *reluOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(inputs))
	}
	dx, err := G.ApplyOp(&reluGradOp{reluShape: op.reluShape, opBase: newBase()}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("relu dx: %w", err)
	}
	return G.Nodes{dx}, nil
}

// reluGradOp computes dx from x and dy.
type reluGradOp struct {
	reluShape
	opBase

	dx *tensor.Dense
	l  loop

	xd, dy, out []float32
}

var _ G.UsePreallocDoer = (*reluGradOp)(nil)

func (op *reluGradOp) Arity() int { return 2 }
func (op *reluGradOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	return hm.NewFnType(t, t, t)
}
func (op *reluGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *reluGradOp) String() string                                 { return fmt.Sprintf("ReLUGrad{%v}", op.shape) }
func (op *reluGradOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *reluGradOp) Hashcode() uint32                               { return hashOf(op, op.id) }
func (op *reluGradOp) DiffWRT(n int) []bool                           { return make([]bool, n) }
func (op *reluGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *reluGradOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *reluGradOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("relu x", vs[0], op.shape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("relu dy", vs[1], op.shape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, op.shape)
	if dx == nil {
		dx = reuse(&op.dx, op.shape)
	}
	op.out = dx.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.xd, op.dy, op.out = nil, nil, nil
	return dx, nil
}

func (op *reluGradOp) item(_, i int) {
	lo, hi := op.span(i)
	reluGrad(op.xd[lo:hi], op.dy[lo:hi], op.out[lo:hi])
}
