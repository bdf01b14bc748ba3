package experiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/lgm-dev/lgm/internal/fastblas"
	"github.com/lgm-dev/lgm/internal/vm"
	"github.com/lgm-dev/lgm/loss"
)

// Outputs are what a run's network computes for every image of a split:
// the features and the margin-free logits, with the labels and predictions.
type Outputs struct {
	Result  EvalResult
	Labels  []int     // N
	Preds   []int     // N: argmax of the logits, as Evaluate counts them
	Feats   []float32 // N × D
	Logits  []float32 // N × K, margin-free
	D, K    int
	Classes []string // class names of the data set, if it has them
	// Centres are the head's class centres (center's head.centers) or means
	// (gm and lgm's head.means), K × D; nil for heads without.
	Centres    [][]float64
	CentreName string
}

// Inspect runs a finished run's network over a whole split (as Evaluate
// does, the same predictions) and keeps every image's features and logits.
func Inspect(ctx context.Context, path string, opts RunOptions) (*Outputs, error) {
	ck, err := OpenCheckpoint(path)
	if err != nil {
		return nil, setup(err)
	}
	ss, set, err := openRun(path, opts)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	b, k := ss.shape.B, ss.shape.K
	o := &Outputs{D: ss.dim, K: k, Classes: set.ClassNames,
		Labels: make([]int, 0, set.N), Preds: make([]int, 0, set.N),
		Feats: make([]float32, 0, set.N*ss.dim), Logits: make([]float32, 0, set.N*k)}
	progress := opts.progress(ss, set)
	o.Result, err = evaluate(ctx, ss, set, func(i, label, pred int, feat []float32) error {
		if progress != nil {
			progress(i, label, pred, feat)
		}
		row := i % b // evaluate's batches start at multiples of b
		logits := ss.logitsV.Data().([]float32)
		o.Labels, o.Preds = append(o.Labels, label), append(o.Preds, pred)
		o.Feats = append(o.Feats, feat...)
		o.Logits = append(o.Logits, logits[row*k:(row+1)*k]...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	o.Centres, o.CentreName = headCentres(ck)
	return o, nil
}

// headCentres returns the class centres or means a checkpoint's head holds.
func headCentres(ck *Checkpoint) ([][]float64, string) {
	for _, c := range []struct{ tensor, name string }{{"head.means", "means μ_k"}, {"head.centers", "centres c_k"}} {
		v, ok := ck.Tensors[c.tensor]
		shape := ck.Shapes[c.tensor]
		if !ok || len(shape) != 2 {
			continue
		}
		out := make([][]float64, shape[0])
		for i := range out {
			out[i] = make([]float64, shape[1])
			for j := range out[i] {
				out[i][j] = float64(v[i*shape[1]+j])
			}
		}
		return out, c.name
	}
	return nil, ""
}

// Posteriors returns the softmax of every row of the logits.
func (o *Outputs) Posteriors() [][]float64 {
	n := len(o.Labels)
	out := make([][]float64, n)
	for i := range out {
		row := o.Logits[i*o.K : (i+1)*o.K]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		p := make([]float64, o.K)
		var s float64
		for j, v := range row {
			p[j] = math.Exp(float64(v) - m)
			s += p[j]
		}
		for j := range p {
			p[j] /= s
		}
		out[i] = p
	}
	return out
}

// Features returns the features as rows of float64.
func (o *Outputs) Features() [][]float64 {
	out := make([][]float64, len(o.Labels))
	for i := range out {
		out[i] = make([]float64, o.D)
		for j := range out[i] {
			out[i][j] = float64(o.Feats[i*o.D+j])
		}
	}
	return out
}

// headClasses is K of a checkpoint's head, from its parameters' shapes.
func headClasses(ck *Checkpoint) (int, error) {
	if s := ck.Shapes["head.means"]; len(s) == 2 {
		return s[0], nil
	}
	if s := ck.Shapes["head.W"]; len(s) == 2 {
		return s[1], nil
	}
	return 0, fmt.Errorf("checkpoint has neither head.means nor head.W: cannot tell the number of classes")
}

// HeadLogLik evaluates the head of a run's checkpoint on feature points
// (each of the run's D values) and returns the head's log-likelihood score
// at each, Out.LogLik of package loss: the winning logit for softmax and
// L-Softmax, −½‖x − c_ŷ‖² for center, log N(x; μ_ŷ, Σ_ŷ) for gm and lgm,
// ŷ the class the head predicts at x. For gm and lgm with one covariance
// for all classes this is max_k log N(x; μ_k, Σ_k), the mixture picture of
// Wan et al.'s Figure 1 (f). The head's own graph computes it, fed the
// points as its features.
func HeadLogLik(path string, points [][]float64) ([]float64, error) {
	ck, err := OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	cfg := ck.Config
	k, err := headClasses(ck)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := cfg.Model.Dim
	for i, p := range points {
		if len(p) != d {
			return nil, fmt.Errorf("point %d has %d values, the run's features %d", i, len(p), d)
		}
	}
	fastblas.Install()
	const b = 256 // points per run of the graph
	g := G.NewGraph()
	featT := tensor.New(tensor.WithShape(b, d), tensor.Of(tensor.Float32))
	feat := G.NewMatrix(g, tensor.Float32, G.WithShape(b, d), G.WithName("feat"), G.WithValue(featT))         // (B, D)
	onehot := G.NewMatrix(g, tensor.Float32, G.WithShape(b, k), G.WithName("onehot"), G.WithInit(G.Zeroes())) // (B, K): unused by LogLik
	head, err := loss.New(g, cfg.Head.lossConfig(k, d), rand.New(rand.NewPCG(cfg.Seed, streamInit)))
	if err != nil {
		return nil, err
	}
	out, err := head.Forward(feat, onehot)
	if err != nil {
		return nil, fmt.Errorf("build head %s: %w", cfg.Head.Name, err)
	}
	if out.LogLik == nil {
		return nil, fmt.Errorf("head %s has no log-likelihood score", cfg.Head.Name)
	}
	nodes := append(G.Nodes{}, head.Learnables()...)
	if bf, ok := head.(loss.Buffered); ok {
		nodes = append(nodes, bf.Buffers()...)
	}
	for _, p := range nodes {
		v, ok := ck.Tensors[p.Name()]
		if !ok {
			return nil, fmt.Errorf("%s: checkpoint has no tensor %s", path, p.Name())
		}
		dst := p.Value().Data().([]float32)
		if len(v) != len(dst) {
			return nil, fmt.Errorf("%s: checkpoint tensor %s has %d values, the head wants %d", path, p.Name(), len(v), len(dst))
		}
		copy(dst, v)
	}
	var llV G.Value
	read := G.Read(out.LogLik, &llV) // (B)
	m, err := vm.New(g.SubgraphRoots(read))
	if err != nil {
		return nil, fmt.Errorf("head log-likelihood: %w", err)
	}
	res := make([]float64, 0, len(points))
	x := featT.Data().([]float32)
	for lo := 0; lo < len(points); lo += b {
		n := min(b, len(points)-lo)
		clear(x)
		for i := range n {
			for j, v := range points[lo+i] {
				x[i*d+j] = float32(v)
			}
		}
		if err := m.RunAll(); err != nil {
			return nil, fmt.Errorf("head log-likelihood: %w", err)
		}
		ll := llV.Data().([]float32)
		for i := range n {
			res = append(res, float64(ll[i]))
		}
	}
	return res, nil
}
