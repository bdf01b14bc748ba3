//go:build amd64

package nnops

import "golang.org/x/sys/cpu"

//go:generate go run gen_wino.go

// hasWinoAVX512 and hasWinoAVX2 say which of the Winograd kernels
// (wino_amd64.s) can run.
var (
	hasWinoAVX512 = cpu.X86.HasAVX512F
	hasWinoAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

//go:noescape
func winoInputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoOutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func winoKernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGradOutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGradKernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGather16(dst, src *float32, cnt int, idx *int32, mask uint64)

//go:noescape
func winoScatter16(dst, src *float32, cnt int, idx *int32, mask uint64)

//go:noescape
func wino4InputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4OutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func wino4KernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4GradOutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4GradKernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43InputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43OutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func wino43KernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43GradOutputAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43GradKernelAVX512(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoInputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoOutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func winoKernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGradOutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGradKernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4InputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4OutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func wino4KernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4GradOutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino4GradKernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43InputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43OutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr, bias float32)

//go:noescape
func wino43KernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43GradOutputAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func wino43GradKernelAVX2(src, dst *float32, cnt int, s1, s2 uintptr)

//go:noescape
func winoGather16AVX2(dst, src *float32, blocks int, idx *int32)

//go:noescape
func winoScatter16AVX2(dst, src *float32, blocks int, idx *int32)
