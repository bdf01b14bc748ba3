package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// gmRef is what refGM returns.
type gmRef struct {
	loss, xent, lkd float64
	logits, loglik  []float64 // (B·K), (B)
}

// refGM is an independent per-sample float64 GM / L-GM head, written from the paper's
// formulas: means is (K×D) row-major; logvar is nil (identity), (K) isotropic or (K×D)
// diagonal, floored at cfg.LogVarFloor.
func refGM(cfg Config, feat, means, logvar []float64, labels []int, alpha, lambda float64) gmRef {
	k, d, n := cfg.Classes, cfg.Dim, len(labels)
	variance := func(c, j int) float64 { // Σ_c[j, j]
		switch cfg.Covariance {
		case CovIsotropic:
			return math.Exp(math.Max(logvar[c], cfg.LogVarFloor))
		case CovDiagonal:
			return math.Exp(math.Max(logvar[c*d+j], cfg.LogVarFloor))
		}
		return 1
	}
	res := gmRef{logits: make([]float64, n*k), loglik: make([]float64, n)}
	for i := 0; i < n; i++ {
		x := feat[i*d : (i+1)*d]
		dist := make([]float64, k)   // d_c
		logdet := make([]float64, k) // log|Σ_c|
		for c := 0; c < k; c++ {
			for j := 0; j < d; j++ {
				v := variance(c, j)
				dist[c] += (x[j] - means[c*d+j]) * (x[j] - means[c*d+j]) / v / 2
				logdet[c] += math.Log(v)
			}
		}
		z := res.logits[i*k : (i+1)*k]
		for c := range z {
			z[c] = -dist[c] + math.Log(1/float64(k))
			if cfg.LogDet {
				z[c] -= logdet[c] / 2
			}
		}
		y := labels[i]
		zt := slices.Clone(z)
		zt[y] -= alpha * dist[y]
		mx := slicesMax(zt)
		sum := 0.0
		for _, v := range zt {
			sum += math.Exp(v - mx)
		}
		res.xent += mx + math.Log(sum) - zt[y]
		halfLog2Pi := float64(d) / 2 * math.Log(2*math.Pi)
		if cfg.Likelihood == LikelihoodPaper {
			res.lkd += dist[y] + logdet[y]/2 + halfLog2Pi
		} else {
			e := 0.0
			for j := 0; j < d; j++ {
				e += (x[j] - means[y*d+j]) * (x[j] - means[y*d+j])
			}
			res.lkd += e / 2
		}
		p := argmax(z)
		res.loglik[i] = -dist[p] - logdet[p]/2 - halfLog2Pi
	}
	res.xent /= float64(n)
	res.lkd /= float64(n)
	res.loss = res.xent + lambda*res.lkd
	return res
}

// gmConfig is a gm (alpha = 0) or lgm config with constant α and λ.
func gmConfig(k, d int, alpha, lambda float64, cov string, logdet bool, lkd string, dt tensor.Dtype) Config {
	name := "lgm"
	if alpha == 0 {
		name = "gm"
	}
	cfg := Defaults(name)
	cfg.Classes, cfg.Dim, cfg.Dtype = k, d, dt
	cfg.Alpha, cfg.Lambda = Constant(alpha), Constant(lambda)
	cfg.Covariance, cfg.LogDet, cfg.Likelihood = cov, logdet, lkd
	return cfg
}

func gmName(cfg Config) string {
	return fmt.Sprintf("%s/%s/logdet=%v/%s/alpha=%v", caseName(cfg), cfg.Covariance, cfg.LogDet, cfg.Likelihood, cfg.Alpha.Value)
}

// gmCases are every covariance × log-det × likelihood, for gm and for lgm with α = 0.7,
// all with λ = 0.3.
func gmCases(dt tensor.Dtype) []Config {
	var cfgs []Config
	for _, alpha := range []float64{0, 0.7} {
		for _, cov := range []string{CovIdentity, CovIsotropic, CovDiagonal} {
			for _, logdet := range []bool{false, true} {
				for _, lkd := range []string{LikelihoodOfficial, LikelihoodPaper} {
					if cov == CovIdentity && logdet {
						continue // no log-det to add
					}
					cfgs = append(cfgs, gmConfig(5, 3, alpha, 0.3, cov, logdet, lkd, dt))
				}
			}
		}
	}
	return cfgs
}

