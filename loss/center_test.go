package loss

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// refCenter is an independent per-sample float64 center-loss head: w is (D×K) row-major,
// b is (K) or nil, c is (K×D). It returns the loss, the batch-mean cross-entropy, L_C =
// 1/(2B) Σ||x − c_y||², the (B·K) logits and the (B) scores −½||x − c_ŷ||².
func refCenter(feat, w, b, c []float64, labels []int, d, k int, lambda float64) (loss, xent, lc float64, logits, loglik []float64) {
	n := len(labels)
	xent, logits, _ = refSoftmax(feat, w, b, labels, d, k)
	loglik = make([]float64, n)
	for i := 0; i < n; i++ {
		x := feat[i*d : (i+1)*d]
		dist := func(class int) float64 {
			s := 0.0
			for j := 0; j < d; j++ {
				s += (x[j] - c[class*d+j]) * (x[j] - c[class*d+j])
			}
			return s / 2
		}
		lc += dist(labels[i])
		loglik[i] = -dist(argmax(logits[i*k : (i+1)*k]))
	}
	lc /= float64(n)
	return xent + lambda*lc, xent, lc, logits, loglik
}

// centerCases are the configurations the center tests run over.
func centerCases(dt tensor.Dtype) []Config {
	var cfgs []Config
	for _, mode := range []string{CenterOfficial, CenterGradient} {
		for _, bias := range []bool{false, true} {
			cfg := Defaults("center")
			cfg.Classes, cfg.Dim, cfg.Bias, cfg.Dtype = 5, 3, bias, dt
			cfg.CenterUpdate = mode
			cfg.Lambda = Constant(0.3)
			cfgs = append(cfgs, cfg)
		}
	}
	return cfgs
}

func centerName(cfg Config) string { return caseName(cfg) + "/" + cfg.CenterUpdate }

// randomParams returns random values for every learnable and buffer of r, N(0, scale²).
func randomParams(t *testing.T, r *rig, rng *rand.Rand, scale float64) map[string][]float64 {
	t.Helper()
	ps := map[string][]float64{}
	for name, v := range r.paramValues(t) {
		ps[name] = make([]float64, len(v))
		for i := range v {
			ps[name][i] = scale * rng.NormFloat64()
		}
	}
	return ps
}

func TestCenterMatchesReference(t *testing.T) {
	const b = 7
	for _, tc := range []struct {
		dt  tensor.Dtype
		tol float64
	}{{tensor.Float64, 1e-12}, {tensor.Float32, 1e-5}} {
		for _, cfg := range centerCases(tc.dt) {
			t.Run(centerName(cfg), func(t *testing.T) {
				r := newRig(t, cfg, b, 1)
				rng := rand.New(rand.NewPCG(2, 3))
				for trial := range 3 {
					in := randomInput(rng, b, cfg.Dim, cfg.Classes, 2)
					in.Params = randomParams(t, r, rng, 1)
					got := r.run(t, in)
					loss, xent, lc, logits, loglik := refCenter(in.Feat, in.Params["head.W"], in.Params["head.b"],
						in.Params["head.centers"], in.Labels, cfg.Dim, cfg.Classes, 0.3)
					if !near(got.Loss, loss, tc.tol) {
						t.Errorf("trial %d: loss: got %.10g, want %.10g", trial, got.Loss, loss)
					}
					if len(got.Terms) != 2 || !near(got.Terms["xent"], xent, tc.tol) || !near(got.Terms["center"], lc, tc.tol) {
						t.Errorf("trial %d: terms: got %v, want xent %v, center %v", trial, got.Terms, xent, lc)
					}
					checkClose(t, "logits", got.Logits, logits, tc.tol)
					checkClose(t, "loglik", got.LogLik, loglik, tc.tol)
				}
			})
		}
	}
}

