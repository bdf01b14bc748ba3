//go:build amd64

package nnops

import "golang.org/x/sys/cpu"

//go:generate go run gen_wino.go

// hasWinoAVX512 says whether the Winograd kernels (wino_amd64.s) can run.
var hasWinoAVX512 = cpu.X86.HasAVX512F

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
