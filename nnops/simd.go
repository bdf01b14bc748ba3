package nnops

import "math"

// The elementwise loops of BatchNorm and ReLU: a vector version (amd64 with
// AVX2 and FMA, in simd_amd64.s) runs on the bulk of each slice, multiples of
// 8 elements, and the plain Go version below on the rest and everywhere else.
// The elementwise kernels compute exactly what the Go code does (the same
// float32 operations in the same order, no fused multiply-add), so results do
// not depend on which one ran; the sums accumulate in float64 in a different
// order, so they agree to rounding.

// vecLen is how many of n elements the vector kernels take: a multiple of 8,
// or none without them.
func vecLen(n int) int {
	if useSIMD {
		return n &^ 7
	}
	return 0
}

// shiftedSums returns Σ (x − k) and Σ (x − k)² in float64.
func shiftedSums(x []float32, k float64) (s1, s2 float64) {
	n := vecLen(len(x))
	if n > 0 {
		s1, s2 = shiftedSumsAVX2(&x[0], n, k)
	}
	t1, t2 := shiftedSumsGo(x[n:], k)
	return s1 + t1, s2 + t2
}

func shiftedSumsGo(x []float32, k float64) (s1, s2 float64) {
	var a1, a2, b1, b2 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d, e := float64(x[i])-k, float64(x[i+1])-k
		a1 += d
		a2 += d * d
		b1 += e
		b2 += e * e
	}
	if i < len(x) {
		d := float64(x[i]) - k
		a1 += d
		a2 += d * d
	}
	return a1 + b1, a2 + b2
}

// gradSums returns Σ dy and Σ dy·(x − μ) in float64 (each product in
// float32), for μ = hi + lo (see split).
func gradSums(dy, x []float32, hi, lo float32) (s1, s2 float64) {
	x = x[:len(dy)]
	n := vecLen(len(dy))
	if n > 0 {
		s1, s2 = gradSumsAVX2(&dy[0], &x[0], n, hi, lo)
	}
	t1, t2 := gradSumsGo(dy[n:], x[n:], hi, lo)
	return s1 + t1, s2 + t2
}

func gradSumsGo(dy, x []float32, hi, lo float32) (s1, s2 float64) {
	x = x[:len(dy)]
	var a1, a2, b1, b2 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		a1 += float64(dy[i])
		a2 += float64(dy[i] * ((x[i] - hi) - lo))
		b1 += float64(dy[i+1])
		b2 += float64(dy[i+1] * ((x[i+1] - hi) - lo))
	}
	if i < len(dy) {
		a1 += float64(dy[i])
		a2 += float64(dy[i] * ((x[i] - hi) - lo))
	}
	return a1 + b1, a2 + b2
}

// normAffine sets y = ((x − hi) − lo)·scale + shift: BatchNorm's output.
func normAffine(x, y []float32, hi, lo, scale, shift float32) {
	y = y[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		normAffineAVX2(&x[0], &y[0], n, hi, lo, scale, shift)
	}
	normAffineGo(x[n:], y[n:], hi, lo, scale, shift)
}

func normAffineGo(x, y []float32, hi, lo, scale, shift float32) {
	y = y[:len(x)]
	for j, v := range x {
		y[j] = float32(((v-hi)-lo)*scale) + shift // the conversion forbids a fused multiply-add
	}
}

// bnDx sets dx = a·dy − (b + k·((x − hi) − lo)): BatchNorm's input gradient.
func bnDx(x, dy, dx []float32, hi, lo, a, b, k float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		bnDxAVX2(&x[0], &dy[0], &dx[0], n, hi, lo, a, b, k)
	}
	bnDxGo(x[n:], dy[n:], dx[n:], hi, lo, a, b, k)
}

func bnDxGo(x, dy, dx []float32, hi, lo, a, b, k float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for j, v := range x {
		dx[j] = float32(a*dy[j]) - (b + float32(k*((v-hi)-lo))) // conversions: no fused multiply-add
	}
}

// relu sets y = x where x > 0 or x is NaN, else +0.
func relu(x, y []float32) {
	y = y[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		reluAVX2(&x[0], &y[0], n)
	}
	reluGo(x[n:], y[n:])
}

