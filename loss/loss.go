// Package loss holds the classification heads of lgm: softmax, and later center loss,
// L-Softmax and GM/L-GM. A head sits on top of a network's features, owns its own
// parameters, and turns features and one-hot labels into a loss and margin-free logits.
//
// Notation throughout: B is the batch size, D the feature size, K the number of classes.
package loss

import (
	"errors"
	"fmt"
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
	// Terms are the scalar parts of Loss for logging, e.g. "xent".
	Terms map[string]*G.Node
	// LogLik is (B): the score of each sample's feature under its predicted class, used
	// for likelihood-based detection; nil if the head has none.
	LogLik *G.Node
}

// Config holds what every head needs. Later heads add their own fields.
type Config struct {
	// Name is the head's config name, one of Names().
	Name string
	// Classes is K, the number of classes (>= 2).
	Classes int
	// Dim is D, the feature size (>= 1).
	Dim int
	// Bias adds a bias to softmax's linear layer. The center-loss LeNet++ uses none.
	Bias bool
	// Dtype is the dtype of the head's parameters and of the feat and onehot nodes it
	// accepts: tensor.Float32 (the zero value means Float32) or tensor.Float64 (used by
	// the tests' gradient checks).
	Dtype tensor.Dtype
}

// ErrUnknownHead is wrapped by the error New returns for a name it does not know.
var ErrUnknownHead = errors.New("unknown head")

// names are the heads New builds, sorted; keep in step with the switch in New.
var names = []string{"softmax"}

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
	default: // a name in names without a case here: a programmer bug
		return nil, fmt.Errorf("loss.New: head %q is listed but not built", cfg.Name)
	}
}

// validate checks the fields every head needs and returns one error per problem.
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
	return errs
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
