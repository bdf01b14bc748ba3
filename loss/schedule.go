package loss

import (
	"fmt"
	"math"
)

// Schedule is a hyperparameter that changes over training: L-GM's α and λ, center loss's
// λ, L-Softmax's β. Heads hold these as scalar inputs of the graph and set them from the
// schedule before every training step (see Scheduled), so nothing is baked into the graph.
//
// Kinds, with t the solver step (0 for the first batch) and e the epoch, fractional
// (t / batches per epoch, so 2.5 is half-way through the third epoch):
//
//	"constant" (or "")  Value
//	"linear"            Value · (Start + (1 − Start) · min(1, e / Epochs))
//	                    a warm-up from Start·Value at e = 0 to Value at e = Epochs; the
//	                    authors' later MNIST code ramps α from 10% and λ from 1% over 5 epochs
//	"step"              Value · Factor^⌊t / Every⌋, capped at Max when Max > 0; the
//	                    official CIFAR-100 code steps α 0.1 → ×2 every 5000 steps, max 0.3
//	"inv"               max(Min, Value · (1 + Gamma·t)^(−Power)), Caffe's "inv" policy;
//	                    L-Softmax anneals β this way (MNIST: 1000, 2.5e-5, 35, min 0)
//
// The zero Schedule is the constant 0.
type Schedule struct {
	Kind   string  // "constant" (or ""), "linear", "step" or "inv"
	Value  float64 // the constant, the full value after warm-up, the first step, or the "inv" base; >= 0
	Start  float64 // linear: starting fraction of Value, in [0, 1]
	Epochs float64 // linear: warm-up length in epochs, > 0
	Every  int     // step: steps between two multiplications, >= 1
	Factor float64 // step: multiplier, > 0
	Max    float64 // step: cap, >= 0 (0: no cap)
	Gamma  float64 // inv: γ, >= 0
	Power  float64 // inv: power, >= 0
	Min    float64 // inv: floor, >= 0
}

// Constant returns the schedule that is v at every step.
func Constant(v float64) Schedule { return Schedule{Kind: "constant", Value: v} }

// scheduleKinds are the valid Schedule.Kind values besides "".
var scheduleKinds = []string{"constant", "linear", "step", "inv"}

// At returns the value at solver step iter (0 for the first batch) and epoch (fractional,
// iter / batches per epoch). It assumes a schedule that validate accepts.
func (s Schedule) At(iter int, epoch float64) float64 {
	switch s.Kind {
	case "linear":
		frac := 1.0
		if epoch < s.Epochs {
			frac = math.Max(0, epoch) / s.Epochs
		}
		return s.Value * (s.Start + (1-s.Start)*frac)
	case "step":
		v := s.Value * math.Pow(s.Factor, float64(max(iter, 0)/s.Every))
		if s.Max > 0 {
			v = math.Min(v, s.Max)
		}
		return v
	case "inv":
		return math.Max(s.Min, s.Value*math.Pow(1+s.Gamma*float64(max(iter, 0)), -s.Power))
	default: // "constant", ""
		return s.Value
	}
}

// constantAt reports whether the schedule is the constant v.
func (s Schedule) constantAt(v float64) bool {
	return (s.Kind == "" || s.Kind == "constant") && s.Value == v
}

// validate returns one error per problem, naming fields after field (e.g. "head.lambda",
// "head.lambda.epochs"). Values must be finite and non-negative.
func (s Schedule) validate(field string) []error {
	var errs []error
	nonNeg := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s must be >= 0 (got %v)", name, v))
		}
	}
	nonNeg(field, s.Value)
	switch s.Kind {
	case "", "constant":
	case "linear":
		if !(s.Start >= 0 && s.Start <= 1) {
			errs = append(errs, fmt.Errorf("%s.start must be in [0, 1] (got %v)", field, s.Start))
		}
		if !(s.Epochs > 0) || math.IsInf(s.Epochs, 0) {
			errs = append(errs, fmt.Errorf("%s.epochs must be > 0 (got %v)", field, s.Epochs))
		}
	case "step":
		if s.Every < 1 {
			errs = append(errs, fmt.Errorf("%s.every must be >= 1 (got %d)", field, s.Every))
		}
		if !(s.Factor > 0) || math.IsInf(s.Factor, 0) {
			errs = append(errs, fmt.Errorf("%s.factor must be > 0 (got %v)", field, s.Factor))
		}
		nonNeg(field+".max", s.Max)
	case "inv":
		nonNeg(field+".gamma", s.Gamma)
		nonNeg(field+".power", s.Power)
		nonNeg(field+".min", s.Min)
	default:
		errs = append(errs, fmt.Errorf("%s.kind must be one of constant, linear, step, inv (got %q)", field, s.Kind))
	}
	return errs
}
