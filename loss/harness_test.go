package loss

// A test harness every head reuses. A rig is one head in its own graph with feat (B, D)
// and onehot (B, K) inputs; run sets inputs and parameters, runs forward and backward, and
// returns everything as float64. On top of it: a central-difference gradient check and the
// properties every head must have (margin-free logits, finite loss on huge inputs,
// seeded initialisation).

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rig is a head built in its own graph, with inputs and a tape machine that computes the
// loss and its gradients with respect to feat and every learnable.
type rig struct {
	cfg    Config
	b      int          // batch size B
	g      *G.ExprGraph //
	feat   *G.Node      // (B, D)
	onehot *G.Node      // (B, K)
	head   Head
	out    Out
	params G.Nodes // head.Learnables()
	vm     G.VM
	// reads holds what G.Read copied out of each output node during the last run.
	// Node.Value() is not safe after RunAll: Gorgonia's tape machine lets nodes share
	// memory, so an intermediate node may end up bound to a later node's values.
	reads map[*G.Node]*G.Value
}

// input is what one run of a rig sees. Params maps a learnable's name to its new values
// (row-major); learnables it leaves out keep their current values.
type input struct {
	Feat   []float64 // (B·D) row-major
	Labels []int     // (B), each in [0, K)
	Params map[string][]float64
}

// result is one run of a rig, in float64 whatever the head's dtype.
type result struct {
	Loss     float64
	Terms    map[string]float64
	Logits   []float64 // (B·K) row-major
	LogLik   []float64 // (B), nil when the head has none
	GradFeat []float64 // (B·D) ∂Loss/∂feat
	Grads    map[string][]float64
}

// newRig builds the head cfg with a batch of b samples, initialised from seed.
func newRig(t testing.TB, cfg Config, b int, seed uint64) *rig {
	t.Helper()
	g := G.NewGraph()
	dt := cfg.dtype()
	r := &rig{cfg: cfg, b: b, g: g}
	r.feat = G.NewMatrix(g, dt, G.WithName("feat"), G.WithShape(b, cfg.Dim),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(b, cfg.Dim))))
	r.onehot = G.NewMatrix(g, dt, G.WithName("onehot"), G.WithShape(b, cfg.Classes),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(b, cfg.Classes))))
	head, err := New(g, cfg, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	if head.Name() != cfg.Name {
		t.Fatalf("head.Name() = %q, want %q", head.Name(), cfg.Name)
	}
	r.head = head
	if r.out, err = head.Forward(r.feat, r.onehot); err != nil {
		t.Fatalf("Forward: %v", err)
	}
	checkOutShapes(t, r.out, b, cfg.Classes)
	r.params = head.Learnables()
	seen := map[string]bool{}
	for _, p := range r.params {
		if seen[p.Name()] {
			t.Fatalf("two learnables are named %q", p.Name())
		}
		seen[p.Name()] = true
	}
	wrt := append(G.Nodes{r.feat}, r.params...)
	if _, err := G.Grad(r.out.Loss, wrt...); err != nil {
		t.Fatalf("Grad: %v", err)
	}
	r.reads = map[*G.Node]*G.Value{}
	for _, n := range append(G.Nodes{r.out.Loss, r.out.Logits, r.out.LogLik}, termNodes(r.out)...) {
		if n != nil && r.reads[n] == nil {
			r.reads[n] = new(G.Value)
			G.Read(n, r.reads[n])
		}
	}
	r.vm = G.NewTapeMachine(g, G.BindDualValues(wrt...))
	t.Cleanup(func() { r.vm.Close() })
	return r
}

// termNodes returns out's terms in name order.
func termNodes(out Out) G.Nodes {
	var nodes G.Nodes
	for _, name := range slices.Sorted(maps.Keys(out.Terms)) {
		nodes = append(nodes, out.Terms[name])
	}
	return nodes
}

