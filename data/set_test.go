package data

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// numberedSet returns a set of n examples of c×h×w whose pixel k of example
// i is i*1000 + k, and whose label is i % classes.
func numberedSet(n, c, h, w, classes int) *Set {
	s := &Set{Name: "numbered", N: n, C: c, H: h, W: w, Classes: classes,
		Images: make([]float32, n*c*h*w), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		for k := 0; k < c*h*w; k++ {
			s.Images[i*c*h*w+k] = float32(i*1000 + k)
		}
		s.Labels[i] = i % classes
	}
	return s
}

func TestImage(t *testing.T) {
	s := numberedSet(4, 2, 3, 2, 3)
	if got := s.ImageSize(); got != 12 {
		t.Errorf("case ImageSize: got %d, want 12", got)
	}
	for i := 0; i < s.N; i++ {
		img := s.Image(i)
		if len(img) != 12 || cap(img) != 12 || img[0] != float32(i*1000) || img[11] != float32(i*1000+11) {
			t.Errorf("case %d: got len %d cap %d first %v last %v, want 12 12 %d %d", i, len(img), cap(img), img[0], img[11], i*1000, i*1000+11)
		}
	}
	s.Image(2)[5] = -1
	if s.Images[2*12+5] != -1 {
		t.Errorf("case shared: got %v, want -1 (Image shares memory with the set)", s.Images[2*12+5])
	}
}

func TestGather(t *testing.T) {
	s := numberedSet(5, 1, 2, 2, 3)
	size := s.ImageSize()
	for _, idx := range [][]int{
		{},
		{0},
		{4, 0, 2},
		{3, 3, 3},
		{0, 1, 2, 3, 4},
	} {
		// A batch buffer with capacity for 5, of which only len(idx) is used.
		dst := make([]float32, 5*size)
		labels := make([]int, 5)
		for k := range dst {
			dst[k] = -7
		}
		s.Gather(idx, dst[:len(idx)*size], labels[:len(idx)])
		for k, i := range idx {
			if got, want := dst[k*size:(k+1)*size], s.Image(i); !reflect.DeepEqual(got, want) {
				t.Errorf("case %v: got example %d = %v, want %v", idx, k, got, want)
			}
			if labels[k] != s.Labels[i] {
				t.Errorf("case %v: got label %d = %d, want %d", idx, k, labels[k], s.Labels[i])
			}
		}
		for k := len(idx) * size; k < len(dst); k++ {
			if dst[k] != -7 {
				t.Errorf("case %v: got dst[%d] = %v written, want the rest of the buffer untouched", idx, k, dst[k])
				break
			}
		}
	}
}

// mustPanic runs f and reports an error unless it panics with a message
// containing word.
func mustPanic(t *testing.T, name, word string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Errorf("case %v: got no panic, want one", name)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, word) {
			t.Errorf("case %v: got panic %q, want it to contain %q", name, msg, word)
		}
	}()
	f()
}

func TestGatherPanicsOnProgrammerErrors(t *testing.T) {
	s := numberedSet(3, 1, 2, 2, 3)
	mustPanic(t, "short dst", "len(dst) = 8", func() { s.Gather([]int{0, 1}, make([]float32, 7), make([]int, 2)) })
	mustPanic(t, "long labels", "len(labels) = 2", func() { s.Gather([]int{0, 1}, make([]float32, 8), make([]int, 3)) })
	mustPanic(t, "index too big", "index 3", func() { s.Gather([]int{3}, make([]float32, 4), make([]int, 1)) })
	mustPanic(t, "negative index", "index -1", func() { s.Gather([]int{-1}, make([]float32, 4), make([]int, 1)) })
}

