package vm

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rig is a small graph of the stock ops the kernels replace, with a scalar
// loss and its gradient with respect to two parameters.
type rig struct {
	g          *G.ExprGraph
	x, w, b    *G.Node
	loss       *G.Node
	lossV, yV  G.Value
	xT, wT, bT *tensor.Dense
}

func fill(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// newRig builds the graph from seed: x (B, D), w (D, K), b (K).
func newRig(t *testing.T, seed uint64) *rig {
	t.Helper()
	const B, D, K = 5, 4, 3
	rng := rand.New(rand.NewPCG(seed, 1))
	r := &rig{g: G.NewGraph()}
	r.xT = tensor.New(tensor.WithShape(B, D), tensor.WithBacking(fill(rng, B*D)))
	r.wT = tensor.New(tensor.WithShape(D, K), tensor.WithBacking(fill(rng, D*K)))
	r.bT = tensor.New(tensor.WithShape(K), tensor.WithBacking(fill(rng, K)))
	r.x = G.NewMatrix(r.g, tensor.Float32, G.WithShape(B, D), G.WithName("x"), G.WithValue(r.xT))
	r.w = G.NewMatrix(r.g, tensor.Float32, G.WithShape(D, K), G.WithName("w"), G.WithValue(r.wT))
	r.b = G.NewVector(r.g, tensor.Float32, G.WithShape(K), G.WithName("b"), G.WithValue(r.bT))
	must := func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	z := must(G.Mul(r.x, r.w))                                             // (B, K) A × B
	z = must(G.BroadcastAdd(z, r.b, nil, []byte{0}))                       // (B, K) reshape, repeat, +
	top := must(G.Max(z, 1))                                               // (B)
	sh := must(G.BroadcastSub(z, top, nil, []byte{1}))                     // (B, K)
	e := must(G.Exp(sh))                                                   // (B, K)
	lse := must(G.Log(must(G.Sum(e, 1))))                                  // (B)
	sq := must(G.Square(must(G.Neg(sh))))                                  // (B, K)
	col := must(G.Sum(sq, 0))                                              // (K)
	rt := must(G.Sqrt(must(G.Add(col, G.NewConstant(float32(1))))))        // (K)
	tr := must(G.Transpose(z))                                             // (K, B)
	zz := must(G.Mul(tr, z))                                               // (K, K) Aᵀ-ish product
	eq := must(G.Eq(sh, must(G.Mul(sh, G.NewConstant(float32(1)))), true)) // (B, K) 1 where equal
	l := must(G.Mean(lse))
	l = must(G.Add(l, must(G.Div(must(G.Sum(rt)), G.NewConstant(float32(7))))))
	l = must(G.Add(l, must(G.Mul(must(G.Sum(zz)), G.NewConstant(float32(0.01))))))
	l = must(G.Sub(l, must(G.Mean(must(G.HadamardProd(eq, sh))))))
	r.loss = l
	G.Read(l, &r.lossV)
	G.Read(z, &r.yV)
	if _, err := G.Grad(l, r.x, r.w, r.b); err != nil {
		t.Fatal(err)
	}
	return r
}

func bitsEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s[%d]: got %v, want %v (TapeMachine)", what, i, got[i], want[i])
			return
		}
	}
}

func data(v G.Value) []float32 {
	if s, ok := v.(*G.F32); ok {
		return []float32{float32(*s)}
	}
	return v.Data().([]float32)
}

