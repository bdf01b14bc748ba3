//go:build ignore

// gen_wino derives the Winograd transforms F(2×2, 5×5), F(4×4, 5×5) and F(4×4, 3×3) and writes them as Go
// tables (wino_tables.go) and as AVX-512 kernels (wino_amd64.s):
//
//	go run gen_wino.go
//
// The matrices follow Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks" (CVPR 2016), §4, built by the Toom-Cook method on the
// interpolation points 0, 1, −1, 2, −1/2 and ∞ (n = m + r − 1 = 6 points for
// m = 2 outputs and r = 5 taps). For the 1-D correlation
// y_i = Σ_k d[i+k]·g[k] (i < m, d of length n):
//
//	y = Aᵀ [(G g) ⊙ (Bᵀ d)]
//
// with, for the finite points p_j (j < n−1) and f_j = Π_{l≠j} (p_j − p_l),
//
//	Aᵀ[i][j] = p_jⁱ,            Aᵀ[i][n−1] = [i = m−1]   (m × n)
//	G[j][k]  = p_jᵏ / f_j,      G[n−1][k]  = [k = r−1]   (n × r)
//
// and Bᵀ (n × n) the solution of Σ_j Aᵀ[i][j]·G[j][k]·Bᵀ[j][l] = [l = i+k]
// for all i, k, l, found here exactly in rationals: the terms depend on s =
// i+k only, so for s ≤ n−2 Bᵀ[j][l]/f_j is the inverse of the Vandermonde
// matrix V[s][j] = p_jˢ, and the ∞ row cancels the p_j^{n−1} terms of s = n−1.
// The points: −1/2 in place of the usual −2 (the points of F(4×4, 3×3))
// halves the float32 error, measured against a float64 direct convolution
// (TestWinoConv, TestWinoGradW: forward ≤ 1.7e-6 and dw ≤ 3.4e-6 of the
// largest output instead of 3.3e-6 and 1.0e-5; 0, ±1, ±1/2 was worse, 0, ±1,
// 1/2, −2 in between); Barabasz et al., "Error analysis and improving the
// accuracy of Winograd convolution for deep neural networks" (ACM TOMS 2020)
// discusses such choices.
// The 2-D convolution of a 6×6 tile d with a 5×5 kernel g is then
//
//	Y (2×2) = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
//
// Each kernel applies one 2-D transform out = L·X·Rᵀ to 16 independent
// problems at once (one per zmm lane), a column pass into a stack buffer and
// a row pass, with every product by a constant other than ±1 an FMA against
// a broadcast constant held in a register.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"math"
	"math/big"
	"os"
	"strings"
)

// points2 are the finite points of F(2×2, 5×5), points4 those of
// F(4×4, 5×5) (the 8 points of the usual F(6×6, 3×3): 0, ±1, ±2, ±1/2, ∞).
var (
	points2 = []*big.Rat{big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(2, 1), big.NewRat(-1, 2)}
	points4 = []*big.Rat{big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(2, 1), big.NewRat(-2, 1), big.NewRat(1, 2), big.NewRat(-1, 2)}
	// points43 are those of F(4×4, 3×3), the 3×3 layers of VGG and
	// ResNet-20: 1/2 in place of the usual 2 cut the float32 error about 3×
	// (TestWinoConv's 3×3 cases up to 64 channels: forward ≤ 2.1e-6 of the
	// largest output instead of 7.0e-6 with 0, ±1, ±2; TestWinoGradW ≤ 1.5e-6
	// instead of 3.7e-6; 0, ±1, ±1/2 was in between). With 96 and 384
	// channels the forward reaches 2.8e-6 and 4.3e-6, dw 1.1e-6.
	points43 = []*big.Rat{big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(1, 2), big.NewRat(-2, 1)}
)

type mat [][]*big.Rat

func newMat(rows, cols int) mat {
	a := make(mat, rows)
	for i := range a {
		a[i] = make([]*big.Rat, cols)
		for j := range a[i] {
			a[i][j] = new(big.Rat)
		}
	}
	return a
}

func pow(p *big.Rat, e int) *big.Rat {
	v := big.NewRat(1, 1)
	for ; e > 0; e-- {
		v.Mul(v, p)
	}
	return v
}

func transpose(a mat) mat {
	t := newMat(len(a[0]), len(a))
	for i := range a {
		for j := range a[i] {
			t[j][i].Set(a[i][j])
		}
	}
	return t
}

// inverse inverts a square rational matrix by Gauss-Jordan elimination.
func inverse(a mat) mat {
	k := len(a)
	w := newMat(k, 2*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			w[i][j].Set(a[i][j])
		}
		w[i][k+i].SetInt64(1)
	}
	for c := 0; c < k; c++ {
		piv := c
		for piv < k && w[piv][c].Sign() == 0 {
			piv++
		}
		if piv == k {
			panic("singular")
		}
		w[c], w[piv] = w[piv], w[c]
		inv := new(big.Rat).Inv(w[c][c])
		for j := range w[c] {
			w[c][j].Mul(w[c][j], inv)
		}
		for i := 0; i < k; i++ {
			if i == c || w[i][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(w[i][c])
			for j := range w[i] {
				w[i][j].Sub(w[i][j], new(big.Rat).Mul(f, w[c][j]))
			}
		}
	}
	out := newMat(k, k)
	for i := range out {
		for j := range out[i] {
			out[i][j].Set(w[i][k+j])
		}
	}
	return out
}

