package model

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// LeNet is the classic LeNet of LeCun et al. (1998) as in Caffe's MNIST
// example (docs/paper-vs-code.md, "The networks"):
//
//	conv 5×5 20, pool 2×2, conv 5×5 50, pool 2×2, FC 800 → 500, ReLU, FC 500 → D.
type LeNet struct {
	stock        bool
	conv1, conv2 *conv
	fc1, fc2     *linear
}

var _ Net = (*LeNet)(nil)

func newLeNet(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*LeNet, error) {
	h, w := ((cfg.H-4)/2-4)/2, ((cfg.W-4)/2-4)/2
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("lenet: input %d×%d is too small (want at least 16×16)", cfg.H, cfg.W)
	}
	return &LeNet{
		stock: cfg.Stock,
		conv1: newConv(g, "net.conv1", rng, cfg.C, 20, 5, 0, cfg.Stock),
		conv2: newConv(g, "net.conv2", rng, 20, 50, 5, 0, cfg.Stock),
		fc1:   newLinear(g, "net.fc1", rng, 50*h*w, 500),
		fc2:   newLinear(g, "net.fc2", rng, 500, cfg.Dim),
	}, nil
}

// Name is "lenet".
func (n *LeNet) Name() string { return "lenet" }

// Forward maps (B, C, 28, 28) to (B, D).
func (n *LeNet) Forward(x *G.Node) (*G.Node, error) {
	pool := func(x *G.Node) (*G.Node, error) { return maxPool2(x, n.stock) }
	act := func(x *G.Node) (*G.Node, error) { return relu(x, n.stock) }
	steps := []func(*G.Node) (*G.Node, error){
		n.conv1.forward, // (B, 20, 24, 24)
		pool,            // (B, 20, 12, 12)
		n.conv2.forward, // (B, 50, 8, 8)
		pool,            // (B, 50, 4, 4)
		flatten,         // (B, 800)
		n.fc1.forward,   // (B, 500)
		act,             // (B, 500)
		n.fc2.forward,   // (B, D)
	}
	var err error
	for _, f := range steps {
		if x, err = f(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// FLOPs implements Net: the two convolutions and the two FC layers.
func (n *LeNet) FLOPs() int64 {
	return countFLOPs([]*conv{n.conv1, n.conv2}, n.fc1, n.fc2)
}

// Learnables lists every parameter in layer order.
func (n *LeNet) Learnables() G.Nodes {
	var ps G.Nodes
	for _, l := range []G.Nodes{n.conv1.learnables(), n.conv2.learnables(), n.fc1.learnables(), n.fc2.learnables()} {
		ps = append(ps, l...)
	}
	return ps
}
