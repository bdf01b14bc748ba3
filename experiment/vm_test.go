package experiment

import (
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/lgm-dev/lgm/internal/vm"
	"github.com/lgm-dev/lgm/loss"
)

// TestMachineMatchesTapeMachine trains every network with every head for a
// few steps twice from the same seed, once on internal/vm's machine (as lgm
// does) and once on Gorgonia's TapeMachine (as lgm did), and checks that the
// loss, its terms, the logits, the features, the log-likelihoods and every
// gradient agree bit for bit at every step: the machine and its kernels for
// Gorgonia's stock ops change how the graph runs, not what it computes.
func TestMachineMatchesTapeMachine(t *testing.T) {
	type netCase struct {
		net   string
		width float64
		dim   int
	}
	nets := []netCase{{"lenetpp", 1, 2}, {"lenet", 1, 10}, {"vgg", 0.125, 16}, {"resnet20", 0.25, 16}}
	heads := []string{"softmax", "center", "lsoftmax", "gm", "lgm"}
	if testing.Short() {
		nets, heads = nets[:1], []string{"softmax", "lgm"}
	}
	for _, nc := range nets {
		for _, head := range heads {
			cfg := Default()
			cfg.Model.Net, cfg.Model.Width, cfg.Model.Dim = nc.net, nc.width, nc.dim
			cfg.Head = HeadDefaults(head)
			cfg.Train.Batch = 4
			name := nc.net + " " + head
			a, _, err := benchTrainer(cfg) // runs on the vm
			if err != nil {
				t.Fatalf("case %s: %v", name, err)
			}
			b, _, err := benchTrainer(cfg) // the same, to run on a TapeMachine
			if err != nil {
				t.Fatalf("case %s: %v", name, err)
			}
			tape := G.NewTapeMachine(b.ss.g, G.BindDualValues(b.ss.params...))
			for step := 0; step < 3; step++ {
				for _, tr := range []*trainer{a, b} {
					tr.ss.load(tr.train, tr.idx, tr.labels)
					if sh, ok := tr.ss.head.(loss.Scheduled); ok {
						sh.SetStep(step, float64(step))
					}
					tr.ss.setTraining(true)
				}
				if err := a.ss.train.RunAll(); err != nil {
					t.Fatalf("case %s step %d: vm: %v", name, step, err)
				}
				if err := tape.RunAll(); err != nil {
					t.Fatalf("case %s step %d: tape: %v", name, step, err)
				}
				same := func(what string, xs, ys []float32) {
					t.Helper()
					if len(xs) != len(ys) {
						t.Errorf("case %s step %d: %s: %d values, want %d", name, step, what, len(xs), len(ys))
					} else if i := bitDiff(xs, ys); i >= 0 {
						t.Errorf("case %s step %d: %s[%d]: vm %v, tape %v", name, step, what, i, xs[i], ys[i])
					}
				}
				same("loss", numbers(a.ss.lossV), numbers(b.ss.lossV))
				same("logits", numbers(a.ss.logitsV), numbers(b.ss.logitsV))
				same("feature", numbers(a.ss.featV), numbers(b.ss.featV))
				same("loglik", numbers(a.ss.loglikV), numbers(b.ss.loglikV))
				for _, term := range a.ss.termNames {
					same("term "+term, numbers(*a.ss.termV[term]), numbers(*b.ss.termV[term]))
				}
				for i, p := range b.ss.params {
					g, err := p.Grad()
					if err != nil {
						t.Fatalf("case %s: tape gradient of %s: %v", name, p.Name(), err)
					}
					same("gradient of "+p.Name(), a.params[i].Grad, numbers(g))
					copy(b.params[i].Grad, numbers(g)) // b's solver steps with the tape's gradient
				}
				for _, tr := range []*trainer{a, b} {
					tr.sgd.Step()
					for i := range tr.params {
						clear(tr.params[i].Grad)
					}
					if ps, ok := tr.ss.head.(loss.PostStepper); ok {
						if err := ps.PostStep(); err != nil {
							t.Fatalf("case %s: %v", name, err)
						}
					}
				}
				for _, p := range b.ss.params { // the tape's accumulated gradients
					g, _ := p.Grad()
					clear(numbers(g))
				}
				tape.Reset()
			}
			for i := range a.params {
				if !sameBits(a.params[i].Value, b.params[i].Value) {
					t.Errorf("case %s: %s differs after 3 steps", name, a.params[i].Name)
				}
			}
			// The evaluation machine shares its memory with the training
			// machine: after training, it computes what one with memory of its
			// own computes.
			ref, err := vm.New(a.ss.g.SubgraphRoots(a.ss.evalRoots...), vm.NoSharing())
			if err != nil {
				t.Fatalf("case %s: %v", name, err)
			}
			a.ss.load(a.train, a.idx, a.labels)
			if err := a.ss.runEval(); err != nil {
				t.Fatalf("case %s: evaluation: %v", name, err)
			}
			logits := slices.Clone(numbers(a.ss.logitsV))
			feat := slices.Clone(numbers(a.ss.featV))
			if err := ref.RunAll(); err != nil {
				t.Fatalf("case %s: evaluation without sharing: %v", name, err)
			}
			for what, got := range map[string][][]float32{"logits": {logits, numbers(a.ss.logitsV)}, "feature": {feat, numbers(a.ss.featV)}} {
				if i := bitDiff(got[0], got[1]); i >= 0 {
					t.Errorf("case %s: evaluation %s[%d]: shared %v, own memory %v", name, what, i, got[0][i], got[1][i])
				}
			}
			tape.Close()
			a.ss.close()
			b.ss.close()
		}
	}
}

// numbers is the float32 numbers of a tensor or scalar value (a copy for a
// scalar; nil for none).
func numbers(v G.Value) []float32 {
	switch d := v.(type) {
	case nil:
		return nil
	case *G.F32:
		return []float32{float32(*d)}
	}
	return v.Data().([]float32)
}
