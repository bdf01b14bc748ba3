package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/nnops"
)

// resnetParams is the parameter count of ResNet-20 with stage widths w on
// c input channels: 3×3 convolutions without bias, γ and β per channel,
// and the FC layer when dim differs from the last width. The shortcuts
// have none (option A).
func resnetParams(c int, w [3]int, dim int) int {
	n := 9*c*w[0] + 2*w[0]
	cin := w[0]
	for s := 0; s < 3; s++ {
		for range 3 {
			n += 9*cin*w[s] + 2*w[s] + 9*w[s]*w[s] + 2*w[s]
			cin = w[s]
		}
	}
	if dim != cin {
		n += cin*dim + dim
	}
	return n
}

func TestResNet20ShapesAndParams(t *testing.T) {
	for _, c := range []struct {
		width  float64
		hw     int
		dim    int
		widths [3]int
		params int // 0: resnetParams only
	}{
		{1, 32, 64, [3]int{16, 32, 64}, 269072}, // the paper's "0.27M" (He et al. 2016, Table 6)
		{0, 32, 64, [3]int{16, 32, 64}, 269072}, // 0 means 1
		{1, 32, 10, [3]int{16, 32, 64}, 0},      // FC 64 → 10
		{0.25, 32, 16, [3]int{4, 8, 16}, 0},     // D = last width: no FC
		{0.3, 28, 2, [3]int{5, 10, 20}, 0},      // rounded, doubled exactly; 28 → 14 → 7
		{0.001, 5, 3, [3]int{1, 2, 4}, 0},       // at least one channel; 5 → 3 → 2
		{2, 1, 128, [3]int{32, 64, 128}, 0},     // a 1×1 input stays 1×1
	} {
		name := fmt.Sprintf("width %v, %d×%d, D %d", c.width, c.hw, c.hw, c.dim)
		if got := ResNetWidths(c.width); got != c.widths {
			t.Errorf("case %s: widths got %v, want %v", name, got, c.widths)
		}
		if got := PooledDim("resnet20", c.width); got != c.widths[2] {
			t.Errorf("case %s: PooledDim got %d, want %d", name, got, c.widths[2])
		}
		g := G.NewGraph()
		net, err := New(g, Config{Name: "resnet20", Dim: c.dim, C: 3, H: c.hw, W: c.hw, Width: c.width}, rand.New(rand.NewPCG(1, 1)))
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
		want := resnetParams(3, c.widths, c.dim)
		if c.params != 0 && want != c.params {
			t.Fatalf("case %s: resnetParams gives %d, want %d", name, want, c.params)
		}
		if got := countParams(net.Learnables()); got != want {
			t.Errorf("case %s: parameters got %d, want %d", name, got, want)
		}
		if got, want := len(net.Learnables()), 3+9*6+2*btoi(c.dim != c.widths[2]); got != want {
			t.Errorf("case %s: learnables got %d nodes, want %d", name, got, want)
		}
		if got := len(net.(Buffered).Buffers()); got != 2*19 {
			t.Errorf("case %s: buffers got %d, want 38 (19 batch normalisations)", name, got)
		}
	}
}

func TestResNet20Errors(t *testing.T) {
	for _, w := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := New(G.NewGraph(), Config{Name: "resnet20", Dim: 10, C: 3, H: 32, W: 32, Width: w}, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("case width %v: got no error, want one", w)
		}
	}
}

