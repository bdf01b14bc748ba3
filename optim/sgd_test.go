package optim

import (
	"math"
	"testing"
)

// TestSGDMatchesHandComputedSteps checks two steps of each variant against
// values worked out by hand from PyTorch's update rule.
func TestSGDMatchesHandComputedSteps(t *testing.T) {
	cases := []struct {
		name     string
		nesterov bool
		wd       float32
		noWD     bool
		lrMult   float32
		want     [2]float64 // w after step 1 and step 2
	}{
		// w=1, g=0.5 (constant), lr=0.1, mu=0.9.
		// plain: v1=0.5 → w=0.95; v2=0.95 → w=0.855.
		{"momentum", false, 0, false, 1, [2]float64{0.95, 0.855}},
		// nesterov: v1=0.5, w -= 0.1·(0.5+0.45) → 0.905; v2=0.95, w -= 0.1·(0.5+0.855) → 0.7695.
		{"nesterov", true, 0, false, 1, [2]float64{0.905, 0.7695}},
		// wd=0.1: g1=0.6, v1=0.6, w=0.94; g2=0.5+0.094=0.594, v2=0.54+0.594=1.134, w=0.8266.
		{"weight decay", false, 0.1, false, 1, [2]float64{0.94, 0.8266}},
		{"no weight decay", false, 0.1, true, 1, [2]float64{0.95, 0.855}},
		// lr multiplier 0.5: half of each plain step.
		{"lr multiplier", false, 0, false, 0.5, [2]float64{0.975, 0.9275}},
	}
	for _, c := range cases {
		w, g := []float32{1}, []float32{0.5}
		s := NewSGD([]Param{{Name: "w", Value: w, Grad: g, LRMult: c.lrMult, NoWD: c.noWD}}, 0.1, 0.9, c.wd, c.nesterov)
		for step := 0; step < 2; step++ {
			s.Step()
			if math.Abs(float64(w[0])-c.want[step]) > 1e-6 {
				t.Errorf("case %v: step %d got w=%v, want %v", c.name, step+1, w[0], c.want[step])
			}
		}
	}
}

func TestStepDecay(t *testing.T) {
	cases := []struct {
		every, epoch int
		want         float64
	}{
		{0, 10, 0.01}, {5, 0, 0.01}, {5, 4, 0.01}, {5, 5, 0.007}, {5, 10, 0.0049},
	}
	for _, c := range cases {
		if got := StepDecay(0.01, 0.7, c.every, c.epoch); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("case %+v: got %v, want %v", c, got, c.want)
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	w, g := make([]float32, 1000), make([]float32, 1000)
	s := NewSGD([]Param{{Name: "w", Value: w, Grad: g, LRMult: 1}}, 0.1, 0.9, 1e-4, true)
	if a := testing.AllocsPerRun(10, s.Step); a != 0 {
		t.Errorf("Step allocates %v times, want 0", a)
	}
}

func TestMilestoneDecay(t *testing.T) {
	for _, c := range []struct {
		epoch int
		want  float64
	}{{0, 0.1}, {149, 0.1}, {150, 0.01}, {224, 0.01}, {225, 0.001}, {400, 0.001}} {
		if got := MilestoneDecay(0.1, 0.1, []int{150, 225}, c.epoch); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("case %+v: got %v", c, got)
		}
	}
}
