package nnops

import "github.com/lgm-dev/lgm/internal/gemm"

// gemmConv is a batched convolution by im2col and GEMM,
//
//	out[n] (Cout × OH·OW) = w (Cout × C·K·K) · im2col(x[n]) + b,
//
// with x (B, C, H, W) in the geometry g and b optional. It is Conv2d's
// forward, and, run on dy with flipped weights, the input gradient of a
// stride-1 convolution. Groups of `group` images are unfolded side by side
// into one buffer and multiplied at once; a group of one writes straight
// into out.
type gemmConv struct {
	batchGeom

	wb []float32 // with a bias: [w | b], Cout × (C·K·K + 1)
	l  loop

	// During a run, per worker: sc.col is C·K·K (+1 with a bias) rows of
	// group·OH·OW with row stride colStride() (unused when direct),
	// sc.aux, when group > 1, Cout × group·OH·OW.
	sc *scratch

	xd, wd, bd, out []float32 // operands of the current run; bd may be nil
	folded          bool      // wd is wb: the bias is its last column

	// padded: no unfolding. Each image is copied into a zero-bordered
	// C × Hp × Wp buffer (sc.col, Hp = H+2P, Wp = W+2P) and the GEMM reads
	// its taps in place (gemm.SgemmGather with off[(c·K+i)·K+j] =
	// c·Hp·Wp + i·Wp + j), computing the outputs on the padded grid's
	// width (nq = (OH−1)·Wp + OW positions, Wp−OW of every Wp wasted)
	// into sc.aux (Cout × nq), which is then compacted into out with the
	// bias added.
	padded bool
	off    []int

	// rows: the other stride-1 convolutions with 5×5 or larger kernels
	// (LeNet++'s 7×7 images) run without im2col as a rowConv.
	rows *rowConv

	// wino: 5×5 and 3×3 stride-1 convolutions run by Winograd F(m×m, 5×5)
	// or F(4×4, 3×3) (wino.go).
	wino *winoConv
}

// padMaxWaste is the largest share of wasted products, (S−OW)/S, for which
// a stride-1 convolution runs padded: the padded grid has rows of S = W+P
// and computes S−OW unused outputs at the end of every one, which the saved
// unfolding pays for only on wide enough rows. Measured on LeNet++ (Intel
// Xeon, 1 thread, BenchmarkConvPart, min of 6–8 alternating rounds), with
// rows of W+2P then: 28×28 (12.5 % wasted) forward and dx 0.65–0.70× the
// CPU time of im2col; 14×14 (22 %) 0.85–1.0×; 7×7 (36 %) 0.9–1.2× (rowConv
// does better); the first layer (C·K·K = 25) slower, hence padMinK. With
// 3×3 kernels (VGG) unfolding is cheaper to beat: 32×32 (6 %) 0.86–0.94×,
// 16×16 (11 %) and 8×8 (20 %) 1.08–1.15×, hence padMaxWaste3. Rows of W+P
// waste 6.7 % at 28×28, 12.5 % at 14×14, 22 % at 7×7.
var padMaxWaste, padMaxWaste3, padMinK = 0.15, 0.05, 64

// usePadded reports whether geometry g runs padded.
func usePadded(g geom) bool {
	waste := padMaxWaste
	if g.k < 5 {
		waste = padMaxWaste3
	}
	return gemm.HasGather() && !bf16.Load() && g.s == 1 && !g.direct() && g.kdim() >= padMinK &&
		float64(g.w+g.p-g.ow) <= waste*float64(g.w+g.p)
}

// The padded image of the padded path is P zeros, then C planes of Hp = H+2P
// rows of S = W+P: image row h is plane row h+P, columns 0..W−1, and columns
// W..S−1 are zero — the right border of that row and, read from the next
// row at columns −P..−1, its left border (an output column ow < OW reads
// columns ow−P … ow+K−1−P, inside −P … W+P−1). Tap (c, i, j) of output
// position q = oh·S + ow is then at q + c·Hp·S + i·S + j.
func (c *gemmConv) hp() int { return c.h + 2*c.p }
func (c *gemmConv) wp() int { return c.w + c.p }
func (c *gemmConv) nq() int { return (c.oh-1)*c.wp() + c.ow }

