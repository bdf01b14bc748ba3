package attack

import (
	"math"
	"math/rand/v2"
	"testing"
)

// linear is a K-class linear classifier z = W·x + b on S pixels with the
// cross-entropy loss; its gradient is Wᵀ(softmax(z) − onehot(y)).
type linear struct {
	w    [][]float64 // K×S
	b    []float64
	s, k int
	// calls counts Gradient calls.
	calls int
}

func (m *linear) Size() int    { return m.s }
func (m *linear) Classes() int { return m.k }
func (m *linear) Gradient(x []float32, y []int, logits, grad []float32) error {
	m.calls++
	for i := range y {
		xi := x[i*m.s : (i+1)*m.s]
		z := make([]float64, m.k)
		for c := range z {
			z[c] = m.b[c]
			for j, v := range xi {
				z[c] += m.w[c][j] * float64(v)
			}
			logits[i*m.k+c] = float32(z[c])
		}
		mx := z[0]
		for _, v := range z {
			mx = math.Max(mx, v)
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v - mx)
		}
		for j := 0; j < m.s; j++ {
			var g float64
			for c := range z {
				p := math.Exp(z[c]-mx) / sum
				if c == y[i] {
					p--
				}
				g += m.w[c][j] * p
			}
			grad[i*m.s+j] = float32(g)
		}
	}
	return nil
}

func randomLinear(rng *rand.Rand, k, s int) *linear {
	m := &linear{s: s, k: k, b: make([]float64, k)}
	for c := 0; c < k; c++ {
		row := make([]float64, s)
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		m.w = append(m.w, row)
		m.b[c] = rng.NormFloat64()
	}
	return m
}

func randomImages(rng *rand.Rand, n, s, k int) ([]float32, []int) {
	x := make([]float32, n*s)
	for i := range x {
		x[i] = rng.Float32()
		if i%7 == 0 { // pixels at the bounds, where clipping acts
			x[i] = float32(i % 2)
		}
	}
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(k)
	}
	return x, y
}

// TestFGSMLinearClosedForm: for two classes, z = (0, wᵀx), the cross-entropy
// gradient of a label-1 image is −σ(−wᵀx)·w, so FGSM moves every pixel by
// −ε·sign(w_j), clipped to [0, 1]; unclipped, the logit falls by exactly ε‖w‖₁.
func TestFGSMLinearClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const s = 50
	m := &linear{s: s, k: 2, b: []float64{0, 0}, w: [][]float64{make([]float64, s), make([]float64, s)}}
	var l1 float64
	for j := 0; j < s; j++ {
		m.w[1][j] = float64(rng.IntN(7) - 3) // zeros included: sign 0 leaves the pixel
		l1 += math.Abs(m.w[1][j])
	}
	x := make([]float32, s)
	for j := range x {
		x[j] = 0.35 + 0.3*rng.Float32() // more than 0.3 from the bounds
	}
	for _, eps := range []float64{0, 0.1, 0.2, 0.3} {
		adv := make([]float32, s)
		if err := Run(m, Config{Method: FGSM, Eps: eps}, x, []int{1}, adv, nil, NewBuffers(m, 1), nil); err != nil {
			t.Fatal(err)
		}
		var before, after float64
		for j := range x {
			sign := 0.0
			if m.w[1][j] > 0 {
				sign = 1
			} else if m.w[1][j] < 0 {
				sign = -1
			}
			want := float32(float64(x[j]) - eps*sign)
			if eps == 0 {
				want = x[j]
			}
			if math.Abs(float64(adv[j]-want)) > 1e-6 {
				t.Errorf("case eps %v pixel %d: got %v, want %v", eps, j, adv[j], want)
			}
			before += m.w[1][j] * float64(x[j])
			after += m.w[1][j] * float64(adv[j])
		}
		if got, want := before-after, eps*l1; math.Abs(got-want) > 1e-4 {
			t.Errorf("case eps %v: logit fell by %v, want ε‖w‖₁ = %v", eps, got, want)
		}
	}
	// Clipping: an image at the bounds stays in [0, 1].
	ones := []float32{1, 0, 1, 0}
	m4 := &linear{s: 4, k: 2, b: []float64{0, 0}, w: [][]float64{{0, 0, 0, 0}, {-1, 1, -1, 1}}}
	adv := make([]float32, 4)
	if err := Run(m4, Config{Method: FGSM, Eps: 0.3}, ones, []int{1}, adv, nil, NewBuffers(m4, 1), nil); err != nil {
		t.Fatal(err)
	}
	for j, want := range []float32{1, 0, 1, 0} { // pushed out of range: clipped back
		if adv[j] != want {
			t.Errorf("case clip pixel %d: got %v, want %v", j, adv[j], want)
		}
	}
}