// TestCenterGradients checks every gradient against central differences. In "gradient"
// mode the centres' gradient is, by design, the loss's divided by λ.
func TestCenterGradients(t *testing.T) {
	for _, cfg := range centerCases(tensor.Float64) {
		t.Run(centerName(cfg), func(t *testing.T) {
			const b = 6
			r := newRig(t, cfg, b, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1.5)
			in.Params = randomParams(t, r, rng, 1)
			if cfg.CenterUpdate == CenterOfficial {
				checkGradients(t, r, in, 1e-6)
				return
			}
			// Gradient mode: features and W as usual; centres 1/λ times the loss's.
			got := r.run(t, in)
			checkClose(t, "∂loss/∂feat", got.GradFeat, numericGrad(t, r, in, in.Feat), 1e-6)
			checkClose(t, "∂loss/∂head.W", got.Grads["head.W"], numericGrad(t, r, in, in.Params["head.W"]), 1e-6)
			want := numericGrad(t, r, in, in.Params["head.centers"])
			for i := range want {
				want[i] /= 0.3
			}
			checkClose(t, "∂loss/∂head.centers", got.Grads["head.centers"], want, 1e-6)
		})
	}
}

// TestCenterGradientModeLambdaZero: with λ = 0 the centres still get ∂L_C/∂c_j =
// Σ_{i: y_i = j} (c_j − x_i)/B (no 0·∞), and everything else is softmax's.
func TestCenterGradientModeLambdaZero(t *testing.T) {
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.Dtype = 4, 3, tensor.Float64
	cfg.CenterUpdate, cfg.Lambda = CenterGradient, Constant(0)
	const b = 6
	r := newRig(t, cfg, b, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1)
	in.Params = randomParams(t, r, rng, 1)
	got := r.run(t, in)
	checkFinite(t, got)
	want := make([]float64, cfg.Classes*cfg.Dim)
	c := in.Params["head.centers"]
	for i, y := range in.Labels {
		for j := 0; j < cfg.Dim; j++ {
			want[y*cfg.Dim+j] += (c[y*cfg.Dim+j] - in.Feat[i*cfg.Dim+j]) / b
		}
	}
	checkClose(t, "∂loss/∂head.centers", got.Grads["head.centers"], want, 1e-12)
}

// TestCenterLambdaZeroIsSoftmax: with λ = 0 the loss, logits and gradients are softmax's
// with the same W and b (both heads draw W first from the same seed).
func TestCenterLambdaZeroIsSoftmax(t *testing.T) {
	for _, mode := range []string{CenterOfficial, CenterGradient} {
		for _, bias := range []bool{false, true} {
			cfg := Defaults("center")
			cfg.Classes, cfg.Dim, cfg.Bias, cfg.Dtype = 5, 3, bias, tensor.Float64
			cfg.CenterUpdate, cfg.Lambda = mode, Constant(0)
			t.Run(centerName(cfg), func(t *testing.T) {
				const b = 7
				rc := newRig(t, cfg, b, 9)
				rs := newRig(t, Config{Name: "softmax", Classes: 5, Dim: 3, Bias: bias, Dtype: tensor.Float64}, b, 9)
				in := randomInput(rand.New(rand.NewPCG(3, 3)), b, cfg.Dim, cfg.Classes, 2)
				gc, gs := rc.run(t, in), rs.run(t, in)
				if gc.Loss != gs.Loss {
					t.Errorf("loss: center %v, softmax %v", gc.Loss, gs.Loss)
				}
				checkClose(t, "logits", gc.Logits, gs.Logits, 0)
				checkClose(t, "∂loss/∂feat", gc.GradFeat, gs.GradFeat, 1e-15)
				checkClose(t, "∂loss/∂head.W", gc.Grads["head.W"], gs.Grads["head.W"], 1e-15)
			})
		}
	}
}

func TestCenterLogitsIgnoreLabels(t *testing.T) {
	for _, cfg := range append(centerCases(tensor.Float32), centerCases(tensor.Float64)...) {
		t.Run(centerName(cfg), func(t *testing.T) { checkLogitsIgnoreLabels(t, cfg, 7, 9) })
	}
}

func TestCenterDtypesAgree(t *testing.T) {
	for _, cfg := range centerCases(tensor.Float32) {
		t.Run(centerName(cfg), func(t *testing.T) { checkDtypesAgree(t, cfg, 7, 15, 1e-5) })
	}
}

