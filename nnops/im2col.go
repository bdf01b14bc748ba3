package nnops

// geom is the geometry of one image's convolution (or pooling): C input
// channels of H×W, a K×K window moved by stride S over the input padded by P
// zeros on every side, giving OH×OW outputs per channel, with
//
//	OH = (H + 2P − K)/S + 1,  OW = (W + 2P − K)/S + 1  (floored).
type geom struct {
	c, h, w int
	k, s, p int
	oh, ow  int
}

func newGeom(c, h, w, k, s, p int) geom {
	return geom{c: c, h: h, w: w, k: k, s: s, p: p,
		oh: (h+2*p-k)/s + 1, ow: (w+2*p-k)/s + 1}
}

// kdim is the number of rows of the unfolded image: C·K·K.
func (g *geom) kdim() int { return g.c * g.k * g.k }

// area is the number of columns of the unfolded image: OH·OW.
func (g *geom) area() int { return g.oh * g.ow }

// direct reports whether the unfolded image is the image itself (1×1
// window, stride 1, no padding), so that im2col can be skipped.
func (g *geom) direct() bool { return g.k == 1 && g.s == 1 && g.p == 0 }

// span returns the range [lo, hi) of output positions o along an axis of
// size n whose input position o·S − P + kk lies inside [0, n).
func (g *geom) span(kk, n, out int) (lo, hi int) {
	if d := g.p - kk; d > 0 {
		lo = (d + g.s - 1) / g.s
	}
	last := n - 1 + g.p - kk // o·S ≤ last
	if last < 0 {
		return 0, 0
	}
	hi = last/g.s + 1
	if hi > out {
		hi = out
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col unfolds one image x (C×H×W) into col (C·K·K rows of OH·OW, row
// stride ld ≥ OH·OW, so that several images can sit side by side):
//
//	col[((c·K + i)·K + j)·ld + oh·OW + ow] = x[c][oh·S − P + i][ow·S − P + j]
//
// with zeros where the window overhangs the padding.
func (g *geom) im2col(x, col []float32, ld int) {
	n := g.area()
	hw := g.h * g.w
	r := 0
	for c := 0; c < g.c; c++ {
		xc := x[c*hw : (c+1)*hw]
		for i := 0; i < g.k; i++ {
			hlo, hhi := g.span(i, g.h, g.oh)
			for j := 0; j < g.k; j++ {
				row := col[r*ld : r*ld+n]
				r++
				wlo, whi := g.span(j, g.w, g.ow)
				if qlo, qhi, shift, ok := g.run(i, j, hlo, hhi, wlo, whi); ok {
					// One shifted copy of the plane, then zeros where the
					// window overhangs the left and right edges.
					clear(row[:qlo])
					copy(row[qlo:qhi], xc[qlo+shift:qhi+shift])
					clear(row[qhi:])
					g.clearEdges(row, hlo, hhi, wlo, whi)
					continue
				}
				clear(row[:hlo*g.ow])
				clear(row[hhi*g.ow:])
				for oh := hlo; oh < hhi; oh++ {
					dst := row[oh*g.ow : (oh+1)*g.ow]
					src := xc[(oh*g.s-g.p+i)*g.w : (oh*g.s-g.p+i+1)*g.w]
					clear(dst[:wlo])
					clear(dst[whi:])
					if g.s == 1 {
						copy(dst[wlo:whi], src[wlo-g.p+j:])
					} else {
						iw := wlo*g.s - g.p + j
						for o := wlo; o < whi; o++ {
							dst[o] = src[iw]
							iw += g.s
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it adds every entry of col (C·K·K rows
// of OH·OW, row stride ld) into the input position it was read from; x
// (C×H×W) is not cleared first. It zeroes the entries of col that came from
// the padding.
func (g *geom) col2im(col []float32, ld int, x []float32) {
	n := g.area()
	hw := g.h * g.w
	r := 0
	for c := 0; c < g.c; c++ {
		xc := x[c*hw : (c+1)*hw]
		for i := 0; i < g.k; i++ {
			hlo, hhi := g.span(i, g.h, g.oh)
			for j := 0; j < g.k; j++ {
				row := col[r*ld : r*ld+n]
				r++
				wlo, whi := g.span(j, g.w, g.ow)
				if qlo, qhi, shift, ok := g.run(i, j, hlo, hhi, wlo, whi); ok {
					// Zero the entries that came from the padding (col is
					// scratch), then one shifted add over the plane.
					g.clearEdges(row, hlo, hhi, wlo, whi)
					add(xc[qlo+shift:qhi+shift], row[qlo:qhi])
					continue
				}
				for oh := hlo; oh < hhi; oh++ {
					src := row[oh*g.ow+wlo : oh*g.ow+whi]
					dst := xc[(oh*g.s-g.p+i)*g.w : (oh*g.s-g.p+i+1)*g.w]
					if g.s == 1 {
						add(dst[wlo-g.p+j:], src)
					} else {
						iw := wlo*g.s - g.p + j
						for _, v := range src {
							dst[iw] += v
							iw += g.s
						}
					}
				}
			}
		}
	}
}

// run reports whether row (i, j) of the unfolded image is, between its first
// and last valid entries, a shifted copy of the input plane: with stride 1
// and OW = W, col[q] = x[q + shift] for q in [qlo, qhi), except where the
// window overhangs the left or right edge (clearEdges).
func (g *geom) run(i, j, hlo, hhi, wlo, whi int) (qlo, qhi, shift int, ok bool) {
	if g.s != 1 || g.ow != g.w || hlo >= hhi || wlo >= whi {
		return 0, 0, 0, false
	}
	return hlo*g.ow + wlo, (hhi-1)*g.ow + whi, (i-g.p)*g.w + j - g.p, true
}

// clearEdges zeroes, in output rows [hlo, hhi) of row, the columns outside
// [wlo, whi): a few columns, each a strided walk down the rows.
func (g *geom) clearEdges(row []float32, hlo, hhi, wlo, whi int) {
	end := hhi * g.ow
	for t := 0; t < wlo; t++ {
		for q := hlo*g.ow + t; q < end; q += g.ow {
			row[q] = 0
		}
	}
	for t := whi; t < g.ow; t++ {
		for q := hlo*g.ow + t; q < end; q += g.ow {
			row[q] = 0
		}
	}
}

// add sets dst[i] += src[i] for i < len(src).
func add(dst, src []float32) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(src); i++ {
		dst[i] += src[i]
	}
}
