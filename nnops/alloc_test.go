package nnops

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestOpsDoNotAllocate checks that, after a warm-up call, every op's Do
// reuses its output and scratch buffers: zero allocations per call.
func TestOpsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rng := newRand(5)
	val := func(s ...int) *tensor.Dense {
		sh := tensor.Shape(s)
		return dense(sh, uniform(rng, sh.TotalSize()))
	}
	cs := newConvShape(tensor.Shape{8, 3, 12, 12}, tensor.Shape{6, 3, 5, 5}, tensor.Shape{6}, 1, 2)
	x, w, b, dy := val(8, 3, 12, 12), val(6, 3, 5, 5), val(6), val(8, 6, 12, 12)
	xs, ws := tensor.Shape{8, 6, 12, 12}, tensor.Shape{6}
	pool := &maxPoolOp{geom: newGeom(1, 12, 12, 2, 2, 0), planes: 48, xShape: xs, yShape: tensor.Shape{8, 6, 6, 6}, opBase: newBase()}
	ps := newPReLUShape(xs, ws)
	rs := reluShape{shape: xs}
	rs.items, rs.per = chunks(xs.TotalSize(), 1)
	for _, c := range []struct {
		name string
		op   G.Op
		in   []G.Value
	}{
		{"conv", &conv2dOp{convShape: cs, opBase: newBase()}, []G.Value{x, w, b}},
		{"conv dx", &convGradXOp{convShape: cs, opBase: newBase()}, []G.Value{w, dy}},
		{"conv dw", &convGradWOp{convShape: cs, opBase: newBase()}, []G.Value{x, dy}},
		{"conv db", &convGradBOp{convShape: cs, opBase: newBase()}, []G.Value{dy}},
		{"maxpool", pool, []G.Value{dy}},
		{"maxpool dx", &maxPoolGradOp{fwd: pool, opBase: newBase()}, []G.Value{val(8, 6, 6, 6), val(8, 6, 6, 6)}},
		{"prelu", &preluOp{preluShape: ps, opBase: newBase()}, []G.Value{dy, b}},
		{"prelu dx", &preluGradXOp{preluShape: ps, opBase: newBase()}, []G.Value{dy, b, dy}},
		{"prelu da", &preluGradAOp{preluShape: ps, opBase: newBase()}, []G.Value{dy, dy}},
		{"relu", &reluOp{reluShape: rs, opBase: newBase()}, []G.Value{dy}},
		{"relu dx", &reluGradOp{reluShape: rs, opBase: newBase()}, []G.Value{dy, dy}},
	} {
		do := func() {
			if _, err := c.op.Do(c.in...); err != nil {
				t.Fatalf("case %s: %v", c.name, err)
			}
		}
		do()
		if got := testing.AllocsPerRun(10, do); got != 0 {
			t.Errorf("case %s: got %v allocations per call, want 0", c.name, got)
		}
	}
}

// TestStepAllocs reports the allocations of one forward+backward TapeMachine
// step of a small stack after warm-up. Most are Gorgonia's own (its machine,
// the stock HadamardProd and Sum, and the gradient accumulation of
// BindDualValues); our ops add none (TestOpsDoNotAllocate).
func TestStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rng := newRand(6)
	ops := []operand{
		{"x", tensor.Shape{8, 3, 12, 12}, uniform(rng, 8*3*144)},
		{"w1", tensor.Shape{6, 3, 5, 5}, uniform(rng, 6*3*25)},
		{"b1", tensor.Shape{1, 6, 1, 1}, uniform(rng, 6)},
		{"a", tensor.Shape{1, 6, 1, 1}, uniform(rng, 6)},
		{"w2", tensor.Shape{5, 6, 3, 3}, uniform(rng, 5*6*9)},
		{"b2", tensor.Shape{1, 5, 1, 1}, uniform(rng, 5)},
	}
	rg := newRig(t, ops, uniform(rng, 8*5*3*3), func(in G.Nodes) (*G.Node, error) {
		return (&stack{x: in[0], w1: in[1], b1: in[2], a: in[3], w2: in[4], b2: in[5]}).ours()
	})
	step := func() {
		if err := rg.vm.RunAll(); err != nil {
			t.Fatalf("RunAll: %v", err)
		}
		rg.vm.Reset()
	}
	step()
	step()
	got := testing.AllocsPerRun(10, step)
	t.Logf("allocations per forward+backward step of a 2-conv stack: %v", got)
	// Measured: 288, all Gorgonia's: per instruction it appends the inputs to a
	// fresh slice, boxes its log arguments and result, and ranges over derivOf.
	if got > 400 {
		t.Errorf("case step: got %v allocations, want <= 400", got)
	}
}

// TestUsePreallocDo checks that every op writes into a preallocated tensor
// of the right shape (and returns it), with the same result as Do, and falls
// back to its own tensor for a wrong one.
func TestUsePreallocDo(t *testing.T) {
	rng := newRand(8)
	val := func(s ...int) *tensor.Dense {
		sh := tensor.Shape(s)
		return dense(sh, uniform(rng, sh.TotalSize()))
	}
	cs := newConvShape(tensor.Shape{3, 2, 7, 7}, tensor.Shape{4, 2, 3, 3}, tensor.Shape{4}, 1, 1)
	x, w, b, dy := val(3, 2, 7, 7), val(4, 2, 3, 3), val(4), val(3, 4, 7, 7)
	pool := &maxPoolOp{geom: newGeom(1, 7, 7, 2, 2, 0), planes: 6, xShape: tensor.Shape{3, 2, 7, 7}, yShape: tensor.Shape{3, 2, 3, 3}, opBase: newBase()}
	ps := newPReLUShape(tensor.Shape{3, 4, 7, 7}, tensor.Shape{4})
	for _, c := range []struct {
		name  string
		op    G.UsePreallocDoer
		in    []G.Value
		shape tensor.Shape
	}{
		{"conv", &conv2dOp{convShape: cs, opBase: newBase()}, []G.Value{x, w, b}, cs.yShape},
		{"conv dx", &convGradXOp{convShape: cs, opBase: newBase()}, []G.Value{w, dy}, cs.xShape},
		{"conv dw", &convGradWOp{convShape: cs, opBase: newBase()}, []G.Value{x, dy}, cs.wShape},
		{"conv db", &convGradBOp{convShape: cs, opBase: newBase()}, []G.Value{dy}, cs.bShape},
		{"maxpool", pool, []G.Value{x}, pool.yShape},
		{"prelu", &preluOp{preluShape: ps, opBase: newBase()}, []G.Value{dy, b}, ps.xShape},
	} {
		want, err := c.op.(G.Op).Do(c.in...)
		if err != nil {
			t.Fatalf("case %s: Do: %v", c.name, err)
		}
		wantData := append([]float32(nil), want.Data().([]float32)...)
		p := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(c.shape.Clone()...))
		got, err := c.op.UsePreallocDo(p, c.in...)
		if err != nil {
			t.Fatalf("case %s: UsePreallocDo: %v", c.name, err)
		}
		if got != G.Value(p) {
			t.Errorf("case %s: got a tensor other than the preallocated one", c.name)
		}
		if ok, msg := close32(p.Float32s(), to64(wantData), 0, 0); !ok {
			t.Errorf("case %s: into prealloc: %s", c.name, msg)
		}
		wrong := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(c.shape.TotalSize()+1))
		if got, err = c.op.UsePreallocDo(wrong, c.in...); err != nil || got == G.Value(wrong) {
			t.Errorf("case %s: with a wrong prealloc: got %v, %v; want the op's own tensor", c.name, got == G.Value(wrong), err)
		}
	}
}
