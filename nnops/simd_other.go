//go:build !amd64

package nnops

var useSIMD = false

func shiftedSumsAVX2(*float32, int, float64) (float64, float64)                 { panic("unreachable") }
func gradSumsAVX2(*float32, *float32, int, float32, float32) (float64, float64) { panic("unreachable") }
func normAffineAVX2(*float32, *float32, int, float32, float32, float32, float32) {
	panic("unreachable")
}
func bnDxAVX2(*float32, *float32, *float32, int, float32, float32, float32, float32, float32) {
	panic("unreachable")
}
func reluAVX2(*float32, *float32, int)               { panic("unreachable") }
func reluGradAVX2(*float32, *float32, *float32, int) { panic("unreachable") }

func normAffineReLUAVX2(*float32, *float32, int, float32, float32, float32, float32) {
	panic("unreachable")
}
func gradSumsMaskedAVX2(*float32, *float32, *float32, int, float32, float32) (float64, float64) {
	panic("unreachable")
}
func bnDxMaskedAVX2(*float32, *float32, *float32, *float32, int, float32, float32, float32, float32, float32) {
	panic("unreachable")
}

func preluAVX2(*float32, *float32, int, float32)                { panic("unreachable") }
func preluGradXAVX2(*float32, *float32, *float32, int, float32) { panic("unreachable") }
func preluGradASumAVX2(*float32, *float32, int) float32         { panic("unreachable") }

func max2x2AVX2(*float32, int, int, *float32, *int32, int) int { panic("unreachable") }
