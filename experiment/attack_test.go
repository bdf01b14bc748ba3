package experiment

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/attack"
	"github.com/lgm-dev/lgm/data"
)

// TestAttackInputGradientFiniteDifferences checks ∂L/∂pixels of the attack
// model — through the input normalisation, every network op (the first
// convolution's input gradient included) and the head — against central
// differences of the loss L = mean over the batch of the cross-entropy of
// the margin-free logits, along random directions, for LeNet and LeNet++
// with softmax and L-GM heads, and VGG with BatchNorm (evaluation mode).
func TestAttackInputGradientFiniteDifferences(t *testing.T) {
	for _, c := range []struct {
		net, head string
		channels  int
	}{{"lenet", "softmax", 1}, {"lenetpp", "lgm", 1}, {"lenet", "center", 1}, {"vgg", "lgm", 3}} {
		name := c.net + "/" + c.head
		cfg := smallConfig()
		cfg.Model.Net, cfg.Head, cfg.Train.Epochs, cfg.Train.Batch = c.net, HeadDefaults(c.head), 1, 8
		if c.net == "vgg" { // a tiny VGG needs a few epochs before its input matters
			cfg.Model.Width, cfg.Train.Epochs, cfg.Train.LR = 0.1, 5, 0.05
		}
		train, test := syntheticC("synth/train", 64, 4, c.channels, 1), syntheticC("synth/test", 16, 4, c.channels, 2)
		dir := filepath.Join(t.TempDir(), "run")
		if err := Train(context.Background(), cfg, TrainOptions{Out: dir, Train: train, Test: test}); err != nil {
			t.Fatalf("case %v: train: %v", name, err)
		}
		ck, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		raw := syntheticC("synth/test", 16, 4, c.channels, 2)
		m, err := newAttackModel(ck.Config, ck, raw, data.Norm{Mean: ck.Norm.Mean, Std: ck.Norm.Std}, "xent")
		if err != nil {
			t.Fatalf("case %v: %v", name, err)
		}
		n, size, k, b := 5, m.Size(), m.Classes(), m.ss.shape.B // a partial batch: padded rows must not count
		x := make([]float32, n*size)
		y := make([]int, n)
		for i := 0; i < n; i++ {
			raw.Values(i, x[i*size:(i+1)*size])
			y[i] = (raw.Labels[i] + i) % k // some wrong labels: larger gradients
		}
		g, logits := make([]float32, n*size), make([]float32, n*k)
		lossAt := func(p []float32) float64 {
			lg, gg := make([]float32, n*k), make([]float32, n*size)
			if err := m.Gradient(p, y, lg, gg); err != nil {
				t.Fatal(err)
			}
			var sum float64
			for i := 0; i < n; i++ {
				l, _ := attack.Xent(lg[i*k:(i+1)*k], y[i])
				sum += l
			}
			return sum / float64(b)
		}
		if err := m.Gradient(x, y, logits, g); err != nil {
			t.Fatalf("case %v: %v", name, err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		const h = 1e-2 // along a unit direction: about 1.6e-4 a pixel
		for dir := 0; dir < 3; dir++ {
			v := make([]float64, len(x)) // a unit direction: a step of h crosses few ReLU or max-pool kinks
			var norm2, want float64
			for i := range v {
				v[i] = rng.NormFloat64()
				if dir == 0 { // the gradient's own direction: the largest change
					v[i] = float64(g[i])
				}
				norm2 += v[i] * v[i]
			}
			for i := range v {
				v[i] /= math.Sqrt(norm2)
				want += float64(g[i]) * v[i]
			}
			plus, minus := make([]float32, len(x)), make([]float32, len(x))
			for i := range x {
				plus[i] = x[i] + float32(h*v[i])
				minus[i] = x[i] - float32(h*v[i])
			}
			got := (lossAt(plus) - lossAt(minus)) / (2 * h)
			if math.Abs(got-want) > 0.03*math.Abs(want)+2e-5 {
				t.Errorf("case %v direction %d: central difference %v, gradient·v %v", name, dir, got, want)
			}
			if dir == 0 && math.Abs(want) < 1e-4 {
				t.Errorf("case %v direction %d: gradient·v is %v, too small for the check to mean anything", name, dir, want)
			}
		}
		m.close()
	}
}

// TestAttackCleanRowEqualsEval: the ε = 0 row of an attack is the clean test
// set, with the same wrong count as lgm eval; FGSM raises the error; the
// files the report reads are written with one CSV row per image per ε; the
// detection fields are present for ε > 0 only.
func TestAttackCleanRowEqualsEval(t *testing.T) {
	cfg := smallConfig()
	cfg.Head = HeadDefaults("lgm")
	cfg.Model.Dim = 2
	dir := trainSmall(t, cfg)
	ev, err := Evaluate(context.Background(), dir, RunOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Attack(context.Background(), dir, AttackOptions{Method: attack.FGSM, Eps: []float64{0.1, 0.3}, Test: synthetic("synth/test", 70, 4, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || rep.Results[0].Eps != 0 {
		t.Fatalf("results %+v: want ε = 0, 0.1, 0.3", rep.Results)
	}
	clean := rep.Results[0]
	if clean.Wrong != ev.Wrong || clean.N != ev.N || clean.N != 70 {
		t.Errorf("clean row: %d/%d wrong, eval %d/%d", clean.Wrong, clean.N, ev.Wrong, ev.N)
	}
	if clean.AUROC != nil || clean.Successful != nil {
		t.Errorf("clean row has detection fields: %+v", clean)
	}
	if r := rep.Results[2]; r.Wrong <= clean.Wrong || r.AUROC == nil || r.TNRAtTPR95 == nil || r.Successful == nil {
		t.Errorf("ε = 0.3: %+v; want more errors than clean (%d) and detection fields", r, clean.Wrong)
	}
	var js struct {
		Method  string           `json:"method"`
		Results []map[string]any `json:"results"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, AttackFile(attack.FGSM)))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &js); err != nil || js.Method != "fgsm" || len(js.Results) != 3 {
		t.Fatalf("attack-fgsm.json: %v %s", err, raw)
	}
	if _, ok := js.Results[0]["auroc"]; ok {
		t.Errorf("the ε = 0 entry has an auroc")
	}
	for _, key := range []string{"eps", "error", "wrong", "n", "auroc", "auroc_posterior", "tnr_at_tpr95", "detection_accuracy", "auroc_successful"} {
		if _, ok := js.Results[1][key]; !ok && !(key == "auroc_successful" && *rep.Results[1].Successful == 0) {
			t.Errorf("the ε = 0.1 entry lacks %q", key)
		}
	}
	for file, header := range map[string]string{
		"attack-fgsm.csv":          "index,label,eps,prediction,loglik,posterior",
		"attack-fgsm-features.csv": "index,label,eps,prediction,f1,f2",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if strings.Join(rows[0], ",") != header || len(rows) != 1+3*70 {
			t.Errorf("%s: header %v and %d rows; want %q and %d", file, rows[0], len(rows)-1, header, 3*70)
		}
	}
}

// TestPGDAndBIMStrongerThanFGSM on a trained small model: iterative attacks
// at the same ε do at least as much harm, and PGD is reproducible.
func TestPGDAndBIMStrongerThanFGSM(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	run := func(o AttackOptions) *AttackReport {
		o.Eps, o.Test = []float64{0.2}, synthetic("synth/test", 70, 4, 2)
		rep, err := Attack(context.Background(), dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	fgsm := run(AttackOptions{Method: attack.FGSM}).Results[1].Wrong
	bim := run(AttackOptions{Method: attack.BIM, Steps: 10}).Results[1].Wrong
	pgd := run(AttackOptions{Method: attack.PGD, Steps: 10, Restarts: 2, Seed: 5})
	again := run(AttackOptions{Method: attack.PGD, Steps: 10, Restarts: 2, Seed: 5})
	if bim < fgsm || pgd.Results[1].Wrong < fgsm {
		t.Errorf("wrong at ε 0.2: fgsm %d, bim %d, pgd %d; want the iterative ones >= fgsm", fgsm, bim, pgd.Results[1].Wrong)
	}
	for i := range pgd.Pred[1] {
		if pgd.Pred[1][i] != again.Pred[1][i] || pgd.LogLik[1][i] != again.LogLik[1][i] {
			t.Fatalf("PGD with one seed differs between runs at image %d", i)
		}
	}
}

func TestAttackOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		opts AttackOptions
		want []string
	}{
		{AttackOptions{Method: "fgsm", Eps: []float64{0.1}}, nil},
		{AttackOptions{Method: "bim", Eps: []float64{0.1, 0.2}, Steps: 10}, nil}, // step 2.5ε/10
		{AttackOptions{Method: "fgsm"}, []string{"--eps"}},
		{AttackOptions{Method: "fgsm", Eps: []float64{2}, Loss: "hinge", Limit: -1}, []string{"--eps", "--loss", "--limit"}},
		{AttackOptions{Method: "pgd", Eps: []float64{0.1}, Steps: 10}, []string{"--restarts"}},
		{AttackOptions{Method: "deepfool", Eps: []float64{0.1}}, []string{"--method"}},
	} {
		err := c.opts.Validate()
		if (err == nil) != (len(c.want) == 0) {
			t.Errorf("case %+v: got %v, want errors naming %v", c.opts, err, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %+v: got %v, want it to name %s", c.opts, err, w)
			}
		}
	}
}