// gmParams returns random means N(0, 1) and log-variances N(0, 0.5²) for r.
func gmParams(t *testing.T, r *rig, rng *rand.Rand) map[string][]float64 {
	t.Helper()
	ps := randomParams(t, r, rng, 1)
	for i := range ps["head.logvar"] {
		ps["head.logvar"][i] *= 0.5
	}
	return ps
}

func TestGMMatchesReference(t *testing.T) {
	const b = 7
	for _, tc := range []struct {
		dt  tensor.Dtype
		tol float64
	}{{tensor.Float64, 1e-10}, {tensor.Float32, 1e-4}} {
		for _, cfg := range gmCases(tc.dt) {
			t.Run(gmName(cfg), func(t *testing.T) {
				r := newRig(t, cfg, b, 1)
				rng := rand.New(rand.NewPCG(2, 3))
				for trial := range 3 {
					in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1.5)
					in.Params = gmParams(t, r, rng)
					got := r.run(t, in)
					want := refGM(cfg, in.Feat, in.Params["head.means"], in.Params["head.logvar"], in.Labels, cfg.Alpha.Value, 0.3)
					if !near(got.Loss, want.loss, tc.tol) {
						t.Errorf("trial %d: loss: got %.10g, want %.10g", trial, got.Loss, want.loss)
					}
					if len(got.Terms) != 2 || !near(got.Terms["xent"], want.xent, tc.tol) || !near(got.Terms["lkd"], want.lkd, tc.tol) {
						t.Errorf("trial %d: terms: got %v, want xent %v, lkd %v", trial, got.Terms, want.xent, want.lkd)
					}
					checkClose(t, "logits", got.Logits, want.logits, tc.tol)
					checkClose(t, "loglik", got.LogLik, want.loglik, tc.tol)
				}
			})
		}
	}
}

func TestGMGradients(t *testing.T) {
	for _, cfg := range gmCases(tensor.Float64) {
		t.Run(gmName(cfg), func(t *testing.T) {
			const b = 5
			r := newRig(t, cfg, b, 4)
			rng := rand.New(rand.NewPCG(5, 6))
			in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1.5)
			in.Params = gmParams(t, r, rng)
			checkGradients(t, r, in, 1e-6)
		})
	}
}

// TestGMIdentityLogits: with α = 0, identity covariance and equal priors the logits are
// −½||x − μ_k||² − log K; the constant −log K = log p(k) is the same for every class.
func TestGMIdentityLogits(t *testing.T) {
	for _, logdet := range []bool{false, true} {
		cfg := gmConfig(4, 3, 0, 0.1, CovIdentity, logdet, LikelihoodOfficial, tensor.Float64)
		const b = 6
		r := newRig(t, cfg, b, 2)
		rng := rand.New(rand.NewPCG(7, 7))
		in := randomInput(rng, b, cfg.Dim, cfg.Classes, 2)
		in.Params = gmParams(t, r, rng)
		got := r.run(t, in)
		mu := in.Params["head.means"]
		want := make([]float64, b*cfg.Classes)
		for i := 0; i < b; i++ {
			for c := 0; c < cfg.Classes; c++ {
				s := 0.0
				for j := 0; j < cfg.Dim; j++ {
					s += (in.Feat[i*cfg.Dim+j] - mu[c*cfg.Dim+j]) * (in.Feat[i*cfg.Dim+j] - mu[c*cfg.Dim+j])
				}
				want[i*cfg.Classes+c] = -s/2 - math.Log(float64(cfg.Classes))
			}
		}
		checkClose(t, fmt.Sprintf("logdet=%v: logits", logdet), got.Logits, want, 1e-12)
	}
}

