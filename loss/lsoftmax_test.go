package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// refLSoftmax is an independent per-sample float64 L-Softmax head, written from the
// paper's definition with θ = acos and cos(mθ) by math.Cos (no Chebyshev polynomial), and
// cos θ = 0 when x or W_y is zero: w is (D×K) row-major. It returns the batch-mean loss,
// the (B·K) logits W_kᵀx and the (B) winning logits.
func refLSoftmax(feat, w []float64, labels []int, d, k, m int, beta float64) (loss float64, logits, top []float64) {
	n := len(labels)
	logits = make([]float64, n*k)
	top = make([]float64, n)
	for i := 0; i < n; i++ {
		x := feat[i*d : (i+1)*d]
		z := logits[i*k : (i+1)*k]
		var nx, nw float64
		y := labels[i]
		for c := 0; c < k; c++ {
			for j := 0; j < d; j++ {
				z[c] += x[j] * w[j*k+c]
			}
		}
		for j := 0; j < d; j++ {
			nx += x[j] * x[j]
			nw += w[j*k+y] * w[j*k+y]
		}
		nx, nw = math.Sqrt(nx), math.Sqrt(nw)
		cos := 0.0
		if nx*nw > 0 {
			cos = math.Max(-1, math.Min(1, z[y]/(nx*nw)))
		}
		theta := math.Acos(cos)
		seg := min(int(math.Floor(theta*float64(m)/math.Pi)), m-1)
		psi := math.Pow(-1, float64(seg))*math.Cos(float64(m)*theta) - 2*float64(seg)
		f := (nw*nx*psi + beta*z[y]) / (1 + beta)
		mx := f
		for c, v := range z {
			if c != y {
				mx = math.Max(mx, v)
			}
		}
		sum := math.Exp(f - mx)
		for c, v := range z {
			if c != y {
				sum += math.Exp(v - mx)
			}
		}
		loss += mx + math.Log(sum) - f
		top[i] = slicesMax(z)
	}
	return loss / float64(n), logits, top
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// lsoftmaxConfig is an L-Softmax config with margin m and constant β.
func lsoftmaxConfig(k, d, m int, beta float64, dt tensor.Dtype) Config {
	cfg := Defaults("lsoftmax")
	cfg.Classes, cfg.Dim, cfg.Margin, cfg.Beta, cfg.Dtype = k, d, m, Constant(beta), dt
	return cfg
}

func lsoftmaxName(cfg Config) string {
	return fmt.Sprintf("%s/m=%d/beta=%v", caseName(cfg), cfg.Margin, cfg.Beta.Value)
}

func TestLSoftmaxMatchesReference(t *testing.T) {
	const b = 8
	for _, tc := range []struct {
		dt  tensor.Dtype
		tol float64
	}{{tensor.Float64, 1e-10}, {tensor.Float32, 1e-4}} {
		for m := 1; m <= 4; m++ {
			for _, beta := range []float64{0, 0.5, 100} {
				cfg := lsoftmaxConfig(5, 3, m, beta, tc.dt)
				t.Run(lsoftmaxName(cfg), func(t *testing.T) {
					r := newRig(t, cfg, b, 1)
					rng := rand.New(rand.NewPCG(2, uint64(m)))
					segments := map[int]bool{}
					for trial := range 4 {
						in := randomInput(rng, b, cfg.Dim, cfg.Classes, 2)
						in.Params = randomParams(t, r, rng, 1)
						got := r.run(t, in)
						loss, logits, top := refLSoftmax(in.Feat, in.Params["head.W"], in.Labels, cfg.Dim, cfg.Classes, m, beta)
						if !near(got.Loss, loss, tc.tol) {
							t.Errorf("trial %d: loss: got %.10g, want %.10g", trial, got.Loss, loss)
						}
						if len(got.Terms) != 1 || got.Terms["xent"] != got.Loss {
							t.Errorf("trial %d: terms %v, want only xent = loss", trial, got.Terms)
						}
						checkClose(t, "logits", got.Logits, logits, tc.tol)
						checkClose(t, "loglik", got.LogLik, top, tc.tol)
						for i, y := range in.Labels { // which segments k the trial covered
							cos := logits[i*cfg.Classes+y] / (norm(in.Feat[i*cfg.Dim:(i+1)*cfg.Dim]) * normCol(in.Params["head.W"], cfg.Classes, y))
							segments[min(int(math.Acos(cos)*float64(m)/math.Pi), m-1)] = true
						}
					}
					if len(segments) != m {
						t.Errorf("the trials covered segments %v of %d; pick other data", segments, m)
					}
				})
			}
		}
	}
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// normCol is the norm of column c of the (D×K) row-major w.
func normCol(w []float64, k, c int) float64 {
	s := 0.0
	for j := c; j < len(w); j += k {
		s += w[j] * w[j]
	}
	return math.Sqrt(s)
}

func TestLSoftmaxGradients(t *testing.T) {
	for m := 1; m <= 4; m++ {
		for _, beta := range []float64{0, 2} {
			cfg := lsoftmaxConfig(5, 3, m, beta, tensor.Float64)
			t.Run(lsoftmaxName(cfg), func(t *testing.T) {
				const b = 6
				r := newRig(t, cfg, b, 4)
				rng := rand.New(rand.NewPCG(5, uint64(m)))
				in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1.5)
				in.Params = randomParams(t, r, rng, 1)
				checkGradients(t, r, in, 1e-6)
			})
		}
	}
}

// TestLSoftmaxContinuousAcrossSegments moves a feature's angle to W_y across every
// segment boundary θ = jπ/m: the target logit (the loss, with one class) must not jump.
func TestLSoftmaxContinuousAcrossSegments(t *testing.T) {
	for m := 2; m <= 4; m++ {
		cfg := lsoftmaxConfig(2, 2, m, 0, tensor.Float64)
		r := newRig(t, cfg, 1, 1)
		w := []float64{1, 0, 0, 1} // W_0 = (1, 0), W_1 = (0, 1)
		lossAt := func(theta float64) float64 {
			in := input{Feat: []float64{math.Cos(theta), math.Sin(theta)}, Labels: []int{0}, Params: map[string][]float64{"head.W": w}}
			return r.run(t, in).Loss
		}
		for j := 1; j < m; j++ {
			th := float64(j) * math.Pi / float64(m)
			below, above := lossAt(th-1e-9), lossAt(th+1e-9)
			if math.Abs(below-above) > 1e-6 {
				t.Errorf("m=%d, θ = %dπ/%d: loss %v just below, %v just above", m, j, m, below, above)
			}
		}
		if a, b := lossAt(0.2), lossAt(0.4); !(b > a) {
			t.Errorf("m=%d: loss %v at θ=0.2 is not below %v at θ=0.4", m, a, b)
		}
	}
}

// TestLSoftmaxMarginOneIsSoftmax: with m = 1 the head is softmax without bias, for any β,
// with the same W (both heads draw W first, from the same seed and bound).
func TestLSoftmaxMarginOneIsSoftmax(t *testing.T) {
	for _, beta := range []float64{0, 3} {
		cfg := lsoftmaxConfig(5, 3, 1, beta, tensor.Float64)
		t.Run(lsoftmaxName(cfg), func(t *testing.T) {
			const b = 7
			rl := newRig(t, cfg, b, 9)
			rs := newRig(t, Config{Name: "softmax", Classes: 5, Dim: 3, Dtype: tensor.Float64}, b, 9)
			in := randomInput(rand.New(rand.NewPCG(3, 3)), b, cfg.Dim, cfg.Classes, 2)
			gl, gs := rl.run(t, in), rs.run(t, in)
			if !near(gl.Loss, gs.Loss, 1e-12) {
				t.Errorf("loss: lsoftmax %v, softmax %v", gl.Loss, gs.Loss)
			}
			checkClose(t, "logits", gl.Logits, gs.Logits, 0)
			checkClose(t, "loglik", gl.LogLik, gs.LogLik, 0)
			checkClose(t, "∂loss/∂feat", gl.GradFeat, gs.GradFeat, 1e-12)
			checkClose(t, "∂loss/∂head.W", gl.Grads["head.W"], gs.Grads["head.W"], 1e-12)
		})
	}
}

func TestLSoftmaxLogitsIgnoreLabels(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, m := range []int{2, 4} {
			cfg := lsoftmaxConfig(5, 3, m, 1, dt)
			t.Run(lsoftmaxName(cfg), func(t *testing.T) { checkLogitsIgnoreLabels(t, cfg, 7, 9) })
		}
	}
}

