package nnops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnRef is batch normalisation in float64 over x (B, C, size…): with batch
// statistics (biased variance) when train, else with mean and vr.
func bnRef(x, g, b []float64, c, size int, train bool, mean, vr []float64, eps float64) []float64 {
	batch := len(x) / (c * size)
	y := make([]float64, len(x))
	for ch := 0; ch < c; ch++ {
		var mu, v float64
		if train {
			mu, v = bnStats(x, ch, c, size)
		} else {
			mu, v = mean[ch], vr[ch]
		}
		inv := 1 / math.Sqrt(v+eps)
		for n := 0; n < batch; n++ {
			for j := 0; j < size; j++ {
				i := (n*c+ch)*size + j
				y[i] = g[ch]*(x[i]-mu)*inv + b[ch]
			}
		}
	}
	return y
}

// bnStats is the mean and biased variance of channel ch of x, two-pass.
func bnStats(x []float64, ch, c, size int) (mean, biased float64) {
	batch := len(x) / (c * size)
	cnt := float64(batch * size)
	for n := 0; n < batch; n++ {
		for j := 0; j < size; j++ {
			mean += x[(n*c+ch)*size+j]
		}
	}
	mean /= cnt
	for n := 0; n < batch; n++ {
		for j := 0; j < size; j++ {
			d := x[(n*c+ch)*size+j] - mean
			biased += d * d
		}
	}
	return mean, biased / cnt
}

// offset adds off[c] to channel c of x (B, C, size…), so that channels have
// means away from 0.
func offset(x []float32, off []float32, c, size int) []float32 {
	for i := range x {
		x[i] += off[(i/size)%c]
	}
	return x
}

// positive returns n values in [lo, lo + 1).
func positive(rng interface{ Float64() float64 }, n int, lo float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(lo + rng.Float64())
	}
	return s
}

var bnCases = []struct {
	x, p tensor.Shape // x and the shape of γ and β
}{
	{tensor.Shape{3, 4, 5, 5}, tensor.Shape{4}},
	{tensor.Shape{3, 4, 5, 5}, tensor.Shape{1, 4, 1, 1}},
	{tensor.Shape{6, 4}, tensor.Shape{4}}, // (B, C)
	{tensor.Shape{2, 3, 7}, tensor.Shape{3}},
	{tensor.Shape{2, 1, 3, 3}, tensor.Shape{1}},
	{tensor.Shape{5, 3, 16, 16}, tensor.Shape{3}}, // planes of 256, several per channel
}

// bnOperands returns random x (channels offset from 0), γ > 0 and β of a
// case, its number of channels and the size of its planes.
func bnOperands(rng *rand.Rand, x, p tensor.Shape) (ops []operand, ch, size int) {
	ch = x[1]
	size = x.TotalSize() / (x[0] * ch)
	return []operand{
		{"x", x, offset(uniform(rng, x.TotalSize()), uniform(rng, ch), ch, size)},
		{"gamma", p, positive(rng, ch, 0.5)},
		{"beta", p, uniform(rng, ch)},
	}, ch, size
}