// derive returns Aᵀ (m×n), G (n×r) and Bᵀ (n×n) for the finite points and
// r taps (n = len(points) + 1 inputs and m = n − r + 1 outputs per tile),
// and checks the identity.
func derive(points []*big.Rat, r int) (at, g, bt mat) {
	n := len(points) + 1
	m := n - r + 1
	at, g, bt = newMat(m, n), newMat(n, r), newMat(n, n)
	f := make([]*big.Rat, n-1)
	for j, pj := range points {
		f[j] = big.NewRat(1, 1)
		for l, pl := range points {
			if l != j {
				f[j].Mul(f[j], new(big.Rat).Sub(pj, pl))
			}
		}
		for i := 0; i < m; i++ {
			at[i][j] = pow(pj, i)
		}
		for k := 0; k < r; k++ {
			g[j][k] = new(big.Rat).Quo(pow(pj, k), f[j])
		}
	}
	at[m-1][n-1].SetInt64(1)
	g[n-1][r-1].SetInt64(1)
	v := newMat(n-1, n-1)
	for s := 0; s < n-1; s++ {
		for j, pj := range points {
			v[s][j] = pow(pj, s)
		}
	}
	x := inverse(v) // x[j][s]: Σ_j V[s][j]·x[j][l] = [s = l]
	for j := 0; j < n-1; j++ {
		for l := 0; l < n-1; l++ {
			bt[j][l].Mul(f[j], x[j][l])
		}
	}
	for l := 0; l < n-1; l++ {
		for j, pj := range points {
			bt[n-1][l].Sub(bt[n-1][l], new(big.Rat).Mul(pow(pj, n-1), x[j][l]))
		}
	}
	bt[n-1][n-1].SetInt64(1)
	// Check Σ_j Aᵀ[i][j]·G[j][k]·Bᵀ[j][l] = [l = i+k] exactly.
	for i := 0; i < m; i++ {
		for k := 0; k < r; k++ {
			for l := 0; l < n; l++ {
				s := new(big.Rat)
				for j := 0; j < n; j++ {
					s.Add(s, new(big.Rat).Mul(new(big.Rat).Mul(at[i][j], g[j][k]), bt[j][l]))
				}
				want := int64(0)
				if l == i+k {
					want = 1
				}
				if s.Cmp(big.NewRat(want, 1)) != 0 {
					panic(fmt.Sprintf("identity fails at i=%d k=%d l=%d: %v", i, k, l, s))
				}
			}
		}
	}
	return at, g, bt
}

func f32(a mat) [][]float32 {
	out := make([][]float32, len(a))
	for i := range a {
		out[i] = make([]float32, len(a[i]))
		for j := range a[i] {
			v, _ := a[i][j].Float64()
			out[i][j] = float32(v)
		}
	}
	return out
}

var w bytes.Buffer

// data collects the kernels' constant tables.
var data bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

func goTable(name, doc string, a mat) {
	p("// %s", doc)
	p("var %s = [%d][%d]float64{", name, len(a), len(a[0]))
	for _, row := range a {
		var s []string
		for _, v := range row {
			if v.IsInt() {
				s = append(s, v.Num().String())
			} else {
				s = append(s, v.Num().String()+".0/"+v.Denom().String())
			}
		}
		p("\t{%s},", strings.Join(s, ", "))
	}
	p("}")
	p("")
}

// consts collects the distinct constants of a kernel (values other than 0
// and ±1). For AVX-512 each gets 4 bytes in the kernel's table <name>C<> and
// a register Z16+index (broadcast at entry); AVX2 has 16 registers, all taken
// by the data, so there each gets 32 bytes of the table (8 copies) and is an
// instruction's memory operand.
type consts struct {
	vals []float32
	name string // the kernel's: its table is <name>C<>
}

// avx2 says which instruction set the transform kernels are written for:
// AVX-512 (zmm, 16 lanes) or AVX2 (ymm, 8 lanes: the lower or upper half of
// the 16 lanes in memory, at the same addresses and strides; the Go side
// calls an AVX2 kernel twice, 32 bytes apart).
var avx2 bool

// vr is vector register i of the instruction set.
func vr(i int) string {
	if avx2 {
		return fmt.Sprintf("Y%d", i)
	}
	return fmt.Sprintf("Z%d", i)
}

// op is constant v's operand: its register (AVX-512) or its table entry.
func (c *consts) op(v float32) string {
	i := c.index(v)
	if avx2 {
		return fmt.Sprintf("%sC<>+%d(SB)", c.name, 32*i)
	}
	return fmt.Sprintf("Z%d", 16+i)
}

func (c *consts) index(v float32) int {
	for i, u := range c.vals {
		if u == v {
			return i
		}
	}
	c.vals = append(c.vals, v)
	return len(c.vals) - 1
}

// stride is an address step: an immediate (reg == "") or a register.
type stride struct {
	reg string
	imm int
}

