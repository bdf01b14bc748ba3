package nnops

import (
	"fmt"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stack is a small network built either from our ops or from Gorgonia's
// stock ones: conv 5×5 pad 2 + bias → PReLU → max-pool 2 → conv 3×3 stride 2
// pad 1 + bias → ReLU, and when fc is set, flatten → FC (no bias) with
// stock ops. The flatten is Gorgonia's in-place Reshape of our ReLU's output
// tensor, which the op must undo on its next run.
type stack struct {
	x, w1, b1, a, w2, b2 *G.Node
	fc                   *G.Node // (C2·H/4·W/4, D) or nil
}

// head applies the optional flatten and FC to y (B, C2, H/4, W/4).
func (s *stack) head(y *G.Node, err error) (*G.Node, error) {
	if err != nil || s.fc == nil {
		return y, err
	}
	sh := y.Shape()
	if y, err = G.Reshape(y, tensor.Shape{sh[0], sh[1] * sh[2] * sh[3]}); err != nil { // (B, C2·H/4·W/4)
		return nil, err
	}
	return G.Mul(y, s.fc) // (B, D)
}

func (s *stack) ours() (*G.Node, error) {
	y, err := Conv2d(s.x, s.w1, s.b1, 1, 2) // (B, C1, H, W)
	if err != nil {
		return nil, err
	}
	if y, err = PReLU(y, s.a); err != nil {
		return nil, err
	}
	if y, err = MaxPool2d(y, 2, 2); err != nil { // (B, C1, H/2, W/2)
		return nil, err
	}
	if y, err = Conv2d(y, s.w2, s.b2, 2, 1); err != nil { // (B, C2, H/4, W/4)
		return nil, err
	}
	return s.head(ReLU(y))
}

func (s *stack) stock() (*G.Node, error) {
	conv := func(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
		k := w.Shape()[2]
		y, err := G.Conv2d(x, w, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
		if err != nil {
			return nil, err
		}
		return G.BroadcastAdd(y, b, nil, []byte{0, 2, 3})
	}
	y, err := conv(s.x, s.w1, s.b1, 1, 2)
	if err != nil {
		return nil, err
	}
	pos, err := G.Rectify(y)
	if err != nil {
		return nil, err
	}
	neg, err := G.Sub(y, pos)
	if err != nil {
		return nil, err
	}
	if neg, err = G.BroadcastHadamardProd(neg, s.a, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	if y, err = G.Add(pos, neg); err != nil {
		return nil, err
	}
	if y, err = G.MaxPool2D(y, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
		return nil, err
	}
	if y, err = conv(y, s.w2, s.b2, 2, 1); err != nil {
		return nil, err
	}
	return s.head(G.Rectify(y))
}

// TestStockEquivalence checks that the cost Σ y ⊙ R of the stack and its
// gradients with respect to the input and every parameter agree between our
// ops and Gorgonia's stock ones (bias and slopes shaped (1, C, 1, 1), as in
// the model package).
func TestStockEquivalence(t *testing.T) {
	for _, th := range []int{1, 2, 5} { // 5: more workers than some ops have items
		t.Run(fmt.Sprintf("threads=%d", th), func(t *testing.T) {
			old := Threads()
			SetThreads(th)
			defer SetThreads(old)
			testStockEquivalence(t)
		})
	}
}

func testStockEquivalence(t *testing.T) {
	const b, cin, h, c1, c2, d = 4, 3, 12, 6, 5, 2
	for _, withFC := range []bool{false, true} {
		rng := newRand(42)
		ops := []operand{
			{"x", tensor.Shape{b, cin, h, h}, uniform(rng, b*cin*h*h)},
			{"w1", tensor.Shape{c1, cin, 5, 5}, uniform(rng, c1*cin*25)},
			{"b1", tensor.Shape{1, c1, 1, 1}, uniform(rng, c1)},
			{"a", tensor.Shape{1, c1, 1, 1}, uniform(rng, c1)},
			{"w2", tensor.Shape{c2, c1, 3, 3}, uniform(rng, c2*c1*9)},
			{"b2", tensor.Shape{1, c2, 1, 1}, uniform(rng, c2)},
		}
		r := uniform(rng, b*c2*3*3)
		if withFC {
			ops = append(ops, operand{"fc", tensor.Shape{c2 * 9, d}, uniform(rng, c2*9*d)})
			r = uniform(rng, b*d)
		}
		build := func(useOurs bool) func(G.Nodes) (*G.Node, error) {
			return func(in G.Nodes) (*G.Node, error) {
				s := &stack{x: in[0], w1: in[1], b1: in[2], a: in[3], w2: in[4], b2: in[5]}
				if withFC {
					s.fc = in[6]
				}
				if useOurs {
					return s.ours()
				}
				return s.stock()
			}
		}
		ours := newRig(t, ops, r, build(true))
		stock := newRig(t, ops, r, build(false))
		if !ours.y.Shape().Eq(stock.y.Shape()) {
			t.Fatalf("case fc=%v: got shape %v, want %v", withFC, ours.y.Shape(), stock.y.Shape())
		}
		// Later runs check the reuse of buffers (and of a reshaped output)
		// and that gradients were cleared; the third uses a new batch.
		for run := 0; run < 3; run++ {
			var x []float32
			if run == 2 {
				x = uniform(rng, len(ops[0].data))
			}
			y, cost, grads := ours.run(t, x)
			wantY, wantCost, wantGrads := stock.run(t, x)
			if ok, msg := close32(y, to64(wantY), 1e-5, 1e-4); !ok {
				t.Errorf("case fc=%v run %d: y: %s", withFC, run, msg)
			}
			if !closeScalar(cost, wantCost, 1e-5) {
				t.Errorf("case fc=%v run %d: got cost %v, want %v", withFC, run, cost, wantCost)
			}
			for i, o := range ops {
				if ok, msg := close32(grads[i], to64(wantGrads[i]), 1e-5, 1e-4); !ok {
					t.Errorf("case fc=%v run %d: d cost/d %s: %s", withFC, run, o.name, msg)
				}
			}
		}
	}
}
