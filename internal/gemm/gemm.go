package gemm

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// microKernel computes the MR×NR tile
//
//	acc[i][j] = Σ_{p<k} a[p*sa+i] * b[p*sb+j]
//	c[i*ldc+j] = alpha*acc[i][j] + beta*c[i*ldc+j]   (beta == 0: c is not read)
//
// from an A sliver (k×MR, k-major, depth stride sa) and a B sliver (k×NR,
// depth stride sb). k ≥ 1. Packed slivers have sa = MR and sb = NR; an
// operand whose storage already has that shape (op(A) = Aᵀ, op(B) = B) is
// read in place with its row stride.
type microKernel func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32)

// maskedKernel is a micro-kernel that writes only the first rows×cols of its
// tile to c, so it can finish edge tiles in place.
type maskedKernel func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

// gatherKernel is a masked kernel whose depth step p reads its B row at
// b + off[p] bytes instead of b + p*sb elements.
type gatherKernel func(k int, a *float32, sa int, b *float32, off *int, c *float32, ldc int, alpha, beta float32, rows, cols int)

// kernel describes one micro-kernel and the blocking that suits it.
type kernel struct {
	name  string
	mr    int // rows of C per micro-tile (broadcast operand, A)
	nr    int // columns of C per micro-tile (vector operand, B)
	kc    int // depth of a packed block
	mcb   int // rows of op(A) packed at once (multiple of mr)
	ncb   int // columns of op(B) packed at once (multiple of nr); KC×NCB lives in L2
	micro microKernel
	// masked, when set, replaces micro: masked[w/vec-1] handles a B sliver
	// w = vec, 2*vec, ... columns wide (the last sliver of a block is only
	// padded up to a multiple of vec).
	masked []maskedKernel
	vec    int
	// gather, when set, are the masked kernels of SgemmGather, by width
	// as masked.
	gather []gatherKernel
	// transpose8, when set, packs 8 rows: d[p*w+i] = src[i*ld+p] for
	// i < 8 and p < 8*blocks (an assembly 8×8 block transpose).
	transpose8 func(d *float32, w int, src *float32, ld int, blocks int)
	// transpose6, when set, packs a whole 6-row sliver of A (MR = 6):
	// d[p*6+i] = src[i*ld+p] for i < 6 and p < 8*blocks, d contiguous.
	transpose6 func(d *float32, src *float32, ld int, blocks int)
	// transpose8g, when set, is transpose8 with the rows at byte offsets
	// offs[0..7] from src, over rows of bpr blocks skip bytes apart.
	transpose8g func(d *float32, w int, src *float32, offs *int, bpr, rows, skip int)
	// pairs: the kernel multiplies bfloat16 operands (SgemmBF16). Both are
	// always packed, rounded to bfloat16, two depth steps to a 32-bit
	// element (packAPairs, packBPairs), and the kernel's depth counts pairs.
	pairs bool
	// free holds this kernel's idle workspaces.
	free freeList[workspace]
}

// freeList recycles values like a sync.Pool but keeps them across garbage
// collections (which empty a sync.Pool, so that the next call would
// allocate again): the calls in flight bound how many it holds.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// get returns an idle value, or nil when there is none.
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.items)
	if n == 0 {
		return nil
	}
	x := f.items[n-1]
	f.items = f.items[:n-1]
	return x
}

func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}

var (
	// kernels available on this machine, best first; filled by the
	// architecture-specific init and always ending with the generic one.
	available []*kernel
	active    atomic.Pointer[kernel]
	threads   atomic.Int32
)

func init() {
	threads.Store(1)
	available = append(archKernels(), genericKernel)
	k := available[0]
	if want := os.Getenv("LGM_GEMM_KERNEL"); want != "" {
		if kk := lookupKernel(want); kk != nil {
			k = kk
		}
	}
	active.Store(k)
}

// lookupKernel returns the named kernel if this machine supports it; a name
// the machine cannot run (or an unknown name) yields nil.
func lookupKernel(name string) *kernel {
	for _, k := range available {
		if k.name == name {
			return k
		}
	}
	return nil
}