// combine emits dst = Σ_k coef[k]·src[k] (zmm registers); coef has at least
// one non-zero.
func combine(cs *consts, dst string, coef []float32, src []string) {
	first := true
	for k, c := range coef {
		if c == 0 {
			continue
		}
		switch {
		case first && c == 1:
			p("\tVMOVAPS %s, %s", src[k], dst)
		case first && c == -1:
			p("\tVXORPS %s, %s, %s", dst, dst, dst)
			p("\tVSUBPS %s, %s, %s", src[k], dst, dst)
		case first:
			p("\tVMULPS %s, %s, %s", cs.op(c), src[k], dst)
		case c == 1:
			p("\tVADDPS %s, %s, %s", src[k], dst, dst)
		case c == -1:
			p("\tVSUBPS %s, %s, %s", src[k], dst, dst)
		case c < 0:
			p("\tVFNMADD231PS %s, %s, %s", cs.op(-c), src[k], dst)
		default:
			p("\tVFMADD231PS %s, %s, %s", cs.op(c), src[k], dst)
		}
		first = false
	}
	if first {
		p("\tVXORPS %s, %s, %s", dst, dst, dst)
	}
}

// step is one operation of a hand-factored 1-D transform on inputs x0…
// and outputs y0…: add (dst = a + b), sub (dst = a − b), fma (dst = a +
// c·b), fnma (dst = a − c·b), mul (dst = c·b), c > 0.
type step struct {
	op, dst, a, b string
	c             float64
}

// btProg is y = Bᵀx for the points 0, 1, −1, 2, −1/2 with shared terms
// (15 operations instead of the 26 of Bᵀ's non-zeros); checkProg verifies
// it against Bᵀ.
var btProg = []step{
	{"sub", "a", "x4", "x2", 0},
	{"sub", "b", "x1", "x3", 0},
	{"fnma", "y3", "a", "b", 0.5},
	{"fma", "y4", "a", "b", 2},
	{"fma", "c", "x1", "x2", 1.5},
	{"fma", "c", "c", "x3", 0.5},
	{"sub", "y1", "a", "c", 0},
	{"add", "y2", "a", "c", 0},
	{"fnma", "y2", "y2", "x3", 3},
	{"add", "y0", "x0", "a", 0},
	{"fma", "y0", "y0", "b", 1.5},
	{"sub", "y0", "y0", "x2", 0},
	{"add", "y5", "x5", "b", 0},
	{"sub", "y5", "y5", "x3", 0},
	{"fnma", "y5", "y5", "a", 1.5},
}

// bt4Prog is y = Bᵀx for the points 0, ±1, ±2, ±1/2 (the even/odd split of
// the usual F(6×6, 3×3) input transform: 26 operations instead of the 44 of
// Bᵀ's non-zeros); checkProg verifies it against Bᵀ.
var bt4Prog = []step{
	{"sub", "t0", "x6", "x0", 0},
	{"sub", "u", "x2", "x4", 0},
	{"fma", "y0", "t0", "u", 21.0 / 4},
	{"sub", "t7", "x7", "x1", 0},
	{"sub", "v", "x3", "x5", 0},
	{"fma", "y7", "t7", "v", 21.0 / 4},
	{"add", "a", "x2", "x6", 0},
	{"fnma", "a", "a", "x4", 17.0 / 4},
	{"add", "b", "x1", "x5", 0},
	{"fnma", "b", "b", "x3", 17.0 / 4},
	{"add", "y1", "a", "b", 0},
	{"sub", "y2", "a", "b", 0},
	{"fma", "c", "x6", "x2", 1.0 / 4},
	{"fnma", "c", "c", "x4", 5.0 / 4},
	{"mul", "d", "", "x1", 1.0 / 2},
	{"fnma", "d", "d", "x3", 5.0 / 2},
	{"fma", "d", "d", "x5", 2},
	{"add", "y3", "c", "d", 0},
	{"sub", "y4", "c", "d", 0},
	{"fma", "e", "x6", "x2", 4},
	{"fnma", "e", "e", "x4", 5},
	{"mul", "f", "", "x1", 2},
	{"fnma", "f", "f", "x3", 5.0 / 2},
	{"fma", "f", "f", "x5", 1.0 / 2},
	{"add", "y5", "e", "f", 0},
	{"sub", "y6", "e", "f", 0},
}

// checkProg panics unless prog computes y = m·x exactly.
func checkProg(prog []step, m mat) {
	for k := range m[0] {
		v := map[string]float64{}
		for i := range m[0] {
			v[fmt.Sprintf("x%d", i)] = 0
		}
		v[fmt.Sprintf("x%d", k)] = 1
		for _, s := range prog {
			switch s.op {
			case "add":
				v[s.dst] = v[s.a] + v[s.b]
			case "sub":
				v[s.dst] = v[s.a] - v[s.b]
			case "fma":
				v[s.dst] = v[s.a] + s.c*v[s.b]
			case "fnma":
				v[s.dst] = v[s.a] - s.c*v[s.b]
			case "mul":
				v[s.dst] = s.c * v[s.b]
			}
		}
		for i := range m {
			want, _ := m[i][k].Float64()
			if got := v[fmt.Sprintf("y%d", i)]; got != want {
				panic(fmt.Sprintf("program: y%d/x%d = %v, want %v", i, k, got, want))
			}
		}
	}
}

