package data

import (
	"fmt"
	"math/rand/v2"
)

// Perm returns a random permutation of 0..n-1 drawn from rng with the
// Fisher-Yates shuffle (Knuth, TAOCP vol. 2, §3.4.2, Algorithm P), using one
// rng.IntN call per position from the end. The order depends only on the
// state of rng, so the same seed gives the same permutation on every machine
// and Go version that keeps math/rand/v2's PCG and IntN stable.
//
// Perm(rng, 0) returns an empty slice and draws nothing. Perm panics if n < 0.
func Perm(rng *rand.Rand, n int) []int {
	if n < 0 {
		panic(fmt.Sprintf("data: Perm of negative length %d", n))
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i + 1) // 0 <= j <= i
		p[i], p[j] = p[j], p[i]
	}
	return p
}
