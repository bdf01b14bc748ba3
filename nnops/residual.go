package nnops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ResidualReLU is the end of a residual block with the parameter-free
// shortcut of He et al., "Deep Residual Learning for Image Recognition"
// (CVPR 2016), §3.3 option A, the one their CIFAR networks use (§4.2):
//
//	y = max(0, a + P(x)),
//	P(x)[n][c][i][j] = x[n][c − p][s·i][s·j]  for p ≤ c < p + Cx,  0 for the other c,
//
// with a the residual branch (B, C, H', W'), x the block's input (B, Cx, H,
// W), Cx ≤ C, s the stride, H' = ⌈H/s⌉, W' = ⌈W/s⌉ (what a 3×3 convolution
// with pad 1 and stride s gives) and p = ⌊(C − Cx)/2⌋: the zero channels
// are split between both ends (C/4 on each side when C = 2·Cx), as in the
// authors' later ResNet-20 code for the GM loss. With s = 1 and Cx = C the
// shortcut is the identity. The gradients, with m = [y > 0]:
//
//	da = dy·m,   dx[n][c][s·i][s·j] = da[n][c + p][i][j],  0 elsewhere.
//
// With the identity shortcut dx is the node da itself (no copy). NaN in a
// or x gives NaN in y and a zero gradient, as ReLU. float32.
//
// It replaces G.Add + G.Rectify (and, for s > 1 or Cx < C, a strided
// slice and a zero-padded concatenation): for the identity shortcut on
// (128, 16, 32, 32), those allocated two more tensors of that size every
// run (16.8 MB) and took 1.5× the time of a forward and backward with this
// op, measured. Work is shared among SetThreads workers by images.
//
// Memory held: y, da, and dx when the shortcut is not the identity.
func ResidualReLU(a, x *G.Node, stride int) (*G.Node, error) {
	if err := checkNode("residual: a", a, 4); err != nil {
		return nil, err
	}
	if err := checkNode("residual: x", x, 4); err != nil {
		return nil, err
	}
	as, xs := a.Shape(), x.Shape()
	if stride < 1 {
		return nil, fmt.Errorf("residual: stride must be >= 1 (got %d)", stride)
	}
	if as[0] != xs[0] || xs[1] > as[1] || (xs[2]-1)/stride+1 != as[2] || (xs[3]-1)/stride+1 != as[3] {
		return nil, fmt.Errorf("residual: shortcut of x %v with stride %d does not fit a %v (want the same batch, at most %d channels and size ⌈H/%d⌉×⌈W/%d⌉)",
			xs, stride, as, as[1], stride, stride)
	}
	s := residualShape{aShape: as.Clone(), xShape: xs.Clone(), stride: stride}
	return G.ApplyOp(&residualOp{residualShape: s, opBase: newBase()}, a, x)
}

// residualShape is what ResidualReLU's forward and backward ops share.
type residualShape struct {
	aShape, xShape tensor.Shape // (B, C, H', W') and (B, Cx, H, W)
	stride         int
}

// identity reports whether the shortcut is x itself.
func (s *residualShape) identity() bool { return s.stride == 1 && s.xShape[1] == s.aShape[1] }

// pad is p, the zero channels of the shortcut before x's first.
func (s *residualShape) pad() int { return (s.aShape[1] - s.xShape[1]) / 2 }

func (s *residualShape) String() string {
	return fmt.Sprintf("a%v x%v stride %d", s.aShape, s.xShape, s.stride)
}

// residualOp is the forward op: y = max(0, a + P(x)).
type residualOp struct {
	residualShape
	opBase

	y *tensor.Dense
	l loop

	ad, xd, out []float32
}

var _ G.SDOp = (*residualOp)(nil)
var _ G.UsePreallocDoer = (*residualOp)(nil)

func (op *residualOp) Arity() int { return 2 }
func (op *residualOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t, t)
}
func (op *residualOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.aShape.Clone(), nil }
func (op *residualOp) String() string                                 { return "ResidualReLU{" + op.residualShape.String() + "}" }
func (op *residualOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *residualOp) Hashcode() uint32                               { return hashOf(op, op.id) }

func (op *residualOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *residualOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.ad, err = floats("residual a", vs[0], op.aShape); err != nil {
		return nil, err
	}
	if op.xd, err = floats("residual x", vs[1], op.xShape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.aShape)
	if y == nil {
		y = reuse(&op.y, op.aShape)
	}
	op.out = y.Float32s()
	n := op.aShape[0]
	op.l.run(op, n, slotsFor(n))
	op.ad, op.xd, op.out = nil, nil, nil
	return y, nil
}