// TestGMLemma1 checks the paper's Lemma 1 with sums over the batch: with Σ_k = I and
// p(k) = 1/K, L_lkd = −Σ_i log N(x_i; μ_{y_i}, I) = L_C + N/2·D·log 2π, where L_C =
// ½ Σ_i ||x_i − μ_{y_i}||² is center loss's sum with the centres at the means. The heads
// report batch means, so the test multiplies gm's "lkd" and center's "center" by N.
func TestGMLemma1(t *testing.T) {
	const b, k, d = 9, 4, 3
	gm := newRig(t, gmConfig(k, d, 0, 1, CovIdentity, false, LikelihoodPaper, tensor.Float64), b, 1)
	ccfg := Defaults("center")
	ccfg.Classes, ccfg.Dim, ccfg.Dtype, ccfg.Lambda = k, d, tensor.Float64, Constant(1)
	center := newRig(t, ccfg, b, 1)
	rng := rand.New(rand.NewPCG(8, 8))
	in := randomInput(rng, b, d, k, 2)
	means := randomInput(rng, k, d, 1, 1).Feat
	in.Params = map[string][]float64{"head.means": means}
	lkdSum := b * gm.run(t, in).Terms["lkd"]
	in.Params = map[string][]float64{"head.centers": means}
	lcSum := b * center.run(t, in).Terms["center"]

	direct := 0.0 // −Σ_i log N(x_i; μ_{y_i}, I), written out
	for i, y := range in.Labels {
		logN := -float64(d) / 2 * math.Log(2*math.Pi)
		for j := 0; j < d; j++ {
			logN -= (in.Feat[i*d+j] - means[y*d+j]) * (in.Feat[i*d+j] - means[y*d+j]) / 2
		}
		direct -= logN
	}
	if !near(lkdSum, direct, 1e-12) {
		t.Errorf("Σ L_lkd = %v, want −Σ log N = %v", lkdSum, direct)
	}
	if want := lcSum + b/2.0*d*math.Log(2*math.Pi); !near(lkdSum, want, 1e-12) {
		t.Errorf("Σ L_lkd = %v, want L_C + N/2·D·log 2π = %v + %v", lkdSum, lcSum, want-lcSum)
	}
}

func TestGMLogitsIgnoreLabels(t *testing.T) {
	for _, cfg := range append(gmCases(tensor.Float32), gmCases(tensor.Float64)...) {
		t.Run(gmName(cfg), func(t *testing.T) { checkLogitsIgnoreLabels(t, cfg, 7, 9) })
	}
}

func TestGMDtypesAgree(t *testing.T) {
	for _, cfg := range gmCases(tensor.Float32) {
		t.Run(gmName(cfg), func(t *testing.T) { checkDtypesAgree(t, cfg, 7, 15, 1e-4) })
	}
}

// TestGMInit: seeded means with the spread of N(0, 2/D) and log-variances at 0.
func TestGMInit(t *testing.T) {
	for _, cov := range []string{CovIdentity, CovIsotropic, CovDiagonal} {
		cfg := gmConfig(10, 40, 0.5, 0.1, cov, false, LikelihoodOfficial, tensor.Float32)
		t.Run(cov, func(t *testing.T) {
			r := newRig(t, cfg, 1, 3)
			ps := r.paramValues(t)
			mean, sq := 0.0, 0.0
			for _, v := range ps["head.means"] {
				mean += v
				sq += v * v
			}
			n := float64(len(ps["head.means"]))
			if std, want := math.Sqrt(sq/n-(mean/n)*(mean/n)), math.Sqrt(2.0/40); math.Abs(std-want) > 0.1*want || math.Abs(mean/n) > 0.1*want {
				t.Errorf("means: mean %.4f, std %.4f, want about 0 and %.4f", mean/n, std, want)
			}
			for _, v := range ps["head.logvar"] {
				if v != 0 {
					t.Fatalf("log-variance starts at %v, want 0", v)
				}
			}
			m := r.param(t, "head.means")
			if !m.Shape().Eq(tensor.Shape{10, 40}) {
				t.Errorf("head.means shape %v, want (10, 40)", m.Shape())
			}
		})
	}
	cfg := gmConfig(5, 3, 0, 0.1, CovIdentity, false, LikelihoodOfficial, tensor.Float32)
	checkSeededInit(t, cfg)
}

func TestGMLearnablesAndOptions(t *testing.T) {
	for _, tc := range []struct {
		cov     string
		noDecay bool
		names   string
		shape   tensor.Shape // of head.logvar
		opts    []ParamOpt
	}{
		{CovIdentity, false, "head.means", nil, []ParamOpt{{LRMult: 1}}},
		{CovIsotropic, false, "head.means,head.logvar", tensor.Shape{5}, []ParamOpt{{LRMult: 1}, {LRMult: 0.1, NoWD: true}}},
		{CovDiagonal, true, "head.means,head.logvar", tensor.Shape{5, 3}, []ParamOpt{{LRMult: 1, NoWD: true}, {LRMult: 0.1, NoWD: true}}},
	} {
		cfg := gmConfig(5, 3, 1, 0.1, tc.cov, false, LikelihoodOfficial, tensor.Float32)
		cfg.MeansNoDecay = tc.noDecay
		r := newRig(t, cfg, 2, 1)
		var names []string
		for _, p := range r.params {
			names = append(names, p.Name())
			if p.Name() == "head.logvar" && !p.Shape().Eq(tc.shape) {
				t.Errorf("%s: head.logvar shape %v, want %v", tc.cov, p.Shape(), tc.shape)
			}
		}
		if strings.Join(names, ",") != tc.names {
			t.Errorf("%s: learnables %v, want %s", tc.cov, names, tc.names)
		}
		if got := OptionsOf(r.head); !slices.Equal(got, tc.opts) {
			t.Errorf("%s: options %v, want %v", tc.cov, got, tc.opts)
		}
	}
}

