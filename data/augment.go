package data

import (
	"fmt"
	"math/rand/v2"
)

// Augment is the standard data augmentation of the CIFAR "+" setting (as in
// Lee et al., "Deeply-Supervised Nets", 2015, and He et al., "Deep Residual
// Learning for Image Recognition", 2016, §4.2): pad each side of the image
// with Pad zeros, take a random crop of the original size, and mirror it
// left-right with probability 1/2. CIFAR-10+ uses Pad 4, Crop and Flip.
//
// The zero-valued Augment changes nothing. Pad without Crop changes nothing
// either: the centred crop of the padded image is the image itself. The
// padding value is 0 in whatever space the pixels are in: black for pixels
// in [0,1], the channel mean after normalisation with [Norm.Apply].
type Augment struct {
	Pad  int  // zeros added on each side before cropping; >= 0
	Crop bool // take a random H×W window of the padded image
	Flip bool // mirror left-right with probability 1/2
}

// Apply writes an augmented copy of one image src (c×h×w, row-major) into
// dst (the same size; it must not overlap src).
//
// Random numbers come only from rng, in this order: if Crop, the row offset
// then the column offset, each rng.IntN(2*Pad+1); if Flip, rng.IntN(2)
// (1 means mirror). The same rng state therefore gives the same output.
// Apply allocates nothing. It panics if src or dst is not c*h*w long, Pad is
// negative, or rng is nil when it is needed: those are programmer errors.
func (a Augment) Apply(rng *rand.Rand, src, dst []float32, c, h, w int) {
	size := c * h * w
	if c <= 0 || h <= 0 || w <= 0 || len(src) != size || len(dst) != size || a.Pad < 0 {
		panic(fmt.Sprintf("data: Augment%+v.Apply to a %d×%d×%d image needs len(src) = len(dst) = %d and Pad >= 0 (got %d and %d)",
			a, c, h, w, size, len(src), len(dst)))
	}
	// Output pixel (y, x) of the unflipped crop is source pixel
	// (y+oy, x+ox), or zero padding where that is outside the image.
	oy, ox := 0, 0
	if a.Crop {
		oy = rng.IntN(2*a.Pad+1) - a.Pad
		ox = rng.IntN(2*a.Pad+1) - a.Pad
	}
	flip := a.Flip && rng.IntN(2) == 1

	// Columns x in [x0, x1) of every row come from the source row; the rest
	// are padding.
	x0, x1 := max(0, -ox), min(w, w-ox)
	if flip {
		// Output x is unflipped output w-1-x, so source column w-1-x+ox.
		x0, x1 = max(0, ox), min(w, w+ox)
	}
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			out := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y + oy
			if sy < 0 || sy >= h || x0 >= x1 {
				clear(out)
				continue
			}
			in := src[(ch*h+sy)*w : (ch*h+sy+1)*w]
			clear(out[:x0])
			clear(out[x1:])
			if !flip {
				copy(out[x0:x1], in[x0+ox:x1+ox])
				continue
			}
			for x := x0; x < x1; x++ {
				out[x] = in[w-1-x+ox]
			}
		}
	}
}

// ApplyBatch applies a to each of the n images of src (n×c×h×w) in order,
// writing dst, with the random numbers of each image drawn as Apply
// describes. It allocates nothing and panics as Apply does.
func (a Augment) ApplyBatch(rng *rand.Rand, src, dst []float32, n, c, h, w int) {
	size := c * h * w
	if n < 0 || len(src) != n*size || len(dst) != n*size {
		panic(fmt.Sprintf("data: Augment.ApplyBatch of %d images of %d×%d×%d needs len(src) = len(dst) = %d (got %d and %d)",
			n, c, h, w, n*size, len(src), len(dst)))
	}
	for i := 0; i < n; i++ {
		a.Apply(rng, src[i*size:(i+1)*size], dst[i*size:(i+1)*size], c, h, w)
	}
}