// TestBIMOneStepIsFGSM: one BIM step of size ε is FGSM at ε.
func TestBIMOneStepIsFGSM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := randomLinear(rng, 5, 30)
	x, y := randomImages(rng, 8, 30, 5)
	for _, eps := range []float64{0.05, 0.1, 0.3} {
		a, b := make([]float32, len(x)), make([]float32, len(x))
		buf := NewBuffers(m, 8)
		if err := Run(m, Config{Method: FGSM, Eps: eps}, x, y, a, nil, buf, nil); err != nil {
			t.Fatal(err)
		}
		if err := Run(m, Config{Method: BIM, Eps: eps, Steps: 1, StepSize: eps}, x, y, b, nil, buf, nil); err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("case eps %v value %d: BIM got %v, FGSM %v", eps, i, b[i], a[i])
			}
		}
		// A precomputed clean gradient gives the same FGSM.
		g, logits := make([]float32, len(x)), make([]float32, 8*5)
		m.Gradient(x, y, logits, g)
		c := make([]float32, len(x))
		calls := m.calls
		if err := Run(m, Config{Method: FGSM, Eps: eps}, x, y, c, nil, buf, g); err != nil {
			t.Fatal(err)
		}
		if m.calls != calls {
			t.Errorf("case eps %v: FGSM with a given gradient computed another", eps)
		}
		for i := range a {
			if a[i] != c[i] {
				t.Fatalf("case eps %v value %d: FGSM with a given gradient got %v, want %v", eps, i, c[i], a[i])
			}
		}
	}
}

// inBall reports whether every adv value is within ε of x (as float32
// arithmetic computes the bounds) and in [0, 1].
func inBall(t *testing.T, name string, x, adv []float32, eps float64) {
	t.Helper()
	e := float32(eps)
	for i := range x {
		if adv[i] < x[i]-e || adv[i] > x[i]+e || adv[i] < 0 || adv[i] > 1 || math.IsNaN(float64(adv[i])) {
			t.Fatalf("case %v: value %d is %v, outside [%v, %v] ∩ [0, 1]", name, i, adv[i], x[i]-e, x[i]+e)
		}
	}
}

