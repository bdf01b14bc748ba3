package experiment

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/data"
	"github.com/lgm-dev/lgm/internal/fastblas"
	"github.com/lgm-dev/lgm/internal/vm"
	"github.com/lgm-dev/lgm/loss"
	"github.com/lgm-dev/lgm/model"
	"github.com/lgm-dev/lgm/nnops"
)

// Seed streams: every random choice of a run comes from the run's one seed,
// through a PCG stream per purpose, so that adding a new use of randomness
// does not shift the others.
const (
	streamInit  = 1 // parameter initialisation
	streamOrder = 2 // data order
	streamAug   = 3 // augmentation
	streamVal   = 4 // the validation images held out (data.val)
)

// shape is the input geometry a graph is built for.
type shape struct {
	B, C, H, W, K int
}

func (s shape) imageSize() int { return s.C * s.H * s.W }

// session is one Gorgonia graph of network + head at a fixed batch size, with
// the machines that run it. Values the trainer reads are copied out of the
// graph by Read nodes into the fields below.
type session struct {
	shape   shape
	g       *G.ExprGraph
	x       *G.Node // (B, C, H, W) input images
	onehot  *G.Node // (B, K) one-hot labels; never reaches the logits
	xT      *tensor.Dense
	yT      *tensor.Dense
	net     model.Net
	head    loss.Head
	out     loss.Out
	params  G.Nodes // network parameters, then head parameters
	buffers G.Nodes // state saved with the parameters but not learned by the solver (center's official centres)
	dim     int     // D, the feature size

	lossV, logitsV, featV G.Value
	loglikV               G.Value // the head's LogLik (B), if it has one
	termV                 map[string]*G.Value
	termNames             []string

	train *vm.Machine // forward + backward of the whole graph; nil for evaluation-only sessions
	eval  *vm.Machine // forward to logits and features only
	arena vm.Arena    // the machines' values: they never run at the same time

	evalRoots G.Nodes // what the evaluation machine reads out
}

// newSession builds the graph for cfg at batch size s.B. With train it also
// builds the gradient and a training machine. Parameters come from the
// initialisation stream of cfg.Seed.
func newSession(cfg Config, s shape, train bool) (*session, error) {
	fastblas.Install()
	if err := nnops.SetBF16(cfg.Train.Precision == "bf16"); err != nil { // before the graph: the ops choose their path by it
		return nil, fmt.Errorf("train.precision: %w", err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, streamInit))
	ss := &session{shape: s, g: G.NewGraph(), dim: cfg.Model.Dim}
	ss.xT = tensor.New(tensor.WithShape(s.B, s.C, s.H, s.W), tensor.Of(tensor.Float32))
	ss.yT = tensor.New(tensor.WithShape(s.B, s.K), tensor.Of(tensor.Float32))
	ss.x = G.NewTensor(ss.g, tensor.Float32, 4, G.WithShape(s.B, s.C, s.H, s.W), G.WithName("x"), G.WithValue(ss.xT))
	ss.onehot = G.NewMatrix(ss.g, tensor.Float32, G.WithShape(s.B, s.K), G.WithName("onehot"), G.WithValue(ss.yT))

	var err error
	if ss.net, err = model.New(ss.g, model.Config{Name: cfg.Model.Net, Dim: cfg.Model.Dim, Width: cfg.Model.Width, C: s.C, H: s.H, W: s.W}, rng); err != nil {
		return nil, err
	}
	feat, err := ss.net.Forward(ss.x) // (B, D)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", cfg.Model.Net, err)
	}
	if ss.head, err = loss.New(ss.g, cfg.Head.lossConfig(s.K, cfg.Model.Dim), rng); err != nil {
		return nil, err
	}
	if ss.out, err = ss.head.Forward(feat, ss.onehot); err != nil {
		return nil, fmt.Errorf("build head %s: %w", cfg.Head.Name, err)
	}
	ss.params = append(append(G.Nodes{}, ss.net.Learnables()...), ss.head.Learnables()...)
	if b, ok := ss.net.(model.Buffered); ok { // BatchNorm's running statistics
		ss.buffers = append(ss.buffers, b.Buffers()...)
	}
	if b, ok := ss.head.(loss.Buffered); ok {
		ss.buffers = append(ss.buffers, b.Buffers()...)
	}

	if err := checkFits(ss.g, s.B); err != nil {
		return nil, err
	}
	ss.evalRoots = G.Nodes{G.Read(ss.out.Logits, &ss.logitsV), G.Read(feat, &ss.featV)}
	if ss.out.LogLik != nil {
		ss.evalRoots = append(ss.evalRoots, G.Read(ss.out.LogLik, &ss.loglikV))
	}
	if ss.eval, err = vm.New(ss.g.SubgraphRoots(ss.evalRoots...), vm.Share(&ss.arena)); err != nil {
		return nil, fmt.Errorf("evaluation machine: %w", err)
	}
	if !train {
		return ss, nil
	}
	G.Read(ss.out.Loss, &ss.lossV)
	ss.termV = map[string]*G.Value{}
	for name, n := range ss.out.Terms {
		v := new(G.Value)
		ss.termV[name] = v
		ss.termNames = append(ss.termNames, name)
		G.Read(n, v)
	}
	if _, err := G.Grad(ss.out.Loss, ss.params...); err != nil {
		return nil, fmt.Errorf("gradient of the loss: %w", err)
	}
	if err := checkFits(ss.g, s.B); err != nil { // with the gradient nodes
		return nil, err
	}
	if ss.train, err = vm.New(ss.g, vm.Grads(ss.params...), vm.Share(&ss.arena)); err != nil {
		return nil, fmt.Errorf("training machine: %w", err)
	}
	return ss, nil
}

// close releases the machines.
func (ss *session) close() {
	if ss.train != nil {
		ss.train.Close()
	}
	ss.eval.Close()
}

// load fills the input batch with the examples idx of set (len(idx) <= B);
// rows past len(idx) are zero and must be ignored by the caller. labels
// receives the labels of idx.
func (ss *session) load(set *data.Set, idx []int, labels []int) {
	x := ss.xT.Float32s() // not Data(): its boxing allocates
	n := len(idx) * ss.shape.imageSize()
	set.Gather(idx, x[:n], labels[:len(idx)])
	clear(x[n:])
	y := ss.yT.Float32s()
	clear(y)
	for i := range idx {
		y[i*ss.shape.K+labels[i]] = 1
	}
}

// paramValues returns the float32 backing array of every parameter.
func (ss *session) paramValues() [][]float32 {
	vs := make([][]float32, len(ss.params))
	for i, p := range ss.params {
		vs[i] = p.Value().Data().([]float32)
	}
	return vs
}

// predictions writes the argmax of the first n rows of the last logits into pred.
func (ss *session) predictions(n int, pred []int) {
	logits := ss.logitsV.(*tensor.Dense).Float32s()
	k := ss.shape.K
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		pred[i] = best
	}
}

// setTraining puts the network's BatchNorm layers (if any) in training mode
// (batch statistics, running statistics updated) or evaluation mode.
func (ss *session) setTraining(on bool) {
	if tm, ok := ss.net.(model.TrainModer); ok {
		tm.SetTraining(on)
	}
}

// runEval runs the forward pass to the logits in evaluation mode.
func (ss *session) runEval() error {
	ss.setTraining(false)
	return ss.eval.RunAll()
}