// emitProg emits prog on the q inputs in Z0… and returns the registers of
// its n outputs. Registers Z0…Z14 are allocated by liveness: a name's
// register is free after its last use (an input's too), and a step whose
// first operand dies there writes into that operand's register (no move).
func emitProg(cs *consts, prog []step, q, n int) []string {
	reg := map[string]int{}
	used := make([]bool, 15)
	for i := 0; i < q; i++ {
		reg[fmt.Sprintf("x%d", i)] = i
		used[i] = true
	}
	last := map[string]int{} // last step reading the name
	for k, s := range prog {
		for _, a := range []string{s.a, s.b} {
			if a != "" {
				last[a] = k
			}
		}
	}
	isOut := func(name string) bool { return name[0] == 'y' }
	dies := func(name string, k int) bool { return !isOut(name) && last[name] <= k }
	alloc := func() int {
		for r, u := range used {
			if !u {
				used[r] = true
				return r
			}
		}
		panic("emitProg: out of registers")
	}
	z := vr
	for k, s := range prog {
		var a, b int
		if s.op != "mul" {
			a = reg[s.a]
		}
		b = reg[s.b]
		d, ok := reg[s.dst]
		if !ok {
			switch {
			case s.op != "mul" && dies(s.a, k):
				d = a // the first operand's register: it dies here
				delete(reg, s.a)
			default:
				d = alloc()
			}
			reg[s.dst] = d
		}
		switch s.op {
		case "add":
			p("\tVADDPS %s, %s, %s", z(b), z(a), z(d))
		case "sub":
			p("\tVSUBPS %s, %s, %s", z(b), z(a), z(d))
		case "mul":
			p("\tVMULPS %s, %s, %s", cs.op(float32(s.c)), z(b), z(d))
		case "fma", "fnma":
			if d != a {
				p("\tVMOVAPS %s, %s", z(a), z(d))
			}
			ins := map[string]string{"fma": "VFMADD231PS", "fnma": "VFNMADD231PS"}[s.op]
			p("\t%s %s, %s, %s", ins, cs.op(float32(s.c)), z(b), z(d))
		}
		// Free the registers of names read for the last time here.
		for _, name := range []string{s.a, s.b} {
			if r, ok := reg[name]; ok && name != "" && dies(name, k) && name != s.dst {
				used[r] = false
				delete(reg, name)
			}
		}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = z(reg[fmt.Sprintf("y%d", i)])
	}
	return out
}

// kernel emits
//
//	func name(src, dst *float32, cnt int, s1, s2 uintptr[, bias float32])
//
// that for each of cnt problems computes out = L·X·Rᵀ on 16 lanes (plus
// bias), X[k][l] (16 floats) at src + k·inRow + l·inCol, out[i][j] stored at
// dst + i·outRow + j·outCol, then advances src by srcStep and dst by
// dstStep bytes. The strides name the registers R8 (= s1), R9 (= s2) and
// R10, R11 (multiples of them set up by setup).
// kernel emits one transform kernel (kernelPass) with its own table of
// constants (AVX-512: broadcast into Z16… at entry): a first pass collects them.
func kernel(name, doc string, l, rm [][]float32, prog []step, inRow, inCol, outRow, outCol stride, srcStep, dstStep int, setup []string, bias bool) {
	cs := &consts{name: name}
	mark := w.Len()
	kernelPass(cs, 0, name, doc, l, rm, prog, inRow, inCol, outRow, outCol, srcStep, dstStep, setup, bias)
	w.Truncate(mark)
	// AVX-512 holds the constants in Z16…Z31; AVX2 reads them from the table,
	// one 32-byte vector (8 copies) each.
	nconst, copies := len(cs.vals), 1
	if avx2 {
		nconst, copies = 0, 8
	} else if nconst > 16 {
		panic(fmt.Sprintf("%s: %d constants, more than Z16…Z31", name, nconst))
	}
	kernelPass(cs, nconst, name, doc, l, rm, prog, inRow, inCol, outRow, outCol, srcStep, dstStep, setup, bias)
	for i, v := range cs.vals {
		for k := range copies {
			fmt.Fprintf(&data, "DATA %sC<>+%d(SB)/4, $0x%08x // %g\n", name, 4*(copies*i+k), math.Float32bits(v), v)
		}
	}
	fmt.Fprintf(&data, "GLOBL %sC<>(SB), RODATA|NOPTR, $%d\n", name, 4*copies*max(1, len(cs.vals)))
}

