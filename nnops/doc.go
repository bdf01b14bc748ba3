// Package nnops holds lgm's own Gorgonia operations for convolutional
// networks: Conv2d (bias fused), MaxPool2d, PReLU and ReLU, in float32 and
// NCHW layout, each with a hand-written forward and backward.
//
// Every constructor takes and returns *gorgonia.Node, and every forward op
// implements gorgonia.SDOp: its SymDiff builds gradient nodes from companion
// backward ops, so the ops work with gorgonia.Grad and a TapeMachine like the
// stock ones (and can replace G.Conv2d + G.BroadcastAdd, G.MaxPool2D and the
// Rectify/Sub/BroadcastHadamardProd/Add composition of PReLU).
//
// # Speed and memory
//
// The stock convolution builds an im2col buffer for the whole batch, then
// transposes and broadcasts; the ops here work one image at a time:
//
//   - Conv2d unfolds one image (im2col) into a buffer of Cin·K·K × H'·W'
//     floats that a worker owns, and multiplies the weights by it with
//     internal/gemm, writing straight into the NCHW output with the bias
//     already in place. The backward recomputes the unfolding instead of
//     keeping it for the whole batch.
//   - Images (or channel planes) are shared among SetThreads workers of a
//     small persistent pool; every GEMM runs single-threaded inside a worker,
//     so leave gemm.SetThreads at its default of 1.
//   - Each op keeps its output tensor and scratch buffers and reuses them on
//     the next run: after the first step the ops allocate nothing.
//
// # Caveats
//
//   - An op's output tensor is overwritten by the op's next run. Gorgonia
//     rebinds node values on every run, so this is only visible to code that
//     keeps a reference to a node's Value across runs: copy it if you need it.
//   - MaxPool2d's backward uses the arg-max recorded by its forward in the same
//     run; ops are not safe for concurrent runs of machines sharing one graph.
//   - Gorgonia adds every run's gradients into the dual values
//     (BindDualValues); clear them between steps (as the optimiser does).
package nnops
