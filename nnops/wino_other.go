//go:build !amd64

package nnops

var (
	hasWinoAVX512 = false
	hasWinoAVX2   = false
)

func winoInputAVX512(*float32, *float32, int, uintptr, uintptr)           { panic("unreachable") }
func winoOutputAVX512(*float32, *float32, int, uintptr, uintptr, float32) { panic("unreachable") }
func winoKernelAVX512(*float32, *float32, int, uintptr, uintptr)          { panic("unreachable") }
func winoGradOutputAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func winoGradKernelAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func winoGather16(*float32, *float32, int, *int32, uint64)                { panic("unreachable") }
func winoScatter16(*float32, *float32, int, *int32, uint64)               { panic("unreachable") }

func wino4InputAVX512(*float32, *float32, int, uintptr, uintptr)           { panic("unreachable") }
func wino4OutputAVX512(*float32, *float32, int, uintptr, uintptr, float32) { panic("unreachable") }
func wino4KernelAVX512(*float32, *float32, int, uintptr, uintptr)          { panic("unreachable") }
func wino4GradOutputAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func wino4GradKernelAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }

func wino43InputAVX512(*float32, *float32, int, uintptr, uintptr)           { panic("unreachable") }
func wino43OutputAVX512(*float32, *float32, int, uintptr, uintptr, float32) { panic("unreachable") }
func wino43KernelAVX512(*float32, *float32, int, uintptr, uintptr)          { panic("unreachable") }
func wino43GradOutputAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func wino43GradKernelAVX512(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }

func winoInputAVX2(*float32, *float32, int, uintptr, uintptr)             { panic("unreachable") }
func winoOutputAVX2(*float32, *float32, int, uintptr, uintptr, float32)   { panic("unreachable") }
func winoKernelAVX2(*float32, *float32, int, uintptr, uintptr)            { panic("unreachable") }
func winoGradOutputAVX2(*float32, *float32, int, uintptr, uintptr)        { panic("unreachable") }
func winoGradKernelAVX2(*float32, *float32, int, uintptr, uintptr)        { panic("unreachable") }
func wino4InputAVX2(*float32, *float32, int, uintptr, uintptr)            { panic("unreachable") }
func wino4OutputAVX2(*float32, *float32, int, uintptr, uintptr, float32)  { panic("unreachable") }
func wino4KernelAVX2(*float32, *float32, int, uintptr, uintptr)           { panic("unreachable") }
func wino4GradOutputAVX2(*float32, *float32, int, uintptr, uintptr)       { panic("unreachable") }
func wino4GradKernelAVX2(*float32, *float32, int, uintptr, uintptr)       { panic("unreachable") }
func wino43InputAVX2(*float32, *float32, int, uintptr, uintptr)           { panic("unreachable") }
func wino43OutputAVX2(*float32, *float32, int, uintptr, uintptr, float32) { panic("unreachable") }
func wino43KernelAVX2(*float32, *float32, int, uintptr, uintptr)          { panic("unreachable") }
func wino43GradOutputAVX2(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func wino43GradKernelAVX2(*float32, *float32, int, uintptr, uintptr)      { panic("unreachable") }
func winoGather16AVX2(*float32, *float32, int, *int32)                    { panic("unreachable") }
func winoScatter16AVX2(*float32, *float32, int, *int32)                   { panic("unreachable") }
