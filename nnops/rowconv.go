package nnops

import "github.com/lgm-dev/lgm/internal/gemm"

// rowConv is a stride-1 convolution of small images without im2col:
//
//	y8 (Cout × N) = [w | b] (Cout × (C·K·K + 1)) · T (C·K·K + 1 × N)
//
// for a group of G images, where N = G·OH·OW8 runs over the output
// positions with every row padded to OW8 (OW rounded up to a multiple of
// 8: 1/8 of the products wasted for 7×7 rows, 1/8 for 14×14), and T's row
// (c, i, j) at (t, oh, ow) is x[t][c][oh−P+i][ow−P+j], read from a
// zero-bordered copy of image t (the bias row is ones). gemm.SgemmPack asks
// for T block by block and pack copies it 8 positions (one padded output
// row segment) at a time straight from the padded images into the packed
// layout; y8 is then compacted into the NCHW output.
type rowConv struct {
	geom
	cout, group int
	ow8, img    int   // padded output row, floats per padded image
	off         []int // tap (c, i, j) → c·Hp·Wp + i·Wp + j
	offB        []int // the same in bytes, and its largest entry
	maxOffB     int
	packers     []*rowPacker
}

// rowGroupN is about the N of one group's GEMM.
const rowGroupN = 448

func newRowConv(g geom, batch, cout int) *rowConv {
	hp, wp := g.h+2*g.p, g.w+2*g.p
	rc := &rowConv{geom: g, cout: cout, ow8: (g.ow + 7) &^ 7, img: g.c * hp * wp}
	rc.group = min(batch, max(1, rowGroupN/(g.oh*rc.ow8)))
	for ch := 0; ch < g.c; ch++ {
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				rc.off = append(rc.off, ch*hp*wp+i*wp+j)
				rc.offB = append(rc.offB, 4*(ch*hp*wp+i*wp+j))
			}
		}
	}
	rc.maxOffB = rc.offB[len(rc.offB)-1]
	return rc
}

func (rc *rowConv) n(g int) int     { return g * rc.oh * rc.ow8 }
func (rc *rowConv) colLen() int     { return rc.group*rc.img + 16 }
func (rc *rowConv) auxLen() int     { return rc.cout * rc.n(rc.group) }
func (rc *rowConv) items(b int) int { return (b + rc.group - 1) / rc.group }

// item computes images n0..n0+g-1 of out from x, with wd = w (Cout × K) or,
// when folded, [w | b] (Cout × (K+1)); xp and y8 are the worker's scratch.
func (rc *rowConv) item(slot, n0, g int, x, wd []float32, folded bool, out, xp, y8 []float32) {
	img, a := rc.c*rc.h*rc.w, rc.area()
	for t := 0; t < g; t++ {
		rc.padImage(x[(n0+t)*img:(n0+t+1)*img], xp[t*rc.img:(t+1)*rc.img])
	}
	clear(xp[g*rc.img : g*rc.img+16])
	for len(rc.packers) <= slot {
		pk := &rowPacker{rc: rc}
		pk.fn = pk.pack
		rc.packers = append(rc.packers, pk)
	}
	pk := rc.packers[slot]
	pk.x, pk.g = xp, g
	k := rc.kdim()
	if folded {
		k++
	}
	n := rc.n(g)
	gemm.SgemmPack(false, rc.cout, n, k, 1, wd, k, pk.fn, 0, y8, n)
	pk.x = nil
	for t := 0; t < g; t++ {
		for o := 0; o < rc.cout; o++ {
			dst := out[((n0+t)*rc.cout+o)*a:]
			src := y8[o*n+t*rc.oh*rc.ow8:]
			for i := 0; i < rc.oh; i++ {
				copy(dst[i*rc.ow:(i+1)*rc.ow], src[i*rc.ow8:i*rc.ow8+rc.ow])
			}
		}
	}
}

// rowPacker packs blocks of T for one worker (fn is pack, bound once so
// that a run allocates nothing).
type rowPacker struct {
	rc *rowConv
	x  []float32 // the group's padded images
	g  int
	fn func(dst []float32, p0, kb, j0, nb int)
}

// pack writes T[p0:p0+kb, j0:j0+nb] into dst in gemm.SgemmPack's layout.
// Slivers are multiples of 8 positions wide and N is a multiple of OW8, so
// every 8 columns are one segment of a padded output row.
func (pk *rowPacker) pack(dst []float32, p0, kb, j0, nb int) {
	rc := pk.rc
	nr, vec := gemm.PackWidths()
	per := rc.oh * rc.ow8
	wp := rc.w + 2*rc.p
	k := len(rc.off)
	for s := 0; s < nb; s += nr {
		cols, w := min(nr, nb-s), nr
		if cols < nr {
			w = (cols + vec - 1) / vec * vec
		}
		d := dst[s*kb : s*kb+w*kb]
		for b := 0; b < w; b += 8 {
			pos := j0 + s + b
			if b >= cols { // padding of the last sliver
				for p := 0; p < kb; p++ {
					clear(d[p*w+b : p*w+b+8])
				}
				continue
			}
			t := pos / per
			oh := (pos - t*per) / rc.ow8
			ow := pos - t*per - oh*rc.ow8
			base := t*rc.img + oh*wp + ow
			pe := min(p0+kb, k)
			if pe > p0 {
				gemm.Copy8Gather(d[b:], w, pk.x[base:], rc.offB[p0:pe], rc.maxOffB)
			}
			for p := max(p0, k); p < p0+kb; p++ { // the bias row
				*(*[8]float32)(d[(p-p0)*w+b:]) = [8]float32{1, 1, 1, 1, 1, 1, 1, 1}
			}
		}
	}
}