// setKernel selects the named kernel (tests and benchmarks); it reports
// whether the machine supports it.
func setKernel(name string) bool {
	k := lookupKernel(name)
	if k == nil {
		return false
	}
	active.Store(k)
	return true
}

// Kernel names the micro-kernel in use: "avx512", "avx2", or "generic".
func Kernel() string { return active.Load().name }

// SetThreads bounds the goroutines one Sgemm call may use (default 1;
// callers that parallelise over the batch keep 1). n < 1 means 1.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	if n > 256 {
		n = 256
	}
	threads.Store(int32(n))
	if n > 1 {
		startWorkers(n - 1)
	}
}

// Threads reports the current bound set by SetThreads.
func Threads() int { return int(threads.Load()) }

// call holds the arguments of one Sgemm call, shared by its workers.
type call struct {
	kr             *kernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
	packB          func(dst []float32, p0, kb, j0, nb int) // SgemmPack: B is never read
	wg             sync.WaitGroup
}

// parallelMinFlop is the smallest call (2·m·n·k) that is split across
// goroutines (a variable so tests can split small calls too).
var parallelMinFlop = 8 << 20

var calls freeList[call]

// getCall returns an idle call (return it with calls.put).
func getCall() *call {
	if cl := calls.get(); cl != nil {
		return cl
	}
	return new(call)
}

