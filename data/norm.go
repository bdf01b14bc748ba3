package data

import (
	"fmt"
	"math"
	"slices"
)

// minStd is the floor ComputeNorm puts under every standard deviation, so
// that a constant channel (std 0) does not turn into Inf or NaN on Apply.
const minStd = 1e-6

// Norm is a per-channel normalisation x → (x - Mean[c]) / Std[c].
// Mean and Std have one entry per channel.
type Norm struct {
	Mean, Std []float32
}

// ComputeNorm returns the mean and the (population) standard deviation of
// each channel over all pixels of all examples of s. It accumulates in
// float64 over two passes (mean, then squared deviations from it), which
// stays accurate for tens of millions of pixels. Each Std is at least 1e-6.
// For an empty set it returns Mean 0 and Std 1 for every channel, which
// Apply leaves as the identity.
func ComputeNorm(s *Set) Norm {
	n := Norm{Mean: make([]float32, s.C), Std: make([]float32, s.C)}
	plane := s.H * s.W
	count := float64(s.N * plane)
	for c := 0; c < s.C; c++ {
		if count == 0 {
			n.Mean[c], n.Std[c] = 0, 1
			continue
		}
		buf := make([]float32, plane)
		var sum float64
		for i := 0; i < s.N; i++ {
			for _, v := range channel(s, i, c, buf) {
				sum += float64(v)
			}
		}
		mean := sum / count
		var sq float64
		for i := 0; i < s.N; i++ {
			for _, v := range channel(s, i, c, buf) {
				d := float64(v) - mean
				sq += d * d
			}
		}
		n.Mean[c] = float32(mean)
		n.Std[c] = float32(max(math.Sqrt(sq/count), minStd))
	}
	return n
}

// channel returns channel c of example i of s as the network sees it (H*W
// values): for float images shared memory, for 8-bit pixels converted into
// buf (length H*W).
func channel(s *Set, i, c int, buf []float32) []float32 {
	plane := s.H * s.W
	start := (i*s.C + c) * plane
	if s.Images != nil {
		return s.Images[start : start+plane]
	}
	s.convertPlane(buf, s.Pixels[start:start+plane], c)
	return buf
}

// Apply normalises s: every pixel x of channel c becomes (x - Mean[c]) /
// Std[c]. Float images are rewritten in place; a set of 8-bit pixels keeps
// them and applies n whenever examples are read (it may be normalised only
// once). It panics if n does not fit s (see Validate; check a Norm that came
// from a file with Validate first) or normalises a set of pixels twice.
func (n Norm) Apply(s *Set) {
	if err := n.Validate(s.C); err != nil {
		panic(fmt.Sprintf("data: Norm.Apply to %s: %v", s.Name, err))
	}
	if s.Images == nil {
		if s.norm != nil {
			panic(fmt.Sprintf("data: Norm.Apply to %s, whose 8-bit pixels are normalised already", s.Name))
		}
		s.norm = &Norm{Mean: slices.Clone(n.Mean), Std: slices.Clone(n.Std)}
		return
	}
	for c := 0; c < s.C; c++ {
		mean, std := n.Mean[c], n.Std[c]
		for i := 0; i < s.N; i++ {
			px := channel(s, i, c, nil)
			for k, v := range px {
				px[k] = (v - mean) / std
			}
		}
	}
}

// Normalised returns s normalised by n and leaves s as it was: a set of
// 8-bit pixels shares them (n is applied as examples are read), a set of
// float images gets a normalised copy of them. So a set can be handed to
// several trainings or evaluations in one process. It panics as Apply does.
func (n Norm) Normalised(s *Set) *Set {
	c := *s
	if s.Images != nil {
		c.Images = slices.Clone(s.Images)
	}
	n.Apply(&c)
	return &c
}

// Validate checks that n has exactly c means and c standard deviations, all
// finite, and every standard deviation > 0.
func (n Norm) Validate(c int) error {
	if len(n.Mean) != c || len(n.Std) != c {
		return fmt.Errorf("normalisation has %d means and %d standard deviations, want %d of each (one per channel)", len(n.Mean), len(n.Std), c)
	}
	for i := 0; i < c; i++ {
		m, s := float64(n.Mean[i]), float64(n.Std[i])
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("normalisation mean of channel %d is %v, want a finite number", i, m)
		}
		if math.IsNaN(s) || math.IsInf(s, 0) || s <= 0 {
			return fmt.Errorf("normalisation std of channel %d is %v, want a finite number > 0", i, s)
		}
	}
	return nil
}
