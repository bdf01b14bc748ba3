// Package loss holds the classification heads of lgm: softmax, center loss, L-Softmax and
// GM/L-GM (docs/heads.md). A head sits on top of a network's features, owns its own
// parameters, and turns features and one-hot labels into a loss and margin-free logits.
//
// Besides Head, a head may implement optional interfaces the trainer checks for with a
// type assertion: Scheduled (hyperparameters set every step), ParamOptions (per-parameter
// learning-rate multipliers and weight-decay exemptions), PostStepper (work after each
// solver step), Buffered (state a checkpoint must carry that is not learnable) and
// Floored (a learned variance sits at its floor).
//
// Notation throughout: B is the batch size, D the feature size, K the number of classes.
package loss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Head turns features and one-hot labels into a loss and margin-free logits.
// A head owns its parameters; training them needs an optimizer step over Learnables.
type Head interface {
	// Forward adds the head to feat's graph. feat is (B, D), onehot is (B, K), both of
	// the head's dtype (float32 unless Config.Dtype says otherwise).
	Forward(feat, onehot *G.Node) (Out, error)
	// Learnables are the head's trainable parameters (nodes in the graph given at construction).
	Learnables() G.Nodes
	// Name is the config name of the head ("softmax").
	Name() string
}

// Out is what a head adds to the graph.
//
// To see Logits, LogLik or Terms after a run, attach G.Read to them before making the
// machine: Gorgonia's tape machine lets nodes share memory, so after RunAll an
// intermediate node's Value() may hold a later node's numbers.
type Out struct {
	// Loss is a scalar: the batch mean of all weighted terms. Margins live only here.
	Loss *G.Node
	// Logits is (B, K) and margin-free: its argmax is the prediction. It never depends on
	// the labels.
	Logits *G.Node
	// Terms are the scalar parts of Loss for logging, before their weights: "xent" (with
	// the margin, where the head has one), center's "center" (L_C) and GM's "lkd" (L_lkd);
	// Loss = xent + λ·center or xent + λ·lkd.
	Terms map[string]*G.Node
	// LogLik is (B): the score of each sample's feature under its predicted class, used
	// for likelihood-based detection; nil if the head has none.
	LogLik *G.Node
}

// Config configures a head. Name, Classes and Dim concern every head; the other fields
// concern some heads only (named in each comment) and are neither used nor validated by
// the others. Defaults(name) returns the recommended values: start from it. In error
// messages a field is named by its config key, given after each field ("head.lambda").
type Config struct {
	// Name is the head's config name, one of Names(). (head.name)
	Name string
	// Classes is K, the number of classes (>= 2). (head.classes)
	Classes int
	// Dim is D, the feature size (>= 1). (head.dim)
	Dim int
	// Bias adds a bias to the linear layer of softmax and center. The center-loss LeNet++
	// uses none. L-Softmax, GM and L-GM have no bias and reject it. (head.bias)
	Bias bool
	// Dtype is the dtype of the head's parameters and of the feat and onehot nodes it
	// accepts: tensor.Float32 (the zero value means Float32) or tensor.Float64 (used by
	// the tests' gradient checks).
	Dtype tensor.Dtype

	// Lambda is λ, the weight of the second term: center's L_C, or gm's and lgm's L_lkd.
	// Default: center constant 0.01 (official MNIST); gm, lgm 0.1 warmed up linearly from
	// 1% over 5 epochs (authors' later MNIST code). (head.lambda)
	Lambda Schedule
	// Alpha is α, L-GM's margin: the true class's distance counts (1+α) times in the
	// loss. lgm only; gm is α = 0 and rejects anything else. Default 1.0 warmed up
	// linearly from 10% over 5 epochs (authors' later MNIST code); with a 2-D feature this
	// recipe reached NaN in epoch 3 for one seed of two (docs/references.md), so a trainer
	// must stop cleanly on a non-finite loss. (head.alpha)
	Alpha Schedule
	// Margin is L-Softmax's integer margin m, 1 to 4; m = 1 is plain softmax. lsoftmax
	// only. Default 4 (official MNIST); the official CIFAR-10 setting is 2. (head.margin)
	Margin int
	// Beta is L-Softmax's β, which mixes the plain target logit into the margin one and
	// is annealed so that training can start. lsoftmax only. Default "inv" with Value
	// (base) 1000, Gamma 2.5e-5, Power 35, Min 0 (official MNIST; CIFAR-10 uses power 45).
	// (head.beta)
	Beta Schedule
	// CenterUpdate is how center's centres learn: "official" (the default; "" means it)
	// moves them by the paper's rule after every solver step, "gradient" makes them
	// learnables whose gradient is scaled by 1/λ. See Center. (head.center_update)
	CenterUpdate string
	// CenterLR is α_c, the step size of the official centre update, >= 0. Default 0.5
	// (Wen et al.'s experiments). (head.center_lr)
	CenterLR float64
	// CenterLRMult multiplies the trainer's learning rate for the centres in "gradient"
	// mode, >= 0. Default 1. (head.center_lr_mult)
	CenterLRMult float64
	// Covariance is GM's Σ_k: "identity" (the default; "" means it), "isotropic" (one
	// learned log-variance per class, Σ_k = σ_k² I) or "diagonal" (a learned log-variance
	// per class and dimension). gm, lgm. (head.covariance)
	Covariance string
	// LogDet adds −½ log|Σ_k| to GM's logits, as the paper does; the official code has no
	// such term. Default false. No effect with identity covariance. gm, lgm. (head.logdet)
	LogDet bool
	// Likelihood is GM's L_lkd: "official" (the default; "" means it), ½||x − μ_y||²
	// Euclidean whatever Σ, as the official code's gradient and the authors' later code;
	// or "paper", −log N(x; μ_y, Σ_y) with its log-determinant and ½·D·log 2π. gm, lgm.
	// (head.likelihood)
	Likelihood string
	// LogVarFloor is the lowest value a learned log-variance takes, in forward and after
	// each PostStep. Default log(1e-3). gm, lgm with a learned covariance. (head.logvar_floor)
	LogVarFloor float64
	// VarLRMult multiplies the trainer's learning rate for the log-variances, > 0.
	// Default 0.1 (ports use 0.06 to 0.1: learned variances are fragile). gm, lgm with a
	// learned covariance. (head.var_lr_mult)
	VarLRMult float64
	// MeansNoDecay exempts GM's means from weight decay. Default false: the official
	// CIFAR code decays them. gm, lgm. (head.means_no_decay)
	MeansNoDecay bool
}

