package gemm

import (
	"math"
	"unsafe"
)

// bfloat16 is the upper half of a float32: the same sign and 8-bit
// exponent, 7 stored mantissa bits. SgemmBF16 rounds both operands to it
// and accumulates in float32, which is what VDPBF16PS (AVX512_BF16) does.

var bf16Kernel *kernel

func init() {
	if ks := bf16Kernels(); len(ks) > 0 {
		bf16Kernel = ks[0]
	}
}

// HasBF16 reports whether this CPU and OS run SgemmBF16 (AVX-512F with
// AVX512_BF16).
func HasBF16() bool { return bf16Kernel != nil }

// RoundBF16 rounds f to the nearest bfloat16, ties to even, and returns its
// bits. Infinities stay infinite, a NaN stays a NaN (made quiet), values
// past the largest finite bfloat16 by half a unit or more become infinite,
// and subnormals round like any other value.
func RoundBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	// Adding 0x7fff rounds up every tail above half; the last kept bit
	// breaks the tie at exactly half towards an even result.
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// BF16ToFloat32 is the float32 with bfloat16 bits h (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bf16Pair packs the bfloat16 roundings of lo and hi into one 32-bit
// element, lo in the low half: VDPBF16PS's layout of two depth steps.
func bf16Pair(lo, hi float32) uint32 {
	return uint32(RoundBF16(lo)) | uint32(RoundBF16(hi))<<16
}

// SgemmBF16 is Sgemm with both operands rounded to bfloat16 (RoundBF16) and
// the products accumulated in float32: C = alpha·bf16(op(A))·bf16(op(B)) +
// beta·C. alpha, beta and C stay float32. It panics unless HasBF16.
//
// Like VDPBF16PS, which it uses, it reads bfloat16 subnormals as zero and
// flushes subnormal results of the accumulation to zero.
func SgemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if bf16Kernel == nil {
		panic("gemm: SgemmBF16 needs a CPU with AVX512_BF16 (see HasBF16)")
	}
	t0 := traceStart()
	gemm(bf16Kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	traceEnd(t0, "SgemmBF16", transA, transB, m, n, k)
}

// words views a packing buffer as the 32-bit elements the bf16 kernels read.
func words(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}

// packAPairs is packA for a pairs kernel: sliver s holds
// dst[s*kd + q*MR + i] = pair(op(A)[i0+s+i, p0+2q], op(A)[i0+s+i, p0+2q+1])
// with kd = ⌈kb/2⌉; rows past mb and the odd depth's missing partner are 0.
// dst is the whole packing buffer (MCB×KC floats): the pairs take at most
// its first half, and the second half is scratch.
func packAPairs(kr *kernel, dst []float32, a []float32, lda int, trans bool, i0, mb, p0, kb int) {
	mr := kr.mr
	kd := (kb + 1) / 2
	if trans {
		// op(A)[i,p] = a[p*lda+i]: stored rows are depth steps.
		pairRows(words(dst), mr, mr, a, lda, p0, kb, i0, mb)
		return
	}
	scratch := dst[len(dst)/2:]
	for s := 0; s < mb; s += mr {
		pairCols(kr, dst[s*kd:(s+mr)*kd], mr, a, lda, (i0+s)*lda+p0, min(mr, mb-s), kb, scratch)
	}
}

// packBPairs is packB for a pairs kernel: sliver s holds
// dst[s*kd + q*w + j] = pair(op(B)[p0+2q, j0+s+j], op(B)[p0+2q+1, j0+s+j]),
// w = NR except for a last partial sliver, padded with zeros only up to a
// multiple of vec columns. dst is the whole packing buffer (KC×NCB
// floats), its second half scratch.
func packBPairs(kr *kernel, dst []float32, b []float32, ldb int, trans bool, p0, kb, j0, nb int) {
	nr, vec := kr.nr, kr.vec
	kd := (kb + 1) / 2
	if !trans {
		pairRows(words(dst), nr, vec, b, ldb, p0, kb, j0, nb)
		return
	}
	scratch := dst[len(dst)/2:]
	for s := 0; s < nb; s += nr {
		cols := min(nr, nb-s)
		w := nr
		if cols < nr {
			w = (cols + vec - 1) / vec * vec
		}
		pairCols(kr, dst[s*kd:s*kd+w*kd], w, b, ldb, (j0+s)*ldb+p0, cols, kb, scratch)
	}
}

// zeroRow partners the last depth step of an odd depth in pairRows.
var zeroRow [1024]float32

// pairRows packs rows r0..r0+kb of the row-major src (stride ld, columns
// c0..c0+n), whose rows are depth steps, into w-wide slivers of pairs:
// dst[s*kd + q*w + j] = pair(src[(r0+2q)*ld+c0+s+j], src[(r0+2q+1)*ld+c0+s+j]);
// a last partial sliver is padded with zeros up to a multiple of vec.
func pairRows(dst []uint32, w, vec int, src []float32, ld, r0, kb, c0, n int) {
	kd := (kb + 1) / 2
	full := n / w * w
	ww := (n - full + vec - 1) / vec * vec
	for q := 0; q < kd; q++ {
		lo := src[(r0+2*q)*ld+c0 : (r0+2*q)*ld+c0+n]
		hi := zeroRow[:n]
		if 2*q+1 < kb {
			hi = src[(r0+2*q+1)*ld+c0 : (r0+2*q+1)*ld+c0+n]
		}
		s := 0
		if full > 0 && w%16 == 0 {
			// Bounds: the last full sliver's words are in dst.
			_ = dst[(full-w)*kd+q*w+w-1]
			pairRowsAVX512(&dst[q*w], w*kd*4, &lo[0], &hi[0], full/w, w/16)
			s = full
		}
		for ; s < n; s += w {
			width := w
			if s == full {
				width = ww
			}
			d := dst[s*kd+q*width : s*kd+q*width+width]
			cols := min(w, n-s)
			for j := 0; j < cols; j++ {
				d[j] = bf16Pair(lo[s+j], hi[s+j])
			}
			clear(d[cols:])
		}
	}
}

// pairCols packs n rows of src (stride ld, from off, kb long), whose rows
// are the sliver's columns and run along the depth, into one w-wide sliver
// of pairs: dst[q*w+i] = pair(src[off+i*ld+2q], src[off+i*ld+2q+1]) for
// i < n, zero for n ≤ i < w. Each row is first turned into its pairs in
// scratch (n×kd), which is then transposed into the sliver.
func pairCols(kr *kernel, dst []float32, w int, src []float32, ld, off, n, kb int, scratch []float32) {
	kd := (kb + 1) / 2
	rows := words(scratch[:n*kd])
	for i := 0; i < n; i++ {
		row := src[off+i*ld : off+i*ld+kb]
		pr := rows[i*kd : (i+1)*kd]
		v := kb / 16
		if v > 0 {
			roundPairsAVX512(&pr[0], &row[0], v)
		}
		for q := 8 * v; q < kb/2; q++ {
			pr[q] = bf16Pair(row[2*q], row[2*q+1])
		}
		if kb%2 == 1 {
			pr[kd-1] = bf16Pair(row[kb-1], 0)
		}
	}
	interleave(kr, dst, w, scratch, kd, 0, n, kd)
}
