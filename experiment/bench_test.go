package experiment

import (
	"testing"
)

// benchmarkTrainStep times one training step (forward, backward, solver
// step, head post-step) of net at batch b on random input, and reports
// images/s; run with -benchmem to see that a step allocates (almost) nothing.
func benchmarkTrainStep(b *testing.B, net string, batch int) {
	cfg := Default()
	cfg.Model.Net, cfg.Train.Batch = net, batch
	s := shape{B: batch, C: 1, H: 28, W: 28, K: 10}
	set := randomSet(s, 1)
	t, err := newTrainer(cfg, TrainOptions{Train: set, Test: set}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer t.ss.close()
	t.sgd.LR = 1e-4
	for i := range t.idx {
		t.idx[i] = i
	}
	for i := 0; i < 2; i++ { // warm-up: ops allocate their buffers on the first run
		if err := t.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := t.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkTrainStepLeNetPP128(b *testing.B) { benchmarkTrainStep(b, "lenetpp", 128) }
func BenchmarkTrainStepLeNet128(b *testing.B)   { benchmarkTrainStep(b, "lenet", 128) }
