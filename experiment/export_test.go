package experiment

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/data"
)

// python is Debian's interpreter, which has python3-torch.
const python = "/usr/bin/python3"

// TestExportPyTorchMatches exports small trained runs (LeNet++ with L-GM,
// VGG with BatchNorm and softmax, ResNet-20 with L-GM and its pooled
// feature, LeNet with center loss, LeNet++ with a diagonal GM) and runs them in PyTorch on the same normalised test images:
// logits and features must match lgm's to 1e-4 and the predictions exactly;
// load_state_dict(strict=True) checks that model.safetensors holds exactly
// the keys and shapes of Model().state_dict(). Skipped without torch.
func TestExportPyTorchMatches(t *testing.T) {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch (Debian: apt-get install python3-torch): %v", python, err)
	}
	lgmCfg := smallConfig()
	lgmCfg.Model.Net, lgmCfg.Model.Dim, lgmCfg.Train.Epochs, lgmCfg.Train.Limit = "lenetpp", 3, 1, 3
	lgmCfg.Head = HeadDefaults("lgm")
	lgmCfg.Head.Covariance, lgmCfg.Head.LogDet = "isotropic", true
	vgg := smallConfig()
	vgg.Model.Net, vgg.Model.Width, vgg.Model.Dim, vgg.Train.Epochs, vgg.Train.Limit = "vgg", 0.05, 8, 1, 3
	vgg.Head.Bias = true
	resnet := smallConfig() // stride-2 blocks on 28×28: 14 and 7 → 4
	resnet.Model.Net, resnet.Model.Width, resnet.Model.Dim, resnet.Train.Epochs, resnet.Train.Limit = "resnet20", 0.25, 16, 1, 3
	resnet.Head = HeadDefaults("lgm")
	center := smallConfig()
	center.Head, center.Train.Epochs, center.Train.Limit = HeadDefaults("center"), 1, 3
	diag := lgmCfg
	diag.Head = HeadDefaults("gm")
	diag.Head.Covariance, diag.Head.LogDet = "diagonal", true
	cases := []struct {
		name     string
		cfg      Config
		channels int
	}{{"lenetpp-lgm", lgmCfg, 1}, {"vgg-softmax", vgg, 3}, {"resnet20-lgm", resnet, 3}, {"lenet-center", center, 1}, {"lenetpp-gm-diagonal", diag, 1}}

	tmp := t.TempDir()
	type want struct {
		logits, feats []float32
		pred          []int
		k, d          int
	}
	wants := map[string]want{}
	var jobs []string
	for _, c := range cases {
		sets := func() (*data.Set, *data.Set) {
			return syntheticC("synth/train", 120, 4, c.channels, 1), syntheticC("synth/test", 37, 4, c.channels, 2)
		}
		tr, te := sets()
		run := filepath.Join(tmp, c.name)
		if err := Train(context.Background(), c.cfg, TrainOptions{Out: run, Train: tr, Test: te}); err != nil {
			t.Fatalf("case %v: train: %v", c.name, err)
		}
		exp := filepath.Join(tmp, c.name+"-pt")
		if _, err := ExportPyTorch(run, exp); err != nil {
			t.Fatalf("case %v: export: %v", c.name, err)
		}
		tr, te = sets()
		ss, set, err := openRun(run, RunOptions{Train: tr, Test: te})
		if err != nil {
			t.Fatal(err)
		}
		// lgm's logits, features and predictions, and the normalised images.
		var w want
		var x []float32
		b, size := ss.shape.B, set.ImageSize()
		idx, labels, pred := make([]int, b), make([]int, b), make([]int, b)
		for lo := 0; lo < set.N; lo += b {
			n := min(b, set.N-lo)
			for i := range n {
				idx[i] = lo + i
			}
			ss.load(set, idx[:n], labels)
			x = append(x, ss.xT.Data().([]float32)[:n*size]...)
			if err := ss.runEval(); err != nil {
				t.Fatal(err)
			}
			ss.predictions(n, pred)
			w.k, w.d = ss.shape.K, ss.dim
			w.logits = append(w.logits, ss.logitsV.Data().([]float32)[:n*w.k]...)
			w.feats = append(w.feats, ss.featV.Data().([]float32)[:n*w.d]...)
			w.pred = append(w.pred, pred[:n]...)
		}
		ss.close()
		in := filepath.Join(tmp, c.name+".in")
		writeFloats(t, in, x)
		wants[c.name] = w
		jobs = append(jobs, fmt.Sprintf("%s:%s:%s:%d:%d:%d:%d", exp, in, in+".out", set.N, set.C, set.H, set.W))
	}
	script := filepath.Join(tmp, "check.py")
	os.WriteFile(script, []byte(`import importlib.util, os, sys, torch
for job in sys.argv[1:]:
    exp, inp, out, n, c, h, w = job.split(":")
    spec = importlib.util.spec_from_file_location("load", os.path.join(exp, "load.py"))
    load = importlib.util.module_from_spec(spec); spec.loader.exec_module(load)
    model = load.load_model(exp)
    x = torch.frombuffer(bytearray(open(inp, "rb").read()), dtype=torch.float32).reshape(int(n), int(c), int(h), int(w))
    with torch.no_grad():
        logits, feats = model(x)
    open(out, "wb").write(logits.contiguous().numpy().tobytes() + feats.contiguous().numpy().tobytes())
`), 0o644)
	if out, err := exec.Command(python, append([]string{script}, jobs...)...).CombinedOutput(); err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, out)
	}
	for _, c := range cases {
		w := wants[c.name]
		got := readFloats(t, filepath.Join(tmp, c.name+".in.out"))
		if len(got) != len(w.logits)+len(w.feats) {
			t.Fatalf("case %v: PyTorch gave %d values, want %d", c.name, len(got), len(w.logits)+len(w.feats))
		}
		logits, feats := got[:len(w.logits)], got[len(w.logits):]
		dl, df := maxAbsDiff(logits, w.logits), maxAbsDiff(feats, w.feats)
		same := 0
		for i, p := range w.pred {
			best := 0
			for j, v := range logits[i*w.k : (i+1)*w.k] {
				if v > logits[i*w.k+best] {
					best = j
				}
			}
			if best == p {
				same++
			}
		}
		t.Logf("case %v: max |Δ| logits %.3g, features %.3g; predictions %d/%d identical", c.name, dl, df, same, len(w.pred))
		if !(dl <= 1e-4) || !(df <= 1e-4) || same != len(w.pred) {
			t.Errorf("case %v: max |Δ| logits %g, features %g (want <= 1e-4), predictions %d/%d identical", c.name, dl, df, same, len(w.pred))
		}
	}
	// An export never overwrites one.
	if _, err := ExportPyTorch(filepath.Join(tmp, cases[0].name), filepath.Join(tmp, cases[0].name+"-pt")); err == nil || !strings.Contains(err.Error(), "already holds an export") {
		t.Errorf("second export into the same folder: got %v", err)
	}
}

func writeFloats(t *testing.T, path string, v []float32) {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFloats(t *testing.T, path string) []float32 {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
