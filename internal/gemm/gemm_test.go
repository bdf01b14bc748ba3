package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// kernelsToTest lists every kernel this machine can run.
func kernelsToTest(t testing.TB) []string {
	var names []string
	for _, k := range available {
		names = append(names, k.name)
	}
	return names
}

// withKernel runs f with the named kernel active and restores the previous one.
func withKernel(t testing.TB, name string, f func()) {
	prev := active.Load()
	if !setKernel(name) {
		t.Fatalf("kernel %q not available", name)
	}
	defer active.Store(prev)
	f()
}

type shape struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra elements on every leading dimension
}

func (s shape) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g pad=%d",
		s.transA, s.transB, s.m, s.n, s.k, s.alpha, s.beta, s.pad)
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// check runs Sgemm on random data for shape s and compares with a float64
// triple-loop reference.
func check(t *testing.T, r *rand.Rand, s shape) {
	t.Helper()
	checkGemm(t, r, s, Kernel(), Sgemm, func(v float32) float64 { return float64(v) })
}

// sgemmFunc is Sgemm's signature (Sgemm, SgemmBF16).
type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// checkGemm runs mul (named name in messages) on random data for shape s
// and compares with a float64 triple-loop reference over the operands as
// mul should see them, operand(v) for every element v of A and B.
func checkGemm(t *testing.T, r *rand.Rand, s shape, name string, mul sgemmFunc, operand func(float32) float64) {
	t.Helper()
	ar, ac := s.m, s.k
	if s.transA {
		ar, ac = ac, ar
	}
	br, bc := s.k, s.n
	if s.transB {
		br, bc = bc, br
	}
	lda, ldb, ldc := ac+s.pad, bc+s.pad, s.n+s.pad
	a := randSlice(r, max(0, (ar-1)*lda+ac))
	b := randSlice(r, max(0, (br-1)*ldb+bc))
	c := randSlice(r, max(0, (s.m-1)*ldc+s.n)+s.pad)
	if s.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	c0 := append([]float32(nil), c...)
	mul(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)

	tol := 1e-5 * float64(max(s.k, 1))
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			var sum, mag float64
			for p := 0; p < s.k; p++ {
				var av, bv float64
				if s.transA {
					av = operand(a[p*lda+i])
				} else {
					av = operand(a[i*lda+p])
				}
				if s.transB {
					bv = operand(b[j*ldb+p])
				} else {
					bv = operand(b[p*ldb+j])
				}
				sum += av * bv
				mag += math.Abs(av * bv)
			}
			want := float64(s.alpha) * sum
			wmag := math.Abs(float64(s.alpha)) * mag
			if s.beta != 0 {
				want += float64(s.beta) * float64(c0[i*ldc+j])
				wmag += math.Abs(float64(s.beta) * float64(c0[i*ldc+j]))
			}
			got := float64(c[i*ldc+j])
			if !(math.Abs(got-want) <= tol*(wmag+1e-3)) {
				t.Fatalf("%v [%s]: C[%d,%d] = %v, want %v", s, name, i, j, got, want)
			}
		}
	}
	// Padding between and after rows must be untouched.
	for i := 0; i < len(c); i++ {
		if i/ldc < s.m && i%ldc < s.n {
			continue
		}
		if math.Float32bits(c[i]) != math.Float32bits(c0[i]) {
			t.Fatalf("%v [%s]: padding C[%d] changed", s, name, i)
		}
	}
}

var dims = [][3]int{
	{1, 1, 1}, {7, 13, 17}, {31, 37, 41}, {1, 50, 33}, {50, 1, 33}, {20, 30, 1},
	{8, 48, 256}, {9, 49, 257}, {6, 16, 8}, {5, 15, 3}, {13, 97, 300},
	{97, 13, 513}, {17, 481, 20}, {520, 50, 10}, {300, 200, 500}, {64, 196, 800},
	{10, 64, 20}, {17, 80, 33}, {33, 96, 5}, {9, 1024, 20}, {260, 70, 9},
}

