package gemm

import (
	"fmt"
	"os"
	"testing"
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
					kr.micro(kc, &a[0], &bb[j*kr.nr*kc], &c[0], kr.nr, 1, 1)
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