// TestResNet20Init checks that equal seeds give equal parameters and
// different seeds different ones, the spread of the convolution weights
// (He et al. 2015: standard deviation √(2/(9·Cin))), the constant initial
// values γ = 1, β = 0, running mean 0 and variance 1, and the buffers'
// names.
func TestResNet20Init(t *testing.T) {
	build := func(seed uint64) *ResNet20 {
		net, err := New(G.NewGraph(), Config{Name: "resnet20", Dim: 64, C: 3, H: 32, W: 32}, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return net.(*ResNet20)
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
	w := a.blocks[8].conv2.w // (64, 64, 3, 3): 36864 values
	var ss float64
	vs := w.Value().Data().([]float32)
	for _, v := range vs {
		ss += float64(v) * float64(v)
	}
	if got, want := math.Sqrt(ss/float64(len(vs))), math.Sqrt(2.0/(64*9)); math.Abs(got-want) > 0.02*want {
		t.Errorf("case %v: standard deviation got %v, want %v", w.Name(), got, want)
	}
	for i, bn := range a.bns() {
		for k, want := range map[*G.Node]float32{bn.gamma: 1, bn.beta: 0, bn.mean: 0, bn.vr: 1} {
			for _, v := range k.Value().Data().([]float32) {
				if v != want {
					t.Errorf("case bn %d: %s holds %v, want %v", i, k.Name(), v, want)
					break
				}
			}
		}
	}
	bufs := a.Buffers()
	if bufs[0].Name() != "net.bn0.mean" || bufs[3].Name() != "net.res1_1.bn1.var" || bufs[37].Name() != "net.res3_3.bn2.var" {
		t.Errorf("buffers named %v, %v, …, %v; want net.bn0.mean, …, net.res1_1.bn1.var, …, net.res3_3.bn2.var", bufs[0].Name(), bufs[3].Name(), bufs[37].Name())
	}
}

// TestResNet20TrainingMode checks that SetTraining switches batch
// normalisation: in evaluation an image's feature does not depend on the
// rest of the batch and the running statistics do not move; in training
// it does and they do.
func TestResNet20TrainingMode(t *testing.T) {
	rg := newBNRig(t, "resnet20", 4, 16, 8, 0.125, 4)
	snapshot := func() []float32 {
		var all []float32
		for _, b := range rg.net.Buffers() {
			all = append(all, b.Value().Data().([]float32)...)
		}
		return all
	}
	before := snapshot()
	for range 3 { // move the running statistics away from their start
		rg.step(t)
	}
	trained := snapshot()
	changed := 0
	for i := range before {
		changed += btoi(before[i] != trained[i])
	}
	if changed < len(before)/2 {
		t.Errorf("case training runs: %d of %d running statistics changed, want most", changed, len(before))
	}
	x := rg.x.Value().Data().([]float32)
	img := len(x) / 4
	other := Uniform(rand.New(rand.NewPCG(9, 9)), len(x)-img, 2)
	run := func(training bool) (first, changed []float32) {
		orig := append([]float32(nil), x[img:]...)
		f := rg.evaluate
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
	for j := 0; j < 8; j++ {
		if a[j] != b[j] {
			t.Errorf("case evaluation: image 0's feature[%d] changed with the other images: %v → %v", j, a[j], b[j])
			break
		}
	}
	if fmt.Sprint(snapshot()) != fmt.Sprint(trained) {
		t.Errorf("case evaluation: running statistics changed")
	}
	a, b = run(true)
	differ := false
	for j := 0; j < 8; j++ {
		differ = differ || a[j] != b[j]
	}
	if !differ {
		t.Errorf("case training: image 0's feature did not change with the other images")
	}
}

// TestResNet20Gradients checks the gradient of Σ feature ⊙ R with respect
// to every parameter tensor of a small ResNet-20 in training mode (batch
// statistics) against central differences of the whole network, along the
// tensor's own gradient and along a random direction: through the
// stride-2 shortcuts with their zero channels, the identity shortcuts and
// the gradient sums at each block's input, the batch normalisations, the
// pooling and the FC layer.
func TestResNet20Gradients(t *testing.T) {
	for _, c := range []struct {
		dim   int
		width float64
	}{{16, 0.25}, {5, 0.25}} { // the pooled 16-D feature; FC 16 → 5
		// 8 images of 16×16: batch statistics over at least 8·4·4 values a channel.
		rg := newBNRig(t, "resnet20", 8, 16, c.dim, c.width, 11)
		// β = 3 in every batch normalisation moves almost every ReLU input
		// away from the kink at 0 (normalised values below −3 are rare), so
		// that central differences of this float32 network are accurate at a
		// step float32 resolves. ReLU's masking is checked op by op in
		// package nnops, and with the network at its initial β = 0 by
		// TestFastOpsMatchStock.
		for _, p := range rg.net.Learnables() {
			if strings.HasSuffix(p.Name(), ".beta") {
				for j, d := 0, p.Value().Data().([]float32); j < len(d); j++ {
					d[j] = 3
				}
			}
		}
		cost := func() float64 {
			var s float64
			for i, v := range rg.step(t) {
				s += float64(v) * float64(rg.r[i])
			}
			return s
		}
		cost()
		var grads [][]float32
		for _, p := range rg.net.Learnables() {
			gv, err := p.Grad()
			if err != nil {
				t.Fatalf("%v has no gradient: %v", p.Name(), err)
			}
			grads = append(grads, append([]float32(nil), gv.Data().([]float32)...))
		}
		rng := rand.New(rand.NewPCG(12, 12))
		const h = 1e-2 // along a unit direction
		for i, p := range rg.net.Learnables() {
			w := p.Value().Data().([]float32)
			orig := append([]float32(nil), w...)
			for dir := 0; dir < 2; dir++ {
				v := make([]float64, len(w))
				var norm2, want float64
				for j := range v {
					v[j] = rng.NormFloat64()
					if dir == 0 {
						v[j] = float64(grads[i][j])
					}
					norm2 += v[j] * v[j]
				}
				if norm2 == 0 {
					t.Errorf("case D %d, %v: gradient is all zero", c.dim, p.Name())
					continue
				}
				for j := range v {
					v[j] /= math.Sqrt(norm2)
					want += float64(grads[i][j]) * v[j]
				}
				at := func(sign float64) float64 {
					for j := range w {
						w[j] = orig[j] + float32(sign*h*v[j])
					}
					return cost()
				}
				got := (at(1) - at(-1)) / (2 * h)
				copy(w, orig)
				if math.Abs(got-want) > 0.03*math.Abs(want)+3e-3 {
					t.Errorf("case D %d, %v direction %d: central difference %v, gradient·v %v", c.dim, p.Name(), dir, got, want)
				}
			}
		}
	}
}

// TestResNet20ForwardBackward runs two identically seeded networks for two
// training steps: every gradient is finite and not all zero, and the two
// runs agree bit for bit.
func TestResNet20ForwardBackward(t *testing.T) {
	checkTwoSteps(t, func() *bnRig { return newBNRig(t, "resnet20", 4, 32, 10, 0.25, 5) })
}

// BenchmarkResNet20Step is one training step (forward and backward,
// clearing the gradients, no optimiser update) of ResNet-20 at width 1 on
// 3×32×32 at batch 128 in a TapeMachine, with 1 and 2 threads.
//
//	go test ./model/ -run '^$' -bench ResNet20Step -benchtime 5x
func BenchmarkResNet20Step(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("width=1/batch=128/threads=%d", th), func(b *testing.B) {
			old := nnops.Threads()
			nnops.SetThreads(th)
			defer nnops.SetThreads(old)
			rg := newBNRig(b, "resnet20", 128, 32, 64, 1, 1)
			rg.step(b) // warm-up: buffers
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rg.step(b)
			}
			b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