func kernelPass(cs *consts, nconst int, name, doc string, l, rm [][]float32, prog []step, inRow, inCol, outRow, outCol stride, srcStep, dstStep int, setup []string, bias bool) {
	pr, q := len(l), len(l[0])
	pc, qc := len(rm), len(rm[0])
	tmp := pr * qc * 64
	args := 40
	sig := "src, dst *float32, cnt int, s1, s2 uintptr"
	if bias {
		args = 44
		sig += ", bias float32"
	}
	p("")
	p("// func %s(%s)", name, sig)
	p("//")
	p("// %s", doc)
	// Not NOSPLIT: the frame is larger than a nosplit function may use.
	p("TEXT ·%s(SB), 0, $%d-%d", name, tmp, args)
	p("\tMOVQ src+0(FP), SI")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ cnt+16(FP), CX")
	p("\tMOVQ s1+24(FP), R8")
	p("\tMOVQ s2+32(FP), R9")
	for _, s := range setup {
		p("\t%s", s)
	}
	for i := 0; i < nconst; i++ {
		p("\tVBROADCASTSS %sC<>+%d(SB), Z%d", name, 4*i, 16+i)
	}
	if bias {
		p("\tVBROADCASTSS bias+40(FP), %s", vr(15))
	}
	p("%s_loop:", name)
	// Column pass: T[i][c] = Σ_k L[i][k]·X[k][c], into the stack buffer.
	// R13 is the column's base, R12 walks down the column.
	p("\tMOVQ SI, R13")
	for c := 0; c < qc; c++ {
		p("\tMOVQ R13, R12")
		var in []string
		for k := 0; k < q; k++ {
			reg := vr(k)
			p("\tVMOVUPS %d(R12), %s", c*inCol.imm+k*inRow.imm, reg)
			if inRow.reg != "" && k < q-1 {
				p("\tADDQ %s, R12", inRow.reg)
			}
			in = append(in, reg)
		}
		if inCol.reg != "" {
			p("\tADDQ %s, R13", inCol.reg)
		}
		if prog != nil {
			for i, reg := range emitProg(cs, prog, q, pr) {
				p("\tVMOVUPS %s, %d(SP)", reg, (i*qc+c)*64)
			}
			continue
		}
		for i := 0; i < pr; i++ {
			reg := vr(8 + i%7)
			combine(cs, reg, l[i], in)
			p("\tVMOVUPS %s, %d(SP)", reg, (i*qc+c)*64)
		}
	}
	// Row pass: out[i][j] = Σ_c T[i][c]·R[j][c]. R13 is the row's base,
	// R12 walks along the row.
	p("\tMOVQ DI, R13")
	for i := 0; i < pr; i++ {
		var in []string
		for c := 0; c < qc; c++ {
			reg := vr(c)
			p("\tVMOVUPS %d(SP), %s", (i*qc+c)*64, reg)
			in = append(in, reg)
		}
		p("\tMOVQ R13, R12")
		var outs []string
		if prog != nil {
			outs = emitProg(cs, prog, qc, pc)
		}
		for j := 0; j < pc; j++ {
			reg := vr(8 + j%7)
			if prog != nil {
				reg = outs[j]
			} else {
				combine(cs, reg, rm[j], in)
			}
			if bias {
				p("\tVADDPS %s, %s, %s", vr(15), reg, reg)
			}
			p("\tVMOVUPS %s, %d(R12)", reg, j*outCol.imm+i*outRow.imm)
			if outCol.reg != "" && j < pc-1 {
				p("\tADDQ %s, R12", outCol.reg)
			}
		}
		if outRow.reg != "" {
			p("\tADDQ %s, R13", outRow.reg)
		}
	}
	p("\tADDQ $%d, SI", srcStep)
	p("\tADDQ $%d, DI", dstStep)
	p("\tDECQ CX")
	p("\tJNZ %s_loop", name)
	p("\tVZEROUPPER")
	p("\tRET")
}

