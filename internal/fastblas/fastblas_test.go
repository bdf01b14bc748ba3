package fastblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestSgemmMatchesGonum compares with gonum's Sgemm on shapes that are not
// multiples of any tile, in every transpose combination.
func TestSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for _, sh := range [][3]int{{1, 1, 1}, {7, 13, 17}, {64, 10, 1152}, {33, 65, 129}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]blas.Transpose{{blas.NoTrans, blas.NoTrans}, {blas.Trans, blas.NoTrans}, {blas.NoTrans, blas.Trans}, {blas.Trans, blas.Trans}} {
			lda, ldb := k, n
			if tr[0] == blas.Trans {
				lda = m
			}
			if tr[1] == blas.Trans {
				ldb = k
			}
			a, b, c0 := fill(m*k), fill(k*n), fill(m*n)
			want := append([]float32(nil), c0...)
			got := append([]float32(nil), c0...)
			gonum.Implementation{}.Sgemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
			Implementation{}.Sgemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 2, got, n)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*math.Sqrt(float64(k)) {
					t.Fatalf("case %v %v: c[%d] got %v, want %v", sh, tr, i, got[i], want[i])
				}
			}
		}
	}
}
