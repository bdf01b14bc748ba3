package gemm

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkMicro times the active micro-kernel alone on cache-resident
// slivers (kc deep), to separate kernel speed from packing and blocking.
func BenchmarkMicro(b *testing.B) {
	for _, kname := range kernelsToTest(b) {
		b.Run(kname, func(b *testing.B) {
			kr := lookupKernel(kname)
			kc := kr.kc
			a := make([]float32, kr.mr*kc)
			bb := make([]float32, kr.nr*kc*10)
			c := make([]float32, kr.mr*kr.nr)
			fill(a)
			fill(bb)
			for i := 0; i < b.N; i++ {
				for j := 0; j < 10; j++ {
					kr.micro(kc, &a[0], kr.mr, &bb[j*kr.nr*kc], kr.nr, &c[0], kr.nr, 1, 1)
				}
			}
			b.ReportMetric(2*float64(kr.mr*kr.nr*kc*10)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func init() {
	// LGM_GEMM_TUNE="kc,mcb,ncb" overrides the blocking of the best kernel
	// (benchmark experiments only).
	if v := os.Getenv("LGM_GEMM_TUNE"); v != "" {
		var kc, mcb, ncb int
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &kc, &mcb, &ncb); err == nil {
			k := available[0]
			k.kc, k.mcb, k.ncb = kc, mcb, ncb
		}
	}
}

// BenchmarkVsPeak interleaves 1024³ Sgemm calls with the zmm FMA peak loop
// so both see the same host noise; it reports the ratio as %peak.
func BenchmarkVsPeak(b *testing.B) {
	if lookupKernel("avx512") == nil {
		b.Skip("no avx512")
	}
	const n = 1024
	x, y, z := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	fill(x)
	fill(y)
	Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	var tg, tp time.Duration
	const iters = 1 << 19
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
		t1 := time.Now()
		peakFMA512(iters)
		t2 := time.Now()
		tg += t1.Sub(t0)
		tp += t2.Sub(t1)
	}
	g := 2 * float64(n*n*n) * float64(b.N) / tg.Seconds() / 1e9
	pk := 2 * 16 * 12 * float64(iters) * float64(b.N) / tp.Seconds() / 1e9
	b.ReportMetric(g, "GFLOP/s")
	b.ReportMetric(pk, "peakGFLOP/s")
	b.ReportMetric(100*g/pk, "%peak")
}
