package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// channelStats is an independent float64 reference for ComputeNorm: the
// mean and population standard deviation of channel c, visiting pixels by
// their N×C×H×W coordinates.
func channelStats(s *Set, c int) (mean, std float64) {
	var sum, sumSq float64
	count := 0
	for i := 0; i < s.N; i++ {
		for y := 0; y < s.H; y++ {
			for x := 0; x < s.W; x++ {
				v := float64(s.Images[((i*s.C+c)*s.H+y)*s.W+x])
				sum += v
				sumSq += v * v
				count++
			}
		}
	}
	mean = sum / float64(count)
	return mean, math.Sqrt(max(sumSq/float64(count)-mean*mean, 0))
}

// randomSet returns a seeded set whose channel c has pixels uniform in
// [c/10, c/10 + 0.5·(c+1)/C).
func randomSet(seed uint64, n, c, h, w int) *Set {
	rng := rand.New(rand.NewPCG(seed, 5))
	s := &Set{Name: "random", N: n, C: c, H: h, W: w, Classes: 2,
		Images: make([]float32, n*c*h*w), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			px := channel(s, i, ch, nil)
			for k := range px {
				px[k] = float32(ch)/10 + 0.5*float32(ch+1)/float32(c)*rng.Float32()
			}
		}
	}
	return s
}

func TestComputeNormAndApply(t *testing.T) {
	for _, tc := range []struct{ n, c, h, w int }{
		{1, 1, 1, 2},
		{10, 1, 28, 28},
		{7, 3, 5, 4},
		{50, 3, 32, 32},
	} {
		s := randomSet(uint64(tc.n), tc.n, tc.c, tc.h, tc.w)
		norm := ComputeNorm(s)
		if err := norm.Validate(tc.c); err != nil {
			t.Errorf("case %v: got invalid norm: %v", tc, err)
		}
		for c := 0; c < tc.c; c++ {
			mean, std := channelStats(s, c)
			if math.Abs(float64(norm.Mean[c])-mean) > 1e-6 || math.Abs(float64(norm.Std[c])-std) > 1e-5 {
				t.Errorf("case %v channel %d: got mean %v std %v, want %v %v", tc, c, norm.Mean[c], norm.Std[c], mean, std)
			}
		}
		norm.Apply(s)
		for c := 0; c < tc.c; c++ {
			mean, std := channelStats(s, c)
			if math.Abs(mean) > 1e-5 || math.Abs(std-1) > 1e-4 {
				t.Errorf("case %v channel %d after Apply: got mean %v std %v, want 0 1", tc, c, mean, std)
			}
		}
	}
}

func TestApplyFormula(t *testing.T) {
	s := &Set{Name: "two", N: 2, C: 2, H: 1, W: 2, Classes: 1,
		Images: []float32{1, 2, 3, 4, 5, 6, 7, 8}, Labels: []int{0, 0}}
	Norm{Mean: []float32{1, 10}, Std: []float32{2, 0.5}}.Apply(s)
	want := []float32{0, 0.5, -14, -12, 2, 2.5, -6, -4} // channel 0: (x-1)/2; channel 1: (x-10)/0.5
	for i := range want {
		if s.Images[i] != want[i] {
			t.Errorf("case pixel %d: got %v, want %v", i, s.Images[i], want[i])
		}
	}
}

func TestComputeNormEdgeCases(t *testing.T) {
	// A constant channel: Std floored, Apply gives zeros, not NaN.
	s := &Set{Name: "flat", N: 3, C: 2, H: 2, W: 2, Classes: 1, Labels: make([]int, 3), Images: make([]float32, 24)}
	for i := 0; i < 3; i++ {
		c0, c1 := channel(s, i, 0, nil), channel(s, i, 1, nil)
		for k := range c1 {
			c0[k], c1[k] = float32(k), 0.25
		}
	}
	norm := ComputeNorm(s)
	if norm.Mean[1] != 0.25 || norm.Std[1] != minStd {
		t.Errorf("case constant channel: got mean %v std %v, want 0.25 %v", norm.Mean[1], norm.Std[1], float32(minStd))
	}
	norm.Apply(s)
	for i := 0; i < 3; i++ {
		for _, v := range channel(s, i, 1, nil) {
			if v != 0 {
				t.Errorf("case constant channel after Apply: got %v, want 0", v)
			}
		}
	}

	// An empty set: the identity.
	empty := &Set{Name: "empty", C: 3, H: 2, W: 2, Classes: 1}
	norm = ComputeNorm(empty)
	for c := 0; c < 3; c++ {
		if norm.Mean[c] != 0 || norm.Std[c] != 1 {
			t.Errorf("case empty channel %d: got mean %v std %v, want 0 1", c, norm.Mean[c], norm.Std[c])
		}
	}
	norm.Apply(empty) // must not panic

	// Large values with a small spread: the two-pass float64 sums keep the
	// spread that a naive float32 sum of squares would lose.
	big := &Set{Name: "big", N: 100000, C: 1, H: 1, W: 1, Classes: 1, Labels: make([]int, 100000), Images: make([]float32, 100000)}
	for i := range big.Images {
		big.Images[i] = 1000 + float32(i%2) // mean 1000.5, std 0.5
	}
	norm = ComputeNorm(big)
	if norm.Mean[0] != 1000.5 || math.Abs(float64(norm.Std[0])-0.5) > 1e-6 {
		t.Errorf("case large values: got mean %v std %v, want 1000.5 0.5", norm.Mean[0], norm.Std[0])
	}
}

