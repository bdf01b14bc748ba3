package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// roundBF16Ref rounds f to bfloat16 by choosing, in float64, the nearer of
// the two bfloat16 values around |f| (ties: the one with an even last
// mantissa bit) — independent of RoundBF16's integer trick.
func roundBF16Ref(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	mag := b & 0x7fffffff
	if mag > 0x7f800000 {
		return 0xffff // any NaN: the caller checks NaN-ness only
	}
	if mag == 0x7f800000 {
		return sign | 0x7f80
	}
	down := mag &^ 0xffff // truncation: the bfloat16 at or below |f|
	x := float64(math.Float32frombits(mag))
	lo := float64(math.Float32frombits(down))
	var hi float64 // the next bfloat16 above down (2^128 past the largest finite)
	if down == 0x7f7f0000 {
		hi = math.Ldexp(1, 128)
	} else {
		hi = float64(math.Float32frombits(down + 0x10000))
	}
	r := down
	switch dl, dh := x-lo, hi-x; {
	case dh < dl, dh == dl && (down>>16)&1 == 1:
		r = down + 0x10000
	}
	return sign | uint16(r>>16)
}

func TestRoundBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tails := []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff}
	for hi := uint32(0); hi < 1<<16; hi++ {
		for i := 0; i < len(tails)+2; i++ {
			var tail uint32
			if i < len(tails) {
				tail = tails[i]
			} else {
				tail = rng.Uint32() & 0xffff
			}
			f := math.Float32frombits(hi<<16 | tail)
			got := RoundBF16(f)
			if f != f {
				if g := BF16ToFloat32(got); g == g || got&0x40 == 0 {
					t.Fatalf("RoundBF16(NaN %#08x) = %#04x, want a quiet NaN", hi<<16|tail, got)
				}
				continue
			}
			if want := roundBF16Ref(f); got != want {
				t.Fatalf("RoundBF16(%g = %#08x) = %#04x, want %#04x", f, hi<<16|tail, got, want)
			}
		}
	}
	// Hand-worked: 1 + 2^-8 is half way between 1 and 1 + 2^-7 (tie, even:
	// 1); 1 + 3·2^-8 is half way between 1 + 2^-7 and 1 + 2^-6 (tie, even:
	// 1 + 2^-6); the largest float32 is past the largest bfloat16 by more
	// than half a unit (infinity).
	for _, c := range []struct {
		f    float32
		want uint16
	}{{1 + 1.0/256, 0x3f80}, {1 + 3.0/256, 0x3f82}, {-(1 + 3.0/256), 0xbf82}, {math.MaxFloat32, 0x7f80}, {0.1, 0x3dcd}} {
		if got := RoundBF16(c.f); got != c.want {
			t.Errorf("RoundBF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

// bf16Operand is how SgemmBF16 sees an operand: rounded to bfloat16, and a
// subnormal bfloat16 read as zero (VDPBF16PS's DAZ).
func bf16Operand(v float32) float64 {
	h := RoundBF16(v)
	if h&0x7f80 == 0 {
		return 0
	}
	return float64(BF16ToFloat32(h))
}

func skipWithoutBF16(t testing.TB) {
	if !HasBF16() {
		t.Skip("this CPU has no AVX512_BF16: SgemmBF16 is refused here")
	}
}

func TestSgemmBF16Shapes(t *testing.T) {
	skipWithoutBF16(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, d := range dims {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.5}, {0, 0.5}} {
				if d[0]*d[1]*d[2] > 1<<20 && ab[0] != 1 {
					continue
				}
				pad := (d[0] + d[1] + d[2]) % 2 * 3
				checkGemm(t, r, shape{tr[0], tr[1], d[0], d[1], d[2], ab[0], ab[1], pad}, "bf16", SgemmBF16, bf16Operand)
			}
		}
	}
}

func TestSgemmBF16Random(t *testing.T) {
	skipWithoutBF16(t)
	r := rand.New(rand.NewPCG(8, 9))
	alphas := []float32{0, 1, 0.5, -2}
	for it := 0; it < 150; it++ {
		s := shape{
			transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
			m: 1 + r.IntN(70), n: 1 + r.IntN(130), k: 1 + r.IntN(1100),
			alpha: alphas[r.IntN(4)], beta: alphas[r.IntN(4)], pad: r.IntN(5),
		}
		checkGemm(t, r, s, "bf16", SgemmBF16, bf16Operand)
	}
}

func TestSgemmBF16Threads(t *testing.T) {
	skipWithoutBF16(t)
	defer SetThreads(1)
	defer func(v int) { parallelMinFlop = v }(parallelMinFlop)
	parallelMinFlop = 0
	r := rand.New(rand.NewPCG(10, 11))
	for _, th := range []int{2, 3} {
		SetThreads(th)
		for _, d := range [][3]int{{300, 200, 100}, {40, 1100, 101}, {1100, 40, 100}, {161, 162, 163}} {
			checkGemm(t, r, shape{false, false, d[0], d[1], d[2], 0.5, 0.5, 1}, "bf16", SgemmBF16, bf16Operand)
			checkGemm(t, r, shape{true, true, d[0], d[1], d[2], 1, 0, 0}, "bf16", SgemmBF16, bf16Operand)
		}
	}
}

// TestSgemmBF16Rounds checks that the operands really are rounded: against
// the float32 operands' exact product SgemmBF16 is off by far more than
// float32 accumulation could explain, and the rounded operands' product
// (TestSgemmBF16Shapes) is what it computes.
func TestSgemmBF16Rounds(t *testing.T) {
	skipWithoutBF16(t)
	r := rand.New(rand.NewPCG(12, 13))
	const m, n, k = 16, 48, 64
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	c := make([]float32, m*n)
	SgemmBF16(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	worst := 0.0
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, mag float64
			for p := 0; p < k; p++ {
				sum += float64(a[i*k+p]) * float64(b[p*n+j])
				mag += math.Abs(float64(a[i*k+p]) * float64(b[p*n+j]))
			}
			worst = max(worst, math.Abs(float64(c[i*n+j])-sum)/mag)
		}
	}
	// bfloat16 keeps 8 significant bits: operand errors up to 2^-9 each.
	if worst < 1e-4 {
		t.Fatalf("SgemmBF16 is within %.2g of the unrounded product: are the operands rounded?", worst)
	}
}

func TestSgemmBF16Refused(t *testing.T) {
	if HasBF16() {
		t.Skip("this CPU has AVX512_BF16")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SgemmBF16 without AVX512_BF16 did not panic")
		}
	}()
	SgemmBF16(false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{0}, 1)
}

func BenchmarkSgemmBF16(b *testing.B) {
	skipWithoutBF16(b)
	for _, d := range [][3]int{{1024, 1024, 1024}, {64, 6272, 800}} {
		m, n, k := d[0], d[1], d[2]
		r := rand.New(rand.NewPCG(1, 1))
		x, y, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
		for _, v := range []struct {
			name string
			mul  sgemmFunc
		}{{"fp32", Sgemm}, {"bf16", SgemmBF16}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", v.name, m, n, k), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					v.mul(false, false, m, n, k, 1, x, k, y, n, 0, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
