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
	return gemmConv{batchGeom: newBatchGeom(g, batch, cout)}
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
	c.xd, c.wd, c.bd, c.out = x, w, b, out
	slots := slotsFor(c.items())
	k := c.kdim()
	if b != nil && !c.direct() {
		// Fold the bias into the GEMM: wb = [w | b] (Cout × (C·K·K+1))
		// times col with a last row of ones. It saves a pass that fills
		// out with the bias and the GEMM's reading it back.
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
			gemm.Sgemm(false, false, c.cout, a, k+1, 1, c.wd, k+1, col, ld, 0, yn, a)
			return
		}
		var beta float32
		if c.bd != nil {
			for o := 0; o < c.cout; o++ {
				fill(yn[o*a:(o+1)*a], c.bd[o])
			}
			beta = 1
		}
		gemm.Sgemm(false, false, c.cout, a, k, 1, c.wd, k, col, ld, beta, yn, a)
		return
	}
	col, yb, ld := c.sc.col[slot], c.sc.aux[slot], c.colStride()
	c.unfold(c.xd, col, n0, g, ld)
	if folded {
		fill(col[k*ld:k*ld+g*a], 1)
		k++
	}
	gemm.Sgemm(false, false, c.cout, g*a, k, 1, c.wd, k, col, ld, 0, yb, g*a)
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
