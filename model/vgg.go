package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/nnops"
)

// vggStages are the VGG network's widths at Width 1 and the number of
// convolutions of each stage; a 2×2 max-pool follows every stage but the
// last.
var vggStages = []struct{ width, convs int }{{96, 5}, {192, 4}, {384, 4}}

// VGG is the VGG-like 13-layer network of the L-GM paper's CIFAR-100
// experiments (Wan et al., "Rethinking Feature Distribution for Loss
// Functions in Image Classification", CVPR 2018, Table 3; docs/paper-vs-code.md, "The networks"):
//
//	[conv 3×3 pad 1 + BatchNorm + ReLU] ×5, width 96,  max-pool 2×2 (32 → 16),
//	[conv 3×3 pad 1 + BatchNorm + ReLU] ×4, width 192, max-pool 2×2 (16 → 8),
//	[conv 3×3 pad 1 + BatchNorm + ReLU] ×4, width 384,
//	global average pool → 384-D feature,
//	then FC 384 → D when D ≠ 384 (no activation).
//
// Config.Width w scales the widths to round(w·96), round(w·192),
// round(w·384) (at least 1 each), and "384" above means the last of them:
// with D equal to it the pooled feature is the network's output, as in the
// paper; any other D adds the linear layer.
//
// The convolutions have no learnable bias: the batch normalisation after
// each one subtracts any per-channel constant (in training mode the loss
// does not depend on it), and β plays its part: nnops.Conv2d without a bias
// (no bias term in the forward, no bias gradient in the backward).
//
// Initialisation, seeded: conv weights U(±1/√(9·Cin)) (FanInLimit), γ = 1,
// β = 0, running mean 0 and variance 1, momentum 0.1, ε = 1e-5 (PyTorch's);
// the FC layer as in newLinear.
//
// The network is a TrainModer (batch normalisation's mode) and Buffered
// (its running statistics, "net.bn1_1.mean", "net.bn1_1.var", …).
//
// With Config.Stock the layers are Gorgonia's own ops and batch
// normalisation is composed from them with batch statistics only: it keeps
// no running statistics and ignores SetTraining, so a stock VGG is only
// good for checking a training step of the fast one.
type VGG struct {
	stock bool
	convs []*conv
	bns   []*batchNorm
	fc    *linear // nil when D is the last width
}

var (
	_ Net        = (*VGG)(nil)
	_ Buffered   = (*VGG)(nil)
	_ TrainModer = (*VGG)(nil)
)

// vggWidth is round(w·base), at least 1.
func vggWidth(w float64, base int) int {
	return max(1, int(math.Round(w*float64(base))))
}

func newVGG(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*VGG, error) {
	w := cfg.Width
	if w == 0 {
		w = 1
	}
	if !(w > 0) || math.IsInf(w, 0) {
		return nil, fmt.Errorf("vgg: width must be > 0 (got %v)", cfg.Width)
	}
	if cfg.H/4 < 1 || cfg.W/4 < 1 {
		return nil, fmt.Errorf("vgg: input %d×%d is too small for two 2×2 poolings (want at least 4×4)", cfg.H, cfg.W)
	}
	n := &VGG{stock: cfg.Stock}
	cin := cfg.C
	for s, st := range vggStages {
		cout := vggWidth(w, st.width)
		for j := 0; j < st.convs; j++ {
			n.convs = append(n.convs, newBareConv(g, fmt.Sprintf("net.conv%d_%d", s+1, j+1), rng, cin, cout, 3, 1, cfg.Stock))
			n.bns = append(n.bns, newBatchNorm(g, fmt.Sprintf("net.bn%d_%d", s+1, j+1), cout, cfg.Stock))
			cin = cout
		}
	}
	if cfg.Dim != cin {
		n.fc = newLinear(g, "net.fc", rng, cin, cfg.Dim)
	}
	return n, nil
}

// newBareConv is a convolution without bias (see VGG).
func newBareConv(g *G.ExprGraph, name string, rng *rand.Rand, cin, cout, k, pad int, stock bool) *conv {
	return &conv{
		stock: stock,
		w:     param(g, name+".W", Uniform(rng, cout*cin*k*k, FanInLimit(cin*k*k)), cout, cin, k, k),
		k:     k,
		pad:   pad,
	}
}

// FLOPs implements Net: the convolutions and the FC layer, if any.
func (n *VGG) FLOPs() int64 { return countFLOPs(n.convs, n.fc) }

// Name is "vgg".
func (n *VGG) Name() string { return "vgg" }

// Forward maps (B, C, H, W) — (B, 3, 32, 32) for CIFAR — to (B, D).
func (n *VGG) Forward(x *G.Node) (*G.Node, error) {
	var err error
	i := 0
	for s, st := range vggStages {
		for j := 0; j < st.convs; j++ {
			if x, err = n.convs[i].forward(x); err != nil { // (B, Cout, H, W)
				return nil, err
			}
			if x, err = n.bns[i].forwardReLU(x); err != nil { // (B, Cout, H, W)
				return nil, err
			}
			i++
		}
		if s < len(vggStages)-1 {
			if x, err = maxPool2(x, n.stock); err != nil { // (B, Cout, H/2, W/2)
				return nil, err
			}
		}
	}
	if n.stock {
		x, err = meanOver(x, 3, 2) // (B, L)
	} else {
		x, err = nnops.GlobalAvgPool(x) // (B, L)
	}
	if err != nil {
		return nil, fmt.Errorf("vgg: global average pool: %w", err)
	}
	if n.fc == nil {
		return x, nil
	}
	return n.fc.forward(x) // (B, D)
}