func TestNormValidate(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		norm Norm
		c    int
		word string // "" for valid
	}{
		{"valid", Norm{[]float32{0.1, 0.2}, []float32{0.3, 0.4}}, 2, ""},
		{"no channels", Norm{}, 0, ""},
		{"too few means", Norm{[]float32{0.1}, []float32{0.3, 0.4}}, 2, "1 means and 2 standard deviations, want 2"},
		{"too many", Norm{[]float32{0.1, 0.2}, []float32{0.3, 0.4}}, 1, "want 1 of each"},
		{"nan mean", Norm{[]float32{nan}, []float32{1}}, 1, "mean of channel 0 is NaN"},
		{"inf std", Norm{[]float32{0}, []float32{inf}}, 1, "std of channel 0 is +Inf"},
		{"zero std", Norm{[]float32{0, 0}, []float32{1, 0}}, 2, "std of channel 1 is 0"},
		{"negative std", Norm{[]float32{0}, []float32{-1}}, 1, "want a finite number > 0"},
	} {
		err := tc.norm.Validate(tc.c)
		switch {
		case tc.word == "" && err != nil:
			t.Errorf("case %v: got %v, want no error", tc.name, err)
		case tc.word != "" && (err == nil || !strings.Contains(err.Error(), tc.word)):
			t.Errorf("case %v: got %v, want an error containing %q", tc.name, err, tc.word)
		}
	}
	s := randomSet(1, 2, 3, 2, 2)
	mustPanic(t, "Apply with wrong channels", "want 3 of each", func() { Norm{[]float32{0}, []float32{1}}.Apply(s) })
}

// TestNormalised checks that Normalised gives what Apply does and leaves
// the set it was given as it was, for float images and for 8-bit pixels.
func TestNormalised(t *testing.T) {
	n := Norm{Mean: []float32{0.5, -1}, Std: []float32{2, 0.25}}
	floats := &Set{Name: "f", Images: []float32{1, 2, 3, 4, 5, 6, 7, 8}, Labels: []int{0, 1}, N: 2, C: 2, H: 1, W: 2, Classes: 2}
	pixels := &Set{Name: "p", Pixels: []uint8{0, 51, 102, 153, 204, 255, 10, 20}, Labels: []int{0, 1}, N: 2, C: 2, H: 1, W: 2, Classes: 2}
	for _, s := range []*Set{floats, pixels} {
		before := make([]float32, s.N*s.ImageSize())
		for i := range s.N {
			s.Values(i, before[i*s.ImageSize():(i+1)*s.ImageSize()])
		}
		got := n.Normalised(s)
		got2 := n.Normalised(s) // twice: s is still unnormalised
		want := *s
		if s.Images != nil {
			want.Images = append([]float32(nil), s.Images...)
		}
		n.Apply(&want)
		for i := range s.N {
			a, b, c, orig := make([]float32, s.ImageSize()), make([]float32, s.ImageSize()), make([]float32, s.ImageSize()), make([]float32, s.ImageSize())
			got.Values(i, a)
			got2.Values(i, b)
			want.Values(i, c)
			s.Values(i, orig)
			for k := range a {
				if a[k] != c[k] || b[k] != c[k] {
					t.Errorf("%s example %d value %d: Normalised gives %v and %v, Apply %v", s.Name, i, k, a[k], b[k], c[k])
				}
				if orig[k] != before[i*s.ImageSize()+k] {
					t.Errorf("%s example %d value %d: the set given to Normalised changed from %v to %v", s.Name, i, k, before[i*s.ImageSize()+k], orig[k])
				}
			}
		}
	}
}
