//go:build !amd64

package nnops

var hasWinoAVX512 = false

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
