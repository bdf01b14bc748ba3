package nnops

import (
	"errors"
	"sync/atomic"

	"github.com/lgm-dev/lgm/internal/gemm"
)

// bf16 makes the products of the convolutions and of MatMul (forward, dx
// and dw) take bfloat16 operands with float32 accumulation
// (gemm.SgemmBF16); see SetBF16.
var bf16 atomic.Bool

// ErrNoBF16 is SetBF16's answer on a CPU without AVX512_BF16.
var ErrNoBF16 = errors.New("bfloat16 products need a CPU with AVX512_BF16 (VDPBF16PS: Intel Cooper Lake, Sapphire Rapids and later, AMD Zen 4 and later); this one lacks it: use fp32")

// SetBF16 switches the matrix products of the convolutions and of MatMul
// (the FC layers, when the model builds them with it) to bfloat16 operands
// (rounded to nearest even) with float32 accumulation, or back to float32.
// Inputs, outputs, weights and everything outside the products stay
// float32. In bf16 the convolutions run as im2col products (the Winograd,
// padded and row paths are fp32 only: they read the image in place or
// transform it, where bf16 rounding would compound), so set the precision
// before building the graph, as the ops choose their path when made and at
// their first run. It is process-wide: one precision at a time.
func SetBF16(on bool) error {
	if on && !gemm.HasBF16() {
		return ErrNoBF16
	}
	bf16.Store(on)
	return nil
}

// BF16 reports whether the products are bfloat16.
func BF16() bool { return bf16.Load() }

// sgemm is gemm.Sgemm, or gemm.SgemmBF16 when BF16.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if bf16.Load() {
		gemm.SgemmBF16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
