//go:build !amd64

package gemm

func archKernels() []*kernel { return nil }

// Stand-ins for the amd64 FMA peak loops (benchmarks skip them here).
func peakFMA512(n int) {}
func peakFMA256(n int) {}

// transpose8Gather is never called here: no kernel sets transpose8g.
func transpose8Gather(d *float32, w int, src *float32, offs *int, bpr, rows, skip int) {
	panic("gemm: transpose8Gather without amd64")
}

// copy8Gather is never called here: Copy8Gather checks HasGather.
func copy8Gather(d *float32, w int, src *float32, offs *int, n int) {
	panic("gemm: copy8Gather without amd64")
}
