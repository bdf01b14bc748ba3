package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/report"
)

// synthOpts are the synthetic sets trainSmall trains on.
func synthOpts() RunOptions {
	return RunOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
}

func TestInspectAndHeadLogLik(t *testing.T) {
	for _, head := range []string{"softmax", "center", "lgm"} {
		cfg := smallConfig()
		cfg.Head = HeadDefaults(head)
		cfg.Model.Dim = 2
		cfg.Train.Epochs = 1
		dir := trainSmall(t, cfg)
		res, err := Evaluate(context.Background(), dir, synthOpts())
		if err != nil {
			t.Fatal(err)
		}
		out, err := Inspect(context.Background(), dir, synthOpts())
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Wrong != res.Wrong || len(out.Labels) != 70 || len(out.Logits) != 70*4 || len(out.Feats) != 70*2 {
			t.Fatalf("case %v: got %d wrong, %d labels, %d logits, %d features, want %d wrong, 70, 280, 140",
				head, out.Result.Wrong, len(out.Labels), len(out.Logits), len(out.Feats), res.Wrong)
		}
		for i, p := range out.Posteriors() {
			var s float64
			best := 0
			for k, v := range p {
				s += v
				if v > p[best] {
					best = k
				}
			}
			if math.Abs(s-1) > 1e-9 || best != out.Preds[i] {
				t.Fatalf("case %v: row %d: posteriors sum to %v with argmax %d, want 1 and the prediction %d", head, i, s, best, out.Preds[i])
			}
		}
		ck, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		// The head's score at the test features, and at points of a grid
		// (more than one graph batch), against the formula of each head.
		pts := out.Features()
		for x := -3.0; x <= 3; x += 0.1 {
			for y := -3.0; y <= 3; y += 1.5 {
				pts = append(pts, []float64{x, y})
			}
		}
		got, err := HeadLogLik(dir, pts)
		if err != nil {
			t.Fatalf("case %v: %v", head, err)
		}
		for i, p := range pts {
			want := refLogLik(ck, head, p)
			if math.Abs(got[i]-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("case %v: point %v: got %v, want %v", head, p, got[i], want)
			}
		}
		if out.Centres == nil && head != "softmax" {
			t.Errorf("case %v: got no centres from the checkpoint", head)
		}
	}
}

// refLogLik is each head's log-likelihood score at x, from the checkpoint's
// parameters (REFERENCE.md §4): the winning logit for softmax, −½‖x − c_ŷ‖²
// for center (ŷ the prediction of its linear layer), max_k log N(x; μ_k, I)
// for L-GM with identity covariance.
func refLogLik(ck *Checkpoint, head string, x []float64) float64 {
	d := len(x)
	if head == "lgm" {
		mu, k := ck.Tensors["head.means"], ck.Shapes["head.means"][0]
		best := math.Inf(-1)
		for c := range k {
			var dd float64
			for j := range d {
				v := x[j] - float64(mu[c*d+j])
				dd += v * v
			}
			best = max(best, -dd/2-float64(d)/2*math.Log(2*math.Pi))
		}
		return best
	}
	w, k := ck.Tensors["head.W"], ck.Shapes["head.W"][1]
	b := ck.Tensors["head.b"]
	bestK, best := 0, math.Inf(-1)
	for c := range k {
		z := 0.0
		for j := range d {
			z += x[j] * float64(w[j*k+c])
		}
		if b != nil {
			z += float64(b[c])
		}
		if z > best {
			bestK, best = c, z
		}
	}
	if head == "softmax" {
		return best
	}
	cs := ck.Tensors["head.centers"]
	var dd float64
	for j := range d {
		v := x[j] - float64(cs[bestK*d+j])
		dd += v * v
	}
	return -dd / 2
}