// padLen is the padded image's length with the ones row (nq + slack) of a
// folded bias.
func (c *gemmConv) padLen() int {
	return c.p + c.c*c.hp()*c.wp() + c.nq() + gemm.GatherSlack
}

// padRows copies x (C×H×W) into xp in the padded path's layout.
func (c *gemmConv) padRows(x, xp []float32) {
	hp, s, p := c.hp(), c.wp(), c.p
	clear(xp[:p])
	for ch := 0; ch < c.c; ch++ {
		dst := xp[p+ch*hp*s : p+(ch+1)*hp*s]
		src := x[ch*c.h*c.w : (ch+1)*c.h*c.w]
		clear(dst[:p*s])
		for i := 0; i < c.h; i++ {
			row := dst[(i+p)*s : (i+p+1)*s]
			copy(row, src[i*c.w:(i+1)*c.w])
			clear(row[c.w:])
		}
		clear(dst[(c.h+p)*s:])
	}
}

// useRows reports whether geometry g runs as a rowConv: 5×5 and larger
// kernels only. Measured (BenchmarkConvPart / BenchmarkConv, 1 thread, min of
// 6–8 alternating rounds): LeNet++'s 7×7 forward and dx 0.67–0.84× the CPU
// time of im2col, 14×14 even with padded, 28×28 1.4× padded; VGG's 3×3 on
// 16×16 1.18–1.24× im2col (its unfolding is cheap: 9 taps a channel), on
// 8×8 0.85–1.17×.
func useRows(g geom) bool {
	return gemm.HasGather() && !bf16.Load() && g.s == 1 && !g.direct() && g.kdim() >= padMinK && g.k >= rowMinK && !usePadded(g)
}

// rowMinK is the smallest kernel that runs as a rowConv or a padW.
var rowMinK = 5

// padImage copies x (C×H×W) into xp (C × Hp × Wp, Hp = H+2P, Wp = W+2P)
// inside a zero border.
func (c *geom) padImage(x, xp []float32) {
	hp, wp, p := c.h+2*c.p, c.w+2*c.p, c.p
	for ch := 0; ch < c.c; ch++ {
		dst := xp[ch*hp*wp : (ch+1)*hp*wp]
		src := x[ch*c.h*c.w : (ch+1)*c.h*c.w]
		clear(dst[:p*wp+p])
		for i := 0; i < c.h; i++ {
			row := dst[(i+p)*wp+p:]
			copy(row[:c.w], src[i*c.w:(i+1)*c.w])
			clear(row[c.w : c.w+2*p]) // right border of this row, left of the next
		}
		clear(dst[(c.h+p)*wp+p:])
	}
}

// groupCols is about the number of output positions one GEMM covers. Small
// images (7×7, 14×14) are unfolded side by side, group images to a GEMM, so
// that the GEMM's N (forward, dx) or K (dw) is not tiny, and dw's C matrix is
// read and written once per group instead of once per image. Measured on
// LeNet++: 7×7 layers gain 10–25 %; 14×14 layers (group 1) are as fast
// either way.
var groupCols = 256

// groupFor is the number of images unfolded together for geometry g.
func groupFor(g geom, batch int) int {
	if g.direct() {
		return 1 // no unfolding: the image is its own col
	}
	return min(max(1, groupCols/g.area()), batch)
}

func newGemmConv(g geom, batch, cout int) gemmConv {
	bg := newBatchGeom(g, batch, cout)
	if useWino(g, cout) {
		wc := newWinoConv(g, batch, cout)
		bg.group = wc.group
		return gemmConv{batchGeom: bg, wino: wc}
	}
	if !usePadded(g) {
		if useRows(g) {
			rc := newRowConv(g, batch, cout)
			bg.group = rc.group
			return gemmConv{batchGeom: bg, rows: rc}
		}
		return gemmConv{batchGeom: bg}
	}
	bg.group = 1
	hp, wp := g.h+2*g.p, g.w+g.p
	off := make([]int, 0, g.kdim()+1)
	for ch := 0; ch < g.c; ch++ {
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				off = append(off, ch*hp*wp+i*wp+j)
			}
		}
	}
	off = append(off, g.p+g.c*hp*wp) // the row of ones of a folded bias
	return gemmConv{batchGeom: bg, padded: true, off: off}
}

