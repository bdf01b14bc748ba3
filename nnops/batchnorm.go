package nnops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BNState is the non-learnable state of one batch-normalisation layer: the
// running statistics, their update rate, ε, and the mode.
//
// The BatchNorm op reads the mode when it runs, not when a machine is built,
// so one graph serves a training machine and an evaluation machine: call
// SetTraining(true) before a training run and SetTraining(false) before an
// evaluation run. (BNState is not an op: Gorgonia's TapeMachine, which calls
// SetTraining(bool) error on ops implementing its TrainModeOp when it is
// built, never sees it, and the op does not implement TrainModeOp.)
//
// Mean and Var are read and written in place: to restore them (from a
// checkpoint), copy into the slices; never replace them.
type BNState struct {
	// Mean and Var are the running mean and variance, one per channel.
	Mean, Var []float32
	// Momentum m updates them in training mode, PyTorch's convention:
	// running = (1 − m)·running + m·batch, with the unbiased batch
	// variance (N/(N − 1) times the biased one the forward normalises with).
	// (Caffe's moving_average_fraction is 1 − m.)
	Momentum float64
	// Eps is ε in 1/√(var + ε).
	Eps float64

	training bool
}

// Defaults of NewBNState, PyTorch's.
const (
	DefaultBNMomentum = 0.1
	DefaultBNEps      = 1e-5
)

// NewBNState returns the state of a layer of c channels as PyTorch starts
// it: running mean 0, running variance 1, momentum 0.1, ε = 1e-5, training
// mode.
func NewBNState(c int) *BNState {
	v := make([]float32, c)
	for i := range v {
		v[i] = 1
	}
	return &BNState{Mean: make([]float32, c), Var: v, Momentum: DefaultBNMomentum, Eps: DefaultBNEps, training: true}
}

// SetTraining selects training mode (batch statistics, running statistics
// updated by every forward run) or evaluation mode (running statistics, no
// update) for the runs that follow.
func (s *BNState) SetTraining(on bool) { s.training = on }

// Training reports the mode set by SetTraining.
func (s *BNState) Training() bool { return s.training }

// BatchNorm is the batch normalisation of Ioffe and Szegedy, "Batch
// Normalization: Accelerating Deep Network Training by Reducing Internal
// Covariate Shift" (ICML 2015), per channel:
//
//	y[n][c][…] = γ[c] · (x[n][c][…] − μ[c]) / √(σ²[c] + ε) + β[c]
//
// x is (B, C, H, W) or (B, C) (any shape (B, C, …)); γ and β are any shapes
// holding C values — (C) or (1, C, 1, 1). In training mode (bn.Training) μ
// and σ² are the mean and biased variance of channel c over the batch (N =
// B·H·W values), and the forward updates bn's running statistics (see
// BNState; it needs N > 1); in evaluation mode they are bn.Mean and bn.Var,
// left unchanged. The mode is read on every run.
//
// The gradients, with x̂ = (x − μ)/√(σ² + ε) and sums over the N values of
// a channel, are
//
//	dβ[c] = Σ dy,  dγ[c] = Σ dy·x̂,
//	dx = γ/√(σ² + ε) · (dy − dβ/N − x̂·dγ/N)   (training mode)
//	dx = γ/√(σ² + ε) · dy                      (evaluation mode: fixed statistics)
//
// following the mode of the forward run of the same step. One dx op
// computes the two sums and the dγ and dβ ops copy them out, so the
// backward reads x and dy twice in all.
//
// Work is shared among workers by whole channels, and each channel's sums
// run in a fixed order in float64: results are bit-for-bit the same from run
// to run and for any SetThreads.
//
// Memory held: y, dx, the per-channel statistics and sums (float64), dγ and
// dβ.
func BatchNorm(x, gamma, beta *G.Node, bn *BNState) (*G.Node, error) {
	return batchNorm(x, gamma, beta, bn, false)
}

// BatchNormReLU is ReLU(BatchNorm(x, γ, β)) as one op: the same values and
// gradients bit for bit as the two ops, in fewer passes over memory (the
// forward writes only the ReLU's output; the backward masks dy by y > 0 as
// it reads it) and without the intermediate tensors.
func BatchNormReLU(x, gamma, beta *G.Node, bn *BNState) (*G.Node, error) {
	return batchNorm(x, gamma, beta, bn, true)
}