// TestBatchNorm checks, in both modes, the forward against bnRef and the
// gradients with respect to x, γ and β against central differences of
// bnRef (cost = Σ y ⊙ R), and the running statistics against their update
// rule (training) or their constancy (evaluation).
func TestBatchNorm(t *testing.T) {
	for i, c := range bnCases {
		for _, train := range []bool{true, false} {
			name := fmt.Sprintf("x%v γ%v train=%v", c.x, c.p, train)
			rng := newRand(uint64(400 + i))
			ops, ch, size := bnOperands(rng, c.x, c.p)
			st := NewBNState(ch)
			copy(st.Mean, uniform(rng, ch))
			copy(st.Var, positive(rng, ch, 0.5))
			st.SetTraining(train)
			mean0, var0 := to64(st.Mean), to64(st.Var)
			r := to64(uniform(rng, c.x.TotalSize()))
			rg := newRig(t, ops, toF32(r), func(in G.Nodes) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) })
			y, _, grads := rg.run(t)

			ref := func(ps [][]float64) []float64 {
				return bnRef(ps[0], ps[1], ps[2], ch, size, train, mean0, var0, st.Eps)
			}
			ps := [][]float64{to64(ops[0].data), to64(ops[1].data), to64(ops[2].data)}
			if ok, msg := close32(y, ref(ps), 1e-5, 1e-5); !ok {
				t.Errorf("case %s: forward: %s", name, msg)
			}
			f := func(ps [][]float64) float64 { return dot(ref(ps), r) }
			for k, what := range []string{"x", "gamma", "beta"} {
				if ok, msg := close32(grads[k], numGrad(f, ps, k, 1e-4), 1e-4, 1e-3); !ok {
					t.Errorf("case %s: d cost/d %s: %s", name, what, msg)
				}
			}

			wantMean, wantVar := mean0, var0
			if train {
				wantMean, wantVar = make([]float64, ch), make([]float64, ch)
				cnt := float64(c.x.TotalSize() / ch)
				for k := range ch {
					mu, v := bnStats(ps[0], k, ch, size)
					wantMean[k] = 0.9*mean0[k] + 0.1*mu
					wantVar[k] = 0.9*var0[k] + 0.1*v*cnt/(cnt-1)
				}
			}
			if ok, msg := close32(st.Mean, wantMean, 1e-6, 1e-6); !ok {
				t.Errorf("case %s: running mean: %s", name, msg)
			}
			if ok, msg := close32(st.Var, wantVar, 1e-6, 1e-6); !ok {
				t.Errorf("case %s: running variance: %s", name, msg)
			}
		}
	}
}

// TestBatchNormRunningStats checks the running statistics and the output
// against values worked out by hand over two training runs and one
// evaluation run.
func TestBatchNormRunningStats(t *testing.T) {
	// x (2, 2): channel 0 holds 1 and 3 (mean 2, biased variance 1,
	// unbiased 2), channel 1 holds 2 and 6 (mean 4, variances 4 and 8).
	ops := []operand{
		{"x", tensor.Shape{2, 2}, []float32{1, 2, 3, 6}},
		{"gamma", tensor.Shape{2}, []float32{1, 2}},
		{"beta", tensor.Shape{2}, []float32{0, 1}},
	}
	st := NewBNState(2)
	rg := newRig(t, ops, []float32{1, 1, 1, 1}, func(in G.Nodes) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) })
	inv0, inv1 := 1/math.Sqrt(1+1e-5), 1/math.Sqrt(4+1e-5)
	for i, c := range []struct {
		train            bool
		mean, vr, output []float64
	}{
		// running = 0.9·running + 0.1·batch from mean 0, variance 1.
		{true, []float64{0.2, 0.4}, []float64{0.9 + 0.2, 0.9 + 0.8}, []float64{-inv0, 2*-2*inv1 + 1, inv0, 2*2*inv1 + 1}},
		{true, []float64{0.38, 0.76}, []float64{0.99 + 0.2, 1.53 + 0.8}, []float64{-inv0, 2*-2*inv1 + 1, inv0, 2*2*inv1 + 1}},
		// Evaluation: normalised with the running statistics, unchanged.
		{false, []float64{0.38, 0.76}, []float64{1.19, 2.33}, []float64{
			(1 - 0.38) / math.Sqrt(1.19+1e-5), 2*(2-0.76)/math.Sqrt(2.33+1e-5) + 1,
			(3 - 0.38) / math.Sqrt(1.19+1e-5), 2*(6-0.76)/math.Sqrt(2.33+1e-5) + 1}},
	} {
		st.SetTraining(c.train)
		y, _, _ := rg.run(t)
		if ok, msg := close32(st.Mean, c.mean, 1e-6, 1e-6); !ok {
			t.Errorf("case %d: running mean: %s", i, msg)
		}
		if ok, msg := close32(st.Var, c.vr, 1e-6, 1e-6); !ok {
			t.Errorf("case %d: running variance: %s", i, msg)
		}
		if ok, msg := close32(y, c.output, 1e-6, 1e-6); !ok {
			t.Errorf("case %d: output: %s", i, msg)
		}
	}
}