// batchGeom is a convolution over a batch: batch images in geometry geom,
// cout output channels, worked on in groups of group images.
type batchGeom struct {
	geom
	batch, cout, group int
}

func newBatchGeom(g geom, batch, cout int) batchGeom {
	return batchGeom{geom: g, batch: batch, cout: cout, group: groupFor(g, batch)}
}

// items is the number of groups of images.
func (c *batchGeom) items() int { return (c.batch + c.group - 1) / c.group }

// images returns the first image of group i and the number in it.
func (c *batchGeom) images(i int) (n0, g int) {
	n0 = i * c.group
	return n0, min(c.group, c.batch-n0)
}

// unfold writes im2col of images n0..n0+g-1 of x side by side into col
// (C·K·K × g·OH·OW, row stride ld ≥ g·OH·OW).
func (c *batchGeom) unfold(x, col []float32, n0, g, ld int) {
	img, a := c.c*c.h*c.w, c.area()
	for t := 0; t < g; t++ {
		c.im2col(x[(n0+t)*img:(n0+t+1)*img], col[t*a:], ld)
	}
}

// gather copies the outputs (or output gradients) dy of images n0..n0+g-1
// side by side into buf (Cout × g·OH·OW).
func (c *batchGeom) gather(dy, buf []float32, n0, g int) {
	a := c.area()
	for t := 0; t < g; t++ {
		for o := 0; o < c.cout; o++ {
			copy(buf[o*g*a+t*a:o*g*a+(t+1)*a], dy[((n0+t)*c.cout+o)*a:])
		}
	}
}

// run computes out from x, w and b (nil: no bias).
func (c *gemmConv) run(x, w, b, out []float32) {
	if c.wino != nil {
		c.wino.run(x, w, b, out)
		return
	}
	c.xd, c.wd, c.bd, c.out = x, w, b, out
	slots := slotsFor(c.items())
	k := c.kdim()
	if c.padded || c.rows != nil {
		// The bias is folded as in the unfolded path: wb = [w | b] against
		// a last row of ones (stored after the padded planes, or packed by
		// the rowConv).
		if b != nil {
			c.wb = grow32(c.wb, c.cout*(k+1))
			for o := 0; o < c.cout; o++ {
				copy(c.wb[o*(k+1):], w[o*k:(o+1)*k])
				c.wb[o*(k+1)+k] = b[o]
			}
			c.wd, c.bd, c.folded = c.wb, nil, true
		}
		c.sc = getScratch()
		if c.rows != nil {
			c.sc.col = growSlots(c.sc.col, slots, c.rows.colLen())
			c.sc.aux = growSlots(c.sc.aux, slots, c.rows.auxLen())
		} else {
			c.sc.col = growSlots(c.sc.col, slots, c.padLen())
			c.sc.aux = growSlots(c.sc.aux, slots, c.cout*c.nq())
		}
		c.l.run(c, c.items(), slots)
		putScratch(c.sc)
		c.xd, c.wd, c.bd, c.out, c.folded, c.sc = nil, nil, nil, nil, false, nil
		return
	}
	if b != nil && !c.direct() && !bf16.Load() {
		// Fold the bias into the GEMM: wb = [w | b] (Cout × (C·K·K+1))
		// times col with a last row of ones. It saves a pass that fills
		// out with the bias and the GEMM's reading it back. Not in bf16,
		// where the bias would be rounded with the weights.
		c.wb = grow32(c.wb, c.cout*(k+1))
		for o := 0; o < c.cout; o++ {
			copy(c.wb[o*(k+1):], w[o*k:(o+1)*k])
			c.wb[o*(k+1)+k] = b[o]
		}
		c.wd, c.bd, c.folded = c.wb, nil, true
		k++
	}
	c.sc = getScratch()
	if !c.direct() {
		c.sc.col = growSlots(c.sc.col, slots, k*c.colStride())
		if c.group > 1 {
			c.sc.aux = growSlots(c.sc.aux, slots, c.cout*c.group*c.area())
		}
	}
	c.l.run(c, c.items(), slots)
	putScratch(c.sc)
	c.xd, c.wd, c.bd, c.out, c.folded, c.sc = nil, nil, nil, nil, false, nil
}

