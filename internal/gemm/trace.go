package gemm

import (
	"sync/atomic"
	"time"
)

// Call describes one product for a Tracer: C (M×N) += A (M×K) · B (K×N),
// by which entry point (Sgemm, SgemmGather, SgemmPack, SgemmBF16) and how
// long it took on the wall clock.
type Call struct {
	Entry          string
	TransA, TransB bool
	M, N, K        int
	Time           time.Duration
}

// FLOP is the call's arithmetic: a multiply-add is 2.
func (c Call) FLOP() float64 { return 2 * float64(c.M) * float64(c.N) * float64(c.K) }

// A Tracer is told of every product after it returns. It may be called from
// several goroutines at once (the ops' workers).
type Tracer func(Call)

var tracer atomic.Pointer[Tracer]

// SetTracer installs t (nil removes it) and returns the one it replaces.
// With no tracer a product costs one atomic load more; with one, two clock
// readings and the call.
func SetTracer(t Tracer) Tracer {
	var old *Tracer
	if t == nil {
		old = tracer.Swap(nil)
	} else {
		old = tracer.Swap(&t)
	}
	if old == nil {
		return nil
	}
	return *old
}

// traceStart returns the time a traced product starts, or the zero time.
func traceStart() time.Time {
	if tracer.Load() == nil {
		return time.Time{}
	}
	return time.Now()
}

func traceEnd(t0 time.Time, entry string, transA, transB bool, m, n, k int) {
	if t0.IsZero() {
		return
	}
	if t := tracer.Load(); t != nil {
		(*t)(Call{Entry: entry, TransA: transA, TransB: transB, M: m, N: n, K: k, Time: time.Since(t0)})
	}
}

// PeakGFLOPS measures this core's float32 FMA rate, in 10⁹ FLOP per
// second, over a loop of about d: 12 independent chains of 512-bit FMAs
// where the avx512 kernel runs, 256-bit ones otherwise; 0 where neither
// does. The fraction of it that a product reaches is the figure to compare
// across machines; measure it beside the product, since shared hosts drift.
func PeakGFLOPS(d time.Duration) float64 {
	f, lanes := peakFMA512, 16
	switch {
	case lookupKernel("avx512") != nil:
	case lookupKernel("avx2") != nil:
		f, lanes = peakFMA256, 8
	default:
		return 0
	}
	const iters = 1 << 14
	f(iters) // warm the unit up
	var n int
	t0 := time.Now()
	for time.Since(t0) < d {
		f(iters)
		n++
	}
	return 2 * float64(lanes) * 12 * iters * float64(n) / time.Since(t0).Seconds() / 1e9
}