func batchNorm(x, gamma, beta *G.Node, bn *BNState, relu bool) (*G.Node, error) {
	if err := checkNode("batchnorm: x", x, -1); err != nil {
		return nil, err
	}
	if err := checkNode("batchnorm: gamma", gamma, -1); err != nil {
		return nil, err
	}
	if err := checkNode("batchnorm: beta", beta, -1); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs.Dims() < 2 {
		return nil, fmt.Errorf("batchnorm: x must be (B, C, …) (got shape %v)", xs)
	}
	c := xs[1]
	for _, p := range []struct {
		what string
		n    *G.Node
	}{{"gamma", gamma}, {"beta", beta}} {
		if p.n.Shape().TotalSize() != c {
			return nil, fmt.Errorf("batchnorm: %s %v must hold %d values, one per channel of x %v", p.what, p.n.Shape(), c, xs)
		}
	}
	if bn == nil {
		return nil, fmt.Errorf("batchnorm: state is nil (use NewBNState(%d))", c)
	}
	if err := bn.check(c); err != nil {
		return nil, fmt.Errorf("batchnorm: %w", err)
	}
	shape := newBNShape(xs, gamma.Shape(), beta.Shape())
	shape.relu = relu
	op := &bnOp{bnShape: shape, st: bn, opBase: newBase()}
	return G.ApplyOp(op, x, gamma, beta)
}

// check reports whether s fits a layer of c channels.
func (s *BNState) check(c int) error {
	if len(s.Mean) != c || len(s.Var) != c {
		return fmt.Errorf("state has %d means and %d variances, want %d", len(s.Mean), len(s.Var), c)
	}
	if !(s.Momentum >= 0 && s.Momentum <= 1) {
		return fmt.Errorf("momentum must be in [0, 1] (got %v)", s.Momentum)
	}
	if !(s.Eps > 0) {
		return fmt.Errorf("eps must be > 0 (got %v)", s.Eps)
	}
	return nil
}

// bnShape is what BatchNorm's forward and backward ops share. x holds B·C
// planes of size floats each; channel c is planes c, C + c, 2C + c, ….
type bnShape struct {
	xShape, gShape, bShape tensor.Shape
	batch, c, size         int
	relu                   bool // BatchNormReLU
}

func newBNShape(xs, gs, bs tensor.Shape) bnShape {
	s := bnShape{xShape: xs.Clone(), gShape: gs.Clone(), bShape: bs.Clone(), batch: xs[0], c: xs[1], size: 1}
	for _, d := range xs[2:] {
		s.size *= d
	}
	return s
}

// count is N, the number of values per channel.
func (s *bnShape) count() int { return s.batch * s.size }

// plane returns the offset of plane (n, c).
func (s *bnShape) plane(n, c int) int { return (n*s.c + c) * s.size }

func (s *bnShape) String() string { return fmt.Sprintf("x%v", s.xShape) }

// name is "BatchNorm" or "BatchNormReLU".
func (s *bnShape) name() string {
	if s.relu {
		return "BatchNormReLU"
	}
	return "BatchNorm"
}

// bnOp is the forward op: y = BatchNorm(x, γ, β), or its ReLU (bnShape.relu).
type bnOp struct {
	bnShape
	opBase
	st *BNState

	y *tensor.Dense
	l loop

	// Set by each run for the backward ops of the same step, per channel:
	// the μ and 1/√(σ² + ε) the run normalised with, and whether they were
	// batch statistics.
	mean, invstd []float64
	train        bool
	ran          bool

	xd, gd, bd, out []float32
}

var _ G.SDOp = (*bnOp)(nil)
var _ G.UsePreallocDoer = (*bnOp)(nil)

func (op *bnOp) Arity() int { return 3 }
func (op *bnOp) Type() hm.Type {
	t := tensorType(op.xShape.Dims())
	return hm.NewFnType(t, tensorType(op.gShape.Dims()), tensorType(op.bShape.Dims()), t)
}
func (op *bnOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.xShape.Clone(), nil }
func (op *bnOp) String() string                                 { return op.name() + "{" + op.bnShape.String() + "}" }
func (op *bnOp) WriteHash(h hash.Hash)                          { writeHash(h, op, op.id) }
func (op *bnOp) Hashcode() uint32                               { return hashOf(op, op.id) }

func (op *bnOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *bnOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs (got %d)", op, len(vs))
	}
	if err := op.st.check(op.c); err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	op.train = op.st.training
	if op.train && op.count() < 2 {
		return nil, fmt.Errorf("%v: training mode needs more than one value per channel", op)
	}
	var err error
	if op.xd, err = floats("batchnorm x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	if op.gd, err = floats("batchnorm gamma", vs[1], op.gShape); err != nil {
		return nil, err
	}
	if op.bd, err = floats("batchnorm beta", vs[2], op.bShape); err != nil {
		return nil, err
	}
	y := usePrealloc(prealloc, op.xShape)
	if y == nil {
		y = reuse(&op.y, op.xShape)
	}
	op.out = y.Float32s()
	if op.mean == nil {
		op.mean, op.invstd = make([]float64, op.c), make([]float64, op.c)
	}
	op.l.run(op, op.c, slotsFor(op.c))
	op.ran = true
	op.xd, op.gd, op.bd, op.out = nil, nil, nil, nil
	return y, nil
}

