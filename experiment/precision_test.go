package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/nnops"
)

// TestPrecisionValidated: train.precision is fp32, bf16 or unset, and bf16
// is refused, naming the missing AVX512_BF16, on a CPU without it.
func TestPrecisionValidated(t *testing.T) {
	cfg := Default()
	for _, p := range []string{"", "fp32"} {
		cfg.Train.Precision = p
		if err := cfg.Validate(); err != nil {
			t.Errorf("precision %q: %v", p, err)
		}
	}
	cfg.Train.Precision = "fp16"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "train.precision must be one of fp32, bf16") {
		t.Errorf("precision fp16: %v", err)
	}
	old := hasBF16
	defer func() { hasBF16 = old }()
	hasBF16 = func() bool { return false }
	cfg.Train.Precision = "bf16"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "AVX512_BF16") || !strings.Contains(err.Error(), "use fp32") {
		t.Errorf("bf16 without AVX512_BF16: %v", err)
	}
}

// TestBF16Session: a session of a bf16 config trains with bfloat16
// convolution and FC products (nnops.MatMul for the FC layer) (a first step's loss near fp32's but not equal), and
// the next fp32 session is float32 again (its loss equals the first fp32
// session's bit for bit).
func TestBF16Session(t *testing.T) {
	if !hasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	loss := func(precision string) float64 {
		cfg := Default()
		cfg.Train.Batch, cfg.Train.Precision = 16, precision
		tr, _, err := benchTrainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.ss.close()
		if nnops.BF16() != (precision == "bf16") {
			t.Fatalf("precision %s: nnops.BF16() = %v", precision, nnops.BF16())
		}
		_, ops := tr.ss.train.Kernels()
		fc := 0
		for _, op := range ops {
			if strings.Contains(op, "MatMul") {
				fc++
			}
		}
		if want := map[bool]int{true: 3, false: 0}[precision == "bf16"]; fc != want { // the FC layer's y, dx, dw
			t.Errorf("precision %s: %d nnops.MatMul nodes, want %d", precision, fc, want)
		}
		if err := tr.step(); err != nil {
			t.Fatal(err)
		}
		return float64(numbers(tr.ss.lossV)[0])
	}
	f1, b, f2 := loss("fp32"), loss("bf16"), loss("")
	if f1 != f2 {
		t.Errorf("fp32 loss %v, then after a bf16 session %v", f1, f2)
	}
	if b == f1 || math.Abs(b-f1) > 0.01*math.Abs(f1) {
		t.Errorf("bf16 loss %v, fp32 %v: want near but not equal", b, f1)
	}
}
