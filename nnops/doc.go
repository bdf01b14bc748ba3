// Package nnops holds lgm's own Gorgonia operations for convolutional
// networks: Conv2d (bias fused, or none), MaxPool2d, PReLU, ReLU, BatchNorm
// and BatchNorm fused with ReLU, in float32 and NCHW layout, each with a
// hand-written forward and backward.
//
// Every constructor takes and returns *gorgonia.Node, and every forward op
// implements gorgonia.SDOp: its SymDiff builds gradient nodes from companion
// backward ops, so the ops work with gorgonia.Grad and a TapeMachine like the
// stock ones, and replace G.Conv2d + G.BroadcastAdd, G.MaxPool2D and the
// Rectify/Sub/BroadcastHadamardProd/Add composition of PReLU (a test checks
// that losses and gradients agree). Biases and slopes may be shaped (C) or
// (1, C, 1, 1). The ops have no ADOp (DoDiff), so they do not work with the
// LispMachine's automatic differentiation.
//
// # Speed and memory
//
// The stock convolution builds an im2col buffer for the whole batch, then
// transposes and broadcasts; the ops here work one image (or a few small
// ones) at a time:
//
//   - Conv2d unfolds an image (im2col) into a buffer of Cin·K·K × H'·W'
//     floats that a worker owns, and multiplies the weights by it with
//     internal/gemm, writing straight into the NCHW output with the bias
//     folded into the GEMM. The buffer's rows are padded to a stride the GEMM
//     reads in place (gemm.InPlaceStride), so it is not copied again into
//     the GEMM's packed layout. The backward recomputes the unfolding instead
//     of keeping it for the whole batch. Without a bias (before a batch
//     normalisation) there is no bias term and no bias-gradient op.
//   - 5×5 stride-1 convolutions with at least 16 input channels (LeNet++'s
//     but its first) run by Winograd F(4×4, 5×5) on AVX-512 (wino.go): 64
//     products per 4×4 output tile and channel pair instead of 400, as 64
//     GEMMs over blocks of tiles between AVX-512 transforms with one image
//     per vector lane; the forward, the dx that is a convolution and dw.
//     Its float32 error is about 10–20× the direct sum's (≤ 5.8e-6 of the
//     largest output, dw ≤ 8e-6; F(2×2, 5×5), LGM_WINO_M=2: 1.7e-6 and
//     3.4e-6). 3×3 stride-1 convolutions (VGG's and ResNet-20's, but
//     their first and the strided ones) run the same way by F(4×4, 3×3): 36
//     products per tile instead of 144, float32 error ≤ 4.3e-6 of the
//     largest output. LGM_WINO=0 turns Winograd off, LGM_WINO3=0 for 3×3.
//   - Images (or channel planes) are shared among SetThreads workers of a
//     small persistent pool; every GEMM runs single-threaded inside a worker,
//     so leave gemm.SetThreads at its default of 1.
//   - Each op keeps its output tensor and reuses it on the next run; working
//     buffers come from one free list shared by all ops. After the first
//     step the ops allocate nothing (a test checks it).
//   - Elementwise loops use conditional moves, not branches.
//
// On the 2-core AVX-512 development host, a LeNet++ training step at batch
// 128 (BenchmarkLeNetPPStep) runs at 210–245 images/s on one thread (about
// 530 ms of CPU per step) and 380–430 on two when the other core is free
// (PyTorch 1.13, PERFORMANCE.md: 210–230 and 280–360), against about 30 for
// the stock ops; the benchmark process peaks at about 235 MB (stock: 5.7 GB).
// GEMM is about 60 % of the step.
//
// # Caveats
//
//   - An op's output tensor is overwritten by the op's next run. Gorgonia
//     rebinds node values on every run, so this is only visible to code that
//     keeps a reference to a node's Value across runs: copy it if you need it.
//   - MaxPool2d's backward uses the arg-max recorded by its forward in the same
//     run, and ops keep per-run state: do not run two machines that share a
//     graph at the same time.
//   - Conv2d always builds the input gradient, even for the first layer, whose
//     input is the image batch (Gorgonia does not tell an op which gradients
//     are wanted, and FGSM needs that one); for LeNet++'s one-channel input
//     it is 0.3 % of the step's arithmetic.
//   - Gorgonia adds every run's gradients into the dual values
//     (BindDualValues); clear them between steps (as the optimiser does).
package nnops
