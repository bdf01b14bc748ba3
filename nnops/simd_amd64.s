//go:build amd64

#include "textflag.h"

// The sums kernels keep two float64 accumulator pairs: Σ₁ in Y0 and Y2, Σ₂ in
// Y1 and Y3.
#define ZERO_SUMS \
	VXORPD Y0, Y0, Y0; \
	VXORPD Y1, Y1, Y1; \
	VXORPD Y2, Y2, Y2; \
	VXORPD Y3, Y3, Y3

// REDUCE_SUMS leaves Σ₁ in X0 and Σ₂ in X1 (low lanes).
#define REDUCE_SUMS \
	VADDPD       Y2, Y0, Y0; \
	VADDPD       Y3, Y1, Y1; \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPD       X2, X0, X0; \
	VUNPCKHPD    X0, X0, X2; \
	VADDSD       X2, X0, X0; \
	VEXTRACTF128 $1, Y1, X3; \
	VADDPD       X3, X1, X1; \
	VUNPCKHPD    X1, X1, X3; \
	VADDSD       X3, X1, X1

// ADD_GRAD_SUMS adds the 8 dy in Y10 to Σ₁ and dy·((x − hi) − lo), x at (DI),
// hi and lo broadcast in Y14 and Y13, products in float32, to Σ₂.
#define ADD_GRAD_SUMS \
	VMOVUPS      (DI), Y4; \
	VSUBPS       Y14, Y4, Y4; \
	VSUBPS       Y13, Y4, Y4; \
	VMULPS       Y10, Y4, Y4; \
	VCVTPS2PD    X10, Y5; \
	VEXTRACTF128 $1, Y10, X6; \
	VCVTPS2PD    X6, Y6; \
	VADDPD       Y5, Y0, Y0; \
	VADDPD       Y6, Y2, Y2; \
	VCVTPS2PD    X4, Y7; \
	VEXTRACTF128 $1, Y4, X8; \
	VCVTPS2PD    X8, Y8; \
	VADDPD       Y7, Y1, Y1; \
	VADDPD       Y8, Y3, Y3

// AFFINE(mul, add) sets Y0 = ((x − hi) − lo)·mul + add for the 8 x at (SI),
// hi and lo broadcast in Y14 and Y13: BatchNorm's output (mul = scale, add =
// shift) and the x-term of its input gradient (mul = k, add = b).
#define AFFINE(mul, add) \
	VMOVUPS (SI), Y0; \
	VSUBPS  Y14, Y0, Y0; \
	VSUBPS  Y13, Y0, Y0; \
	VMULPS  mul, Y0, Y0; \
	VADDPS  add, Y0, Y0

// AVX2 kernels of simd.go. Every kernel takes n > 0, a multiple of 8, and
// processes 8 float32s per iteration. The elementwise ones do the same
// float32 operations in the same order as their Go versions (no FMA).

// func shiftedSumsAVX2(x *float32, n int, k float64) (s1, s2 float64)
TEXT ·shiftedSumsAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD k+16(FP), Y15
	ZERO_SUMS
	SHRQ         $3, CX

ssloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VSUBPD    Y15, Y4, Y4
	VSUBPD    Y15, Y5, Y5
	VADDPD    Y4, Y0, Y0
	VMULPD    Y4, Y4, Y4
	VADDPD    Y4, Y1, Y1
	VADDPD    Y5, Y2, Y2
	VMULPD    Y5, Y5, Y5
	VADDPD    Y5, Y3, Y3
	ADDQ      $32, SI
	DECQ      CX
	JNZ       ssloop

	REDUCE_SUMS
	VMOVSD X0, s1+24(FP)
	VMOVSD X1, s2+32(FP)
	VZEROUPPER
	RET

// func gradSumsAVX2(dy, x *float32, n int, hi, lo float32) (s1, s2 float64)
TEXT ·gradSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS hi+24(FP), Y14
	VBROADCASTSS lo+28(FP), Y13
	ZERO_SUMS
	SHRQ         $3, CX

