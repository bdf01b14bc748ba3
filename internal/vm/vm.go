// Package vm runs a Gorgonia expression graph with preallocated values: a
// replacement for Gorgonia's TapeMachine that allocates nothing per run once
// the first run is done.
//
// Gorgonia stays the graph and the autodiff (G.Grad builds the gradient
// nodes); only the running changes. The TapeMachine re-infers types, makes
// fresh output tensors for most ops, boxes scalars and starts a goroutine
// with channels on every RunAll, and its Reset drops every value, so that a
// LeNet++ training step made about 1250 allocations. A Machine instead walks
// the graph's nodes once, in Gorgonia's own topological order, and fixes for
// every node where its value lives:
//
//   - inputs (images, labels, parameters) and constants: the node's bound
//     value, read at every run;
//   - the stock ops of Gorgonia that the networks and heads use (elementwise
//     arithmetic, exp, log, sums and maxima along axes, reshape, repeat,
//     size, 2-D transpose, matrix products): computed here, into a value
//     made once, by the same float32 arithmetic in the same order as
//     gorgonia.org/tensor (and the same BLAS for the products), so that
//     results are identical bit for bit (a test compares every node of the
//     project's networks and heads with a TapeMachine's);
//   - every other op: Do on the first run, then UsePreallocDo into the value
//     the first run returned (the project's own ops, in nnops and loss,
//     reuse their outputs and allocate nothing there), or Do on every run
//     for an op that has no UsePreallocDo;
//   - G.Read nodes: the value is copied into the Read's destination (made on
//     the first run, as the TapeMachine does).
//
// With Grads(params...), every run adds each parameter's gradient into an
// accumulator of the parameter's size, as the TapeMachine's BindDualValues
// adds it into the parameter's dual value; Grad returns it, and the caller
// clears it between steps.
//
// The values a Machine makes share one buffer by lifetime (share.go): a
// value is there from the step that writes it to the last step that reads
// it, and may be overwritten after that, within the same run; read results
// out with G.Read and gradients with Grad. Machines over one graph may share
// that buffer too (Share), and ops may keep per-run state (nnops' max
// pooling): do not run two machines over one graph at the same time.
package vm

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Machine runs one graph. It implements G.VM.
type Machine struct {
	steps  []step
	vals   []G.Value   // by position in steps
	grads  [][]float32 // accumulators, by parameter
	gradOf map[*G.Node]int

	// The shared buffer (share.go): off[i] is step i's offset in it, or -1.
	off   []int
	size  int
	arena *Arena
	gen   int // the arena's generation the values are bound to
}

var _ G.VM = (*Machine)(nil)

type stepKind uint8

const (
	kindInput    stepKind = iota // the node's bound value
	kindConst                    // a value fixed at compile time
	kindRead                     // G.Read: copy the child's value into *into
	kindOwn                      // a kernel here, into a preallocated value
	kindPrealloc                 // the op's Do, then UsePreallocDo
	kindDo                       // the op's Do on every run
)

type step struct {
	node  *G.Node
	kind  stepKind
	args  []int     // positions of the children
	in    []G.Value // the children's values, filled at every run
	kern  func(in []G.Value, out G.Value)
	sizes []int    // kindOwn: the number of values each input has by the graph's shapes
	into  *G.Value // kindRead
	acc   []int    // gradient accumulators this node's value adds into
}

// Option configures New.
type Option func(*config)

type config struct {
	grads     G.Nodes
	arena     *Arena
	noSharing bool
}

// Grads makes the machine accumulate the gradients of params (nodes that
// G.Grad has differentiated against) at every run; see Machine.Grad.
func Grads(params ...*G.Node) Option {
	return func(c *config) { c.grads = append(c.grads, params...) }
}