// gatherScatter emits the lane transposes between NCHW planes and the
// kernels' 16-lane layout (lane = image):
//
//	winoGather16(dst, src *float32, cnt int, idx *int32, mask uint64)
//	  dst[t·16 + l] = src[t + idx[l]] for the lanes l set in mask, else 0
//	winoScatter16(dst, src *float32, cnt int, idx *int32, mask uint64)
//	  dst[t + idx[l]] = src[t·16 + l] for the lanes l set in mask
//
// for t < cnt (cnt > 0). With all 16 lanes in mask (every group of a batch
// of 16k images) they move 16 values of t at a time: 16 vector loads (one
// per lane), a 16×16 transpose in registers (transpose16), 16 vector stores,
// the last block of fewer than 16 under a mask. VGATHERDPS and VSCATTERDPS,
// one element a lane, are the path for other masks: on the AMD EPYC (family
// 25) of 2026-12-02 they took 38 % of a VGG training step's CPU time (pprof of
// BenchmarkTrainStepVGG128 with F(4×4, 3×3)).
func gatherScatter() {
	p("")
	p("// func winoGather16(dst, src *float32, cnt int, idx *int32, mask uint64)")
	p("TEXT ·winoGather16(SB), NOSPLIT, $0-40")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ cnt+16(FP), CX")
	p("\tMOVQ idx+24(FP), AX")
	p("\tMOVQ mask+32(FP), BX")
	p("\tCMPQ BX, $0xffff")
	p("\tJEQ winoGather16_block")
	p("\tVMOVDQU32 (AX), Z0")
	p("winoGather16_loop:")
	p("\tKMOVW BX, K1")
	p("\tVXORPS Z1, Z1, Z1")
	p("\tVGATHERDPS (SI)(Z0*4), K1, Z1")
	p("\tVMOVUPS Z1, (DI)")
	p("\tADDQ $4, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ winoGather16_loop")
	p("\tVZEROUPPER")
	p("\tRET")
	// Blocks of 16 t: Zl = src[t0 … t0+15 + idx[l]], transposed so that
	// register j holds dst row t0+j.
	p("winoGather16_block:")
	p("\tCMPQ CX, $16")
	p("\tJLT winoGather16_tail")
	for l := 0; l < 16; l++ {
		p("\tMOVLQSX %d(AX), DX", 4*l)
		p("\tVMOVUPS (SI)(DX*4), Z%d", l)
	}
	out := transpose16()
	for j := 0; j < 16; j++ {
		p("\tVMOVUPS Z%d, %d(DI)", out[j], 64*j)
	}
	p("\tADDQ $64, SI")
	p("\tADDQ $1024, DI")
	p("\tSUBQ $16, CX")
	p("\tJNZ winoGather16_block")
	p("\tVZEROUPPER")
	p("\tRET")
	// The last cnt < 16: masked (zeroing) loads, cnt rows stored.
	p("winoGather16_tail:")
	countMask()
	for l := 0; l < 16; l++ {
		p("\tMOVLQSX %d(AX), DX", 4*l)
		p("\tVMOVUPS.Z (SI)(DX*4), K1, Z%d", l)
	}
	out = transpose16()
	firstRows("winoGather16_done", func(j int) { p("\tVMOVUPS Z%d, %d(DI)", out[j], 64*j) })
	p("winoGather16_done:")
	p("\tVZEROUPPER")
	p("\tRET")

	p("")
	p("// func winoScatter16(dst, src *float32, cnt int, idx *int32, mask uint64)")
	p("TEXT ·winoScatter16(SB), NOSPLIT, $0-40")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ cnt+16(FP), CX")
	p("\tMOVQ idx+24(FP), AX")
	p("\tMOVQ mask+32(FP), BX")
	p("\tCMPQ BX, $0xffff")
	p("\tJEQ winoScatter16_block")
	p("\tVMOVDQU32 (AX), Z0")
	p("winoScatter16_loop:")
	p("\tKMOVW BX, K1")
	p("\tVMOVUPS (SI), Z1")
	p("\tVSCATTERDPS Z1, K1, (DI)(Z0*4)")
	p("\tADDQ $64, SI")
	p("\tADDQ $4, DI")
	p("\tDECQ CX")
	p("\tJNZ winoScatter16_loop")
	p("\tVZEROUPPER")
	p("\tRET")
	// Blocks of 16 t: Zj = src row t0+j, transposed so that register l
	// holds lane l's dst[t0 … t0+15 + idx[l]].
	p("winoScatter16_block:")
	p("\tCMPQ CX, $16")
	p("\tJLT winoScatter16_tail")
	for j := 0; j < 16; j++ {
		p("\tVMOVUPS %d(SI), Z%d", 64*j, j)
	}
	out = transpose16()
	for l := 0; l < 16; l++ {
		p("\tMOVLQSX %d(AX), DX", 4*l)
		p("\tVMOVUPS Z%d, (DI)(DX*4)", out[l])
	}
	p("\tADDQ $1024, SI")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJNZ winoScatter16_block")
	p("\tVZEROUPPER")
	p("\tRET")
	// The last cnt < 16: cnt rows loaded (the other registers' values are
	// never stored), masked stores.
	p("winoScatter16_tail:")
	countMask()
	firstRows("winoScatter16_tr", func(j int) { p("\tVMOVUPS %d(SI), Z%d", 64*j, j) })
	p("winoScatter16_tr:")
	out = transpose16()
	for l := 0; l < 16; l++ {
		p("\tMOVLQSX %d(AX), DX", 4*l)
		p("\tVMOVUPS Z%d, K1, (DI)(DX*4)", out[l])
	}
	p("\tVZEROUPPER")
	p("\tRET")
}

// gatherScatterAVX2 emits the lane transposes for AVX2 CPUs, blocks of 8
// values of t with all 16 lanes (the Go side, winoGatherAVX2 and
// winoScatterAVX2, does the rest of cnt and other masks):
//
//	winoGather16AVX2(dst, src *float32, blocks int, idx *int32)
//	  dst[t·16 + l] = src[t + idx[l]]   for t < 8·blocks, l < 16
//	winoScatter16AVX2(dst, src *float32, blocks int, idx *int32)
//	  dst[t + idx[l]] = src[t·16 + l]
//
// each half of the lanes (8 of them) as an 8×8 transpose in registers
// (transpose8: Y0…Y7 into Y8…Y15).
func gatherScatterAVX2() {
	p("")
	p("// func winoGather16AVX2(dst, src *float32, blocks int, idx *int32)")
	p("TEXT ·winoGather16AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ blocks+16(FP), CX")
	p("\tMOVQ idx+24(FP), AX")
	p("winoGather16AVX2_loop:")
	for h := range 2 {
		for j := range 8 {
			p("\tMOVLQSX %d(AX), DX", 4*(8*h+j))
			p("\tVMOVUPS (SI)(DX*4), Y%d", j)
		}
		transpose8()
		for k := range 8 {
			p("\tVMOVUPS Y%d, %d(DI)", 8+k, 64*k+32*h)
		}
	}
	p("\tADDQ $32, SI")
	p("\tADDQ $512, DI")
	p("\tDECQ CX")
	p("\tJNZ winoGather16AVX2_loop")
	p("\tVZEROUPPER")
	p("\tRET")

	p("")
	p("// func winoScatter16AVX2(dst, src *float32, blocks int, idx *int32)")
	p("TEXT ·winoScatter16AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ blocks+16(FP), CX")
	p("\tMOVQ idx+24(FP), AX")
	p("winoScatter16AVX2_loop:")
	for h := range 2 {
		for k := range 8 {
			p("\tVMOVUPS %d(SI), Y%d", 64*k+32*h, k)
		}
		transpose8()
		for j := range 8 {
			p("\tMOVLQSX %d(AX), DX", 4*(8*h+j))
			p("\tVMOVUPS Y%d, (DI)(DX*4)", 8+j)
		}
	}
	p("\tADDQ $512, SI")
	p("\tADDQ $32, DI")
	p("\tDECQ CX")
	p("\tJNZ winoScatter16AVX2_loop")
	p("\tVZEROUPPER")
	p("\tRET")
}