// Defaults returns the recommended configuration of head name (Classes and Dim left 0 for
// the caller). The values and their sources are in Config's field comments. An unknown
// name gets Name set and nothing else, and New reports it.
func Defaults(name string) Config {
	cfg := Config{Name: name}
	switch name {
	case "center":
		cfg.Lambda = Constant(0.01)
		cfg.CenterUpdate = CenterOfficial
		cfg.CenterLR = 0.5
		cfg.CenterLRMult = 1
	case "lsoftmax":
		cfg.Margin = 4
		cfg.Beta = Schedule{Kind: "inv", Value: 1000, Gamma: 2.5e-5, Power: 35, Min: 0}
	case "gm", "lgm":
		cfg.Lambda = Schedule{Kind: "linear", Value: 0.1, Start: 0.01, Epochs: 5}
		if name == "lgm" {
			cfg.Alpha = Schedule{Kind: "linear", Value: 1, Start: 0.1, Epochs: 5}
		}
		cfg.Covariance = CovIdentity
		cfg.Likelihood = LikelihoodOfficial
		cfg.LogVarFloor = math.Log(1e-3)
		cfg.VarLRMult = 0.1
	}
	return cfg
}

// Scheduled is a head with hyperparameters that change over training (λ, α, β). They are
// scalar inputs of the graph, not constants in it.
type Scheduled interface {
	// SetStep sets the head's scalar inputs for the coming training run and returns their
	// values by name ("lambda", "alpha", "beta") for logging. iter counts the solver steps
	// already taken (0 before the first batch; resume with the checkpoint's count) and
	// epoch is iter divided by the batches per epoch. Call it before every RunAll of the
	// training machine. Until the first call the inputs hold their values at step 0.
	// The map is the head's own, overwritten by the next call (so that a step allocates
	// nothing): copy it to keep it.
	SetStep(iter int, epoch float64) map[string]float64
}

// ParamOpt is how a solver should treat one learnable.
type ParamOpt struct {
	LRMult float64 // multiplies the learning rate (1 for ordinary weights)
	NoWD   bool    // exempt from weight decay
}

// ParamOptions is a head whose learnables want other than the default solver treatment
// (LRMult 1, weight decay on).
type ParamOptions interface {
	// ParamOptions returns one ParamOpt per learnable, in Learnables' order.
	ParamOptions() []ParamOpt
}

// OptionsOf returns h's ParamOptions, or the default treatment for each learnable when h
// does not implement ParamOptions.
func OptionsOf(h Head) []ParamOpt {
	if po, ok := h.(ParamOptions); ok {
		return po.ParamOptions()
	}
	opts := make([]ParamOpt, len(h.Learnables()))
	for i := range opts {
		opts[i].LRMult = 1
	}
	return opts
}

// PostStepper is a head that changes its own state after a solver step: center loss's
// official centre update, and the projection of GM's log-variances onto their floor.
type PostStepper interface {
	// PostStep uses the batch of the last training run (copied out of the graph during
	// that run) and the current parameters. Call it once after each solver step, after
	// RunAll and before the next one; a call with no run since the last one does nothing.
	PostStep() error
}

// Buffered is a head with state that is not learnable but belongs in a checkpoint, like a
// PyTorch buffer (center's centres in "official" mode). Save and restore Buffers along
// with Learnables, by node name.
type Buffered interface {
	Buffers() G.Nodes
}