// TestBatchNormLargeMean checks the batch variance of a channel whose mean
// is far larger than its spread.
func TestBatchNormLargeMean(t *testing.T) {
	rng := newRand(410)
	x := uniform(rng, 4*2*8*8)
	for i := range x {
		x[i] = 1000 + x[i]/100
	}
	ops := []operand{
		{"x", tensor.Shape{4, 2, 8, 8}, x},
		{"gamma", tensor.Shape{2}, []float32{1, 1}},
		{"beta", tensor.Shape{2}, []float32{0, 0}},
	}
	st := NewBNState(2)
	rg := newRig(t, ops, make([]float32, len(x)), func(in G.Nodes) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) })
	y, _, _ := rg.run(t)
	want := bnRef(to64(x), []float64{1, 1}, []float64{0, 0}, 2, 64, true, nil, nil, st.Eps)
	// A float32 μ would quantise x − μ to steps of ulp(1000) = 6e-5, a
	// hundredth of σ ≈ 6e-3, and y to steps of 0.01.
	if ok, msg := close32(y, want, 1e-5, 1e-5); !ok {
		t.Errorf("case large mean: forward: %s", msg)
	}
}

// TestBatchNormModeAtRunTime builds one machine in training mode, then
// switches the state to evaluation: the next run must use the running
// statistics. The op must not implement Gorgonia's TrainModeOp, whose
// SetTraining a TapeMachine calls when it is built.
func TestBatchNormModeAtRunTime(t *testing.T) {
	rng := newRand(420)
	s := tensor.Shape{4, 3, 2, 2}
	ops := []operand{
		{"x", s, uniform(rng, s.TotalSize())},
		{"gamma", tensor.Shape{3}, positive(rng, 3, 0.5)},
		{"beta", tensor.Shape{3}, uniform(rng, 3)},
	}
	st := NewBNState(3)
	rg := newRig(t, ops, uniform(rng, s.TotalSize()), func(in G.Nodes) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) })
	if _, ok := rg.y.Op().(G.TrainModeOp); ok {
		t.Errorf("case mode: the op implements gorgonia.TrainModeOp")
	}
	// A machine built in Gorgonia's evaluation mode must not change ours.
	evalVM := G.NewTapeMachine(rg.g, G.EvalMode())
	evalVM.Close()
	if !st.Training() {
		t.Fatalf("case mode: building a TapeMachine in EvalMode changed the state to evaluation")
	}
	ps := [][]float64{to64(ops[0].data), to64(ops[1].data), to64(ops[2].data)}
	y, _, _ := rg.run(t)
	if ok, msg := close32(y, bnRef(ps[0], ps[1], ps[2], 3, 4, true, nil, nil, st.Eps), 1e-5, 1e-5); !ok {
		t.Errorf("case training run: %s", msg)
	}
	st.SetTraining(false)
	mean, vr := to64(st.Mean), to64(st.Var)
	y, _, _ = rg.run(t)
	if ok, msg := close32(y, bnRef(ps[0], ps[1], ps[2], 3, 4, false, mean, vr, st.Eps), 1e-5, 1e-5); !ok {
		t.Errorf("case evaluation run: %s", msg)
	}
}

