package nnops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaxPool2d is a K×K max-pooling with stride s, no padding, floor mode:
//
//	y[n][c][i][j] = max_{u,v<K} x[n][c][i·s + u][j·s + v]
//
// x (B, C, H, W) → y (B, C, H', W') with H' = (H − K)/s + 1 (floored: 7 → 3
// for K = s = 2), the same for W'. float32.
//
// Ties go to the first maximum in row-major order (−0 and +0 tie). NaN: a
// window holding a NaN yields the first NaN in row-major order (NaN
// propagates, as in PyTorch), and its gradient goes to that element; ±Inf
// compare as usual. The op never panics on NaN or Inf input (the stock
// Gorgonia maxpool backward does). 2×2 windows take a branch-free path.
//
// The forward records the arg-max of every window (an int32 offset within
// its H×W plane); the backward op routes dy to it:
//
//	dx[n][c][argmax[n][c][i][j]] += dy[n][c][i][j]
//
// (windows overlap when s < K, hence the sum). The backward uses the arg-max
// of the forward run of the same step.
//
// Memory held: y, the arg-max (B·C·H'·W' int32), and the backward's dx.
func MaxPool2d(x *G.Node, k, s int) (*G.Node, error) {
	if err := checkNode("maxpool2d: x", x, 4); err != nil {
		return nil, err
	}
	if k < 1 || s < 1 {
		return nil, fmt.Errorf("maxpool2d: kernel and stride must be >= 1 (got %d, %d)", k, s)
	}
	xs := x.Shape()
	if xs[2] < k || xs[3] < k {
		return nil, fmt.Errorf("maxpool2d: kernel %d is larger than the input %v", k, xs)
	}
	g := newGeom(1, xs[2], xs[3], k, s, 0)
	op := &maxPoolOp{
		geom:   g,
		planes: xs[0] * xs[1],
		xShape: xs.Clone(),
		yShape: tensor.Shape{xs[0], xs[1], g.oh, g.ow},
		opBase: newBase(),
	}
	return G.ApplyOp(op, x)
}

// maxPoolOp is the forward op. geom describes one plane (c = 1).
type maxPoolOp struct {
	geom
	opBase
	planes         int // B·C
	xShape, yShape tensor.Shape

	y      *tensor.Dense
	argmax []int32 // (B, C, H', W'): offset of each window's max in its plane
	l      loop

	xd, out []float32
}

var _ G.SDOp = (*maxPoolOp)(nil)
var _ G.UsePreallocDoer = (*maxPoolOp)(nil)

func (op *maxPoolOp) Arity() int { return 1 }
func (op *maxPoolOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t)
}
func (op *maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.yShape.Clone(), nil
}
func (op *maxPoolOp) String() string {
	return fmt.Sprintf("MaxPool2d{x%v k %d stride %d}", op.xShape, op.k, op.s)
}
func (op *maxPoolOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *maxPoolOp) Hashcode() uint32      { return hashOf(op, op.id) }

