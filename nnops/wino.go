package nnops

import (
	"os"
	"strconv"
	"unsafe"

	"github.com/lgm-dev/lgm/internal/gemm"
)

// winoConv is a stride-1 convolution with a 5×5 kernel by Winograd's
// minimal filtering F(m×m, 5×5), m = 4 (or 2; winoTileFor), or with a 3×3
// kernel by F(4×4, 3×3) (r = 3 below in place of 5) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): each m×m
// block of outputs ("tile") of each output channel o is
//
//	Y = Aᵀ [Σ_c U[o][c] ⊙ V[c]] A,   U[o][c] = G w[o][c] Gᵀ,   V[c] = Bᵀ d[c] B,
//
// d[c] the n×n input window of the tile in channel c (n = m + r − 1, zero
// outside the image) and Aᵀ, G, Bᵀ the matrices of wino_tables.go
// (gen_wino.go derives them). Written per element pos of the n×n
// transformed tile, the sum over c is one GEMM per pos over all tiles t:
//
//	M[pos] (Cout × T) = U[pos] (Cout × Cin) · V[pos] (Cin × T),
//
// n² products of Cin·Cout per tile of m² outputs instead of r²·m²: for
// F(4×4, 5×5) 64 per 16 outputs, 6.25× fewer multiply-adds (F(2×2): 36 per
// 4, 2.8×; F(4×4, 3×3): 36 per 16, 4×), paid for by the transforms.
//
// Layout: images are taken 16 at a time, one per zmm lane, so that every
// transform is the same vertical arithmetic on 16 lanes with no shuffles.
// A group's input is transposed (gathered) into xt (Cin × Hp × Wp × 16,
// zero-bordered, Hp = m·TH + r − 1 rows for TH tile rows), the tiles are worked
// on in blocks of nb (the GEMMs' N = 16·nb columns: V and M of a block about
// fit in L2), the block's outputs transformed back into yt (Cout × m·TH ×
// m·TW × 16), and yt scattered into the NCHW output. A group of fewer than
// 16 images leaves its other lanes zero.
type winoConv struct {
	batchGeom
	winoFns
	r, rr   int // kernel side (5 or 3) and its r² taps
	m, npos int // outputs per tile side (2 or 4), (m+r−1)² transformed values per tile
	th, tw  int // tile rows and columns per image
	hp, wp  int // rows and columns of xt: m·th + r − 1, m·tw + r − 1
	nb      int // tiles per block
	ldv     int // row stride of V (≥ 16·nb, read in place by the GEMM)
	vPos    int // floats from V[pos] to V[pos+1]: Cin·ldv + 16 (see winoPosPad)
	coutp   int // cout rounded up to 16: the kernel transform's lanes

	wt []float32 // 16 kernels (r² × 16 lanes): gathered from w, or dw's before the scatter
	ut []float32 // Uᵀ per pos: (npos, Cin, coutp)
	bz []float32 // the bias, coutp values (zero without one)

	imgIdx [16]int32 // lane l → l·Cin·H·W (gather)
	outIdx [16]int32 // lane l → l·Cout·OH·OW (scatter)
	wIdx   [16]int32 // lane l → l·Cin·r² (the weights' gather)
	kIdx   [16]int32 // lane l → l·r² (dw's scatter)

	gradW   bool // the run is runGradW's (out is dy)
	l       loop
	sc      *scratch
	xd, out []float32
	xtLen   int // floats of xt at the start of sc.col
	vLen    int // floats of V after it
	mLen    int // floats of M (dw: dM) at the start of sc.aux
	ytLen   int // floats of yt (dw: dyt) after it
}

// winoFns are the transform kernels of one variant (wino_amd64.s).
type winoFns struct {
	input, gradOutput, kernel, gradKernel func(src, dst *float32, cnt int, s1, s2 uintptr)
	output                                func(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)
}

