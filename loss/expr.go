package loss

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// expr builds a chain of Gorgonia ops and keeps the first error, so that a head's forward
// pass reads as its formulas and is checked once at the end. After an error every method
// returns nil without calling Gorgonia.
type expr struct {
	dt  tensor.Dtype
	err error
}

// keep records err (naming the step what) unless an error is already recorded.
func (e *expr) keep(what string, n *G.Node, err error) *G.Node {
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", what, err)
	}
	return n
}

// un applies a one-input op.
func (e *expr) un(what string, f func(*G.Node) (*G.Node, error), a *G.Node) *G.Node {
	if e.err != nil {
		return nil
	}
	n, err := f(a)
	return e.keep(what, n, err)
}

// bin applies a two-input op.
func (e *expr) bin(what string, f func(a, b *G.Node) (*G.Node, error), a, b *G.Node) *G.Node {
	if e.err != nil {
		return nil
	}
	n, err := f(a, b)
	return e.keep(what, n, err)
}

// sum sums a along axis.
func (e *expr) sum(what string, a *G.Node, axis int) *G.Node {
	if e.err != nil {
		return nil
	}
	n, err := G.Sum(a, axis)
	return e.keep(what, n, err)
}

// bcast applies a broadcasting op f(a, b) whose b is missing axis (b is a (B) vector
// broadcast along the columns of (B, K) a with axis 1, or a (K) vector broadcast along
// the rows with axis 0).
func (e *expr) bcast(what string, f func(a, b *G.Node, l, r []byte) (*G.Node, error), a, b *G.Node, axis byte) *G.Node {
	if e.err != nil {
		return nil
	}
	n, err := f(a, b, nil, []byte{axis})
	return e.keep(what, n, err)
}

// scale returns a·v for a constant v.
func (e *expr) scale(what string, a *G.Node, v float64) *G.Node {
	return e.bin(what, G.Mul, a, constant(e.dt, v))
}

// plus returns a + v for a constant v.
func (e *expr) plus(what string, a *G.Node, v float64) *G.Node {
	return e.bin(what, G.Add, a, constant(e.dt, v))
}