gsloop:
	VMOVUPS (SI), Y10
	ADD_GRAD_SUMS
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          gsloop

	REDUCE_SUMS
	VMOVSD X0, s1+32(FP)
	VMOVSD X1, s2+40(FP)
	VZEROUPPER
	RET

// func normAffineAVX2(x, y *float32, n int, hi, lo, scale, shift float32)
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS hi+24(FP), Y14
	VBROADCASTSS lo+28(FP), Y13
	VBROADCASTSS scale+32(FP), Y12
	VBROADCASTSS shift+36(FP), Y11
	SHRQ         $3, CX

naloop:
	AFFINE(Y12, Y11)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     naloop
	VZEROUPPER
	RET

// func bnDxAVX2(x, dy, dx *float32, n int, hi, lo, a, b, k float32)
TEXT ·bnDxAVX2(SB), NOSPLIT, $0-52
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DX
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS hi+32(FP), Y14
	VBROADCASTSS lo+36(FP), Y13
	VBROADCASTSS a+40(FP), Y12
	VBROADCASTSS b+44(FP), Y11
	VBROADCASTSS k+48(FP), Y10
	SHRQ         $3, CX

dxloop:
	AFFINE(Y10, Y11)
	VMULPS  (DX), Y12, Y1
	VSUBPS  Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     dxloop
	VZEROUPPER
	RET

// func reluAVX2(x, y *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y15, Y15, Y15
	SHRQ   $3, CX

reloop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x12, Y15, Y0, Y1 // x <= 0, ordered quiet: false for NaN
	VANDNPS Y0, Y1, Y2         // x where not (x <= 0)
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     reloop
	VZEROUPPER
	RET

// func reluGradAVX2(x, dy, dx *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ   x+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VXORPS Y15, Y15, Y15
	SHRQ   $3, CX

rgloop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y15, Y0, Y1 // x > 0, ordered quiet: false for NaN
	VANDPS  (DX), Y1, Y2       // dy where x > 0
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     rgloop
	VZEROUPPER
	RET

// func normAffineReLUAVX2(x, y *float32, n int, hi, lo, scale, shift float32)
TEXT ·normAffineReLUAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS hi+24(FP), Y14
	VBROADCASTSS lo+28(FP), Y13
	VBROADCASTSS scale+32(FP), Y12
	VBROADCASTSS shift+36(FP), Y11
	VXORPS       Y15, Y15, Y15
	SHRQ         $3, CX

nrloop:
	AFFINE(Y12, Y11)
	VCMPPS  $0x12, Y15, Y0, Y1 // z <= 0, ordered quiet: false for NaN
	VANDNPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     nrloop
	VZEROUPPER
	RET

// func gradSumsMaskedAVX2(dy, y, x *float32, n int, hi, lo float32) (s1, s2 float64)
TEXT ·gradSumsMaskedAVX2(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), SI
	MOVQ         y+8(FP), DX
	MOVQ         x+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS hi+32(FP), Y14
	VBROADCASTSS lo+36(FP), Y13
	VXORPS       Y15, Y15, Y15
	ZERO_SUMS
	SHRQ         $3, CX

gmloop:
	VMOVUPS      (DX), Y9
	VCMPPS       $0x1e, Y15, Y9, Y9 // y > 0, ordered quiet: false for NaN
	VANDPS       (SI), Y9, Y10      // dy where y > 0
	ADD_GRAD_SUMS
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	DECQ         CX
	JNZ          gmloop

	REDUCE_SUMS
	VMOVSD X0, s1+40(FP)
	VMOVSD X1, s2+48(FP)
	VZEROUPPER
	RET

// func bnDxMaskedAVX2(x, y, dy, dx *float32, n int, hi, lo, a, b, k float32)
TEXT ·bnDxMaskedAVX2(SB), NOSPLIT, $0-60
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), R8
	MOVQ         dy+16(FP), DX
	MOVQ         dx+24(FP), DI
	MOVQ         n+32(FP), CX
	VBROADCASTSS hi+40(FP), Y14
	VBROADCASTSS lo+44(FP), Y13
	VBROADCASTSS a+48(FP), Y12
	VBROADCASTSS b+52(FP), Y11
	VBROADCASTSS k+56(FP), Y10
	VXORPS       Y15, Y15, Y15
	SHRQ         $3, CX

