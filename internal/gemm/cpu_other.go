//go:build !amd64

package gemm

func archKernels() []*kernel { return nil }

// Stand-ins for the amd64 FMA peak loops (benchmarks skip them here).
func peakFMA512(n int) {}
func peakFMA256(n int) {}
