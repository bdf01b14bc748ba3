package experiment

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Files of a PyTorch export.
const (
	ExportModelPy     = "model.py"
	ExportSafetensors = "model.safetensors"
	ExportLoadPy      = "load.py"
)

// ExportResult says what ExportPyTorch wrote.
type ExportResult struct {
	Dir     string
	Tensors int // entries of the state dict
	Params  int // float values in it
}

// ExportPyTorch writes the network and head of the run (a run directory or a
// checkpoint file) at path as a PyTorch model into dir: model.py (a
// self-contained module needing only torch: class Model, built without
// arguments, whose forward(x) takes normalised images (B, C, H, W) and
// returns (logits, features), the logits margin-free; MEAN and STD are the
// run's input normalisation), model.safetensors (exactly the keys and shapes
// of Model().state_dict()) and load.py (reads them with the standard
// library and torch). Mistakes found before writing are SetupErrors.
func ExportPyTorch(path, dir string) (ExportResult, error) {
	ck, err := OpenCheckpoint(path)
	if err != nil {
		return ExportResult{}, setup(err)
	}
	py, tensors, err := pytorchModel(ck)
	if err != nil {
		return ExportResult{}, setup(err)
	}
	for _, f := range []string{ExportModelPy, ExportSafetensors, ExportLoadPy} {
		if fileExists(filepath.Join(dir, f)) {
			return ExportResult{}, setup(fmt.Errorf("%s already holds an export (%s); choose another folder or remove it", dir, f))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ExportResult{}, setup(fmt.Errorf("cannot create %s: %w", dir, err))
	}
	res := ExportResult{Dir: dir, Tensors: len(tensors)}
	for _, t := range tensors {
		res.Params += len(t.data)
	}
	meta := map[string]string{"format": "pt", "lgm_config": string(ck.Config.Marshal()), "lgm_epoch": fmt.Sprint(ck.Epoch)}
	if err := writeAtomic(filepath.Join(dir, ExportSafetensors), func(w io.Writer) error {
		return writeSafetensors(w, tensors, meta)
	}); err != nil {
		return res, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ExportModelPy), []byte(py)); err != nil {
		return res, err
	}
	return res, writeFileAtomic(filepath.Join(dir, ExportLoadPy), []byte(loadPy))
}

// ptTensor is one entry of the PyTorch state dict.
type ptTensor struct {
	key   string
	shape []int
	data  []float32
	int64 bool // BatchNorm's num_batches_tracked: an int64 scalar (0)
}

// pyWriter accumulates model.py's __init__ and forward lines of a module.
type pyWriter struct {
	init, fwd []string
	tensors   []ptTensor
	ck        *Checkpoint
	err       error
}

func (w *pyWriter) initf(format string, a ...any) { w.init = append(w.init, fmt.Sprintf(format, a...)) }
func (w *pyWriter) fwdf(format string, a ...any)  { w.fwd = append(w.fwd, fmt.Sprintf(format, a...)) }

// take moves checkpoint tensor name into the state dict as key, reshaped to
// shape (same values in the same order) or, with transpose, as the
// transpose of the (rows, cols) matrix.
func (w *pyWriter) take(name, key string, transpose bool, shape ...int) {
	v, ok := w.ck.Tensors[name]
	if !ok {
		w.err = errors.Join(w.err, fmt.Errorf("checkpoint has no tensor %s", name))
		return
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(v) {
		w.err = errors.Join(w.err, fmt.Errorf("checkpoint tensor %s has %d values, want %v", name, len(v), shape))
		return
	}
	if transpose { // v is (shape[1], shape[0]) row-major
		rows, cols := shape[1], shape[0]
		t := make([]float32, len(v))
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				t[c*rows+r] = v[r*cols+c]
			}
		}
		v = t
	}
	w.tensors = append(w.tensors, ptTensor{key: key, shape: shape, data: v})
}

func (w *pyWriter) shape(name string) []int { return w.ck.Shapes[name] }
func (w *pyWriter) has(name string) bool    { _, ok := w.ck.Tensors[name]; return ok }

