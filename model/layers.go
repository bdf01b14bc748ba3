package model

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/nnops"
)

// conv is a 2-D convolution with a bias per output channel, or none.
type conv struct {
	w      *G.Node // (Cout, Cin, K, K)
	b      *G.Node // (1, Cout, 1, 1); nil: no bias
	k, pad int
	stride int   // 0 means 1
	stock  bool  // Gorgonia's own Conv2d + BroadcastAdd instead of nnops
	flops  int64 // per image, set by forward: 2·Cin·K·K·Cout·H'·W'
}

func newConv(g *G.ExprGraph, name string, rng *rand.Rand, cin, cout, k, pad int, stock bool) *conv {
	lim := FanInLimit(cin * k * k)
	return &conv{
		stock: stock,
		w:     param(g, name+".W", Uniform(rng, cout*cin*k*k, lim), cout, cin, k, k),
		b:     param(g, name+".b", Uniform(rng, cout, lim), 1, cout, 1, 1),
		k:     k,
		pad:   pad,
	}
}

// forward maps (B, Cin, H, W) to (B, Cout, H', W'), H' = (H + 2·pad − K)/stride + 1.
func (c *conv) forward(x *G.Node) (*G.Node, error) {
	s := max(c.stride, 1)
	if xs, ws := x.Shape(), c.w.Shape(); xs.Dims() == 4 && ws.Dims() == 4 {
		ho, wo := (xs[2]+2*c.pad-ws[2])/s+1, (xs[3]+2*c.pad-ws[3])/s+1
		c.flops = 2 * int64(ws[1]*ws[2]*ws[3]) * int64(ws[0]) * int64(ho*wo) // a multiply-add is 2
	}
	if !c.stock {
		y, err := nnops.Conv2d(x, c.w, c.b, s, c.pad)
		if err != nil {
			return nil, fmt.Errorf("conv %v: %w", c.w.Name(), err)
		}
		return y, nil
	}
	y, err := G.Conv2d(x, c.w, tensor.Shape{c.k, c.k}, []int{c.pad, c.pad}, []int{s, s}, []int{1, 1})
	if err != nil {
		return nil, fmt.Errorf("conv %v: %w", c.w.Name(), err)
	}
	if c.b == nil {
		return y, nil
	}
	return G.BroadcastAdd(y, c.b, nil, []byte{0, 2, 3})
}

func (c *conv) learnables() G.Nodes { return G.Nodes{c.w, c.b} }

// prelu is the parametric ReLU of He et al. (2015) with one slope per channel,
// as in the center-loss LeNet++: y = max(0, x) + a·min(0, x).
type prelu struct {
	a     *G.Node // (1, C, 1, 1)
	stock bool    // composed from Gorgonia's ops instead of nnops
}

// preluInit is the initial slope, PyTorch's and Caffe's default.
const preluInit = 0.25

func newPReLU(g *G.ExprGraph, name string, c int, stock bool) *prelu {
	return &prelu{a: param(g, name+".a", Filled(c, preluInit), 1, c, 1, 1), stock: stock}
}

// forward maps (B, C, H, W) to (B, C, H, W).
func (p *prelu) forward(x *G.Node) (*G.Node, error) {
	if !p.stock {
		return nnops.PReLU(x, p.a)
	}
	pos, err := G.Rectify(x) // (B, C, H, W)
	if err != nil {
		return nil, err
	}
	neg, err := G.Sub(x, pos) // (B, C, H, W): min(0, x)
	if err != nil {
		return nil, err
	}
	scaled, err := G.BroadcastHadamardProd(neg, p.a, nil, []byte{0, 2, 3})
	if err != nil {
		return nil, err
	}
	return G.Add(pos, scaled)
}

// linear is a fully connected layer y = x·W + b.
type linear struct {
	w *G.Node // (In, Out)
	b *G.Node // (Out)
}

// flops is the layer's arithmetic per image: 2·In·Out.
func (l *linear) flops() int64 {
	if l == nil {
		return 0
	}
	s := l.w.Shape()
	return 2 * int64(s[0]) * int64(s[1])
}

// countFLOPs sums the forward arithmetic per image of convolutions (after
// their forward) and linear layers (nil ones count 0).
func countFLOPs(convs []*conv, fcs ...*linear) int64 {
	var n int64
	for _, c := range convs {
		n += c.flops
	}
	for _, l := range fcs {
		n += l.flops()
	}
	return n
}

func newLinear(g *G.ExprGraph, name string, rng *rand.Rand, in, out int) *linear {
	lim := FanInLimit(in)
	return &linear{
		w: param(g, name+".W", Uniform(rng, in*out, lim), in, out),
		b: param(g, name+".b", Uniform(rng, out, lim), out),
	}
}

// forward maps (B, In) to (B, Out). In bf16 (nnops.SetBF16, set before
// the graph is built) the product is nnops.MatMul, whose products follow
// the precision; in fp32 Gorgonia's own, as it always was.
func (l *linear) forward(x *G.Node) (*G.Node, error) {
	mul := G.Mul
	if nnops.BF16() {
		mul = nnops.MatMul
	}
	y, err := mul(x, l.w)
	if err != nil {
		return nil, fmt.Errorf("linear %v: %w", l.w.Name(), err)
	}
	return G.BroadcastAdd(y, l.b, nil, []byte{0})
}

func (l *linear) learnables() G.Nodes { return G.Nodes{l.w, l.b} }

// maxPool2 is a 2×2 max-pooling with stride 2; odd sizes are floored (7 → 3).
func maxPool2(x *G.Node, stock bool) (*G.Node, error) {
	if !stock {
		return nnops.MaxPool2d(x, 2, 2)
	}
	return G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
}

// relu is max(0, x).
func relu(x *G.Node, stock bool) (*G.Node, error) {
	if !stock {
		return nnops.ReLU(x)
	}
	return G.Rectify(x)
}

// flatten maps (B, C, H, W) to (B, C·H·W).
func flatten(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	return G.Reshape(x, tensor.Shape{s[0], s[1] * s[2] * s[3]})
}
