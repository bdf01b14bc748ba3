package nnops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simdInputs returns slices of every length 0..70 at several offsets into a
// buffer of ordinary values mixed with the special ones (±0, ±Inf, NaN,
// subnormals, large), so each kernel's vector part and Go tail both run.
func simdInputs(seed uint64, special bool) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	buf := make([]float32, 200)
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -1e-40, 3e38, -3e38}
	for i := range buf {
		buf[i] = float32(rng.NormFloat64()*2 + 0.5)
		if special && rng.IntN(6) == 0 {
			buf[i] = specials[rng.IntN(len(specials))]
		}
	}
	var out [][]float32
	for n := 0; n <= 70; n++ {
		for _, off := range []int{0, 1, 3, 8} {
			out = append(out, buf[off:off+n])
		}
	}
	return out
}

func sameBits(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s, n = %d: element %d is %v (%#x), want %v (%#x)", what, n, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestSIMDElementwiseMatchGo: the vector kernels give the Go loops' results
// bit for bit, special values included.
func TestSIMDElementwiseMatchGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 and FMA on this machine: only the Go loops run")
	}
	xs, dys, ys := simdInputs(1, true), simdInputs(2, true), simdInputs(8, true)
	for i, x := range xs {
		dy := dys[i]
		n := len(x)
		got, want := make([]float32, n), make([]float32, n)
		relu(x, got)
		reluGo(x, want)
		sameBits(t, "relu", n, got, want)
		reluGrad(x, dy, got)
		reluGradGo(x, dy, want)
		sameBits(t, "reluGrad", n, got, want)
		normAffine(x, got, 0.25, 1e-9, 1.7, -0.3)
		normAffineGo(x, want, 0.25, 1e-9, 1.7, -0.3)
		sameBits(t, "normAffine", n, got, want)
		bnDx(x, dy, got, 0.25, 1e-9, 0.9, 0.01, -0.2)
		bnDxGo(x, dy, want, 0.25, 1e-9, 0.9, 0.01, -0.2)
		sameBits(t, "bnDx", n, got, want)
		y := ys[i]
		normAffineReLU(x, got, 0.25, 1e-9, 1.7, -0.3)
		normAffineReLUGo(x, want, 0.25, 1e-9, 1.7, -0.3)
		sameBits(t, "normAffineReLU", n, got, want)
		bnDxMasked(x, y, dy, got, 0.25, 1e-9, 0.9, 0.01, -0.2)
		bnDxMaskedGo(x, y, dy, want, 0.25, 1e-9, 0.9, 0.01, -0.2)
		sameBits(t, "bnDxMasked", n, got, want)
	}
}

// TestSIMDSumsMatchGo: the vector sums agree with the Go ones to float64
// rounding (they add in a different order).
func TestSIMDSumsMatchGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 and FMA on this machine: only the Go loops run")
	}
	close := func(a, b, scale float64) bool { return math.Abs(a-b) <= 1e-12*scale }
	xs, dys, ys := simdInputs(3, false), simdInputs(4, false), simdInputs(9, false)
	for i, x := range xs {
		dy := dys[i]
		var scale1, scale2 float64
		for j := range x {
			scale1 += math.Abs(float64(x[j]) - 0.5)
			scale2 += (float64(x[j]) - 0.5) * (float64(x[j]) - 0.5)
		}
		s1, s2 := shiftedSums(x, 0.5)
		w1, w2 := shiftedSumsGo(x, 0.5)
		y := ys[i]
		m1, m2 := gradSumsMasked(dy, y, x, 0.5, 1e-9)
		u1, u2 := gradSumsMaskedGo(dy, y, x, 0.5, 1e-9)
		if !close(m1, u1, scale1+sumAbs(dy)+1) || !close(m2, u2, 100*(scale2+sumAbs(dy))+1) {
			t.Errorf("gradSumsMasked n = %d: got %v, %v, want %v, %v", len(x), m1, m2, u1, u2)
		}
		if !close(s1, w1, scale1+1) || !close(s2, w2, scale2+1) {
			t.Errorf("shiftedSums n = %d: got %v, %v, want %v, %v", len(x), s1, s2, w1, w2)
		}
		g1, g2 := gradSums(dy, x, 0.5, 1e-9)
		v1, v2 := gradSumsGo(dy, x, 0.5, 1e-9)
		var sd, sp float64
		for j := range dy {
			sd += math.Abs(float64(dy[j]))
			sp += math.Abs(float64(dy[j]) * (float64(x[j]) - 0.5))
		}
		if !close(g1, v1, sd+1) || !close(g2, v2, sp+1) {
			t.Errorf("gradSums n = %d: got %v, %v, want %v, %v", len(x), g1, g2, v1, v2)
		}
	}
	// NaN and Inf reach the sums.
	x := []float32{1, 2, 3, 4, 5, 6, 7, float32(math.NaN()), 9}
	if s1, s2 := shiftedSums(x, 0); !math.IsNaN(s1) || !math.IsNaN(s2) {
		t.Errorf("shiftedSums with a NaN: got %v, %v", s1, s2)
	}
	x[7] = float32(math.Inf(1))
	if s1, _ := shiftedSums(x, 0); !math.IsInf(s1, 1) {
		t.Errorf("shiftedSums with +Inf: got %v", s1)
	}
}

