package data

import (
	"fmt"
	"math"
)

// Set is an in-memory labelled image set.
//
// The loaders keep the images as they come, 8-bit values in Pixels, a
// quarter of the memory of floats; a value b reads as b/255 in [0,1], then
// centred by the set's Norm if [Norm.Apply] gave it one, whenever examples
// are read (Gather, Values). A set built from floats (synthetic data, tests)
// has Images instead, which Norm.Apply rewrites in place. Exactly one of
// the two is set. Both are N×C×H×W row-major: example i occupies
// [i*C*H*W, (i+1)*C*H*W), channel c of it the next H*W values from
// i*C*H*W + c*H*W, row by row.
type Set struct {
	Name       string    // e.g. "mnist/train"; used in messages
	Pixels     []uint8   // len N*C*H*W: 8-bit images (the loaders'), or nil
	Images     []float32 // len N*C*H*W: float images, or nil
	Labels     []int     // len N, each in [0, Classes)
	N, C, H, W int       // examples, channels, rows, columns
	Classes    int       // number of classes K; labels are 0..K-1
	ClassNames []string  // optional: len Classes, the name of each label, or nil

	norm *Norm // with Pixels: the normalisation Gather and Values apply
}

// ImageSize returns the number of values in one example, C*H*W.
func (s *Set) ImageSize() int { return s.C * s.H * s.W }

// Image returns example i of a float set as a sub-slice of s.Images (not a
// copy) of length ImageSize. Its capacity is clipped, so appending to it
// cannot overwrite the next example. For a set of Pixels use Values.
func (s *Set) Image(i int) []float32 {
	if s.Images == nil {
		panic(fmt.Sprintf("data: Image of %s, a set of 8-bit pixels (use Values)", s.Name))
	}
	size := s.ImageSize()
	return s.Images[i*size : (i+1)*size : (i+1)*size]
}

// Values writes example i, as the network sees it (scaled and normalised),
// into dst (length ImageSize).
func (s *Set) Values(i int, dst []float32) {
	size := s.ImageSize()
	if s.Images != nil {
		copy(dst[:size], s.Images[i*size:(i+1)*size])
		return
	}
	s.convert(dst[:size], s.Pixels[i*size:(i+1)*size])
}

// convert writes one example's pixels px as floats into dst (see
// convertPlane).
func (s *Set) convert(dst []float32, px []uint8) {
	plane := s.H * s.W
	for c := 0; c < s.C; c++ {
		s.convertPlane(dst[c*plane:(c+1)*plane], px[c*plane:(c+1)*plane], c)
	}
}

// convertPlane writes the pixels px of channel c as floats into dst: b/255,
// then (v − Mean[c]) / Std[c] with the set's Norm, in float32 exactly as
// Norm.Apply computes it on a float set.
func (s *Set) convertPlane(dst []float32, px []uint8, c int) {
	dst = dst[:len(px)]
	if s.norm == nil {
		for j, b := range px {
			dst[j] = byteScale[b]
		}
		return
	}
	mean, std := s.norm.Mean[c], s.norm.Std[c]
	for j, b := range px {
		dst[j] = (byteScale[b] - mean) / std
	}
}

// byteScale maps a pixel byte b to b/255.
var byteScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// Validate checks that the fields of s agree with each other: positive
// dimensions, slice lengths that match them, and every label in
// [0, Classes). It reports the first problem found, prefixed by s.Name.
func (s *Set) Validate() error {
	switch {
	case s.N < 0, s.C <= 0, s.H <= 0, s.W <= 0:
		return fmt.Errorf("%s: bad shape N=%d C=%d H=%d W=%d (want N >= 0 and C, H, W > 0)", s.Name, s.N, s.C, s.H, s.W)
	case s.Classes <= 0:
		return fmt.Errorf("%s: classes must be > 0 (got %d)", s.Name, s.Classes)
	case s.N > 0 && s.ImageSize() > math.MaxInt/s.N:
		return fmt.Errorf("%s: shape N=%d C=%d H=%d W=%d overflows int", s.Name, s.N, s.C, s.H, s.W)
	case s.Images != nil && s.Pixels != nil:
		return fmt.Errorf("%s: has both 8-bit Pixels and float Images (want one)", s.Name)
	case len(s.Images)+len(s.Pixels) != s.N*s.ImageSize():
		return fmt.Errorf("%s: has %d pixel values, want N*C*H*W = %d*%d*%d*%d = %d", s.Name, len(s.Images)+len(s.Pixels), s.N, s.C, s.H, s.W, s.N*s.ImageSize())
	case len(s.Labels) != s.N:
		return fmt.Errorf("%s: has %d labels, want N = %d", s.Name, len(s.Labels), s.N)
	}
	for i, l := range s.Labels {
		if l < 0 || l >= s.Classes {
			return fmt.Errorf("%s: label %d of example %d is out of range [0, %d)", s.Name, l, i, s.Classes)
		}
	}
	return nil
}

// Gather copies the examples whose indices are in idx into dst and their
// labels into labels, in the order of idx: example idx[k] goes to
// dst[k*ImageSize : (k+1)*ImageSize] and its label to labels[k].
//
// dst must have length len(idx)*ImageSize and labels length len(idx). For a
// last batch shorter than the batch capacity, pass correspondingly shorter
// dst and labels (e.g. buf[:len(idx)*size]). Gather panics if the lengths do
// not match or an index is out of range: those are programmer errors.
func (s *Set) Gather(idx []int, dst []float32, labels []int) {
	size := s.ImageSize()
	if len(dst) != len(idx)*size || len(labels) != len(idx) {
		panic(fmt.Sprintf("data: Gather of %d examples of size %d from %s needs len(dst) = %d and len(labels) = %d (got %d and %d)",
			len(idx), size, s.Name, len(idx)*size, len(idx), len(dst), len(labels)))
	}
	for k, i := range idx {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: Gather index %d (position %d) out of range [0, %d) in %s", i, k, s.N, s.Name))
		}
		if s.Images != nil {
			copy(dst[k*size:(k+1)*size], s.Images[i*size:(i+1)*size])
		} else {
			s.convert(dst[k*size:(k+1)*size], s.Pixels[i*size:(i+1)*size])
		}
		labels[k] = s.Labels[i]
	}
}

// Subset returns the first n examples of s as a new Set that shares memory
// (and, for 8-bit pixels, the normalisation at the time of the call) with s:
// writing to the subset's pixels writes to s. Its slices have clipped
// capacity, so appending to them never touches the rest of s. When n < N the
// name gets a "[:n]" suffix (e.g. "mnist/train[:100]") so messages say that
// only part of the set is in use.
//
// It is meant for --limit style smoke runs and tests. Subset panics unless
// 0 <= n <= N.
func (s *Set) Subset(n int) *Set {
	if n < 0 || n > s.N {
		panic(fmt.Sprintf("data: Subset(%d) of %s with %d examples", n, s.Name, s.N))
	}
	name := s.Name
	if n < s.N {
		name = fmt.Sprintf("%s[:%d]", s.Name, n)
	}
	end := n * s.ImageSize()
	sub := &Set{
		Name:       name,
		norm:       s.norm,
		Labels:     s.Labels[:n:n],
		N:          n,
		C:          s.C,
		H:          s.H,
		W:          s.W,
		Classes:    s.Classes,
		ClassNames: s.ClassNames,
	}
	if s.Images != nil {
		sub.Images = s.Images[:end:end]
	} else {
		sub.Pixels = s.Pixels[:end:end]
	}
	return sub
}