// colStride is the row stride of a group's unfolded images: at least
// group·OH·OW, padded so that the GEMM reads the unfolded images in place
// rather than copying them into its packed layout first.
func (c *gemmConv) colStride() int { return gemm.InPlaceStride(c.group * c.area()) }

// item computes the images of group i.
func (c *gemmConv) item(slot, i int) {
	n0, g := c.images(i)
	k, a := c.kdim(), c.area()
	if c.padded {
		c.paddedItem(slot, n0)
		return
	}
	if c.rows != nil {
		c.rows.item(slot, n0, g, c.xd, c.wd, c.folded, c.out, c.sc.col[slot], c.sc.aux[slot])
		return
	}
	folded := c.folded
	if g == 1 {
		// Straight into out, on top of the bias.
		img := c.c * c.h * c.w
		xn := c.xd[n0*img : (n0+1)*img]
		yn := c.out[n0*c.cout*a : (n0+1)*c.cout*a]
		col, ld := xn, a
		if !c.direct() {
			col, ld = c.sc.col[slot], c.colStride()
			c.im2col(xn, col, ld)
		}
		if folded {
			fill(col[k*ld:k*ld+a], 1)
			sgemm(false, false, c.cout, a, k+1, 1, c.wd, k+1, col, ld, 0, yn, a)
			return
		}
		var beta float32
		if c.bd != nil {
			for o := 0; o < c.cout; o++ {
				fill(yn[o*a:(o+1)*a], c.bd[o])
			}
			beta = 1
		}
		sgemm(false, false, c.cout, a, k, 1, c.wd, k, col, ld, beta, yn, a)
		return
	}
	col, yb, ld := c.sc.col[slot], c.sc.aux[slot], c.colStride()
	c.unfold(c.xd, col, n0, g, ld)
	if folded {
		fill(col[k*ld:k*ld+g*a], 1)
		k++
	}
	sgemm(false, false, c.cout, g*a, k, 1, c.wd, k, col, ld, 0, yb, g*a)
	for t := 0; t < g; t++ {
		for o := 0; o < c.cout; o++ {
			dst := c.out[((n0+t)*c.cout+o)*a : ((n0+t)*c.cout+o+1)*a]
			src := yb[o*g*a+t*a : o*g*a+(t+1)*a]
			if c.bd == nil {
				copy(dst, src)
				continue
			}
			bo := c.bd[o]
			dst = dst[:len(src)]
			for j, v := range src {
				dst[j] = v + bo
			}
		}
	}
}

// fill sets every element of s to v.
func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// paddedItem computes image n by the padded GEMM.
func (c *gemmConv) paddedItem(slot, n int) {
	img, a := c.c*c.h*c.w, c.area()
	xp, yp := c.sc.col[slot], c.sc.aux[slot]
	c.padRows(c.xd[n*img:(n+1)*img], xp)
	nq, wp, k := c.nq(), c.wp(), c.kdim()
	if c.folded {
		fill(xp[c.off[k]:], 1)
		k++
	}
	gemm.SgemmGather(c.cout, nq, k, 1, c.wd, k, xp, c.off[:k], 0, yp, nq)
	out := c.out[n*c.cout*a : (n+1)*c.cout*a]
	for o := 0; o < c.cout; o++ {
		src := yp[o*nq:]
		dst := out[o*a:]
		for i := 0; i < c.oh; i++ {
			copy(dst[i*c.ow:(i+1)*c.ow], src[i*wp:i*wp+c.ow])
		}
	}
}
