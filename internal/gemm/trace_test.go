package gemm

import (
	"sync"
	"testing"
)

// TestTracer: every entry point reports its call with its shape, and
// nothing is reported once the tracer is removed.
func TestTracer(t *testing.T) {
	var mu sync.Mutex
	var got []Call
	SetTracer(func(c Call) { mu.Lock(); got = append(got, c); mu.Unlock() })
	a, b, c := make([]float32, 6*7), make([]float32, 7*5+GatherSlack+64), make([]float32, 6*5)
	Sgemm(false, true, 6, 5, 7, 1, a, 7, b, 7, 0, c, 5)
	want := []Call{{Entry: "Sgemm", TransB: true, M: 6, N: 5, K: 7}}
	if HasGather() {
		off := make([]int, 7)
		for p := range off {
			off[p] = 5 * p
		}
		SgemmGather(6, 5, 7, 1, a, 7, b, off, 0, c, 5)
		SgemmPack(false, 6, 5, 7, 1, a, 7, func(dst []float32, p0, kb, j0, nb int) { clear(dst) }, 0, c, 5)
		want = append(want, Call{Entry: "SgemmGather", M: 6, N: 5, K: 7}, Call{Entry: "SgemmPack", M: 6, N: 5, K: 7})
	}
	if old := SetTracer(nil); old == nil {
		t.Error("SetTracer(nil) did not return the tracer it removed")
	}
	Sgemm(false, false, 6, 5, 7, 1, a, 7, b, 5, 0, c, 5)
	if len(got) != len(want) {
		t.Fatalf("got %d calls %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g := got[i]
		if g.Time < 0 {
			t.Errorf("call %d: time %v", i, g.Time)
		}
		g.Time = 0
		if g != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, g, want[i])
		}
	}
	if f := want[0].FLOP(); f != 2*6*5*7 {
		t.Errorf("FLOP = %v", f)
	}
}

func TestPeakGFLOPS(t *testing.T) {
	if lookupKernel("avx2") == nil && lookupKernel("avx512") == nil {
		t.Skip("no FMA kernel here")
	}
	if g := PeakGFLOPS(20e6); g < 1 || g > 10000 {
		t.Errorf("PeakGFLOPS = %v", g)
	}
}
