package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/nnops"
)

// resnetStages is the number of stages of ResNet-20 and resnetBlocks the
// basic blocks of each: 1 + 2·3·3 convolutions + the head = 20 layers.
const (
	resnetStages = 3
	resnetBlocks = 3
)

// ResNet20 is the 20-layer residual network for CIFAR of He et al., "Deep
// Residual Learning for Image Recognition" (CVPR 2016), §4.2 (n = 3), the
// network of the authors' later CIFAR-10 code for the GM loss
// (docs/networks.md, docs/references.md "Others"):
//
//	conv 3×3 pad 1, 16 + BatchNorm + ReLU                          (32 × 32),
//	stage 1: 3 basic blocks at 16 channels                         (32 × 32),
//	stage 2: 3 basic blocks at 32 channels, the first of stride 2  (16 × 16),
//	stage 3: 3 basic blocks at 64 channels, the first of stride 2  (8 × 8),
//	global average pool → 64-D feature,
//	then FC 64 → D when D ≠ 64 (no activation).
//
// A basic block maps x to ReLU(BN(conv(ReLU(BN(conv(x))))) + P(x)), both
// convolutions 3×3 pad 1 without bias (the batch normalisation after each
// makes a bias redundant, see VGG), the first with the block's stride.
//
// The shortcut P is option A of §3.3: the identity, and where a block
// halves the size and doubles the channels, x subsampled with stride 2 and
// zero channels added, C/4 on each side (nnops.ResidualReLU). It is the
// paper's choice for its CIFAR networks ("so all residual models have
// exactly the same number of parameters as plain counterparts", §4.2: 0.27M
// at width 1) and the authors' later GM-loss code uses it too, so its
// 92.80 % is a figure for this network. Option B adds a 1×1 convolution
// and a BatchNorm (parameters and work) at each of the two stage changes,
// for a gain the paper measures only on ImageNet (its Table 3).
//
// Config.Width w scales the channels to c, 2c, 4c with c = round(16·w) (at
// least 1), so that every stage change still doubles the channels exactly;
// "64" above means 4c: with D equal to it the pooled feature is the
// network's output, as in the authors' code; any other D adds the linear
// layer.
//
// Initialisation, seeded: conv weights N(0, 2/(9·Cin)) (He et al. 2015, as
// the paper and the authors' code), γ = 1, β = 0, running mean 0 and
// variance 1, momentum 0.1, ε = 1e-5 (PyTorch's); the FC layer as in
// newLinear.
//
// The network is a TrainModer (batch normalisation's mode) and Buffered
// (its running statistics, "net.bn0.mean", "net.res1_1.bn1.mean", …).
//
// With Config.Stock the layers are Gorgonia's own ops: the shortcut is a
// strided 1×1 convolution with a constant 0/1 weight, the addition G.Add and
// G.Rectify, and batch normalisation uses batch statistics only (see VGG):
// good only for checking a training step of the fast network.
type ResNet20 struct {
	stock  bool
	conv0  *conv
	bn0    *batchNorm
	blocks []*basicBlock
	fc     *linear      // nil when D is the last width
	bnList []*batchNorm // every batch normalisation in layer order (bns)
}

var (
	_ Net        = (*ResNet20)(nil)
	_ Buffered   = (*ResNet20)(nil)
	_ TrainModer = (*ResNet20)(nil)
)

// basicBlock is one residual block: two 3×3 convolutions, each followed by
// batch normalisation, and the option-A shortcut.
type basicBlock struct {
	conv1, conv2 *conv
	bn1, bn2     *batchNorm
	stride       int
	// proj is the stock build's shortcut as a constant (Cout, Cin, 1, 1)
	// weight; nil for the identity or without Config.Stock.
	proj *G.Node
}

// ResNetWidths are the channels of the three stages of ResNet-20 at width
// multiplier w (0 means 1): c, 2c, 4c with c = max(1, round(16·w)).
func ResNetWidths(w float64) [3]int {
	if w == 0 {
		w = 1
	}
	c := max(1, int(math.Round(16*w)))
	return [3]int{c, 2 * c, 4 * c}
}

func newResNet20(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*ResNet20, error) {
	if !(cfg.Width >= 0) || math.IsInf(cfg.Width, 0) {
		return nil, fmt.Errorf("resnet20: width must be > 0 (got %v)", cfg.Width)
	}
	widths := ResNetWidths(cfg.Width)
	n := &ResNet20{stock: cfg.Stock}
	conv3 := func(name string, cin, cout, stride int) *conv { // 3×3 pad 1, no bias, He-normal
		return &conv{
			stock:  cfg.Stock,
			w:      param(g, name+".W", Normal(rng, cout*cin*9, HeStd(cin*9)), cout, cin, 3, 3),
			k:      3,
			pad:    1,
			stride: stride,
		}
	}
	n.conv0 = conv3("net.conv0", cfg.C, widths[0], 1)
	n.bn0 = newBatchNorm(g, "net.bn0", widths[0], cfg.Stock)
	cin := widths[0]
	for s := 0; s < resnetStages; s++ {
		cout := widths[s]
		for j := 0; j < resnetBlocks; j++ {
			stride := 1
			if s > 0 && j == 0 {
				stride = 2
			}
			name := fmt.Sprintf("net.res%d_%d", s+1, j+1)
			b := &basicBlock{
				conv1:  conv3(name+".conv1", cin, cout, stride),
				bn1:    newBatchNorm(g, name+".bn1", cout, cfg.Stock),
				conv2:  conv3(name+".conv2", cout, cout, 1),
				bn2:    newBatchNorm(g, name+".bn2", cout, cfg.Stock),
				stride: stride,
			}
			if cfg.Stock && (stride != 1 || cin != cout) {
				b.proj = shortcutWeight(g, name+".shortcut", cin, cout)
			}
			n.blocks = append(n.blocks, b)
			cin = cout
		}
	}
	if cfg.Dim != cin {
		n.fc = newLinear(g, "net.fc", rng, cin, cfg.Dim)
	}
	n.bnList = []*batchNorm{n.bn0}
	for _, b := range n.blocks {
		n.bnList = append(n.bnList, b.bn1, b.bn2)
	}
	return n, nil
}

