package nnops

import (
	"fmt"
	"math"
	"testing"
)

// TestWinoIdentity checks the F(2×2, 5×5) matrices in float64: for random
// 6×6 tiles d and 5×5 kernels g, Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 2×2
// correlation of d with g (gen_wino.go checks the 1-D identity exactly in
// rationals; this checks the tables it wrote and the 2-D nesting).
func TestWinoIdentity(t *testing.T) {
	rng := newRand(1)
	for trial := 0; trial < 20; trial++ {
		var d [6][6]float64
		var g [5][5]float64
		for i := range d {
			for j := range d[i] {
				d[i][j] = rng.Float64()*2 - 1
			}
		}
		for i := range g {
			for j := range g[i] {
				g[i][j] = rng.Float64()*2 - 1
			}
		}
		u := winoKernelRef(g)
		v := winoInputRef(d)
		var m [6][6]float64
		for i := range m {
			for j := range m[i] {
				m[i][j] = u[i][j] * v[i][j]
			}
		}
		y := winoOutputRef(m)
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				var want float64
				for a := 0; a < 5; a++ {
					for b := 0; b < 5; b++ {
						want += d[i+a][j+b] * g[a][b]
					}
				}
				if math.Abs(y[i][j]-want) > 1e-12 {
					t.Fatalf("trial %d: y[%d][%d] = %v, want %v", trial, i, j, y[i][j], want)
				}
			}
		}
	}
}

// The float64 reference transforms.
func winoKernelRef(g [5][5]float64) (u [6][6]float64) {
	var t [6][5]float64 // G g
	for i := 0; i < 6; i++ {
		for j := 0; j < 5; j++ {
			for k := 0; k < 5; k++ {
				t[i][j] += winoG[i][k] * g[k][j]
			}
		}
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 5; k++ {
				u[i][j] += t[i][k] * winoG[j][k]
			}
		}
	}
	return u
}

func winoInputRef(d [6][6]float64) (v [6][6]float64) {
	var t [6][6]float64 // Bᵀ d
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				t[i][j] += winoBT[i][k] * d[k][j]
			}
		}
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				v[i][j] += t[i][k] * winoBT[j][k]
			}
		}
	}
	return v
}

func winoOutputRef(m [6][6]float64) (y [2][2]float64) {
	var t [2][6]float64 // Aᵀ m
	for i := 0; i < 2; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				t[i][j] += winoAT[i][k] * m[k][j]
			}
		}
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			for k := 0; k < 6; k++ {
				y[i][j] += t[i][k] * winoAT[j][k]
			}
		}
	}
	return y
}

// winoCase is a convolution of b images; k is the kernel side (0: 5).
type winoCase struct{ b, cin, h, w, cout, p, k int }

func (c winoCase) kernel() int {
	if c.k == 0 {
		return 5
	}
	return c.k
}

func winoCases() []winoCase {
	return []winoCase{
		{1, 3, 7, 7, 5, 2, 0},     // batch 1, 7×7: ragged 2×2 tiles, channels not a multiple of 16
		{3, 20, 7, 9, 17, 2, 0},   // batch 3, H ≠ W, Cout not a multiple of 16
		{17, 5, 8, 8, 3, 2, 0},    // two groups of 16 images, the second of one
		{2, 4, 6, 5, 6, 0, 0},     // pad 0: 2×1 outputs
		{2, 3, 9, 9, 4, 1, 0},     // pad 1
		{2, 2, 5, 5, 3, 4, 0},     // pad 4
		{3, 32, 14, 14, 64, 2, 0}, // LeNet++ shapes
		{2, 64, 7, 7, 128, 2, 0},
		{1, 32, 28, 28, 32, 2, 0},
		// 3×3, F(4×4, 3×3)
		{1, 3, 7, 7, 5, 1, 3},     // ragged tiles, channels not a multiple of 16
		{3, 20, 7, 9, 17, 1, 3},   // H ≠ W, Cout not a multiple of 16
		{17, 5, 8, 8, 3, 1, 3},    // two groups of 16 images
		{2, 4, 6, 5, 6, 0, 3},     // pad 0
		{2, 3, 9, 9, 4, 2, 3},     // pad 2
		{2, 16, 32, 32, 16, 1, 3}, // VGG and ResNet-20 shapes
		{3, 32, 16, 16, 32, 1, 3},
		{2, 64, 8, 8, 64, 1, 3},
		{2, 64, 4, 4, 64, 1, 3},
		{3, 96, 14, 14, 96, 1, 3}, // VGG at width 1 on 28×28
		{2, 384, 7, 7, 384, 1, 3},
	}
}

