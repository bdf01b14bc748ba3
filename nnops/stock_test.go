package nnops

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stack is a small network built either from our ops or from Gorgonia's
// stock ones: conv 5×5 pad 2 + bias → PReLU → max-pool 2 → conv 3×3 stride 2
// pad 1 + bias → ReLU.
type stack struct {
	x, w1, b1, a, w2, b2 *G.Node
}

func (s *stack) params() G.Nodes { return G.Nodes{s.x, s.w1, s.b1, s.a, s.w2, s.b2} }

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
	return ReLU(y)
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
	return G.Rectify(y)
}

// TestStockEquivalence checks that the cost Σ y ⊙ R of the stack and its
// gradients with respect to the input and every parameter agree between our
// ops and Gorgonia's stock ones (bias and slopes shaped (1, C, 1, 1), as in
// the model package).
func TestStockEquivalence(t *testing.T) {
	const b, cin, h, c1, c2 = 4, 3, 12, 6, 5
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
	build := func(useOurs bool) func(G.Nodes) (*G.Node, error) {
		return func(in G.Nodes) (*G.Node, error) {
			s := &stack{in[0], in[1], in[2], in[3], in[4], in[5]}
			if useOurs {
				return s.ours()
			}
			return s.stock()
		}
	}
	ours := newRig(t, ops, r, build(true))
	stock := newRig(t, ops, r, build(false))
	if !ours.y.Shape().Eq(stock.y.Shape()) {
		t.Fatalf("case shapes: got %v, want %v", ours.y.Shape(), stock.y.Shape())
	}
	for run := 0; run < 2; run++ { // the second run checks reuse and cleared gradients
		y, cost, grads := ours.run(t)
		wantY, wantCost, wantGrads := stock.run(t)
		if ok, msg := close32(y, to64(wantY), 1e-5, 1e-4); !ok {
			t.Errorf("case run %d: y: %s", run, msg)
		}
		if !closeScalar(cost, wantCost, 1e-5) {
			t.Errorf("case run %d: got cost %v, want %v", run, cost, wantCost)
		}
		for i, o := range ops {
			if ok, msg := close32(grads[i], to64(wantGrads[i]), 1e-5, 1e-4); !ok {
				t.Errorf("case run %d: d cost/d %s: %s", run, o.name, msg)
			}
		}
	}
}
