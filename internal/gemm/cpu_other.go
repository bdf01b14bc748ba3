//go:build !amd64

package gemm

func archKernels() []*kernel { return nil }

func bf16Kernels() []*kernel { return nil }

// Stand-ins for the amd64 FMA peak loops (benchmarks skip them here).
func peakFMA512(n int) {}
func peakFMA256(n int) {}
func peakBF16(n int)   {}

// transpose8Gather is never called here: no kernel sets transpose8g.
func transpose8Gather(d *float32, w int, src *float32, offs *int, bpr, rows, skip int) {
	panic("gemm: transpose8Gather without amd64")
}

// copy8Gather is never called here: Copy8Gather checks HasGather.
func copy8Gather(d *float32, w int, src *float32, offs *int, n int) {
	panic("gemm: copy8Gather without amd64")
}

// pairRowsAVX512 and roundPairsAVX512 are never called here: no pairs
// kernel exists without amd64.
func pairRowsAVX512(dst *uint32, stride int, lo, hi *float32, slivers, vecs int) {
	panic("gemm: pairRowsAVX512 without amd64")
}

func roundPairsAVX512(dst *uint32, src *float32, n int) {
	panic("gemm: roundPairsAVX512 without amd64")
}
