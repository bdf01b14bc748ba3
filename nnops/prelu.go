package nnops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// PReLU is the parametric ReLU of He et al., "Delving Deep into
// Rectifiers" (ICCV 2015), with one slope per channel:
//
//	y[n][c][…] = x[n][c][…]            if x > 0
//	           = a[c] · x[n][c][…]     otherwise
//
// x is (B, C, H, W) or (B, C) (any shape (B, C, …)); a is any shape holding
// C values — (C) or (1, C, 1, 1). The gradients are
//
//	dx = dy where x > 0, a[c]·dy elsewhere;  da[c] = Σ_{x ≤ 0} dy · x.
//
// Memory held: y; the backward ops hold dx, da and a float64 partial sum of
// da per worker.
func PReLU(x, a *G.Node) (*G.Node, error) {
	if err := checkNode("prelu: x", x, -1); err != nil {
		return nil, err
	}
	if err := checkNode("prelu: a", a, -1); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs.Dims() < 2 {
		return nil, fmt.Errorf("prelu: x must be (B, C, …) (got shape %v)", xs)
	}
	if a.Shape().TotalSize() != xs[1] {
		return nil, fmt.Errorf("prelu: a %v must hold %d values, one per channel of x %v", a.Shape(), xs[1], xs)
	}
	op := &preluOp{preluShape: newPReLUShape(xs, a.Shape()), opBase: newBase()}
	return G.ApplyOp(op, x, a)
}

// preluShape is what PReLU's forward and backward ops share. The data are
// B·C planes of size floats each; plane p has channel p mod C.
type preluShape struct {
	xShape, aShape tensor.Shape
	c, size        int
	items, per     int // work items of per planes
}

func newPReLUShape(xs, as tensor.Shape) preluShape {
	s := preluShape{xShape: xs.Clone(), aShape: as.Clone(), c: xs[1], size: 1}
	for _, d := range xs[2:] {
		s.size *= d
	}
	s.items, s.per = chunks(xs[0]*xs[1], s.size)
	return s
}

func (s *preluShape) planes() int { return s.xShape[0] * s.c }

// span returns the planes of item i.
func (s *preluShape) span(i int) (lo, hi int) {
	return i * s.per, min((i+1)*s.per, s.planes())
}

type preluOp struct {
	preluShape
	opBase

	y *tensor.Dense
	l loop

	xd, ad, out []float32
}

var _ G.SDOp = (*preluOp)(nil)
var _ G.UsePreallocDoer = (*preluOp)(nil)

func (op *preluOp) Arity() int { return 2 }
func (op *preluOp) Type() hm.Type {
	t := tensorType(op.xShape.Dims())
	return hm.NewFnType(t, tensorType(op.aShape.Dims()), t)
}
func (op *preluOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.xShape.Clone(), nil }
func (op *preluOp) String() string                                 { return fmt.Sprintf("PReLU{x%v}", op.xShape) }
func (op *preluOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *preluOp) Hashcode() uint32                               { return hashOf(op, op.id) }

func (op *preluOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *preluOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("prelu x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	if op.ad, err = floats("prelu a", vs[1], op.aShape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.xShape)
	if y == nil {
		y = reuse(&op.y, op.xShape)
	}
	op.out = y.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.xd, op.ad, op.out = nil, nil, nil
	return y, nil
}

func (op *preluOp) item(_, i int) {
	lo, hi := op.span(i)
	for p := lo; p < hi; p++ {
		a := op.ad[p%op.c]
		x := op.xd[p*op.size : (p+1)*op.size]
		y := op.out[p*op.size : (p+1)*op.size]
		y = y[:len(x)]
		n := vecLen(len(x)) // the same products (simd.go), 8 at a time
		if n > 0 {
			preluAVX2(&x[0], &y[0], n, a)
		}
		one, ab := math.Float32bits(1), math.Float32bits(a)
		for j, v := range x[n:] {
			// A select on the bits, not a branch: the compiler makes it a
			// conditional move, several times faster on mixed signs.
			s := ab
			if v > 0 {
				s = one
			}
			y[n+j] = v * math.Float32frombits(s)
		}
	}
}

func (op *preluOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns dx = preluGradX(x, a, dy) and da = preluGradA(x, dy).
func (op *preluOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(inputs))
	}
	dx, err := G.ApplyOp(&preluGradXOp{preluShape: op.preluShape, opBase: newBase()}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("prelu dx: %w", err)
	}
	da, err := G.ApplyOp(&preluGradAOp{preluShape: op.preluShape, opBase: newBase()}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("prelu da: %w", err)
	}
	return G.Nodes{dx, da}, nil
}

// preluGradXOp computes dx from x, a and dy.
type preluGradXOp struct {
	preluShape
	opBase

	dx *tensor.Dense
	l  loop

	xd, ad, dy, out []float32
}

