package nnops

import "github.com/lgm-dev/lgm/internal/gemm"

// padW is the weight gradient of a stride-1 convolution without im2col:
//
//	dw (Cout × C·K·K) = dy8 (Cout × Q) · T (Q × C·K·K),
//
// for a group of G images, where the depth Q = G·OH·OW8 runs over the
// output positions with every row padded to OW8 (OW rounded up to a
// multiple of 8; dy8 is zero in the extra columns), and T's column
// (c, i, j) at depth (t, oh, ow) is x[t][c][oh−P+i][ow−P+j]: the tap read
// from a zero-bordered copy of image t. T is never materialised:
// gemm.SgemmPack asks for it block by block, and pack deals 8 taps at a
// time straight out of the padded images into the packed layout
// (gemm.Transpose8Gather, one 8×8 transpose per 8 positions of a row).
// The extra columns cost (OW8−OW)/OW8 of the products (4/32, 2/16, 1/8 for
// LeNet++'s 28, 14, 7), against im2col's unfolded copy and the transpose
// of it that packing colᵀ took.
type padW struct {
	geom
	cout, group int
	ow8, img    int   // padded row length of the depth, floats per padded image
	off         []int // tap (c, i, j) → c·Hp·Wp + i·Wp + j
	packers     []*tapPacker
}

// padWGroupQ is about the depth of one group's GEMM: dw (read and written
// once per group) is large next to a small image's work, so 7×7 images go
// 18 to a group, 14×14 four, 28×28 one.
const padWGroupQ = 1024

// usePadW reports whether the weight gradient of geometry g runs padded:
// 5×5 and larger kernels (VGG's 3×3 measured even or 1.06–1.24× slower).
func usePadW(g geom) bool {
	return gemm.HasGather() && !bf16.Load() && g.s == 1 && !g.direct() && g.kdim() >= padMinK && g.k >= rowMinK
}

func newPadW(g geom, batch, cout int) *padW {
	hp, wp := g.h+2*g.p, g.w+2*g.p
	pw := &padW{geom: g, cout: cout, ow8: (g.ow + 7) &^ 7, img: g.c * hp * wp}
	pw.group = min(batch, max(1, padWGroupQ/(g.oh*pw.ow8)))
	for ch := 0; ch < g.c; ch++ {
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				pw.off = append(pw.off, ch*hp*wp+i*wp+j)
			}
		}
	}
	return pw
}

// q is the GEMM depth of a group of g images.
func (pw *padW) q(g int) int { return g * pw.oh * pw.ow8 }

// colLen and auxLen are the per-worker scratch: g padded images (and
// slack for the extra columns' reads past the last one), and dy8.
func (pw *padW) colLen() int { return pw.group*pw.img + 16 }
func (pw *padW) auxLen() int { return pw.cout * pw.q(pw.group) }

// item adds the weight gradient of images n0..n0+g-1 into part
// (Cout × C·K·K), with x and dy the batch's input and output gradient and
// xp, dy8 the worker's scratch.
func (pw *padW) item(slot, n0, g int, x, dy, xp, dy8, part []float32) {
	img, a := pw.c*pw.h*pw.w, pw.area()
	for t := 0; t < g; t++ {
		pw.padImage(x[(n0+t)*img:(n0+t+1)*img], xp[t*pw.img:(t+1)*pw.img])
	}
	clear(xp[g*pw.img : g*pw.img+16])
	q := pw.q(g)
	for o := 0; o < pw.cout; o++ {
		for t := 0; t < g; t++ {
			src := dy[((n0+t)*pw.cout+o)*a:]
			dst := dy8[o*q+t*pw.oh*pw.ow8:]
			for i := 0; i < pw.oh; i++ {
				row := dst[i*pw.ow8 : (i+1)*pw.ow8]
				copy(row, src[i*pw.ow:(i+1)*pw.ow])
				clear(row[pw.ow:])
			}
		}
	}
	for len(pw.packers) <= slot {
		pk := &tapPacker{pw: pw}
		pk.fn = pk.pack
		pw.packers = append(pw.packers, pk)
	}
	pk := pw.packers[slot]
	pk.x = xp
	k := pw.kdim()
	gemm.SgemmPack(false, pw.cout, k, q, 1, dy8[:pw.cout*q], q, pk.fn, 1, part, k)
	pk.x = nil
}

// tapPacker packs blocks of T for one worker (fn is pack, bound once so
// that a run allocates nothing).
type tapPacker struct {
	pw *padW
	x  []float32 // the group's padded images
	fn func(dst []float32, q0, kb, j0, nb int)
}

// pack writes T[q0:q0+kb, j0:j0+nb] into dst in gemm.SgemmPack's layout.
// q0 and kb are multiples of 8 (the depth block is 256, Q a multiple of
// OW8), so a block is whole 8-position segments of rows.
func (pk *tapPacker) pack(dst []float32, q0, kb, j0, nb int) {
	pw := pk.pw
	nr, vec := gemm.PackWidths()
	per := pw.oh * pw.ow8
	wp := pw.w + 2*pw.p
	for s := 0; s < nb; s += nr {
		cols, w := min(nr, nb-s), nr
		if cols < nr {
			w = (cols + vec - 1) / vec * vec
		}
		d := dst[s*kb : s*kb+w*kb]
		for g8 := 0; g8 < w; g8 += 8 {
			t0 := j0 + s + g8
			if g8+8 > cols {
				pk.packPartial(d, w, g8, t0, cols-g8, q0, kb)
				continue
			}
			var off [8]int
			copy(off[:], pw.off[t0:t0+8])
			for q, end := q0, q0+kb; q < end; {
				t := q / per
				oh := (q - t*per) / pw.ow8
				ow := q - t*per - oh*pw.ow8 // a multiple of 8, as q0 and OW8 are
				src := pk.x[t*pw.img+oh*wp+ow:]
				if rows := min(pw.oh-oh, (end-q)/pw.ow8); ow == 0 && rows > 0 {
					gemm.Transpose8Gather(d[(q-q0)*w+g8:], w, src, &off, pw.ow8/8, rows, wp)
					q += rows * pw.ow8
					continue
				}
				n := min(pw.ow8-ow, end-q) // part of a row
				gemm.Transpose8Gather(d[(q-q0)*w+g8:], w, src, &off, n/8, 1, wp)
				q += n
			}
		}
	}
}

// packPartial writes the 8 columns g8.. of a sliver of width w of which only
// the first n (< 8) are taps t0.. ; the others are zero.
func (pk *tapPacker) packPartial(d []float32, w, g8, t0, n, q0, kb int) {
	pw := pk.pw
	per := pw.oh * pw.ow8
	wp := pw.w + 2*pw.p
	for q := q0; q < q0+kb; q++ {
		t := q / per
		oh := (q - t*per) / pw.ow8
		ow := q - t*per - oh*pw.ow8
		row := d[(q-q0)*w+g8 : (q-q0)*w+g8+8]
		for i := range row {
			var v float32
			if i < n {
				v = pk.x[t*pw.img+oh*wp+ow+pw.off[t0+i]]
			}
			row[i] = v
		}
	}
}
