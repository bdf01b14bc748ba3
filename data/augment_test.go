package data

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// augmentReference is Augment.Apply written the long way: build the padded
// image, cut the window at (dy, dx), mirror it if flip.
func augmentReference(src []float32, c, h, w, pad, dy, dx int, flip bool) []float32 {
	ph, pw := h+2*pad, w+2*pad
	padded := make([]float32, c*ph*pw)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				padded[(ch*ph+y+pad)*pw+x+pad] = src[(ch*h+y)*w+x]
			}
		}
	}
	out := make([]float32, c*h*w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				px := padded[(ch*ph+y+dy)*pw+x+dx]
				if flip {
					out[(ch*h+y)*w+w-1-x] = px
				} else {
					out[(ch*h+y)*w+x] = px
				}
			}
		}
	}
	return out
}

func TestAugmentMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		a       Augment
		c, h, w int
	}{
		{Augment{}, 3, 4, 5},
		{Augment{Pad: 4}, 3, 4, 5},
		{Augment{Flip: true}, 1, 3, 3},
		{Augment{Pad: 1, Crop: true}, 2, 3, 4},
		{Augment{Pad: 4, Crop: true, Flip: true}, 3, 32, 32},
		{Augment{Pad: 6, Crop: true, Flip: true}, 2, 3, 5}, // pad wider than the image
		{Augment{Pad: 0, Crop: true, Flip: true}, 1, 2, 2},
	} {
		size := tc.c * tc.h * tc.w
		src := make([]float32, size)
		for k := range src {
			src[k] = float32(k + 1) // no pixel is zero, so padding shows
		}
		dst := make([]float32, size)
		for seed := uint64(0); seed < 40; seed++ {
			rng := rand.New(rand.NewPCG(seed, 7))
			twin := rand.New(rand.NewPCG(seed, 7))
			dy, dx := tc.a.Pad, tc.a.Pad
			if tc.a.Crop {
				dy, dx = twin.IntN(2*tc.a.Pad+1), twin.IntN(2*tc.a.Pad+1)
			}
			flip := tc.a.Flip && twin.IntN(2) == 1
			want := augmentReference(src, tc.c, tc.h, tc.w, tc.a.Pad, dy, dx, flip)
			for k := range dst {
				dst[k] = -1 // every value must be written
			}
			tc.a.Apply(rng, src, dst, tc.c, tc.h, tc.w)
			if !reflect.DeepEqual(dst, want) {
				t.Errorf("case %+v %d×%d×%d seed %d (dy %d dx %d flip %v): got %v, want %v", tc.a, tc.c, tc.h, tc.w, seed, dy, dx, flip, dst, want)
				break
			}
			if rng.Uint64() != twin.Uint64() {
				t.Errorf("case %+v seed %d: got a different number of draws from rng, want the documented ones", tc.a, seed)
			}
		}
	}
}

func TestAugmentIdentity(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6}
	for _, a := range []Augment{{}, {Pad: 4}} {
		dst := make([]float32, 6)
		a.Apply(nil, src, dst, 1, 2, 3) // no randomness needed
		if !reflect.DeepEqual(dst, src) {
			t.Errorf("case %+v: got %v, want %v", a, dst, src)
		}
	}
}

// TestAugmentReproducible checks that the same seed gives the same batch
// and that crops and flips cover what they should.
func TestAugmentReproducible(t *testing.T) {
	a := Augment{Pad: 4, Crop: true, Flip: true}
	const n, c, h, w = 64, 3, 32, 32
	src := make([]float32, n*c*h*w)
	for k := range src {
		src[k] = float32(k%97) + 1
	}
	run := func(seed uint64) []float32 {
		dst := make([]float32, len(src))
		a.ApplyBatch(rand.New(rand.NewPCG(seed, 1)), src, dst, n, c, h, w)
		return dst
	}
	first, again, other := run(1), run(1), run(2)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("case same seed: got different outputs, want identical")
	}
	if reflect.DeepEqual(first, other) {
		t.Errorf("case other seed: got identical outputs, want different")
	}

	// Offsets cover 0..8 in both directions and about half are mirrored.
	rng := rand.New(rand.NewPCG(3, 3))
	seenY, seenX := map[int]bool{}, map[int]bool{}
	flips := 0
	const draws = 2000
	for i := 0; i < draws; i++ {
		seenY[rng.IntN(9)], seenX[rng.IntN(9)] = true, true
		if rng.IntN(2) == 1 {
			flips++
		}
	}
	if len(seenY) != 9 || len(seenX) != 9 || flips < draws*45/100 || flips > draws*55/100 {
		t.Errorf("case coverage: got %d row and %d column offsets and %d/%d flips, want 9, 9 and about half", len(seenY), len(seenX), flips, draws)
	}
}

func TestAugmentAllocs(t *testing.T) {
	a := Augment{Pad: 4, Crop: true, Flip: true}
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, 3*32*32)
	dst := make([]float32, 3*32*32)
	if got := testing.AllocsPerRun(100, func() { a.Apply(rng, src, dst, 3, 32, 32) }); got != 0 {
		t.Errorf("case Apply: got %v allocations per call, want 0", got)
	}
	batch, out := make([]float32, 4*len(src)), make([]float32, 4*len(src))
	if got := testing.AllocsPerRun(100, func() { a.ApplyBatch(rng, batch, out, 4, 3, 32, 32) }); got != 0 {
		t.Errorf("case ApplyBatch: got %v allocations per call, want 0", got)
	}
}

func TestAugmentPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := Augment{Pad: 1, Crop: true}
	mustPanic(t, "short src", "len(src) = len(dst) = 12", func() { a.Apply(rng, make([]float32, 11), make([]float32, 12), 3, 2, 2) })
	mustPanic(t, "short dst", "len(src) = len(dst) = 12", func() { a.Apply(rng, make([]float32, 12), make([]float32, 11), 3, 2, 2) })
	mustPanic(t, "negative pad", "Pad >= 0", func() { Augment{Pad: -1}.Apply(rng, make([]float32, 4), make([]float32, 4), 1, 2, 2) })
	mustPanic(t, "batch", "len(src) = len(dst) = 24", func() { a.ApplyBatch(rng, make([]float32, 24), make([]float32, 12), 2, 3, 2, 2) })
}

func BenchmarkAugmentCIFAR(b *testing.B) {
	a := Augment{Pad: 4, Crop: true, Flip: true}
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, 3*32*32)
	dst := make([]float32, 3*32*32)
	for b.Loop() {
		a.Apply(rng, src, dst, 3, 32, 32)
	}
}