// TestWinoConv checks winoConv against the float64 direct convolution and
// records its float32 error beside that of the GEMM path on the same data:
// max |y − y64| / max |y64|.
func TestWinoConv(t *testing.T) {
	eachWinoISA(t, func(t *testing.T) {
		defer func(m int) { winoM = m }(winoM)
		for _, c := range winoCases() {
			for _, nbm := range [][2]int{{0, 2}, {1, 2}, {3, 2}, {0, 4}, {1, 4}, {3, 4}} {
				nb := nbm[0]
				winoM = nbm[1]
				name := fmt.Sprintf("%+v/nb=%d/m=%d", c, nb, winoM)
				k := c.kernel()
				g := newGeom(c.cin, c.h, c.w, k, 1, c.p)
				rng := newRand(uint64(c.b*1000 + c.cin*10 + c.p))
				x := uniform(rng, c.b*c.cin*c.h*c.w)
				w := uniform(rng, c.cout*c.cin*k*k)
				b := uniform(rng, c.cout)
				want := convRef(to64(x), to64(w), to64(b), c.b, c.cin, c.h, c.w, c.cout, k, 1, c.p)
				old := winoNB
				winoNB = nb
				wc := newWinoConv(g, c.b, c.cout)
				winoNB = old
				got := make([]float32, len(want))
				for i := range got {
					got[i] = float32(math.NaN()) // every output must be written
				}
				wc.run(x, w, b, got)
				winoOn = false
				base := newGemmConv(g, c.b, c.cout)
				winoOn = true
				ref := make([]float32, len(want))
				base.run(x, w, b, ref)
				errW, errG := relErr(got, want), relErr(ref, want)
				t.Logf("%s: winograd %.2e, gemm %.2e", name, errW, errG)
				if !(errW < 1e-5) {
					t.Errorf("%s: max relative error %.2e (gemm path %.2e)", name, errW, errG)
				}
			}
		}
	})
}

// relErr is max |got − want| / max |want|.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		num = math.Max(num, math.Abs(float64(got[i])-w))
		den = math.Max(den, math.Abs(w))
	}
	if math.IsNaN(num) {
		return math.Inf(1)
	}
	return num / den
}

// convGradWRef is dw[o][c][u][v] = Σ_{n,i,j} dy[n][o][i][j]·x[n][c][i−p+u][j−p+v]
// in float64 (stride 1, k×k).
func convGradWRef(x, dy []float64, c winoCase) []float64 {
	k := c.kernel()
	oh, ow := c.h+2*c.p-k+1, c.w+2*c.p-k+1
	dw := make([]float64, c.cout*c.cin*k*k)
	for n := 0; n < c.b; n++ {
		for o := 0; o < c.cout; o++ {
			for ch := 0; ch < c.cin; ch++ {
				for u := 0; u < k; u++ {
					for v := 0; v < k; v++ {
						var s float64
						for i := 0; i < oh; i++ {
							ih := i - c.p + u
							if ih < 0 || ih >= c.h {
								continue
							}
							for j := 0; j < ow; j++ {
								iw := j - c.p + v
								if iw < 0 || iw >= c.w {
									continue
								}
								s += dy[((n*c.cout+o)*oh+i)*ow+j] * x[((n*c.cin+ch)*c.h+ih)*c.w+iw]
							}
						}
						dw[((o*c.cin+ch)*k+u)*k+v] += s
					}
				}
			}
		}
	}
	return dw
}