func reluGo(x, y []float32) {
	y = y[:len(x)]
	for j, v := range x {
		y[j] = reluOf(v)
	}
}

// reluOf returns v where v > 0 or v is NaN, else +0. The select on the bits
// compiles to a conditional move, not a branch.
func reluOf(v float32) float32 {
	b := math.Float32bits(v)
	if v <= 0 {
		b = 0 // NaN fails v <= 0 and passes through
	}
	return math.Float32frombits(b)
}

// reluGrad sets dx = dy where x > 0, else +0 (also where x is NaN).
func reluGrad(x, dy, dx []float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		reluGradAVX2(&x[0], &dy[0], &dx[0], n)
	}
	reluGradGo(x[n:], dy[n:], dx[n:])
}

func reluGradGo(x, dy, dx []float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for j, v := range x {
		dx[j] = reluMask(v, dy[j])
	}
}

// The fused BatchNorm + ReLU kernels: y = relu(BatchNorm(x)) in one pass, and
// the backward with dy masked by y > 0 (the ReLU's gradient) as it is read.
// Each gives exactly what the unfused kernels give on the ReLU's output.

// normAffineReLU sets y = relu(((x − hi) − lo)·scale + shift).
func normAffineReLU(x, y []float32, hi, lo, scale, shift float32) {
	y = y[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		normAffineReLUAVX2(&x[0], &y[0], n, hi, lo, scale, shift)
	}
	normAffineReLUGo(x[n:], y[n:], hi, lo, scale, shift)
}

func normAffineReLUGo(x, y []float32, hi, lo, scale, shift float32) {
	y = y[:len(x)]
	for j, v := range x {
		y[j] = reluOf(float32(((v-hi)-lo)*scale) + shift)
	}
}

// reluMask returns dy where y > 0, else +0 (also where y is NaN): the ReLU's
// gradient given its input or its output.
func reluMask(y, dy float32) float32 {
	b := math.Float32bits(dy)
	if !(y > 0) {
		b = 0
	}
	return math.Float32frombits(b)
}

// gradSumsMasked is gradSums of dy masked by y > 0.
func gradSumsMasked(dy, y, x []float32, hi, lo float32) (s1, s2 float64) {
	y, x = y[:len(dy)], x[:len(dy)]
	n := vecLen(len(dy))
	if n > 0 {
		s1, s2 = gradSumsMaskedAVX2(&dy[0], &y[0], &x[0], n, hi, lo)
	}
	t1, t2 := gradSumsMaskedGo(dy[n:], y[n:], x[n:], hi, lo)
	return s1 + t1, s2 + t2
}

func gradSumsMaskedGo(dy, y, x []float32, hi, lo float32) (s1, s2 float64) {
	y, x = y[:len(dy)], x[:len(dy)]
	var a1, a2, b1, b2 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		d, e := reluMask(y[i], dy[i]), reluMask(y[i+1], dy[i+1])
		a1 += float64(d)
		a2 += float64(d * ((x[i] - hi) - lo))
		b1 += float64(e)
		b2 += float64(e * ((x[i+1] - hi) - lo))
	}
	if i < len(dy) {
		d := reluMask(y[i], dy[i])
		a1 += float64(d)
		a2 += float64(d * ((x[i] - hi) - lo))
	}
	return a1 + b1, a2 + b2
}

// bnDxMasked is bnDx of dy masked by y > 0.
func bnDxMasked(x, y, dy, dx []float32, hi, lo, a, b, k float32) {
	y, dy, dx = y[:len(x)], dy[:len(x)], dx[:len(x)]
	n := vecLen(len(x))
	if n > 0 {
		bnDxMaskedAVX2(&x[0], &y[0], &dy[0], &dx[0], n, hi, lo, a, b, k)
	}
	bnDxMaskedGo(x[n:], y[n:], dy[n:], dx[n:], hi, lo, a, b, k)
}

func bnDxMaskedGo(x, y, dy, dx []float32, hi, lo, a, b, k float32) {
	y, dy, dx = y[:len(x)], dy[:len(x)], dx[:len(x)]
	for j, v := range x {
		dx[j] = float32(a*reluMask(y[j], dy[j])) - (b + float32(k*((v-hi)-lo)))
	}
}
