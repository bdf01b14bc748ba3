package vm

import (
	"slices"
	"strings"

	"github.com/chewxy/math32"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The kernels below replace Gorgonia's stock ops for float32 values. Each
// one follows the loop of gorgonia.org/tensor v0.9.24 (internal/execution)
// or Gorgonia v0.9.18 that the stock op runs, operation for operation, so
// that its results are the same bit for bit; the comments name the loop.
// Anything else (other dtypes, shapes or ops) returns nil from ownKernel and
// runs through the op's own Do.

type kernel = func(in []G.Value, out G.Value)

// ownKernel returns a kernel for step s, or nil.
func (m *Machine) ownKernel(s *step) kernel {
	nd, op := s.node, s.node.Op()
	if nd.Dtype() != tensor.Float32 {
		return nil
	}
	kids := make([]*G.Node, len(s.args))
	for j, a := range s.args {
		kids[j] = m.steps[a].node
		if kids[j].Dtype() != tensor.Float32 {
			return nil
		}
	}
	switch {
	case isGorgonia(op, "elemBinOp"):
		return binKernel(op, nd, kids)
	case isGorgonia(op, "elemUnaryOp"):
		return unaryKernel(op, nd, kids)
	case isGorgonia(op, "sumOp"):
		return reduceKernel(op, nd, kids, false)
	case isGorgonia(op, "maxOp"):
		return reduceKernel(op, nd, kids, true)
	case isGorgonia(op, "reshapeOp"):
		if len(kids) != 1 || kids[0].Shape().TotalSize() != nd.Shape().TotalSize() {
			return nil
		}
		return func(in []G.Value, out G.Value) { copy(f32(out), f32(in[0])) }
	case isGorgonia(op, "repeatOp"):
		return repeatKernel(op, nd, kids)
	case isGorgonia(op, "sizeOp"):
		return sizeKernel(op, kids)
	case isGorgonia(op, "transposeOp"):
		return transposeKernel(op, nd, kids)
	case isGorgonia(op, "linAlgBinOp"):
		return matMulKernel(op, nd, kids)
	}
	return nil
}

// binKernel: elemBinOp over two tensors of one size, a tensor and a scalar,
// or two scalars (tensor's VecAddF32, AddVSF32, AddSVF32 and their kin;
// Gorgonia's scalarBinOp; the comparisons' EqSameF32 and kin, 1 or 0).
func binKernel(op G.Op, nd *G.Node, kids []*G.Node) kernel {
	if len(kids) != 2 {
		return nil
	}
	var f func(a, b float32) float32
	word := firstWord(op)
	switch word {
	case "+":
		f = func(a, b float32) float32 { return a + b }
	case "-":
		f = func(a, b float32) float32 { return a - b }
	case "⊙":
		f = func(a, b float32) float32 { return a * b }
	case "÷":
		f = func(a, b float32) float32 { return a / b }
	case "==", "!=", "<", ">", "<=", ">=":
		same, ok := fieldBool(op, "retSame")
		if !ok || !same || nd.IsScalar() { // bools, or a scalar comparison: Gorgonia's own
			return nil
		}
		cmp := map[string]func(a, b float32) bool{
			"==": func(a, b float32) bool { return a == b },
			"!=": func(a, b float32) bool { return a != b },
			"<":  func(a, b float32) bool { return a < b },
			">":  func(a, b float32) bool { return a > b },
			"<=": func(a, b float32) bool { return a <= b },
			">=": func(a, b float32) bool { return a >= b },
		}[word]
		f = func(a, b float32) float32 {
			if cmp(a, b) {
				return 1
			}
			return 0
		}
	default:
		return nil
	}
	as, bs := kids[0].IsScalar(), kids[1].IsScalar()
	na, nb, no := kids[0].Shape().TotalSize(), kids[1].Shape().TotalSize(), nd.Shape().TotalSize()
	switch {
	case as && bs && nd.IsScalar():
	case !as && !bs && na == nb && na == no:
	case !as && bs && na == no:
	case as && !bs && nb == no:
	default:
		return nil
	}
	switch {
	case as && !bs:
		return func(in []G.Value, out G.Value) {
			a, b, o := f32(in[0])[0], f32(in[1]), f32(out)
			for i, v := range b {
				o[i] = f(a, v)
			}
		}
	case bs && !as:
		return func(in []G.Value, out G.Value) {
			a, b, o := f32(in[0]), f32(in[1])[0], f32(out)
			for i, v := range a {
				o[i] = f(v, b)
			}
		}
	default: // same size, scalars included
		return func(in []G.Value, out G.Value) {
			a, b, o := f32(in[0]), f32(in[1]), f32(out)
			b = b[:len(a)]
			for i, v := range a {
				o[i] = f(v, b[i])
			}
		}
	}
}

// unaryKernel: elemUnaryOp (tensor's ExpF32, LogF32, NegF32, SquareF32,
// SqrtF32; Gorgonia's expf32, lnf32, negf32, squaref32, sqrtf32 for
// scalars: the same math32 functions and products).
func unaryKernel(op G.Op, nd *G.Node, kids []*G.Node) kernel {
	if len(kids) != 1 {
		return nil
	}
	var f func(float32) float32
	switch op.String() {
	case "exp":
		f = math32.Exp
	case "ln":
		f = math32.Log
	case "neg":
		f = func(x float32) float32 { return -x }
	case "square":
		f = func(x float32) float32 { return x * x }
	case "sqrt":
		f = math32.Sqrt
	default:
		return nil
	}
	if kids[0].IsScalar() != nd.IsScalar() || kids[0].Shape().TotalSize() != nd.Shape().TotalSize() {
		return nil
	}
	return func(in []G.Value, out G.Value) {
		a, o := f32(in[0]), f32(out)
		o = o[:len(a)]
		for i, v := range a {
			o[i] = f(v)
		}
	}
}

// reduceKernel: sumOp and maxOp over all axes of a tensor (tensor's SumF32
// from 0, or SliceMaxF32 with MaxF32), along the first axis of a matrix
// (the first row, then VecAddF32 or VecMaxF32 with each next row), or along
// its last axis (SumF32 or SliceMaxF32 per row).
func reduceKernel(op G.Op, nd *G.Node, kids []*G.Node, isMax bool) kernel {
	if len(kids) != 1 || kids[0].IsScalar() {
		return nil
	}
	along, ok := fieldInts(op, "along")
	if !ok {
		return nil
	}
	s := kids[0].Shape()
	d := s.Dims()
	all := len(along) == 0
	if len(along) == d {
		all = true
		for i, a := range along {
			all = all && a == i
		}
	}
	sumAll := func(a []float32) float32 { // SumF32
		var r float32
		for _, v := range a {
			r += v
		}
		return r
	}
	maxAll := func(a []float32) float32 { // SliceMaxF32: ReduceF32(MaxF32, a[0], a[1:]...)
		r := a[0]
		for _, v := range a[1:] {
			if !(r > v) {
				r = v
			}
		}
		return r
	}
	whole := sumAll
	if isMax {
		whole = maxAll
	}
	no := 1
	if !nd.IsScalar() {
		no = nd.Shape().TotalSize()
	}
	switch {
	case all && no == 1 && s.TotalSize() > 0:
		return func(in []G.Value, out G.Value) { f32(out)[0] = whole(f32(in[0])) }
	case d == 2 && slices.Equal(along, []int{0}) && no == s[1] && s[0] > 0:
		rows, cols := s[0], s[1]
		return func(in []G.Value, out G.Value) {
			a, o := f32(in[0]), f32(out)[:cols]
			copy(o, a[:cols])
			for r := 1; r < rows; r++ {
				row := a[r*cols : (r+1)*cols]
				if isMax { // VecMaxF32
					for j, v := range row {
						if v > o[j] {
							o[j] = v
						}
					}
				} else { // VecAddF32
					for j, v := range row {
						o[j] += v
					}
				}
			}
		}
	case d == 2 && slices.Equal(along, []int{1}) && no == s[0] && s[1] > 0:
		rows, cols := s[0], s[1]
		return func(in []G.Value, out G.Value) {
			a, o := f32(in[0]), f32(out)[:rows]
			for r := range o {
				o[r] = whole(a[r*cols : (r+1)*cols])
			}
		}
	}
	return nil
}

// repeatKernel: repeatOp along an axis (tensor's Repeat: each element
// repeated, numpy's repeat), from a scalar or a tensor of the output's rank.
func repeatKernel(op G.Op, nd *G.Node, kids []*G.Node) kernel {
	if len(kids) != 2 || !kids[1].IsScalar() {
		return nil
	}
	along, ok := fieldInt(op, "along")
	out := nd.Shape()
	if !ok || along < 0 || along >= out.Dims() {
		return nil
	}
	if kids[0].IsScalar() {
		return func(in []G.Value, o G.Value) {
			v, dst := f32(in[0])[0], f32(o)
			for i := range dst {
				dst[i] = v
			}
		}
	}
	s := kids[0].Shape()
	if s.Dims() != out.Dims() || s[along] == 0 || out[along]%s[along] != 0 {
		return nil
	}
	for i := range s {
		if i != along && s[i] != out[i] {
			return nil
		}
	}
	outer, inner := 1, 1
	for i := 0; i < along; i++ {
		outer *= s[i]
	}
	for i := along + 1; i < s.Dims(); i++ {
		inner *= s[i]
	}
	size, reps := s[along], out[along]/s[along]
	return func(in []G.Value, o G.Value) {
		a, dst := f32(in[0]), f32(o)
		at := 0
		for p := 0; p < outer; p++ {
			for j := 0; j < size; j++ {
				src := a[(p*size+j)*inner : (p*size+j+1)*inner]
				for r := 0; r < reps; r++ {
					copy(dst[at:at+inner], src)
					at += inner
				}
			}
		}
	}
}

// sizeKernel: sizeOp, the input's length along an axis (1 for a scalar), as
// a float32; the graph's shapes are fixed, so the number is too.
func sizeKernel(op G.Op, kids []*G.Node) kernel {
	if len(kids) != 1 {
		return nil
	}
	axis, ok := fieldInt(op, "axis")
	if !ok {
		return nil
	}
	size := float32(1)
	if !kids[0].IsScalar() {
		s := kids[0].Shape()
		if axis < 0 || axis >= s.Dims() {
			return nil
		}
		size = float32(s[axis])
	}
	return func(_ []G.Value, out G.Value) { f32(out)[0] = size }
}

// transposeKernel: transposeOp of a matrix (pattern {1, 0}), copied.
func transposeKernel(op G.Op, nd *G.Node, kids []*G.Node) kernel {
	pattern, ok := fieldInts(op, "pattern")
	if !ok || len(kids) != 1 || !slices.Equal(pattern, []int{1, 0}) || kids[0].Shape().Dims() != 2 {
		return nil
	}
	rows, cols := kids[0].Shape()[0], kids[0].Shape()[1]
	if !nd.Shape().Eq(tensor.Shape{cols, rows}) {
		return nil
	}
	return func(in []G.Value, out G.Value) {
		a, o := f32(in[0]), f32(out)
		for r := 0; r < rows; r++ {
			for c, v := range a[r*cols : (r+1)*cols] {
				o[c*rows+r] = v
			}
		}
	}
}

// matMulKernel: linAlgBinOp's matrix product (A × B, Aᵀ × B, A × Bᵀ,
// Aᵀ × Bᵀ), the Sgemm call of tensor's StdEng.MatMul on row-major
// matrices, α = 1, β = 0, through the BLAS Gorgonia uses (G.WhichBLAS).
func matMulKernel(op G.Op, nd *G.Node, kids []*G.Node) kernel {
	if len(kids) != 2 || !strings.HasPrefix(op.String(), "A") || kids[0].Shape().Dims() != 2 || kids[1].Shape().Dims() != 2 || nd.Shape().Dims() != 2 {
		return nil
	}
	transA, okA := fieldBool(op, "transA")
	transB, okB := fieldBool(op, "transB")
	if !okA || !okB {
		return nil
	}
	as, bs := kids[0].Shape(), kids[1].Shape()
	m, k := as[0], as[1]
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		m, k, tA = as[1], as[0], blas.Trans
	}
	kb, n := bs[0], bs[1]
	if transB {
		kb, n, tB = bs[1], bs[0], blas.Trans
	}
	if kb != k || !nd.Shape().Eq(tensor.Shape{m, n}) {
		return nil
	}
	lda, ldb := as[1], bs[1]
	return func(in []G.Value, out G.Value) {
		if m == 0 || n == 0 {
			return
		}
		G.WhichBLAS().Sgemm(tA, tB, m, n, k, 1, f32(in[0]), lda, f32(in[1]), ldb, 0, f32(out), n)
	}
}