// The kernels of the variants F(2×2, 5×5), F(4×4, 5×5) and F(4×4, 3×3), and
// the lane transposes, for the instruction set in use (setWinoISA).
var (
	wino2Fns, wino4Fns, wino43Fns winoFns
	winoGather, winoScatter       func(dst, src *float32, cnt int, idx *int32, mask uint64)
)

// winoISA is the instruction set of the Winograd kernels: "avx512" (zmm,
// the 16 lanes of a group in one register), "avx2" (ymm: each kernel runs
// twice, on lanes 0–7 and 8–15, 32 bytes apart in the same layout; the lane
// transposes in blocks of 8 × 8) or "" (neither: no Winograd path). The best
// the CPU has; LGM_WINO_ISA=avx2 takes AVX2 on an AVX-512 CPU (A/B
// measurements, and the tests run both where they can).
var winoISA string

func init() { setWinoISA(defaultWinoISA()) }

func defaultWinoISA() string {
	switch {
	case os.Getenv("LGM_WINO_ISA") == "avx2" && hasWinoAVX2:
		return "avx2"
	case hasWinoAVX512:
		return "avx512"
	case hasWinoAVX2:
		return "avx2"
	}
	return ""
}

// winoISAs are the instruction sets this CPU can run the kernels with.
func winoISAs() []string {
	var s []string
	if hasWinoAVX512 {
		s = append(s, "avx512")
	}
	if hasWinoAVX2 {
		s = append(s, "avx2")
	}
	return s
}

// setWinoISA selects the kernels of isa (one of winoISAs, or "") for the
// convolutions built after it.
func setWinoISA(isa string) {
	switch isa {
	case "avx512":
		wino2Fns = winoFns{winoInputAVX512, winoGradOutputAVX512, winoKernelAVX512, winoGradKernelAVX512, winoOutputAVX512}
		wino4Fns = winoFns{wino4InputAVX512, wino4GradOutputAVX512, wino4KernelAVX512, wino4GradKernelAVX512, wino4OutputAVX512}
		wino43Fns = winoFns{wino43InputAVX512, wino43GradOutputAVX512, wino43KernelAVX512, wino43GradKernelAVX512, wino43OutputAVX512}
		winoGather, winoScatter = winoGather16, winoScatter16
	case "avx2":
		wino2Fns = winoFns{halves(winoInputAVX2), halves(winoGradOutputAVX2), halves(winoKernelAVX2), halves(winoGradKernelAVX2), halvesBias(winoOutputAVX2)}
		wino4Fns = winoFns{halves(wino4InputAVX2), halves(wino4GradOutputAVX2), halves(wino4KernelAVX2), halves(wino4GradKernelAVX2), halvesBias(wino4OutputAVX2)}
		wino43Fns = winoFns{halves(wino43InputAVX2), halves(wino43GradOutputAVX2), halves(wino43KernelAVX2), halves(wino43GradKernelAVX2), halvesBias(wino43OutputAVX2)}
		winoGather, winoScatter = winoGatherAVX2, winoScatterAVX2
	}
	winoISA = isa
}

// halves runs an 8-lane AVX2 kernel on both halves of the 16 lanes.
func halves(k func(src, dst *float32, cnt int, s1, s2 uintptr)) func(src, dst *float32, cnt int, s1, s2 uintptr) {
	return func(src, dst *float32, cnt int, s1, s2 uintptr) {
		k(src, dst, cnt, s1, s2)
		k(floatsOn(src, 8), floatsOn(dst, 8), cnt, s1, s2)
	}
}

func halvesBias(k func(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)) func(src, dst *float32, cnt int, s1, s2 uintptr, bias float32) {
	return func(src, dst *float32, cnt int, s1, s2 uintptr, bias float32) {
		k(src, dst, cnt, s1, s2, bias)
		k(floatsOn(src, 8), floatsOn(dst, 8), cnt, s1, s2, bias)
	}
}

// floatsOn is p + n floats.
func floatsOn(p *float32, n int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*n)) }