func TestSgemmShapes(t *testing.T) {
	for _, name := range kernelsToTest(t) {
		t.Run(name, func(t *testing.T) {
			withKernel(t, name, func() {
				r := rand.New(rand.NewPCG(1, 2))
				for _, d := range dims {
					for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
						for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.5}, {1, -2}, {0, 0.5}, {0, 0}} {
							pad := 0
							if (d[0]+d[1]+d[2])%2 == 1 {
								pad = 3
							}
							big := d[0]*d[1]*d[2] > 1<<20
							if big && (ab[0] != 1 && ab[0] != -2) {
								continue // keep the big shape to a few cases
							}
							check(t, r, shape{tr[0], tr[1], d[0], d[1], d[2], ab[0], ab[1], pad})
						}
					}
				}
			})
		})
	}
}

func TestSgemmRandom(t *testing.T) {
	alphas := []float32{0, 1, 0.5, -2}
	for _, name := range kernelsToTest(t) {
		t.Run(name, func(t *testing.T) {
			withKernel(t, name, func() {
				r := rand.New(rand.NewPCG(42, uint64(len(name))))
				for it := 0; it < 150; it++ {
					s := shape{
						transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
						m: 1 + r.IntN(70), n: 1 + r.IntN(130), k: 1 + r.IntN(300),
						alpha: alphas[r.IntN(4)], beta: alphas[r.IntN(4)],
						pad: r.IntN(5),
					}
					check(t, r, s)
				}
			})
		})
	}
}

func TestSgemmThreads(t *testing.T) {
	defer SetThreads(1)
	// Split every call, however small, to exercise the ranges.
	defer func(v int) { parallelMinFlop = v }(parallelMinFlop)
	parallelMinFlop = 0
	for _, name := range kernelsToTest(t) {
		t.Run(name, func(t *testing.T) {
			withKernel(t, name, func() {
				r := rand.New(rand.NewPCG(7, 7))
				for _, th := range []int{2, 3} {
					SetThreads(th)
					for _, d := range [][3]int{{300, 200, 100}, {40, 1100, 100}, {1100, 40, 100}, {3, 1400, 1000}, {161, 162, 163}, {20, 70, 9}, {70, 20, 9}} {
						for _, tr := range [][2]bool{{false, false}, {true, true}} {
							check(t, r, shape{tr[0], tr[1], d[0], d[1], d[2], 0.5, 0.5, 1})
							check(t, r, shape{tr[0], tr[1], d[0], d[1], d[2], 1, 0, 0})
						}
					}
				}
			})
		})
	}
}

func TestZeroSizes(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
	if c[0] != 0.5 || c[3] != 2 {
		t.Fatalf("k=0: C=%v", c)
	}
	nan := float32(math.NaN())
	c = []float32{nan, nan, nan, nan}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	for _, v := range c {
		if v != 0 {
			t.Fatalf("k=0, beta=0: C=%v", c)
		}
	}
	Sgemm(false, false, 0, 5, 5, 1, nil, 5, nil, 5, 0, nil, 5)
}

func TestBadArgsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short A did not panic")
		}
	}()
	Sgemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
}

func TestNoAllocs(t *testing.T) {
	m, n, k := 64, 196, 800
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for _, name := range kernelsToTest(t) {
		withKernel(t, name, func() {
			Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			allocs := testing.AllocsPerRun(20, func() {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				Sgemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n)
			})
			if allocs != 0 {
				t.Errorf("%s: %v allocations per call", name, allocs)
			}
		})
	}
}

func TestKernelName(t *testing.T) {
	if len(available) == 0 || available[len(available)-1].name != "generic" {
		t.Fatal("generic kernel missing")
	}
	t.Logf("kernel %s, available %d", Kernel(), len(available))
}