// TestFusedBNReLUKernels: the fused kernels give exactly the unfused ones
// applied to the ReLU's output, on both the vector and the Go paths.
func TestFusedBNReLUKernels(t *testing.T) {
	defer func(v bool) { useSIMD = v }(useSIMD)
	for _, simd := range []bool{false, useSIMD} {
		useSIMD = simd
		xs, dys, ys := simdInputs(5, true), simdInputs(6, true), simdInputs(7, true)
		for i, x := range xs {
			dy, y := dys[i], ys[i]
			n := len(x)
			got, want, masked := make([]float32, n), make([]float32, n), make([]float32, n)
			normAffineReLU(x, got, 0.25, 1e-9, 1.7, -0.3)
			normAffine(x, want, 0.25, 1e-9, 1.7, -0.3)
			relu(want, want)
			sameBits(t, "normAffineReLU", n, got, want)
			reluGrad(y, dy, masked)
			bnDxMasked(x, y, dy, got, 0.25, 1e-9, 0.9, 0.01, -0.2)
			bnDx(x, masked, want, 0.25, 1e-9, 0.9, 0.01, -0.2)
			sameBits(t, "bnDxMasked", n, got, want)
		}
		// The sums on finite x and dy, with the special values in y (the mask).
		xs, dys = simdInputs(10, false), simdInputs(11, false)
		for i, x := range xs {
			dy, y := dys[i], ys[i]
			masked := make([]float32, len(x))
			reluGrad(y, dy, masked)
			s1, s2 := gradSumsMasked(dy, y, x, 0.25, 1e-9)
			w1, w2 := gradSums(masked, x, 0.25, 1e-9)
			if math.Float64bits(s1) != math.Float64bits(w1) || math.Float64bits(s2) != math.Float64bits(w2) {
				t.Fatalf("simd %v, n = %d: gradSumsMasked %v, %v; want %v, %v", simd, len(x), s1, s2, w1, w2)
			}
		}
	}
}

func sumAbs(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return s
}

// TestPReLUKernelsMatchGo: the PReLU vector kernels give the same bits as
// the Go loops of preluOp and preluGradXOp (specials included), and the
// slope-gradient sum agrees with a float64 sum.
func TestPReLUKernelsMatchGo(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 and FMA on this machine: only the Go loops run")
	}
	sel := func(v, a float32) float32 {
		if v > 0 {
			return 1
		}
		return a
	}
	xs, dys := simdInputs(3, true), simdInputs(4, true)
	for i, x := range xs {
		n := len(x) &^ 7
		if n == 0 {
			continue
		}
		x, dy := x[:n], dys[i][:n]
		for _, a := range []float32{0.25, -0.5, 0} {
			got, want := make([]float32, n), make([]float32, n)
			preluAVX2(&x[0], &got[0], n, a)
			for j, v := range x {
				want[j] = v * sel(v, a)
			}
			sameBits(t, "prelu", n, got, want)
			preluGradXAVX2(&x[0], &dy[0], &got[0], n, a)
			for j, v := range x {
				want[j] = dy[j] * sel(v, a)
			}
			sameBits(t, "preluGradX", n, got, want)
		}
	}
	for i, x := range simdInputs(5, false) {
		n := len(x) &^ 7
		if n == 0 {
			continue
		}
		dy := simdInputs(6, false)[i][:n]
		var want float64
		for j, v := range x[:n] {
			if !(v > 0) {
				want += float64(v) * float64(dy[j])
			}
		}
		if got := preluGradASumAVX2(&x[0], &dy[0], n); math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("preluGradASum, n = %d: got %v, want %v", n, got, want)
		}
	}
}
