// Package model holds the networks of lgm as Gorgonia subgraphs that map a
// batch of images (B, C, H, W) to features (B, D). A network owns its
// parameters and knows nothing of labels or losses.
package model

import (
	"fmt"
	"math/rand/v2"

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
}

// Config describes a network to build.
type Config struct {
	Name    string // "lenet" or "lenetpp"
	Dim     int    // D, the size of the feature
	C, H, W int    // input channels and size
	// Stock builds the network from Gorgonia's own Conv2d, MaxPool2D and
	// element-wise ops instead of package nnops: slow and memory hungry,
	// kept as the reference the fast ops are tested against.
	Stock bool
}

// Names lists the networks New knows.
var Names = []string{"lenet", "lenetpp"}

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
	default:
		return nil, fmt.Errorf("unknown net %q (want one of: lenet, lenetpp)", cfg.Name)
	}
}