func TestReadReportRun(t *testing.T) {
	cfg := smallConfig()
	cfg.Head = HeadDefaults("lgm")
	cfg.Model.Dim = 2
	cfg.Train.Epochs = 1
	dir := trainSmall(t, cfg)
	o := synthOpts()
	opts := ReportOptions{Inspect: true, Likelihood: true, GridN: 20, Train: o.Train, Test: o.Test}

	// Without attack files: no attack results, but calibration, features and the map.
	r, err := ReadReportRun(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attacks != nil || r.Scores != nil || r.Calibration == nil || r.Features == nil || r.Likelihood == nil {
		t.Fatalf("got attacks %v, scores %v, calibration %v, features %v, likelihood %v; want none, none, and the other three",
			r.Attacks, r.Scores, r.Calibration != nil, r.Features != nil, r.Likelihood != nil)
	}
	if len(r.Likelihood.Z) != 400 || r.Setting != "α = 1, λ = 0.1" || r.Alpha != 1 || r.Epochs != 1 {
		t.Errorf("got %d field values, setting %q, α %v, %d epochs; want 400, \"α = 1, λ = 0.1\", 1, 1", len(r.Likelihood.Z), r.Setting, r.Alpha, r.Epochs)
	}

	// With the files lgm attack writes.
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("attack-fgsm.json", `{"method": "fgsm", "loss": "xent", "n": 70, "seed": 1, "results": [{"eps": 0, "error": 0.1, "wrong": 7, "n": 70}, {"eps": 0.1, "error": 0.5, "wrong": 35, "n": 70, "successful": 30, "auroc": 0.91, "auroc_posterior": 0.85, "tnr_at_tpr95": 0.6}]}`)
	var scores, feats strings.Builder
	scores.WriteString("index,label,eps,prediction,loglik,posterior\n")
	feats.WriteString("index,label,eps,prediction,f1,f2\n")
	for _, e := range []float64{0, 0.1, 0.2} {
		for i := range 70 {
			fmt.Fprintf(&scores, "%d,%d,%g,%d,%g,%g\n", i, i%4, e, i%4, -float64(i)*e, 1-e)
			fmt.Fprintf(&feats, "%d,%d,%g,%d,%g,%g\n", i, i%4, e, i%4, e, -e)
		}
	}
	write("attack-fgsm.csv", scores.String())
	write("attack-fgsm-features.csv", feats.String())
	r, err = ReadReportRun(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Attacks) != 1 || len(r.Attacks[0].Results) != 2 || *r.Attacks[0].Results[1].AUROC != 0.91 || r.Attacks[0].Results[0].AUROC != nil {
		t.Fatalf("got attacks %+v, want fgsm with the clean entry and ε = 0.1 with AUROC 0.91", r.Attacks)
	}
	if len(r.Scores) != 1 || len(r.Scores[0].Rows) != 210 {
		t.Fatalf("got %d score sets, want one of 210 rows", len(r.Scores))
	}
	m := r.Likelihood.Marked
	if len(m) != 70 || m[0][0] != 0.1 || m[0][1] != -0.1 || r.Likelihood.MarkedName != "FGSM ε = 0.1" {
		t.Errorf("got %d marked points (first %v) named %q, want the 70 at the smallest ε, 0.1", len(m), m[0], r.Likelihood.MarkedName)
	}

	write("attack-fgsm.csv", "index,label,eps\n1,2,3\n")
	if _, err := ReadReportRun(context.Background(), dir, ReportOptions{}); err == nil || !strings.Contains(err.Error(), `no column "prediction"`) {
		t.Errorf("a scores file without its columns: got %v, want an error naming the column", err)
	}
}

// TestReportRunFromEvalFile checks that a run without its checkpoint gets
// the calibration its eval.json recorded, and only when that file is of the
// final checkpoint on the test set.
func TestReportRunFromEvalFile(t *testing.T) {
	cfg := smallConfig()
	cfg.Train.Epochs = 1
	dir := trainSmall(t, cfg)
	o := synthOpts()
	ctx := context.Background()
	opts := ReportOptions{Inspect: true, Train: o.Train, Test: o.Test}
	withCk, err := ReadReportRun(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EvalCalibrated(ctx, dir, RunOptions{Train: o.Train, Test: o.Test})
	if err != nil {
		t.Fatal(err)
	}
	c := withCk.Calibration
	if c == nil || len(c.Bins) == 0 || e.Split != "test" || e.MCE == nil || e.ECE != c.ECE || *e.MCE != c.MCE || e.NLL != c.NLL || e.Brier != c.Brier || e.N != withCk.TestN {
		t.Fatalf("lgm eval's figures %+v (MCE %v) differ from the report's calibration %+v", e, e.MCE, c)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	evalPath := filepath.Join(dir, EvalFile)
	if err := os.WriteFile(evalPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	read := func() (*report.Run, string) {
		t.Helper()
		var log strings.Builder
		o := opts
		o.Log = &log
		r, err := ReadReportRun(ctx, dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return r, log.String()
	}
	r, _ := read()
	if f := r.Calibration; f == nil || len(f.Bins) != 0 || f.ECE != c.ECE || f.MCE != c.MCE || f.NLL != c.NLL || f.Brier != c.Brier || f.N != e.N {
		t.Fatalf("without the checkpoint: got calibration %+v, want the eval.json's %+v without bins", f, e)
	}

	// A file of an older lgm eval: no split, no MCE.
	var old map[string]any
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	delete(old, "mce")
	delete(old, "split")
	writeJSON := func(v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(evalPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeJSON(old)
	if r, _ := read(); r.Calibration == nil || !math.IsNaN(r.Calibration.MCE) || r.Calibration.NLL != c.NLL {
		t.Errorf("an eval.json without mce: got %+v, want its NLL and a NaN MCE", r.Calibration)
	}

	// Not the final checkpoint on the test set: not used, and the log says why.
	old["wrong"] = e.Wrong + 1
	writeJSON(old)
	if r, log := read(); r.Calibration != nil || !strings.Contains(log, "not the final checkpoint") {
		t.Errorf("an eval.json with another count: got calibration %+v and log %q, want none and the reason", r.Calibration, log)
	}
	old["wrong"], old["split"] = e.Wrong, "train"
	writeJSON(old)
	if r, log := read(); r.Calibration != nil || !strings.Contains(log, "train split") {
		t.Errorf("an eval.json of the train split: got calibration %+v and log %q, want none and the reason", r.Calibration, log)
	}
	if err := os.WriteFile(evalPath, []byte("wrong 12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReportRun(ctx, dir, opts); err == nil || !strings.Contains(err.Error(), evalPath) {
		t.Errorf("an eval.json that is not JSON: got %v, want an error naming it", err)
	}
}
