package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/lgm-dev/lgm/report"
)

// EvalFile is where a run directory (and its published copy) keeps the
// output of `lgm eval RUN --json`: the final checkpoint's error and
// calibration on a whole split. The report reads it for the calibration of
// a run whose checkpoint is not there (a run published without it).
const EvalFile = "eval.json"

// CalibratedEval is lgm eval's result with the calibration of the split's
// posteriors: the mean negative log-likelihood of the true class, the
// expected and maximum calibration errors (report.CalibrationBins
// equal-width bins, fractions) and the multi-class Brier score.
type CalibratedEval struct {
	EvalResult
	Split string  `json:"split,omitempty"` // test, val or train; absent (test) in files of older builds
	NLL   float64 `json:"nll"`
	ECE   float64 `json:"ece"`
	// MCE is absent in the eval.json of builds before it was added.
	MCE   *float64 `json:"mce,omitempty"`
	Brier float64  `json:"brier"`
}

// EvalCalibrated evaluates the checkpoint at path (a run directory or a
// checkpoint file) on a whole split, with calibration.
func EvalCalibrated(ctx context.Context, path string, opts RunOptions) (CalibratedEval, error) {
	out, err := Inspect(ctx, path, opts)
	if err != nil {
		return CalibratedEval{}, err
	}
	c, err := report.Calibrate(out.Posteriors(), out.Labels, 0)
	if err != nil {
		return CalibratedEval{}, err
	}
	mce := c.MCE
	return CalibratedEval{EvalResult: out.Result, Split: splitName(opts.Split), NLL: c.NLL, ECE: c.ECE, MCE: &mce, Brier: c.Brier}, nil
}

// ReadEvalFile reads dir's eval.json; ok is false when there is none.
func ReadEvalFile(dir string) (e CalibratedEval, ok bool, err error) {
	path := filepath.Join(dir, EvalFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CalibratedEval{}, false, nil
	}
	if err != nil {
		return CalibratedEval{}, false, err
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return CalibratedEval{}, false, fmt.Errorf("%s: %w (want the output of lgm eval RUN --json)", path, err)
	}
	return e, true, nil
}

// calibrationOfEval is the calibration an eval.json records, if it is the
// final checkpoint's on the test set: its split is the test set and it
// counts the images and errors of the last epoch's evaluation (ms). The
// result has no bins (no reliability diagram) and a NaN MCE where the file
// has none. why says what did not match, for the report's log.
func calibrationOfEval(e CalibratedEval, ms []Metrics) (c *report.Calibration, why string) {
	if e.Split != "" && e.Split != "test" {
		return nil, fmt.Sprintf("it is of the %s split, not the test set", e.Split)
	}
	if len(ms) == 0 {
		return nil, "the run has no finished epoch"
	}
	last := ms[len(ms)-1]
	if wrong := int(math.Round(last.TestError * float64(last.TestN))); e.N != last.TestN || e.Wrong != wrong {
		return nil, fmt.Sprintf("it counts %d of %d images wrong, the last epoch %d of %d (not the final checkpoint on the test set)",
			e.Wrong, e.N, wrong, last.TestN)
	}
	mce := math.NaN()
	if e.MCE != nil {
		mce = *e.MCE
	}
	return &report.Calibration{N: e.N, ECE: e.ECE, MCE: mce, NLL: e.NLL, Brier: e.Brier}, ""
}