// transpose8 emits the transpose of the 8×8 floats in Y0…Y7 (row i in Yi)
// into Y8…Y15 (column j in Y8+j): unpacks of pairs of floats, shuffles of
// pairs, then the 128-bit halves exchanged.
func transpose8() {
	for i := range 4 {
		p("\tVUNPCKLPS Y%d, Y%d, Y%d", 2*i+1, 2*i, 8+2*i)
		p("\tVUNPCKHPS Y%d, Y%d, Y%d", 2*i+1, 2*i, 9+2*i)
	}
	for i := range 2 {
		a := 8 + 4*i
		p("\tVSHUFPS $0x44, Y%d, Y%d, Y%d", a+2, a, 4*i)
		p("\tVSHUFPS $0xEE, Y%d, Y%d, Y%d", a+2, a, 4*i+1)
		p("\tVSHUFPS $0x44, Y%d, Y%d, Y%d", a+3, a+1, 4*i+2)
		p("\tVSHUFPS $0xEE, Y%d, Y%d, Y%d", a+3, a+1, 4*i+3)
	}
	for i := range 4 {
		p("\tVPERM2F128 $0x20, Y%d, Y%d, Y%d", 4+i, i, 8+i)
		p("\tVPERM2F128 $0x31, Y%d, Y%d, Y%d", 4+i, i, 12+i)
	}
}

// countMask sets K1 to the CX (< 16) low bits, the rows of a last block.
func countMask() {
	p("\tMOVQ $1, BX")
	p("\tSHLQ CX, BX")
	p("\tDECQ BX")
	p("\tKMOVW BX, K1")
}

// firstRows emits row j's move for j < CX (1 ≤ CX < 16), then falls through
// or jumps to label.
func firstRows(label string, row func(j int)) {
	for j := 0; j < 15; j++ {
		row(j)
		p("\tCMPQ CX, $%d", j+1)
		p("\tJEQ %s", label)
	}
}

// transpose16 emits the transpose of the 16×16 floats in Z0…Z15 (row i in
// Zi) and returns the registers of its rows (column j of the input in
// out[j]), with Z16…Z31 as scratch: unpacks of pairs of floats and of pairs
// of doubles within 128-bit lanes, then two rounds of 128-bit lane shuffles.
func transpose16() (out [16]int) {
	// a[2i], a[2i+1] (Z16+…) = unpacklo/hi_ps(r[2i], r[2i+1]).
	for i := 0; i < 8; i++ {
		p("\tVUNPCKLPS Z%d, Z%d, Z%d", 2*i+1, 2*i, 16+2*i)
		p("\tVUNPCKHPS Z%d, Z%d, Z%d", 2*i+1, 2*i, 16+2*i+1)
	}
	// b[4i+c] (Z0+…): in 128-bit block k, column 4k+c of rows 4i … 4i+3.
	for i := 0; i < 4; i++ {
		a := 16 + 4*i
		p("\tVUNPCKLPD Z%d, Z%d, Z%d", a+2, a, 4*i)
		p("\tVUNPCKHPD Z%d, Z%d, Z%d", a+2, a, 4*i+1)
		p("\tVUNPCKLPD Z%d, Z%d, Z%d", a+3, a+1, 4*i+2)
		p("\tVUNPCKHPD Z%d, Z%d, Z%d", a+3, a+1, 4*i+3)
	}
	// c[c][q] (Z16 + 4c + q): blocks of rows 0–7 (q < 2) or 8–15 from
	// b[c], b[4+c] (or b[8+c], b[12+c]); 0x88 takes blocks 0 and 2 of each,
	// 0xdd blocks 1 and 3.
	for c := 0; c < 4; c++ {
		d := 16 + 4*c
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", 4+c, c, d)
		p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", 4+c, c, d+1)
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", 12+c, 8+c, d+2)
		p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", 12+c, 8+c, d+3)
	}
	// Columns c, 8+c from c[c][0], c[c][2]; 4+c, 12+c from c[c][1], c[c][3].
	for c := 0; c < 4; c++ {
		d := 16 + 4*c
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", d+2, d, c)
		p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", d+2, d, 8+c)
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", d+3, d+1, 4+c)
		p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", d+3, d+1, 12+c)
		out[c], out[8+c], out[4+c], out[12+c] = c, 8+c, 4+c, 12+c
	}
	return out
}