// item normalises channel c, after computing its batch statistics and
// updating its running ones in training mode.
func (op *bnOp) item(_, c int) {
	st := op.st
	if op.train {
		// Sums of x − k for k = the channel's first value: the variance does
		// not cancel catastrophically when |μ| ≫ σ.
		k := float64(op.xd[op.plane(0, c)])
		var s1, s2 float64
		for n := 0; n < op.batch; n++ {
			p := op.plane(n, c)
			a, b := shiftedSums(op.xd[p:p+op.size], k)
			s1 += a
			s2 += b
		}
		cnt := float64(op.count())
		v := max(0, (s2-s1*s1/cnt)/cnt) // biased
		mu := k + s1/cnt
		op.mean[c], op.invstd[c] = mu, 1/math.Sqrt(v+st.Eps)
		m := st.Momentum
		st.Mean[c] = float32((1-m)*float64(st.Mean[c]) + m*mu)
		st.Var[c] = float32((1-m)*float64(st.Var[c]) + m*v*cnt/(cnt-1))
	} else {
		op.mean[c], op.invstd[c] = float64(st.Mean[c]), 1/math.Sqrt(float64(st.Var[c])+st.Eps)
	}
	hi, lo := split(op.mean[c])
	scale := float32(float64(op.gd[c]) * op.invstd[c])
	shift := op.bd[c]
	for n := 0; n < op.batch; n++ {
		p := op.plane(n, c)
		if op.relu {
			normAffineReLU(op.xd[p:p+op.size], op.out[p:p+op.size], hi, lo, scale, shift)
		} else {
			normAffine(op.xd[p:p+op.size], op.out[p:p+op.size], hi, lo, scale, shift)
		}
	}
}

// split returns v as a float32 sum hi + lo. x − μ is computed as
// (x − hi) − lo: the first difference is exact when x is within a factor 2
// of hi, so a channel whose mean is far larger than its spread keeps its
// precision (a single float32 μ would quantise x − μ to steps of ulp(μ)).
func split(v float64) (hi, lo float32) {
	hi = float32(v)
	return hi, float32(v - float64(hi))
}

func (op *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff returns dx = bnGradX(x, γ, y, dy) and dγ, dβ = bnGradParam(dx).
// y is an input of the dx node only to order it after the forward, whose
// statistics it reads; dx is the input of the dγ and dβ nodes because the
// dx op computes their sums.
func (op *bnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs (got %d)", op, len(inputs))
	}
	gx := &bnGradXOp{fwd: op, opBase: newBase()}
	dx, err := G.ApplyOp(gx, inputs[0], inputs[1], output, grad)
	if err != nil {
		return nil, fmt.Errorf("batchnorm dx: %w", err)
	}
	dg, err := G.ApplyOp(&bnGradParamOp{gx: gx, opBase: newBase()}, dx)
	if err != nil {
		return nil, fmt.Errorf("batchnorm dgamma: %w", err)
	}
	db, err := G.ApplyOp(&bnGradParamOp{gx: gx, beta: true, opBase: newBase()}, dx)
	if err != nil {
		return nil, fmt.Errorf("batchnorm dbeta: %w", err)
	}
	return G.Nodes{dx, dg, db}, nil
}

// bnGradXOp computes dx from x, γ, y and dy with the forward's statistics,
// and, per channel, Σ dy and Σ dy·x̂ for the dγ and dβ ops. y orders it
// after the forward; BatchNormReLU's also masks dy by y > 0 (the ReLU's
// gradient), so the sums and dx are those of the normalisation's output.
type bnGradXOp struct {
	opBase
	fwd *bnOp

	dx             *tensor.Dense
	sumDy, sumDyXh []float64 // per channel, set by each run
	ran            bool
	l              loop

	xd, gd, yd, dy, out []float32
}

var _ G.UsePreallocDoer = (*bnGradXOp)(nil)

