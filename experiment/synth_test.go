package experiment

import (
	"math/rand/v2"

	"github.com/lgm-dev/lgm/data"
)

// synthetic returns a small, learnable 28×28 problem: class c has a bright
// 6×6 square at a place of its own, on noise. n need not be a multiple of
// any batch size.
func synthetic(name string, n, classes int, seed uint64) *data.Set {
	return syntheticC(name, n, classes, 1, seed)
}

// syntheticC is synthetic with c channels (the square is in every channel).
func syntheticC(name string, n, classes, c int, seed uint64) *data.Set {
	rng := rand.New(rand.NewPCG(seed, 99))
	s := &data.Set{Name: name, N: n, C: c, H: 28, W: 28, Classes: classes,
		Images: make([]float32, n*c*28*28), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		c := i % classes
		s.Labels[i] = c
		img := s.Image(i)
		for j := range img {
			img[j] = 0.3 * rng.Float32()
		}
		r0, c0 := 3+(c*7)%18, 3+(c*11)%18
		for ch := 0; ch < s.C; ch++ {
			for r := r0; r < r0+6; r++ {
				for q := c0; q < c0+6; q++ {
					img[ch*784+r*28+q] = 0.7 + 0.3*rng.Float32()
				}
			}
		}
	}
	return s
}

// smallConfig is a quick LeNet run on the synthetic problem.
func smallConfig() Config {
	c := Default()
	c.Name = "smoke"
	c.Model.Net = "lenet"
	c.Model.Dim = 8
	c.Train.Epochs = 3
	c.Train.Batch = 32
	c.Train.LR = 0.01
	c.Train.LRStep = 2
	return c
}
