package nnops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MatMul is the FC layers' product y = x·w of x (B, In) and w (In, Out), with
// dx = dy·wᵀ and dw = xᵀ·dy: the products Gorgonia's G.Mul makes, as ops of
// ours, so that they follow SetBF16 (bfloat16 operands with float32
// accumulation) like the convolutions. In fp32 every product is the
// gemm.Sgemm call G.Mul's would be.
//
// Memory held: y, and the backward's dx and dw.
func MatMul(x, w *G.Node) (*G.Node, error) {
	if err := checkNode("matmul: x", x, 2); err != nil {
		return nil, err
	}
	if err := checkNode("matmul: w", w, 2); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if xs[1] != ws[0] {
		return nil, fmt.Errorf("matmul: x %v and w %v do not chain (x's columns must be w's rows)", xs, ws)
	}
	return G.ApplyOp(&matMulOp{mm: mm{b: xs[0], in: xs[1], out: ws[1]}, opBase: newBase()}, x, w)
}

// mm is the shapes the product and its gradients share.
type mm struct{ b, in, out int }

func (m mm) xShape() tensor.Shape { return tensor.Shape{m.b, m.in} }
func (m mm) wShape() tensor.Shape { return tensor.Shape{m.in, m.out} }
func (m mm) yShape() tensor.Shape { return tensor.Shape{m.b, m.out} }

// mmWhich is what an op of the product computes.
type mmWhich uint8

const (
	mmY  mmWhich = iota // y = x·w from (x, w)
	mmDX                // dx = dy·wᵀ from (w, dy)
	mmDW                // dw = xᵀ·dy from (x, dy)
)

// matMulOp is any of the three; only mmY is differentiable.
type matMulOp struct {
	mm
	opBase
	which mmWhich

	v *tensor.Dense // the output when no preallocated value is given
}

var _ G.SDOp = (*matMulOp)(nil)
var _ G.UsePreallocDoer = (*matMulOp)(nil)

func (op *matMulOp) Arity() int { return 2 }
func (op *matMulOp) Type() hm.Type {
	t := tensorType(2)
	return hm.NewFnType(t, t, t)
}
func (op *matMulOp) shape() tensor.Shape {
	return [...]tensor.Shape{op.yShape(), op.xShape(), op.wShape()}[op.which]
}
func (op *matMulOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape(), nil }
func (op *matMulOp) String() string {
	return fmt.Sprintf("MatMul%s{%d×%d·%d×%d}", [...]string{"", "GradX", "GradW"}[op.which], op.b, op.in, op.in, op.out)
}
func (op *matMulOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *matMulOp) Hashcode() uint32      { return hashOf(op, op.id) }

func (op *matMulOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *matMulOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	in := [...][2]tensor.Shape{{op.xShape(), op.wShape()}, {op.wShape(), op.yShape()}, {op.xShape(), op.yShape()}}[op.which]
	a, err := floats(op.String()+" first input", vs[0], in[0])
	if err != nil {
		return nil, err
	}
	b, err := floats(op.String()+" second input", vs[1], in[1])
	if err != nil {
		return nil, err
	}
	s := op.shape()
	out := usePrealloc(prealloc, s)
	if out == nil {
		out = reuse(&op.v, s)
	}
	c := out.Float32s()
	switch op.which {
	case mmY: // (B, In)·(In, Out)
		sgemm(false, false, op.b, op.out, op.in, 1, a, op.in, b, op.out, 0, c, op.out)
	case mmDX: // dy (B, Out) · wᵀ, w (In, Out)
		sgemm(false, true, op.b, op.in, op.out, 1, b, op.out, a, op.out, 0, c, op.in)
	case mmDW: // xᵀ, x (B, In) · dy (B, Out)
		sgemm(true, false, op.in, op.out, op.b, 1, a, op.in, b, op.out, 0, c, op.out)
	}
	return out, nil
}

func (op *matMulOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	if op.which == mmY {
		for i := range d {
			d[i] = true
		}
	}
	return d
}

// SymDiff returns dx = dy·wᵀ and dw = xᵀ·dy.
func (op *matMulOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if op.which != mmY {
		return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
	}
	if len(inputs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(inputs))
	}
	dx, err := G.ApplyOp(&matMulOp{mm: op.mm, opBase: newBase(), which: mmDX}, inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("matmul dx: %w", err)
	}
	dw, err := G.ApplyOp(&matMulOp{mm: op.mm, opBase: newBase(), which: mmDW}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("matmul dw: %w", err)
	}
	return G.Nodes{dx, dw}, nil
}
