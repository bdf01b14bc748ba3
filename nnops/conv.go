package nnops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch and
// Gorgonia) with the bias fused:
//
//	y[n][o][i][j] = b[o] + Σ_{c,u,v} w[o][c][u][v] · x[n][c][i·s − pad + u][j·s − pad + v]
//
// with x zero outside the image. Shapes: x (B, Cin, H, W), w (Cout, Cin, K,
// K), b any shape holding Cout values — (Cout) or (1, Cout, 1, 1) — or nil
// for a convolution without bias (no bias term, no db op), and y (B, Cout,
// H', W') with H' = (H + 2·pad − K)/stride + 1 (floored), the same for W'.
// All float32.
//
// Per image n the forward unfolds x[n] into col (Cin·K·K × H'·W', im2col)
// and computes y[n] (Cout × H'·W') = [w | b] · [col; 1] with one GEMM,
// written straight into the NCHW output (no transposes, the bias folded in as
// a last column of w against a row of ones). Images smaller than about 16×16
// outputs are unfolded several side by side (groupCols) to make each GEMM
// larger. The gradients are
//
//	dw = Σ_n dy[n] · col[n]ᵀ,  db[o] = Σ_{n,i,j} dy[n][o][i][j],
//	dx[n] = col2im(wᵀ · dy[n])
//	      = conv(dy[n], w rotated 180° with Cin ↔ Cout, pad K−1−pad)  (stride 1),
//
// each a separate op so that Gorgonia runs only those it needs; dw
// recomputes col[n] instead of keeping the whole batch's, and for stride 1
// dx is computed as that second convolution (im2col copies instead of
// col2im's scattered adds).
//
// On AVX-512, 5×5 and 3×3 stride-1 convolutions with at least 16 input
// channels run by Winograd F(4×4, 5×5) or F(4×4, 3×3) instead (winoConv,
// wino.go): the forward, the dx that is a convolution, and dw.
//
// Work is shared among SetThreads workers by groups of images; each GEMM is
// single-threaded.
//
// Memory held, all reused from run to run: the output y, and in the
// backward ops dx, dw and db, plus the weights rearranged ([w | b], and w
// flipped for dx). Working memory is per worker and shared by all the ops of
// the package (see scratch): an unfolded group of images of (Cin·K·K + 1) ×
// G·H'·W' floats (G images per group; for dx with stride 1, Cout·K·K ×
// G·H·W), a Cout × G·H'·W' group buffer when G > 1, and a dw partial sum per
// worker beyond the first. For LeNet++ at batch 128 with 2 workers that is
// about 8 MB in all, against the ~240 MB of activations and gradients the
// graph holds.
func Conv2d(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
	if err := checkNode("conv2d: x", x, 4); err != nil {
		return nil, err
	}
	if err := checkNode("conv2d: w", w, 4); err != nil {
		return nil, err
	}
	if b != nil {
		if err := checkNode("conv2d: b", b, -1); err != nil {
			return nil, err
		}
	}
	xs, ws := x.Shape(), w.Shape()
	if ws[1] != xs[1] {
		return nil, fmt.Errorf("conv2d: w %v has %d input channels, x %v has %d", ws, ws[1], xs, xs[1])
	}
	if ws[2] != ws[3] {
		return nil, fmt.Errorf("conv2d: kernel must be square (got w %v)", ws)
	}
	if b != nil && b.Shape().TotalSize() != ws[0] {
		return nil, fmt.Errorf("conv2d: b %v must hold %d values, one per output channel", b.Shape(), ws[0])
	}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("conv2d: stride must be >= 1 and pad >= 0 (got stride %d, pad %d)", stride, pad)
	}
	k := ws[2]
	if xs[2]+2*pad < k || xs[3]+2*pad < k {
		return nil, fmt.Errorf("conv2d: kernel %d is larger than the padded input %v (pad %d)", k, xs, pad)
	}
	inputs, bs := G.Nodes{x, w}, tensor.Shape(nil)
	if b != nil {
		inputs, bs = append(inputs, b), b.Shape()
	}
	return G.ApplyOp(&conv2dOp{convShape: newConvShape(xs, ws, bs, stride, pad), opBase: newBase()}, inputs...)
}

