package report

import (
	"testing"

	"gonum.org/v1/plot"
)

// TestTrimZeros checks the tick labels' trailing zeros, and that
// shortTicks keeps gonum's tick positions.
func TestTrimZeros(t *testing.T) {
	for in, want := range map[string]string{
		"-25.00": "-25", "25.00": "25", "0.00": "0", "-0.00": "0", "7.50": "7.5", "-12.50": "-12.5",
		"150": "150", "0.25": "0.25", "1e+06": "1e+06", "": "", "100.0": "100",
	} {
		if got := trimZeros(in); got != want {
			t.Errorf("trimZeros(%q) = %q, want %q", in, got, want)
		}
	}
	ts, def := shortTicks{}.Ticks(-27, 27), plot.DefaultTicks{}.Ticks(-27, 27)
	if len(ts) != len(def) {
		t.Fatalf("shortTicks gave %d ticks, DefaultTicks %d", len(ts), len(def))
	}
	for i := range ts {
		if ts[i].Value != def[i].Value || ts[i].Label != trimZeros(def[i].Label) {
			t.Errorf("tick %d: %+v, want value %v label %q", i, ts[i], def[i].Value, trimZeros(def[i].Label))
		}
	}
}
