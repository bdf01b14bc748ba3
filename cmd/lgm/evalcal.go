package main

import (
	"context"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/report"
)

// calibratedResult is lgm eval's result with the calibration of the test
// posteriors: the mean negative log-likelihood of the true class, the
// expected calibration error (15 equal-width bins, a fraction) and the
// multi-class Brier score.
type calibratedResult struct {
	experiment.EvalResult
	NLL   float64 `json:"nll"`
	ECE   float64 `json:"ece"`
	Brier float64 `json:"brier"`
}

// evalCalibrated evaluates a run on a whole split, with calibration.
func evalCalibrated(ctx context.Context, path string, opts experiment.RunOptions) (calibratedResult, error) {
	out, err := experiment.Inspect(ctx, path, opts)
	if err != nil {
		return calibratedResult{}, err
	}
	c, err := report.Calibrate(out.Posteriors(), out.Labels, 0)
	if err != nil {
		return calibratedResult{}, err
	}
	return calibratedResult{EvalResult: out.Result, NLL: c.NLL, ECE: c.ECE, Brier: c.Brier}, nil
}
