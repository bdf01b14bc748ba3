package nnops

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// serial numbers op instances. Each op's hash includes its number, so that
// Gorgonia never merges two of our nodes into one: every op instance owns
// its buffers and (for MaxPool2d) state shared with its backward op.
var serial atomic.Uint64

// opBase holds what every op here has in common.
type opBase struct {
	id uint64
}

func newBase() opBase { return opBase{id: serial.Add(1)} }

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

// hashOf hashes an op's description and serial number.
func hashOf(s fmt.Stringer, id uint64) uint32 {
	h := fnv.New32a()
	writeHash(h, s, id)
	return h.Sum32()
}

func writeHash(h hash.Hash, s fmt.Stringer, id uint64) {
	fmt.Fprintf(h, "nnops.%v#%d", s, id)
}

// tensorType is a float tensor type with dims dimensions and a type variable
// for the element type.
func tensorType(dims int) hm.Type {
	return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

// checkNode reports an error unless n is a float32 tensor with dims
// dimensions (dims < 0: any).
func checkNode(what string, n *G.Node, dims int) error {
	if n == nil {
		return fmt.Errorf("%s is nil", what)
	}
	if n.Dtype() != tensor.Float32 {
		return fmt.Errorf("%s must be float32 (got %v)", what, n.Dtype())
	}
	if dims >= 0 && n.Shape().Dims() != dims {
		return fmt.Errorf("%s must have %d dimensions (got shape %v)", what, dims, n.Shape())
	}
	return nil
}

// floats returns the float32 data of v, which must be a dense float32 tensor
// of shape want.
func floats(what string, v G.Value, want tensor.Shape) ([]float32, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%s: want a *tensor.Dense (got %T)", what, v)
	}
	if d.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("%s: want float32 (got %v)", what, d.Dtype())
	}
	if d.Shape().TotalSize() != want.TotalSize() {
		return nil, fmt.Errorf("%s: want shape %v (got %v)", what, want, d.Shape())
	}
	if d.RequiresIterator() {
		// A strided view: copy it into contiguous memory.
		d = d.Materialize().(*tensor.Dense)
	}
	return d.Float32s(), nil
}

// reuse returns *t reshaped to s when it holds s.TotalSize() floats, and
// otherwise replaces it with a new zeroed float32 tensor of shape s. The
// reshape undoes Gorgonia's in-place Reshape of a value we returned.
func reuse(t **tensor.Dense, s tensor.Shape) *tensor.Dense {
	if d := *t; d != nil && d.Shape().TotalSize() == s.TotalSize() && !d.IsView() {
		if !d.Shape().Eq(s) {
			if err := d.Reshape(s...); err == nil {
				return d
			}
		} else {
			return d
		}
	}
	*t = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(s.Clone()...))
	return *t
}

// usePrealloc returns prealloc as a float32 tensor of shape s, or nil when it
// cannot hold the result.
func usePrealloc(prealloc G.Value, s tensor.Shape) *tensor.Dense {
	d, ok := prealloc.(*tensor.Dense)
	if !ok || d.Dtype() != tensor.Float32 || !d.Shape().Eq(s) || d.IsView() {
		return nil
	}
	return d
}

// grow32 returns b with length n, reallocating when its capacity is short.
func grow32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// growSlots makes bufs hold slots buffers of n floats each.
func growSlots(bufs [][]float32, slots, n int) [][]float32 {
	for len(bufs) < slots {
		bufs = append(bufs, nil)
	}
	for s := 0; s < slots; s++ {
		bufs[s] = grow32(bufs[s], n)
	}
	return bufs
}

// WritesIntoPrealloc marks the ops as internal/vm's PreallocWriter: given a
// float32 tensor of the output's shape, UsePreallocDo writes into it and
// returns it, and no output is a view of an input.
func (opBase) WritesIntoPrealloc() {}