// winoGatherAVX2 is winoGather16 (wino_amd64.s) for AVX2 CPUs: dst[t·16 +
// l] = src[t + idx[l]] for the lanes l in mask, else 0, t < cnt. With all 16
// lanes, blocks of 8 values of t by winoGather16AVX2; the rest here.
func winoGatherAVX2(dst, src *float32, cnt int, idx *int32, mask uint64) {
	t := 0
	if mask == 0xffff && cnt >= 8 {
		winoGather16AVX2(dst, src, cnt/8, idx)
		t = cnt &^ 7
	}
	d := unsafe.Slice(dst, 16*cnt)
	ix := (*[16]int32)(unsafe.Pointer(idx))
	for ; t < cnt; t++ {
		row := d[16*t : 16*t+16]
		for l := range row {
			row[l] = 0
			if mask>>l&1 != 0 {
				row[l] = *floatsOn(src, t+int(ix[l]))
			}
		}
	}
}

// winoScatterAVX2 is winoScatter16 for AVX2 CPUs: dst[t + idx[l]] =
// src[t·16 + l] for the lanes l in mask, t < cnt.
func winoScatterAVX2(dst, src *float32, cnt int, idx *int32, mask uint64) {
	t := 0
	if mask == 0xffff && cnt >= 8 {
		winoScatter16AVX2(dst, src, cnt/8, idx)
		t = cnt &^ 7
	}
	s := unsafe.Slice(src, 16*cnt)
	ix := (*[16]int32)(unsafe.Pointer(idx))
	for ; t < cnt; t++ {
		for l, v := range s[16*t : 16*t+16] {
			if mask>>l&1 != 0 {
				*floatsOn(dst, t+int(ix[l])) = v
			}
		}
	}
}

// winoTileFor is the output tile side m of F(m×m, 5×5) for geometry g: 4,
// whose 8×8 tiles need 64 products per 16 outputs (2.25× fewer than the 36
// per 4 of F(2×2, 5×5)), 4 transformed values per output instead of 9, and
// a third of the transform work per output. Measured on every LeNet++ layer
// (BenchmarkConvPart path=new with LGM_WINO_M=2 and 4 alternating, 3 rounds,
// Intel Xeon model 207, 1 thread): F(4×4) at 0.45–0.64× the CPU time of
// F(2×2) at 28×28 and 7×7 (the ragged 7×7: 2 tiles of 4 against 4 of 2),
// 0.64–0.86× at 14×14 (4 tiles of 4 for 14 outputs: 31 % of the products
// wasted). Its float32 error is about 3× F(2×2)'s (TestWinoConv: ≤ 5.8e-6
// of the largest output, dw ≤ 8e-6). LGM_WINO_M = 2 or 4 sets it for every
// 5×5 geometry.
//
// 3×3 kernels always take F(4×4, 3×3): 6×6 tiles, 36 products per 16
// outputs instead of 144.
func winoTileFor(g geom) int {
	if g.k == 3 {
		return 4
	}
	if winoM == 2 || winoM == 4 {
		return winoM
	}
	return 4
}

var winoM, _ = strconv.Atoi(os.Getenv("LGM_WINO_M"))

// winoOn switches the Winograd path on (for 5×5 and 3×3 stride-1
// convolutions on AVX-512 and AVX2 CPUs). LGM_WINO=0 turns it off, LGM_WINO3=0 only for
// 3×3 kernels, for A/B measurements.
var (
	winoOn  = os.Getenv("LGM_WINO") != "0"
	wino3On = os.Getenv("LGM_WINO3") != "0"
)

// SetWino3 turns the F(4×4, 3×3) path on or off for the convolutions built
// after it (as LGM_WINO3) and returns the previous setting: for tests that
// compare a network with its stock-op twin, where Winograd's float32 error
// (up to 4.3e-6 of a layer's largest output, 3–10× the GEMM path's) can
// flip a ReLU whose input is ≈ 0 somewhere in a deep network.
func SetWino3(on bool) bool {
	old := wino3On
	wino3On = on
	return old
}