func (op *maxPoolOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *maxPoolOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("maxpool2d x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.yShape)
	if y == nil {
		y = reuse(&op.y, op.yShape)
	}
	op.out = y.Float32s()
	if n := op.yShape.TotalSize(); cap(op.argmax) < n {
		op.argmax = make([]int32, n)
	}
	items, _ := chunks(op.planes, op.h*op.w)
	op.l.run(op, items, slotsFor(items))
	op.xd, op.out = nil, nil
	return y, nil
}

func (op *maxPoolOp) item(_, i int) {
	_, per := chunks(op.planes, op.h*op.w)
	hw, ohw := op.h*op.w, op.area()
	for p := i * per; p < min((i+1)*per, op.planes); p++ {
		x := op.xd[p*hw : (p+1)*hw]
		y := op.out[p*ohw : (p+1)*ohw]
		am := op.argmax[p*ohw : (p+1)*ohw]
		for oh := 0; oh < op.oh; oh++ {
			ow := 0
			if op.k == 2 && op.s == 2 && useSIMD {
				ow = max2x2Row(x, y[oh*op.ow:(oh+1)*op.ow], am[oh*op.ow:(oh+1)*op.ow], 2*oh*op.w, op.w)
			}
			for ; ow < op.ow; ow++ {
				first := oh*op.s*op.w + ow*op.s
				var at int
				if op.k == 2 {
					at = max2x2(x, first, op.w)
				} else {
					at = maxWindow(x, first, op.w, op.k)
				}
				y[oh*op.ow+ow] = x[at]
				am[oh*op.ow+ow] = int32(at)
			}
		}
	}
}

// max2x2Row pools the 2×2 stride-2 windows of one output row whose first
// window starts at x[first] (rows w apart) into y and am with the AVX2
// kernel, 8 windows at a time, exactly as max2x2 would. A block of 8 holding
// a NaN goes to max2x2. It returns how many windows it did (a multiple of
// 8); the caller does the rest.
func max2x2Row(x, y []float32, am []int32, first, w int) int {
	n := len(y) / 8 * 8
	if n == 0 {
		return 0
	}
	_ = x[first+w+2*n-1] // the kernel reads 2n floats of both rows
	_ = am[n-1]
	for j := 0; j < n; {
		j += 8 * max2x2AVX2(&x[first+2*j], w, (n-j)/8, &y[j], &am[j], first+2*j)
		if j < n { // a NaN in windows j..j+7
			for e := j; e < j+8; e++ {
				at := max2x2(x, first+2*e, w)
				y[e], am[e] = x[at], int32(at)
			}
			j += 8
		}
	}
	return n
}

// maxWindow returns the index in x of the maximum of the k×k window whose
// top-left element is x[first] (rows w apart): the first NaN if there is
// one, else the first of the largest.
func maxWindow(x []float32, first, w, k int) int {
	best, at := x[first], first
	for u := 0; u < k; u++ {
		r := first + u*w
		for v, xv := range x[r : r+k] {
			switch {
			case best != best: // NaN: keep the first one
				return at
			case xv > best || xv != xv:
				best, at = xv, r+v
			}
		}
	}
	return at
}

// max2x2 is maxWindow for k = 2 without data-dependent branches: it
// compares order-preserving integer keys with conditional moves (a branch
// on random data is mispredicted half the time) and leaves windows holding
// a NaN, rare, to maxWindow.
func max2x2(x []float32, first, w int) int {
	a, b := math.Float32bits(x[first]), math.Float32bits(x[first+1])
	c, d := math.Float32bits(x[first+w]), math.Float32bits(x[first+w+1])
	const absMask, inf = 0x7fffffff, 0x7f800000
	if max(a&absMask, b&absMask, c&absMask, d&absMask) > inf {
		return maxWindow(x, first, w, 2)
	}
	k, at := key(a), first
	if kb := key(b); kb > k {
		k, at = kb, first+1
	}
	if kc := key(c); kc > k {
		k, at = kc, first+w
	}
	if kd := key(d); kd > k {
		at = first + w + 1
	}
	return at
}

// key maps the bits of a float32 that is not NaN to an int32 with the same
// order (−0 and +0 both map to 0, so that they tie as floats do).
func key(b uint32) int32 {
	m := int32(b) >> 31 // −1 when negative
	mag := int32(b & 0x7fffffff)
	return (mag ^ m) - m
}

func (op *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns dx = maxPoolGrad(y, dy). y is an input of the backward
// node only to order it after the forward, whose arg-max it reads.
func (op *maxPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(inputs))
	}
	dx, err := G.ApplyOp(&maxPoolGradOp{fwd: op, opBase: newBase()}, output, grad)
	if err != nil {
		return nil, fmt.Errorf("maxpool2d dx: %w", err)
	}
	return G.Nodes{dx}, nil
}

// maxPoolGradOp computes dx (B, C, H, W) from y and dy (B, C, H', W') with
// the forward's arg-max.
type maxPoolGradOp struct {
	opBase
	fwd *maxPoolOp

	dx *tensor.Dense
	l  loop

	dy, out []float32
}

var _ G.UsePreallocDoer = (*maxPoolGradOp)(nil)

func (op *maxPoolGradOp) Arity() int { return 2 }
func (op *maxPoolGradOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t, t)
}
func (op *maxPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.fwd.xShape.Clone(), nil
}
func (op *maxPoolGradOp) String() string {
	return fmt.Sprintf("MaxPool2dGrad{x%v k %d stride %d}", op.fwd.xShape, op.fwd.k, op.fwd.s)
}
func (op *maxPoolGradOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *maxPoolGradOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *maxPoolGradOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *maxPoolGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *maxPoolGradOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *maxPoolGradOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	f := op.fwd
	if len(f.argmax) < f.yShape.TotalSize() {
		return nil, fmt.Errorf("%v: the forward has not run", op)
	}
	var err error
	if op.dy, err = floats("maxpool2d dy", vs[1], f.yShape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, f.xShape)
	if dx == nil {
		dx = reuse(&op.dx, f.xShape)
	}
	op.out = dx.Float32s()
	items, _ := chunks(f.planes, f.h*f.w)
	op.l.run(op, items, slotsFor(items))
	op.dy, op.out = nil, nil
	return dx, nil
}

func (op *maxPoolGradOp) item(_, i int) {
	f := op.fwd
	_, per := chunks(f.planes, f.h*f.w)
	hw, ohw := f.h*f.w, f.area()
	for p := i * per; p < min((i+1)*per, f.planes); p++ {
		dx := op.out[p*hw : (p+1)*hw]
		dy := op.dy[p*ohw : (p+1)*ohw]
		am := f.argmax[p*ohw : (p+1)*ohw]
		clear(dx)
		for o, g := range dy {
			dx[am[o]] += g
		}
	}
}

// chunkFloats is the least number of floats an elementwise work item covers,
// so that handing items out costs little next to the work.
const chunkFloats = 1 << 14

// chunks splits n planes of size floats each into items of per planes.
func chunks(n, size int) (items, per int) {
	per = max(1, chunkFloats/max(size, 1))
	return (n + per - 1) / per, per
}
