package nnops

// Benchmarks, one shape per kernel: every LeNet++ convolution at batch 128
// (forward; backward = dx + dw + db), max-pooling, PReLU, and a whole LeNet++
// training step in a TapeMachine with our ops (batch 128) and with Gorgonia's
// stock ops (batch 16: the stock step holds GBs at 128). Keep runs short:
//
//	go test ./nnops/ -run '^$' -bench . -benchtime 3x

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const benchBatch = 128

// lenetppConvs are LeNet++'s six 5×5 pad-2 convolutions: Cin, Cout, H = W.
var lenetppConvs = []struct{ cin, cout, hw int }{
	{1, 32, 28}, {32, 32, 28}, {32, 64, 14}, {64, 64, 14}, {64, 128, 7}, {128, 128, 7},
}

// benchConvs are the convolutions BenchmarkConv times: LeNet++'s, then the
// distinct 3×3 pad-1 ones of the VGG network at width 0.25 (the shipped
// CIFAR configs; each stage repeats its second shape).
var benchConvs = func() []benchConv {
	var cs []benchConv
	for i, l := range lenetppConvs {
		cs = append(cs, benchConv{fmt.Sprintf("conv%d_%d_%dx%dx%d", i/2+1, i%2+1, l.cin, l.cout, l.hw), l.cin, l.cout, l.hw, 5, 2, i == 0})
	}
	for _, l := range []struct{ cin, cout, hw int }{{3, 24, 32}, {24, 24, 32}, {24, 48, 16}, {48, 48, 16}, {48, 96, 8}, {96, 96, 8}} {
		cs = append(cs, benchConv{fmt.Sprintf("vgg_%dx%dx%d", l.cin, l.cout, l.hw), l.cin, l.cout, l.hw, 3, 1, l.cin == 3})
	}
	return cs
}()

type benchConv struct {
	name          string
	cin, cout, hw int
	k, pad        int
	first         bool // the network's first layer: training needs no dx
}

// reportRate reports images/s and, when flops > 0, GFLOP/s for b.N calls
// that each process batch images and flops operations, and the CPU time per
// call since cpu0 (a cpuTime reading).
func reportRate(b *testing.B, batch int, flops float64, cpu0 int64) {
	if cpu0 > 0 {
		// CPU time of the whole process (all threads, GC included): on a
		// shared host it is steadier than wall time.
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*batch)/s, "img/s")
	if flops > 0 {
		b.ReportMetric(float64(b.N)*flops/s/1e9, "GFLOP/s")
	}
}

func withThreads(b *testing.B, n int, f func(b *testing.B)) {
	b.Run(fmt.Sprintf("threads=%d", n), func(b *testing.B) {
		old := Threads()
		SetThreads(n)
		defer SetThreads(old)
		f(b)
	})
}

func benchValue(seed uint64, s ...int) *tensor.Dense {
	sh := tensor.Shape(s)
	return dense(sh, uniform(newRand(seed), sh.TotalSize()))
}

