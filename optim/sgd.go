// Package optim holds the solvers lgm trains with. They work on plain float32
// slices (the backing arrays of Gorgonia values), allocate nothing per step,
// and expose their state so that checkpoints can carry it.
package optim

import "fmt"

// Param is one trainable tensor as the solver sees it.
type Param struct {
	Name   string
	Value  []float32 // updated in place
	Grad   []float32 // read only; same length as Value
	LRMult float32   // multiplies the learning rate (1 for ordinary weights)
	NoWD   bool      // exempt from weight decay (centres, PReLU slopes, …)
}

// SGD is stochastic gradient descent with momentum, optional Nesterov
// momentum and L2 weight decay, with PyTorch's update rule (dampening 0):
//
//	g ← ∇w + wd·w;  v ← μ·v + g;  w ← w − lr·(g + μ·v) if Nesterov, else w − lr·v.
//
// Caffe, used by the official L-GM and center-loss code, scales the velocity
// by lr instead (v ← μ·v + lr·g); the two agree while lr is constant.
type SGD struct {
	LR          float32
	Momentum    float32
	Nesterov    bool
	WeightDecay float32

	params []Param
	vel    [][]float32 // one velocity per parameter
}

// NewSGD returns a solver for params with zero velocity.
func NewSGD(params []Param, lr, momentum, weightDecay float32, nesterov bool) *SGD {
	s := &SGD{LR: lr, Momentum: momentum, Nesterov: nesterov, WeightDecay: weightDecay, params: params}
	s.vel = make([][]float32, len(params))
	for i, p := range params {
		s.vel[i] = make([]float32, len(p.Value))
	}
	return s
}

// Step applies one update to every parameter.
func (s *SGD) Step() {
	mu := s.Momentum
	for i, p := range s.params {
		lr := s.LR * p.LRMult
		wd := s.WeightDecay
		if p.NoWD {
			wd = 0
		}
		v := s.vel[i]
		w := p.Value
		gr := p.Grad[:len(w)]
		v = v[:len(w)]
		for j := range w {
			g := gr[j] + wd*w[j]
			v[j] = mu*v[j] + g
			if s.Nesterov {
				w[j] -= lr * (g + mu*v[j])
			} else {
				w[j] -= lr * v[j]
			}
		}
	}
}

// Velocity returns the momentum buffer of parameter i (for checkpoints).
func (s *SGD) Velocity(i int) []float32 { return s.vel[i] }

// SetVelocity restores the momentum buffer of parameter i.
func (s *SGD) SetVelocity(i int, v []float32) error {
	if len(v) != len(s.vel[i]) {
		return fmt.Errorf("velocity of %s has %d values, want %d", s.params[i].Name, len(v), len(s.vel[i]))
	}
	copy(s.vel[i], v)
	return nil
}

// Params returns the parameters the solver updates, in order.
func (s *SGD) Params() []Param { return s.params }

// StepDecay is the step learning-rate schedule: base · gamma^⌊epoch/every⌋,
// with epochs counted from 0. every ≤ 0 keeps the rate constant.
func StepDecay(base, gamma float64, every, epoch int) float64 {
	if every <= 0 {
		return base
	}
	lr := base
	for e := every; e <= epoch; e += every {
		lr *= gamma
	}
	return lr
}

// MilestoneDecay is base · gamma^(number of milestones <= epoch), with epochs
// counted from 0: the rate drops when epoch reaches each milestone.
func MilestoneDecay(base, gamma float64, milestones []int, epoch int) float64 {
	lr := base
	for _, m := range milestones {
		if epoch >= m {
			lr *= gamma
		}
	}
	return lr
}
