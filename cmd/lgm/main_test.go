package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/internal/gemm"
)

// lgm runs the command line with args and returns its exit code and streams.
func lgm(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	if s := errb.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic:") {
		t.Fatalf("lgm %v printed a panic:\n%s", args, s)
	}
	return code, out.String(), errb.String()
}

// writeIDX writes an unsigned-byte IDX file with the given dimensions; data
// may be shorter or longer than they claim, to make broken files.
func writeIDX(t *testing.T, path string, magic [4]byte, dims []uint32, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write(magic[:])
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mnistDir writes a tiny data set in MNIST's layout: n train and m test
// images of 28×28, labels i%10, each image with a class-specific bright bar.
func mnistDir(t *testing.T, n, m int) string {
	t.Helper()
	dir := t.TempDir()
	write := func(prefix string, count int) {
		pix := make([]byte, count*784)
		labels := make([]byte, count)
		for i := 0; i < count; i++ {
			labels[i] = byte(i % 10)
			row := 2 + 2*(i%10)
			for c := 4; c < 24; c++ {
				pix[i*784+row*28+c] = 255
			}
		}
		writeIDX(t, filepath.Join(dir, prefix+"-images-idx3-ubyte"), [4]byte{0, 0, 8, 3}, []uint32{uint32(count), 28, 28}, pix)
		writeIDX(t, filepath.Join(dir, prefix+"-labels-idx1-ubyte"), [4]byte{0, 0, 8, 1}, []uint32{uint32(count)}, labels)
	}
	write("train", n)
	write("t10k", m)
	return dir
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"train", "--help"}, {"eval", "--help"}, {"embed", "--help"}, {"bench", "--help"}} {
		code, out, _ := lgm(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("case %v: got exit %d, output %q; want 0 with usage and examples", args, code, out)
		}
	}
}

// TestErrorsAreOneLineWithExitCodes covers the bad inputs of the acceptance
// list: each ends with a non-zero exit and one line naming the problem.
func TestErrorsAreOneLineWithExitCodes(t *testing.T) {
	tmp := t.TempDir()
	unknownKey := filepath.Join(tmp, "unknown.yaml")
	os.WriteFile(unknownKey, []byte("train:\n  learning_rate: 0.1\n"), 0o644)
	zeroEpochs := filepath.Join(tmp, "zero-epochs.yaml")
	os.WriteFile(zeroEpochs, []byte("train:\n  epochs: 0\n"), 0o644)

	truncated := mnistDir(t, 20, 10)
	p := filepath.Join(truncated, "train-images-idx3-ubyte")
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, raw[:len(raw)-100], 0o644)

	badMagic := mnistDir(t, 20, 10)
	p = filepath.Join(badMagic, "t10k-labels-idx1-ubyte")
	raw, _ = os.ReadFile(p)
	raw[3] = 3
	os.WriteFile(p, raw, 0o644)

	out := filepath.Join(tmp, "run")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown config key", []string{"train", "--config", unknownKey, "--out", out}, exitUsage, []string{"unknown.yaml", "learning_rate"}},
		{"negative lr", []string{"train", "--lr", "-0.1", "--out", out}, exitUsage, []string{"--lr must be", "-0.1"}},
		{"missing run dir", []string{"eval", filepath.Join(tmp, "nope")}, exitUsage, []string{"nope", "does not exist"}},
		{"truncated IDX", []string{"train", "--net", "lenet", "--data", truncated, "--out", out}, exitUsage, []string{"train-images-idx3-ubyte", "truncated"}},
		{"wrong magic", []string{"train", "--net", "lenet", "--data", badMagic, "--out", out}, exitUsage, []string{"t10k-labels-idx1-ubyte", "magic"}},
		{"missing config", []string{"train", "--config", filepath.Join(tmp, "none.yaml")}, exitUsage, []string{"none.yaml"}},
		{"unknown flag", []string{"train", "--learning-rate", "1"}, exitUsage, []string{"learning-rate"}},
		{"unknown command", []string{"fit"}, exitUsage, []string{"fit"}},
		{"eval without run", []string{"eval"}, exitUsage, []string{"arg"}},
		// A bad value from the file names the file and key, one from a flag the flag.
		{"file and flag", []string{"train", "--config", zeroEpochs, "--lr", "-1", "--out", out}, exitUsage,
			[]string{"zero-epochs.yaml: train.epochs must be >= 1 (got 0)", "; --lr must be > 0"}},
		{"bad split", []string{"embed", tmp, "--split", "validation", "--out", filepath.Join(tmp, "f.csv")}, exitUsage, []string{"--split", "validation"}},
	}
	for i, c := range cases { // the first five are the acceptance's one-line cases
		code, _, stderr := lgm(t, c.args...)
		if code != c.code {
			t.Errorf("case %v: exit code got %d, want %d (stderr %q)", c.name, code, c.code, stderr)
		}
		first := strings.SplitN(stderr, "\n", 2)[0]
		if i < 5 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("case %v: got %q, want exactly one line", c.name, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(first, w) {
				t.Errorf("case %v: first line %q does not mention %q", c.name, first, w)
			}
		}
	}
}