func BenchmarkConv(b *testing.B) {
	for _, l := range benchConvs {
		cs := newConvShape(tensor.Shape{benchBatch, l.cin, l.hw, l.hw}, tensor.Shape{l.cout, l.cin, l.k, l.k}, tensor.Shape{l.cout}, 1, l.pad)
		x := benchValue(1, benchBatch, l.cin, l.hw, l.hw)
		w := benchValue(2, l.cout, l.cin, l.k, l.k)
		bias := benchValue(3, l.cout)
		dy := benchValue(4, benchBatch, l.cout, l.hw, l.hw)
		fwd := &conv2dOp{convShape: cs, opBase: newBase()}
		dx := &convGradXOp{convShape: cs, opBase: newBase()}
		dw := &convGradWOp{convShape: cs, opBase: newBase()}
		db := &convGradBOp{convShape: cs, opBase: newBase()}
		name := l.name
		b.Run(name+"/fwd", func(b *testing.B) {
			for _, th := range []int{1, 2} {
				withThreads(b, th, func(b *testing.B) {
					do := func() {
						if _, err := fwd.Do(x, w, bias); err != nil {
							b.Fatal(err)
						}
					}
					do() // warm-up: buffers
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cpuTime()
					for b.Loop() {
						do()
					}
					reportRate(b, benchBatch, cs.flops(), cpu0)
				})
			}
		})
		b.Run(name+"/bwd", func(b *testing.B) {
			for _, th := range []int{1, 2} {
				withThreads(b, th, func(b *testing.B) {
					do := func() {
						if !l.first { // the first layer's dx is not needed in training
							if _, err := dx.Do(w, dy); err != nil {
								b.Fatal(err)
							}
						}
						if _, err := dw.Do(x, dy); err != nil {
							b.Fatal(err)
						}
						if _, err := db.Do(dy); err != nil {
							b.Fatal(err)
						}
					}
					do()
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cpuTime()
					for b.Loop() {
						do()
					}
					flops := 2 * cs.flops()
					if l.first {
						flops = cs.flops()
					}
					reportRate(b, benchBatch, flops, cpu0)
				})
			}
		})
	}
}

func BenchmarkMaxPool(b *testing.B) {
	xs := tensor.Shape{benchBatch, 32, 28, 28}
	op := &maxPoolOp{geom: newGeom(1, 28, 28, 2, 2, 0), planes: benchBatch * 32, xShape: xs, yShape: tensor.Shape{benchBatch, 32, 14, 14}, opBase: newBase()}
	grad := &maxPoolGradOp{fwd: op, opBase: newBase()}
	x, dy := benchValue(1, xs...), benchValue(2, benchBatch, 32, 14, 14)
	for _, th := range []int{1, 2} {
		withThreads(b, th, func(b *testing.B) {
			do := func() {
				y, err := op.Do(x)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := grad.Do(y, dy); err != nil {
					b.Fatal(err)
				}
			}
			do()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				do()
			}
			reportRate(b, benchBatch, 0, cpu0)
		})
	}
}

// BenchmarkMaxPoolForward: the forward alone on VGG-like's first pooling
// (width 0.25: 16 planes of 32×32 an image), with the AVX2 2×2 kernel and
// with the Go path, one thread (CPU time).
func BenchmarkMaxPoolForward(b *testing.B) {
	xs := tensor.Shape{benchBatch, 16, 32, 32}
	op := &maxPoolOp{geom: newGeom(1, 32, 32, 2, 2, 0), planes: benchBatch * 16, xShape: xs, yShape: tensor.Shape{benchBatch, 16, 16, 16}, opBase: newBase()}
	x := benchValue(1, xs...)
	for _, simd := range []bool{false, true} {
		name := "go"
		if simd {
			name = "avx2"
		}
		b.Run(name, func(b *testing.B) {
			if simd && !useSIMD {
				b.Skip("no AVX2")
			}
			defer func(v bool) { useSIMD = v }(useSIMD)
			useSIMD = simd
			withThreads(b, 1, func(b *testing.B) {
				if _, err := op.Do(x); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					op.Do(x)
				}
				reportRate(b, benchBatch, 0, cpu0)
			})
		})
	}
}

func BenchmarkPReLU(b *testing.B) {
	xs := tensor.Shape{benchBatch, 32, 28, 28}
	ps := newPReLUShape(xs, tensor.Shape{32})
	fwd := &preluOp{preluShape: ps, opBase: newBase()}
	dx := &preluGradXOp{preluShape: ps, opBase: newBase()}
	da := &preluGradAOp{preluShape: ps, opBase: newBase()}
	x, a, dy := benchValue(1, xs...), benchValue(2, 32), benchValue(3, xs...)
	for _, th := range []int{1, 2} {
		withThreads(b, th, func(b *testing.B) {
			do := func() {
				if _, err := fwd.Do(x, a); err != nil {
					b.Fatal(err)
				}
				if _, err := dx.Do(x, a, dy); err != nil {
					b.Fatal(err)
				}
				if _, err := da.Do(x, dy); err != nil {
					b.Fatal(err)
				}
			}
			do()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				do()
			}
			reportRate(b, benchBatch, 0, cpu0)
		})
	}
}

