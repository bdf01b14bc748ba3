//go:build !race

package nnops

const raceEnabled = false