// shortcutWeight is option A as a constant 1×1 convolution weight
// (cout, cin, 1, 1) for the stock build: output channel p + k is input
// channel k, p = (cout − cin)/2, the others zero (nnops.ResidualReLU).
func shortcutWeight(g *G.ExprGraph, name string, cin, cout int) *G.Node {
	w := make([]float32, cout*cin)
	p := (cout - cin) / 2
	for k := 0; k < cin; k++ {
		w[(p+k)*cin+k] = 1
	}
	t := tensor.New(tensor.WithShape(cout, cin, 1, 1), tensor.WithBacking(w))
	return G.NewTensor(g, tensor.Float32, 4, G.WithShape(cout, cin, 1, 1), G.WithName(name), G.WithValue(t))
}

// Name is "resnet20".
func (n *ResNet20) Name() string { return "resnet20" }

// Forward maps (B, C, H, W) — (B, 3, 32, 32) for CIFAR — to (B, D).
func (n *ResNet20) Forward(x *G.Node) (*G.Node, error) {
	x, err := n.conv0.forward(x) // (B, c, H, W)
	if err != nil {
		return nil, err
	}
	if x, err = n.bn0.forwardReLU(x); err != nil { // (B, c, H, W)
		return nil, err
	}
	for _, b := range n.blocks {
		if x, err = b.forward(x, n.stock); err != nil { // (B, Cout, ⌈H/s⌉, ⌈W/s⌉)
			return nil, err
		}
	}
	if n.stock {
		x, err = meanOver(x, 3, 2) // (B, 4c)
	} else {
		x, err = nnops.GlobalAvgPool(x) // (B, 4c)
	}
	if err != nil {
		return nil, fmt.Errorf("resnet20: global average pool: %w", err)
	}
	if n.fc == nil {
		return x, nil
	}
	return n.fc.forward(x) // (B, D)
}

// forward maps x (B, Cin, H, W) to the block's output (B, Cout, H', W').
func (b *basicBlock) forward(x *G.Node, stock bool) (*G.Node, error) {
	h, err := b.conv1.forward(x) // (B, Cout, H', W')
	if err != nil {
		return nil, err
	}
	if h, err = b.bn1.forwardReLU(h); err != nil { // (B, Cout, H', W')
		return nil, err
	}
	if h, err = b.conv2.forward(h); err != nil { // (B, Cout, H', W')
		return nil, err
	}
	if h, err = b.bn2.forward(h); err != nil { // (B, Cout, H', W')
		return nil, err
	}
	if !stock {
		y, err := nnops.ResidualReLU(h, x, b.stride) // (B, Cout, H', W')
		if err != nil {
			return nil, fmt.Errorf("residual after %v: %w", b.conv2.w.Name(), err)
		}
		return y, nil
	}
	short := x
	if b.proj != nil {
		if short, err = G.Conv2d(x, b.proj, tensor.Shape{1, 1}, []int{0, 0}, []int{b.stride, b.stride}, []int{1, 1}); err != nil { // (B, Cout, H', W')
			return nil, fmt.Errorf("shortcut %v: %w", b.proj.Name(), err)
		}
	}
	sum, err := G.Add(h, short) // (B, Cout, H', W')
	if err != nil {
		return nil, err
	}
	return G.Rectify(sum)
}

// FLOPs implements Net: the convolutions (the shortcuts have none) and the
// FC layer, if any.
func (n *ResNet20) FLOPs() int64 {
	convs := []*conv{n.conv0}
	for _, b := range n.blocks {
		convs = append(convs, b.conv1, b.conv2)
	}
	return countFLOPs(convs, n.fc)
}

// Learnables lists every parameter in layer order: the first convolution's
// weights and its batch normalisation's γ and β, then each block's conv1,
// bn1 γ, β, conv2, bn2 γ, β, then the FC layer if there is one.
func (n *ResNet20) Learnables() G.Nodes {
	ps := G.Nodes{n.conv0.w, n.bn0.gamma, n.bn0.beta}
	for _, b := range n.blocks {
		ps = append(ps, b.conv1.w, b.bn1.gamma, b.bn1.beta, b.conv2.w, b.bn2.gamma, b.bn2.beta)
	}
	if n.fc != nil {
		ps = append(ps, n.fc.learnables()...)
	}
	return ps
}

// bns lists the batch normalisations in layer order: made once, by the
// constructor, since SetTraining runs every step and must not allocate.
func (n *ResNet20) bns() []*batchNorm { return n.bnList }

// Buffers lists each batch normalisation's running mean and variance, in
// layer order.
func (n *ResNet20) Buffers() G.Nodes {
	var bs G.Nodes
	for _, b := range n.bns() {
		bs = append(bs, b.mean, b.vr)
	}
	return bs
}

// SetTraining switches every batch normalisation between training mode
// (batch statistics, running statistics updated) and evaluation mode
// (running statistics) for the runs that follow.
func (n *ResNet20) SetTraining(training bool) {
	for _, b := range n.bns() {
		b.state.SetTraining(training)
	}
}