func TestLSoftmaxDtypesAgree(t *testing.T) {
	for m := 1; m <= 4; m++ {
		cfg := lsoftmaxConfig(5, 3, m, 1, tensor.Float32)
		t.Run(lsoftmaxName(cfg), func(t *testing.T) { checkDtypesAgree(t, cfg, 7, 15, 1e-4) })
	}
}

func TestLSoftmaxSeededInit(t *testing.T) {
	checkSeededInit(t, lsoftmaxConfig(5, 3, 4, 1, tensor.Float32))
}

// TestLSoftmaxHugeFeatures: with m = 4 and β = 0 the target logit of a badly placed
// feature of norm 1e4 is about −8e4; the loss is huge but finite, in float32 too.
func TestLSoftmaxHugeFeatures(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		cfg := lsoftmaxConfig(4, 3, 4, 0, dt)
		t.Run(lsoftmaxName(cfg), func(t *testing.T) {
			r := newRig(t, cfg, 5, 1)
			rng := rand.New(rand.NewPCG(1, 9))
			in := randomInput(rng, 5, 3, 4, 1e4)
			in.Feat[0], in.Feat[1], in.Feat[2] = 0, 0, 0 // a zero feature: cos θ must not be NaN
			in.Params = randomParams(t, r, rng, 1)
			got := r.run(t, in)
			checkFinite(t, got)
			loss, _, _ := refLSoftmax(in.Feat, in.Params["head.W"], in.Labels, 3, 4, 4, 0)
			if !near(got.Loss, loss, 1e-5) || loss < 1e3 {
				t.Errorf("loss %v, want %v (and > 1e3)", got.Loss, loss)
			}
		})
	}
}

