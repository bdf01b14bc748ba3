//go:build !unix

package nnops

// cpuTime is not measured on this system.
func cpuTime() int64 { return 0 }
