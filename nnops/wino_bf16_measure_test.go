package nnops

import (
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/lgm-dev/lgm/internal/gemm"
)

// TestBF16WinogradError measures how far bfloat16 operands take a Winograd
// convolution from the exact one, against the direct sum of bfloat16
// operands (issue 14's bf16 mode runs the convolutions as im2col products,
// off Winograd, because of these figures). It always checks the simulation
// itself: with no rounding it must give the direct convolution to 1e-12.
// The figures are printed with
//
//	LGM_MEASURE=1 go test ./nnops -run TestBF16WinogradError -v
//
// Each case is one output channel over every tile of a Cin × H × W input
// (ReLU-like inputs in [0, 1), weights of He-like scale), the transformed
// operands U and V rounded (to bfloat16) and everything else in float64.

// bf rounds v to bfloat16 (through float32, nearest even).
func bf(v float64) float64 {
	return float64(math.Float32frombits(uint32(gemm.RoundBF16(float32(v))) << 16))
}

// winoSim returns max|y − ref| / max|ref| over one output channel's
// convolution (cin channels, h×wd, pad p) by the Winograd matrices at, g, bt
// with U and V rounded by rnd (eW), and the same for the direct sum of
// rounded x and w (eD).
func winoSim(at, g, bt [][]float64, cin, h, wd, p int, seed uint64, rnd func(float64) float64) (eW, eD float64) {
	n, r := len(bt), len(g[0])
	m := n - r + 1
	rng := newRand(seed)
	x := make([][]float64, cin)
	k := make([][]float64, cin)
	for c := range x {
		x[c] = make([]float64, h*wd)
		for i := range x[c] {
			x[c][i] = math.Max(0, rng.Float64()*2-1) // ReLU-like inputs
		}
		k[c] = make([]float64, r*r)
		for i := range k[c] {
			k[c][i] = (rng.Float64()*2 - 1) / math.Sqrt(float64(cin*r*r))
		}
	}
	oh, ow := h+2*p-r+1, wd+2*p-r+1
	at1 := func(c, i, j int) float64 {
		if i < 0 || j < 0 || i >= h || j >= wd {
			return 0
		}
		return x[c][i*wd+j]
	}
	var maxRef, maxEW, maxED float64
	for ti := 0; ti < oh; ti += m {
		for tj := 0; tj < ow; tj += m {
			M := make([]float64, n*n)
			for c := 0; c < cin; c++ {
				// V = Bᵀ d B, U = G g Gᵀ
				var V, U [8][8]float64
				for a := 0; a < n; a++ {
					for b := 0; b < n; b++ {
						var s float64
						for u := 0; u < n; u++ {
							for v := 0; v < n; v++ {
								s += bt[a][u] * at1(c, ti-p+u, tj-p+v) * bt[b][v]
							}
						}
						V[a][b] = rnd(s)
						var q float64
						for u := 0; u < r; u++ {
							for v := 0; v < r; v++ {
								q += g[a][u] * k[c][u*r+v] * g[b][v]
							}
						}
						U[a][b] = rnd(q)
					}
				}
				for a := 0; a < n; a++ {
					for b := 0; b < n; b++ {
						M[a*n+b] += U[a][b] * V[a][b]
					}
				}
			}
			for i := 0; i < m && ti+i < oh; i++ {
				for j := 0; j < m && tj+j < ow; j++ {
					var y float64
					for a := 0; a < n; a++ {
						for b := 0; b < n; b++ {
							y += at[i][a] * M[a*n+b] * at[j][b]
						}
					}
					var ref, dir float64
					for c := 0; c < cin; c++ {
						for u := 0; u < r; u++ {
							for v := 0; v < r; v++ {
								xv := at1(c, ti+i-p+u, tj+j-p+v)
								ref += xv * k[c][u*r+v]
								dir += rnd(xv) * rnd(k[c][u*r+v])
							}
						}
					}
					maxRef = math.Max(maxRef, math.Abs(ref))
					maxEW = math.Max(maxEW, math.Abs(y-ref))
					maxED = math.Max(maxED, math.Abs(dir-ref))
				}
			}
		}
	}
	return maxEW / maxRef, maxED / maxRef
}

// rows is a table of wino_tables.go (an array of arrays of float64) as a
// slice of rows.
func rows(a any) [][]float64 {
	v := reflect.ValueOf(a)
	out := make([][]float64, v.Len())
	for i := range out {
		r := v.Index(i)
		out[i] = make([]float64, r.Len())
		for k := range out[i] {
			out[i][k] = r.Index(k).Float()
		}
	}
	return out
}

func TestBF16WinogradError(t *testing.T) {
	exact := func(v float64) float64 { return v }
	for _, c := range []struct {
		at, g, bt any
		p         int
	}{{wino4AT, wino4G, wino4BT, 2}, {winoAT, winoG, winoBT, 2}, {wino43AT, wino43G, wino43BT, 1}} {
		if eW, eD := winoSim(rows(c.at), rows(c.g), rows(c.bt), 5, 9, 7, c.p, 2, exact); eW > 1e-12 || eD != 0 {
			t.Errorf("%T: unrounded simulation off by %.2e (direct %.2e)", c.at, eW, eD)
		}
	}
	if os.Getenv("LGM_MEASURE") != "1" {
		return
	}
	for _, c := range []struct{ cin, h int }{{32, 14}, {64, 7}, {32, 28}} {
		e4, d := winoSim(rows(wino4AT), rows(wino4G), rows(wino4BT), c.cin, c.h, c.h, 2, 1, bf)
		e2, _ := winoSim(rows(winoAT), rows(winoG), rows(winoBT), c.cin, c.h, c.h, 2, 1, bf)
		t.Logf("5×5 cin %d %d×%d: bf16 direct %.2e, bf16 F(4×4,5×5) %.2e, bf16 F(2×2,5×5) %.2e", c.cin, c.h, c.h, d, e4, e2)
	}
	for _, c := range []struct{ cin, h int }{{24, 32}, {48, 16}, {96, 8}} {
		e3, d := winoSim(rows(wino43AT), rows(wino43G), rows(wino43BT), c.cin, c.h, c.h, 1, 1, bf)
		t.Logf("3×3 cin %d %d×%d: bf16 direct %.2e, bf16 F(4×4,3×3) %.2e", c.cin, c.h, c.h, d, e3)
	}
}