// value returns what output node n held during the last run.
func (r *rig) value(t testing.TB, n *G.Node) G.Value {
	t.Helper()
	v := r.reads[n]
	if v == nil || *v == nil {
		t.Fatalf("%s was not read during the run", n.Name())
	}
	return *v
}

// checkOutShapes fails t unless out has a scalar Loss and Terms, (B, K) Logits and, if
// present, (B) LogLik.
func checkOutShapes(t testing.TB, out Out, b, k int) {
	t.Helper()
	if out.Loss == nil || !out.Loss.IsScalar() {
		t.Fatalf("Loss is %v, want a scalar node", out.Loss)
	}
	if out.Logits == nil || !out.Logits.Shape().Eq(tensor.Shape{b, k}) {
		t.Fatalf("Logits is %v, want shape (%d, %d)", out.Logits, b, k)
	}
	if out.LogLik != nil && !out.LogLik.Shape().Eq(tensor.Shape{b}) {
		t.Fatalf("LogLik shape is %v, want (%d)", out.LogLik.Shape(), b)
	}
	if len(out.Terms) == 0 {
		t.Fatalf("Terms is empty, want at least one term")
	}
	for name, n := range out.Terms {
		if n == nil || !n.IsScalar() {
			t.Fatalf("Terms[%q] is %v, want a scalar node", name, n)
		}
	}
}

// buffers returns the head's non-learnable state (Buffered), if any.
func (r *rig) buffers() G.Nodes {
	if b, ok := r.head.(Buffered); ok {
		return b.Buffers()
	}
	return nil
}