// winoL2 is the bytes of V and M one block aims at: about half of a 2 MB
// L2, so that xt's rows and yt's stay cached too. LGM_WINO_NB sets the tiles
// per block instead (measurements).
var winoL2 = 1 << 20

var winoNB, _ = strconv.Atoi(os.Getenv("LGM_WINO_NB"))

// winoPosPad is the floats between one pos's matrix of V (or M) and the
// next's beyond the matrix itself: the transforms write (or read) the n² pos
// of a tile at once, and with pos strides that are multiples of 4 KB (Cin·ldv
// = 32·128 floats, say) all 36 fall in one L1 set and miss every time (the
// input transform ran at 167 ns a tile of 16 lanes on cache-resident data;
// one line apart, 103 ns; Intel Xeon model 207, BenchmarkWinoKernels).
const winoPosPad = 16

// winoMinNB is the fewest tiles per block.
const winoMinNB = 8

// winoMinC is the fewest input channels for which a convolution runs as a
// winoConv: the GEMMs' depth is Cin (LeNet++'s first layer, Cin = 1, keeps
// its path).
var winoMinC = 16

// useWino reports whether geometry g with cout outputs runs as a winoConv
// (the lane offsets of a group's images, 15 images apart at most, must fit
// the gathers' and scatters' int32 indices).
func useWino(g geom, cout int) bool {
	const maxImg = (1<<31 - 1) / 16
	return winoOn && !bf16.Load() && winoISA != "" && (g.k == 5 || g.k == 3 && wino3On) && g.s == 1 && g.p <= g.k-1 && g.oh > 0 && g.ow > 0 && g.c >= winoMinC &&
		g.c*g.h*g.w <= maxImg && cout*g.oh*g.ow <= maxImg
}

func newWinoConv(g geom, batch, cout int) *winoConv {
	wc := &winoConv{batchGeom: newBatchGeom(g, batch, cout)}
	wc.group = 16
	wc.r, wc.rr = g.k, g.k*g.k
	wc.m = winoTileFor(g)
	switch {
	case wc.r == 3:
		wc.winoFns = wino43Fns
	case wc.m == 4:
		wc.winoFns = wino4Fns
	default:
		wc.winoFns = wino2Fns
	}
	wc.npos = (wc.m + wc.r - 1) * (wc.m + wc.r - 1)
	wc.th, wc.tw = (g.oh+wc.m-1)/wc.m, (g.ow+wc.m-1)/wc.m
	wc.hp, wc.wp = wc.m*wc.th+wc.r-1, wc.m*wc.tw+wc.r-1
	wc.coutp = (cout + 15) &^ 15
	tiles := wc.th * wc.tw
	wc.nb = winoNB
	if wc.nb <= 0 {
		// At least 8 tiles (N = 128): narrower GEMMs fall to the 16-column
		// kernel (128 → 128 at 7×7 with 1 tile a block ran at 0.55× the
		// speed of 8 to 16). The blocks then evened out.
		wc.nb = max(winoL2/(wc.npos*(g.c+cout)*16*4), winoMinNB)
		blocks := (tiles + wc.nb - 1) / wc.nb
		wc.nb = (tiles + blocks - 1) / blocks
	}
	wc.nb = min(max(wc.nb, 1), tiles)
	wc.ldv = gemm.InPlaceStride(16 * wc.nb)
	wc.xtLen = g.c * wc.hp * wc.wp * 16
	wc.vPos = g.c*wc.ldv + winoPosPad
	wc.vLen = wc.npos * wc.vPos
	wc.mLen = wc.npos * (cout*16*wc.nb + winoPosPad)
	wc.ytLen = cout * wc.m * wc.th * wc.m * wc.tw * 16
	for l := range 16 {
		wc.imgIdx[l] = int32(l * g.c * g.h * g.w)
		wc.outIdx[l] = int32(l * cout * g.oh * g.ow)
		wc.wIdx[l] = int32(l * g.c * wc.rr)
		wc.kIdx[l] = int32(l * wc.rr)
	}
	return wc
}