// lenetpp is LeNet++ (as in the model package) on (B, 1, 28, 28) inputs,
// FC 1152 → 2 via G.Mul, with cost Σ feature ⊙ R.
type lenetpp struct {
	g      *G.ExprGraph
	params G.Nodes
	vm     G.VM
}

// lenetppFlops is the forward work of LeNet++ per image (convolutions only).
func lenetppFlops() float64 {
	var f float64
	for _, l := range lenetppConvs {
		f += 2 * float64(l.cout*l.cin*25*l.hw*l.hw)
	}
	return f
}

func newLeNetPP(b *testing.B, batch int, ours bool) *lenetpp {
	b.Helper()
	n := &lenetpp{g: G.NewGraph()}
	rng := newRand(9)
	param := func(name string, lim float64, s ...int) *G.Node {
		v := uniform(rng, tensor.Shape(s).TotalSize())
		for i := range v {
			v[i] *= float32(lim)
		}
		p := G.NewTensor(n.g, G.Float32, len(s), G.WithShape(s...), G.WithName(name), G.WithValue(dense(s, v)))
		n.params = append(n.params, p)
		return p
	}
	x := G.NewTensor(n.g, G.Float32, 4, G.WithShape(batch, 1, 28, 28), G.WithName("x"),
		G.WithValue(benchValue(10, batch, 1, 28, 28)))
	check := func(y *G.Node, err error) *G.Node {
		if err != nil {
			b.Fatal(err)
		}
		return y
	}
	y := x
	for i, l := range lenetppConvs {
		lim := 1 / math.Sqrt(float64(l.cin*25))
		w := param(fmt.Sprintf("w%d", i), lim, l.cout, l.cin, 5, 5)
		bias := param(fmt.Sprintf("b%d", i), lim, 1, l.cout, 1, 1)
		a := param(fmt.Sprintf("a%d", i), 0.25, 1, l.cout, 1, 1)
		s := &stack{x: y, w1: w, b1: bias, a: a}
		if ours {
			y = check(Conv2d(y, w, bias, 1, 2)) // (B, Cout, H, W)
			y = check(PReLU(y, a))
			if i%2 == 1 {
				y = check(MaxPool2d(y, 2, 2)) // (B, Cout, H/2, W/2)
			}
		} else {
			y = check(s.stockConvPReLU())
			if i%2 == 1 {
				y = check(G.MaxPool2D(y, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
			}
		}
	}
	y = check(G.Reshape(y, tensor.Shape{batch, 1152}))                          // (B, 1152)
	y = check(G.Mul(y, param("fc", 1/math.Sqrt(1152), 1152, 2)))                // (B, 2)
	r := G.NewTensor(n.g, G.Float32, 2, G.WithShape(batch, 2), G.WithName("R"), // (B, 2)
		G.WithValue(benchValue(11, batch, 2)))
	cost := check(G.Sum(check(G.HadamardProd(y, r))))
	if _, err := G.Grad(cost, n.params...); err != nil {
		b.Fatal(err)
	}
	n.vm = G.NewTapeMachine(n.g, G.BindDualValues(n.params...))
	b.Cleanup(func() { n.vm.Close() })
	return n
}

// stockConvPReLU is conv 5×5 pad 2 + bias + PReLU from stock ops, on s.x
// with s.w1, s.b1 and s.a.
func (s *stack) stockConvPReLU() (*G.Node, error) {
	y, err := G.Conv2d(s.x, s.w1, tensor.Shape{5, 5}, []int{2, 2}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if y, err = G.BroadcastAdd(y, s.b1, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	pos, err := G.Rectify(y)
	if err != nil {
		return nil, err
	}
	neg, err := G.Sub(y, pos)
	if err != nil {
		return nil, err
	}
	if neg, err = G.BroadcastHadamardProd(neg, s.a, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	return G.Add(pos, neg)
}

// step runs one forward+backward pass and clears the gradients, as a
// training step with an optimiser would.
func (n *lenetpp) step(b *testing.B) {
	if err := n.vm.RunAll(); err != nil {
		b.Fatal(err)
	}
	n.vm.Reset()
	clearGrads(b, n.params)
}

// BenchmarkLeNetPPStep is one LeNet++ training step (forward and backward,
// clearing the gradients, no optimiser update) in a TapeMachine: ours at batch
// 128 with 1 and 2 threads, stock at batch 16 (SetThreads does not apply).
func BenchmarkLeNetPPStep(b *testing.B) {
	run := func(b *testing.B, batch int, ours bool) {
		n := newLeNetPP(b, batch, ours)
		n.step(b) // warm-up: buffers
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cpuTime()
		for b.Loop() {
			n.step(b)
		}
		reportRate(b, batch, 3*lenetppFlops()*float64(batch), cpu0)
	}
	b.Run(fmt.Sprintf("ours/batch=%d", benchBatch), func(b *testing.B) {
		for _, th := range []int{1, 2} {
			withThreads(b, th, func(b *testing.B) {
				// path=old: with the Winograd convolutions off (LGM_WINO=0).
				for _, path := range []string{"old", "new"} {
					b.Run("path="+path, func(b *testing.B) {
						oldWino := winoOn
						winoOn = oldWino && path == "new"
						defer func() { winoOn = oldWino }()
						run(b, benchBatch, true)
					})
				}
			})
		}
	})
	b.Run("stock/batch=16", func(b *testing.B) { run(b, 16, false) })
}

// BenchmarkConvPart times each of LeNet++'s convolutions' three products
// alone (fwd, dx, dw) on one thread, for A/B comparisons of one kernel, each
// by the path in use (path=new) and with the Winograd path off (path=old,
// as LGM_WINO=0), one after the other:
//
//	go test ./nnops/ -run '^$' -bench 'ConvPart/conv1_2/dw' -benchtime 3x
func BenchmarkConvPart(b *testing.B) {
	for _, l := range benchConvs[:len(lenetppConvs)] {
		cs := newConvShape(tensor.Shape{benchBatch, l.cin, l.hw, l.hw}, tensor.Shape{l.cout, l.cin, l.k, l.k}, tensor.Shape{l.cout}, 1, l.pad)
		x := benchValue(1, benchBatch, l.cin, l.hw, l.hw)
		w := benchValue(2, l.cout, l.cin, l.k, l.k)
		bias := benchValue(3, l.cout)
		dy := benchValue(4, benchBatch, l.cout, l.hw, l.hw)
		for _, part := range []string{"fwd", "dx", "dw"} {
			if l.first && part == "dx" {
				continue
			}
			for _, path := range []string{"old", "new"} {
				// Fresh ops per path: each picks its algorithm on its first run.
				fwd := &conv2dOp{convShape: cs, opBase: newBase()}
				dx := &convGradXOp{convShape: cs, opBase: newBase()}
				dw := &convGradWOp{convShape: cs, opBase: newBase()}
				do := map[string]func() (G.Value, error){
					"fwd": func() (G.Value, error) { return fwd.Do(x, w, bias) },
					"dx":  func() (G.Value, error) { return dx.Do(w, dy) },
					"dw":  func() (G.Value, error) { return dw.Do(x, dy) },
				}[part]
				b.Run(l.name[:7]+"/"+part+"/path="+path, func(b *testing.B) {
					old, oldWino := Threads(), winoOn
					SetThreads(1)
					winoOn = oldWino && path == "new"
					defer func() { SetThreads(old); winoOn = oldWino }()
					if _, err := do(); err != nil { // warm-up: buffers, the path chosen
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cpuTime()
					for b.Loop() {
						if _, err := do(); err != nil {
							b.Fatal(err)
						}
					}
					reportRate(b, benchBatch, cs.flops(), cpu0)
				})
			}
		}
	}
}