// TestLSoftmaxSetStep: β follows the official MNIST annealing, and is a graph input: a
// huge β makes the loss softmax's, β = 0 the pure margin loss.
func TestLSoftmaxSetStep(t *testing.T) {
	cfg := Defaults("lsoftmax")
	cfg.Classes, cfg.Dim, cfg.Dtype = 4, 3, tensor.Float64
	r := newRig(t, cfg, 5, 1)
	in := randomInput(rand.New(rand.NewPCG(2, 9)), 5, 3, 4, 1)
	in.Params = r.paramValues(t)
	s := r.head.(Scheduled)
	for _, tc := range []struct {
		iter int
		want float64
	}{{0, 1000}, {1000, 421.4}, {5000, 16.2}, {10000, 0.405}} {
		vals := s.SetStep(tc.iter, 0)
		if len(vals) != 1 || !near(vals["beta"], tc.want, 2e-3) {
			t.Errorf("SetStep(%d) = %v, want beta ≈ %v", tc.iter, vals, tc.want)
		}
		got := r.run(t, in)
		want, _, _ := refLSoftmax(in.Feat, in.Params["head.W"], in.Labels, 3, 4, 4, vals["beta"])
		if !near(got.Loss, want, 1e-10) {
			t.Errorf("step %d: loss %v, want %v", tc.iter, got.Loss, want)
		}
	}
}

// TestLSoftmaxTrains trains W with m = 4 and β annealed from 100 towards 0 on fixed
// separable features: the margin loss falls.
func TestLSoftmaxTrains(t *testing.T) {
	const b, k, d = 30, 3, 2
	cfg := Defaults("lsoftmax")
	cfg.Classes, cfg.Dim = k, d
	cfg.Beta = Schedule{Kind: "inv", Value: 100, Gamma: 0.5, Power: 2}
	r := newRig(t, cfg, b, 12)
	losses := trainSteps(t, r, separable(b, d, k, 13), 80, 0.2)
	checkFalls(t, losses, 0.5)
}

func TestLSoftmaxConfigErrors(t *testing.T) {
	cfg := Defaults("lsoftmax")
	cfg.Classes, cfg.Dim, cfg.Margin, cfg.Bias = 3, 2, 5, true
	cfg.Beta.Power = -1
	_, err := NewLSoftmax(nil, cfg, nil)
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{"head.margin must be 1, 2, 3 or 4 (got 5)", "head.bias must be false for lsoftmax", "head.beta.power must be >= 0 (got -1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
