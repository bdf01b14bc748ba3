package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/nnops"
)

// bnNet is a network with batch normalisation (VGG, ResNet-20).
type bnNet interface {
	Net
	Buffered
	TrainModer
}

// bnRig is a network with batch normalisation on a (B, 3, H, W) input with
// cost Σ feature ⊙ R, a training machine (forward + backward) and an
// evaluation machine (forward to the feature) on the same graph, as the
// trainer builds them.
type bnRig struct {
	g           *G.ExprGraph
	x           *G.Node
	net         bnNet
	feat        *G.Node
	featV       G.Value
	r           []float32 // R, (B, D)
	train, eval G.VM
}

func newVGGRig(t testing.TB, b, hw, dim int, width float64, seed uint64) *bnRig {
	return newBNRig(t, "vgg", b, hw, dim, width, seed)
}

func newBNRig(t testing.TB, name string, b, hw, dim int, width float64, seed uint64) *bnRig {
	t.Helper()
	rg := &bnRig{g: G.NewGraph()}
	net, err := New(rg.g, Config{Name: name, Dim: dim, C: 3, H: hw, W: hw, Width: width}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	rg.net = net.(bnNet)
	xv := tensor.New(tensor.WithShape(b, 3, hw, hw), tensor.WithBacking(Uniform(rand.New(rand.NewPCG(seed, 2)), b*3*hw*hw, 1)))
	rg.x = G.NewTensor(rg.g, tensor.Float32, 4, G.WithShape(b, 3, hw, hw), G.WithName("x"), G.WithValue(xv))
	if rg.feat, err = net.Forward(rg.x); err != nil {
		t.Fatalf("%s forward: %v", name, err)
	}
	rg.r = Uniform(rand.New(rand.NewPCG(seed, 3)), b*dim, 1)
	rv := tensor.New(tensor.WithShape(b, dim), tensor.WithBacking(rg.r))
	r := G.NewMatrix(rg.g, tensor.Float32, G.WithShape(b, dim), G.WithName("r"), G.WithValue(rv))
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(rg.feat, r)))) // Σ feat ⊙ R
	read := G.Read(rg.feat, &rg.featV)
	if _, err := G.Grad(cost, net.Learnables()...); err != nil {
		t.Fatalf("grad: %v", err)
	}
	rg.eval = G.NewTapeMachine(rg.g.SubgraphRoots(read))
	rg.train = G.NewTapeMachine(rg.g, G.BindDualValues(net.Learnables()...))
	t.Cleanup(func() { rg.train.Close(); rg.eval.Close() })
	return rg
}

// step runs the training machine once after clearing the gradients and
// returns a copy of the feature.
func (rg *bnRig) step(t testing.TB) []float32 {
	t.Helper()
	for _, p := range rg.net.Learnables() {
		if gv, err := p.Grad(); err == nil {
			if d, ok := gv.(tensor.Tensor); ok {
				d.Zero()
			} // else not run yet: nothing to clear
		}
	}
	rg.net.SetTraining(true)
	if err := rg.train.RunAll(); err != nil {
		t.Fatalf("training run: %v", err)
	}
	rg.train.Reset()
	return append([]float32(nil), rg.featV.Data().([]float32)...)
}

// evaluate runs the evaluation machine and returns a copy of the feature.
func (rg *bnRig) evaluate(t testing.TB) []float32 {
	t.Helper()
	rg.net.SetTraining(false)
	if err := rg.eval.RunAll(); err != nil {
		t.Fatalf("evaluation run: %v", err)
	}
	rg.eval.Reset()
	return append([]float32(nil), rg.featV.Data().([]float32)...)
}

// vggParams is the parameter count of a VGG with stage widths w and input
// channels c: 3×3 convolutions without bias, γ and β per channel, and the
// FC layer when dim differs from the last width.
func vggParams(c int, w [3]int, dim int) int {
	n, cin := 0, c
	for s, convs := range []int{5, 4, 4} {
		for range convs {
			n += 9*cin*w[s] + 2*w[s]
			cin = w[s]
		}
	}
	if dim != cin {
		n += cin*dim + dim
	}
	return n
}