// Learnables lists every parameter in layer order: each convolution's
// weights followed by its batch normalisation's γ and β, then the FC layer
// if there is one.
func (n *VGG) Learnables() G.Nodes {
	var ps G.Nodes
	for i := range n.convs {
		ps = append(ps, n.convs[i].w, n.bns[i].gamma, n.bns[i].beta)
	}
	if n.fc != nil {
		ps = append(ps, n.fc.learnables()...)
	}
	return ps
}

// Buffers lists each batch normalisation's running mean and variance, in
// layer order.
func (n *VGG) Buffers() G.Nodes {
	var bs G.Nodes
	for _, b := range n.bns {
		bs = append(bs, b.mean, b.vr)
	}
	return bs
}

// SetTraining switches every batch normalisation between training mode
// (batch statistics, running statistics updated) and evaluation mode
// (running statistics) for the runs that follow.
func (n *VGG) SetTraining(training bool) {
	for _, b := range n.bns {
		b.state.SetTraining(training)
	}
}

// batchNorm is a batch normalisation layer: learnables γ and β, and its
// running statistics as nodes that share the memory of its nnops.BNState.
type batchNorm struct {
	gamma, beta *G.Node // (C)
	state       *nnops.BNState
	mean, vr    *G.Node // (C): state.Mean and state.Var
	stock       bool
}

func newBatchNorm(g *G.ExprGraph, name string, c int, stock bool) *batchNorm {
	st := nnops.NewBNState(c)
	buffer := func(suffix string, data []float32) *G.Node {
		t := tensor.New(tensor.WithShape(c), tensor.WithBacking(data))
		return G.NewTensor(g, tensor.Float32, 1, G.WithShape(c), G.WithName(name+suffix), G.WithValue(t))
	}
	return &batchNorm{
		gamma: param(g, name+".gamma", Filled(c, 1), c),
		beta:  param(g, name+".beta", Filled(c, 0), c),
		state: st,
		mean:  buffer(".mean", st.Mean),
		vr:    buffer(".var", st.Var),
		stock: stock,
	}
}

// forwardReLU maps (B, C, H, W) to ReLU(BatchNorm(x)), (B, C, H, W): one
// fused op, or Gorgonia's ops in the stock build.
func (b *batchNorm) forwardReLU(x *G.Node) (*G.Node, error) {
	var y *G.Node
	var err error
	if b.stock {
		if y, err = stockBatchNorm(x, b.gamma, b.beta, b.state.Eps); err == nil {
			y, err = relu(y, true)
		}
	} else {
		y, err = nnops.BatchNormReLU(x, b.gamma, b.beta, b.state)
	}
	if err != nil {
		return nil, fmt.Errorf("batch norm %v: %w", b.gamma.Name(), err)
	}
	return y, nil
}

// forward maps (B, C, H, W) to BatchNorm(x), (B, C, H, W), without a ReLU
// (ResNet's second convolution of a block, before the residual addition).
func (b *batchNorm) forward(x *G.Node) (*G.Node, error) {
	var y *G.Node
	var err error
	if b.stock {
		y, err = stockBatchNorm(x, b.gamma, b.beta, b.state.Eps)
	} else {
		y, err = nnops.BatchNorm(x, b.gamma, b.beta, b.state)
	}
	if err != nil {
		return nil, fmt.Errorf("batch norm %v: %w", b.gamma.Name(), err)
	}
	return y, nil
}

// stockBatchNorm is training-mode batch normalisation of x (B, C, H, W)
// with batch statistics, from Gorgonia's own ops.
func stockBatchNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	c := x.Shape()[1]
	perChannel := func(v *G.Node) (*G.Node, error) { return G.Reshape(v, tensor.Shape{1, c, 1, 1}) }
	mean, err := meanOver(x, 3, 2, 0) // (C)
	if err != nil {
		return nil, err
	}
	if mean, err = perChannel(mean); err != nil { // (1, C, 1, 1)
		return nil, err
	}
	xc, err := G.BroadcastSub(x, mean, nil, []byte{0, 2, 3}) // (B, C, H, W)
	if err != nil {
		return nil, err
	}
	sq, err := G.Square(xc) // (B, C, H, W)
	if err != nil {
		return nil, err
	}
	vr, err := meanOver(sq, 3, 2, 0) // (C): biased
	if err != nil {
		return nil, err
	}
	if vr, err = G.Add(vr, G.NewConstant(float32(eps))); err != nil { // (C)
		return nil, err
	}
	// 1/√v as Inverse(Sqrt(v)): the gradient of Gorgonia v0.9.18's
	// InverseSqrt is wrong (checked against central differences).
	sd, err := G.Sqrt(vr) // (C)
	if err != nil {
		return nil, err
	}
	inv, err := G.Inverse(sd) // (C)
	if err != nil {
		return nil, err
	}
	scale, err := G.HadamardProd(gamma, inv) // (C)
	if err != nil {
		return nil, err
	}
	if scale, err = perChannel(scale); err != nil { // (1, C, 1, 1)
		return nil, err
	}
	shift, err := perChannel(beta) // (1, C, 1, 1)
	if err != nil {
		return nil, err
	}
	y, err := G.BroadcastHadamardProd(xc, scale, nil, []byte{0, 2, 3}) // (B, C, H, W)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(y, shift, nil, []byte{0, 2, 3}) // (B, C, H, W)
}

// meanOver averages x over each axis in turn (give them in decreasing
// order). Gorgonia v0.9.18's Sum over several axes at once is wrong for some
// shapes (over axes 2 and 3 of (2, 3, 7, 7) it mixes channels).
func meanOver(x *G.Node, axes ...int) (*G.Node, error) {
	var err error
	for _, a := range axes {
		if x, err = G.Mean(x, a); err != nil {
			return nil, err
		}
	}
	return x, nil
}
