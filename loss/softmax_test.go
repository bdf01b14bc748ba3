package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refSoftmax is an independent per-sample float64 softmax head: w is (D×K) row-major, b
// is (K) or nil. It returns the batch-mean cross-entropy, the (B·K) logits and the (B)
// winning logits.
func refSoftmax(feat, w, b []float64, labels []int, d, k int) (loss float64, logits, top []float64) {
	n := len(labels)
	logits = make([]float64, n*k)
	top = make([]float64, n)
	for i := 0; i < n; i++ {
		z := logits[i*k : (i+1)*k]
		for c := 0; c < k; c++ {
			for j := 0; j < d; j++ {
				z[c] += feat[i*d+j] * w[j*k+c]
			}
			if b != nil {
				z[c] += b[c]
			}
		}
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, v)
		}
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(v - m)
		}
		loss += m + math.Log(sum) - z[labels[i]]
		top[i] = m
	}
	return loss / float64(n), logits, top
}

// softmaxCases are the shapes and options the softmax tests run over.
func softmaxCases(dt tensor.Dtype) []Config {
	var cfgs []Config
	for _, d := range []int{2, 5} {
		for _, bias := range []bool{false, true} {
			cfgs = append(cfgs, Config{Name: "softmax", Classes: 10, Dim: d, Bias: bias, Dtype: dt})
		}
	}
	return cfgs
}

func TestSoftmaxMatchesReference(t *testing.T) {
	const b = 7
	for _, tc := range []struct {
		dt  tensor.Dtype
		tol float64
	}{{tensor.Float64, 1e-12}, {tensor.Float32, 1e-5}} {
		for _, cfg := range softmaxCases(tc.dt) {
			t.Run(caseName(cfg), func(t *testing.T) {
				r := newRig(t, cfg, b, 1)
				rng := rand.New(rand.NewPCG(2, 3))
				for trial := range 3 {
					in := randomInput(rng, b, cfg.Dim, cfg.Classes, 3)
					in.Params = map[string][]float64{"head.W": randomInput(rng, cfg.Dim*cfg.Classes, 1, 1, 1).Feat}
					var bias []float64
					if cfg.Bias {
						bias = randomInput(rng, cfg.Classes, 1, 1, 1).Feat
						in.Params["head.b"] = bias
					}
					got := r.run(t, in)
					loss, logits, top := refSoftmax(in.Feat, in.Params["head.W"], bias, in.Labels, cfg.Dim, cfg.Classes)
					if !near(got.Loss, loss, tc.tol) {
						t.Errorf("trial %d: loss: got %.10g, want %.10g", trial, got.Loss, loss)
					}
					if got.Terms["xent"] != got.Loss || len(got.Terms) != 1 {
						t.Errorf("trial %d: terms: got %v, want only xent = %v", trial, got.Terms, got.Loss)
					}
					checkClose(t, "logits", got.Logits, logits, tc.tol)
					checkClose(t, "loglik", got.LogLik, top, tc.tol)
				}
			})
		}
	}
}

