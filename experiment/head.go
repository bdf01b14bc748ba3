package experiment

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/loss"
)

// HeadConfig selects the loss head and its settings (see package loss for
// each symbol's meaning). Fields a head does not use are ignored; the
// defaults are loss.Defaults(name).
type HeadConfig struct {
	Name         string   `yaml:"name"`             // softmax | center | lsoftmax | gm | lgm
	Bias         bool     `yaml:"bias"`             // bias on the linear layer (softmax, center)
	Lambda       Schedule `yaml:"lambda,omitempty"` // λ: weight of L_C (center) or L_lkd (gm, lgm)
	Alpha        Schedule `yaml:"alpha,omitempty"`  // α: L-GM's margin
	Margin       int      `yaml:"margin"`           // m: L-Softmax's margin, 1..4
	Beta         Schedule `yaml:"beta,omitempty"`   // β: L-Softmax's annealed mixing weight
	CenterUpdate string   `yaml:"center_update"`    // official | gradient
	CenterLR     float64  `yaml:"center_lr"`        // α_c of the official centre update
	CenterLRMult float64  `yaml:"center_lr_mult"`   // learning-rate multiplier of centres (gradient mode)
	Covariance   string   `yaml:"covariance"`       // identity | isotropic | diagonal
	LogDet       bool     `yaml:"logdet"`           // −½ log|Σ| in the logits (the paper) or not (the official code)
	Likelihood   string   `yaml:"likelihood"`       // official (½‖x−μ_y‖²) | paper (−log N(x; μ_y, Σ_y))
	LogVarFloor  float64  `yaml:"logvar_floor"`     // floor of learned log-variances
	VarLRMult    float64  `yaml:"var_lr_mult"`      // learning-rate multiplier of log-variances
	MeansNoDecay bool     `yaml:"means_no_decay"`   // no weight decay on GM's means
}

// Schedule is a hyperparameter over training: a plain number in YAML means a
// constant; a mapping gives kind (constant | linear | step | inv) and its
// fields (value, start, epochs, every, factor, max, gamma, power, min).
type Schedule loss.Schedule

// UnmarshalYAML accepts a number (a constant) or a mapping.
func (s *Schedule) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = Schedule(loss.Constant(v))
		return nil
	}
	type plain loss.Schedule // without this method, so Decode does not recurse
	var p plain              // a mapping gives the whole schedule: nothing is kept from the default
	// Unknown keys inside a schedule are errors too.
	var keys map[string]yaml.Node
	if err := n.Decode(&keys); err != nil {
		return err
	}
	for k := range keys {
		switch k {
		case "kind", "value", "start", "epochs", "every", "factor", "max", "gamma", "power", "min":
		default:
			return fmt.Errorf("line %d: unknown schedule key %q (want kind, value, start, epochs, every, factor, max, gamma, power, min)", n.Line, k)
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Schedule(p)
	return nil
}

// MarshalYAML writes a constant as a plain number and any other schedule as a
// mapping of the fields its kind uses, so saved configs read like written ones.
func (s Schedule) MarshalYAML() (any, error) {
	if s.Kind == "constant" {
		return s.Value, nil
	}
	type mapping struct {
		Kind   string  `yaml:"kind,omitempty"`
		Value  float64 `yaml:"value"`
		Start  float64 `yaml:"start,omitempty"`
		Epochs float64 `yaml:"epochs,omitempty"`
		Every  int     `yaml:"every,omitempty"`
		Factor float64 `yaml:"factor,omitempty"`
		Max    float64 `yaml:"max,omitempty"`
		Gamma  float64 `yaml:"gamma,omitempty"`
		Power  float64 `yaml:"power,omitempty"`
		Min    float64 `yaml:"min,omitempty"`
	}
	return mapping(s), nil
}

// HeadDefaults returns the defaults of head name.
func HeadDefaults(name string) HeadConfig {
	d := loss.Defaults(name)
	return HeadConfig{
		Name: name, Bias: d.Bias,
		Lambda: Schedule(d.Lambda), Alpha: Schedule(d.Alpha), Margin: d.Margin, Beta: Schedule(d.Beta),
		CenterUpdate: d.CenterUpdate, CenterLR: d.CenterLR, CenterLRMult: d.CenterLRMult,
		Covariance: d.Covariance, LogDet: d.LogDet, Likelihood: d.Likelihood,
		LogVarFloor: d.LogVarFloor, VarLRMult: d.VarLRMult, MeansNoDecay: d.MeansNoDecay,
	}
}

// lossConfig is the loss.Config of h for k classes and a d-dimensional feature.
func (h HeadConfig) lossConfig(k, d int) loss.Config {
	return loss.Config{
		Name: h.Name, Classes: k, Dim: d, Bias: h.Bias,
		Lambda: loss.Schedule(h.Lambda), Alpha: loss.Schedule(h.Alpha), Margin: h.Margin, Beta: loss.Schedule(h.Beta),
		CenterUpdate: h.CenterUpdate, CenterLR: h.CenterLR, CenterLRMult: h.CenterLRMult,
		Covariance: h.Covariance, LogDet: h.LogDet, Likelihood: h.Likelihood,
		LogVarFloor: h.LogVarFloor, VarLRMult: h.VarLRMult, MeansNoDecay: h.MeansNoDecay,
	}
}