// TestGMSetStep: α and λ follow their schedules and are graph inputs; gm has no α.
func TestGMSetStep(t *testing.T) {
	cfg := gmConfig(3, 2, 1, 0.1, CovDiagonal, true, LikelihoodPaper, tensor.Float64)
	cfg.Alpha = Schedule{Kind: "step", Value: 0.1, Every: 5000, Factor: 2, Max: 0.3}
	cfg.Lambda = Schedule{Kind: "linear", Value: 0.1, Start: 0.01, Epochs: 5}
	r := newRig(t, cfg, 4, 1)
	rng := rand.New(rand.NewPCG(9, 9))
	in := randomInput(rng, 4, 2, 3, 1)
	in.Params = gmParams(t, r, rng)
	for _, tc := range []struct {
		iter          int
		epoch         float64
		alpha, lambda float64
	}{{0, 0, 0.1, 0.001}, {5000, 2.5, 0.2, 0.0505}, {12000, 6, 0.3, 0.1}} {
		vals := r.head.(Scheduled).SetStep(tc.iter, tc.epoch)
		if len(vals) != 2 || !near(vals["alpha"], tc.alpha, 1e-14) || !near(vals["lambda"], tc.lambda, 1e-14) {
			t.Errorf("SetStep(%d, %v) = %v, want alpha %v, lambda %v", tc.iter, tc.epoch, vals, tc.alpha, tc.lambda)
		}
		got := r.run(t, in)
		want := refGM(cfg, in.Feat, in.Params["head.means"], in.Params["head.logvar"], in.Labels, tc.alpha, tc.lambda)
		if !near(got.Loss, want.loss, 1e-10) {
			t.Errorf("step %d: loss %v, want %v", tc.iter, got.Loss, want.loss)
		}
	}
	gm := newRig(t, gmConfig(3, 2, 0, 0.2, CovIdentity, false, LikelihoodOfficial, tensor.Float64), 4, 1)
	if vals := gm.head.(Scheduled).SetStep(10, 1); len(vals) != 1 || vals["lambda"] != 0.2 {
		t.Errorf("gm SetStep = %v, want only lambda 0.2", vals)
	}
}

// TestGMLogVarFloor: the forward pass floors the log-variances, the gradient passes at the
// floor, PostStep projects the parameters onto it and AtFloor reports it.
func TestGMLogVarFloor(t *testing.T) {
	for _, cov := range []string{CovIsotropic, CovDiagonal} {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			cfg := gmConfig(3, 2, 0.5, 0.2, cov, true, LikelihoodPaper, dt)
			cfg.LogVarFloor = math.Log(1e-3)
			t.Run(cov+"/"+dt.String(), func(t *testing.T) {
				r := newRig(t, cfg, 4, 1)
				rng := rand.New(rand.NewPCG(1, 2))
				in := randomInput(rng, 4, 2, 3, 1)
				in.Params = gmParams(t, r, rng)
				if msg, at := r.head.(Floored).AtFloor(); at {
					t.Errorf("AtFloor = %q before any variance is at the floor", msg)
				}
				lv := in.Params["head.logvar"]
				atFloor := r.head.(*GM).floor()
				lv[0] = atFloor
				onFloor := r.run(t, in)
				if onFloor.Grads["head.logvar"][0] == 0 {
					t.Errorf("gradient of a log-variance at the floor is 0; it could never rise")
				}
				lv[0] = -50 // far below the floor: the forward pass must see the floor
				below := r.run(t, in)
				if below.Loss != onFloor.Loss || !slices.Equal(below.Logits, onFloor.Logits) {
					t.Errorf("loss %v below the floor, %v on it; want equal", below.Loss, onFloor.Loss)
				}
				if err := r.head.(PostStepper).PostStep(); err != nil {
					t.Fatal(err)
				}
				got := r.paramValues(t)["head.logvar"]
				if got[0] != atFloor {
					t.Errorf("after PostStep the log-variance is %v, want the floor %v", got[0], atFloor)
				}
				checkClose(t, "other log-variances after PostStep", got[1:], lv[1:], 1e-7)
				msg, at := r.head.(Floored).AtFloor()
				if !at || !strings.Contains(msg, "head.logvar: 1 of") || !strings.Contains(msg, "class 0") {
					t.Errorf("AtFloor = %q, %v; want one log-variance of class 0 at the floor", msg, at)
				}
			})
		}
	}
}