dmloop:
	VMOVUPS (R8), Y2
	VCMPPS  $0x1e, Y15, Y2, Y2 // y > 0, ordered quiet: false for NaN
	VANDPS  (DX), Y2, Y2       // dy where y > 0
	AFFINE(Y10, Y11)
	VMULPS  Y2, Y12, Y1
	VSUBPS  Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     dmloop
	VZEROUPPER
	RET

// func preluAVX2(x, y *float32, n int, a float32)
// y = x where x > 0, else x·a (NaN: x·a), as preluOp.item.
TEXT ·preluAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VXORPS       Y15, Y15, Y15
	SHRQ         $3, CX

ploop:
	VMOVUPS   (SI), Y0
	VMULPS    Y14, Y0, Y1
	VCMPPS    $0x1e, Y15, Y0, Y2 // x > 0, ordered quiet: false for NaN
	VBLENDVPS Y2, Y0, Y1, Y3     // x where x > 0, else x·a
	VMOVUPS   Y3, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       ploop
	VZEROUPPER
	RET

// func preluGradXAVX2(x, dy, dx *float32, n int, a float32)
// dx = dy where x > 0, else dy·a, as preluGradXOp.item.
TEXT ·preluGradXAVX2(SB), NOSPLIT, $0-36
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DX
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y14
	VXORPS       Y15, Y15, Y15
	SHRQ         $3, CX

pgloop:
	VMOVUPS   (SI), Y0
	VMOVUPS   (DX), Y4
	VMULPS    Y14, Y4, Y1
	VCMPPS    $0x1e, Y15, Y0, Y2
	VBLENDVPS Y2, Y4, Y1, Y3
	VMOVUPS   Y3, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, DI
	DECQ      CX
	JNZ       pgloop
	VZEROUPPER
	RET

// func preluGradASumAVX2(x, dy *float32, n int) float32
// Σ dy·x over the x that are not > 0, in float32 (8 lanes, then halved).
TEXT ·preluGradASumAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   n+16(FP), CX
	VXORPS Y15, Y15, Y15
	VXORPS Y0, Y0, Y0
	SHRQ   $3, CX

paloop:
	VMOVUPS (SI), Y1
	VCMPPS  $0x1e, Y15, Y1, Y2
	VANDNPS Y1, Y2, Y3 // x where not x > 0
	VMULPS  (DX), Y3, Y3
	VADDPS  Y3, Y0, Y0
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     paloop
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// max2x2AVX2's constants: the magnitude mask of the order keys, each
// lane's window offset in the order VSHUFPS leaves the windows in (0, 1,
// 4, 5 | 2, 3, 6, 7; window j starts 2j floats in), and the offset step of
// a block of 8 windows (16 floats), 8 copies.
DATA max2x2abs<>+0(SB)/4, $0x7fffffff
GLOBL max2x2abs<>(SB), RODATA|NOPTR, $4
DATA max2x2offs<>+0(SB)/4, $0
DATA max2x2offs<>+4(SB)/4, $2
DATA max2x2offs<>+8(SB)/4, $8
DATA max2x2offs<>+12(SB)/4, $10
DATA max2x2offs<>+16(SB)/4, $4
DATA max2x2offs<>+20(SB)/4, $6
DATA max2x2offs<>+24(SB)/4, $12
DATA max2x2offs<>+28(SB)/4, $14
GLOBL max2x2offs<>(SB), RODATA|NOPTR, $32
DATA max2x2step<>+0(SB)/4, $16
DATA max2x2step<>+4(SB)/4, $16
DATA max2x2step<>+8(SB)/4, $16
DATA max2x2step<>+12(SB)/4, $16
DATA max2x2step<>+16(SB)/4, $16
DATA max2x2step<>+20(SB)/4, $16
DATA max2x2step<>+24(SB)/4, $16
DATA max2x2step<>+28(SB)/4, $16
GLOBL max2x2step<>(SB), RODATA|NOPTR, $32

