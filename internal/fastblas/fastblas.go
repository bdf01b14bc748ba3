// Package fastblas gives Gorgonia (and gorgonia.org/tensor) the project's own
// single-precision GEMM: an implementation of gonum's BLAS interface that is
// gonum's pure-Go one except for Sgemm, which goes to internal/gemm's
// assembly kernels. Gorgonia's matrix products (G.Mul, the fully connected
// layers and heads) then run at the speed of those kernels.
package fastblas

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/lgm-dev/lgm/internal/gemm"
)

// Implementation is gonum's BLAS with a fast Sgemm.
type Implementation struct{ gonum.Implementation }

var _ G.BLAS = Implementation{}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (row-major), as gonum's does.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	gemm.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var once sync.Once

// Install makes Gorgonia use Implementation; later calls do nothing.
func Install() { once.Do(func() { G.Use(Implementation{}) }) }
