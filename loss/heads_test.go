package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestHeadsInTrainerLoop drives every head the way experiment's trainer does: one graph,
// a training machine over the whole graph with dual values for the learnables, and an
// evaluation machine over the subgraph of the logits only. Each step: SetStep, RunAll,
// an in-place SGD step on the float32 arrays with OptionsOf's multipliers, zeroed
// gradients, Reset, PostStep. It checks that the loss falls, that the evaluation machine
// gives the logits the training machine computes with the same parameters, and that an
// evaluation run gives PostStep nothing to do.
func TestHeadsInTrainerLoop(t *testing.T) {
	const b, k, d, steps = 30, 3, 2, 40
	in := separable(b, d, k, 21)
	for _, name := range Names() {
		cfg := Defaults(name)
		cfg.Classes, cfg.Dim = k, d
		if name == "lsoftmax" {
			cfg.Margin = 2
		}
		if name == "gm" || name == "lgm" {
			cfg.Covariance = CovDiagonal
		}
		t.Run(name, func(t *testing.T) {
			g := G.NewGraph()
			feat := G.NewMatrix(g, tensor.Float32, G.WithName("feat"), G.WithShape(b, d),
				G.WithValue(tensor.New(tensor.WithShape(b, d), tensor.WithBacking(f32(in.Feat)))))
			onehot := G.NewMatrix(g, tensor.Float32, G.WithName("onehot"), G.WithShape(b, k),
				G.WithValue(tensor.New(tensor.WithShape(b, k), tensor.WithBacking(f32(oneHot(t, in.Labels, k))))))
			head, err := New(g, cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := head.Forward(feat, onehot)
			if err != nil {
				t.Fatal(err)
			}
			params := head.Learnables()
			opts := OptionsOf(head)
			if _, err := G.Grad(out.Loss, params...); err != nil {
				t.Fatal(err)
			}
			var lossV, trainLogits, evalLogits G.Value
			G.Read(out.Loss, &lossV)
			G.Read(out.Logits, &trainLogits)
			eval := G.NewTapeMachine(g.SubgraphRoots(G.Read(out.Logits, &evalLogits)))
			defer eval.Close()
			train := G.NewTapeMachine(g, G.BindDualValues(params...))
			defer train.Close()

			const lr = 0.1
			var losses []float64
			for step := 0; step < steps; step++ {
				if s, ok := head.(Scheduled); ok {
					s.SetStep(step, float64(step)/10)
				}
				if err := train.RunAll(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				losses = append(losses, float64(lossV.Data().(float32)))
				if step%10 == 9 && evalLogits != nil {
					checkClose(t, "evaluation logits", toFloats(t, evalLogits), toFloats(t, trainLogits), 0)
				}
				for i, p := range params {
					gr, err := p.Grad()
					if err != nil {
						t.Fatal(err)
					}
					w, dw := p.Value().Data().([]float32), gr.Data().([]float32)
					for j := range w {
						w[j] -= float32(lr * opts[i].LRMult * float64(dw[j]))
					}
					clear(dw)
				}
				train.Reset()
				if ps, ok := head.(PostStepper); ok {
					if err := ps.PostStep(); err != nil {
						t.Fatal(err)
					}
				}
				if step%10 == 8 { // evaluate; the next training run must give the same logits
					before := stateOf(t, head)
					if err := eval.RunAll(); err != nil {
						t.Fatal(err)
					}
					eval.Reset()
					if ps, ok := head.(PostStepper); ok {
						if err := ps.PostStep(); err != nil {
							t.Fatal(err)
						}
					}
					if after := stateOf(t, head); !slices.Equal(before, after) {
						t.Errorf("step %d: PostStep after an evaluation run changed the head's state", step)
					}
				}
			}
			checkFalls(t, losses, 0.7)
		})
	}
}

// f32 converts to float32.
func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// stateOf returns every learnable and buffer value of h, concatenated.
func stateOf(t *testing.T, h Head) []float64 {
	var all []float64
	nodes := slices.Clone(h.Learnables())
	if b, ok := h.(Buffered); ok {
		nodes = append(nodes, b.Buffers()...)
	}
	for _, n := range nodes {
		all = append(all, toFloats(t, n.Value())...)
	}
	return all
}

// TestCenterForwardTwice: with two Forward calls in one graph, PostStep applies the
// official update for both batches, in the order of the calls.
func TestCenterForwardTwice(t *testing.T) {
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.Dtype, cfg.CenterLR = 3, 2, tensor.Float64, 0.5
	g := G.NewGraph()
	h, err := NewCenter(g, cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var batches []input
	for _, b := range []int{4, 2} {
		in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1)
		feat := G.NewMatrix(g, tensor.Float64, G.WithShape(b, cfg.Dim),
			G.WithValue(tensor.New(tensor.WithShape(b, cfg.Dim), tensor.WithBacking(in.Feat))))
		onehot := G.NewMatrix(g, tensor.Float64, G.WithShape(b, cfg.Classes),
			G.WithValue(tensor.New(tensor.WithShape(b, cfg.Classes), tensor.WithBacking(oneHot(t, in.Labels, cfg.Classes)))))
		if _, err := h.Forward(feat, onehot); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, in)
	}
	c := toFloats(t, h.centers.Value())
	for _, in := range batches { // the rule by hand, batch after batch
		sum := make([]float64, len(c))
		n := make([]float64, cfg.Classes)
		for i, y := range in.Labels {
			n[y]++
			for j := 0; j < cfg.Dim; j++ {
				sum[y*cfg.Dim+j] += c[y*cfg.Dim+j] - in.Feat[i*cfg.Dim+j]
			}
		}
		for i := range c {
			c[i] -= 0.5 * sum[i] / (1 + n[i/cfg.Dim])
		}
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if err := h.PostStep(); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "centres", toFloats(t, h.centers.Value()), c, 1e-14)
}

func TestNewHeadErrors(t *testing.T) {
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.Lambda = 3, 0, Constant(-1)
	_, err := New(g, cfg, rng)
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{"head.dim must be >= 1 (got 0)", "head.lambda must be >= 0 (got -1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	_, err = New(g, Config{Name: "lgmm", Classes: 3, Dim: 2}, rng)
	if got, want := err.Error(), `unknown head "lgmm" (want one of: center, gm, lgm, lsoftmax, softmax)`; got != want || !errors.Is(err, ErrUnknownHead) {
		t.Errorf("error %q, want %q wrapping ErrUnknownHead", got, want)
	}
	if !slices.IsSorted(Names()) {
		t.Errorf("Names() = %v, want them sorted", Names())
	}
	if got := Defaults("nope"); got != (Config{Name: "nope"}) {
		t.Errorf("Defaults of an unknown name = %+v, want only the name", got)
	}
}

// TestArgmaxOneHot: the first maximum wins ties, and a row of NaNs picks class 0, so
// LogLik always scores exactly one class.
func TestArgmaxOneHot(t *testing.T) {
	g := G.NewGraph()
	z := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 3), G.WithValue(tensor.New(tensor.WithShape(3, 3),
		tensor.WithBacking([]float64{1, 2, 2, 5, 5, 5, math.NaN(), math.NaN(), math.NaN()}))))
	m, err := argmaxOneHot(z)
	if err != nil {
		t.Fatal(err)
	}
	var got G.Value
	G.Read(m, &got)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if want := []float64{0, 1, 0, 1, 0, 0, 1, 0, 0}; !slices.Equal(toFloats(t, got), want) {
		t.Errorf("got %v, want %v", toFloats(t, got), want)
	}
}

func BenchmarkCenterSmall(b *testing.B)   { benchmarkHead(b, "center", 32, 2) }
func BenchmarkCenterLarge(b *testing.B)   { benchmarkHead(b, "center", 256, 512) }
func BenchmarkLSoftmaxSmall(b *testing.B) { benchmarkHead(b, "lsoftmax", 32, 2) }
func BenchmarkLSoftmaxLarge(b *testing.B) { benchmarkHead(b, "lsoftmax", 256, 512) }
func BenchmarkLGMSmall(b *testing.B)      { benchmarkHead(b, "lgm", 32, 2) }
func BenchmarkLGMLarge(b *testing.B)      { benchmarkHead(b, "lgm", 256, 512) }

// benchmarkHead times one forward and backward pass of head name with its defaults in
// float32, K = 10, on a batch of size batch with features of size dim.
func benchmarkHead(b *testing.B, name string, batch, dim int) {
	cfg := Defaults(name)
	cfg.Classes, cfg.Dim = 10, dim
	r := newRig(b, cfg, batch, 1)
	r.set(b, randomInput(rand.New(rand.NewPCG(1, 2)), batch, dim, cfg.Classes, 1))
	for b.Loop() {
		if err := r.vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		r.vm.Reset()
	}
}