func (op *bnGradXOp) Arity() int { return 4 }
func (op *bnGradXOp) Type() hm.Type {
	t := tensorType(op.fwd.xShape.Dims())
	return hm.NewFnType(t, tensorType(op.fwd.gShape.Dims()), t, t, t)
}
func (op *bnGradXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.fwd.xShape.Clone(), nil
}
func (op *bnGradXOp) String() string        { return op.fwd.name() + "GradX{" + op.fwd.bnShape.String() + "}" }
func (op *bnGradXOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *bnGradXOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *bnGradXOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *bnGradXOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *bnGradXOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *bnGradXOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 4 {
		return nil, fmt.Errorf("%v: want 4 inputs (got %d)", op, len(vs))
	}
	f := op.fwd
	if !f.ran {
		return nil, fmt.Errorf("%v: the forward has not run", op)
	}
	var err error
	if op.xd, err = floats("batchnorm x", vs[0], f.xShape); err != nil {
		return nil, err
	}
	if op.gd, err = floats("batchnorm gamma", vs[1], f.gShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("batchnorm dy", vs[3], f.xShape); err != nil {
		return nil, err
	}
	if f.relu {
		if op.yd, err = floats("batchnorm y", vs[2], f.xShape); err != nil {
			return nil, err
		}
	}
	dx := usePrealloc(prealloc, f.xShape)
	if dx == nil {
		dx = reuse(&op.dx, f.xShape)
	}
	op.out = dx.Float32s()
	if op.sumDy == nil {
		op.sumDy, op.sumDyXh = make([]float64, f.c), make([]float64, f.c)
	}
	op.l.run(op, f.c, slotsFor(f.c))
	op.ran = true
	op.xd, op.gd, op.yd, op.dy, op.out = nil, nil, nil, nil, nil
	return dx, nil
}

// item computes the sums and dx of channel c.
func (op *bnGradXOp) item(_, c int) {
	f := op.fwd
	hi, lo := split(f.mean[c])
	inv := f.invstd[c]
	var sdy, sdyxm float64 // Σ dy, Σ dy·(x − μ)
	for n := 0; n < f.batch; n++ {
		p := f.plane(n, c)
		var a, b float64
		if f.relu {
			a, b = gradSumsMasked(op.dy[p:p+f.size], op.yd[p:p+f.size], op.xd[p:p+f.size], hi, lo)
		} else {
			a, b = gradSums(op.dy[p:p+f.size], op.xd[p:p+f.size], hi, lo)
		}
		sdy += a
		sdyxm += b
	}
	op.sumDy[c], op.sumDyXh[c] = sdy, sdyxm*inv
	a := float64(op.gd[c]) * inv // γ/√(σ² + ε)
	// dx = a·dy − a·Σdy/N − a·x̂·Σ(dy·x̂)/N, with x̂ = (x − μ)·inv;
	// in evaluation mode only the first term.
	var b, k float32
	if f.train {
		cnt := float64(f.count())
		b = float32(a * sdy / cnt)
		k = float32(a * inv * op.sumDyXh[c] / cnt)
	}
	a32 := float32(a)
	for n := 0; n < f.batch; n++ {
		p := f.plane(n, c)
		if f.relu {
			bnDxMasked(op.xd[p:p+f.size], op.yd[p:p+f.size], op.dy[p:p+f.size], op.out[p:p+f.size], hi, lo, a32, b, k)
		} else {
			bnDx(op.xd[p:p+f.size], op.dy[p:p+f.size], op.out[p:p+f.size], hi, lo, a32, b, k)
		}
	}
}

// bnGradParamOp copies dγ (Σ dy·x̂) or, with beta, dβ (Σ dy) out of the
// sums of the dx op of the same run, whose output is its input.
type bnGradParamOp struct {
	opBase
	gx   *bnGradXOp
	beta bool

	d *tensor.Dense
}

var _ G.UsePreallocDoer = (*bnGradParamOp)(nil)

func (op *bnGradParamOp) shape() tensor.Shape {
	if op.beta {
		return op.gx.fwd.bShape
	}
	return op.gx.fwd.gShape
}

func (op *bnGradParamOp) Arity() int { return 1 }
func (op *bnGradParamOp) Type() hm.Type {
	return hm.NewFnType(tensorType(op.gx.fwd.xShape.Dims()), tensorType(op.shape().Dims()))
}
func (op *bnGradParamOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape().Clone(), nil
}
func (op *bnGradParamOp) String() string {
	if op.beta {
		return "BatchNormGradBeta{" + op.gx.fwd.bnShape.String() + "}"
	}
	return "BatchNormGradGamma{" + op.gx.fwd.bnShape.String() + "}"
}
func (op *bnGradParamOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *bnGradParamOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *bnGradParamOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *bnGradParamOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *bnGradParamOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *bnGradParamOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	if !op.gx.ran {
		return nil, fmt.Errorf("%v: the dx op has not run", op)
	}
	s := op.shape()
	d := usePrealloc(prealloc, s)
	if d == nil {
		d = reuse(&op.d, s)
	}
	sums := op.gx.sumDyXh
	if op.beta {
		sums = op.gx.sumDy
	}
	out := d.Float32s()
	for c, v := range sums {
		out[c] = float32(v)
	}
	return d, nil
}
