//go:build amd64

package nnops

import "golang.org/x/sys/cpu"

// useSIMD says whether the AVX2 kernels run; tests turn it off to compare.
var useSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The kernels take n > 0, a multiple of 8.

//go:noescape
func shiftedSumsAVX2(x *float32, n int, k float64) (s1, s2 float64)

//go:noescape
func gradSumsAVX2(dy, x *float32, n int, hi, lo float32) (s1, s2 float64)

//go:noescape
func normAffineAVX2(x, y *float32, n int, hi, lo, scale, shift float32)

//go:noescape
func bnDxAVX2(x, dy, dx *float32, n int, hi, lo, a, b, k float32)

//go:noescape
func reluAVX2(x, y *float32, n int)

//go:noescape
func reluGradAVX2(x, dy, dx *float32, n int)

//go:noescape
func normAffineReLUAVX2(x, y *float32, n int, hi, lo, scale, shift float32)

//go:noescape
func gradSumsMaskedAVX2(dy, y, x *float32, n int, hi, lo float32) (s1, s2 float64)

//go:noescape
func bnDxMaskedAVX2(x, y, dy, dx *float32, n int, hi, lo, a, b, k float32)

//go:noescape
func preluAVX2(x, y *float32, n int, a float32)

//go:noescape
func preluGradXAVX2(x, dy, dx *float32, n int, a float32)

//go:noescape
func preluGradASumAVX2(x, dy *float32, n int) float32

//go:noescape
func max2x2AVX2(x *float32, w int, blocks int, y *float32, am *int32, first int) (done int)
