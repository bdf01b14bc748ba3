package gemm

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// LGM_GEMM_VSPEAK=1 makes BenchmarkSgemm interleave each call with the zmm
// FMA peak loop and report GFLOP/s as a percentage of that peak (%peak):
// the ratio is steadier than either figure on a noisy shared host.
var vsPeak = os.Getenv("LGM_GEMM_VSPEAK") == "1" && archKernels() != nil && archKernels()[0].name == "avx512"

type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// convShapes are LeNet++'s 5×5 convolutions as im2col GEMMs for one image:
// M = Cout, K = Cin*25, N = output H*W.
var convShapes = [][3]int{ // M, K, N
	{32, 25, 784}, {32, 800, 784}, {64, 800, 196}, {64, 1600, 196}, {128, 1600, 49}, {128, 3200, 49},
}

func benchShapes() []benchShape {
	s := []benchShape{{name: "1024", m: 1024, n: 1024, k: 1024}}
	for _, batch := range []int{1, 128} {
		for _, c := range convShapes {
			m, k, n := c[0], c[1], c[2]*batch
			tag := fmt.Sprintf("%dx%dx%d", m, k, n)
			if batch > 1 {
				tag += "b"
			}
			// forward: Y(M×N) = W(M×K)·col(K×N)
			s = append(s, benchShape{"fwd_" + tag, false, false, m, n, k})
			// weight gradient: dW(M×K) = dY(M×N)·colᵀ
			s = append(s, benchShape{"dW_" + tag, false, true, m, k, n})
			// input gradient: dcol(K×N) = Wᵀ·dY(M×N)
			s = append(s, benchShape{"dX_" + tag, true, false, k, n, m})
		}
	}
	return s
}

func fill(s []float32) {
	for i := range s {
		s[i] = float32(i%17)*0.125 - 1
	}
}

// BenchmarkSgemm/<kernel>/<shape>/t<threads>
func BenchmarkSgemm(b *testing.B) {
	for _, kname := range kernelsToTest(b) {
		b.Run(kname, func(b *testing.B) {
			for _, s := range benchShapes() {
				b.Run(s.name, func(b *testing.B) {
					ar, ac := s.m, s.k
					if s.transA {
						ar, ac = ac, ar
					}
					br, bc := s.k, s.n
					if s.transB {
						br, bc = bc, br
					}
					a, bb, c := make([]float32, ar*ac), make([]float32, br*bc), make([]float32, s.m*s.n)
					fill(a)
					fill(bb)
					for _, th := range []int{1, 2} {
						b.Run(fmt.Sprintf("t%d", th), func(b *testing.B) {
							withKernel(b, kname, func() {
								SetThreads(th)
								defer SetThreads(1)
								flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
								Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bb, bc, 0, c, s.n)
								b.ResetTimer()
								var tg, tp time.Duration
								var peakFlop float64
								for i := 0; i < b.N; i++ {
									t0 := time.Now()
									Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bb, bc, 0, c, s.n)
									tg += time.Since(t0)
									if vsPeak {
										// Interleave an FMA peak loop of about the same
										// length, so both see the same host load.
										iters := max(1024, int(flop/(2*16*12)/2))
										t1 := time.Now()
										peakFMA512(iters)
										tp += time.Since(t1)
										peakFlop += 2 * 16 * 12 * float64(iters)
									}
								}
								g := flop * float64(b.N) / tg.Seconds() / 1e9
								b.ReportMetric(g, "GFLOP/s")
								if vsPeak {
									pk := peakFlop / tp.Seconds() / 1e9
									b.ReportMetric(100*g/pk, "%peak")
								}
							})
						})
					}
				})
			}
		})
	}
}

// BenchmarkPeak measures one core's FP32 FMA throughput: 12 independent
// accumulator chains of 512-bit (zmm) or 256-bit (ymm) FMAs.
func BenchmarkPeak(b *testing.B) {
	const iters = 1 << 20
	for _, v := range []struct {
		name  string
		lanes int
		f     func(int)
		ok    bool
	}{
		{"zmm", 16, peakFMA512, lookupKernel("avx512") != nil},
		{"ymm", 8, peakFMA256, lookupKernel("avx2") != nil},
		{"bf16", 32, peakBF16, HasBF16()}, // 16 lanes × 2 products
	} {
		b.Run(v.name, func(b *testing.B) {
			if !v.ok {
				b.Skip("not supported")
			}
			for i := 0; i < b.N; i++ {
				v.f(iters)
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(2*float64(v.lanes)*12*iters*float64(b.N)/sec/1e9, "GFLOP/s")
		})
	}
}
