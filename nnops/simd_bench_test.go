package nnops

import (
	"fmt"
	"testing"
)

// BenchmarkSIMD times the elementwise kernels in cache (64 KB) and on a VGG
// layer's activations (24 channels × 32×32 × 128 images, 12.6 MB), vector and
// Go versions; bytes/s counts every slice read or written.
func BenchmarkSIMD(b *testing.B) {
	for _, n := range []int{16 << 10, 24 * 1024 * 128} {
		x, dy, y := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], dy[i] = float32(i%7)-3, float32(i%5)-2
		}
		for _, simd := range []bool{true, false} {
			if simd && !useSIMD {
				continue
			}
			name := fmt.Sprintf("n=%d/simd=%v", n, simd)
			run := func(op string, slices int, f func()) {
				b.Run(op+"/"+name, func(b *testing.B) {
					defer func(v bool) { useSIMD = v }(useSIMD)
					useSIMD = simd
					b.SetBytes(int64(4 * n * slices))
					for i := 0; i < b.N; i++ {
						f()
					}
				})
			}
			run("relu", 2, func() { relu(x, y) })
			run("reluGrad", 3, func() { reluGrad(x, dy, y) })
			run("normAffine", 2, func() { normAffine(x, y, 0.5, 0, 2, 1) })
			run("bnDx", 3, func() { bnDx(x, dy, y, 0.5, 0, 2, 1, 0.1) })
			run("shiftedSums", 1, func() { shiftedSums(x, 0.5) })
			run("gradSums", 2, func() { gradSums(dy, x, 0.5, 0) })
		}
	}
}