// TestWinoGradW checks runGradW against convGradWRef, with 1 and 2
// workers: max |dw − dw64| / max |dw64|.
func TestWinoGradW(t *testing.T) {
	eachWinoISA(t, func(t *testing.T) {
		defer SetThreads(Threads())
		defer func(m int) { winoM = m }(winoM)
		for _, c := range winoCases() {
			for _, thm := range [][2]int{{1, 2}, {2, 2}, {1, 4}, {2, 4}} {
				th := thm[0]
				SetThreads(th)
				winoM = thm[1]
				name := fmt.Sprintf("%+v/threads=%d/m=%d", c, th, winoM)
				g := newGeom(c.cin, c.h, c.w, c.kernel(), 1, c.p)
				rng := newRand(uint64(c.b*1000 + c.cin*10 + c.p + 7))
				x := uniform(rng, c.b*c.cin*c.h*c.w)
				dy := uniform(rng, c.b*c.cout*g.oh*g.ow)
				want := convGradWRef(to64(x), to64(dy), c)
				wc := newWinoConv(g, c.b, c.cout)
				got := make([]float32, len(want))
				for i := range got {
					got[i] = float32(math.NaN())
				}
				wc.runGradW(x, dy, got)
				wc.runGradW(x, dy, got) // a second run: the sums start again from zero
				err := relErr(got, want)
				t.Logf("%s: %.2e", name, err)
				if !(err < 1e-5) {
					t.Errorf("%s: max relative error %.2e", name, err)
				}
			}
		}
	})
}

// TestConv2dWino runs the convolution cases with 5×5 and 3×3 kernels and stride 1
// through Conv2d with every one of them on the Winograd path (forward, the dx
// that is a convolution, dw): the forward against convRef and the gradients
// against central differences, as TestConv2d.
func TestConv2dWino(t *testing.T) {
	eachWinoISA(t, func(t *testing.T) {
		old := winoMinC
		winoMinC = 1
		defer func() { winoMinC = old }()
		var cs []convCase
		for _, c := range append(convCases(),
			convCase{b: 2, cin: 3, h: 13, w: 17, cout: 9, k: 5, s: 1, p: 2},
			convCase{b: 2, cin: 3, h: 13, w: 17, cout: 9, k: 5, s: 1, p: 0},
			convCase{b: 2, cin: 2, h: 11, w: 6, cout: 17, k: 5, s: 1, p: 1, noBias: true},
			convCase{b: 17, cin: 3, h: 7, w: 7, cout: 5, k: 5, s: 1, p: 2},
			convCase{b: 1, cin: 18, h: 7, w: 7, cout: 20, k: 5, s: 1, p: 2},
			convCase{b: 2, cin: 21, h: 6, w: 6, cout: 10, k: 5, s: 1, p: 2}, // Cin ≥ 16: Winograd by default too
			convCase{b: 2, cin: 3, h: 13, w: 17, cout: 9, k: 3, s: 1, p: 1},
			convCase{b: 2, cin: 2, h: 11, w: 6, cout: 17, k: 3, s: 1, p: 0, noBias: true},
			convCase{b: 17, cin: 3, h: 8, w: 8, cout: 5, k: 3, s: 1, p: 1},
			convCase{b: 2, cin: 18, h: 8, w: 8, cout: 16, k: 3, s: 1, p: 1}, // Cin ≥ 16
		) {
			if (c.k == 5 || c.k == 3) && c.s == 1 {
				cs = append(cs, c)
			}
		}
		// The forward's tolerance is 1e-4 instead of 1e-5: Winograd's float32
		// error is a multiple of the direct sum's (the input transform scales a
		// tile by up to (Σ|Bᵀ row|)² before the products, the output transform
		// sums them back), and F(4×4, 5×5), the default, is 6.7e-5 off at an
		// output of 0.98 in the 525-tap case (Cin = 21); TestWinoConv measures
		// ≤ 5.8e-6 of the largest output (F(2×2): ≤ 1.7e-6, its worst case here
		// 1.5e-5 at 0.36). The gradient checks keep their tolerances.
		testConv2dTol(t, cs, 1e-4)
	})
}