// run computes out (B, Cout, OH, OW) from x (B, Cin, H, W), w (Cout, Cin,
// 5, 5) and b (Cout; nil: none).
func (wc *winoConv) run(x, w, b, out []float32) {
	wc.prepare(w, b)
	wc.xd, wc.out = x, out
	items := wc.items()
	slots := slotsFor(items)
	wc.sc = getScratch()
	wc.sc.col = growSlots(wc.sc.col, slots, wc.xtLen+wc.vLen)
	wc.sc.aux = growSlots(wc.sc.aux, slots, wc.mLen+wc.ytLen)
	wc.l.run(wc, items, slots)
	putScratch(wc.sc)
	wc.xd, wc.out, wc.sc = nil, nil, nil
}

// prepare transforms the weights into ut and copies the bias.
func (wc *winoConv) prepare(w, b []float32) {
	cin, cout, cp := wc.c, wc.cout, wc.coutp
	wc.wt = grow32(wc.wt, wc.rr*16)
	wc.ut = grow32(wc.ut, wc.npos*cin*cp)
	wc.bz = grow32(wc.bz, cp)
	clear(wc.bz)
	copy(wc.bz, b)
	// Per input channel c and 16 output channels o0…: wt[k][l] =
	// w[o0+l][c][k] (gathered), then ut[pos][c][o0+l] = (G g Gᵀ)[pos].
	for o0 := 0; o0 < cout; o0 += 16 {
		mask := uint64(1)<<min(16, cout-o0) - 1
		for c := 0; c < cin; c++ {
			winoGather(&wc.wt[0], &w[(o0*cin+c)*wc.rr], wc.rr, &wc.wIdx[0], mask)
			wc.kernel(&wc.wt[0], &wc.ut[c*cp+o0], 1, 64, uintptr(cin*cp*4))
		}
	}
}

// buffers are worker slot's parts of the scratch: the gathered input xt,
// its transform v, the transformed output m (dM for dw) and the output yt
// before its scatter (the gathered dy for dw).
func (wc *winoConv) buffers(slot int) (xt, v, m, yt []float32) {
	col, aux := wc.sc.col[slot], wc.sc.aux[slot]
	return col[:wc.xtLen], col[wc.xtLen : wc.xtLen+wc.vLen], aux[:wc.mLen], aux[wc.mLen : wc.mLen+wc.ytLen]
}

// item computes images 16i … 16i+15 (fewer in the last group).
func (wc *winoConv) item(slot, i int) {
	if wc.gradW {
		wc.gradWItem(slot, i)
		return
	}
	n0, g := wc.images(i)
	mask := uint64(1)<<g - 1
	cin, cout := wc.c, wc.cout
	xt, v, m, yt := wc.buffers(slot)
	wc.gatherInput(xt, n0, mask)

	tiles := wc.th * wc.tw
	ytRow := wc.m * wc.tw * 16 // floats per yt row
	for t0 := 0; t0 < tiles; t0 += wc.nb {
		t1 := min(t0+wc.nb, tiles)
		n := 16 * (t1 - t0)
		ldm, mPos := n, cout*n+winoPosPad
		wc.inputBlock(xt, v, t0, t1)
		for pos := 0; pos < wc.npos; pos++ {
			gemm.Sgemm(true, false, cout, n, cin, 1, wc.ut[pos*cin*wc.coutp:], wc.coutp,
				v[pos*wc.vPos:], wc.ldv, 0, m[pos*mPos:], ldm)
		}
		for o := 0; o < cout; o++ {
			for t := t0; t < t1; {
				tr, tc := t/wc.tw, t%wc.tw
				cnt := min(wc.tw-tc, t1-t)
				dst := &yt[(o*wc.m*wc.th+wc.m*tr)*ytRow+wc.m*tc*16]
				wc.output(&m[o*ldm+(t-t0)*16], dst, cnt, uintptr(mPos*4), uintptr(ytRow*4), wc.bz[o])
				t += cnt
			}
		}
	}
	wc.scatterOutput(yt, n0, mask)
}