// New compiles g. The graph's nodes must have their shapes (they do once
// built), and the inputs their values by the first run.
func New(g *G.ExprGraph, opts ...Option) (*Machine, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("vm: sort the graph: %w", err)
	}
	// G.Sort lists a node before its children; run them the other way round,
	// as the TapeMachine does.
	n := len(sorted)
	m := &Machine{steps: make([]step, n), vals: make([]G.Value, n), gradOf: map[*G.Node]int{}}
	pos := make(map[int64]int, n)
	for i := range sorted {
		nd := sorted[n-1-i]
		pos[nd.ID()] = i
		m.steps[i].node = nd
	}
	for i, p := range c.grads {
		if p.Deriv() == nil {
			return nil, fmt.Errorf("vm: %s has no gradient node (call G.Grad with it first)", p.Name())
		}
		m.gradOf[p] = i
		m.grads = append(m.grads, make([]float32, p.Shape().TotalSize()))
	}
	for i := range m.steps {
		s := &m.steps[i]
		it := g.From(s.node.ID())
		for it.Next() {
			ch := it.Node().(*G.Node)
			j, ok := pos[ch.ID()]
			if !ok || j >= i {
				return nil, fmt.Errorf("vm: node %v reads %v, which does not run before it", s.node, ch)
			}
			s.args = append(s.args, j)
		}
		s.in = make([]G.Value, len(s.args))
		for _, src := range s.node.DerivOf() {
			if k, ok := m.gradOf[src]; ok {
				s.acc = append(s.acc, k)
			}
		}
		if err := m.compile(s, i); err != nil {
			return nil, err
		}
	}
	m.off, m.size = m.plan(c.noSharing)
	m.arena = c.arena
	m.bind()
	for i := range m.steps { // the kernels' values outside the shared buffer
		s := &m.steps[i]
		if s.kind != kindOwn || m.off[i] >= 0 {
			continue
		}
		if s.node.IsScalar() {
			m.vals[i] = new(G.F32)
		} else {
			m.vals[i] = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(s.node.Shape()...))
		}
	}
	return m, nil
}

// compile chooses how step s (at position i) runs.
func (m *Machine) compile(s *step, i int) error {
	nd := s.node
	op := nd.Op()
	switch {
	case op == nil:
		s.kind = kindInput
		return nil
	case isGorgonia(op, "readOp"):
		if len(s.args) != 1 {
			return fmt.Errorf("vm: read node %v has %d children, want 1", nd, len(s.args))
		}
		f := reflect.ValueOf(op).FieldByName("into")
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
			return fmt.Errorf("vm: cannot find where read node %v writes", nd)
		}
		s.kind, s.into = kindRead, (*G.Value)(f.UnsafePointer())
		return nil
	case op.Arity() == 0 && len(s.args) == 0: // constants
		v, err := op.Do()
		if err != nil {
			return fmt.Errorf("vm: constant %v: %w", nd, err)
		}
		s.kind, m.vals[i] = kindConst, v
		return nil
	}
	if tm, ok := op.(G.TrainModeOp); ok { // as NewTapeMachine does
		if err := tm.SetTraining(true); err != nil {
			return fmt.Errorf("vm: %v: %w", nd, err)
		}
	}
	if kern := m.ownKernel(s); kern != nil {
		s.kind, s.kern = kindOwn, kern
		for _, a := range s.args {
			n := 1
			if kid := m.steps[a].node; !kid.IsScalar() {
				n = kid.Shape().TotalSize()
			}
			s.sizes = append(s.sizes, n)
		}
		return nil // New gives it its value
	}
	if _, ok := op.(G.UsePreallocDoer); ok {
		s.kind = kindPrealloc
	} else {
		s.kind = kindDo
	}
	return nil
}

// isGorgonia reports whether op is Gorgonia's unexported type name.
func isGorgonia(op G.Op, name string) bool {
	t := reflect.TypeOf(op)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name() == name && t.PkgPath() == "gorgonia.org/gorgonia"
}

// RunAll runs the graph once.
func (m *Machine) RunAll() error {
	if m.arena != nil && m.gen != m.arena.gen {
		m.bind() // another machine has grown the arena
	}
	for i := range m.steps {
		s := &m.steps[i]
		for j, a := range s.args {
			s.in[j] = m.vals[a]
		}
		switch s.kind {
		case kindInput:
			v := s.node.Value()
			if v == nil {
				return fmt.Errorf("vm: input %s has no value", s.node.Name())
			}
			m.vals[i] = v
		case kindConst:
		case kindRead:
			if err := read(s.into, s.in[0]); err != nil {
				return fmt.Errorf("vm: read %v: %w", s.node, err)
			}
		case kindOwn:
			if !s.fits() {
				if m.off[i] >= 0 { // see plan: its inputs are all values made here
					return fmt.Errorf("vm: %v: inputs of sizes other than the graph's", s.node)
				}
				// Gorgonia's shape inference disagrees with a value (a stock op's
				// own Do made it): leave this node to its op from now on.
				s.kind, s.kern, m.vals[i] = kindDo, nil, nil
				if _, ok := s.node.Op().(G.UsePreallocDoer); ok {
					s.kind = kindPrealloc
				}
				i-- // run it again, that way
				continue
			}
			s.kern(s.in, m.vals[i])
		case kindPrealloc:
			var v G.Value
			var err error
			if m.vals[i] == nil {
				v, err = s.node.Op().Do(s.in...)
			} else {
				v, err = s.node.Op().(G.UsePreallocDoer).UsePreallocDo(m.vals[i], s.in...)
			}
			if err != nil {
				return fmt.Errorf("vm: %v: %w", s.node, err)
			}
			if m.off[i] >= 0 {
				if err := checkShared(s, m.vals[i], v); err != nil {
					return err
				}
			}
			m.vals[i] = v
		case kindDo:
			v, err := s.node.Op().Do(s.in...)
			if err != nil {
				return fmt.Errorf("vm: %v: %w", s.node, err)
			}
			m.vals[i] = v
		}
		if len(s.acc) > 0 {
			g, err := floats(m.vals[i])
			if err != nil {
				return fmt.Errorf("vm: gradient %v: %w", s.node, err)
			}
			for _, k := range s.acc {
				acc := m.grads[k]
				if len(g) != len(acc) {
					return fmt.Errorf("vm: gradient %v has %d values, its parameter %d", s.node, len(g), len(acc))
				}
				for j, x := range g {
					acc[j] += x
				}
			}
		}
	}
	return nil
}