// param returns the learnable, or buffer, called name.
func (r *rig) param(t testing.TB, name string) *G.Node {
	t.Helper()
	for _, p := range append(slices.Clone(r.params), r.buffers()...) {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("head %s has no learnable or buffer %q", r.head.Name(), name)
	return nil
}

// paramValues returns a copy of every learnable's and buffer's current values, by name.
func (r *rig) paramValues(t testing.TB) map[string][]float64 {
	t.Helper()
	vals := map[string][]float64{}
	for _, p := range append(slices.Clone(r.params), r.buffers()...) {
		vals[p.Name()] = toFloats(t, p.Value())
	}
	return vals
}

// set sets the rig's inputs and parameters from in.
func (r *rig) set(t testing.TB, in input) {
	t.Helper()
	setFloats(t, r.feat, in.Feat)
	setFloats(t, r.onehot, oneHot(t, in.Labels, r.cfg.Classes))
	for name, vals := range in.Params {
		setFloats(t, r.param(t, name), vals)
	}
}

// run sets in, runs forward and backward once and returns the results.
func (r *rig) run(t testing.TB, in input) result {
	t.Helper()
	r.set(t, in)
	if err := r.vm.RunAll(); err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	defer r.vm.Reset()
	res := result{
		Loss:   scalar(t, r.value(t, r.out.Loss)),
		Terms:  map[string]float64{},
		Logits: toFloats(t, r.value(t, r.out.Logits)),
		Grads:  map[string][]float64{},
	}
	for name, n := range r.out.Terms {
		res.Terms[name] = scalar(t, r.value(t, n))
	}
	if r.out.LogLik != nil {
		res.LogLik = toFloats(t, r.value(t, r.out.LogLik))
	}
	res.GradFeat = takeGrad(t, r.feat)
	for _, p := range r.params {
		res.Grads[p.Name()] = takeGrad(t, p)
	}
	return res
}

// takeGrad returns n's gradient after a run and zeroes it. The tape machine adds each
// run's gradient to the node's dual value and Reset does not clear it (Gorgonia's solvers
// zero it in Step), so without this every run would add to the last.
func takeGrad(t testing.TB, n *G.Node) []float64 {
	t.Helper()
	d, err := n.Grad()
	if err != nil {
		t.Fatalf("gradient of %s: %v", n.Name(), err)
	}
	g := toFloats(t, d)
	dt, ok := d.(tensor.Tensor)
	if !ok {
		t.Fatalf("gradient of %s is a %T, want a tensor", n.Name(), d)
	}
	dt.Zero()
	return g
}

// toFloats copies a float32 or float64 value into a new []float64.
func toFloats(t testing.TB, v G.Value) []float64 {
	t.Helper()
	switch d := v.Data().(type) {
	case []float64:
		return slices.Clone(d)
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case float64:
		return []float64{d}
	case float32:
		return []float64{float64(d)}
	}
	t.Fatalf("value of type %T is not float32 or float64", v.Data())
	return nil
}

// scalar returns the single number in v.
func scalar(t testing.TB, v G.Value) float64 {
	t.Helper()
	f := toFloats(t, v)
	if len(f) != 1 {
		t.Fatalf("got %d numbers, want a scalar", len(f))
	}
	return f[0]
}

// setFloats copies vals into n's value in place, converting to n's dtype.
func setFloats(t testing.TB, n *G.Node, vals []float64) {
	t.Helper()
	switch d := n.Value().Data().(type) {
	case []float64:
		if len(d) != len(vals) {
			t.Fatalf("%s: got %d values, want %d", n.Name(), len(vals), len(d))
		}
		copy(d, vals)
	case []float32:
		if len(d) != len(vals) {
			t.Fatalf("%s: got %d values, want %d", n.Name(), len(vals), len(d))
		}
		for i, x := range vals {
			d[i] = float32(x)
		}
	default:
		t.Fatalf("%s holds %T, want []float32 or []float64", n.Name(), d)
	}
}

// oneHot returns the (B·K) row-major one-hot encoding of labels.
func oneHot(t testing.TB, labels []int, k int) []float64 {
	t.Helper()
	out := make([]float64, len(labels)*k)
	for i, y := range labels {
		if y < 0 || y >= k {
			t.Fatalf("label %d of sample %d is outside [0, %d)", y, i, k)
		}
		out[i*k+y] = 1
	}
	return out
}

// randomInput draws features from N(0, scale²) and labels uniformly, using rng.
func randomInput(rng *rand.Rand, b, d, k int, scale float64) input {
	in := input{Feat: make([]float64, b*d), Labels: make([]int, b)}
	for i := range in.Feat {
		in.Feat[i] = scale * rng.NormFloat64()
	}
	for i := range in.Labels {
		in.Labels[i] = rng.IntN(k)
	}
	return in
}

// near reports whether got and want agree to tol, relative to max(1, |want|).
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// checkClose fails t for every element of got that is not close to want.
func checkClose(t testing.TB, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		if !near(got[i], want[i], tol) {
			if bad < 5 {
				t.Errorf("%s[%d]: got %.10g, want %.10g", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// checkFinite fails t if anything in res is NaN or infinite.
func checkFinite(t testing.TB, res result) {
	t.Helper()
	all := map[string][]float64{
		"loss": {res.Loss}, "logits": res.Logits, "loglik": res.LogLik, "grad feat": res.GradFeat,
	}
	for name, g := range res.Grads {
		all["grad "+name] = g
	}
	for name, t0 := range res.Terms {
		all["term "+name] = []float64{t0}
	}
	for what, vals := range all {
		bad := 0
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if bad == 0 {
					t.Errorf("%s[%d] = %v, want a finite number", what, i, v)
				}
				bad++
			}
		}
		if bad > 1 {
			t.Errorf("%s: %d of %d values are not finite", what, bad, len(vals))
		}
	}
}

// checkGradients compares the rig's gradients at in with central differences of its loss,
// for every feature and every element of every learnable. The rig should be float64.
// Parameters are left as in.Params (or as they were) afterwards.
func checkGradients(t *testing.T, r *rig, in input, tol float64) {
	t.Helper()
	if in.Params == nil {
		in.Params = r.paramValues(t)
	}
	res := r.run(t, in)
	again := r.run(t, in) // must repeat exactly: no state may carry over between runs
	checkClose(t, "second run: loss", []float64{again.Loss}, []float64{res.Loss}, 0)
	checkClose(t, "second run: ∂loss/∂feat", again.GradFeat, res.GradFeat, 0)
	for name, g := range res.Grads {
		checkClose(t, "second run: ∂loss/∂"+name, again.Grads[name], g, 0)
	}
	checkClose(t, "∂loss/∂feat", res.GradFeat, numericGrad(t, r, in, in.Feat), tol)
	for _, p := range r.params {
		name := p.Name()
		checkClose(t, "∂loss/∂"+name, res.Grads[name], numericGrad(t, r, in, in.Params[name]), tol)
	}
	r.set(t, in)
}

// numericGrad returns the central difference of the rig's loss at in with respect to each
// element of x, which must be in.Feat or one of in.Params' slices. It perturbs x in place
// and restores it.
func numericGrad(t *testing.T, r *rig, in input, x []float64) []float64 {
	t.Helper()
	const h = 1e-5
	g := make([]float64, len(x))
	for i := range x {
		x0 := x[i]
		x[i] = x0 + h
		up := r.run(t, in).Loss
		x[i] = x0 - h
		down := r.run(t, in).Loss
		x[i] = x0
		g[i] = (up - down) / (2 * h)
	}
	return g
}

// checkLogitsIgnoreLabels runs the head on one batch with two different label sets and
// fails t unless Logits and LogLik are identical: logits must be margin-free.
func checkLogitsIgnoreLabels(t *testing.T, cfg Config, b int, seed uint64) {
	t.Helper()
	r := newRig(t, cfg, b, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	in := randomInput(rng, b, cfg.Dim, cfg.Classes, 1)
	first := r.run(t, in)
	shifted := input{Feat: in.Feat, Labels: make([]int, b)}
	for i, y := range in.Labels {
		shifted.Labels[i] = (y + 1 + i%(cfg.Classes-1)) % cfg.Classes // always a different label
	}
	second := r.run(t, shifted)
	if !slices.Equal(first.Logits, second.Logits) {
		t.Errorf("logits changed with the labels:\n%v\n%v", first.Logits, second.Logits)
	}
	if !slices.Equal(first.LogLik, second.LogLik) {
		t.Errorf("loglik changed with the labels:\n%v\n%v", first.LogLik, second.LogLik)
	}
	if first.Loss == second.Loss {
		t.Errorf("loss %v did not change with the labels; the check cannot tell labels were set", first.Loss)
	}
}

// checkSeededInit fails t unless two heads built from the same seed start with identical
// parameters and a head from another seed starts elsewhere.
func checkSeededInit(t *testing.T, cfg Config) {
	t.Helper()
	a := newRig(t, cfg, 1, 7).paramValues(t)
	b := newRig(t, cfg, 1, 7).paramValues(t)
	c := newRig(t, cfg, 1, 8).paramValues(t)
	if len(a) == 0 {
		t.Fatalf("head %s has no learnables", cfg.Name)
	}
	for name := range a {
		if !slices.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two heads built from seed 7", name)
		}
		if slices.Equal(a[name], c[name]) {
			t.Errorf("%s is the same for seeds 7 and 8", name)
		}
	}
}

// caseName names a config in subtest names.
func caseName(cfg Config) string {
	return fmt.Sprintf("%s/K=%d/D=%d/bias=%v/%v", cfg.Name, cfg.Classes, cfg.Dim, cfg.Bias, cfg.dtype())
}

// checkDtypesAgree builds cfg in float32 and float64 from the same seed, runs both on the
// same batch and fails t unless loss, logits, loglik and every gradient agree to tol.
// It checks the float32 path, which training uses, against the float64 one that
// checkGradients verified.
func checkDtypesAgree(t *testing.T, cfg Config, b int, seed uint64, tol float64) {
	t.Helper()
	cfg32, cfg64 := cfg, cfg
	cfg32.Dtype, cfg64.Dtype = tensor.Float32, tensor.Float64
	r32, r64 := newRig(t, cfg32, b, seed), newRig(t, cfg64, b, seed)
	in := randomInput(rand.New(rand.NewPCG(seed, 2)), b, cfg.Dim, cfg.Classes, 1)
	in.Params = r32.paramValues(t) // the float32 values, exactly representable in both
	got, want := r32.run(t, in), r64.run(t, in)
	if !near(got.Loss, want.Loss, tol) {
		t.Errorf("loss: float32 %.8g, float64 %.8g", got.Loss, want.Loss)
	}
	checkClose(t, "logits", got.Logits, want.Logits, tol)
	checkClose(t, "loglik", got.LogLik, want.LogLik, tol)
	checkClose(t, "∂loss/∂feat", got.GradFeat, want.GradFeat, tol)
	for name := range want.Grads {
		checkClose(t, "∂loss/∂"+name, got.Grads[name], want.Grads[name], tol)
	}
}

// trainSteps runs steps of plain SGD (learning rate lr times each learnable's LRMult from
// OptionsOf, no weight decay) on the rig's learnables with fixed inputs in, the way a
// trainer drives a head: SetStep before each run if the head is Scheduled, PostStep after
// each solver step if it is a PostStepper. With only, just the learnables named there are
// updated. It returns the loss of every step.
func trainSteps(t *testing.T, r *rig, in input, steps int, lr float64, only ...string) []float64 {
	t.Helper()
	r.set(t, in)
	opts := OptionsOf(r.head)
	if len(opts) != len(r.params) {
		t.Fatalf("%d param options for %d learnables", len(opts), len(r.params))
	}
	losses := make([]float64, steps)
	for step := range losses {
		if s, ok := r.head.(Scheduled); ok {
			s.SetStep(step, float64(step)/10)
		}
		if err := r.vm.RunAll(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		losses[step] = scalar(t, r.value(t, r.out.Loss))
		for i, p := range r.params {
			g := takeGrad(t, p)
			if len(only) > 0 && !slices.Contains(only, p.Name()) {
				continue
			}
			vals := toFloats(t, p.Value())
			for j := range vals {
				vals[j] -= lr * opts[i].LRMult * g[j]
			}
			setFloats(t, p, vals)
		}
		r.vm.Reset()
		if ps, ok := r.head.(PostStepper); ok {
			if err := ps.PostStep(); err != nil {
				t.Fatalf("step %d: PostStep: %v", step, err)
			}
		}
	}
	return losses
}

// separable returns b fixed features in d dimensions, k classes on a circle of radius 2
// with noise 0.3 (extra dimensions are noise only), labels i mod k.
func separable(b, d, k int, seed uint64) input {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	in := input{Feat: make([]float64, b*d), Labels: make([]int, b)}
	for i := range in.Labels {
		y := i % k
		angle := 2 * math.Pi * float64(y) / float64(k)
		in.Labels[i] = y
		for j := 0; j < d; j++ {
			in.Feat[i*d+j] = 0.3 * rng.NormFloat64()
		}
		in.Feat[i*d] += 2 * math.Cos(angle)
		in.Feat[i*d+1] += 2 * math.Sin(angle)
	}
	return in
}

// checkFalls fails t unless the loss fell below frac of its first value.
func checkFalls(t *testing.T, losses []float64, frac float64) {
	t.Helper()
	first, last := losses[0], losses[len(losses)-1]
	if math.IsNaN(last) || !(last < frac*first) {
		t.Errorf("loss went from %.4f to %.4f in %d steps, want below %.4f", first, last, len(losses), frac*first)
	}
}

// argmax returns the index of the first largest value in row.
func argmax(row []float64) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}
