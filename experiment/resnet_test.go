package experiment

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestResNet20TrainLossFalls is ResNet-20's smoke test: two epochs at width
// 0.25 (its pooled 16-D feature, the L-GM head) on a tiny 3-channel
// separable problem, five batches each (train.limit), must lower the loss
// and the test error; evaluation counts every test image.
func TestResNet20TrainLossFalls(t *testing.T) {
	cfg := smallConfig()
	cfg.Model.Net, cfg.Model.Width, cfg.Model.Dim = "resnet20", 0.25, 16
	cfg.Head = HeadDefaults("lgm")
	cfg.Train.Epochs, cfg.Train.Limit, cfg.Train.LR = 2, 5, 0.05
	dir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	err := Train(context.Background(), cfg, TrainOptions{Out: dir, Stdout: &out,
		Train: syntheticC("synth/train", 200, 4, 3, 1), Test: syntheticC("synth/test", 70, 4, 3, 2)})
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	if strings.Contains(out.String(), "note:") {
		t.Errorf("D = 16 is the pooled feature at width 0.25, yet the output notes a linear layer:\n%s", out.String())
	}
	ms := readMetrics(t, dir)
	if len(ms) != 2 {
		t.Fatalf("got %d metrics lines, want 2", len(ms))
	}
	t.Logf("train loss %.4g → %.4g, test error %.3g → %.3g", ms[0].TrainLoss, ms[1].TrainLoss, ms[0].TestError, ms[1].TestError)
	if !(ms[1].TrainLoss < 0.7*ms[0].TrainLoss) {
		t.Errorf("train loss went %v → %v, want it to fall by 30%% or more", ms[0].TrainLoss, ms[1].TrainLoss)
	}
	// Ten steps leave the running statistics that evaluation uses short of
	// the batches' (momentum 0.1): ask only that the error falls well below
	// chance (0.75).
	if !(ms[1].TestError < ms[0].TestError && ms[1].TestError < 0.6) {
		t.Errorf("test error went %v → %v, want it to fall below 0.6", ms[0].TestError, ms[1].TestError)
	}
	for i, m := range ms {
		if m.TestN != 70 || m.Batches != 5 {
			t.Errorf("line %d: got test_n %d, batches %d; want 70, 5", i, m.TestN, m.Batches)
		}
	}
}

// TestPooledDimNote: a D other than the pooled feature's is not refused
// (the network adds a linear layer, as for VGG) but said at the start.
func TestPooledDimNote(t *testing.T) {
	cfg := smallConfig()
	cfg.Model.Net, cfg.Model.Width, cfg.Model.Dim = "resnet20", 0.125, 5
	cfg.Train.Epochs, cfg.Train.Limit = 1, 1
	var out bytes.Buffer
	err := Train(context.Background(), cfg, TrainOptions{Out: filepath.Join(t.TempDir(), "run"), Stdout: &out,
		Train: syntheticC("synth/train", 64, 4, 3, 1), Test: syntheticC("synth/test", 16, 4, 3, 2)})
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	want := "note: resnet20's pooled feature is 8-D at width 0.125; a linear layer maps it to D=5 (model.dim 8 makes the pooled feature the head's input)"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant a line %q", out.String(), want)
	}
}