// TestGMVarianceStaysAboveFloor trains the log-variances with the paper's likelihood and
// log-det on features sitting on fixed means, where the loss falls without bound as the
// variances shrink (L_lkd = ½ log|Σ_y| + const): they must stop at the floor, and the loss
// stay finite.
func TestGMVarianceStaysAboveFloor(t *testing.T) {
	const b, k, d = 12, 3, 2
	cfg := gmConfig(k, d, 1, 1, CovDiagonal, true, LikelihoodPaper, tensor.Float32)
	cfg.LogVarFloor = math.Log(1e-2)
	r := newRig(t, cfg, b, 1)
	in := separable(b, d, k, 3)
	means := make([]float64, k*d)
	for i, y := range in.Labels { // every feature on its class mean
		means[y*d], means[y*d+1] = in.Feat[i*d], in.Feat[i*d+1]
	}
	for i, y := range in.Labels {
		in.Feat[i*d], in.Feat[i*d+1] = means[y*d], means[y*d+1]
	}
	in.Params = map[string][]float64{"head.means": means}
	losses := trainSteps(t, r, in, 40, 10, "head.logvar") // means fixed on the features
	for i, l := range losses {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			t.Fatalf("step %d: loss %v", i, l)
		}
	}
	floor := float64(float32(cfg.LogVarFloor))
	lv := r.paramValues(t)["head.logvar"]
	for i, v := range lv {
		if v < floor {
			t.Errorf("log-variance %d is %v, below the floor %v", i, v, floor)
		}
	}
	if msg, at := r.head.(Floored).AtFloor(); !at || !strings.Contains(msg, fmt.Sprintf("%d of %d", k*d, k*d)) {
		t.Errorf("AtFloor = %q, %v; want all %d log-variances at the floor (values %v)", msg, at, k*d, lv)
	}
}

// TestGMTrains trains the means (and variances) on fixed separable features: the loss falls.
func TestGMTrains(t *testing.T) {
	for _, tc := range []struct {
		alpha float64
		cov   string
	}{{0, CovIdentity}, {1, CovIdentity}, {0.3, CovIsotropic}, {0.3, CovDiagonal}} {
		cfg := gmConfig(3, 2, tc.alpha, 0.1, tc.cov, false, LikelihoodOfficial, tensor.Float32)
		t.Run(gmName(cfg), func(t *testing.T) {
			r := newRig(t, cfg, 30, 12)
			losses := trainSteps(t, r, separable(30, 2, 3, 13), 60, 0.5)
			checkFalls(t, losses, 0.5)
		})
	}
}

func TestGMConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"gm", func(c *Config) { c.Alpha = Constant(0.1) }, []string{"head.alpha must be 0 for gm"}},
		{"lgm", func(c *Config) {
			c.Alpha = Schedule{Kind: "linear", Value: -1, Start: 2}
			c.Lambda = Constant(-1)
			c.Covariance, c.Likelihood, c.Bias = "full", "both", true
		}, []string{"head.lambda must be >= 0 (got -1)", "head.alpha must be >= 0 (got -1)", "head.alpha.start must be in [0, 1] (got 2)",
			"head.alpha.epochs must be > 0 (got 0)", "head.bias must be false for lgm",
			`head.covariance must be one of identity, isotropic, diagonal (got "full")`, `head.likelihood must be "paper" or "official" (got "both")`}},
		{"lgm", func(c *Config) { c.Covariance, c.VarLRMult, c.LogVarFloor = CovDiagonal, 0, math.Inf(-1) },
			[]string{"head.logvar_floor must be a finite number (got -Inf)", "head.var_lr_mult must be > 0 with a learned covariance (got 0)"}},
	} {
		cfg := Defaults(tc.name)
		cfg.Classes, cfg.Dim = 3, 2
		tc.edit(&cfg)
		_, err := NewGM(nil, cfg, nil)
		if err == nil {
			t.Errorf("%s %+v: got no error", tc.name, cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	}
}