// TestBatchNormDeterministic checks that two runs, and runs with 1 and 2
// workers, give bit-identical outputs, gradients and running statistics.
func TestBatchNormDeterministic(t *testing.T) {
	old := Threads()
	defer SetThreads(old)
	s := tensor.Shape{16, 5, 9, 9}
	type result struct{ y, dx, dg, db, mean, vr []float32 }
	run := func(threads int) []result {
		SetThreads(threads)
		rng := newRand(430)
		ops := []operand{
			{"x", s, offset(uniform(rng, s.TotalSize()), uniform(rng, 5), 5, 81)},
			{"gamma", tensor.Shape{5}, positive(rng, 5, 0.5)},
			{"beta", tensor.Shape{5}, uniform(rng, 5)},
		}
		st := NewBNState(5)
		rg := newRig(t, ops, uniform(rng, s.TotalSize()), func(in G.Nodes) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) })
		var rs []result
		for range 2 {
			y, _, g := rg.run(t)
			rs = append(rs, result{y, g[0], g[1], g[2], append([]float32(nil), st.Mean...), append([]float32(nil), st.Var...)})
		}
		return rs
	}
	a, b := run(2), run(1)
	same := func(what string, p, q []float32) {
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(q[i]) {
				t.Errorf("case %s: element %d differs: %v and %v", what, i, p[i], q[i])
				return
			}
		}
	}
	for k := range a {
		// 2 workers against 1: everything, running statistics included.
		for _, f := range []struct {
			what string
			p, q []float32
		}{{"y", a[k].y, b[k].y}, {"dx", a[k].dx, b[k].dx}, {"dgamma", a[k].dg, b[k].dg}, {"dbeta", a[k].db, b[k].db},
			{"mean", a[k].mean, b[k].mean}, {"var", a[k].vr, b[k].vr}} {
			same(fmt.Sprintf("run %d, 2 workers vs 1, %s", k, f.what), f.p, f.q)
		}
	}
	// The second run repeats the first (training mode: the running
	// statistics, which differ, do not enter).
	for _, f := range []struct {
		what string
		p, q []float32
	}{{"y", a[0].y, a[1].y}, {"dx", a[0].dx, a[1].dx}, {"dgamma", a[0].dg, a[1].dg}, {"dbeta", a[0].db, a[1].db}} {
		same("run 1 vs run 2, "+f.what, f.p, f.q)
	}
}

// TestBatchNormErrors checks that impossible layers are refused, and that
// training with one value per channel fails at run time.
func TestBatchNormErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	x1 := G.NewTensor(g, G.Float32, 1, G.WithShape(3), G.WithName("x1"))
	p3 := G.NewTensor(g, G.Float32, 1, G.WithShape(3), G.WithName("p3"))
	p4 := G.NewTensor(g, G.Float32, 1, G.WithShape(4), G.WithName("p4"))
	p64 := G.NewTensor(g, G.Float64, 1, G.WithShape(3), G.WithName("p64"))
	badMomentum := NewBNState(3)
	badMomentum.Momentum = 1.5
	badEps := NewBNState(3)
	badEps.Eps = 0
	for i, c := range []struct {
		x, g, b *G.Node
		st      *BNState
	}{
		{x, p4, p3, NewBNState(3)},
		{x, p3, p4, NewBNState(3)},
		{x, p3, p64, NewBNState(3)},
		{x1, p3, p3, NewBNState(3)},
		{x, p3, p3, nil},
		{x, p3, p3, NewBNState(4)},
		{x, p3, p3, badMomentum},
		{x, p3, p3, badEps},
	} {
		if _, err := BatchNorm(c.x, c.g, c.b, c.st); err == nil {
			t.Errorf("case %d: got no error, want one", i)
		}
	}

	st := NewBNState(3)
	op := &bnOp{bnShape: newBNShape(tensor.Shape{1, 3}, tensor.Shape{3}, tensor.Shape{3}), st: st, opBase: newBase()}
	in := []G.Value{dense(tensor.Shape{1, 3}, []float32{1, 2, 3}), dense(tensor.Shape{3}, []float32{1, 1, 1}), dense(tensor.Shape{3}, []float32{0, 0, 0})}
	if _, err := op.Do(in...); err == nil {
		t.Errorf("case one value per channel, training: got no error, want one")
	}
	st.SetTraining(false)
	if _, err := op.Do(in...); err != nil {
		t.Errorf("case one value per channel, evaluation: %v", err)
	}
}

// bnOps returns the four ops of a batch normalisation of x (B, C, H, W)
// and their inputs.
func bnOps(st *BNState, xs tensor.Shape, x, g, b, dy *tensor.Dense) (ops []G.UsePreallocDoer, in [][]G.Value) {
	fwd := &bnOp{bnShape: newBNShape(xs, g.Shape(), b.Shape()), st: st, opBase: newBase()}
	gx := &bnGradXOp{fwd: fwd, opBase: newBase()}
	gg := &bnGradParamOp{gx: gx, opBase: newBase()}
	gb := &bnGradParamOp{gx: gx, beta: true, opBase: newBase()}
	return []G.UsePreallocDoer{fwd, gx, gg, gb},
		[][]G.Value{{x, g, b}, {x, g, dy, dy}, {dy}, {dy}}
}

