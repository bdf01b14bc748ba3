//go:build !unix

package experiment

// peakRSSMB is 0 here: this system's peak resident set size is not read.
func peakRSSMB() float64 { return 0 }
