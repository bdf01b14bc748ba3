package vm

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Memory sharing. A training step's values are the forward activations,
// which live until the backward pass has read them, and the gradients of
// the activations, most of which live for one or two steps of the backward
// pass; a machine that gives every node its own value holds them all at
// once. A Machine instead places the float32 values it makes (its own
// kernels' and those of ops that write into a preallocated value) in one
// buffer, at offsets chosen from their lifetimes: a value lives from the
// step that writes it to the last step that reads it, and two values whose
// lifetimes overlap never share memory. Everything else (inputs, constants,
// scalars, and values that ops make themselves, which may be views of their
// inputs, so that those inputs live as long as the views do) keeps its own
// memory.
//
// Machines over one graph that never run at the same time (lgm's training
// and evaluation machines) can share one Arena: each lays its values out
// from offset 0, and the arena is as large as the largest of them.

// PreallocWriter is an op whose UsePreallocDo always writes its result into
// prealloc and returns it when prealloc is a float32 tensor of the node's
// shape, and whose result is never a view of an input: a Machine places the
// values of such ops in its shared buffer from the first run on. The
// project's own ops (nnops) are; Gorgonia's stock ops are not assumed to be.
type PreallocWriter interface {
	G.UsePreallocDoer
	WritesIntoPrealloc()
}

// Arena is memory that machines which never run at the same time share for
// their values. The zero value is ready to use; it is not safe for
// concurrent use.
type Arena struct {
	buf []float32
	gen int // incremented whenever buf is replaced
}

// get returns the arena's buffer, grown to at least n floats, and its
// generation.
func (a *Arena) get(n int) ([]float32, int) {
	if len(a.buf) < n {
		a.buf = make([]float32, n)
		a.gen++
	}
	return a.buf, a.gen
}

// Share makes the machine place its shared values in a (see Arena) instead
// of a buffer of its own.
func Share(a *Arena) Option { return func(c *config) { c.arena = a } }

// NoSharing gives every value the machine makes its own memory, as if
// every value lived for the whole run: for tests and for measuring what
// sharing saves.
func NoSharing() Option { return func(c *config) { c.noSharing = true } }

// align is the granularity of offsets in the shared buffer, in floats (64
// bytes, a cache line and a zmm register).
const align = 16

// plan chooses, for every step whose value goes into the shared buffer, its
// offset, and returns the buffer's size in floats. off[i] is -1 for the
// other steps.
func (m *Machine) plan(noSharing bool) (off []int, size int) {
	n := len(m.steps)
	shared := make([]bool, n)
	foreign := make([]bool, n) // values an op made itself: maybe views of its inputs
	for i := range m.steps {
		s := &m.steps[i]
		nd := s.node
		switch s.kind {
		case kindDo:
			foreign[i] = true
		case kindPrealloc:
			_, ok := nd.Op().(PreallocWriter)
			shared[i] = ok && !nd.IsScalar() && nd.Dtype() == tensor.Float32
			foreign[i] = !shared[i]
		case kindOwn:
			shared[i] = !nd.IsScalar()
		}
	}
	for i := range m.steps { // see RunAll: a kernel whose input an op made may fall back to the op
		if m.steps[i].kind == kindOwn {
			for _, a := range m.steps[i].args {
				if foreign[a] {
					shared[i], foreign[i] = false, true
				}
			}
		}
	}
	// end[i]: the last step that reads value i, or i.
	end := make([]int, n)
	for i := range m.steps {
		end[i] = i
		for _, a := range m.steps[i].args {
			end[a] = max(end[a], i)
		}
	}
	if noSharing {
		for i := range end {
			end[i] = n
		}
	}
	// A value an op made may be a view of its inputs: they live as long as it
	// does. Readers come after what they read, so one pass from the end
	// carries lifetimes through chains of views.
	for i := n - 1; i >= 0; i-- {
		if foreign[i] {
			for _, a := range m.steps[i].args {
				end[a] = max(end[a], end[i])
			}
		}
	}
	dying := make([][]int, n+1)
	for i := range m.steps {
		if shared[i] {
			dying[end[i]] = append(dying[end[i]], i)
		}
	}
	off = make([]int, n)
	var fl freeList
	for i := range m.steps {
		off[i] = -1
		if shared[i] {
			off[i] = fl.alloc(roundUp(m.steps[i].node.Shape().TotalSize()))
		}
		for _, d := range dying[i] { // after the allocation: a step never writes over its inputs
			fl.free(off[d], roundUp(m.steps[d].node.Shape().TotalSize()))
		}
	}
	return off, fl.top
}

func roundUp(n int) int { return (n + align - 1) / align * align }

// freeList hands out ranges of a buffer that grows at its top: best fit
// among the freed ranges, which coalesce with their neighbours.
type freeList struct {
	blocks []block // free, sorted by offset, never adjacent
	top    int
}

type block struct{ off, size int }

func (f *freeList) alloc(size int) int {
	best := -1
	for i, b := range f.blocks {
		if b.size >= size && (best < 0 || b.size < f.blocks[best].size) {
			best = i
		}
	}
	if best < 0 {
		// Grow at the top, using a free block that ends there.
		if k := len(f.blocks) - 1; k >= 0 && f.blocks[k].off+f.blocks[k].size == f.top {
			off := f.blocks[k].off
			f.blocks = f.blocks[:k]
			f.top = off + size
			return off
		}
		off := f.top
		f.top += size
		return off
	}
	b := &f.blocks[best]
	off := b.off
	b.off, b.size = b.off+size, b.size-size
	if b.size == 0 {
		f.blocks = slices.Delete(f.blocks, best, best+1)
	}
	return off
}

func (f *freeList) free(off, size int) {
	i, _ := slices.BinarySearchFunc(f.blocks, off, func(b block, o int) int { return b.off - o })
	f.blocks = slices.Insert(f.blocks, i, block{off, size})
	if i+1 < len(f.blocks) && f.blocks[i].off+f.blocks[i].size == f.blocks[i+1].off {
		f.blocks[i].size += f.blocks[i+1].size
		f.blocks = slices.Delete(f.blocks, i+1, i+2)
	}
	if i > 0 && f.blocks[i-1].off+f.blocks[i-1].size == f.blocks[i].off {
		f.blocks[i-1].size += f.blocks[i].size
		f.blocks = slices.Delete(f.blocks, i, i+1)
	}
}

// bind makes the values of the shared steps views of the machine's buffer
// (the arena's, if it shares one), at the offsets of the plan; it runs at
// New and again when another machine has grown the arena.
func (m *Machine) bind() {
	var buf []float32
	if m.arena != nil {
		buf, m.gen = m.arena.get(m.size)
	} else {
		buf = make([]float32, m.size)
	}
	for i, o := range m.off {
		if o < 0 {
			continue
		}
		nd := m.steps[i].node
		k := nd.Shape().TotalSize()
		m.vals[i] = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(nd.Shape().Clone()...), tensor.WithBacking(buf[o:o+k:o+k]))
	}
}

// SharedFloats reports the size of the machine's shared buffer, and what
// its values would take each in its own memory, in floats.
func (m *Machine) SharedFloats() (shared, separate int) {
	for i, o := range m.off {
		if o >= 0 {
			separate += m.steps[i].node.Shape().TotalSize()
		}
	}
	return m.size, separate
}

// checkShared reports an op that was to write into its shared value and
// returned another.
func checkShared(s *step, want, got G.Value) error {
	if got != want {
		return fmt.Errorf("vm: %v (%T) returned a value other than the preallocated one it was given; it must not be a PreallocWriter", s.node, s.node.Op())
	}
	return nil
}
