package experiment

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/lgm-dev/lgm/internal/gemm"
	"github.com/lgm-dev/lgm/nnops"
)

// GEMMShape is one shape of matrix product that a training step runs, and
// how fast it ran: lgm bench --shapes.
type GEMMShape struct {
	Entry  string `json:"entry"` // Sgemm, SgemmGather (a convolution's taps read in place), SgemmPack (packed straight from the image), SgemmBF16
	TransA bool   `json:"trans_a"`
	TransB bool   `json:"trans_b"`
	M      int    `json:"m"`
	N      int    `json:"n"`
	K      int    `json:"k"`
	// Calls per training step, and their share of the step's wall time.
	Calls     float64 `json:"calls"`
	StepShare float64 `json:"step_share"`
	GFLOPS    float64 `json:"gflops"`   // the shape's achieved rate on one core
	PctPeak   float64 `json:"pct_peak"` // GFLOPS as a percentage of PeakGFLOPS
}

// GEMMProfile is every product of a training step, by shape.
type GEMMProfile struct {
	Steps int `json:"steps"`
	// PeakGFLOPS is one core's float32 FMA rate (gemm.PeakGFLOPS), the median
	// of measurements taken between the profiled steps.
	PeakGFLOPS float64 `json:"peak_gflops"`
	StepS      float64 `json:"step_s"`     // mean profiled step time
	GEMMShare  float64 `json:"gemm_share"` // of the step's wall time, in products
	// GEMMPctPeak is all the products' FLOP over their time, as a percentage
	// of PeakGFLOPS.
	GEMMPctPeak float64     `json:"gemm_pct_peak"`
	Shapes      []GEMMShape `json:"shapes"` // the most time first
}

type shapeKey struct {
	entry          string
	transA, transB bool
	m, n, k        int
}

// profileGEMM runs steps training steps with every matrix product timed,
// one core's FMA peak measured between them, and returns the products by
// shape. It must run on one thread (Bench checks it with oneThread):
// products then run one at a time, each on one core.
func profileGEMM(ctx context.Context, step func() error, steps int) (*GEMMProfile, error) {
	type acc struct {
		calls int
		t     time.Duration
		flop  float64
	}
	var mu sync.Mutex
	byShape := map[shapeKey]*acc{}
	tracer := func(c gemm.Call) {
		k := shapeKey{c.Entry, c.TransA, c.TransB, c.M, c.N, c.K}
		mu.Lock()
		a := byShape[k]
		if a == nil {
			a = &acc{}
			byShape[k] = a
		}
		a.calls++
		a.t += c.Time
		a.flop += c.FLOP()
		mu.Unlock()
	}
	var total time.Duration
	peaks := make([]float64, 0, steps)
	for i := 0; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w during the GEMM profile", ErrInterrupted)
		}
		gemm.SetTracer(tracer)
		t0 := time.Now()
		err := step()
		d := time.Since(t0)
		gemm.SetTracer(nil)
		if err != nil {
			return nil, fmt.Errorf("profiled step %d: %w", i+1, err)
		}
		total += d
		peaks = append(peaks, gemm.PeakGFLOPS(d/4))
	}
	slices.Sort(peaks)
	p := &GEMMProfile{Steps: steps, PeakGFLOPS: median(peaks), StepS: total.Seconds() / float64(steps)}
	var gt time.Duration
	var gf float64
	for k, a := range byShape {
		s := GEMMShape{Entry: k.entry, TransA: k.transA, TransB: k.transB, M: k.m, N: k.n, K: k.k,
			Calls: float64(a.calls) / float64(steps), StepShare: a.t.Seconds() / total.Seconds()}
		if a.t > 0 {
			s.GFLOPS = a.flop / a.t.Seconds() / 1e9
		}
		if p.PeakGFLOPS > 0 {
			s.PctPeak = 100 * s.GFLOPS / p.PeakGFLOPS
		}
		p.Shapes = append(p.Shapes, s)
		gt += a.t
		gf += a.flop
	}
	slices.SortFunc(p.Shapes, func(a, b GEMMShape) int { return cmp.Compare(b.StepShare, a.StepShare) })
	p.GEMMShare = gt.Seconds() / total.Seconds()
	if gt > 0 && p.PeakGFLOPS > 0 {
		p.GEMMPctPeak = 100 * gf / gt.Seconds() / 1e9 / p.PeakGFLOPS
	}
	return p, nil
}

// oneThread checks that lgm runs on one thread, as the GEMM profile needs.
func oneThread() error {
	if gemm.Threads() != 1 || nnops.Threads() != 1 || runtime.GOMAXPROCS(0) != 1 {
		return fmt.Errorf("the GEMM profile (--shapes) measures one core at a time: use --threads 1")
	}
	return nil
}
