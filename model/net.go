// Package model holds the networks of lgm as Gorgonia subgraphs that map a
// batch of images (B, C, H, W) to features (B, D). A network owns its
// parameters and knows nothing of labels or losses.
package model

import (
	"fmt"
	"math/rand/v2"
	"strings"

	G "gorgonia.org/gorgonia"
)

// Net maps images to features and owns its parameters.
type Net interface {
	// Forward adds the network to x's graph: (B, C, H, W) → (B, D).
	Forward(x *G.Node) (feat *G.Node, err error)
	// Learnables are the trainable parameters, in a fixed order.
	Learnables() G.Nodes
	// Name is the config name of the network.
	Name() string
	// FLOPs is the floating-point arithmetic of one image's forward pass
	// through the convolutions and fully connected layers, counted from
	// their shapes (a multiply-add is 2; biases, activations, pooling and
	// normalisation are not counted): 2·Cin·K·K·Cout·H'·W' per convolution,
	// 2·In·Out per FC layer. Valid after Forward. A training step is about 3
	// times this per image (forward, and the backward's two products).
	FLOPs() int64
}

// Buffered is a network with state that is not learnable but belongs in a
// checkpoint, like PyTorch's buffers (VGG's batch-norm running means and
// variances). Save and restore Buffers along with Learnables, by node name;
// restore by copying into each node's Value().Data(), whose memory the
// network reads and writes (never G.Let a new tensor).
type Buffered interface {
	Buffers() G.Nodes
}

// TrainModer is a network that behaves differently in training and
// evaluation (VGG's batch normalisation: batch statistics and running
// statistics updated, or running statistics). The mode is read when the
// graph runs, so call SetTraining(true) before every training run and
// SetTraining(false) before every evaluation run of machines that share
// the graph.
type TrainModer interface {
	SetTraining(training bool)
}

// Config describes a network to build.
type Config struct {
	Name    string // "lenet", "lenetpp", "resnet20" or "vgg"
	Dim     int    // D, the size of the feature
	C, H, W int    // input channels and size
	// Stock builds the network from Gorgonia's own Conv2d, MaxPool2D and
	// element-wise ops instead of package nnops: slow and memory hungry,
	// kept as the reference the fast ops are tested against.
	Stock bool
	// Width multiplies the channel counts of VGG (96, 192, 384 at 1; each
	// rounded, at least 1) and ResNet-20 (16, 32, 64 at 1: c, 2c, 4c with
	// c = round(16·Width), at least 1); 0 means 1. Other networks ignore it.
	Width float64
}

// Names lists the networks New knows.
var Names = []string{"lenet", "lenetpp", "resnet20", "vgg"}

// PooledDim is the size of the globally pooled feature of the CIFAR
// networks at width multiplier width (0 means 1): the last stage's channels,
// vgg's round(384·width) and resnet20's 4·round(16·width). A Config.Dim equal
// to it makes the pooled feature the network's output; any other adds a
// linear layer to Dim. 0 for the networks that end in a linear layer anyway.
func PooledDim(name string, width float64) int {
	switch name {
	case "vgg":
		if width == 0 {
			width = 1
		}
		return vggWidth(width, vggStages[len(vggStages)-1].width)
	case "resnet20":
		return ResNetWidths(width)[2]
	}
	return 0
}

// New builds the network cfg.Name with its parameters in g, drawn from rng.
func New(g *G.ExprGraph, cfg Config, rng *rand.Rand) (Net, error) {
	if cfg.Dim < 1 {
		return nil, fmt.Errorf("feature size must be >= 1 (got %d)", cfg.Dim)
	}
	switch cfg.Name {
	case "lenet":
		return newLeNet(g, cfg, rng)
	case "lenetpp":
		return newLeNetPP(g, cfg, rng)
	case "resnet20":
		return newResNet20(g, cfg, rng)
	case "vgg":
		return newVGG(g, cfg, rng)
	default:
		return nil, fmt.Errorf("unknown net %q (want one of: %s)", cfg.Name, strings.Join(Names, ", "))
	}
}