func TestSubset(t *testing.T) {
	s := numberedSet(5, 2, 2, 2, 3)
	for _, tc := range []struct {
		n    int
		name string
	}{{0, "numbered[:0]"}, {2, "numbered[:2]"}, {5, "numbered"}} {
		sub := s.Subset(tc.n)
		if err := sub.Validate(); err != nil {
			t.Errorf("case %d: got invalid subset: %v", tc.n, err)
		}
		got := [7]int{sub.N, sub.C, sub.H, sub.W, sub.Classes, len(sub.Images), len(sub.Labels)}
		want := [7]int{tc.n, 2, 2, 2, 3, tc.n * 8, tc.n}
		if got != want || sub.Name != tc.name {
			t.Errorf("case %d: got %v %q, want %v %q", tc.n, got, sub.Name, want, tc.name)
		}
		if !reflect.DeepEqual(sub.Images, s.Images[:tc.n*8]) || !reflect.DeepEqual(sub.Labels, s.Labels[:tc.n]) {
			t.Errorf("case %d: got contents that differ from the first %d examples", tc.n, tc.n)
		}
		if cap(sub.Images) != len(sub.Images) || cap(sub.Labels) != len(sub.Labels) {
			t.Errorf("case %d: got capacities %d, %d, want %d, %d (clipped)", tc.n, cap(sub.Images), cap(sub.Labels), len(sub.Images), len(sub.Labels))
		}
	}
	sub := s.Subset(2)
	sub.Images[0], sub.Labels[1] = 42, 2
	if s.Images[0] != 42 || s.Labels[1] != 2 {
		t.Errorf("case shared: got %v %v, want 42 2 (Subset shares memory)", s.Images[0], s.Labels[1])
	}
	sub.Labels = append(sub.Labels, 0) // must not overwrite s.Labels[2]
	if s.Labels[2] != 2 {
		t.Errorf("case append: got s.Labels[2] = %d, want 2", s.Labels[2])
	}
	mustPanic(t, "too many", "Subset(6)", func() { s.Subset(6) })
	mustPanic(t, "negative", "Subset(-1)", func() { s.Subset(-1) })
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(s *Set)
		word   string // "" for valid
	}{
		{"valid", func(*Set) {}, ""},
		{"empty", func(s *Set) { s.N, s.Images, s.Labels = 0, nil, nil }, ""},
		{"zero channels", func(s *Set) { s.C = 0 }, "bad shape"},
		{"negative N", func(s *Set) { s.N = -1 }, "bad shape"},
		{"no classes", func(s *Set) { s.Classes = 0 }, "classes must be > 0"},
		{"short images", func(s *Set) { s.Images = s.Images[1:] }, "has 47 pixel values, want N*C*H*W = 3*2*2*4 = 48"},
		{"short labels", func(s *Set) { s.Labels = s.Labels[1:] }, "has 2 labels, want N = 3"},
		{"label too big", func(s *Set) { s.Labels[1] = 5 }, "label 5 of example 1 is out of range [0, 5)"},
		{"negative label", func(s *Set) { s.Labels[2] = -1 }, "label -1 of example 2"},
		{"overflow", func(s *Set) { s.N, s.H = 1<<40, 1<<40 }, "overflows"},
	} {
		s := numberedSet(3, 2, 2, 4, 5)
		tc.modify(s)
		err := s.Validate()
		switch {
		case tc.word == "" && err != nil:
			t.Errorf("case %v: got %v, want no error", tc.name, err)
		case tc.word != "" && (err == nil || !strings.Contains(err.Error(), tc.word) || !strings.HasPrefix(err.Error(), "numbered: ")):
			t.Errorf("case %v: got %v, want an error starting with the set name and containing %q", tc.name, err, tc.word)
		}
	}
}

// values returns example i of s as the network sees it (a copy).
func values(s *Set, i int) []float32 {
	v := make([]float32, s.ImageSize())
	s.Values(i, v)
	return v
}

// allValues returns every example of s as the network sees it.
func allValues(s *Set) []float32 {
	v := make([]float32, s.N*s.ImageSize())
	for i := 0; i < s.N; i++ {
		s.Values(i, v[i*s.ImageSize():(i+1)*s.ImageSize()])
	}
	return v
}

// TestPixelSet checks that a set of 8-bit pixels reads exactly as the float
// set of their values b/255 would: the same normalisation computed from it,
// and, normalised, the same floats bit for bit from Gather, Values and a
// Subset.
func TestPixelSet(t *testing.T) {
	const n, c, h, w = 7, 3, 4, 5
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]uint8, n*c*h*w)
	fl := make([]float32, len(px))
	for i := range px {
		px[i] = uint8(rng.IntN(256))
		fl[i] = float32(px[i]) / 255
	}
	labels := []int{0, 1, 2, 0, 1, 2, 0}
	ps := &Set{Name: "px", Pixels: px, Labels: labels, N: n, C: c, H: h, W: w, Classes: 3}
	fs := &Set{Name: "fl", Images: fl, Labels: labels, N: n, C: c, H: h, W: w, Classes: 3}
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(allValues(ps), fl) {
		t.Errorf("case raw: pixel values are not b/255")
	}
	norm := ComputeNorm(ps)
	if want := ComputeNorm(fs); !reflect.DeepEqual(norm, want) {
		t.Errorf("case ComputeNorm: got %v from pixels, want %v as from floats", norm, want)
	}
	norm.Apply(ps)
	norm.Apply(fs)
	if !reflect.DeepEqual(px, ps.Pixels) {
		t.Errorf("case Apply: the pixels changed")
	}
	if got := allValues(ps); !reflect.DeepEqual(got, fs.Images) {
		t.Errorf("case Values: normalised pixels differ from the normalised floats")
	}
	idx := []int{6, 0, 3, 3}
	got, want := make([]float32, len(idx)*c*h*w), make([]float32, len(idx)*c*h*w)
	gl, wl := make([]int, len(idx)), make([]int, len(idx))
	ps.Gather(idx, got, gl)
	fs.Gather(idx, want, wl)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gl, wl) {
		t.Errorf("case Gather: got %v… %v, want %v… %v", got[:3], gl, want[:3], wl)
	}
	sub := ps.Subset(4)
	if sub.Pixels == nil || sub.Images != nil || !reflect.DeepEqual(allValues(sub), fs.Images[:4*c*h*w]) {
		t.Errorf("case Subset: got a subset that does not read as the set's first 4 examples")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("case twice: normalising 8-bit pixels twice did not panic")
			}
		}()
		norm.Apply(ps)
	}()
	both := &Set{Name: "both", Pixels: px, Images: fl, Labels: labels, N: n, C: c, H: h, W: w, Classes: 3}
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("case both: Validate got %v, want an error naming both kinds of pixels", err)
	}
}
