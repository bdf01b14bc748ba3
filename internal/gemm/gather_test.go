package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// checkGather runs SgemmGather on random data and compares it with a
// float64 reference; the columns of C beyond n and the rows of the padding
// must be left alone.
func checkGather(t *testing.T, r *rand.Rand, m, n, k int, alpha, beta float32, off []int, blen int) {
	t.Helper()
	const pad = 3
	lda, ldc := k+pad, n+pad
	a := randSlice(r, m*lda)
	b := randSlice(r, blen)
	c := randSlice(r, m*ldc)
	want := make([]float64, len(c))
	for i := range c {
		want[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(b[off[p]+j])
			}
			old := float64(c[i*ldc+j])
			if beta == 0 {
				old = 0
			}
			want[i*ldc+j] = float64(alpha)*s + float64(beta)*old
		}
	}
	SgemmGather(m, n, k, alpha, a, lda, b, off, beta, c, ldc)
	tol := 1e-5 * math.Sqrt(float64(k)+1) * 4
	for i := range c {
		if d := math.Abs(float64(c[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
			t.Fatalf("m=%d n=%d k=%d alpha=%g beta=%g: c[%d] (row %d col %d) = %g, want %g", m, n, k, alpha, beta, i, i/ldc, i%ldc, c[i], want[i])
		}
	}
}

func TestSgemmGather(t *testing.T) {
	if !HasGather() {
		t.Skip("no gather kernel on this machine")
	}
	r := rand.New(rand.NewPCG(7, 8))
	// Random offsets: rows anywhere in b, overlapping, in any order.
	for _, s := range [][3]int{
		{1, 1, 1}, {8, 48, 4}, {7, 47, 5}, {9, 49, 3}, {3, 17, 2}, {16, 96, 256},
		{13, 100, 257}, {33, 200, 600}, {8, 16, 1}, {5, 33, 7}, {64, 31, 513}, {2, 130, 9},
	} {
		m, n, k := s[0], s[1], s[2]
		blen := 3*n + 50 + GatherSlack
		off := make([]int, k)
		for p := range off {
			off[p] = r.IntN(blen - n - GatherSlack + 1)
		}
		for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}} {
			checkGather(t, r, m, n, k, ab[0], ab[1], off, blen)
		}
	}
	// A convolution's taps: 5×5 over 3 channels of a padded 9×11 image.
	c, hp, wp, kk := 3, 9, 11, 5
	var off []int
	for ch := 0; ch < c; ch++ {
		for i := 0; i < kk; i++ {
			for j := 0; j < kk; j++ {
				off = append(off, ch*hp*wp+i*wp+j)
			}
		}
	}
	n := (hp-kk)*wp + wp - kk + 1
	checkGather(t, r, 10, n, len(off), 1, 0, off, c*hp*wp+GatherSlack)
}

func TestSgemmGatherBounds(t *testing.T) {
	if !HasGather() {
		t.Skip("no gather kernel on this machine")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a row that runs past b")
		}
	}()
	a, b, c := make([]float32, 4), make([]float32, 20), make([]float32, 8)
	SgemmGather(1, 8, 4, 1, a, 4, b, []int{0, 1, 2, 3}, 0, c, 8) // 3+8+16 > 20
}

// TestSgemmPack checks SgemmPack, with a pack callback that deals a plain
// B out into the documented sliver layout, against a float64 reference.
func TestSgemmPack(t *testing.T) {
	for _, kname := range kernelsToTest(t) {
		withKernel(t, kname, func() { testSgemmPack(t) })
	}
}