// BenchmarkWinoKernels times the transform kernels alone on cache-resident
// data, per tile (16 lanes): a row of 14 tiles into V with the LeNet++
// conv1_2 layout (32 channels, rows of 128 columns).
func BenchmarkWinoKernels(b *testing.B) {
	if winoISA == "" {
		b.Skip("no AVX-512 or AVX2")
	}
	const tiles, cin, ldv = 14, 32, 128
	wp := 2*tiles + 4
	src := make([]float32, 6*wp*16)
	v := make([]float32, 36*(cin*ldv+winoPosPad))
	yt := make([]float32, 2*wp*16)
	b.Run("input", func(b *testing.B) {
		for b.Loop() {
			wino2Fns.input(&src[0], &v[0], tiles, uintptr(wp*64), uintptr((cin*ldv+winoPosPad)*4))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tiles), "ns/tile")
	})
	b.Run("output", func(b *testing.B) {
		for b.Loop() {
			wino2Fns.output(&v[0], &yt[0], tiles, uintptr((cin*ldv+winoPosPad)*4), uintptr(wp*64), 0)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tiles), "ns/tile")
	})
	// F(4×4): 7 tiles of 8×8 along a row (28×28), V rows of 112 columns.
	const t4, ldv4 = 7, 112
	wp4 := 4*t4 + 4
	src4 := make([]float32, 8*wp4*16)
	v4 := make([]float32, 64*(cin*ldv4+winoPosPad))
	b.Run("input4", func(b *testing.B) {
		for b.Loop() {
			wino4Fns.input(&src4[0], &v4[0], t4, uintptr(wp4*64), uintptr((cin*ldv4+winoPosPad)*4))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*t4), "ns/tile")
	})
	b.Run("gradOutput", func(b *testing.B) {
		for b.Loop() {
			wino2Fns.gradOutput(&yt[0], &v[0], tiles, uintptr(wp*64), uintptr((cin*ldv+winoPosPad)*4))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tiles), "ns/tile")
	})
}

// TestWinoGatherScatter checks winoGather and winoScatter against their
// definitions for every cnt from 1 to 40 (blocks of 16 and tails), with all
// 16 lanes (the transposing path) and with some (the gather/scatter path).
func TestWinoGatherScatter(t *testing.T) {
	eachWinoISA(t, func(t *testing.T) {
		const stride = 53 // floats between lanes' rows: not a multiple of 16
		var idx [16]int32
		for l := range idx {
			idx[l] = int32(l*stride + l%3)
		}
		rng := newRand(5)
		for _, mask := range []uint64{0xffff, 0x7fff, 0x0001, 0x8421} {
			for cnt := 1; cnt <= 40; cnt++ {
				plane := make([]float32, 16*stride+2*40+8)
				for i := range plane {
					plane[i] = float32(rng.Float64())
				}
				// Gather: the lanes not in mask are zero, nothing past cnt rows written.
				dst := make([]float32, (cnt+1)*16)
				for i := range dst {
					dst[i] = -7
				}
				winoGather(&dst[0], &plane[1], cnt, &idx[0], mask)
				for tt := 0; tt <= cnt; tt++ {
					for l := 0; l < 16; l++ {
						want := float32(-7)
						if tt < cnt {
							want = 0
							if mask>>l&1 == 1 {
								want = plane[1+tt+int(idx[l])]
							}
						}
						if got := dst[tt*16+l]; got != want {
							t.Fatalf("gather mask %#x cnt %d: dst[%d][%d] = %v, want %v", mask, cnt, tt, l, got, want)
						}
					}
				}
				// Scatter: only the lanes in mask and the first cnt values written.
				src := make([]float32, cnt*16)
				for i := range src {
					src[i] = float32(rng.Float64()) + 2
				}
				out := append([]float32(nil), plane...)
				want := append([]float32(nil), plane...)
				for tt := 0; tt < cnt; tt++ {
					for l := 0; l < 16; l++ {
						if mask>>l&1 == 1 {
							want[1+tt+int(idx[l])] = src[tt*16+l]
						}
					}
				}
				winoScatter(&out[1], &src[0], cnt, &idx[0], mask)
				for i := range want {
					if out[i] != want[i] {
						t.Fatalf("scatter mask %#x cnt %d: out[%d] = %v, want %v", mask, cnt, i, out[i], want[i])
					}
				}
			}
		}
	})
}

// eachWinoISA runs f once for each instruction set this CPU runs the
// Winograd kernels with (AVX-512 and AVX2 on an AVX-512 CPU), as a subtest
// named by it, and skips without one.
func eachWinoISA(t *testing.T, f func(t *testing.T)) {
	isas := winoISAs()
	if len(isas) == 0 {
		t.Skip("no AVX-512 or AVX2: no Winograd kernels")
	}
	defer setWinoISA(winoISA)
	for _, isa := range isas {
		setWinoISA(isa)
		t.Run(isa, f)
	}
}
