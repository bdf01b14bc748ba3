package gemm

import "fmt"

// HasGather reports whether SgemmGather can run on this machine with the
// active kernel (AVX-512); callers keep another path for when it cannot.
func HasGather() bool { return active.Load().gather != nil }

// GatherSlack is the number of floats SgemmGather may read past
// off[p] + n for any p: the last vector of a row is read whole (its extra
// lanes only reach C's columns beyond n, which are not written).
const GatherSlack = 16

// SgemmGather computes C = alpha·A·B + beta·C, single-threaded, where C is
// m×n (row stride ldc), A is m×k row-major (row stride lda), and row p of B
// is the n floats starting at b[off[p]]: B is read in place, never packed,
// so a convolution can take its taps straight from a padded image
// (off[(c·K+i)·K+j] = c·Hp·Wp + i·Wp + j) without unfolding it. b must hold
// off[p] + n + GatherSlack floats for every p (the slack is read, its values
// only reach lanes that are not stored). beta == 0: C is not read. It
// panics unless HasGather.
func SgemmGather(m, n, k int, alpha float32, a []float32, lda int, b []float32, off []int, beta float32, c []float32, ldc int) {
	t0 := traceStart()
	sgemmGather(m, n, k, alpha, a, lda, b, off, beta, c, ldc)
	traceEnd(t0, "SgemmGather", false, false, m, n, k)
}

