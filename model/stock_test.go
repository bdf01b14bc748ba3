package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFastOpsMatchStock runs a training step's forward and backward through
// each network built from package nnops and from Gorgonia's stock ops, on
// the same weights and batch, and compares features and every gradient.
func TestFastOpsMatchStock(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	in := make([]float32, 3*28*28)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	R := make([]float32, 3*5)
	for i := range R {
		R[i] = rng.Float32()*2 - 1
	}
	type result struct {
		feat  []float32
		grads [][]float32
	}
	step := func(name string, stock bool) result {
		g := G.NewGraph()
		net, err := New(g, Config{Name: name, Dim: 5, C: 1, H: 28, W: 28, Stock: stock}, rand.New(rand.NewPCG(9, 1)))
		if err != nil {
			t.Fatal(err)
		}
		x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(3, 1, 28, 28), G.WithName("x"),
			G.WithValue(tensor.New(tensor.WithShape(3, 1, 28, 28), tensor.WithBacking(append([]float32(nil), in...)))))
		feat, err := net.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		r := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 5), G.WithName("r"),
			G.WithValue(tensor.New(tensor.WithShape(3, 5), tensor.WithBacking(R))))
		cost := G.Must(G.Sum(G.Must(G.HadamardProd(feat, r)))) // Σ feat ⊙ R
		var featV G.Value
		G.Read(feat, &featV)
		if _, err := G.Grad(cost, net.Learnables()...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(net.Learnables()...))
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("case %v stock=%v: %v", name, stock, err)
		}
		res := result{feat: append([]float32(nil), featV.Data().([]float32)...)}
		for _, p := range net.Learnables() {
			gv, _ := p.Grad()
			res.grads = append(res.grads, append([]float32(nil), gv.Data().([]float32)...))
		}
		return res
	}
	for _, name := range Names {
		fast, stock := step(name, false), step(name, true)
		check := func(what string, got, want []float32) {
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(scale, 1e-3) {
					t.Errorf("case %v: %s[%d] got %v, want %v (stock)", name, what, i, got[i], want[i])
					return
				}
			}
		}
		check("feature", fast.feat, stock.feat)
		for i := range stock.grads {
			check(fmt.Sprintf("gradient %d", i), fast.grads[i], stock.grads[i])
		}
	}
}
