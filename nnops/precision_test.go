package nnops

import (
	"errors"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/internal/gemm"
)

// roundedBF16 is s with every value rounded to bfloat16 (gemm.RoundBF16,
// itself checked against a scalar reference), as float64.
func roundedBF16(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(gemm.BF16ToFloat32(gemm.RoundBF16(v)))
	}
	return out
}

// TestConv2dBF16: with SetBF16 the forward is convRef of the bfloat16-rounded
// x and w plus the float32 bias, dx the gradient with w and dy rounded, dw
// with x and dy rounded, db unrounded — each within float32 accumulation
// error (a product of two bfloat16 numbers is exact in float32) — and the
// forward visibly differs from the float32 convolution. The cases include
// geometries that run as Winograd, padded and row convolutions in fp32.
func TestConv2dBF16(t *testing.T) {
	if !gemm.HasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	if err := SetBF16(true); err != nil {
		t.Fatal(err)
	}
	defer SetBF16(false)
	cases := append(convCases(),
		convCase{b: 2, cin: 16, h: 7, w: 7, cout: 8, k: 5, s: 1, p: 2},  // LeNet++'s 7×7 (Winograd in fp32)
		convCase{b: 3, cin: 4, h: 14, w: 14, cout: 6, k: 5, s: 1, p: 2}, // padded or rows in fp32
		convCase{b: 2, cin: 3, h: 16, w: 16, cout: 5, k: 3, s: 1, p: 1, noBias: true},
	)
	for _, c := range cases {
		rng := newRand(uint64(7000 + c.h*1000 + c.k*100 + c.p*10 + c.s + c.cin))
		oh, ow := (c.h+2*c.p-c.k)/c.s+1, (c.w+2*c.p-c.k)/c.s+1
		x := uniform(rng, c.b*c.cin*c.h*c.w)
		w := uniform(rng, c.cout*c.cin*c.k*c.k)
		b := uniform(rng, c.cout)
		ops := []operand{{"x", tensor.Shape{c.b, c.cin, c.h, c.w}, x}, {"w", tensor.Shape{c.cout, c.cin, c.k, c.k}, w}, {"b", tensor.Shape{c.cout}, b}}
		bias := to64(b)
		if c.noBias {
			ops, bias = ops[:2], make([]float64, c.cout)
		}
		r := uniform(rng, c.b*c.cout*oh*ow)
		rg := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) {
			if c.noBias {
				return Conv2d(in[0], in[1], nil, c.s, c.p)
			}
			return Conv2d(in[0], in[1], in[2], c.s, c.p)
		})
		y, _, grads := rg.run(t)
		conv := func(x, w, b []float64) []float64 {
			return convRef(x, w, b, c.b, c.cin, c.h, c.w, c.cout, c.k, c.s, c.p)
		}
		xr, wr, rr := roundedBF16(x), roundedBF16(w), roundedBF16(r)
		if ok, msg := close32(y, conv(xr, wr, bias), 1e-5, 1e-5); !ok {
			t.Errorf("case %v: forward against the rounded operands: %s", c, msg)
		}
		fp32 := conv(to64(x), to64(w), bias)
		worst := 0.0
		for i := range y {
			worst = max(worst, math.Abs(float64(y[i])-fp32[i]))
		}
		if worst < 1e-4 {
			t.Errorf("case %v: forward within %g of float32's: the products were not rounded", c, worst)
		}
		// The gradients of Σ y ⊙ R by convRef's loop run backwards.
		dx, dw := convAdjoint(xr, wr, rr, c.b, c.cin, c.h, c.w, c.cout, c.k, c.s, c.p)
		if ok, msg := close32(grads[0], dx, 1e-5, 1e-5); !ok {
			t.Errorf("case %v: dx: %s", c, msg)
		}
		if ok, msg := close32(grads[1], dw, 1e-5, 1e-5); !ok {
			t.Errorf("case %v: dw: %s", c, msg)
		}
		if !c.noBias {
			db := make([]float64, c.cout)
			for i, v := range r {
				db[i/(oh*ow)%c.cout] += float64(v)
			}
			if ok, msg := close32(grads[2], db, 1e-5, 1e-5); !ok {
				t.Errorf("case %v: db: %s", c, msg)
			}
		}
	}
}

func TestSetBF16(t *testing.T) {
	err := SetBF16(true)
	defer SetBF16(false)
	if gemm.HasBF16() != (err == nil) || err != nil && !errors.Is(err, ErrNoBF16) {
		t.Errorf("SetBF16(true) on a CPU with AVX512_BF16 = %v: %v", gemm.HasBF16(), err)
	}
	if BF16() != gemm.HasBF16() {
		t.Errorf("BF16() = %v after SetBF16(true)", BF16())
	}
	if SetBF16(false); BF16() {
		t.Error("BF16() after SetBF16(false)")
	}
}

// convAdjoint is convRef's loop run backwards: the gradients of Σ y ⊙ r
// with respect to x and w, in float64.
func convAdjoint(x, w, r []float64, bsz, cin, h, wd, cout, k, s, p int) (dx, dw []float64) {
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	convTaps(bsz, cin, h, wd, cout, k, s, p, func(xi, wi, yi int) {
		dx[xi] += w[wi] * r[yi]
		dw[wi] += x[xi] * r[yi]
	})
	return dx, dw
}

// TestConvAdjoint checks convAdjoint against central differences of convRef.
func TestConvAdjoint(t *testing.T) {
	rng := newRand(77)
	const b, cin, h, wd, cout, k, s, p = 2, 2, 5, 6, 3, 3, 2, 1
	oh, ow := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	x, w, r := to64(uniform(rng, b*cin*h*wd)), to64(uniform(rng, cout*cin*k*k)), to64(uniform(rng, b*cout*oh*ow))
	bias := make([]float64, cout)
	dx, dw := convAdjoint(x, w, r, b, cin, h, wd, cout, k, s, p)
	f := func(ps [][]float64) float64 { return dot(convRef(ps[0], ps[1], bias, b, cin, h, wd, cout, k, s, p), r) }
	for i, want := range [][]float64{dx, dw} {
		num := numGrad(f, [][]float64{x, w}, i, 1e-3)
		for j := range num {
			if math.Abs(num[j]-want[j]) > 1e-8 {
				t.Fatalf("operand %d [%d]: adjoint %v, central difference %v", i, j, want[j], num[j])
			}
		}
	}
}