// fits reports whether the inputs of a kindOwn step are float32 values of
// the sizes its kernel was compiled for.
func (s *step) fits() bool {
	for j, v := range s.in {
		x, err := floats(v)
		if err != nil || len(x) != s.sizes[j] {
			return false
		}
	}
	return true
}

// Reset does nothing: values stay where they are for the next run. It is
// there for G.VM.
func (m *Machine) Reset() {}

// Close does nothing; it is there for G.VM.
func (m *Machine) Close() error { return nil }

// Grad returns the gradient accumulated for p (one of the Grads given to
// New) over the runs since it was last cleared; the slice is the same at
// every call, and the caller clears it.
func (m *Machine) Grad(p *G.Node) ([]float32, error) {
	k, ok := m.gradOf[p]
	if !ok {
		return nil, fmt.Errorf("vm: %s is not among the machine's Grads", p.Name())
	}
	return m.grads[k], nil
}

// Kernels reports how many nodes run on a kernel here and how many through
// their op's Do or UsePreallocDo, for tests and diagnostics.
func (m *Machine) Kernels() (own int, ops []string) {
	for _, s := range m.steps {
		switch s.kind {
		case kindOwn:
			own++
		case kindPrealloc, kindDo:
			ops = append(ops, fmt.Sprintf("%T %v", s.node.Op(), s.node.Op()))
		}
	}
	return own, ops
}

// read copies v into *into, making *into a copy of v the first time.
func read(into *G.Value, v G.Value) error {
	if *into == nil {
		c, err := G.CloneValue(v)
		if err != nil {
			return err
		}
		*into = c
		return nil
	}
	src, err1 := floats(v)
	dst, err2 := floats(*into)
	if err1 == nil && err2 == nil && len(src) == len(dst) {
		copy(dst, src)
		return nil
	}
	_, err := G.Copy(*into, v)
	return err
}

// floats returns the float32 numbers of a dense float32 tensor (not a view)
// or of a float32 scalar, in place.
func floats(v G.Value) ([]float32, error) {
	switch d := v.(type) {
	case *tensor.Dense:
		if d.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("want float32, got %v", d.Dtype())
		}
		if d.IsView() {
			return nil, errors.New("value is a view")
		}
		return d.Float32s(), nil
	case *G.F32:
		return unsafe.Slice((*float32)(d), 1), nil
	}
	return nil, fmt.Errorf("value is a %T, want a float32 tensor or scalar", v)
}

// f32 is floats for kernels, whose inputs were checked at compile time and
// at the first run: a value that is not float32 numbers is a bug.
func f32(v G.Value) []float32 {
	x, err := floats(v)
	if err != nil {
		panic(fmt.Sprintf("vm: kernel input: %v", err))
	}
	return x
}

// fieldInts reads an unexported []int (or named slice of int) field of a Gorgonia op.
func fieldInts(op G.Op, name string) ([]int, bool) {
	f := reflect.ValueOf(op)
	if f.Kind() == reflect.Pointer {
		f = f.Elem()
	}
	f = f.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
		return nil, false
	}
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out, true
}

// fieldInt reads an unexported int field of a Gorgonia op.
func fieldInt(op G.Op, name string) (int, bool) {
	f := reflect.ValueOf(op)
	if f.Kind() == reflect.Pointer {
		f = f.Elem()
	}
	f = f.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Int {
		return 0, false
	}
	return int(f.Int()), true
}

// fieldBool reads an unexported bool field of a Gorgonia op.
func fieldBool(op G.Op, name string) (bool, bool) {
	f := reflect.ValueOf(op)
	if f.Kind() == reflect.Pointer {
		f = f.Elem()
	}
	f = f.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Bool {
		return false, false
	}
	return f.Bool(), true
}

// firstWord is the op's String up to its first space.
func firstWord(op G.Op) string {
	s := op.String()
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}
