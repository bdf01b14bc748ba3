package vm

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFreeList: over random allocations and frees, live ranges never
// overlap, and freeing everything leaves one free range from 0 to the top.
func TestFreeList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var f freeList
	live := map[int]int{} // offset → size
	for it := 0; it < 5000; it++ {
		if len(live) > 0 && rng.IntN(2) == 0 {
			for off, size := range live { // any one
				f.free(off, size)
				delete(live, off)
				break
			}
			continue
		}
		size := 1 + rng.IntN(100)
		off := f.alloc(size)
		if off < 0 || off+size > f.top {
			t.Fatalf("alloc(%d) = %d outside [0, %d)", size, off, f.top)
		}
		for o, s := range live {
			if off < o+s && o < off+size {
				t.Fatalf("alloc(%d) = [%d, %d) overlaps the live [%d, %d)", size, off, off+size, o, o+s)
			}
		}
		live[off] = size
	}
	for off, size := range live {
		f.free(off, size)
	}
	if f.top > 0 && (len(f.blocks) != 1 || f.blocks[0] != (block{0, f.top})) {
		t.Errorf("after freeing everything: free ranges %v, want [{0 %d}]", f.blocks, f.top)
	}
}

// TestPlanKeepsLiveValuesApart: in the plan of the rig's training graph, two
// shared values never overlap in memory while both live (from the step that
// writes one to the last step that reads it), and sharing makes the buffer
// smaller than the values' sum.
func TestPlanKeepsLiveValuesApart(t *testing.T) {
	for _, g := range []*G.ExprGraph{newRig(t, 3).g, chain(t, 12).g} {
		m, err := New(g)
		if err != nil {
			t.Fatal(err)
		}
		last := make([]int, len(m.steps))
		for i := range m.steps {
			last[i] = i
			for _, a := range m.steps[i].args {
				last[a] = max(last[a], i)
			}
		}
		nShared := 0
		for i := range m.steps {
			if m.off[i] < 0 {
				continue
			}
			nShared++
			ni := m.steps[i].node.Shape().TotalSize()
			if m.off[i]%align != 0 || m.off[i]+ni > m.size {
				t.Fatalf("step %d at %d (+%d) in a buffer of %d", i, m.off[i], ni, m.size)
			}
			for j := i + 1; j <= last[i]; j++ {
				if m.off[j] < 0 {
					continue
				}
				nj := m.steps[j].node.Shape().TotalSize()
				if m.off[i] < m.off[j]+nj && m.off[j] < m.off[i]+ni {
					t.Errorf("%v [%d, %d) and %v [%d, %d) share memory while both live", m.steps[i].node, m.off[i], m.off[i]+ni, m.steps[j].node, m.off[j], m.off[j]+nj)
				}
			}
		}
		shared, separate := m.SharedFloats()
		if nShared == 0 || shared >= separate {
			t.Errorf("%d shared values: buffer %d floats, separately %d", nShared, shared, separate)
		}
	}
}

// chainRig is x → n × (neg, exp) → sum: a graph where every value but
// the last few dies at the next step.
type chainRig struct {
	g     *G.ExprGraph
	xT    *tensor.Dense
	lossV G.Value
}

func chain(t *testing.T, n int) *chainRig {
	t.Helper()
	r := &chainRig{g: G.NewGraph()}
	r.xT = tensor.New(tensor.WithShape(64, 64), tensor.WithBacking(fill(rand.New(rand.NewPCG(2, 2)), 64*64)))
	x := G.NewMatrix(r.g, tensor.Float32, G.WithShape(64, 64), G.WithName("x"), G.WithValue(r.xT))
	v := x
	var err error
	for i := 0; i < n; i++ {
		if v, err = G.Neg(v); err != nil {
			t.Fatal(err)
		}
		if v, err = G.Exp(v); err != nil { // stays in (0, e^|x|)
			t.Fatal(err)
		}
	}
	l, err := G.Sum(v)
	if err != nil {
		t.Fatal(err)
	}
	G.Read(l, &r.lossV)
	return r
}

// TestSharingSavesMemory: a chain of elementwise steps needs two values'
// memory, not one per step, and computes the same as without sharing.
func TestSharingSavesMemory(t *testing.T) {
	a, b := chain(t, 12), chain(t, 12)
	m, err := New(a.g)
	if err != nil {
		t.Fatal(err)
	}
	shared, separate := m.SharedFloats()
	if one := 64 * 64; shared > 2*one || separate < 24*one {
		t.Errorf("buffer of %d floats (%d values' worth), separately %d", shared, shared/one, separate)
	}
	ref, err := New(b.g, NoSharing())
	if err != nil {
		t.Fatal(err)
	}
	if s, sep := ref.SharedFloats(); s != roundUp(64*64)*24 || sep != 64*64*24 {
		t.Errorf("NoSharing: buffer %d floats, want %d", s, sep)
	}
	for run := 0; run < 2; run++ {
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := ref.RunAll(); err != nil {
			t.Fatal(err)
		}
		bitsEqual(t, "loss", data(a.lossV), data(b.lossV))
	}
}

// TestArenaSharedByMachines: an evaluation machine and a training machine
// over one graph, sharing an arena and run in turns (the evaluation first,
// so that the training machine grows the arena and the evaluation machine
// moves into the new buffer), compute bit for bit what machines without
// sharing compute, and allocate nothing once both have run.
func TestArenaSharedByMachines(t *testing.T) {
	a, b := newRig(t, 9), newRig(t, 9)
	var arena Arena
	evalA, err := New(a.g.SubgraphRoots(a.loss), Share(&arena))
	if err != nil {
		t.Fatal(err)
	}
	gen := arena.gen
	trainA, err := New(a.g, Grads(a.w, a.b), Share(&arena))
	if err != nil {
		t.Fatal(err)
	}
	if arena.gen == gen {
		t.Fatal("the training machine did not grow the arena: the test no longer moves the evaluation machine")
	}
	evalB, err := New(b.g.SubgraphRoots(b.loss), NoSharing())
	if err != nil {
		t.Fatal(err)
	}
	trainB, err := New(b.g, Grads(b.w, b.b), NoSharing())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	turn := func(run int) {
		x := fill(rng, len(a.xT.Float32s()))
		copy(a.xT.Float32s(), x)
		copy(b.xT.Float32s(), x)
		for k, pair := range [][2]*Machine{{evalA, evalB}, {trainA, trainB}} {
			for _, m := range pair {
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
			}
			bitsEqual(t, []string{"evaluation loss", "training loss"}[k], data(a.lossV), data(b.lossV))
			bitsEqual(t, "logits", data(a.yV), data(b.yV))
		}
		for i, p := range []*G.Node{a.w, a.b} {
			got, _ := trainA.Grad(p)
			want, _ := trainB.Grad([]*G.Node{b.w, b.b}[i])
			bitsEqual(t, "gradient of "+p.Name(), got, want)
			clear(got)
			clear(want)
		}
	}
	for run := 0; run < 3; run++ {
		turn(run)
	}
	if evalA.gen != arena.gen {
		t.Error("the evaluation machine still uses the arena's old buffer")
	}
	if n := testing.AllocsPerRun(5, func() { evalA.RunAll(); trainA.RunAll() }); n != 0 {
		t.Errorf("got %v allocations per pair of runs, want 0", n)
	}
}