// TestBatchNormDoesNotAllocate checks that after a warm-up every op of
// BatchNorm, in both modes, and of GlobalAvgPool runs without allocating.
func TestBatchNormDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rng := newRand(440)
	xs := tensor.Shape{8, 6, 12, 12}
	x, dy := dense(xs, uniform(rng, xs.TotalSize())), dense(xs, uniform(rng, xs.TotalSize()))
	g, b := dense(tensor.Shape{6}, positive(rng, 6, 0.5)), dense(tensor.Shape{6}, uniform(rng, 6))
	st := NewBNState(6)
	ops, in := bnOps(st, xs, x, g, b, dy)
	as := avgPoolShape{xShape: xs, yShape: tensor.Shape{8, 6}, planes: 48, size: 144}
	as.items, as.per = chunks(48, 144)
	ops = append(ops, &avgPoolOp{avgPoolShape: as, opBase: newBase()}, &avgPoolGradOp{avgPoolShape: as, opBase: newBase()})
	in = append(in, []G.Value{x}, []G.Value{dense(tensor.Shape{8, 6}, uniform(rng, 48))})
	names := []string{"batchnorm", "batchnorm dx", "batchnorm dgamma", "batchnorm dbeta", "avgpool", "avgpool dx"}
	for _, train := range []bool{true, false} {
		st.SetTraining(train)
		step := func() {
			for k, op := range ops {
				if _, err := op.(G.Op).Do(in[k]...); err != nil {
					t.Fatalf("case %s: %v", names[k], err)
				}
			}
		}
		step()
		for k, op := range ops {
			do := func() {
				if _, err := op.(G.Op).Do(in[k]...); err != nil {
					t.Fatalf("case %s: %v", names[k], err)
				}
			}
			if got := testing.AllocsPerRun(10, do); got != 0 {
				t.Errorf("case %s train=%v: got %v allocations per call, want 0", names[k], train, got)
			}
		}
	}
}

// TestBatchNormUsePreallocDo checks that BatchNorm's and GlobalAvgPool's ops
// write into a preallocated tensor of the right shape (and return it), with
// the same result as Do, and fall back to their own tensor for a wrong one.
func TestBatchNormUsePreallocDo(t *testing.T) {
	rng := newRand(450)
	xs := tensor.Shape{3, 4, 5, 5}
	x, dy := dense(xs, uniform(rng, xs.TotalSize())), dense(xs, uniform(rng, xs.TotalSize()))
	g, b := dense(tensor.Shape{1, 4, 1, 1}, positive(rng, 4, 0.5)), dense(tensor.Shape{4}, uniform(rng, 4))
	// Momentum 0: the forward runs three times here and must give the same
	// result each time.
	st := NewBNState(4)
	st.Momentum = 0
	ops, in := bnOps(st, xs, x, g, b, dy)
	shapes := []tensor.Shape{xs, xs, g.Shape(), b.Shape()}
	as := avgPoolShape{xShape: xs, yShape: tensor.Shape{3, 4}, planes: 12, size: 25}
	as.items, as.per = chunks(12, 25)
	ops = append(ops, &avgPoolOp{avgPoolShape: as, opBase: newBase()}, &avgPoolGradOp{avgPoolShape: as, opBase: newBase()})
	in = append(in, []G.Value{x}, []G.Value{dense(tensor.Shape{3, 4}, uniform(rng, 12))})
	shapes = append(shapes, as.yShape, xs)
	for k, op := range ops {
		name := op.(fmt.Stringer).String()
		want, err := op.(G.Op).Do(in[k]...)
		if err != nil {
			t.Fatalf("case %s: Do: %v", name, err)
		}
		wantData := append([]float32(nil), want.Data().([]float32)...)
		p := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shapes[k].Clone()...))
		got, err := op.UsePreallocDo(p, in[k]...)
		if err != nil {
			t.Fatalf("case %s: UsePreallocDo: %v", name, err)
		}
		if got != G.Value(p) {
			t.Errorf("case %s: got a tensor other than the preallocated one", name)
		}
		if ok, msg := close32(p.Float32s(), to64(wantData), 0, 0); !ok {
			t.Errorf("case %s: into prealloc: %s", name, msg)
		}
		wrong := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shapes[k].TotalSize()+1))
		if got, err = op.UsePreallocDo(wrong, in[k]...); err != nil || got == G.Value(wrong) {
			t.Errorf("case %s: with a wrong prealloc: got %v, %v; want the op's own tensor", name, got == G.Value(wrong), err)
		}
	}
}