// MAX2X2_KEY sets k to the order key of the floats in v (key in
// maxpool.go: sign-magnitude to two's complement, so that −0 and +0 tie);
// Y13 holds the magnitude mask, Y8 is clobbered.
#define MAX2X2_KEY(v, k) \
	VPSRAD $31, v, Y8; \
	VPAND  Y13, v, k; \
	VPXOR  Y8, k, k; \
	VPSUBD Y8, k, k

// func max2x2AVX2(x *float32, w int, blocks int, y *float32, am *int32, first int) (done int)
//
// Up to blocks blocks of 8 consecutive 2×2 stride-2 windows of one output
// row: window j's top-left is x[2j], its bottom row w floats on. Writes
// y[j] (the chosen element) and am[j] = first + 2j + (0, 1, w or w+1), the
// first of the largest in row-major order as max2x2 chooses. Stops before a
// block holding a NaN (left to the Go path) and returns the blocks done.
TEXT ·max2x2AVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), R8
	LEAQ (SI)(R8*4), R9
	MOVQ blocks+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ am+32(FP), DX
	MOVQ first+40(FP), AX
	XORQ BX, BX
	VPBROADCASTD max2x2abs<>(SB), Y13
	VMOVQ AX, X9
	VPBROADCASTD X9, Y9
	VPADDD max2x2offs<>(SB), Y9, Y9
	MOVL $1, R10
	VMOVQ R10, X14
	VPBROADCASTD X14, Y14
	VMOVQ R8, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JEQ max2x2_done

max2x2_loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (R9), Y2
	VMOVUPS 32(R9), Y3
	VCMPPS    $3, Y1, Y0, Y4 // unordered: a NaN in either
	VCMPPS    $3, Y3, Y2, Y5
	VORPS     Y5, Y4, Y4
	VMOVMSKPS Y4, R11
	TESTL     R11, R11
	JNE       max2x2_done
	VSHUFPS $0x88, Y1, Y0, Y4 // a: top left of each window
	VSHUFPS $0xDD, Y1, Y0, Y5 // b: top right
	VSHUFPS $0x88, Y3, Y2, Y6 // c: bottom left
	VSHUFPS $0xDD, Y3, Y2, Y7 // d: bottom right
	MAX2X2_KEY(Y4, Y0)
	MAX2X2_KEY(Y5, Y1)
	MAX2X2_KEY(Y6, Y2)
	MAX2X2_KEY(Y7, Y3)

	// Y0: best key, Y10: its element, Y11: its offset in the window.
	VPCMPGTD  Y0, Y1, Y12
	VPMAXSD   Y1, Y0, Y0
	VBLENDVPS Y12, Y5, Y4, Y10
	VPAND     Y14, Y12, Y11
	VPCMPGTD  Y0, Y2, Y12
	VPMAXSD   Y2, Y0, Y0
	VBLENDVPS Y12, Y6, Y10, Y10
	VBLENDVPS Y12, Y15, Y11, Y11
	VPCMPGTD  Y0, Y3, Y12
	VBLENDVPS Y12, Y7, Y10, Y10
	VPADDD    Y14, Y15, Y8
	VBLENDVPS Y12, Y8, Y11, Y11
	VPADDD    Y9, Y11, Y11

	VPERMPD $0xD8, Y10, Y10 // windows back in order 0..7
	VPERMQ  $0xD8, Y11, Y11
	VMOVUPS Y10, (DI)
	VMOVDQU Y11, (DX)
	VPADDD  max2x2step<>(SB), Y9, Y9
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $32, DI
	ADDQ $32, DX
	INCQ BX
	CMPQ BX, CX
	JLT  max2x2_loop

max2x2_done:
	MOVQ BX, done+48(FP)
	VZEROUPPER
	RET