// convShape is what the forward and backward ops of one convolution share.
type convShape struct {
	batchGeom              // B images of Cin×H×W, K×K window, Cout outputs
	xShape    tensor.Shape // (B, Cin, H, W)
	wShape    tensor.Shape // (Cout, Cin, K, K)
	bShape    tensor.Shape // as given, Cout values; nil: no bias
	yShape    tensor.Shape // (B, Cout, H', W')
}

func newConvShape(xs, ws, bs tensor.Shape, stride, pad int) convShape {
	g := newGeom(xs[1], xs[2], xs[3], ws[2], stride, pad)
	s := convShape{
		batchGeom: newBatchGeom(g, xs[0], ws[0]),
		xShape:    xs.Clone(),
		wShape:    ws.Clone(),
		yShape:    tensor.Shape{xs[0], ws[0], g.oh, g.ow},
	}
	if bs != nil { // Clone would make nil an empty shape
		s.bShape = bs.Clone()
	}
	return s
}

func (s *convShape) String() string {
	if s.bShape == nil {
		return fmt.Sprintf("x%v w%v no bias stride %d pad %d", s.xShape, s.wShape, s.s, s.p)
	}
	return fmt.Sprintf("x%v w%v stride %d pad %d", s.xShape, s.wShape, s.s, s.p)
}

// flops is the number of floating-point operations of the forward
// convolution (2 per multiply-add), and of each of the dx and dw products.
func (s *convShape) flops() float64 {
	return 2 * float64(s.batch) * float64(s.cout) * float64(s.kdim()) * float64(s.area())
}

// conv2dOp is the forward op: y = conv(x, w) + b.
type conv2dOp struct {
	convShape
	opBase

	y    *tensor.Dense // (B, Cout, H', W'), reused
	conv gemmConv
}

var _ G.SDOp = (*conv2dOp)(nil)
var _ G.UsePreallocDoer = (*conv2dOp)(nil)

// Arity is 3 (x, w, b), or 2 without a bias.
func (op *conv2dOp) Arity() int {
	if op.bShape == nil {
		return 2
	}
	return 3
}

// Type is Tensor-4 a → Tensor-4 a → Tensor-d a → Tensor-4 a (d: b's dims),
// without the bias Tensor-4 a → Tensor-4 a → Tensor-4 a.
func (op *conv2dOp) Type() hm.Type {
	t := tensorType(4)
	if op.bShape == nil {
		return hm.NewFnType(t, t, t)
	}
	return hm.NewFnType(t, t, tensorType(op.bShape.Dims()), t)
}

func (op *conv2dOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.yShape.Clone(), nil
}

func (op *conv2dOp) String() string        { return "Conv2d{" + op.convShape.String() + "}" }
func (op *conv2dOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *conv2dOp) Hashcode() uint32      { return hashOf(op, op.id) }