func testSgemmPack(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	nr, vec := PackWidths()
	for _, s := range [][3]int{{1, 1, 1}, {8, 48, 4}, {7, 47, 5}, {9, 49, 3}, {13, 100, 257}, {33, 530, 600}, {5, 17, 9}, {130, 20, 31}} {
		for _, transA := range []bool{false, true} {
			m, n, k := s[0], s[1], s[2]
			a := randSlice(r, m*k)
			b := randSlice(r, k*n)
			c := randSlice(r, m*n)
			lda := k
			if transA {
				lda = m
			}
			at := func(i, p int) float64 {
				if transA {
					return float64(a[p*m+i])
				}
				return float64(a[i*k+p])
			}
			want := make([]float64, m*n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var v float64
					for p := 0; p < k; p++ {
						v += at(i, p) * float64(b[p*n+j])
					}
					want[i*n+j] = 0.5*v - float64(c[i*n+j])
				}
			}
			pack := func(dst []float32, p0, kb, j0, nb int) {
				for s := 0; s < nb; s += nr {
					cols, w := min(nr, nb-s), nr
					if cols < nr {
						w = (cols + vec - 1) / vec * vec
					}
					for p := 0; p < kb; p++ {
						for j := 0; j < w; j++ {
							var v float32
							if j < cols {
								v = b[(p0+p)*n+j0+s+j]
							}
							dst[s*kb+p*w+j] = v
						}
					}
				}
			}
			SgemmPack(transA, m, n, k, 0.5, a, lda, pack, -1, c, n)
			for i := range c {
				if d := math.Abs(float64(c[i]) - want[i]); d > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("m=%d n=%d k=%d transA=%v: c[%d] = %g, want %g", m, n, k, transA, i, c[i], want[i])
				}
			}
		}
	}
}

func TestTranspose8Gather(t *testing.T) {
	for _, kname := range kernelsToTest(t) {
		withKernel(t, kname, func() { testTranspose8Gather(t) })
	}
}

func testTranspose8Gather(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	src := randSlice(r, 400)
	for _, bpr := range []int{1, 2, 4} {
		for _, rows := range []int{1, 3} {
			for _, w := range []int{8, 16, 48} {
				stride := 8*bpr + 5
				last := (rows-1)*stride + 8*bpr
				off := [8]int{0, 1, 2, 3, 4, 100, 57, 400 - last}
				d := make([]float32, rows*8*bpr*w)
				Transpose8Gather(d, w, src, &off, bpr, rows, stride)
				for rr := 0; rr < rows; rr++ {
					for p := 0; p < 8*bpr; p++ {
						for i := 0; i < w; i++ {
							var want float32
							if i < 8 {
								want = src[off[i]+rr*stride+p]
							}
							if got := d[(rr*8*bpr+p)*w+i]; got != want {
								t.Fatalf("bpr=%d rows=%d w=%d: d[(%d,%d)*w+%d] = %g, want %g", bpr, rows, w, rr, p, i, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestGatherPackNoAllocs(t *testing.T) {
	src := make([]float32, 200)
	d := make([]float32, 8*4*16)
	off := [8]int{0, 1, 2, 3, 4, 5, 6, 7}
	if n := testing.AllocsPerRun(10, func() { Transpose8Gather(d, 16, src, &off, 2, 2, 40) }); n != 0 {
		t.Errorf("Transpose8Gather: %v allocs per call", n)
	}
	a, c := make([]float32, 8*16), make([]float32, 8*16)
	pack := func(dst []float32, p0, kb, j0, nb int) { clear(dst) }
	if n := testing.AllocsPerRun(10, func() { SgemmPack(false, 8, 16, 16, 1, a, 16, pack, 0, c, 16) }); n != 0 {
		t.Errorf("SgemmPack: %v allocs per call", n)
	}
	offs := make([]int, 16)
	if HasGather() {
		if n := testing.AllocsPerRun(10, func() { SgemmGather(8, 16, 16, 1, a, 16, src, offs, 0, c, 16) }); n != 0 {
			t.Errorf("SgemmGather: %v allocs per call", n)
		}
	}
}

func TestCopy8Gather(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	src := randSlice(r, 100)
	for _, n := range []int{1, 3, 4, 9} {
		off := make([]int, n)
		mx := 0
		for p := range off {
			off[p] = 4 * r.IntN(93)
			mx = max(mx, off[p])
		}
		d := make([]float32, n*24)
		Copy8Gather(d, 24, src, off, mx)
		for p := 0; p < n; p++ {
			for i := 0; i < 24; i++ {
				var want float32
				if i < 8 {
					want = src[off[p]/4+i]
				}
				if d[p*24+i] != want {
					t.Fatalf("n=%d: d[%d*24+%d] = %g, want %g", n, p, i, d[p*24+i], want)
				}
			}
		}
	}
}
