// Package gemm is a single-precision matrix multiply (SGEMM) for CPUs in pure
// Go and Go assembly, in the GotoBLAS/BLIS style: packed panels and a
// register-blocked micro-kernel chosen at run time by CPU features.
package gemm