func TestCenterSeededInit(t *testing.T) {
	for _, cfg := range centerCases(tensor.Float32) {
		t.Run(centerName(cfg), func(t *testing.T) { checkSeededInit(t, cfg) })
	}
}

// TestCenterOfficialUpdate checks PostStep against a hand-computed example with α_c = 0.5:
//
//	class 0: x = (1, 0), (0, 2); c_0 = (0, 0): Σ(c − x) = (−1, −2), n = 2,
//	         c_0 ← (0, 0) − 0.5·(−1, −2)/3 = (1/6, 1/3)
//	class 1: x = (3, 1); c_1 = (1, 1): Σ(c − x) = (−2, 0), n = 1, c_1 ← (1, 1) − 0.5·(−1, 0) = (1.5, 1)
//	class 2: no sample, c_2 = (5, 5) stays.
func TestCenterOfficialUpdate(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		cfg := Defaults("center")
		cfg.Classes, cfg.Dim, cfg.Dtype = 3, 2, dt
		cfg.CenterLR = 0.5
		t.Run(dt.String(), func(t *testing.T) {
			r := newRig(t, cfg, 3, 1)
			in := input{
				Feat:   []float64{1, 0, 0, 2, 3, 1},
				Labels: []int{0, 0, 1},
				Params: map[string][]float64{"head.centers": {0, 0, 1, 1, 5, 5}},
			}
			w := r.paramValues(t)["head.W"]
			r.run(t, in)
			ps := r.head.(PostStepper)
			if err := ps.PostStep(); err != nil {
				t.Fatal(err)
			}
			want := []float64{1.0 / 6, 1.0 / 3, 1.5, 1, 5, 5}
			checkClose(t, "centres after one update", r.paramValues(t)["head.centers"], want, 1e-7)
			if err := ps.PostStep(); err != nil { // no run since: nothing to do
				t.Fatal(err)
			}
			checkClose(t, "centres after a second PostStep without a run", r.paramValues(t)["head.centers"], want, 1e-7)
			checkClose(t, "W (the update must not touch it)", r.paramValues(t)["head.W"], w, 0)
		})
	}
	// A row of zeros in onehot (padding) is skipped.
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.CenterLR = 2, 1, 1
	r := newRig(t, cfg, 2, 1)
	setFloats(t, r.param(t, "head.centers"), []float64{0, 0})
	if err := r.head.(*Center).updateCenters([]float64{4, 9}, []float64{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "centres with a padding row", r.paramValues(t)["head.centers"], []float64{2, 0}, 0)
}

// TestCenterGradientModePostStepDoesNothing: in "gradient" mode only the solver moves the
// centres.
func TestCenterGradientModePostStepDoesNothing(t *testing.T) {
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.CenterUpdate = 3, 2, CenterGradient
	r := newRig(t, cfg, 3, 1)
	in := randomInput(rand.New(rand.NewPCG(1, 2)), 3, 2, 3, 1)
	before := r.paramValues(t)
	r.run(t, in)
	if err := r.head.(PostStepper).PostStep(); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "centres", r.paramValues(t)["head.centers"], before["head.centers"], 0)
}