// pytorchModel returns model.py's text and the state dict for checkpoint ck.
func pytorchModel(ck *Checkpoint) (string, []ptTensor, error) {
	cfg := ck.Config
	net := &pyWriter{ck: ck}
	switch cfg.Model.Net {
	case "lenetpp":
		pyLeNetPP(net)
	case "lenet":
		pyLeNet(net)
	case "vgg":
		pyVGG(net)
	case "resnet20":
		pyResNet20(net)
	default:
		return "", nil, fmt.Errorf("export: no PyTorch form of net %q", cfg.Model.Net)
	}
	head := &pyWriter{ck: ck}
	k, err := pyHead(head, cfg)
	if err != nil {
		return "", nil, err
	}
	if err := errors.Join(net.err, head.err); err != nil {
		return "", nil, fmt.Errorf("export: %w", err)
	}
	var tensors []ptTensor
	for _, t := range net.tensors {
		t.key = "net." + t.key
		tensors = append(tensors, t)
	}
	for _, t := range head.tensors {
		t.key = "head." + t.key
		tensors = append(tensors, t)
	}
	floats := func(v []float32) string {
		s := make([]string, len(v))
		for i, f := range v {
			s[i] = fmt.Sprint(f)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `"""%s: network %s, head %s (D = %d, K = %d), exported by lgm from epoch %d.

Model()(x) takes normalised images x (B, C, H, W) — pixels scaled to [0, 1],
then (x - MEAN[c]) / STD[c] per channel — and returns (logits, features):
the head's margin-free logits (B, K), whose argmax is the prediction, and the
network's features (B, D). Load the weights with load.py (model.safetensors
holds exactly the keys and shapes of Model().state_dict()). Only torch is
needed. Call model.eval() first: BatchNorm layers use their running
statistics there, as lgm does at evaluation.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

MEAN = %s
STD = %s
CLASSES = %d
DIM = %d
INPUT_SHAPE = %s  # (C, H, W) of the data set trained on, if lgm knows it


`, cfg.Name, cfg.Model.Net, cfg.Head.Name, cfg.Model.Dim, k, ck.Epoch, floats(ck.Norm.Mean), floats(ck.Norm.Std), k, cfg.Model.Dim, inputShape(cfg))
	module := func(name, doc string, w *pyWriter) {
		fmt.Fprintf(&b, "class %s(nn.Module):\n    \"\"\"%s\"\"\"\n\n    def __init__(self):\n        super().__init__()\n", name, doc)
		for _, l := range w.init {
			fmt.Fprintf(&b, "        %s\n", l)
		}
		b.WriteString("\n    def forward(self, x):\n")
		for _, l := range w.fwd {
			fmt.Fprintf(&b, "        %s\n", l)
		}
		b.WriteString("\n\n")
	}
	module("Net", fmt.Sprintf("The %s network: images (B, C, H, W) to features (B, D).", cfg.Model.Net), net)
	module("Head", headDoc(cfg), head)
	b.WriteString(`class Model(nn.Module):
    """Network and head: forward(x) returns (logits, features)."""

    def __init__(self):
        super().__init__()
        self.net = Net()
        self.head = Head()

    def forward(self, x):
        features = self.net(x)
        return self.head(features), features
`)
	return b.String(), tensors, nil
}

// inputShape is the (C, H, W) of the data set cfg names as Python, or None.
func inputShape(cfg Config) string {
	switch cfg.Data.Dataset {
	case "mnist", "fashion-mnist":
		return "(1, 28, 28)"
	case "cifar10", "cifar100":
		return "(3, 32, 32)"
	}
	return "None"
}

func pyLeNetPP(w *pyWriter) {
	for s := 1; s <= 3; s++ {
		for j := 1; j <= 2; j++ {
			name := fmt.Sprintf("conv%d_%d", s, j)
			sh := w.shape("net." + name + ".W") // (Cout, Cin, 5, 5)
			if len(sh) != 4 {
				w.err = errors.Join(w.err, fmt.Errorf("checkpoint has no 4-D tensor net.%s.W", name))
				return
			}
			pr := fmt.Sprintf("prelu%d_%d", s, j)
			w.initf("self.%s = nn.Conv2d(%d, %d, %d, padding=%d)", name, sh[1], sh[0], sh[2], sh[2]/2)
			w.initf("self.%s = nn.PReLU(%d)", pr, sh[0])
			w.take("net."+name+".W", name+".weight", false, sh...)
			w.take("net."+name+".b", name+".bias", false, sh[0])
			w.take("net."+pr+".a", pr+".weight", false, sh[0])
			w.fwdf("x = self.%s(self.%s(x))  # (B, %d, H, W)", pr, name, sh[0])
		}
		w.fwdf("x = F.max_pool2d(x, 2)")
	}
	pyLinear(w, "fc")
	w.fwdf("return self.fc(torch.flatten(x, 1))  # (B, D)")
}

func pyLeNet(w *pyWriter) {
	for _, name := range []string{"conv1", "conv2"} {
		sh := w.shape("net." + name + ".W")
		if len(sh) != 4 {
			w.err = errors.Join(w.err, fmt.Errorf("checkpoint has no 4-D tensor net.%s.W", name))
			return
		}
		w.initf("self.%s = nn.Conv2d(%d, %d, %d)", name, sh[1], sh[0], sh[2])
		w.take("net."+name+".W", name+".weight", false, sh...)
		w.take("net."+name+".b", name+".bias", false, sh[0])
		w.fwdf("x = F.max_pool2d(self.%s(x), 2)", name)
	}
	pyLinear(w, "fc1")
	pyLinear(w, "fc2")
	w.fwdf("x = F.relu(self.fc1(torch.flatten(x, 1)))  # (B, 500)")
	w.fwdf("return self.fc2(x)  # (B, D)")
}

func pyVGG(w *pyWriter) {
	for s := 1; w.has(fmt.Sprintf("net.conv%d_1.W", s)); s++ {
		if s > 1 {
			w.fwdf("x = F.max_pool2d(x, 2)")
		}
		for j := 1; ; j++ {
			name, bn := fmt.Sprintf("conv%d_%d", s, j), fmt.Sprintf("bn%d_%d", s, j)
			sh := w.shape("net." + name + ".W")
			if len(sh) != 4 {
				break
			}
			c := sh[0]
			w.initf("self.%s = nn.Conv2d(%d, %d, %d, padding=%d, bias=False)", name, sh[1], c, sh[2], sh[2]/2)
			w.initf("self.%s = nn.BatchNorm2d(%d, eps=%g)", bn, c, 1e-5)
			w.take("net."+name+".W", name+".weight", false, sh...)
			w.take("net."+bn+".gamma", bn+".weight", false, c)
			w.take("net."+bn+".beta", bn+".bias", false, c)
			w.take("net."+bn+".mean", bn+".running_mean", false, c)
			w.take("net."+bn+".var", bn+".running_var", false, c)
			w.tensors = append(w.tensors, ptTensor{key: bn + ".num_batches_tracked", shape: []int{}, int64: true})
			w.fwdf("x = F.relu(self.%s(self.%s(x)))  # (B, %d, H, W)", bn, name, c)
		}
	}
	w.fwdf("x = x.mean((2, 3))  # (B, L): global average pool")
	if w.has("net.fc.W") {
		pyLinear(w, "fc")
		w.fwdf("x = self.fc(x)  # (B, D)")
	}
	w.fwdf("return x")
}

// pyConvBN declares lgm's convolution conv (3×3 pad 1, no bias, with
// stride) and batch normalisation bn as the modules attr+"conv" and
// attr+"bn" ("res1_1_conv1", "res1_1_bn1"; "conv0", "bn0"), and returns
// the convolution's output channels and the Python expression bn(conv(in)).
func pyConvBN(w *pyWriter, conv, bn, convAttr, bnAttr string, stride int, in string) (int, string) {
	sh := w.shape("net." + conv + ".W") // (Cout, Cin, 3, 3)
	if len(sh) != 4 {
		w.err = errors.Join(w.err, fmt.Errorf("checkpoint has no 4-D tensor net.%s.W", conv))
		return 0, ""
	}
	c := sh[0]
	w.initf("self.%s = nn.Conv2d(%d, %d, %d, stride=%d, padding=%d, bias=False)", convAttr, sh[1], c, sh[2], stride, sh[2]/2)
	w.initf("self.%s = nn.BatchNorm2d(%d, eps=%g)", bnAttr, c, 1e-5)
	w.take("net."+conv+".W", convAttr+".weight", false, sh...)
	w.take("net."+bn+".gamma", bnAttr+".weight", false, c)
	w.take("net."+bn+".beta", bnAttr+".bias", false, c)
	w.take("net."+bn+".mean", bnAttr+".running_mean", false, c)
	w.take("net."+bn+".var", bnAttr+".running_var", false, c)
	w.tensors = append(w.tensors, ptTensor{key: bnAttr + ".num_batches_tracked", shape: []int{}, int64: true})
	return c, fmt.Sprintf("self.%s(self.%s(%s))", bnAttr, convAttr, in)
}

// pyResNet20 is model.ResNet20: the blocks res<stage>_<block> of the
// checkpoint, the first of stages 2 and 3 with stride 2, and option A's
// shortcut (x subsampled, zero channels split between both ends).
func pyResNet20(w *pyWriter) {
	c, bn := pyConvBN(w, "conv0", "bn0", "conv0", "bn0", 1, "x")
	w.fwdf("x = F.relu(%s)  # (B, %d, H, W)", bn, c)
	cin := c
	for s := 1; s <= 3; s++ {
		for j := 1; w.has(fmt.Sprintf("net.res%d_%d.conv1.W", s, j)); j++ {
			name, stride := fmt.Sprintf("res%d_%d", s, j), 1
			if s > 1 && j == 1 {
				stride = 2
			}
			cout, h := pyConvBN(w, name+".conv1", name+".bn1", name+"_conv1", name+"_bn1", stride, "x")
			w.fwdf("h = F.relu(%s)", h)
			_, h = pyConvBN(w, name+".conv2", name+".bn2", name+"_conv2", name+"_bn2", 1, "h")
			w.fwdf("h = %s", h)
			short, what := "x", "identity shortcut"
			if stride != 1 {
				short = fmt.Sprintf("x[:, :, ::%d, ::%d]", stride, stride)
			}
			if p := (cout - cin) / 2; cout != cin || stride != 1 {
				short, what = fmt.Sprintf("F.pad(%s, (0, 0, 0, 0, %d, %d))", short, p, cout-cin-p), "option A shortcut: subsampled, zero channels"
			}
			size := "H, W"
			if s > 1 {
				size = fmt.Sprintf("H/%d, W/%d", 1<<(s-1), 1<<(s-1))
			}
			w.fwdf("x = F.relu(h + %s)  # (B, %d, %s): %s, %s", short, cout, size, name, what)
			cin = cout
		}
	}
	w.fwdf("x = x.mean((2, 3))  # (B, L): global average pool")
	if w.has("net.fc.W") {
		pyLinear(w, "fc")
		w.fwdf("x = self.fc(x)  # (B, D)")
	}
	w.fwdf("return x")
}

// pyLinear declares the linear layer name: lgm's W is (In, Out) for x·W,
// PyTorch's weight (Out, In) for x·weightᵀ.
func pyLinear(w *pyWriter, name string) {
	sh := w.shape("net." + name + ".W")
	if len(sh) != 2 {
		w.err = errors.Join(w.err, fmt.Errorf("checkpoint has no matrix net.%s.W", name))
		return
	}
	w.initf("self.%s = nn.Linear(%d, %d)", name, sh[0], sh[1])
	w.take("net."+name+".W", name+".weight", true, sh[1], sh[0])
	w.take("net."+name+".b", name+".bias", false, sh[1])
}

// pyHead declares the head's parameters and its margin-free logits, and
// returns K.
func pyHead(w *pyWriter, cfg Config) (int, error) {
	d := cfg.Model.Dim
	switch cfg.Head.Name {
	case "softmax", "center", "lsoftmax":
		sh := w.shape("head.W") // (D, K)
		if len(sh) != 2 || sh[0] != d {
			return 0, fmt.Errorf("export: checkpoint has no (%d, K) tensor head.W", d)
		}
		k := sh[1]
		w.initf("self.W = nn.Parameter(torch.zeros(%d, %d))  # (D, K)", d, k)
		w.take("head.W", "W", false, d, k)
		logits := "x @ self.W"
		if w.has("head.b") {
			w.initf("self.b = nn.Parameter(torch.zeros(%d))  # (K)", k)
			w.take("head.b", "b", false, k)
			logits += " + self.b"
		}
		if w.has("head.centers") { // center loss: not in the logits, kept for likelihood scores
			w.initf("self.register_buffer(\"centers\", torch.zeros(%d, %d))  # (K, D)", k, d)
			w.take("head.centers", "centers", false, k, d)
		}
		w.fwdf("return %s  # (B, K)", logits)
		return k, nil
	case "gm", "lgm":
		sh := w.shape("head.means") // (K, D)
		if len(sh) != 2 || sh[1] != d {
			return 0, fmt.Errorf("export: checkpoint has no (K, %d) tensor head.means", d)
		}
		k := sh[0]
		w.initf("self.means = nn.Parameter(torch.zeros(%d, %d))  # (K, D) μ_k", k, d)
		w.take("head.means", "means", false, k, d)
		cov := cfg.Head.Covariance
		if cov != "identity" {
			lv := w.shape("head.logvar")
			w.initf("self.logvar = nn.Parameter(torch.zeros(%s))  # log-variances", strings.Trim(strings.Join(strings.Fields(fmt.Sprint(lv)), ", "), "[]"))
			w.take("head.logvar", "logvar", false, lv...)
			w.initf("self.floor = %v  # head.logvar_floor", float64(float32(cfg.Head.LogVarFloor)))
			w.fwdf("v = torch.clamp(self.logvar, min=self.floor)")
		}
		// The same expansion of the squares as lgm, for the same rounding.
		switch cov {
		case "identity", "isotropic":
			w.fwdf("xx = (x * x).sum(1, keepdim=True)  # (B, 1)")
			w.fwdf("mm = (self.means * self.means).sum(1)  # (K)")
			w.fwdf("dist = 0.5 * ((x @ self.means.t()) * -2 + xx + mm)  # (B, K) ½||x − μ_k||²")
			if cov == "isotropic" {
				w.fwdf("dist = dist * torch.exp(-v)  # ½||x − μ_k||² / σ_k²")
			}
		case "diagonal":
			w.fwdf("prec = torch.exp(-v)  # (K, D) Σ_k⁻¹")
			w.fwdf("pm = prec * self.means  # (K, D)")
			w.fwdf("t1 = (x * x) @ prec.t()  # (B, K)")
			w.fwdf("t2 = (x @ pm.t()) * -2  # (B, K)")
			w.fwdf("t3 = (pm * self.means).sum(1)  # (K)")
			w.fwdf("dist = 0.5 * (t1 + t2 + t3)  # (B, K) ½(x − μ_k)ᵀΣ_k⁻¹(x − μ_k)")
		default:
			return 0, fmt.Errorf("export: no PyTorch form of head.covariance %q", cov)
		}
		w.fwdf("z = -dist + %v  # log p(k) = −log K", -math.Log(float64(k)))
		if cfg.Head.LogDet && cov != "identity" {
			if cov == "isotropic" {
				w.fwdf("z = z - 0.5 * (v * %d)  # ½ log|Σ_k|", d)
			} else {
				w.fwdf("z = z - 0.5 * v.sum(1)  # ½ log|Σ_k|")
			}
		}
		w.fwdf("return z  # (B, K)")
		return k, nil
	}
	return 0, fmt.Errorf("export: no PyTorch form of head %q", cfg.Head.Name)
}

// headDoc is the docstring of the exported head: what its logits are.
func headDoc(cfg Config) string {
	switch cfg.Head.Name {
	case "softmax", "center":
		return "Linear logits z = x·W (+ b). The center head's centres are not part of them."
	case "lsoftmax":
		return "L-Softmax at test time: the plain logits z = x·W (the margin m only shapes training)."
	}
	doc := "Gaussian-mixture logits z_k = −½(x − μ_k)ᵀΣ_k⁻¹(x − μ_k) − log K"
	if cfg.Head.LogDet && cfg.Head.Covariance != "identity" {
		doc += " − ½ log|Σ_k|"
	}
	return doc + fmt.Sprintf(", covariance %s; margin-free (α only shapes training).", cfg.Head.Covariance)
}

// loadPy is the export's example loader.
const loadPy = `"""Load an lgm PyTorch export: python3 load.py [EXPORT_DIR]

Reads model.safetensors with the standard library and torch (no safetensors
package needed), loads it into model.Model and runs one batch of zeros.
In your own code:

    from load import load_model
    model = load_model("EXPORT_DIR")      # in eval mode
    logits, features = model(x)           # x normalised: (pixels/255 - MEAN) / STD
"""
import importlib.util
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16}


def read_safetensors(path):
    """Returns the tensors of a safetensors file as a dict of name to tensor.

    The format: an 8-byte little-endian header length, a JSON header giving
    each tensor's dtype, shape and byte offsets, then the data (little-endian).
    """
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        buf = bytearray(raw[base + lo : base + hi])
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out


def load_model(folder="."):
    """Builds model.Model from folder/model.py with folder/model.safetensors, in eval mode."""
    spec = importlib.util.spec_from_file_location("lgm_export_model", os.path.join(folder, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model()
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")), strict=True)
    model.eval()
    model.MEAN, model.STD, model.INPUT_SHAPE = module.MEAN, module.STD, module.INPUT_SHAPE
    return model


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    if folder in ("-h", "--help"):
        print(__doc__)
        return
    model = load_model(folder)
    if model.INPUT_SHAPE is None:
        print("loaded %s: %d tensors (input size unknown: call model(x) on your images)" % (folder, len(model.state_dict())))
        return
    x = torch.zeros(2, *model.INPUT_SHAPE)
    with torch.no_grad():
        logits, features = model(x)
    print("loaded %s: %d tensors; logits %s, features %s" % (folder, len(model.state_dict()), tuple(logits.shape), tuple(features.shape)))


if __name__ == "__main__":
    main()
`

// writeSafetensors writes tensors in the safetensors format: an 8-byte
// little-endian header length, a JSON header (each tensor's dtype, shape
// and byte range, plus __metadata__) padded with spaces to a multiple of 8,
// then the little-endian data in the order of tensors. (The checkpoints'
// library refuses the int64 scalars PyTorch's BatchNorm keeps.)
func writeSafetensors(w io.Writer, tensors []ptTensor, meta map[string]string) error {
	type entry struct {
		Dtype       string `json:"dtype"`
		Shape       []int  `json:"shape"`
		DataOffsets [2]int `json:"data_offsets"`
	}
	header := map[string]any{"__metadata__": meta}
	off := 0
	for _, t := range tensors {
		n, dtype := 4*len(t.data), "F32"
		if t.int64 {
			n, dtype = 8, "I64"
		}
		header[t.key] = entry{Dtype: dtype, Shape: append([]int{}, t.shape...), DataOffsets: [2]int{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(len(js)))
	if _, err := w.Write(buf[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		if t.int64 {
			clear(buf[:])
			if _, err := w.Write(buf[:]); err != nil {
				return err
			}
			continue
		}
		b := make([]byte, 4*len(t.data))
		for i, f := range t.data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
