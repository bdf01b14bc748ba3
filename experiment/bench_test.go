package experiment

import (
	"testing"
)

// benchmarkTrainStep times one training step (forward, backward, solver
// step, head post-step) of net at batch b on random input, and reports
// images/s; run with -benchmem to see that a step allocates nothing
// (TestTrainStepDoesNotAllocate checks it), and cpu-ms/op for the process's
// CPU time per step.
func benchmarkTrainStep(b *testing.B, net string, batch int) {
	cfg := Default()
	cfg.Model.Net, cfg.Train.Batch = net, batch
	switch net { // the shipped CIFAR configs' networks and head
	case "vgg":
		cfg.Model.Width, cfg.Model.Dim, cfg.Head = 0.25, 96, HeadDefaults("lgm")
	case "resnet20":
		cfg.Model.Width, cfg.Model.Dim, cfg.Head = 1, 64, HeadDefaults("lgm")
	}
	t, _, err := benchTrainer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer t.ss.close()
	for i := 0; i < 2; i++ { // warm-up: ops allocate their buffers on the first run
		if err := t.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := t.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op") // steadier than wall time on a shared host
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkTrainStepLeNetPP128(b *testing.B) { benchmarkTrainStep(b, "lenetpp", 128) }
func BenchmarkTrainStepLeNet128(b *testing.B)   { benchmarkTrainStep(b, "lenet", 128) }

// BenchmarkTrainStepVGG128 is configs/cifar10-lgm-*.yaml's step: VGG at width 0.25, L-GM.
func BenchmarkTrainStepVGG128(b *testing.B) { benchmarkTrainStep(b, "vgg", 128) }

// BenchmarkTrainStepResNet20128 is configs/cifar10-resnet20-lgm.yaml's step:
// ResNet-20 at width 1, L-GM on the pooled 64-D feature.
func BenchmarkTrainStepResNet20128(b *testing.B) { benchmarkTrainStep(b, "resnet20", 128) }