// Floored is a head with learned variances held at a floor; for divergence reports.
type Floored interface {
	// AtFloor reports whether any variance sits at its floor, and if so a description
	// such as "head.logvar: 3 of 20 at the floor -6.908 (first: class 2, dim 0)".
	AtFloor() (string, bool)
}

// ErrUnknownHead is wrapped by the error New returns for a name it does not know.
var ErrUnknownHead = errors.New("unknown head")

// names are the heads New builds, sorted; keep in step with the switch in New.
var names = []string{"center", "gm", "lgm", "lsoftmax", "softmax"}

// Names lists the head names New accepts, sorted.
func Names() []string { return append([]string(nil), names...) }

// New builds the head cfg.Name in graph g, drawing its initial parameters from rng.
// It reports every problem with cfg at once; an unknown name wraps ErrUnknownHead.
func New(g *G.ExprGraph, cfg Config, rng *rand.Rand) (Head, error) {
	var errs []error
	if g == nil {
		errs = append(errs, errors.New("loss.New: graph is nil"))
	}
	if rng == nil {
		errs = append(errs, errors.New("loss.New: rng is nil"))
	}
	errs = append(errs, cfg.validate()...)
	if !slices.Contains(names, cfg.Name) {
		errs = append(errs, fmt.Errorf("%w %q (want one of: %s)", ErrUnknownHead, cfg.Name, strings.Join(names, ", ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	switch cfg.Name {
	case "softmax":
		return NewSoftmax(g, cfg, rng)
	case "center":
		return NewCenter(g, cfg, rng)
	case "lsoftmax":
		return NewLSoftmax(g, cfg, rng)
	case "gm", "lgm":
		return NewGM(g, cfg, rng)
	default: // a name in names without a case here: a programmer bug
		return nil, fmt.Errorf("loss.New: head %q is listed but not built", cfg.Name)
	}
}

// Validate reports every problem of c (an unknown name among them), each
// naming its config field, e.g. "head.lambda must be >= 0 (got -1)".
func (c Config) Validate() []error {
	errs := c.validate()
	if !slices.Contains(names, c.Name) {
		errs = append(errs, fmt.Errorf("%w %q (want one of: %s)", ErrUnknownHead, c.Name, strings.Join(names, ", ")))
	}
	return errs
}

// validate checks the fields every head needs, and those of the head c.Name, and returns
// one error per problem.
func (c Config) validate() []error {
	var errs []error
	if c.Classes < 2 {
		errs = append(errs, fmt.Errorf("head.classes must be >= 2 (got %d)", c.Classes))
	}
	if c.Dim < 1 {
		errs = append(errs, fmt.Errorf("head.dim must be >= 1 (got %d)", c.Dim))
	}
	if dt := c.dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		errs = append(errs, fmt.Errorf("head dtype must be float32 or float64 (got %v)", dt))
	}
	switch c.Name {
	case "center":
		errs = append(errs, c.validateCenter()...)
	case "lsoftmax":
		errs = append(errs, c.validateLSoftmax()...)
	case "gm", "lgm":
		errs = append(errs, c.validateGM()...)
	}
	return errs
}

// nonNegative returns an error unless v is a finite number >= 0.
func nonNegative(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s must be >= 0 (got %v)", field, v)
	}
	return nil
}

// dtype is c.Dtype with the zero value read as Float32.
func (c Config) dtype() tensor.Dtype {
	if c.Dtype == (tensor.Dtype{}) {
		return tensor.Float32
	}
	return c.Dtype
}

// checkInputs returns an error unless feat is (B, D) and onehot is (B, K), both in graph g
// and of the head's dtype.
func checkInputs(g *G.ExprGraph, cfg Config, feat, onehot *G.Node) error {
	if feat == nil || onehot == nil {
		return errors.New("feat and onehot must not be nil")
	}
	var errs []error
	dt := cfg.dtype()
	for _, in := range []struct {
		what string
		n    *G.Node
		cols int
	}{{"feat", feat, cfg.Dim}, {"onehot", onehot, cfg.Classes}} {
		if in.n.Graph() != g {
			errs = append(errs, fmt.Errorf("%s is in another graph than the head's parameters", in.what))
		}
		if in.n.Dtype() != dt {
			errs = append(errs, fmt.Errorf("%s dtype is %v, want %v like the head", in.what, in.n.Dtype(), dt))
		}
		if s := in.n.Shape(); len(s) != 2 || s[1] != in.cols {
			errs = append(errs, fmt.Errorf("%s shape is %v, want (B, %d)", in.what, s, in.cols))
		}
	}
	if len(errs) == 0 && feat.Shape()[0] != onehot.Shape()[0] {
		errs = append(errs, fmt.Errorf("feat has %d rows but onehot has %d", feat.Shape()[0], onehot.Shape()[0]))
	}
	return errors.Join(errs...)
}