func sgemmGather(m, n, k int, alpha float32, a []float32, lda int, b []float32, off []int, beta float32, c []float32, ldc int) {
	kr := active.Load()
	if kr.gather == nil {
		panic("gemm: SgemmGather needs the avx512 kernel")
	}
	if trivial(m, n, k, alpha, beta, c, ldc) {
		return
	}
	checkMatrix("A", false, m, k, a, lda)
	if len(off) < k {
		panic(fmt.Sprintf("gemm: len(off)=%d < k=%d", len(off), k))
	}
	ws := getWorkspace(kr)
	if cap(ws.off) < k {
		ws.off = make([]int, k)
	}
	offb := ws.off[:k]
	for p, o := range off[:k] {
		if o < 0 || o+n+GatherSlack > len(b) {
			panic(fmt.Sprintf("gemm: off[%d]=%d: row %d..%d (with slack) is outside b (len %d)", p, o, o, o+n+GatherSlack, len(b)))
		}
		offb[p] = 4 * o
	}
	mr, nr, vec := kr.mr, kr.nr, kr.vec
	for im := 0; im < m; im += kr.mcb {
		mb := min(kr.mcb, m-im)
		for pc := 0; pc < k; pc += kr.kc {
			kb := min(kr.kc, k-pc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			packA(kr, ws.bufA, a, lda, false, im, mb, pc, kb)
			for ir := 0; ir < mb; ir += mr {
				rows := min(mr, mb-ir)
				pa := &ws.bufA[ir*kb]
				for jr := 0; jr < n; jr += nr {
					cols := min(nr, n-jr)
					w := (cols + vec - 1) / vec
					kr.gather[w-1](kb, pa, mr, &b[jr], &offb[pc], &c[(im+ir)*ldc+jr], ldc, alpha, bt, rows, cols)
				}
			}
		}
	}
	putWorkspace(ws)
}

// PackWidths returns the sliver width NR of the active kernel and the
// multiple of columns vec its last partial sliver is padded to: the layout
// an SgemmPack callback writes.
func PackWidths() (nr, vec int) {
	kr := active.Load()
	return kr.nr, kr.vec
}

// SgemmPack computes C = alpha·op(A)·B + beta·C like Sgemm (single-
// threaded), except that B (k×n) is not a matrix in memory: pack(dst, p0,
// kb, j0, nb) is called for each block B[p0:p0+kb, j0:j0+nb] the product
// needs and must fill dst (len kb·(nb rounded up as below)) with it in
// packed slivers: for s = 0, NR, 2·NR, … < nb, with w = NR, or for a last
// partial sliver of c = nb−s columns w = c rounded up to a multiple of vec,
//
//	dst[s·kb + p·w + j] = B[p0+p][j0+s+j]   (j < c; zero for c ≤ j < w),
//
// NR and vec as PackWidths. So a caller can build B's blocks straight into
// the layout the micro-kernel reads (a convolution's taps, say) without
// materialising B. p0 is a multiple of the depth block (256 on AVX-512).
func SgemmPack(transA bool, m, n, k int, alpha float32, a []float32, lda int, pack func(dst []float32, p0, kb, j0, nb int), beta float32, c []float32, ldc int) {
	t0 := traceStart()
	sgemmPack(transA, m, n, k, alpha, a, lda, pack, beta, c, ldc)
	traceEnd(t0, "SgemmPack", transA, false, m, n, k)
}

func sgemmPack(transA bool, m, n, k int, alpha float32, a []float32, lda int, pack func(dst []float32, p0, kb, j0, nb int), beta float32, c []float32, ldc int) {
	if trivial(m, n, k, alpha, beta, c, ldc) {
		return
	}
	checkMatrix("A", transA, m, k, a, lda)
	kr := active.Load()
	cl := getCall()
	*cl = call{kr: kr, transA: transA, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, c: c, ldc: ldc, packB: pack}
	ws := getWorkspace(kr)
	ws.run(cl, 0, m, 0, n)
	putWorkspace(ws)
	cl.a, cl.c, cl.packB = nil, nil, nil
	calls.put(cl)
}

// Transpose8Gather sets, for i < 8, r < rows and p < 8·bpr,
//
//	d[(r·8·bpr + p)·w + i] = src[off[i] + r·stride + p]:
//
// eight rows, anywhere in src, each read as rows segments of 8·bpr floats
// stride apart (they may overlap), dealt out as the columns of the
// rows·8·bpr consecutive rows of d (row stride w ≥ 8) — the packing of a
// convolution's taps read from the rows of a padded image.
func Transpose8Gather(d []float32, w int, src []float32, off *[8]int, bpr, rows, stride int) {
	if bpr <= 0 || rows <= 0 {
		return
	}
	seg := 8 * bpr
	n := rows * seg
	if w < 8 || stride < 1 || len(d) < (n-1)*w+8 {
		panic(fmt.Sprintf("gemm: Transpose8Gather: w=%d, stride=%d or len(d)=%d < %d", w, stride, len(d), (n-1)*w+8))
	}
	last := (rows-1)*stride + seg
	for i, o := range off {
		if o < 0 || o+last > len(src) {
			panic(fmt.Sprintf("gemm: Transpose8Gather: row %d at %d..%d outside src (len %d)", i, o, o+last, len(src)))
		}
	}
	if active.Load().transpose8g != nil {
		// Called directly, not through the kernel's func value, so that
		// ob stays on the stack (a step makes thousands of these calls).
		var ob [8]int
		for i, o := range off {
			ob[i] = 4 * o
		}
		transpose8Gather(&d[0], w, &src[0], &ob[0], bpr, rows, 4*(stride-seg))
		return
	}
	for i, o := range off {
		for r := 0; r < rows; r++ {
			for p, v := range src[o+r*stride : o+r*stride+seg] {
				d[(r*seg+p)*w+i] = v
			}
		}
	}
}

// Copy8Gather sets d[p·w + i] = src[off[p]/4 + i] for p < len(off) and
// i < 8: segments of 8 floats at byte offsets off[p] from the start of src
// (multiples of 4), to rows of d (row stride w ≥ 8). Bounds are checked
// against maxOff, the largest entry of off, which the caller states.
func Copy8Gather(d []float32, w int, src []float32, off []int, maxOff int) {
	n := len(off)
	if n == 0 {
		return
	}
	if w < 8 || len(d) < (n-1)*w+8 || maxOff < 0 || maxOff/4+8 > len(src) {
		panic(fmt.Sprintf("gemm: Copy8Gather: w=%d, len(d)=%d for %d rows, max offset %d in src of %d", w, len(d), n, maxOff, len(src)))
	}
	if HasGather() {
		copy8Gather(&d[0], w, &src[0], &off[0], n)
		return
	}
	for p, o := range off {
		copy(d[p*w:p*w+8], src[o/4:o/4+8])
	}
}
