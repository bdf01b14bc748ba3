package model

import (
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Uniform returns n values drawn from U(-limit, limit) with rng.
//
// Gorgonia's own initialisers seed themselves from the clock, so a run could
// never be repeated; every parameter of lgm is drawn from a stream derived
// from the run's --seed instead.
func Uniform(rng *rand.Rand, n int, limit float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*rng.Float64() - 1) * limit)
	}
	return v
}

// Normal returns n values drawn from N(0, std²) with rng.
func Normal(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * std)
	}
	return v
}

// HeStd is the standard deviation √(2/fan_in) of He et al., "Delving Deep
// into Rectifiers" (ICCV 2015), §2.2 (PyTorch's kaiming_normal_ with its
// defaults), the initialisation of their ResNets.
func HeStd(fanIn int) float64 { return math.Sqrt(2 / float64(fanIn)) }

// FanInLimit is PyTorch's default bound for Linear and Conv2d parameters,
// 1/√fan_in (kaiming_uniform with a = √5). PERFORMANCE.md notes that He-normal
// initialisation with lr 0.01 blew LeNet++ up while this one did not.
func FanInLimit(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }

// Filled returns n copies of v.
func Filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// param adds a learnable float32 tensor named name with the given shape and
// initial values to g.
func param(g *G.ExprGraph, name string, init []float32, shape ...int) *G.Node {
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(init))
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
}
