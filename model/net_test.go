package model

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// build makes a graph with an input batch of b images of 1×28×28 and the
// network name on it, seeded with seed.
func build(t *testing.T, name string, b, dim int, seed uint64) (*G.ExprGraph, *G.Node, *G.Node, Net) {
	t.Helper()
	g := G.NewGraph()
	net, err := New(g, Config{Name: name, Dim: dim, C: 1, H: 28, W: 28}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(b, 1, 28, 28), G.WithName("x"))
	feat, err := net.Forward(x)
	if err != nil {
		t.Fatalf("%s forward: %v", name, err)
	}
	return g, x, feat, net
}

func countParams(ns G.Nodes) int {
	n := 0
	for _, p := range ns {
		n += p.Shape().TotalSize()
	}
	return n
}

func TestNetShapesAndParams(t *testing.T) {
	cases := []struct {
		name   string
		dim    int
		params int
	}{
		// LeNet++: six convs (5·5·Cin·Cout + Cout), six PReLU slope vectors, FC 1152·D + D.
		{"lenetpp", 2, (25*1*32 + 32) + (25*32*32 + 32) + (25*32*64 + 64) + (25*64*64 + 64) +
			(25*64*128 + 128) + (25*128*128 + 128) + (32 + 32 + 64 + 64 + 128 + 128) + 1152*2 + 2},
		// LeNet: 20·25+20, 50·20·25+50, 800·500+500, 500·10+10.
		{"lenet", 10, 520 + 25050 + 400500 + 5010},
	}
	for _, c := range cases {
		_, _, feat, net := build(t, c.name, 3, c.dim, 1)
		if got, want := feat.Shape(), (tensor.Shape{3, c.dim}); !got.Eq(want) {
			t.Errorf("case %v: feature shape got %v, want %v", c.name, got, want)
		}
		if got := countParams(net.Learnables()); got != c.params {
			t.Errorf("case %v: parameters got %d, want %d", c.name, got, c.params)
		}
	}
}

func TestUnknownNet(t *testing.T) {
	_, err := New(G.NewGraph(), Config{Name: "resnet", Dim: 2, C: 1, H: 28, W: 28}, rand.New(rand.NewPCG(1, 1)))
	if err == nil || err.Error() != `unknown net "resnet" (want one of: lenet, lenetpp, resnet20, vgg)` {
		t.Fatalf("got %v, want the unknown-net error listing the valid names", err)
	}
}

func TestSeededInit(t *testing.T) {
	values := func(seed uint64) []float32 {
		_, _, _, net := build(t, "lenet", 1, 10, seed)
		var all []float32
		for _, p := range net.Learnables() {
			all = append(all, p.Value().Data().([]float32)...)
		}
		return all
	}
	a, b, c := values(7), values(7), values(8)
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Errorf("same seed gave different initial parameters")
	}
	if !differ {
		t.Errorf("different seeds gave the same initial parameters")
	}
}

// TestForwardBackward runs both networks forward and backward on a random
// batch and checks every parameter gets a finite, not-all-zero gradient.
func TestForwardBackward(t *testing.T) {
	for _, name := range Names {
		g, x, feat, net := build(t, name, 4, 3, 2)
		cost := G.Must(G.Sum(G.Must(G.Square(feat))))
		if _, err := G.Grad(cost, net.Learnables()...); err != nil {
			t.Fatalf("case %v: grad: %v", name, err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(net.Learnables()...))
		rng := rand.New(rand.NewPCG(3, 3))
		in := make([]float32, 4*28*28)
		for i := range in {
			in[i] = rng.Float32()
		}
		if err := G.Let(x, tensor.New(tensor.WithShape(4, 1, 28, 28), tensor.WithBacking(in))); err != nil {
			t.Fatal(err)
		}
		if err := vm.RunAll(); err != nil {
			t.Fatalf("case %v: run: %v", name, err)
		}
		for _, p := range net.Learnables() {
			gv, err := p.Grad()
			if err != nil {
				t.Fatalf("case %v: %v has no gradient: %v", name, p.Name(), err)
			}
			nonzero := false
			for _, v := range gv.Data().([]float32) {
				if v != v || v > 1e30 || v < -1e30 {
					t.Fatalf("case %v: %v gradient is not finite", name, p.Name())
				}
				nonzero = nonzero || v != 0
			}
			if !nonzero {
				t.Errorf("case %v: %v gradient is all zero", name, p.Name())
			}
		}
		vm.Close()
	}
}