func TestFlagsOverrideConfigOnlyWhereSet(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "exp.yaml")
	os.WriteFile(cfgFile, []byte("model:\n  dim: 64\ntrain:\n  lr: 0.05\n  epochs: 7\n"), 0o644)
	var got experiment.Config
	var gotOut string
	cmd := newTrainCmd(streams{out: io.Discard}, func(_ context.Context, cfg experiment.Config, opts experiment.TrainOptions) error {
		got, gotOut = cfg, opts.Out
		return nil
	})
	cmd.SetArgs([]string{"--config", cfgFile, "--lr", "0.2", "--net", "lenet", "--seed", "0", "--out", "somewhere"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := experiment.Default()
	want.Name = "exp"        // from the file name
	want.Model.Dim = 64      // file
	want.Train.Epochs = 7    // file
	want.Train.LR = 0.2      // flag beats file
	want.Model.Net = "lenet" // flag beats default
	want.Seed = 0            // a flag set to its zero value still counts
	if !reflect.DeepEqual(got, want) || gotOut != "somewhere" {
		t.Errorf("got %+v (out %q), want %+v (out somewhere)", got, gotOut, want)
	}
}

// TestTrainEvalEmbed runs the three commands end to end on a tiny IDX set.
func TestTrainEvalEmbed(t *testing.T) {
	dataDir := mnistDir(t, 100, 37)
	run := filepath.Join(t.TempDir(), "run")
	code, out, stderr := lgm(t, "train", "--net", "lenet", "--dim", "10", "--data", dataDir, "--epochs", "2", "--batch", "16", "--out", run)
	if code != exitOK {
		t.Fatalf("train: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := strings.Count(out, "\nepoch "); n != 2 {
		t.Errorf("train printed %d epoch lines, want 2:\n%s", n, out)
	}
	ms, err := experiment.ReadMetrics(filepath.Join(run, experiment.MetricsFile))
	if err != nil || len(ms) != 2 {
		t.Fatalf("metrics: %v, %d lines", err, len(ms))
	}
	code, out, stderr = lgm(t, "eval", run, "--json")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res struct {
		Error float64 `json:"error"`
		N     int     `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("eval --json printed %q: %v", out, err)
	}
	if res.Error != ms[1].TestError || res.N != 37 {
		t.Errorf("eval got error %v over %d, want %v over 37", res.Error, res.N, ms[1].TestError)
	}
	csvPath := filepath.Join(t.TempDir(), "feat.csv")
	if code, _, stderr = lgm(t, "embed", run, "--out", csvPath); code != exitOK {
		t.Fatalf("embed: exit %d: %s", code, stderr)
	}
	raw, _ := os.ReadFile(csvPath)
	if lines := strings.Count(string(raw), "\n"); lines != 38 {
		t.Errorf("embed wrote %d lines, want 38", lines)
	}
}

func TestBenchJSON(t *testing.T) {
	code, out, stderr := lgm(t, "bench", "--net", "lenet", "--batch", "4", "--steps", "2", "--warmup", "1", "--threads", "1", "--json")
	if code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", out, err)
	}
	for _, k := range []string{"train_img_s", "eval_img_s", "peak_rss_mb", "forward_mflop"} {
		if v, ok := res[k].(float64); !ok || !(v > 0) {
			t.Errorf("%s got %v, want a positive number", k, res[k])
		}
	}
	if res["precision"] != "fp32" {
		t.Errorf("precision got %v, want fp32", res["precision"])
	}
	// LeNet at D = 2: 576 000 + 3 200 000 + 800 000 + 2000 FLOP per image.
	if v := res["forward_mflop"]; v != 4.578 {
		t.Errorf("forward_mflop got %v, want 4.578", v)
	}
	gf, _ := res["gflops"].(map[string]any)
	for _, k := range []string{"train", "eval"} {
		if v, ok := gf[k].(float64); !ok || !(v > 0) {
			t.Errorf("gflops.%s got %v, want a positive number", k, gf[k])
		}
	}
	if tr, ok := gf["train"].(float64); ok && math.Abs(tr-3*4.578*res["train_img_s"].(float64)/1000) > 1e-9*tr {
		t.Errorf("gflops.train %v is not 3 × forward_mflop × train_img_s / 1000", tr)
	}
	c, _ := res["cpu"].(map[string]any)
	if m, ok := c["model"].(string); !ok || m == "" {
		t.Errorf("cpu.model got %v, want a name", c["model"])
	}
	if _, ok := c["features"].([]any); !ok {
		t.Errorf("cpu.features got %v, want a list", c["features"])
	}
	// A batch far beyond this machine's memory is refused before anything is allocated.
	if code, _, stderr := lgm(t, "bench", "--batch", "65536", "--threads", "1"); code != exitUsage || !strings.Contains(stderr, "lower train.batch") {
		t.Errorf("huge batch: exit %d, %q; want a refusal", code, stderr)
	}
	for _, args := range [][]string{{"bench"}, {"eval", "runs/x"}, {"embed", "runs/x", "--out", "x.csv"}, {"train", "--epochs", "1"}} {
		for _, n := range []string{"0", "257", "2147483647"} {
			if code, _, stderr := lgm(t, append(args, "--threads", n)...); code != exitUsage || !strings.Contains(stderr, "--threads must be between 1 and 256 (got "+n+")") {
				t.Errorf("%s --threads %s: exit %d, %q; want %d naming --threads and its range", args[0], n, code, stderr, exitUsage)
			}
		}
	}
	// Bad settings name the flag to fix, not a config key.
	if code, _, stderr := lgm(t, "bench", "--net", "vggg", "--width", "0"); code != exitUsage ||
		!strings.Contains(stderr, "--net must be one of") || !strings.Contains(stderr, "--width must be") {
		t.Errorf("--net vggg --width 0: exit %d, %q; want a usage error naming both flags", code, stderr)
	}
	// The CIFAR network at a small width.
	code, out, stderr = lgm(t, "bench", "--net", "vgg", "--width", "0.1", "--dim", "16", "--head", "lgm",
		"--batch", "2", "--steps", "1", "--warmup", "1", "--threads", "1", "--json")
	if code != exitOK || !strings.Contains(out, `"net":"vgg"`) {
		t.Errorf("bench --net vgg: exit %d, %q, %q", code, out, stderr)
	}
}

// TestBenchShapes: --shapes lists the training step's products by shape,
// among them LeNet's FC layer (B × 800 times 800 × 500, once a step), with
// shares of the step that add up, and needs --threads 1.
func TestBenchShapes(t *testing.T) {
	code, out, stderr := lgm(t, "bench", "--net", "lenet", "--batch", "4", "--steps", "2", "--warmup", "1", "--threads", "1", "--json", "--shapes")
	if code != exitOK {
		t.Fatalf("bench --shapes: exit %d: %s", code, stderr)
	}
	var res struct {
		GEMM *experiment.GEMMProfile `json:"gemm"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.GEMM == nil {
		t.Fatalf("bench --shapes --json printed %q: %v", out, err)
	}
	p := res.GEMM
	if p.Steps != 2 || !(p.PeakGFLOPS > 0) || !(p.StepS > 0) || !(p.GEMMShare > 0 && p.GEMMShare <= 1) || !(p.GEMMPctPeak > 0) {
		t.Errorf("profile %+v", *p)
	}
	var share float64
	fc := false
	for _, s := range p.Shapes {
		share += s.StepShare
		if s.M == 4 && s.N == 500 && s.K == 800 && !s.TransA && !s.TransB {
			fc = s.Calls == 1
		}
		if !(s.Calls > 0) || s.GFLOPS < 0 || s.PctPeak < 0 {
			t.Errorf("shape %+v", s)
		}
	}
	if math.Abs(share-p.GEMMShare) > 1e-9 {
		t.Errorf("the shapes' shares add up to %v, the products' to %v", share, p.GEMMShare)
	}
	if !fc {
		t.Errorf("no product of 4×800 by 800×500 once a step (LeNet's FC layer) among %+v", p.Shapes)
	}
	if code, _, stderr := lgm(t, "bench", "--shapes", "--threads", "2"); code != exitUsage || !strings.Contains(stderr, "--threads 1") {
		t.Errorf("bench --shapes --threads 2: exit %d, %q", code, stderr)
	}
}

// TestBenchBF16: --precision bf16 is reported with the instruction set it
// uses, and an unknown precision is a usage error naming the flag.
func TestBenchBF16(t *testing.T) {
	if code, _, stderr := lgm(t, "bench", "--precision", "fp8", "--threads", "1"); code != exitUsage || !strings.Contains(stderr, "--precision must be one of fp32, bf16") {
		t.Errorf("bench --precision fp8: exit %d, %q", code, stderr)
	}
	if !gemm.HasBF16() {
		t.Skip("no AVX512_BF16 on this CPU")
	}
	code, out, stderr := lgm(t, "bench", "--net", "lenet", "--batch", "4", "--steps", "1", "--warmup", "0", "--threads", "1", "--json", "--precision", "bf16")
	if code != exitOK {
		t.Fatalf("bench --precision bf16: exit %d: %s", code, stderr)
	}
	var res experiment.BenchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json printed %q: %v", out, err)
	}
	if res.Precision != "bf16" || !slices.Contains(res.CPU.Features, "avx512_bf16") {
		t.Errorf("precision %q, features %v", res.Precision, res.CPU.Features)
	}
}