func (op *conv2dOp) Do(vs ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

// UsePreallocDo writes y into prealloc when it is a float32 tensor of y's
// shape, and into the op's own output tensor otherwise.
func (op *conv2dOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != op.Arity() {
		return nil, fmt.Errorf("%v: want %d inputs (got %d)", op, op.Arity(), len(vs))
	}
	x, err := floats("conv2d x", vs[0], op.xShape)
	if err != nil {
		return nil, err
	}
	w, err := floats("conv2d w", vs[1], op.wShape)
	if err != nil {
		return nil, err
	}
	var b []float32
	if op.bShape != nil {
		if b, err = floats("conv2d b", vs[2], op.bShape); err != nil {
			return nil, err
		}
	}
	y := usePrealloc(prealloc, op.yShape)
	if y == nil {
		y = reuse(&op.y, op.yShape)
	}
	if op.conv.batch == 0 {
		op.conv = newGemmConv(op.geom, op.batch, op.cout)
	}
	op.conv.run(x, w, b, y.Float32s())
	return y, nil
}

func (op *conv2dOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns dx = convGradX(w, dy), dw = convGradW(x, dy) and, with a
// bias, db = convGradB(dy).
func (op *conv2dOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != op.Arity() {
		return nil, fmt.Errorf("%v: want %d inputs (got %d)", op, op.Arity(), len(inputs))
	}
	dx, err := G.ApplyOp(&convGradXOp{convShape: op.convShape, opBase: newBase()}, inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("conv2d dx: %w", err)
	}
	dw, err := G.ApplyOp(&convGradWOp{convShape: op.convShape, opBase: newBase()}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("conv2d dw: %w", err)
	}
	if op.bShape == nil {
		return G.Nodes{dx, dw}, nil
	}
	db, err := G.ApplyOp(&convGradBOp{convShape: op.convShape, opBase: newBase()}, grad)
	if err != nil {
		return nil, fmt.Errorf("conv2d db: %w", err)
	}
	return G.Nodes{dx, dw, db}, nil
}

// convGradXOp computes dx (B, Cin, H, W) from w and dy (B, Cout, H', W'):
// dx[n] = col2im(wᵀ · dy[n]), which for stride 1 is the convolution of dy,
// padded by K−1−pad, with w transposed (Cin ↔ Cout) and rotated by 180°.
type convGradXOp struct {
	convShape
	opBase

	dx    *tensor.Dense
	flip  gemmConv  // stride 1: dx = conv(dy, wflip) with pad K−1−pad
	wflip []float32 // (Cin, Cout, K, K): w transposed and rotated 180°
	// Otherwise (col2im), during a run, per worker: sc.col is Cin·K·K ×
	// group·H'·W', sc.aux, when group > 1, Cout × group·H'·W'.
	sc *scratch
	l  loop

	wd, dy, out []float32
}

var _ G.UsePreallocDoer = (*convGradXOp)(nil)

func (op *convGradXOp) Arity() int { return 2 }
func (op *convGradXOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t, t)
}
func (op *convGradXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.xShape.Clone(), nil
}
func (op *convGradXOp) String() string        { return "Conv2dGradX{" + op.convShape.String() + "}" }
func (op *convGradXOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *convGradXOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *convGradXOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *convGradXOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *convGradXOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *convGradXOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.wd, err = floats("conv2d w", vs[0], op.wShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("conv2d dy", vs[1], op.yShape); err != nil {
		return nil, err
	}
	dx := usePrealloc(prealloc, op.xShape)
	if dx == nil {
		dx = reuse(&op.dx, op.xShape)
	}
	op.out = dx.Float32s()
	if op.s == 1 && op.p < op.k && !op.direct() && op.cout <= 2*op.c {
		// dx is the convolution of dy, padded by K−1−pad, with the flipped
		// and transposed weights: copies (im2col) instead of the scattered
		// adds of col2im, and no clearing of dx. Its unfolded dy has Cout
		// rows per Cin row of col2im's buffer, so a layer that widens a lot
		// (the first, 1 → 32) keeps col2im.
		if op.flip.batch == 0 {
			op.flip = newGemmConv(newGeom(op.cout, op.oh, op.ow, op.k, 1, op.k-1-op.p), op.batch, op.c)
		}
		op.wflip = grow32(op.wflip, len(op.wd))
		flipWeights(op.wd, op.wflip, op.cout, op.c, op.k)
		op.flip.run(op.dy, op.wflip, nil, op.out)
		op.wd, op.dy, op.out = nil, nil, nil
		return dx, nil
	}
	slots := slotsFor(op.items())
	op.sc = getScratch()
	if !op.direct() {
		op.sc.col = growSlots(op.sc.col, slots, op.kdim()*op.group*op.area())
	}
	if op.group > 1 {
		op.sc.aux = growSlots(op.sc.aux, slots, op.cout*op.group*op.area())
	}
	op.l.run(op, op.items(), slots)
	putScratch(op.sc)
	op.wd, op.dy, op.out, op.sc = nil, nil, nil, nil
	return dx, nil
}

func (op *convGradXOp) item(slot, i int) {
	n0, g := op.images(i)
	k, a := op.kdim(), op.area()
	img := op.c * op.h * op.w
	dyg := op.dy[n0*op.cout*a : (n0+1)*op.cout*a]
	if g > 1 {
		dyg = op.sc.aux[slot]
		op.gather(op.dy, dyg, n0, g)
	}
	if op.direct() {
		sgemm(true, false, k, a, op.cout, 1, op.wd, k, dyg, a, 0, op.out[n0*img:(n0+1)*img], a)
		return
	}
	col := op.sc.col[slot]
	sgemm(true, false, k, g*a, op.cout, 1, op.wd, k, dyg, g*a, 0, col, g*a)
	for t := 0; t < g; t++ {
		dxn := op.out[(n0+t)*img : (n0+t+1)*img]
		clear(dxn)
		op.col2im(col[t*a:], g*a, dxn)
	}
}

// flipWeights sets wf[c][o][u][v] = w[o][c][K−1−u][K−1−v]: the weights of
// the convolution that maps dy back to dx for a stride-1 convolution.
func flipWeights(w, wf []float32, cout, cin, k int) {
	kk := k * k
	for o := 0; o < cout; o++ {
		for c := 0; c < cin; c++ {
			src := w[(o*cin+c)*kk : (o*cin+c+1)*kk]
			dst := wf[(c*cout+o)*kk : (c*cout+o+1)*kk]
			for t, v := range src {
				dst[kk-1-t] = v
			}
		}
	}
}

// convGradWOp computes dw (Cout, Cin, K, K) from x and dy:
// dw = Σ_n dy[n] · im2col(x[n])ᵀ. Worker 0 sums into dw itself, the others
// into partial sums that are added at the end.
type convGradWOp struct {
	convShape
	opBase

	dw   *tensor.Dense
	bufs [][]float32 // per worker: Cin·K·K × group·H'·W'
	pw   *padW       // stride 1 on AVX-512: no im2col (padw.go)
	pwOK bool        // pw decided
	wg   *winoConv   // Winograd F(m×m, 5×5) or F(4×4, 3×3) (wino.go)
	// During a run, per worker: sc.col is Cin·K·K × group·H'·W', sc.aux,
	// when group > 1, Cout × group·H'·W', and sc.part a dw partial sum
	// (worker 0 sums straight into dw).
	sc *scratch
	l  loop

	xd, dy, out []float32
}

var _ G.UsePreallocDoer = (*convGradWOp)(nil)

func (op *convGradWOp) Arity() int { return 2 }
func (op *convGradWOp) Type() hm.Type {
	t := tensorType(4)
	return hm.NewFnType(t, t, t)
}
func (op *convGradWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.wShape.Clone(), nil
}
func (op *convGradWOp) String() string        { return "Conv2dGradW{" + op.convShape.String() + "}" }
func (op *convGradWOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *convGradWOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *convGradWOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *convGradWOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *convGradWOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *convGradWOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs (got %d)", op, len(vs))
	}
	var err error
	if op.xd, err = floats("conv2d x", vs[0], op.xShape); err != nil {
		return nil, err
	}
	if op.dy, err = floats("conv2d dy", vs[1], op.yShape); err != nil {
		return nil, err
	}
	dw := usePrealloc(prealloc, op.wShape)
	if dw == nil {
		dw = reuse(&op.dw, op.wShape)
	}
	op.out = dw.Float32s()
	if !op.pwOK {
		if useWino(op.geom, op.cout) {
			op.wg = newWinoConv(op.geom, op.batch, op.cout)
		} else if usePadW(op.geom) {
			op.pw = newPadW(op.geom, op.batch, op.cout)
		}
		op.pwOK = true
	}
	if op.wg != nil {
		op.wg.runGradW(op.xd, op.dy, op.out)
		op.xd, op.dy, op.out = nil, nil, nil
		return dw, nil
	}
	items := op.items()
	if op.pw != nil {
		items = (op.batch + op.pw.group - 1) / op.pw.group
	}
	slots := slotsFor(items)
	op.sc = getScratch()
	if op.pw != nil {
		op.sc.col = growSlots(op.sc.col, slots, op.pw.colLen())
		op.sc.aux = growSlots(op.sc.aux, slots, op.pw.auxLen())
	} else if !op.direct() {
		op.sc.col = growSlots(op.sc.col, slots, op.kdim()*op.group*op.area())
	}
	if op.group > 1 && op.pw == nil {
		op.sc.aux = growSlots(op.sc.aux, slots, op.cout*op.group*op.area())
	}
	for len(op.sc.part) < slots {
		op.sc.part = append(op.sc.part, nil)
	}
	clear(op.out)
	for s := 1; s < slots; s++ {
		op.sc.part[s] = grow32(op.sc.part[s], len(op.out))
		clear(op.sc.part[s])
	}
	op.l.run(op, items, slots)
	for s := 1; s < slots; s++ {
		add(op.out, op.sc.part[s])
	}
	putScratch(op.sc)
	op.xd, op.dy, op.out, op.sc = nil, nil, nil, nil
	return dw, nil
}

func (op *convGradWOp) item(slot, i int) {
	if op.pw != nil {
		part := op.out
		if slot > 0 {
			part = op.sc.part[slot]
		}
		n0 := i * op.pw.group
		op.pw.item(slot, n0, min(op.pw.group, op.batch-n0), op.xd, op.dy, op.sc.col[slot], op.sc.aux[slot], part)
		return
	}
	n0, g := op.images(i)
	k, a := op.kdim(), op.area()
	img := op.c * op.h * op.w
	dyg := op.dy[n0*op.cout*a : (n0+1)*op.cout*a]
	if g > 1 {
		dyg = op.sc.aux[slot]
		op.gather(op.dy, dyg, n0, g)
	}
	col := op.xd[n0*img : (n0+1)*img]
	if !op.direct() {
		col = op.sc.col[slot]
		op.unfold(op.xd, col, n0, g, g*op.area())
	}
	part := op.out
	if slot > 0 {
		part = op.sc.part[slot]
	}
	sgemm(false, true, op.cout, k, g*a, 1, dyg, g*a, col, g*a, 1, part, k)
}

// convGradBOp computes db (b's shape) from dy: db[o] = Σ_{n,i,j} dy[n][o][i][j].
type convGradBOp struct {
	convShape
	opBase

	db *tensor.Dense
	l  loop

	dy, out []float32
}

var _ G.UsePreallocDoer = (*convGradBOp)(nil)

func (op *convGradBOp) Arity() int { return 1 }
func (op *convGradBOp) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(op.bShape.Dims()))
}
func (op *convGradBOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.bShape.Clone(), nil
}
func (op *convGradBOp) String() string        { return "Conv2dGradB{" + op.convShape.String() + "}" }
func (op *convGradBOp) WriteHash(h hash.Hash) { writeHash(h, op, op.id) }
func (op *convGradBOp) Hashcode() uint32      { return hashOf(op, op.id) }
func (op *convGradBOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *convGradBOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%v: second derivatives are not implemented", op)
}