func TestSoftmaxGradients(t *testing.T) {
	for _, cfg := range softmaxCases(tensor.Float64) {
		t.Run(caseName(cfg), func(t *testing.T) {
			const b = 7
			r := newRig(t, cfg, b, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			in := randomInput(rng, b, cfg.Dim, cfg.Classes, 2)
			checkGradients(t, r, in, 1e-6)
		})
	}
}

// TestSoftmaxGradientsAtTies checks the gradient where every logit ties for the maximum
// (W = 0, no bias), the one place the max used for stability has a kink.
func TestSoftmaxGradientsAtTies(t *testing.T) {
	cfg := Config{Name: "softmax", Classes: 10, Dim: 5, Dtype: tensor.Float64}
	const b = 7
	r := newRig(t, cfg, b, 4)
	in := randomInput(rand.New(rand.NewPCG(7, 8)), b, cfg.Dim, cfg.Classes, 1)
	in.Params = map[string][]float64{"head.W": make([]float64, cfg.Dim*cfg.Classes)}
	got := r.run(t, in)
	if want := math.Log(float64(cfg.Classes)); !near(got.Loss, want, 1e-12) {
		t.Errorf("loss with all logits equal: got %v, want log K = %v", got.Loss, want)
	}
	checkGradients(t, r, in, 1e-6)
}

func TestSoftmaxDtypesAgree(t *testing.T) {
	for _, cfg := range softmaxCases(tensor.Float32) {
		t.Run(caseName(cfg), func(t *testing.T) { checkDtypesAgree(t, cfg, 7, 15, 1e-5) })
	}
}

func TestSoftmaxLogitsIgnoreLabels(t *testing.T) {
	for _, cfg := range append(softmaxCases(tensor.Float32), softmaxCases(tensor.Float64)...) {
		t.Run(caseName(cfg), func(t *testing.T) { checkLogitsIgnoreLabels(t, cfg, 7, 9) })
	}
}

// TestSoftmaxHugeLogits sets W so that the logits are the features and their negatives,
// then feeds features of ±1e4: a naive exp would overflow float32 (and float64).
func TestSoftmaxHugeLogits(t *testing.T) {
	const b, d, k = 7, 5, 10
	w := make([]float64, d*k) // logits = [x, -x]
	for j := 0; j < d; j++ {
		w[j*k+j] = 1
		w[j*k+d+j] = -1
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		cfg := Config{Name: "softmax", Classes: k, Dim: d, Dtype: dt}
		t.Run(caseName(cfg), func(t *testing.T) {
			r := newRig(t, cfg, b, 1)
			rng := rand.New(rand.NewPCG(10, 11))
			in := randomInput(rng, b, d, k, 1)
			for i := range in.Feat {
				in.Feat[i] = math.Copysign(1e4, in.Feat[i]) * float64(1+i%3) / 3
			}
			in.Params = map[string][]float64{"head.W": w}
			got := r.run(t, in)
			checkFinite(t, got)
			loss, logits, top := refSoftmax(in.Feat, w, nil, in.Labels, d, k)
			if !near(got.Loss, loss, 1e-6) {
				t.Errorf("loss: got %.10g, want %.10g", got.Loss, loss)
			}
			if loss < 1e3 {
				t.Errorf("reference loss %v is small; the case does not test huge logits", loss)
			}
			checkClose(t, "logits", got.Logits, logits, 1e-6)
			checkClose(t, "loglik", got.LogLik, top, 1e-6)
		})
	}
}

func TestSoftmaxSeededInit(t *testing.T) {
	for _, cfg := range append(softmaxCases(tensor.Float32), softmaxCases(tensor.Float64)...) {
		t.Run(caseName(cfg), func(t *testing.T) {
			checkSeededInit(t, cfg)
			bound := 1 / math.Sqrt(float64(cfg.Dim))
			for name, vals := range newRig(t, cfg, 1, 3).paramValues(t) {
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, v := range vals {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				if lo < -bound || hi > bound || hi-lo < bound/2 {
					t.Errorf("%s spans [%v, %v], want a spread inside U(-%v, %v)", name, lo, hi, bound, bound)
				}
			}
		})
	}
}

func TestSoftmaxLearnables(t *testing.T) {
	for _, tc := range []struct {
		bias bool
		want []string
	}{{false, []string{"head.W"}}, {true, []string{"head.W", "head.b"}}} {
		cfg := Config{Name: "softmax", Classes: 4, Dim: 3, Bias: tc.bias}
		r := newRig(t, cfg, 2, 1)
		var got []string
		for _, p := range r.params {
			got = append(got, p.Name())
			if p.Dtype() != tensor.Float32 {
				t.Errorf("bias=%v: %s dtype is %v, want float32 by default", tc.bias, p.Name(), p.Dtype())
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("bias=%v: learnables %v, want %v", tc.bias, got, tc.want)
		}
		if s := r.param(t, "head.W").Shape(); !s.Eq(tensor.Shape{3, 4}) {
			t.Errorf("head.W shape %v, want (3, 4)", s)
		}
	}
}

// TestSoftmaxTrains runs 50 steps of plain SGD on W alone, with Gorgonia's own solver, on
// fixed features of three well-separated classes, and checks that the loss falls.
func TestSoftmaxTrains(t *testing.T) {
	const b, k, d, steps = 30, 3, 2, 50
	cfg := Config{Name: "softmax", Classes: k, Dim: d}
	r := newRig(t, cfg, b, 12)
	rng := rand.New(rand.NewPCG(13, 14))
	in := input{Feat: make([]float64, b*d), Labels: make([]int, b)}
	for i := range in.Labels {
		y := i % k
		angle := 2 * math.Pi * float64(y) / k
		in.Labels[i] = y
		in.Feat[i*d] = 2*math.Cos(angle) + 0.3*rng.NormFloat64()
		in.Feat[i*d+1] = 2*math.Sin(angle) + 0.3*rng.NormFloat64()
	}
	r.set(t, in)
	w := r.param(t, "head.W")
	solver := G.NewVanillaSolver(G.WithLearnRate(0.5))
	var losses []float64
	for step := 0; step < steps; step++ {
		if err := r.vm.RunAll(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		losses = append(losses, scalar(t, r.value(t, r.out.Loss)))
		if err := solver.Step(G.NodesToValueGrads(G.Nodes{w})); err != nil {
			t.Fatalf("step %d: solver: %v", step, err)
		}
		r.vm.Reset()
	}
	first, last := losses[0], losses[steps-1]
	if !(last < first/4) || last > 0.2 {
		t.Errorf("loss went from %.4f to %.4f in %d steps, want it below min(%.4f, 0.2)", first, last, steps, first/4)
	}
	for i := 1; i < steps; i++ {
		if losses[i] > losses[i-1]+1e-6 {
			t.Errorf("loss rose at step %d: %.6f → %.6f", i, losses[i-1], losses[i])
		}
	}
}

func TestNewErrors(t *testing.T) {
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error, in order
	}{
		{"unknown head", Config{Name: "lgmm", Classes: 10, Dim: 2},
			[]string{`unknown head "lgmm" (want one of: center, gm, lgm, lsoftmax, softmax)`}},
		{"empty name", Config{Classes: 10, Dim: 2},
			[]string{`unknown head "" (want one of: center, gm, lgm, lsoftmax, softmax)`}},
		{"all problems at once", Config{Name: "lgmm", Classes: 1, Dim: 0, Dtype: tensor.Int},
			[]string{"head.classes must be >= 2 (got 1)", "head.dim must be >= 1 (got 0)",
				"dtype must be float32 or float64 (got int)", `unknown head "lgmm"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(g, tc.cfg, rng)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want an error", tc.cfg, h)
			}
			msg := err.Error()
			for _, w := range tc.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
	_, err := New(g, Config{Name: "lgmm", Classes: 10, Dim: 2}, rng)
	if got, want := err.Error(), `unknown head "lgmm" (want one of: center, gm, lgm, lsoftmax, softmax)`; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrUnknownHead) {
		t.Errorf("error %v does not wrap ErrUnknownHead", err)
	}
	if _, err := New(g, Config{Name: "softmax", Classes: 10, Dim: 2}, nil); err == nil {
		t.Errorf("New with a nil rng: got no error")
	}
}

func TestNamesAllBuild(t *testing.T) {
	for _, name := range Names() {
		g := G.NewGraph()
		cfg := Defaults(name)
		cfg.Classes, cfg.Dim = 3, 2
		h, err := New(g, cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Errorf("New(%q): %v", name, err)
			continue
		}
		if h.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, h.Name())
		}
	}
}

func TestForwardRejectsBadInputs(t *testing.T) {
	g := G.NewGraph()
	h, err := New(g, Config{Name: "softmax", Classes: 3, Dim: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	feat := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 2), G.WithName("feat"))
	onehot := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithName("onehot"))
	other := G.NewGraph()
	for _, tc := range []struct {
		name         string
		feat, onehot *G.Node
		want         string
	}{
		{"feat width", G.NewMatrix(g, tensor.Float32, G.WithShape(4, 5)), onehot, "feat shape is (4, 5), want (B, 2)"},
		{"onehot width", feat, G.NewMatrix(g, tensor.Float32, G.WithShape(4, 2)), "onehot shape is (4, 2), want (B, 3)"},
		{"batch sizes", feat, G.NewMatrix(g, tensor.Float32, G.WithShape(5, 3)), "feat has 4 rows but onehot has 5"},
		{"dtype", G.NewMatrix(g, tensor.Float64, G.WithShape(4, 2)), onehot, "feat dtype is float64, want float32"},
		{"graph", G.NewMatrix(other, tensor.Float32, G.WithShape(4, 2)), onehot, "feat is in another graph"},
		{"nil", nil, onehot, "must not be nil"},
	} {
		if _, err := h.Forward(tc.feat, tc.onehot); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func BenchmarkSoftmaxSmall(b *testing.B)  { benchmarkSoftmax(b, 32, 2) }
func BenchmarkSoftmaxMedium(b *testing.B) { benchmarkSoftmax(b, 256, 2) }
func BenchmarkSoftmaxLarge(b *testing.B)  { benchmarkSoftmax(b, 256, 512) }

// benchmarkSoftmax times one forward and backward pass of a float32 softmax head with
// K = 10 on a batch of size batch with features of size dim.
func benchmarkSoftmax(b *testing.B, batch, dim int) {
	cfg := Config{Name: "softmax", Classes: 10, Dim: dim, Bias: true}
	r := newRig(b, cfg, batch, 1)
	r.set(b, randomInput(rand.New(rand.NewPCG(1, 2)), batch, dim, cfg.Classes, 1))
	for b.Loop() {
		if err := r.vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		r.vm.Reset()
	}
}

// TestSoftmaxForwardTwice calls Forward for two batch sizes in one graph, as a trainer with
// a training and an evaluation batch would, and checks both against the reference.
func TestSoftmaxForwardTwice(t *testing.T) {
	cfg := Config{Name: "softmax", Classes: 4, Dim: 3, Bias: true, Dtype: tensor.Float64}
	g := G.NewGraph()
	h, err := New(g, cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	type batch struct {
		in   input
		loss G.Value
	}
	var batches []*batch
	for _, b := range []int{5, 2} {
		bt := &batch{in: randomInput(rng, b, cfg.Dim, cfg.Classes, 1)}
		feat := G.NewMatrix(g, tensor.Float64, G.WithShape(b, cfg.Dim),
			G.WithValue(tensor.New(tensor.WithShape(b, cfg.Dim), tensor.WithBacking(bt.in.Feat))))
		onehot := G.NewMatrix(g, tensor.Float64, G.WithShape(b, cfg.Classes),
			G.WithValue(tensor.New(tensor.WithShape(b, cfg.Classes), tensor.WithBacking(oneHot(t, bt.in.Labels, cfg.Classes)))))
		out, err := h.Forward(feat, onehot)
		if err != nil {
			t.Fatalf("Forward for B=%d: %v", b, err)
		}
		G.Read(out.Loss, &bt.loss)
		batches = append(batches, bt)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	w := toFloats(t, h.Learnables()[0].Value())
	bias := toFloats(t, h.Learnables()[1].Value())
	for _, bt := range batches {
		want, _, _ := refSoftmax(bt.in.Feat, w, bias, bt.in.Labels, cfg.Dim, cfg.Classes)
		if got := scalar(t, bt.loss); !near(got, want, 1e-12) {
			t.Errorf("B=%d: loss %v, want %v", len(bt.in.Labels), got, want)
		}
	}
}