// BenchmarkBatchNorm is the forward and backward (dx, dγ, dβ) of a
// training-mode batch normalisation of (128, 32, 28, 28).
func BenchmarkBatchNorm(b *testing.B) {
	xs := tensor.Shape{benchBatch, 32, 28, 28}
	x, dy := benchValue(1, xs...), benchValue(2, xs...)
	g, beta := benchValue(3, 32), benchValue(4, 32)
	ops, in := bnOps(NewBNState(32), xs, x, g, beta, dy)
	for _, th := range []int{1, 2} {
		withThreads(b, th, func(b *testing.B) {
			do := func() {
				for k, op := range ops {
					if _, err := op.(G.Op).Do(in[k]...); err != nil {
						b.Fatal(err)
					}
				}
			}
			do()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				do()
			}
			reportRate(b, benchBatch, 0, cpu0)
		})
	}
}

// TestBatchNormReLU: the fused op gives ReLU(BatchNorm(x)) — the forward,
// the gradients with respect to x, γ and β, and the running statistics — bit
// for bit, in both modes, with NaN, ±Inf and exact zeros among the inputs of
// one case; and its forward is relu of the float64 reference.
func TestBatchNormReLU(t *testing.T) {
	for i, c := range bnCases {
		for _, train := range []bool{true, false} {
			name := fmt.Sprintf("x%v γ%v train=%v", c.x, c.p, train)
			rng := newRand(uint64(500 + i))
			ops, ch, size := bnOperands(rng, c.x, c.p)
			if i == len(bnCases)-1 && !train { // specials (evaluation mode keeps the other channels finite)
				x := ops[0].data
				x[3], x[10], x[77] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			}
			mean0, var0 := uniform(rng, ch), positive(rng, ch, 0.5)
			r := uniform(rng, c.x.TotalSize())
			r[5] = 0
			state := func() *BNState {
				st := NewBNState(ch)
				copy(st.Mean, mean0)
				copy(st.Var, var0)
				st.SetTraining(train)
				return st
			}
			stF, stC := state(), state()
			fused := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) { return BatchNormReLU(in[0], in[1], in[2], stF) })
			composed := newRig(t, ops, r, func(in G.Nodes) (*G.Node, error) {
				y, err := BatchNorm(in[0], in[1], in[2], stC)
				if err != nil {
					return nil, err
				}
				return ReLU(y)
			})
			yF, _, gF := fused.run(t)
			yC, _, gC := composed.run(t)
			sameBits(t, name+": forward", len(yC), yF, yC)
			for k, what := range []string{"x", "gamma", "beta"} {
				sameBits(t, name+": d/d"+what, len(gC[k]), gF[k], gC[k])
			}
			sameBits(t, name+": running mean", ch, stF.Mean, stC.Mean)
			sameBits(t, name+": running variance", ch, stF.Var, stC.Var)
			if i < len(bnCases)-1 {
				ref := bnRef(to64(ops[0].data), to64(ops[1].data), to64(ops[2].data), ch, size, train, to64(mean0), to64(var0), stF.Eps)
				for j := range ref {
					ref[j] = max(ref[j], 0)
				}
				if ok, msg := close32(yF, ref, 1e-5, 1e-5); !ok {
					t.Errorf("case %s: forward vs relu(reference): %s", name, msg)
				}
			}
		}
	}
}
