package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// HoldOut splits s into a training part and n held-out examples (a
// validation set), stratified by class: each class gives its share of n,
// n·count_k/N rounded down, and the examples still missing go to the
// classes with the largest remainders (the lower class first on a tie).
// Within a class the examples held out are the first of a permutation drawn
// from rng (Perm, one per class in class order), so the split depends only on
// rng's state. Both parts keep the order of s and are copies; s must not be
// normalised yet. HoldOut fails unless 0 < n < s.N.
func HoldOut(s *Set, n int, rng *rand.Rand) (rest, held *Set, err error) {
	if n <= 0 || n >= s.N {
		return nil, nil, fmt.Errorf("cannot hold out %d of the %d examples of %s: want between 1 and %d", n, s.N, s.Name, s.N-1)
	}
	byClass := make([][]int, s.Classes)
	for i, y := range s.Labels {
		byClass[y] = append(byClass[y], i)
	}
	quota := make([]int, s.Classes)
	frac := make([]int, s.Classes) // remainder of n·count_k / N, for the leftovers
	total := 0
	for k, idx := range byClass {
		quota[k] = n * len(idx) / s.N
		frac[k] = n * len(idx) % s.N
		total += quota[k]
	}
	order := make([]int, s.Classes)
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return frac[b] - frac[a] })
	for i := 0; total < n; i++ {
		if k := order[i%len(order)]; quota[k] < len(byClass[k]) {
			quota[k]++
			total++
		}
	}
	isHeld := make([]bool, s.N)
	for k, idx := range byClass {
		p := Perm(rng, len(idx))
		for _, j := range p[:quota[k]] {
			isHeld[idx[j]] = true
		}
	}
	var keep, out []int
	for i, h := range isHeld {
		if h {
			out = append(out, i)
		} else {
			keep = append(keep, i)
		}
	}
	return s.pick(keep, s.Name+"[train]"), s.pick(out, s.Name+"[val]"), nil
}

// pick copies the examples idx of s into a new Set called name.
func (s *Set) pick(idx []int, name string) *Set {
	size := s.ImageSize()
	p := &Set{Name: name, N: len(idx), C: s.C, H: s.H, W: s.W, Classes: s.Classes, ClassNames: s.ClassNames,
		Labels: make([]int, len(idx)), norm: s.norm}
	if s.Images != nil {
		p.Images = make([]float32, len(idx)*size)
	} else {
		p.Pixels = make([]uint8, len(idx)*size)
	}
	for j, i := range idx {
		p.Labels[j] = s.Labels[i]
		if s.Images != nil {
			copy(p.Images[j*size:(j+1)*size], s.Images[i*size:(i+1)*size])
		} else {
			copy(p.Pixels[j*size:(j+1)*size], s.Pixels[i*size:(i+1)*size])
		}
	}
	return p
}
