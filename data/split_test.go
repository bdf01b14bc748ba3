package data

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHoldOut(t *testing.T) {
	// 3 classes of 50, 30 and 20 examples; each example's pixel is its index.
	labels := []int{}
	for k, c := range []int{50, 30, 20} {
		for i := 0; i < c; i++ {
			labels = append(labels, k)
		}
	}
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	s := &Set{Name: "s", N: 100, C: 1, H: 1, W: 1, Classes: 3, Labels: labels, Pixels: make([]uint8, 100)}
	for i := range s.Pixels {
		s.Pixels[i] = uint8(i)
	}
	cases := []struct {
		n    int
		want []int // held out per class
	}{{10, []int{5, 3, 2}}, {11, []int{6, 3, 2}}, {7, []int{4, 2, 1}}, {99, []int{49, 30, 20}}, {1, []int{1, 0, 0}}}
	for _, c := range cases {
		rest, held, err := HoldOut(s, c.n, rand.New(rand.NewPCG(1, 4)))
		if err != nil {
			t.Fatalf("case %d: %v", c.n, err)
		}
		per := make([]int, 3)
		for _, y := range held.Labels {
			per[y]++
		}
		if !slices.Equal(per, c.want) || held.N != c.n || rest.N != 100-c.n {
			t.Errorf("case %d: held %v (%d, rest %d), want %v", c.n, per, held.N, rest.N, c.want)
		}
		// Every example lands in exactly one part, with its own label, in order.
		seen := map[uint8]bool{}
		for _, part := range []*Set{rest, held} {
			for j, px := range part.Pixels {
				if seen[px] || part.Labels[j] != labels[px] || (j > 0 && px <= part.Pixels[j-1]) {
					t.Fatalf("case %d: example %d misplaced in %s", c.n, px, part.Name)
				}
				seen[px] = true
			}
		}
		again, _, _ := HoldOut(s, c.n, rand.New(rand.NewPCG(1, 4)))
		other, _, _ := HoldOut(s, c.n, rand.New(rand.NewPCG(2, 4)))
		if !slices.Equal(again.Pixels, rest.Pixels) {
			t.Errorf("case %d: the same seed gave another split", c.n)
		}
		if c.n > 1 && c.n < 99 && slices.Equal(other.Pixels, rest.Pixels) {
			t.Errorf("case %d: another seed gave the same split", c.n)
		}
	}
	for _, n := range []int{0, -1, 100, 101} {
		if _, _, err := HoldOut(s, n, rand.New(rand.NewPCG(1, 4))); err == nil {
			t.Errorf("case %d: no error", n)
		}
	}
}
