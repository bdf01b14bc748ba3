package loss

import (
	"errors"
	"strings"
	"testing"
)

func TestScheduleAt(t *testing.T) {
	// L-Softmax's official MNIST β: 1000·(1 + 2.5e-5·t)^(−35), floored at 0. By hand:
	// t = 1000: 1.025^−35 = e^(−35·0.024693) = 0.42137 → 421.37; t = 5000: 1.125^−35 =
	// e^(−35·0.117783) = 0.016205 → 16.205; t = 10000: 1.25^−35 = e^(−35·0.223144) =
	// 4.0565e-4 → 0.40565 (docs/references.md: ≈ 421, 16, 0.4).
	beta := Schedule{Kind: "inv", Value: 1000, Gamma: 2.5e-5, Power: 35}
	// L-GM's λ in the authors' later MNIST code: 0.1, from 1% to full over 5 epochs.
	lambda := Schedule{Kind: "linear", Value: 0.1, Start: 0.01, Epochs: 5}
	// L-GM's α in the official CIFAR-100 code: 0.1, ×2 every 5000 steps, at most 0.3.
	alpha := Schedule{Kind: "step", Value: 0.1, Every: 5000, Factor: 2, Max: 0.3}
	for _, tc := range []struct {
		name  string
		s     Schedule
		iter  int
		epoch float64
		want  float64
		tol   float64
	}{
		{"zero value", Schedule{}, 100, 3, 0, 0},
		{"constant", Constant(0.3), 100, 3, 0.3, 0},
		{"empty kind is constant", Schedule{Value: 0.2}, 7, 1, 0.2, 0},
		{"inv t=0", beta, 0, 0, 1000, 1e-15},
		{"inv t=1000", beta, 1000, 0, 421.37, 1e-4},
		{"inv t=5000", beta, 5000, 0, 16.205, 1e-4},
		{"inv t=10000", beta, 10000, 0, 0.40565, 1e-4},
		{"inv floored", Schedule{Kind: "inv", Value: 1000, Gamma: 2.5e-5, Power: 35, Min: 5}, 10000, 0, 5, 0},
		{"linear start", lambda, 0, 0, 0.001, 1e-15},
		{"linear mid-epoch", lambda, 0, 2.5, 0.1 * (0.01 + 0.99*0.5), 1e-15},
		{"linear end", lambda, 0, 5, 0.1, 1e-15},
		{"linear after", lambda, 0, 40, 0.1, 0},
		{"step first", alpha, 4999, 0, 0.1, 0},
		{"step second", alpha, 5000, 0, 0.2, 0},
		{"step capped", alpha, 10000, 0, 0.3, 0},
		{"step capped later", alpha, 60000, 0, 0.3, 0},
		{"step no cap", Schedule{Kind: "step", Value: 1, Every: 10, Factor: 0.5}, 25, 0, 0.25, 0},
	} {
		if got := tc.s.At(tc.iter, tc.epoch); !near(got, tc.want, tc.tol) {
			t.Errorf("%s: At(%d, %v) = %.10g, want %.10g", tc.name, tc.iter, tc.epoch, got, tc.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		want []string
	}{
		{Constant(1), nil},
		{Schedule{}, nil},
		{Constant(-1), []string{"head.x must be >= 0 (got -1)"}},
		{Schedule{Kind: "cosine"}, []string{`head.x.kind must be one of constant, linear, step, inv (got "cosine")`}},
		{Schedule{Kind: "linear", Value: 1, Start: -0.1}, []string{"head.x.start must be in [0, 1] (got -0.1)", "head.x.epochs must be > 0 (got 0)"}},
		{Schedule{Kind: "step", Value: 1, Factor: 0, Max: -1}, []string{"head.x.every must be >= 1 (got 0)", "head.x.factor must be > 0 (got 0)", "head.x.max must be >= 0 (got -1)"}},
		{Schedule{Kind: "inv", Value: 1, Gamma: -1, Power: -2, Min: -3}, []string{"head.x.gamma must be >= 0 (got -1)", "head.x.power must be >= 0 (got -2)", "head.x.min must be >= 0 (got -3)"}},
	} {
		errs := tc.s.validate("head.x")
		if len(errs) != len(tc.want) {
			t.Errorf("%+v: got errors %v, want %d: %v", tc.s, errs, len(tc.want), tc.want)
			continue
		}
		if len(errs) == 0 {
			continue
		}
		msg := errors.Join(errs...).Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%+v: errors %q do not contain %q", tc.s, msg, w)
			}
		}
	}
}

// TestDefaultsValid: every head's defaults are a valid configuration once K and D are set.
func TestDefaultsValid(t *testing.T) {
	for _, name := range Names() {
		cfg := Defaults(name)
		cfg.Classes, cfg.Dim = 10, 2
		if errs := cfg.validate(); len(errs) > 0 {
			t.Errorf("Defaults(%q) is invalid: %v", name, errors.Join(errs...))
		}
	}
}