// TestIterativeStayInBallAndHurt: BIM and PGD stay inside the ε-ball and
// [0, 1], raise the loss at least as much as FGSM on a linear model (where
// the steepest L∞ ascent is the sign step), and PGD is reproducible from its
// seed and different for another seed.
func TestIterativeStayInBallAndHurt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, s, k = 16, 40, 4
	m := randomLinear(rng, k, s)
	x, y := randomImages(rng, n, s, k)
	meanLoss := func(adv []float32) float64 {
		logits, g := make([]float32, n*k), make([]float32, n*s)
		m.Gradient(adv, y, logits, g)
		var sum float64
		for i := 0; i < n; i++ {
			l, _ := Xent(logits[i*k:(i+1)*k], y[i])
			sum += l
		}
		return sum / n
	}
	buf := NewBuffers(m, n)
	const eps = 0.1
	fgsm := make([]float32, len(x))
	Run(m, Config{Method: FGSM, Eps: eps}, x, y, fgsm, nil, buf, nil)
	for _, c := range []Config{
		{Method: BIM, Eps: eps, Steps: 10, StepSize: eps / 4},
		{Method: PGD, Eps: eps, Steps: 10, StepSize: eps / 4, Restarts: 3},
	} {
		adv := make([]float32, len(x))
		if err := Run(m, c, x, y, adv, rand.New(rand.NewPCG(7, 8)), buf, nil); err != nil {
			t.Fatal(err)
		}
		inBall(t, string(c.Method), x, adv, eps)
		if lf, la := meanLoss(fgsm), meanLoss(adv); la < lf-1e-6 {
			t.Errorf("case %v: mean loss %v below FGSM's %v", c.Method, la, lf)
		}
		if lc, la := meanLoss(x), meanLoss(adv); !(la > lc) {
			t.Errorf("case %v: mean loss %v not above the clean %v", c.Method, la, lc)
		}
		if c.Method == PGD {
			// Ten steps reach the same corner of the ball from any start on a
			// linear model: one short step shows the start.
			c.Steps, c.StepSize = 1, eps/10
			Run(m, c, x, y, adv, rand.New(rand.NewPCG(7, 8)), buf, nil)
			again, other := make([]float32, len(x)), make([]float32, len(x))
			Run(m, c, x, y, again, rand.New(rand.NewPCG(7, 8)), buf, nil)
			Run(m, c, x, y, other, rand.New(rand.NewPCG(9, 9)), NewBuffers(m, n), nil)
			same, differ := true, false
			for i := range adv {
				same = same && adv[i] == again[i]
				differ = differ || adv[i] != other[i]
			}
			if !same {
				t.Errorf("case pgd: the same seed gave another result")
			}
			if !differ {
				t.Errorf("case pgd: another seed gave the same result (the random start has no effect)")
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string // "" = valid
	}{
		{Config{Method: FGSM, Eps: 0.3}, ""},
		{Config{Method: PGD, Eps: 8.0 / 255, Steps: 10, StepSize: 2.0 / 255, Restarts: 1}, ""},
		{Config{Method: FGSM, Eps: -0.1}, "--eps"},
		{Config{Method: FGSM, Eps: math.NaN()}, "--eps"},
		{Config{Method: BIM, Eps: 0.1, Steps: 0, StepSize: 0.01}, "--steps"},
		{Config{Method: BIM, Eps: 0.1, Steps: 3}, "--step-size"},
		{Config{Method: PGD, Eps: 0.1, Steps: 3, StepSize: 0.01}, "--restarts"},
		{Config{Method: "cw", Eps: 0.1}, "fgsm, bim, pgd"},
	} {
		err := c.cfg.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !contains(err.Error(), c.want)) {
			t.Errorf("case %+v: got %v, want an error naming %q", c.cfg, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestXentAndPosterior(t *testing.T) {
	z := []float32{1, 3, 2}
	l, wrong := Xent(z, 2)
	e := math.Exp(1) + math.Exp(3) + math.Exp(2)
	if want := -math.Log(math.Exp(2) / e); math.Abs(l-want) > 1e-12 || !wrong {
		t.Errorf("Xent got %v %v, want %v true", l, wrong, want)
	}
	if l, wrong := Xent(z, 1); wrong || math.Abs(l+math.Log(math.Exp(3)/e)) > 1e-12 {
		t.Errorf("Xent of the true class got %v %v", l, wrong)
	}
	p, c := Posterior(z)
	if want := math.Exp(3) / e; c != 1 || math.Abs(p-want) > 1e-12 {
		t.Errorf("Posterior got %v %v, want %v 1", p, c, want)
	}
	// Huge logits do not overflow.
	if l, _ := Xent([]float32{1e30, -1e30}, 1); math.IsInf(l, 0) || math.IsNaN(l) || l < 1e30 {
		t.Errorf("Xent of huge logits got %v", l)
	}
}
