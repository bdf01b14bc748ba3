package model

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFLOPs checks the counted forward arithmetic per image against figures
// worked by hand from the layer shapes (2·Cin·K·K·Cout·H'·W' per
// convolution, 2·In·Out per FC layer), independent of the batch size.
func TestFLOPs(t *testing.T) {
	// LeNet++ on 1×28×28, 5×5 kernels padded by 2 (H' = H):
	//   conv1_1  1→32  28×28: 2·1·25·32·784    =  1 254 400
	//   conv1_2 32→32  28×28: 2·32·25·32·784   = 40 140 800
	//   conv2_1 32→64  14×14: 2·32·25·64·196   = 20 070 400
	//   conv2_2 64→64  14×14: 2·64·25·64·196   = 40 140 800
	//   conv3_1 64→128  7×7:  2·64·25·128·49   = 20 070 400
	//   conv3_2 128→128 7×7:  2·128·25·128·49  = 40 140 800
	//   fc 1152→D:            2·1152·D         (4 608 at D = 2)
	// total 161 817 600 + 2304·D: ≈ 162 MFLOP at D = 2.
	const lenetppConvs = 1254400 + 40140800 + 20070400 + 40140800 + 20070400 + 40140800
	// LeNet: conv1 1→20 5×5 → 24×24: 2·25·20·576 = 576 000; conv2 20→50 → 8×8:
	// 2·500·50·64 = 3 200 000; fc1 800→500: 800 000; fc2 500→D: 1000·D.
	const lenetFixed = 576000 + 3200000 + 800000
	cases := []struct {
		name    string
		dim, b  int
		c, h, w int
		width   float64
		want    int64
	}{
		{"lenetpp", 2, 1, 1, 28, 28, 1, lenetppConvs + 2*1152*2},
		{"lenetpp", 2, 16, 1, 28, 28, 1, lenetppConvs + 2*1152*2},
		{"lenetpp", 100, 4, 1, 28, 28, 1, lenetppConvs + 2*1152*100},
		{"lenet", 10, 4, 1, 28, 28, 1, lenetFixed + 1000*10},
	}
	for _, c := range cases {
		g := G.NewGraph()
		net, err := New(g, Config{Name: c.name, Dim: c.dim, C: c.c, H: c.h, W: c.w, Width: c.width}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("case %v: %v", c, err)
		}
		x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(c.b, c.c, c.h, c.w), G.WithName("x"))
		if _, err := net.Forward(x); err != nil {
			t.Fatalf("case %v: %v", c, err)
		}
		if got := net.FLOPs(); got != c.want {
			t.Errorf("case %s D=%d batch %d: got %d FLOPs per image, want %d", c.name, c.dim, c.b, got, c.want)
		}
	}
}

// TestFLOPsCIFAR checks VGG and ResNet-20 against sums over their stages:
// VGG's 3×3 convolutions keep the size (padding 1), ResNet-20's first
// convolution of stages 2 and 3 halves it (stride 2).
func TestFLOPsCIFAR(t *testing.T) {
	conv := func(cin, cout, k, hw int) int64 { return 2 * int64(cin*k*k) * int64(cout) * int64(hw*hw) }
	// ResNet-20 at width 1: 16, 32, 64 channels on 32², 16², 8²; 3 blocks of 2 convolutions per stage.
	var resnet int64 = conv(3, 16, 3, 32)
	for s, c := range []int{16, 32, 64} {
		hw := 32 >> s
		for blk := 0; blk < 3; blk++ {
			cin := c
			if blk == 0 && s > 0 {
				cin = c / 2
			}
			resnet += conv(cin, c, 3, hw) + conv(c, c, 3, hw)
		}
	}
	g := G.NewGraph()
	net, err := New(g, Config{Name: "resnet20", Dim: 64, C: 3, H: 32, W: 32, Width: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 32, 32), G.WithName("x"))
	if _, err := net.Forward(x); err != nil {
		t.Fatal(err)
	}
	if got := net.FLOPs(); got != resnet {
		t.Errorf("resnet20 width 1, D = 64 (no FC): got %d FLOPs per image, want %d", got, resnet)
	}
}