// TestConcurrentCalls runs independent Sgemm calls from several goroutines
// (the way callers parallelise over a batch), with 1 and 2 threads per call.
func TestConcurrentCalls(t *testing.T) {
	defer SetThreads(1)
	for _, th := range []int{1, 2} {
		SetThreads(th)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 99))
				m, n, k := 40+g, 150+3*g, 90+g
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				c := make([]float32, m*n)
				for it := 0; it < 5; it++ {
					Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
					for i := 0; i < m; i += 7 {
						for j := 0; j < n; j += 5 {
							var want float64
							for p := 0; p < k; p++ {
								want += float64(a[i*k+p]) * float64(b[p*n+j])
							}
							if math.Abs(float64(c[i*n+j])-want) > 1e-4*float64(k) {
								errs <- fmt.Errorf("goroutine %d: C[%d,%d]=%v want %v", g, i, j, c[i*n+j], want)
								return
							}
						}
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func TestInPlaceStride(t *testing.T) {
	for _, n := range []int{1, 7, 49, 64, 196, 245, 256, 784, 1024, 4096, 5000} {
		ld := InPlaceStride(n)
		if ld < n || ld > n+32 {
			t.Errorf("InPlaceStride(%d) = %d, want in [%d, %d]", n, ld, n, n+32)
		}
		if strideOK(n) && ld != n {
			t.Errorf("InPlaceStride(%d) = %d, but %d itself is read in place", n, ld, n)
		}
		if ld != n && (!strideOK(ld) || ld%16 != 0) {
			t.Errorf("InPlaceStride(%d) = %d: padded, but not an aligned in-place stride", n, ld)
		}
	}
	// The strides of the VGG network's unfolded images (32×32, 16×16 and
	// four 8×8 side by side) all alias in the L1 sets unpadded.
	for _, n := range []int{1024, 256} {
		if ld := InPlaceStride(n); !strideOK(ld) {
			t.Errorf("InPlaceStride(%d) = %d, which Sgemm would still pack", n, ld)
		}
	}
	if ld := InPlaceStride(5000); ld != 5000 {
		t.Errorf("InPlaceStride(5000) = %d: rows over 16 KiB apart are never read in place, want 5000", ld)
	}
}

// TestTranspose6: the 6-row sliver packing of the kernels that have one
// (avx2) against the definition, writing nothing past its 6·8·blocks
// elements; and packA through it against interleave4 and the scalar loop,
// bit for bit.
func TestTranspose6(t *testing.T) {
	var kr *kernel
	for _, k := range available {
		if k.transpose6 != nil {
			kr = k
		}
	}
	if kr == nil {
		t.Skip("no kernel with a 6-row transpose on this CPU")
	}
	r := rand.New(rand.NewPCG(6, 6))
	for _, blocks := range []int{0, 1, 2, 5} {
		for _, pad := range []int{0, 3, 17} {
			ld := 8*blocks + pad
			src := randSlice(r, 6*ld+8)
			const canary = 12345.5
			d := make([]float32, 48*blocks+16)
			for i := range d {
				d[i] = canary
			}
			if blocks > 0 {
				kr.transpose6(&d[0], &src[0], ld, blocks)
			}
			for i, v := range d {
				want := float32(canary)
				if i < 48*blocks {
					p, row := i/6, i%6
					want = src[row*ld+p]
				}
				if math.Float32bits(v) != math.Float32bits(want) {
					t.Fatalf("blocks %d, ld %d: d[%d] = %v, want %v", blocks, ld, i, v, want)
				}
			}
		}
	}
	// interleave with and without it agree (kb not a multiple of 8 too).
	for _, kb := range []int{8, 13, 64, 70} {
		ld := kb + 5
		src := randSlice(r, 6*ld)
		got, want := make([]float32, 6*kb), make([]float32, 6*kb)
		interleave(kr, got, 6, src, ld, 0, 6, kb)
		plain := &kernel{name: kr.name, mr: kr.mr, transpose8: kr.transpose8} // without transpose6
		interleave(plain, want, 6, src, ld, 0, 6, kb)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("kb %d: packed[%d] = %v, want %v", kb, i, got[i], want[i])
			}
		}
	}
}
