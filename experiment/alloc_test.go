package experiment

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTrainStepDoesNotAllocate checks that a training step (load the batch,
// forward, backward, solver step, head post-step) of the benchmarked
// configurations allocates nothing once warmed up: the graph runs on
// internal/vm's machine with preallocated values and the trainer reads
// everything in place. It also lists any node that runs on a stock
// Gorgonia op's own Do (allocating), which should be none for these graphs.
func TestTrainStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, c := range []struct {
		name string
		cfg  func() Config
	}{
		{"lenetpp softmax", func() Config {
			cfg := Default()
			cfg.Model.Net = "lenetpp"
			return cfg
		}},
		{"vgg lgm", func() Config {
			cfg := Default()
			cfg.Model.Net, cfg.Model.Width, cfg.Model.Dim, cfg.Head = "vgg", 0.25, 96, HeadDefaults("lgm")
			return cfg
		}},
	} {
		cfg := c.cfg()
		cfg.Train.Batch = 8 // the machinery is the same at 128; keep the test quick
		tr, _, err := benchTrainer(cfg)
		if err != nil {
			t.Fatalf("case %s: %v", c.name, err)
		}
		_, stock := tr.ss.train.Kernels()
		for _, s := range stock {
			if !isProjectOp(s) {
				t.Errorf("case %s: node runs on a stock op's Do: %s", c.name, s)
			}
		}
		var stepErr error
		step := func() {
			tr.batch++
			if err := tr.step(); err != nil && stepErr == nil {
				stepErr = err
			}
		}
		// With the collector off and one P: internal/gemm keeps its workspaces in
		// sync.Pools, whose per-P lists the runtime drops at every collection, and the
		// first Put on a P after that allocates the P's list cell (a 48-byte element and
		// a 128-byte ring: at most 2 allocations per pool and P per collection; the
		// workspaces themselves survive a collection in the pool's victim cache). With
		// two Ps, which P's cell comes first after the warm-up is up to the scheduler.
		// Those are the runtime's, a few per collection, and a step that allocates
		// nothing triggers no collection. The ops' two workers still run.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		gc := debug.SetGCPercent(-1)
		for range 3 { // warm-up: the first run makes the values, the next ones the pools' cells
			step()
		}
		got := testing.AllocsPerRun(5, step)
		debug.SetGCPercent(gc)
		if stepErr != nil {
			t.Fatalf("case %s: %v", c.name, stepErr)
		}
		if got != 0 {
			t.Errorf("case %s: got %v allocations per training step, want 0", c.name, got)
		}
		evalStep := func() {
			if err := tr.ss.runEval(); err != nil && stepErr == nil {
				stepErr = err
			}
		}
		gc = debug.SetGCPercent(-1)
		evalStep()
		evalStep()
		got = testing.AllocsPerRun(5, evalStep)
		debug.SetGCPercent(gc)
		if got != 0 {
			t.Errorf("case %s: got %v allocations per evaluation batch, want 0", c.name, got)
		}
		tr.ss.close()
	}
}

// isProjectOp reports whether a Kernels entry ("%T %v") is one of the
// project's own ops (nnops, loss), which reuse their outputs.
func isProjectOp(s string) bool {
	for _, p := range []string{"*nnops.", "*loss."} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