var _ G.UsePreallocDoer = (*preluGradXOp)(nil)

func (op *preluGradXOp) Arity() int { return 3 }
func (op *preluGradXOp) Type() hm.Type {
	t := tensorType(op.xShape.Dims())
	return hm.NewFnType(t, tensorType(op.aShape.Dims()), t, t)
}
func (op *preluGradXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.xShape.Clone(), nil
}
func (op *preluGradXOp) String() string        { return fmt.Sprintf("PReLUGradX{x%v}", op.xShape) }
func (op *preluGradXOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *preluGradXOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *preluGradXOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *preluGradXOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *preluGradXOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *preluGradXOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("prelu x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	if op.ad, err = floats("prelu a", vs[1], op.aShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("prelu dy", vs[2], op.xShape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, op.xShape)
	if dx == nil {
		dx = reuse(&op.dx, op.xShape)
	}
	op.out = dx.Float32s()
	op.l.run(op, op.items, slotsFor(op.items))
	op.xd, op.ad, op.dy, op.out = nil, nil, nil, nil
	return dx, nil
}

func (op *preluGradXOp) item(_, i int) {
	lo, hi := op.span(i)
	for p := lo; p < hi; p++ {
		a := op.ad[p%op.c]
		x := op.xd[p*op.size : (p+1)*op.size]
		dy := op.dy[p*op.size : (p+1)*op.size]
		dx := op.out[p*op.size : (p+1)*op.size]
		dy, dx = dy[:len(x)], dx[:len(x)]
		n := vecLen(len(x))
		if n > 0 {
			preluGradXAVX2(&x[0], &dy[0], &dx[0], n, a)
		}
		one, ab := math.Float32bits(1), math.Float32bits(a)
		for j := n; j < len(x); j++ {
			s := ab
			if x[j] > 0 {
				s = one
			}
			dx[j] = dy[j] * math.Float32frombits(s)
		}
	}
}

// preluGradAOp computes da (a's shape) from x and dy. Each worker sums into
// its own float64 partial, added at the end.
type preluGradAOp struct {
	preluShape
	opBase

	da    *tensor.Dense
	parts [][]float64 // per worker: C
	l     loop

	xd, dy, out []float32
}

var _ G.UsePreallocDoer = (*preluGradAOp)(nil)

func (op *preluGradAOp) Arity() int { return 2 }
func (op *preluGradAOp) Type() hm.Type {
	t := tensorType(op.xShape.Dims())
	return hm.NewFnType(t, t, tensorType(op.aShape.Dims()))
}
func (op *preluGradAOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.aShape.Clone(), nil
}
func (op *preluGradAOp) String() string        { return fmt.Sprintf("PReLUGradA{x%v}", op.xShape) }
func (op *preluGradAOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *preluGradAOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *preluGradAOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *preluGradAOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *preluGradAOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *preluGradAOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("prelu x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("prelu dy", vs[1], op.xShape); err != nil {
		return nil, err
	}
	da := usePrealloc(prealloc, op.aShape)
	if da == nil {
		da = reuse(&op.da, op.aShape)
	}
	op.out = da.Float32s()
	slots := slotsFor(op.items)
	for len(op.parts) < slots {
		op.parts = append(op.parts, make([]float64, op.c))
	}
	for s := 0; s < slots; s++ {
		clear(op.parts[s])
	}
	op.l.run(op, op.items, slots)
	for c := range op.out {
		var sum float64
		for s := 0; s < slots; s++ {
			sum += op.parts[s][c]
		}
		op.out[c] = float32(sum)
	}
	op.xd, op.dy, op.out = nil, nil, nil
	return da, nil
}

func (op *preluGradAOp) item(slot, i int) {
	lo, hi := op.span(i)
	part := op.parts[slot]
	for p := lo; p < hi; p++ {
		x := op.xd[p*op.size : (p+1)*op.size]
		dy := op.dy[p*op.size : (p+1)*op.size]
		dy = dy[:len(x)]
		var s0, s1 float32
		j := vecLen(len(x)) // 8 float32 running sums, then the rest
		if j > 0 {
			s0 = preluGradASumAVX2(&x[0], &dy[0], j)
		}
		for ; j+2 <= len(x); j += 2 {
			s0 += negPart(x[j]) * dy[j]
			s1 += negPart(x[j+1]) * dy[j+1]
		}
		if j < len(x) {
			s0 += negPart(x[j]) * dy[j]
		}
		sum := s0 + s1
		part[p%op.c] += float64(sum)
	}
}

// negPart is v where v <= 0 (or NaN), and 0 where v > 0, without a branch.
func negPart(v float32) float32 {
	b := math.Float32bits(v)
	if v > 0 {
		b = 0
	}
	return math.Float32frombits(b)
}