func TestCenterLearnablesAndOptions(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		bias      bool
		learn     string
		buffers   string
		opts      []ParamOpt
		lrMult    float64
		wantTerms string
	}{
		{CenterOfficial, false, "head.W", "head.centers", []ParamOpt{{LRMult: 1}}, 1, "center,xent"},
		{CenterOfficial, true, "head.W,head.b", "head.centers", []ParamOpt{{LRMult: 1}, {LRMult: 1}}, 1, "center,xent"},
		{CenterGradient, false, "head.W,head.centers", "", []ParamOpt{{LRMult: 1}, {LRMult: 7, NoWD: true}}, 7, "center,xent"},
	} {
		cfg := Defaults("center")
		cfg.Classes, cfg.Dim, cfg.Bias, cfg.CenterUpdate, cfg.CenterLRMult = 4, 3, tc.bias, tc.mode, tc.lrMult
		r := newRig(t, cfg, 2, 1)
		var learn, bufs []string
		for _, p := range r.params {
			learn = append(learn, p.Name())
		}
		for _, p := range r.buffers() {
			bufs = append(bufs, p.Name())
			if !p.Shape().Eq(tensor.Shape{4, 3}) {
				t.Errorf("%s: %s shape %v, want (4, 3)", tc.mode, p.Name(), p.Shape())
			}
		}
		if strings.Join(learn, ",") != tc.learn || strings.Join(bufs, ",") != tc.buffers {
			t.Errorf("%s bias=%v: learnables %v and buffers %v, want %s and %s", tc.mode, tc.bias, learn, bufs, tc.learn, tc.buffers)
		}
		if got := OptionsOf(r.head); !slices.Equal(got, tc.opts) {
			t.Errorf("%s bias=%v: options %v, want %v", tc.mode, tc.bias, got, tc.opts)
		}
		var terms []string
		for name := range r.out.Terms {
			terms = append(terms, name)
		}
		slices.Sort(terms)
		if strings.Join(terms, ",") != tc.wantTerms {
			t.Errorf("%s: terms %v, want %s", tc.mode, terms, tc.wantTerms)
		}
	}
}

// TestCenterSetStep checks that λ is a graph input: SetStep changes the loss by the new
// λ times the centre term, without rebuilding anything.
func TestCenterSetStep(t *testing.T) {
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim, cfg.Dtype = 3, 2, tensor.Float64
	cfg.Lambda = Schedule{Kind: "linear", Value: 0.5, Start: 0.2, Epochs: 2}
	r := newRig(t, cfg, 4, 1)
	in := randomInput(rand.New(rand.NewPCG(4, 4)), 4, 2, 3, 1)
	for _, tc := range []struct {
		iter   int
		epoch  float64
		lambda float64
	}{{0, 0, 0.1}, {5, 1, 0.3}, {50, 10, 0.5}} {
		vals := r.head.(Scheduled).SetStep(tc.iter, tc.epoch)
		if len(vals) != 1 || !near(vals["lambda"], tc.lambda, 1e-15) {
			t.Errorf("SetStep(%d, %v) = %v, want lambda %v", tc.iter, tc.epoch, vals, tc.lambda)
		}
		got := r.run(t, in)
		if want := got.Terms["xent"] + tc.lambda*got.Terms["center"]; !near(got.Loss, want, 1e-14) {
			t.Errorf("λ = %v: loss %v, want xent + λ·center = %v", tc.lambda, got.Loss, want)
		}
	}
}

// TestCenterTrains trains W (and the centres) on fixed separable features: the loss falls,
// and the centres move towards their class means.
func TestCenterTrains(t *testing.T) {
	for _, mode := range []string{CenterOfficial, CenterGradient} {
		t.Run(mode, func(t *testing.T) {
			const b, k, d = 30, 3, 2
			cfg := Defaults("center")
			cfg.Classes, cfg.Dim, cfg.CenterUpdate, cfg.Lambda = k, d, mode, Constant(0.1)
			cfg.CenterLRMult = 10
			r := newRig(t, cfg, b, 12)
			in := separable(b, d, k, 13)
			losses := trainSteps(t, r, in, 60, 0.5)
			checkFalls(t, losses, 0.5)
			c := r.paramValues(t)["head.centers"]
			for y := 0; y < k; y++ {
				angle := 2 * math.Pi * float64(y) / k
				if dist := math.Hypot(c[y*d]-2*math.Cos(angle), c[y*d+1]-2*math.Sin(angle)); dist > 0.5 {
					t.Errorf("centre %d is at (%.3f, %.3f), %.3f from its class mean", y, c[y*d], c[y*d+1], dist)
				}
			}
		})
	}
}

func TestCenterConfigErrors(t *testing.T) {
	cfg := Defaults("center")
	cfg.Classes, cfg.Dim = 3, 2
	cfg.Lambda = Constant(-1)
	cfg.CenterUpdate = "sgd"
	cfg.CenterLR = math.NaN()
	_, err := NewCenter(nil, cfg, nil)
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{"head.lambda must be >= 0 (got -1)", `head.center_update must be "official" or "gradient" (got "sgd")`, "head.center_lr must be >= 0 (got NaN)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
