package experiment

import (
	"strings"
	"testing"
	"time"
)

func TestEvalProgress(t *testing.T) {
	cases := []struct {
		name      string
		terminal  bool
		lineEvery time.Duration
		quiet     bool
	}{{"quiet", false, 0, true}, {"lines", false, time.Nanosecond, false}, {"bar", true, time.Minute, false}}
	for _, c := range cases {
		var out strings.Builder
		marks := 0
		each := evalProgress(&out, c.terminal, c.lineEvery, "evaluating test", 10, 4, func() { marks++ })
		for i := 0; i < 10; i++ {
			each(i, 0, 0, nil)
		}
		if marks != 3 {
			t.Errorf("case %v: mark called %d times, want once per batch (3)", c.name, marks)
		}
		if got := out.String(); c.quiet != (got == "") {
			t.Errorf("case %v: printed %q", c.name, got)
		}
		if c.name == "lines" {
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if !strings.HasPrefix(l, "evaluating test: ") || !strings.Contains(l, "/10 images") {
					t.Errorf("case %v: line %q", c.name, l)
				}
			}
		}
	}
}