// item computes image n, a plane at a time: the sum, then the ReLU in
// place while the plane is in cache (relu's vector kernel: no branches).
func (op *residualOp) item(_, n int) {
	c, oh, ow := op.aShape[1], op.aShape[2], op.aShape[3]
	cx, h, w, s := op.xShape[1], op.xShape[2], op.xShape[3], op.stride
	plane, xplane, p := oh*ow, h*w, op.pad()
	for ch := 0; ch < c; ch++ {
		a := op.ad[(n*c+ch)*plane : (n*c+ch+1)*plane]
		out := op.out[(n*c+ch)*plane : (n*c+ch+1)*plane]
		k := ch - p // x's channel
		switch {
		case k < 0 || k >= cx: // a zero channel of the shortcut
			relu(a, out)
			continue
		case s == 1:
			x := op.xd[(n*cx+k)*xplane : (n*cx+k+1)*xplane]
			x = x[:len(a)]
			for i, v := range a {
				out[i] = v + x[i]
			}
		default:
			x := op.xd[(n*cx+k)*xplane : (n*cx+k+1)*xplane]
			for i := 0; i < oh; i++ {
				row, ar, or := x[i*s*w:], a[i*ow:(i+1)*ow], out[i*ow:(i+1)*ow]
				for j, v := range ar {
					or[j] = v + row[j*s]
				}
			}
		}
		relu(out, out)
	}
}

func (op *residualOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns da = residualGradA(y, dy) and dx = residualGradX(da), or
// da itself for the identity shortcut.
func (op *residualOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(inputs))
	}
	da, err := G.ApplyOp(&residualGradAOp{residualShape: op.residualShape, opBase: newBase()}, output, grad)
	if err != nil {
		return nil, fmt.Errorf("residual da: %w", err)
	}
	if op.identity() {
		return G.Nodes{da, da}, nil
	}
	dx, err := G.ApplyOp(&residualGradXOp{residualShape: op.residualShape, opBase: newBase()}, da)
	if err != nil {
		return nil, fmt.Errorf("residual dx: %w", err)
	}
	return G.Nodes{da, dx}, nil
}

// residualGradAOp computes da = dy·[y > 0] from y and dy.
type residualGradAOp struct {
	residualShape
	opBase

	da *tensor.Dense
	l  loop

	yd, dy, out []float32
}

var _ G.UsePreallocDoer = (*residualGradAOp)(nil)

func (op *residualGradAOp) Arity() int { return 2 }
func (op *residualGradAOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t, t)
}
func (op *residualGradAOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.aShape.Clone(), nil
}
func (op *residualGradAOp) String() string {
	return "ResidualReLUGradA{" + op.residualShape.String() + "}"
}
func (op *residualGradAOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *residualGradAOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *residualGradAOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *residualGradAOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *residualGradAOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *residualGradAOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.yd, err = floats("residual y", vs[0], op.aShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("residual dy", vs[1], op.aShape); err != nil {
		return nil, err
	}
	da := usePrealloc(prealloc, op.aShape)
	if da == nil {
		da = reuse(&op.da, op.aShape)
	}
	op.out = da.Float32s()
	n := op.aShape[0]
	op.l.run(op, n, slotsFor(n))
	op.yd, op.dy, op.out = nil, nil, nil
	return da, nil
}

func (op *residualGradAOp) item(_, n int) {
	size := len(op.out) / op.aShape[0]
	lo, hi := n*size, (n+1)*size
	reluGrad(op.yd[lo:hi], op.dy[lo:hi], op.out[lo:hi]) // dy where y > 0
}

// residualGradXOp computes dx = Pᵀ(da): da's channels p to p + Cx − 1,
// spread back to every s-th row and column, zeros elsewhere.
type residualGradXOp struct {
	residualShape
	opBase

	dx *tensor.Dense
	l  loop

	da, out []float32
}

var _ G.UsePreallocDoer = (*residualGradXOp)(nil)

func (op *residualGradXOp) Arity() int { return 1 }
func (op *residualGradXOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t)
}
func (op *residualGradXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.xShape.Clone(), nil
}
func (op *residualGradXOp) String() string {
	return "ResidualReLUGradX{" + op.residualShape.String() + "}"
}
func (op *residualGradXOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *residualGradXOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *residualGradXOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *residualGradXOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *residualGradXOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *residualGradXOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.da, err = floats("residual da", vs[0], op.aShape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, op.xShape)
	if dx == nil {
		dx = reuse(&op.dx, op.xShape)
	}
	op.out = dx.Float32s()
	n := op.xShape[0]
	op.l.run(op, n, slotsFor(n))
	op.da, op.out = nil, nil
	return dx, nil
}

func (op *residualGradXOp) item(_, n int) {
	c, oh, ow := op.aShape[1], op.aShape[2], op.aShape[3]
	cx, h, w, s := op.xShape[1], op.xShape[2], op.xShape[3], op.stride
	plane, xplane, p := oh*ow, h*w, op.pad()
	for ch := 0; ch < cx; ch++ {
		da := op.da[(n*c+ch+p)*plane : (n*c+ch+p+1)*plane]
		out := op.out[(n*cx+ch)*xplane : (n*cx+ch+1)*xplane]
		if s == 1 {
			copy(out, da)
			continue
		}
		clear(out)
		for i := 0; i < oh; i++ {
			row, dr := out[i*s*w:], da[i*ow:(i+1)*ow]
			for j, v := range dr {
				row[j*s] = v
			}
		}
	}
}
