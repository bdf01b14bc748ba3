// Package data holds lgm's labelled image sets in memory and everything that
// happens to them before they reach a network: reading files (IDX for MNIST and
// Fashion-MNIST), finding data folders on this machine, per-channel
// normalisation, and seeded shuffling and batching.
//
// Images are float32 in N×C×H×W row-major order, scaled to [0,1] when read.
// The package does not import Gorgonia; callers copy batches into their own
// tensors with [Set.Gather].
//
// Readers never panic on malformed input: every problem with a file comes
// back as an error that names the file and the problem on one line. Functions
// that take indices or buffers from the program itself ([Set.Gather],
// [Set.Subset], [Norm.Apply]) panic on programmer errors such as mismatched
// lengths, as slice indexing would.
package data
