package model

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// LeNetPP is LeNet++ of Wen et al., "A Discriminative Feature Learning
// Approach for Deep Face Recognition" (ECCV 2016), the network behind the 2-D
// feature pictures of the center-loss and L-GM papers (docs/paper-vs-code.md, "The networks"):
//
//	[conv 5×5 pad 2 + PReLU] ×2, widths 32, 64, 128 per stage,
//	2×2 max-pool after each stage (28 → 14 → 7 → 3),
//	FC 128·3·3 = 1152 → D, no activation on the feature.
type LeNetPP struct {
	stock  bool
	convs  []*conv
	prelus []*prelu
	fc     *linear
}

var _ Net = (*LeNetPP)(nil)

func newLeNetPP(g *G.ExprGraph, cfg Config, rng *rand.Rand) (*LeNetPP, error) {
	n := &LeNetPP{stock: cfg.Stock}
	cin, h, w := cfg.C, cfg.H, cfg.W
	for s, width := range []int{32, 64, 128} {
		for j := 0; j < 2; j++ {
			name := fmt.Sprintf("net.conv%d_%d", s+1, j+1)
			n.convs = append(n.convs, newConv(g, name, rng, cin, width, 5, 2, cfg.Stock))
			n.prelus = append(n.prelus, newPReLU(g, fmt.Sprintf("net.prelu%d_%d", s+1, j+1), width, cfg.Stock))
			cin = width
		}
		h, w = h/2, w/2
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("lenetpp: input %d×%d is too small for three 2×2 poolings", cfg.H, cfg.W)
	}
	n.fc = newLinear(g, "net.fc", rng, cin*h*w, cfg.Dim)
	return n, nil
}

// Name is "lenetpp".
func (n *LeNetPP) Name() string { return "lenetpp" }

// Forward maps (B, C, 28, 28) to (B, D).
func (n *LeNetPP) Forward(x *G.Node) (*G.Node, error) {
	var err error
	for i := range n.convs {
		if x, err = n.convs[i].forward(x); err != nil { // (B, Cout, H, W)
			return nil, err
		}
		if x, err = n.prelus[i].forward(x); err != nil { // (B, Cout, H, W)
			return nil, err
		}
		if i%2 == 1 {
			if x, err = maxPool2(x, n.stock); err != nil { // (B, Cout, H/2, W/2)
				return nil, err
			}
		}
	}
	if x, err = flatten(x); err != nil { // (B, 1152)
		return nil, err
	}
	return n.fc.forward(x) // (B, D)
}

// FLOPs implements Net: the six convolutions and the FC layer.
func (n *LeNetPP) FLOPs() int64 { return countFLOPs(n.convs, n.fc) }

// Learnables lists every parameter: convolutions, PReLU slopes, the FC layer.
func (n *LeNetPP) Learnables() G.Nodes {
	var ps G.Nodes
	for i := range n.convs {
		ps = append(ps, n.convs[i].learnables()...)
		ps = append(ps, n.prelus[i].a)
	}
	return append(ps, n.fc.learnables()...)
}