// trivial checks the dimensions and C, the preamble of every GEMM entry
// point, and does the whole product when nothing needs multiplying: C empty
// (nothing), or k == 0 or alpha == 0 (C = beta*C). It reports whether it did.
func trivial(m, n, k int, alpha, beta float32, c []float32, ldc int) bool {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return true
	}
	checkMatrix("C", false, m, n, c, ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	return false
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major, where op(A) is
// m×k, op(B) is k×n, C is m×n. lda, ldb, ldc are row strides (elements).
// transA/transB: the stored matrix is the transpose. beta == 0 means C is
// overwritten without being read.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t0 := traceStart()
	gemm(active.Load(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	traceEnd(t0, "Sgemm", transA, transB, m, n, k)
}

// gemm is Sgemm (and SgemmBF16) with kernel kr.
func gemm(kr *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if trivial(m, n, k, alpha, beta, c, ldc) {
		return
	}
	checkMatrix("A", transA, m, k, a, lda)
	checkMatrix("B", transB, k, n, b, ldb)

	cl := getCall()
	*cl = call{kr: kr, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}

	t := int(threads.Load())
	// Waking a worker costs microseconds: below ~8 MFLOP (~40 µs of work)
	// a second goroutine costs more than it saves.
	if t > 1 && 2*m*n*k < parallelMinFlop {
		t = 1
	}
	if t == 1 {
		ws := getWorkspace(kr)
		ws.run(cl, 0, m, 0, n)
		putWorkspace(ws)
	} else {
		parallel(cl, t)
	}
	cl.a, cl.b, cl.c = nil, nil, nil
	calls.put(cl)
}

// parallel splits the larger of the M and N ranges, in whole micro-tiles,
// across t goroutines (the caller runs the first part).
func parallel(cl *call, t int) {
	kr := cl.kr
	splitN := cl.n >= cl.m
	size, unit := cl.m, kr.mr
	if splitN {
		size, unit = cl.n, kr.nr
	}
	tiles := (size + unit - 1) / unit
	if t > tiles {
		t = tiles
	}
	bounds := func(i int) int {
		b := (tiles * i / t) * unit
		if b > size {
			b = size
		}
		return b
	}
	cl.wg.Add(t - 1)
	for i := 1; i < t; i++ {
		j := job{cl: cl, lo: bounds(i), hi: bounds(i + 1), splitN: splitN}
		select {
		case jobs <- j:
		default:
			// Pool busy (nested or concurrent calls): run it inline.
			j.do()
		}
	}
	j := job{cl: cl, lo: 0, hi: bounds(1), splitN: splitN}
	cl.wg.Add(1)
	j.do()
	cl.wg.Wait()
}

type job struct {
	cl     *call
	lo, hi int
	splitN bool
}

func (j job) do() {
	ws := getWorkspace(j.cl.kr)
	if j.splitN {
		ws.run(j.cl, 0, j.cl.m, j.lo, j.hi)
	} else {
		ws.run(j.cl, j.lo, j.hi, 0, j.cl.n)
	}
	putWorkspace(ws)
	j.cl.wg.Done()
}

var (
	jobs        = make(chan job, 256)
	workersMu   sync.Mutex
	workerCount int
)

func startWorkers(n int) {
	workersMu.Lock()
	defer workersMu.Unlock()
	for ; workerCount < n; workerCount++ {
		go func() {
			for j := range jobs {
				j.do()
			}
		}()
	}
}

// checkMatrix panics unless s holds a rows×cols matrix (or its transpose
// when trans) with row stride ld.
func checkMatrix(name string, trans bool, rows, cols int, s []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < cols || ld < 1 {
		panic(fmt.Sprintf("gemm: ld%s=%d < %d", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("gemm: len(%s)=%d < %d", name, len(s), need))
	}
}

// scaleC sets C = beta*C (beta == 0: C = 0 without reading it).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// workspace holds one goroutine's packing buffers, 64-byte aligned.
type workspace struct {
	kr    *kernel
	off   []int     // SgemmGather's byte offsets
	bufA  []float32 // MCB×KC, MR-row slivers
	bufB  []float32 // KC×NCB, NR-column slivers
	tile  []float32 // MR×NR edge tile
	store [3][]float32
}

func getWorkspace(kr *kernel) *workspace {
	if ws := kr.free.get(); ws != nil {
		return ws
	}
	return newWorkspace(kr)
}

func putWorkspace(ws *workspace) { ws.kr.free.put(ws) }

func newWorkspace(kr *kernel) *workspace {
	ws := &workspace{kr: kr}
	ws.bufA = alignedFloats(&ws.store[0], kr.mcb*kr.kc)
	ws.bufB = alignedFloats(&ws.store[1], kr.kc*kr.ncb)
	ws.tile = alignedFloats(&ws.store[2], kr.mr*kr.nr)
	return ws
}

// alignedFloats returns n floats starting on a 64-byte boundary; *backing
// keeps the allocation.
func alignedFloats(backing *[]float32, n int) []float32 {
	s := make([]float32, n+16)
	*backing = s
	off := 0
	if r := uintptr(unsafe.Pointer(&s[0])) & 63; r != 0 {
		off = int((64 - r) / 4)
	}
	return s[off : off+n : off+n]
}

// run computes rows [m0,m1) × columns [n0,n1) of C for cl.
//
// Loop order (outer to inner): MCB rows of A; KC slice of the depth (pack
// A's MCB×KC block); NCB columns of B (pack B's KC×NCB block, L2-resident);
// MR-row A sliver (L1-resident across the next loop); NR-column B sliver
// streamed from L2 through the micro-kernel.
//
// Operands already laid out as slivers are not packed: op(A) = Aᵀ stores MR
// consecutive rows of a depth step contiguously, and so does op(B) = B for
// NR columns; the kernel reads those in place with the row stride (only
// ragged edge slivers are packed). B is read in place only when M is small
// (its packing is then a large share of the work) and its row stride does
// not alias in the L1 sets.
func (ws *workspace) run(cl *call, m0, m1, n0, n1 int) {
	kr := ws.kr
	mr, nr, vec := kr.mr, kr.nr, kr.vec
	c, ldc := cl.c, cl.ldc
	a, b := cl.a, cl.b
	lda, ldb := cl.lda, cl.ldb
	directA := cl.transA && !kr.pairs
	directB := !cl.transB && m1-m0 <= directBMaxM && strideOK(ldb) && cl.packB == nil && !kr.pairs
	for im := m0; im < m1; im += kr.mcb {
		mb := min(kr.mcb, m1-im)
		fullA := mb / mr * mr
		for pc := 0; pc < cl.k; pc += kr.kc {
			kb := min(kr.kc, cl.k-pc)
			kd := kb // the kernel's depth: kb steps, or pairs of them
			if kr.pairs {
				kd = (kb + 1) / 2
			}
			beta := cl.beta
			if pc > 0 {
				beta = 1
			}
			if !directA {
				packA(kr, ws.bufA, a, lda, cl.transA, im, mb, pc, kb)
			} else if fullA < mb {
				packA(kr, ws.bufA[fullA*kb:], a, lda, cl.transA, im+fullA, mb-fullA, pc, kb)
			}
			for jn := n0; jn < n1; jn += kr.ncb {
				nb := min(kr.ncb, n1-jn)
				fullB := nb / nr * nr
				edgeW := (nb - fullB + vec - 1) / vec * vec // packed width of a ragged last sliver
				edgeDirect := directB && edgeW == nb-fullB && kr.masked != nil
				if cl.packB != nil {
					cl.packB(ws.bufB[:kb*(fullB+edgeW)], pc, kb, jn, nb)
				} else if !directB {
					packB(kr, ws.bufB, b, ldb, cl.transB, pc, kb, jn, nb)
				} else if fullB < nb && !edgeDirect {
					packB(kr, ws.bufB[fullB*kb:], b, ldb, cl.transB, pc, kb, jn+fullB, nb-fullB)
				}
				for ir := 0; ir < mb; ir += mr {
					rows := min(mr, mb-ir)
					pa, sa := &ws.bufA[ir*kd], mr
					if directA && rows == mr {
						pa, sa = &a[pc*lda+im+ir], lda
					}
					for jr := 0; jr < nb; jr += nr {
						cols := min(nr, nb-jr)
						pb, sb := &ws.bufB[jr*kd], nr
						if cols < nr {
							sb = edgeW
						}
						if directB && (cols == nr || edgeDirect) {
							pb, sb = &b[pc*ldb+jn+jr], ldb
						}
						off := (im+ir)*ldc + jn + jr
						if kr.masked != nil {
							w := (cols + vec - 1) / vec
							kr.masked[w-1](kd, pa, sa, pb, sb, &c[off], ldc, cl.alpha, beta, rows, cols)
							continue
						}
						if rows == mr && cols == nr {
							kr.micro(kb, pa, sa, pb, sb, &c[off], ldc, cl.alpha, beta)
							continue
						}
						t := ws.tile
						kr.micro(kb, pa, sa, pb, sb, &t[0], nr, 1, 0)
						mergeTile(c[off:], ldc, t, nr, rows, cols, cl.alpha, beta)
					}
				}
			}
		}
	}
}

// directBMaxM bounds the rows of C for which B is read in place.
const directBMaxM = 256

// strideOK reports whether rows ld floats apart can be streamed in place:
// not so far apart that every depth step needs a new page, and not a
// multiple of a large power of two (rows would collide in a few L1 sets).
func strideOK(ld int) bool {
	bytes := ld * 4
	if bytes > 16<<10 {
		return false
	}
	if bytes%64 != 0 {
		return true
	}
	lines := bytes / 64 % 64
	if lines == 0 {
		return false
	}
	g := 64
	for lines != 0 {
		g, lines = lines, g%lines
	}
	return g <= 4
}

// InPlaceStride returns a row stride ld ≥ n at which Sgemm reads a
// non-transposed B in place instead of packing it when C has few rows
// (M ≤ 256): n itself if it will do, else a multiple of 16 floats (rows on
// 64-byte boundaries) at most n+32, else n. A caller that lays out a B
// operand itself (an unfolded image, say) can choose this stride to save
// the packing pass.
func InPlaceStride(n int) int {
	if strideOK(n) {
		return n
	}
	for ld := (n + 15) &^ 15; ld <= n+32; ld += 16 {
		if strideOK(ld) {
			return ld
		}
	}
	return n
}

// mergeTile writes C = alpha*T + beta*C for a rows×cols corner.
func mergeTile(c []float32, ldc int, t []float32, ldt, rows, cols int, alpha, beta float32) {
	for i := 0; i < rows; i++ {
		cr := c[i*ldc : i*ldc+cols]
		tr := t[i*ldt : i*ldt+cols]
		if beta == 0 {
			for j := range cr {
				cr[j] = alpha * tr[j]
			}
		} else {
			for j := range cr {
				cr[j] = alpha*tr[j] + beta*cr[j]
			}
		}
	}
}

// packA packs op(A)[i0:i0+mb, p0:p0+kb] into MR-row slivers: sliver s holds
// dst[s*kb + p*MR + i] = op(A)[i0+s+i, p0+p], rows past mb zero.
func packA(kr *kernel, dst []float32, a []float32, lda int, trans bool, i0, mb, p0, kb int) {
	mr := kr.mr
	if kr.pairs {
		packAPairs(kr, dst, a, lda, trans, i0, mb, p0, kb)
		return
	}
	if trans {
		// op(A)[i,p] = a[p*lda+i]: each stored row is a depth step; deal
		// it out MR at a time.
		packRows(dst, mr, mr, a, lda, p0, kb, i0, mb)
		return
	}
	for s := 0; s < mb; s += mr {
		d := dst[s*kb : (s+mr)*kb]
		rows := min(mr, mb-s)
		// op(A)[i,p] = a[i*lda+p]: interleave MR rows.
		interleave(kr, d, mr, a, lda, (i0+s)*lda+p0, rows, kb)
	}
}

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into NR-column slivers: sliver s
// holds dst[s*kb + p*w + j] = op(B)[p0+p, j0+s+j], where w = NR except for
// a last partial sliver, which is padded with zeros only up to a multiple
// of vec columns.
func packB(kr *kernel, dst []float32, b []float32, ldb int, trans bool, p0, kb, j0, nb int) {
	nr, vec := kr.nr, kr.vec
	if kr.pairs {
		packBPairs(kr, dst, b, ldb, trans, p0, kb, j0, nb)
		return
	}
	if !trans {
		// op(B)[p,j] = b[p*ldb+j]: walk B row by row (contiguous reads)
		// and deal each row out to the slivers.
		packRows(dst, nr, vec, b, ldb, p0, kb, j0, nb)
		return
	}
	// op(B)[p,j] = b[j*ldb+p]: interleave rows of the stored matrix.
	for s := 0; s < nb; s += nr {
		cols := min(nr, nb-s)
		w := nr
		if cols < nr {
			w = (cols + vec - 1) / vec * vec
		}
		d := dst[s*kb : s*kb+w*kb]
		interleave(kr, d, w, b, ldb, (j0+s)*ldb+p0, cols, kb)
	}
}

// packRows packs rows r0..r0+kb of the row-major matrix src (stride ld),
// columns c0..c0+n, into w-wide slivers: dst[s*kb + p*w + j] =
// src[(r0+p)*ld + c0+s+j] for full slivers; a last partial sliver is
// padded with zeros up to a multiple of vec columns.
func packRows(dst []float32, w, vec int, src []float32, ld, r0, kb, c0, n int) {
	full := n / w * w
	for p := 0; p < kb; p++ {
		row := src[(r0+p)*ld+c0 : (r0+p)*ld+c0+n]
		switch w {
		case 48:
			for s := 0; s < full; s += 48 {
				o := s*kb + p*48
				*(*[48]float32)(dst[o : o+48]) = *(*[48]float32)(row[s : s+48])
			}
		case 16:
			for s := 0; s < full; s += 16 {
				o := s*kb + p*16
				*(*[16]float32)(dst[o : o+16]) = *(*[16]float32)(row[s : s+16])
			}
		case 8:
			for s := 0; s < full; s += 8 {
				o := s*kb + p*8
				*(*[8]float32)(dst[o : o+8]) = *(*[8]float32)(row[s : s+8])
			}
		default:
			for s := 0; s < full; s += w {
				o := s*kb + p*w
				copy(dst[o:o+w], row[s:s+w])
			}
		}
	}
	if cols := n - full; cols > 0 {
		ww := (cols + vec - 1) / vec * vec
		for p := 0; p < kb; p++ {
			row := src[(r0+p)*ld+c0+full : (r0+p)*ld+c0+n]
			o := full*kb + p*ww
			copy(dst[o:o+cols], row)
			clear(dst[o+cols : o+ww])
		}
	}
}

// interleave transposes n rows of src (row stride ld, starting at off, kb
// long) into d: d[p*w+i] = src[off+i*ld+p] for i < n; columns n..w-1 of d
// are zeroed.
func interleave(kr *kernel, d []float32, w int, src []float32, ld, off, n, kb int) {
	d = d[:w*kb]
	i := 0
	for ; i+8 <= n; i += 8 {
		q := 0
		if kr.transpose8 != nil && kb >= 8 {
			// Bounds: rows off+i*ld .. +7*ld, each kb long, are in src
			// (checked by slicing the last row).
			_ = src[off+(i+7)*ld : off+(i+7)*ld+kb]
			q = kb / 8 * 8
			kr.transpose8(&d[i], w, &src[off+i*ld], ld, q/8)
		}
		if q < kb {
			interleave8(d[i+q*w:], w, src, ld, off+i*ld+q, kb-q)
		}
	}
	if i == 0 && n == 6 && w == 6 && kr.transpose6 != nil && kb >= 8 {
		// A whole MR = 6 sliver (the avx2 kernel's): 8×8 block transposes
		// instead of interleave4 and two columns one element at a time.
		_ = src[off+5*ld : off+5*ld+kb] // bounds of the 6 rows, as above
		q := kb / 8 * 8
		kr.transpose6(&d[0], &src[off], ld, q/8)
		for p := q; p < kb; p++ {
			dd := d[p*6 : p*6+6 : p*6+6]
			for r := range dd {
				dd[r] = src[off+r*ld+p]
			}
		}
		i = 6
	}
	for ; i+4 <= n; i += 4 {
		interleave4(d[i:], w, src, ld, off+i*ld, kb)
	}
	for ; i < n; i++ {
		row := src[off+i*ld : off+i*ld+kb]
		for p, v := range row {
			d[p*w+i] = v
		}
	}
	if n < w {
		for p := 0; p < kb; p++ {
			clear(d[p*w+n : p*w+w])
		}
	}
}

// interleave8 writes d[p*w+i] = src[off+i*ld+p] for i < 8, p < kb.
func interleave8(d []float32, w int, src []float32, ld, off, kb int) {
	a0 := src[off : off+kb]
	a1 := src[off+ld : off+ld+kb]
	a2 := src[off+2*ld : off+2*ld+kb]
	a3 := src[off+3*ld : off+3*ld+kb]
	a4 := src[off+4*ld : off+4*ld+kb]
	a5 := src[off+5*ld : off+5*ld+kb]
	a6 := src[off+6*ld : off+6*ld+kb]
	a7 := src[off+7*ld : off+7*ld+kb]
	for p := range a0 {
		dd := d[p*w : p*w+8 : p*w+8]
		dd[0], dd[1], dd[2], dd[3] = a0[p], a1[p], a2[p], a3[p]
		dd[4], dd[5], dd[6], dd[7] = a4[p], a5[p], a6[p], a7[p]
	}
}

// interleave4 writes d[p*w+i] = src[off+i*ld+p] for i < 4, p < kb.
func interleave4(d []float32, w int, src []float32, ld, off, kb int) {
	a0 := src[off : off+kb]
	a1 := src[off+ld : off+ld+kb]
	a2 := src[off+2*ld : off+2*ld+kb]
	a3 := src[off+3*ld : off+3*ld+kb]
	for p := range a0 {
		dd := d[p*w : p*w+4 : p*w+4]
		dd[0], dd[1], dd[2], dd[3] = a0[p], a1[p], a2[p], a3[p]
	}
}