// family emits the five kernels of one variant F(m×m, r×r): prefix names
// them, at, g, bt are its matrices, prog (or nil) the factored Bᵀ.
func family(prefix string, at, g, bt mat, prog []step) {
	m, n, r := len(at), len(at[0]), len(g[0]) // outputs, inputs per tile; kernel size
	btf, gf, atf := f32(bt), f32(g), f32(at)
	a := f32(transpose(at)) // A (n×m)
	gt := f32(transpose(g)) // Gᵀ (r×n)
	reg := func(r string) stride { return stride{reg: r} }
	imm := func(v int) stride { return stride{imm: v} }
	// R10 = n·s2 (pos rows of V), n·s1, or r·s1 / r·s2.
	times := func(src, dst string, k int) []string {
		switch k {
		case 3:
			return []string{fmt.Sprintf("LEAQ (%s)(%s*2), %s", src, src, dst)}
		case 5:
			return []string{fmt.Sprintf("LEAQ (%s)(%s*4), %s", src, src, dst)}
		case 6:
			return []string{fmt.Sprintf("LEAQ (%s)(%s*2), %s", src, src, dst), "SHLQ $1, " + dst}
		case 8:
			return []string{fmt.Sprintf("MOVQ %s, %s", src, dst), "SHLQ $3, " + dst}
		}
		panic("times")
	}
	tile := 64 * m // bytes from one tile to the next along a row of 16-lane values
	isa := "AVX512"
	if avx2 {
		isa = "AVX2"
	}
	kernel(prefix+"Input"+isa, fmt.Sprintf("V = Bᵀ·d·B for cnt tiles: d[k][l] at src + k·s1 + l·64, V[i·%d+j] at dst + (i·%d+j)·s2; src advances %d bytes a tile, dst 64.", n, n, tile),
		btf, btf, prog, reg("R8"), imm(64), reg("R10"), reg("R9"), tile, 64, times("R9", "R10", n), false)
	kernel(prefix+"Output"+isa, fmt.Sprintf("Y = Aᵀ·M·A + bias for cnt tiles: M[k·%d+l] at src + (k·%d+l)·s1, Y[i][j] at dst + i·s2 + j·64; src advances 64 bytes a tile, dst %d.", n, n, tile),
		atf, atf, nil, reg("R10"), reg("R8"), reg("R9"), imm(64), 64, tile, times("R8", "R10", n), true)
	kernel(prefix+"Kernel"+isa, fmt.Sprintf("U = G·g·Gᵀ for cnt groups of 16 kernels: g[k][l] at src + (k·%d+l)·s1, U[i·%d+j] at dst + (i·%d+j)·s2; src and dst advance 64 bytes.", r, n, n),
		gf, gf, nil, reg("R10"), reg("R8"), reg("R11"), reg("R9"), 64, 64, append(times("R8", "R10", r), times("R9", "R11", n)...), false)
	kernel(prefix+"GradOutput"+isa, fmt.Sprintf("dM = A·dY·Aᵀ for cnt tiles: dY[k][l] at src + k·s1 + l·64, dM[i·%d+j] at dst + (i·%d+j)·s2; src advances %d bytes a tile, dst 64.", n, n, tile),
		a, a, nil, reg("R8"), imm(64), reg("R10"), reg("R9"), tile, 64, times("R9", "R10", n), false)
	kernel(prefix+"GradKernel"+isa, fmt.Sprintf("dg = Gᵀ·dU·G for cnt groups of 16: dU[k·%d+l] at src + (k·%d+l)·s1, dg[i][j] at dst + (i·%d+j)·s2; src and dst advance 64 bytes.", n, n, r),
		gt, gt, nil, reg("R10"), reg("R8"), reg("R11"), reg("R9"), 64, 64, append(times("R8", "R10", n), times("R9", "R11", r)...), false)
}

func main() {
	at2, g2, bt2 := derive(points2, 5)
	checkProg(btProg, bt2)
	at4, g4, bt4 := derive(points4, 5)
	checkProg(bt4Prog, bt4)
	at3, g3, bt3 := derive(points43, 3)

	// Go tables: the exact matrices, for the reference transforms and the
	// tests.
	p("// Code generated by gen_wino.go; DO NOT EDIT.")
	p("")
	p("package nnops")
	p("")
	goTable("winoAT", "winoAT is Aᵀ (2×6) of Winograd F(2, 5): the output transform.", at2)
	goTable("winoG", "winoG is G (6×5) of Winograd F(2, 5): the kernel transform.", g2)
	goTable("winoBT", "winoBT is Bᵀ (6×6) of Winograd F(2, 5): the input transform.", bt2)
	goTable("wino4AT", "wino4AT is Aᵀ (4×8) of Winograd F(4, 5).", at4)
	goTable("wino4G", "wino4G is G (8×5) of Winograd F(4, 5).", g4)
	goTable("wino4BT", "wino4BT is Bᵀ (8×8) of Winograd F(4, 5).", bt4)
	goTable("wino43AT", "wino43AT is Aᵀ (4×6) of Winograd F(4, 3).", at3)
	goTable("wino43G", "wino43G is G (6×3) of Winograd F(4, 3).", g3)
	goTable("wino43BT", "wino43BT is Bᵀ (6×6) of Winograd F(4, 3).", bt3)
	src, err := format.Source(w.Bytes())
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile("wino_tables.go", src, 0o644); err != nil {
		panic(err)
	}

	w.Reset()
	p("// Code generated by gen_wino.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64")
	p("")
	p("#include \"textflag.h\"")
	family("wino", at2, g2, bt2, btProg)
	family("wino4", at4, g4, bt4, bt4Prog)
	family("wino43", at3, g3, bt3, nil)
	gatherScatter()
	avx2 = true
	family("wino", at2, g2, bt2, btProg)
	family("wino4", at4, g4, bt4, bt4Prog)
	family("wino43", at3, g3, bt3, nil)
	gatherScatterAVX2()
	p("")
	w.Write(data.Bytes())
	if err := os.WriteFile("wino_amd64.s", w.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