// inputBlock sets V[pos][c][(t−t0)·16 + lane] for the tiles t0 ≤ t < t1.
func (wc *winoConv) inputBlock(xt, v []float32, t0, t1 int) {
	cin := wc.c
	for c := 0; c < cin; c++ {
		for t := t0; t < t1; {
			tr, tc := t/wc.tw, t%wc.tw
			cnt := min(wc.tw-tc, t1-t)
			src := &xt[((c*wc.hp+wc.m*tr)*wc.wp+wc.m*tc)*16]
			wc.input(src, &v[c*wc.ldv+(t-t0)*16], cnt, uintptr(wc.wp*64), uintptr(wc.vPos*4))
			t += cnt
		}
	}
}

// gatherInput fills xt (Cin × Hp × Wp × 16) from images n0 … of x, lane l
// holding image n0+l (the lanes not in mask zero), inside a zero border:
// xt row r, column q is image row r−P, column q−P.
func (wc *winoConv) gatherInput(xt []float32, n0 int, mask uint64) {
	h, w, p := wc.h, wc.w, wc.p
	rowLen := wc.wp * 16
	for c := 0; c < wc.c; c++ {
		plane := xt[c*wc.hp*rowLen : (c+1)*wc.hp*rowLen]
		for r := 0; r < wc.hp; r++ {
			row := plane[r*rowLen : (r+1)*rowLen]
			ih := r - p
			if ih < 0 || ih >= h {
				clear(row)
				continue
			}
			clear(row[:p*16])
			clear(row[(p+w)*16:])
			src := &wc.xd[((n0*wc.c+c)*h+ih)*w]
			winoGather(&row[p*16], src, w, &wc.imgIdx[0], mask)
		}
	}
}

// scatterOutput writes yt's outputs (the rows and columns inside OH × OW)
// to images n0 … of out.
func (wc *winoConv) scatterOutput(yt []float32, n0 int, mask uint64) {
	oh, ow := wc.oh, wc.ow
	ytRow := wc.m * wc.tw * 16
	for o := 0; o < wc.cout; o++ {
		for r := 0; r < oh; r++ {
			src := &yt[(o*wc.m*wc.th+r)*ytRow]
			winoScatter(&wc.out[((n0*wc.cout+o)*oh+r)*ow], src, ow, &wc.outIdx[0], mask)
		}
	}
}

// runGradW computes dw (Cout, Cin, 5, 5) from x (B, Cin, H, W) and dy (B,
// Cout, OH, OW), the gradient of the Winograd form of the forward:
//
//	dM[o] = A dY[o] Aᵀ (per tile),  dU[pos] (Cout × Cin) = Σ_t dM[pos][·][t] · V[pos][·][t]ᵀ,
//	dw[o][c] = Gᵀ dU[o][c] G,
//
// V recomputed from x as in the forward; one GEMM per pos and block of tiles
// (depth 16·nb), summed into a dU per worker (sc.part, worker 0's first),
// the workers' dU added in slot order at the end (reproducible sums).
func (wc *winoConv) runGradW(x, dy, dw []float32) {
	wc.xd, wc.out = x, dy
	items := wc.items()
	slots := slotsFor(items)
	wc.sc = getScratch()
	dyLen := wc.ytLen // dyt: Cout × 2·TH × 2·TW × 16, like yt
	wc.sc.col = growSlots(wc.sc.col, slots, wc.xtLen+wc.vLen)
	wc.sc.aux = growSlots(wc.sc.aux, slots, wc.mLen+dyLen)
	for len(wc.sc.part) < slots {
		wc.sc.part = append(wc.sc.part, nil)
	}
	pl := wc.duLen()
	for s := 0; s < slots; s++ {
		wc.sc.part[s] = grow32(wc.sc.part[s], wc.npos*pl)
		clear(wc.sc.part[s][:wc.npos*pl])
	}
	wc.gradW = true
	wc.l.run(wc, items, slots)
	wc.gradW = false
	du := wc.sc.part[0][:wc.npos*pl]
	for s := 1; s < slots; s++ {
		add(du, wc.sc.part[s][:wc.npos*pl])
	}
	// dg[k][l] = (Gᵀ dU G)[k] for the pairs p = (o, c) = p0+l, 16 at a
	// time, scattered to dw[p][k].
	np := wc.cout * wc.c
	wc.wt = grow32(wc.wt, wc.rr*16)
	for p0 := 0; p0 < np; p0 += 16 {
		wc.gradKernel(&du[p0], &wc.wt[0], 1, uintptr(pl*4), 64)
		winoScatter(&dw[p0*wc.rr], &wc.wt[0], wc.rr, &wc.kIdx[0], uint64(1)<<min(16, np-p0)-1)
	}
	putScratch(wc.sc)
	wc.xd, wc.out, wc.sc = nil, nil, nil
}

