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
	kr := active.Load()
	if kr.gather == nil {
		panic("gemm: SgemmGather needs the avx512 kernel")
	}
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("C", false, m, n, c, ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
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