func TestVGGShapesAndParams(t *testing.T) {
	for _, c := range []struct {
		width  float64
		hw     int
		dim    int
		widths [3]int
	}{
		{0.25, 32, 96, [3]int{24, 48, 96}}, // D = last width: the pooled feature, no FC
		{0.25, 32, 10, [3]int{24, 48, 96}}, // FC 96 → 10
		{0.1, 28, 38, [3]int{10, 19, 38}},  // rounded widths
		{0.001, 8, 1, [3]int{1, 1, 1}},     // at least one channel
		{0, 4, 384, [3]int{96, 192, 384}},  // 0 means 1: the paper's network
	} {
		name := fmt.Sprintf("width %v, %d×%d, D %d", c.width, c.hw, c.hw, c.dim)
		g := G.NewGraph()
		net, err := New(g, Config{Name: "vgg", Dim: c.dim, C: 3, H: c.hw, W: c.hw, Width: c.width}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("case %s: %v", name, err)
		}
		x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, c.hw, c.hw), G.WithName("x"))
		feat, err := net.Forward(x)
		if err != nil {
			t.Fatalf("case %s: forward: %v", name, err)
		}
		if got, want := feat.Shape(), (tensor.Shape{2, c.dim}); !got.Eq(want) {
			t.Errorf("case %s: feature shape got %v, want %v", name, got, want)
		}
		if got := PooledDim("vgg", c.width); got != c.widths[2] {
			t.Errorf("case %s: PooledDim got %d, want %d", name, got, c.widths[2])
		}
		if got, want := countParams(net.Learnables()), vggParams(3, c.widths, c.dim); got != want {
			t.Errorf("case %s: parameters got %d, want %d", name, got, want)
		}
		if got, want := len(net.Learnables()), 13*3+2*btoi(c.dim != c.widths[2]); got != want {
			t.Errorf("case %s: learnables got %d nodes, want %d", name, got, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestVGGErrors(t *testing.T) {
	for _, c := range []struct {
		width float64
		hw    int
	}{{-1, 32}, {math.NaN(), 32}, {math.Inf(1), 32}, {1, 3}} {
		if _, err := New(G.NewGraph(), Config{Name: "vgg", Dim: 10, C: 3, H: c.hw, W: c.hw, Width: c.width}, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("case width %v, %d×%d: got no error, want one", c.width, c.hw, c.hw)
		}
	}
}

// TestVGGInit checks that equal seeds give equal parameters and different
// seeds different ones, and the constant initial values: γ = 1, β = 0,
// running mean 0 and variance 1.
func TestVGGInit(t *testing.T) {
	build := func(seed uint64) *VGG {
		net, err := New(G.NewGraph(), Config{Name: "vgg", Dim: 10, C: 3, H: 32, W: 32, Width: 0.25}, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return net.(*VGG)
	}
	values := func(ns G.Nodes) []float32 {
		var all []float32
		for _, p := range ns {
			all = append(all, p.Value().Data().([]float32)...)
		}
		return all
	}
	a, b, c := build(7), build(7), build(8)
	va, vb, vc := values(a.Learnables()), values(b.Learnables()), values(c.Learnables())
	same, differ := true, false
	for i := range va {
		same = same && va[i] == vb[i]
		differ = differ || va[i] != vc[i]
	}
	if !same {
		t.Errorf("same seed gave different initial parameters")
	}
	if !differ {
		t.Errorf("different seeds gave the same initial parameters")
	}
	for i, bn := range a.bns {
		for k, want := range map[*G.Node]float32{bn.gamma: 1, bn.beta: 0, bn.mean: 0, bn.vr: 1} {
			for _, v := range k.Value().Data().([]float32) {
				if v != want {
					t.Errorf("case bn %d: %s holds %v, want %v", i, k.Name(), v, want)
					break
				}
			}
		}
	}
}

// TestVGGBuffers checks the buffers' names and that they are the running
// statistics themselves: a training run changes them, an evaluation run
// does not, and values copied into them (a checkpoint restore) are what
// the network uses.
func TestVGGBuffers(t *testing.T) {
	rg := newVGGRig(t, 4, 16, 10, 0.1, 3)
	bufs := rg.net.Buffers()
	if len(bufs) != 26 || bufs[0].Name() != "net.bn1_1.mean" || bufs[1].Name() != "net.bn1_1.var" || bufs[25].Name() != "net.bn3_4.var" {
		t.Fatalf("got %d buffers (%v, %v, …, %v), want 26 from net.bn1_1.mean to net.bn3_4.var", len(bufs), bufs[0].Name(), bufs[1].Name(), bufs[len(bufs)-1].Name())
	}
	snapshot := func() []float32 {
		var all []float32
		for _, b := range rg.net.Buffers() {
			all = append(all, b.Value().Data().([]float32)...)
		}
		return all
	}
	before := snapshot()
	rg.step(t)
	for i, bn := range rg.net.(*VGG).bns {
		if &bn.mean.Value().Data().([]float32)[0] != &bn.state.Mean[0] || &bn.vr.Value().Data().([]float32)[0] != &bn.state.Var[0] {
			t.Fatalf("case bn %d: a buffer node no longer shares the state's memory after a run", i)
		}
	}
	trained := snapshot()
	changed := 0
	for i := range before {
		changed += btoi(before[i] != trained[i])
	}
	if changed < len(before)/2 {
		t.Errorf("case training run: %d of %d running statistics changed, want most", changed, len(before))
	}
	feat := rg.evaluate(t)
	if after := snapshot(); fmt.Sprint(after) != fmt.Sprint(trained) {
		t.Errorf("case evaluation run: running statistics changed")
	}
	// Restore the initial statistics as a checkpoint would: the evaluation
	// output must change, and match a fresh network's.
	for k, b := range rg.net.Buffers() {
		d := b.Value().Data().([]float32)
		for i := range d {
			d[i] = float32(k % 2) // mean 0, var 1
		}
	}
	restored := rg.evaluate(t)
	fresh := newVGGRig(t, 4, 16, 10, 0.1, 3).evaluate(t)
	if fmt.Sprint(restored) == fmt.Sprint(feat) || fmt.Sprint(restored) != fmt.Sprint(fresh) {
		t.Errorf("case restore: evaluation after restoring the initial statistics got %v, want %v (a fresh network's)", restored[:3], fresh[:3])
	}
}

// TestVGGTrainingMode checks that SetTraining switches batch normalisation:
// in evaluation an image's feature does not depend on the rest of the
// batch, in training it does.
func TestVGGTrainingMode(t *testing.T) {
	rg := newVGGRig(t, 4, 16, 10, 0.1, 4)
	for range 3 { // move the running statistics away from their start
		rg.step(t)
	}
	x := rg.x.Value().Data().([]float32)
	img := len(x) / 4
	other := Uniform(rand.New(rand.NewPCG(9, 9)), len(x)-img, 2)
	run := func(training bool) (first, changed []float32) {
		orig := append([]float32(nil), x[img:]...)
		var f func(testing.TB) []float32 = rg.evaluate
		if training {
			f = rg.step
		}
		first = f(t)
		copy(x[img:], other)
		changed = f(t)
		copy(x[img:], orig)
		return first, changed
	}
	a, b := run(false)
	for j := 0; j < 10; j++ {
		if a[j] != b[j] {
			t.Errorf("case evaluation: image 0's feature[%d] changed with the other images: %v → %v", j, a[j], b[j])
			break
		}
	}
	a, b = run(true)
	differ := false
	for j := 0; j < 10; j++ {
		differ = differ || a[j] != b[j]
	}
	if !differ {
		t.Errorf("case training: image 0's feature did not change with the other images")
	}
}

// TestVGGForwardBackward runs two identically seeded networks for two
// training steps: every gradient is finite and not all zero, and the two
// runs agree bit for bit.
func TestVGGForwardBackward(t *testing.T) {
	checkTwoSteps(t, func() *bnRig { return newVGGRig(t, 4, 32, 10, 0.25, 5) })
}

// checkTwoSteps runs two rigs from newRig (identically seeded) for two
// training steps each: every gradient must be finite and not all zero, and
// the two runs must agree bit for bit.
func checkTwoSteps(t *testing.T, newRig func() *bnRig) {
	t.Helper()
	var names []string
	grads := func() [][]float32 {
		rg := newRig()
		rg.step(t)
		rg.step(t)
		names = names[:0]
		var gs [][]float32
		for _, p := range rg.net.Learnables() {
			gv, err := p.Grad()
			if err != nil {
				t.Fatalf("%v has no gradient: %v", p.Name(), err)
			}
			gs = append(gs, append([]float32(nil), gv.Data().([]float32)...))
			names = append(names, p.Name())
		}
		return gs
	}
	a, b := grads(), grads()
	for i := range a {
		nonzero := false
		for j, v := range a[i] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("case %v: gradient is not finite", names[i])
			}
			nonzero = nonzero || v != 0
			if math.Float32bits(v) != math.Float32bits(b[i][j]) {
				t.Fatalf("case %v: two identical runs differ at %d: %v and %v", names[i], j, v, b[i][j])
			}
		}
		if !nonzero {
			t.Errorf("case %v: gradient is all zero", names[i])
		}
	}
}

// BenchmarkVGGStep is one training step (forward and backward, clearing
// the gradients, no optimiser update) of VGG at width 0.25 on 3×32×32 at
// batch 64 in a TapeMachine, with 1 and 2 threads.
//
//	go test ./model/ -run '^$' -bench VGGStep -benchtime 5x
func BenchmarkVGGStep(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("width=0.25/batch=64/threads=%d", th), func(b *testing.B) {
			old := nnops.Threads()
			nnops.SetThreads(th)
			defer nnops.SetThreads(old)
			rg := newVGGRig(b, 64, 32, 10, 0.25, 1)
			rg.step(b) // warm-up: buffers
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rg.step(b)
			}
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