func (op *convGradBOp) Do(vs ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vs...) }

func (op *convGradBOp) UsePreallocDo(prealloc G.Value, vs ...G.Value) (G.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("%v: want 1 input (got %d)", op, len(vs))
	}
	var err error
	if op.dy, err = floats("conv2d dy", vs[0], op.yShape); err != nil {
		return nil, err
	}
	db := usePrealloc(prealloc, op.bShape)
	if db == nil {
		db = reuse(&op.db, op.bShape)
	}
	op.out = db.Float32s()
	op.l.run(op, op.cout, slotsFor(op.cout))
	op.dy, op.out = nil, nil
	return db, nil
}

// item sums channel o over the batch, in float64 across rows.
func (op *convGradBOp) item(_, o int) {
	cols := op.area()
	var sum float64
	for n := 0; n < op.batch; n++ {
		row := op.dy[(n*op.cout+o)*cols : (n*op.cout+o+1)*cols]
		sum += float64(sum32(row))
	}
	op.out[o] = float32(sum)
}

// sum32 adds s with four running sums.
func sum32(s []float32) float32 {
	var a, b, c, d float32
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a += s[i]
		b += s[i+1]
		c += s[i+2]
		d += s[i+3]
	}
	for ; i < len(s); i++ {
		a += s[i]
	}
	return (a + b) + (c + d)
}