// TestMatchesTapeMachine: the loss, a read value and the gradients agree
// bit for bit with Gorgonia's TapeMachine over runs in which the inputs
// change, every stock op of the rig runs on a kernel here, and a run
// allocates nothing after the first.
func TestMatchesTapeMachine(t *testing.T) {
	a, b := newRig(t, 3), newRig(t, 3)
	m, err := New(a.g, Grads(a.w, a.b))
	if err != nil {
		t.Fatal(err)
	}
	if _, ops := m.Kernels(); len(ops) != 0 {
		t.Errorf("nodes left to their op's Do: %v", ops)
	}
	tape := G.NewTapeMachine(b.g, G.BindDualValues(b.w, b.b))
	defer tape.Close()
	rng := rand.New(rand.NewPCG(4, 4))
	for run := 0; run < 3; run++ {
		x := fill(rng, len(a.xT.Float32s()))
		copy(a.xT.Float32s(), x)
		copy(b.xT.Float32s(), x)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := tape.RunAll(); err != nil {
			t.Fatal(err)
		}
		bitsEqual(t, "loss", data(a.lossV), data(b.lossV))
		bitsEqual(t, "logits", data(a.yV), data(b.yV))
		for i, p := range []*G.Node{a.w, a.b} {
			got, err := m.Grad(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := []*G.Node{b.w, b.b}[i].Grad()
			if err != nil {
				t.Fatal(err)
			}
			bitsEqual(t, "gradient of "+p.Name(), got, data(want))
			clear(got)
			clear(data(want))
		}
		tape.Reset()
	}
	if n := testing.AllocsPerRun(5, func() { m.RunAll() }); n != 0 {
		t.Errorf("got %v allocations per run, want 0", n)
	}
}

// TestGradAccumulates: like BindDualValues, runs add into the accumulator
// until it is cleared.
func TestGradAccumulates(t *testing.T) {
	r := newRig(t, 5)
	m, err := New(r.g, Grads(r.w))
	if err != nil {
		t.Fatal(err)
	}
	m.RunAll()
	g, _ := m.Grad(r.w)
	once := append([]float32(nil), g...)
	m.RunAll()
	for i := range g {
		if g[i] != once[i]+once[i] {
			t.Fatalf("after two runs: gradient[%d] = %v, want %v", i, g[i], 2*once[i])
		}
	}
}

func TestErrors(t *testing.T) {
	r := newRig(t, 6)
	m, err := New(r.g, Grads(r.w))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Grad(r.b); err == nil || !strings.Contains(err.Error(), "not among the machine's Grads") {
		t.Errorf("Grad of a parameter not asked for: got %v", err)
	}
	g := G.NewGraph()
	p := G.NewVector(g, tensor.Float32, G.WithShape(2), G.WithName("p"), G.WithInit(G.Zeroes()))
	if _, err := New(g, Grads(p)); err == nil || !strings.Contains(err.Error(), "no gradient node") {
		t.Errorf("Grads of an undifferentiated node: got %v", err)
	}
}

// TestFallbackMatchesTapeMachine: ops without a kernel here (matrix-vector
// products, as L-Softmax uses) run through their own Do and still agree with
// the TapeMachine.
func TestFallbackMatchesTapeMachine(t *testing.T) {
	build := func() (*G.ExprGraph, *G.Node, *G.Node, *G.Value) {
		rng := rand.New(rand.NewPCG(8, 8))
		g := G.NewGraph()
		a := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 4), G.WithName("a"), G.WithValue(tensor.New(tensor.WithShape(3, 4), tensor.WithBacking(fill(rng, 12)))))
		v := G.NewVector(g, tensor.Float32, G.WithShape(4), G.WithName("v"), G.WithValue(tensor.New(tensor.WithShape(4), tensor.WithBacking(fill(rng, 4)))))
		mv, err := G.Mul(a, v) // (3) A × b
		if err != nil {
			t.Fatal(err)
		}
		sq, err := G.HadamardProd(mv, mv) // (3)
		if err != nil {
			t.Fatal(err)
		}
		l, err := G.Sum(sq)
		if err != nil {
			t.Fatal(err)
		}
		var lv G.Value
		G.Read(l, &lv)
		if _, err := G.Grad(l, a); err != nil {
			t.Fatal(err)
		}
		return g, a, l, &lv
	}
	g1, a1, _, l1 := build()
	g2, a2, _, l2 := build()
	m, err := New(g1, Grads(a1))
	if err != nil {
		t.Fatal(err)
	}
	if _, ops := m.Kernels(); len(ops) == 0 {
		t.Fatal("want some nodes on their op's Do")
	}
	tape := G.NewTapeMachine(g2, G.BindDualValues(a2))
	defer tape.Close()
	for run := 0; run < 2; run++ {
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := tape.RunAll(); err != nil {
			t.Fatal(err)
		}
		bitsEqual(t, "loss", data(*l1), data(*l2))
		got, _ := m.Grad(a1)
		want, _ := a2.Grad()
		bitsEqual(t, "gradient", got, data(want))
		clear(got)
		clear(data(want))
		tape.Reset()
	}
}