// duLen is the floats from one pos of dU to the next: Cout·Cin rounded up
// to 16, plus winoPosPad.
func (wc *winoConv) duLen() int { return (wc.cout*wc.c+15)&^15 + winoPosPad }

// gradWItem adds group i's share of dU into the worker's sum.
func (wc *winoConv) gradWItem(slot, i int) {
	n0, g := wc.images(i)
	mask := uint64(1)<<g - 1
	cin, cout := wc.c, wc.cout
	xt, v, dm, dyt := wc.buffers(slot)
	du, pl := wc.sc.part[slot], wc.duLen()
	wc.gatherInput(xt, n0, mask)
	wc.gatherGrad(dyt, n0, mask)
	tiles := wc.th * wc.tw
	ytRow := wc.m * wc.tw * 16
	for t0 := 0; t0 < tiles; t0 += wc.nb {
		t1 := min(t0+wc.nb, tiles)
		n := 16 * (t1 - t0)
		ldm, mPos := n, cout*n+winoPosPad
		wc.inputBlock(xt, v, t0, t1)
		for o := 0; o < cout; o++ {
			for t := t0; t < t1; {
				tr, tc := t/wc.tw, t%wc.tw
				cnt := min(wc.tw-tc, t1-t)
				src := &dyt[(o*wc.m*wc.th+wc.m*tr)*ytRow+wc.m*tc*16]
				wc.gradOutput(src, &dm[o*ldm+(t-t0)*16], cnt, uintptr(ytRow*4), uintptr(mPos*4))
				t += cnt
			}
		}
		for pos := 0; pos < wc.npos; pos++ {
			gemm.Sgemm(false, true, cout, cin, n, 1, dm[pos*mPos:], ldm,
				v[pos*wc.vPos:], wc.ldv, 1, du[pos*pl:], cin)
		}
	}
}

// gatherGrad fills dyt (Cout × 2·TH × 2·TW × 16) from images n0 … of dy
// (wc.out during a gradient run), zero past OH × OW and in the lanes not in
// mask.
func (wc *winoConv) gatherGrad(dyt []float32, n0 int, mask uint64) {
	oh, ow := wc.oh, wc.ow
	ytRow := wc.m * wc.tw * 16
	for o := 0; o < wc.cout; o++ {
		for r := 0; r < wc.m*wc.th; r++ {
			row := dyt[(o*wc.m*wc.th+r)*ytRow : (o*wc.m*wc.th+r+1)*ytRow]
			if r >= oh {
				clear(row)
				continue
			}
			winoGather(&row[0], &wc.out[((n0*wc.cout+o)*oh+r)*ow], ow, &wc.outIdx[0], mask)
			clear(row[ow*16:])
		}
	}
}
