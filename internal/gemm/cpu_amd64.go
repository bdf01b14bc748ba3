//go:build amd64

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go

//go:noescape
func microAVX512x48(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func microAVX512x32(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func microAVX512x16(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func gatherAVX512x48(k int, a *float32, sa int, b *float32, off *int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func gatherAVX512x32(k int, a *float32, sa int, b *float32, off *int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func gatherAVX512x16(k int, a *float32, sa int, b *float32, off *int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func bf16AVX512x48(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func bf16AVX512x32(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

//go:noescape
func bf16AVX512x16(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, rows, cols int)

func microAVX512(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32) {
	microAVX512x48(k, a, sa, b, sb, c, ldc, alpha, beta, 8, 48)
}

//go:noescape
func microAVX2(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func transpose8AVX2(d *float32, w int, src *float32, ld int, blocks int)

//go:noescape
func transpose6AVX2(d *float32, src *float32, ld int, blocks int)

//go:noescape
func transpose8Gather(d *float32, w int, src *float32, offs *int, bpr, rows, skip int)

//go:noescape
func copy8Gather(d *float32, w int, src *float32, offs *int, n int)

//go:noescape
func peakFMA512(n int)

//go:noescape
func peakFMA256(n int)

//go:noescape
func peakBF16(n int)

var avx512Kernel = &kernel{
	name: "avx512",
	mr:   8, nr: 48,
	kc: 256, mcb: 1024, ncb: 480,
	micro:       microAVX512,
	masked:      []maskedKernel{microAVX512x16, microAVX512x32, microAVX512x48},
	gather:      []gatherKernel{gatherAVX512x16, gatherAVX512x32, gatherAVX512x48},
	vec:         16,
	transpose8:  transpose8AVX2,
	transpose8g: transpose8Gather,
}

// bf16AVX512Kernel multiplies slivers of bfloat16 pairs (SgemmBF16) with
// VDPBF16PS: the avx512 kernel's shape and blocking, with depth counted in
// pairs inside the kernel.
var bf16AVX512Kernel = &kernel{
	name: "avx512bf16",
	mr:   8, nr: 48,
	kc: 512, mcb: 1024, ncb: 480,
	masked:     []maskedKernel{bf16AVX512x16, bf16AVX512x32, bf16AVX512x48},
	vec:        16,
	pairs:      true,
	transpose8: transpose8AVX2,
}

// bf16Kernels lists the bf16 kernels this CPU and OS can run, best first.
func bf16Kernels() []*kernel {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16 {
		return []*kernel{bf16AVX512Kernel}
	}
	return nil
}

var avx2Kernel = &kernel{
	name: "avx2",
	mr:   6, nr: 16,
	kc: 256, mcb: 1020, ncb: 512,
	micro:      microAVX2,
	vec:        16,
	transpose8: transpose8AVX2,
	transpose6: transpose6AVX2,
}

// archKernels lists the kernels this CPU and OS can run, best first.
// x/sys/cpu reports AVX-512F only when XGETBV shows the OS saves the
// opmask and ZMM state, and AVX2/FMA only when it saves the YMM state.
func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

//go:noescape
func pairRowsAVX512(dst *uint32, stride int, lo, hi *float32, slivers, vecs int)

//go:noescape
func roundPairsAVX512(dst *uint32, src *float32, n int)
