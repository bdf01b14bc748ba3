package nnops

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/internal/fastblas"
	"github.com/lgm-dev/lgm/internal/gemm"
)

// TestMatMul: in fp32, y, dx and dw of MatMul are bit for bit those of
// Gorgonia's G.Mul on lgm's BLAS (fastblas, as lgm runs it); in bf16 they are the float64 products of the rounded
// operands (x and w; w and dy; x and dy) within float32 accumulation.
func TestMatMul(t *testing.T) {
	fastblas.Install()
	const b, in, out = 5, 37, 3
	rng := newRand(31)
	x, w, r := uniform(rng, b*in), uniform(rng, in*out), uniform(rng, b*out)
	ops := []operand{{"x", tensor.Shape{b, in}, x}, {"w", tensor.Shape{in, out}, w}}
	run := func(mul func(a, b *G.Node) (*G.Node, error)) ([]float32, [][]float32) {
		rg := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) { return mul(in[0], in[1]) })
		y, _, grads := rg.run(t)
		return y, grads
	}
	bits := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s[%d]: MatMul %v, G.Mul %v", what, i, got[i], want[i])
				return
			}
		}
	}
	y, g := run(MatMul)
	y0, g0 := run(G.Mul)
	bits("y", y, y0)
	bits("dx", g[0], g0[0])
	bits("dw", g[1], g0[1])

	if !gemm.HasBF16() {
		t.Skip("no AVX512_BF16: bf16 not checked")
	}
	if err := SetBF16(true); err != nil {
		t.Fatal(err)
	}
	defer SetBF16(false)
	y, g = run(MatMul)
	xr, wr, rr := roundedBF16(x), roundedBF16(w), roundedBF16(r)
	wantY, wantDX, wantDW := make([]float64, b*out), make([]float64, b*in), make([]float64, in*out)
	for i := 0; i < b; i++ {
		for j := 0; j < out; j++ {
			for k := 0; k < in; k++ {
				wantY[i*out+j] += xr[i*in+k] * wr[k*out+j]
				wantDX[i*in+k] += rr[i*out+j] * wr[k*out+j]
				wantDW[k*out+j] += xr[i*in+k] * rr[i*out+j]
			}
		}
	}
	for _, c := range []struct {
		what string
		got  []float32
		want []float64
	}{{"y", y, wantY}, {"dx", g[0], wantDX}, {"dw", g[1], wantDW}} {
		if ok, msg := close32(c.got, c.want, 1e-5, 1e-5); !ok {
			t.Errorf("bf16 %s: %s", c.what, msg)
		}
	}
	differs := false
	for i := range y {
		differs = differs || y[i] != y0[i]
	}
	if !differs {
		t.Error("bf16 y equals fp32's: the operands were not rounded")
	}
}

func TestMatMulErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 5), G.WithName("w"))
	if _, err := MatMul(x, w); err == nil {
		t.Error("x (2, 3) · w (4, 5): no error")
	}
}
