package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trainTiny trains a 2-D L-GM LeNet on a tiny MNIST-shaped set for an epoch.
func trainTiny(t *testing.T) (run, data string) {
	t.Helper()
	data = mnistDir(t, 100, 37)
	run = filepath.Join(t.TempDir(), "lgm2d")
	code, out, stderr := lgm(t, "train", "--net", "lenet", "--head", "lgm", "--dim", "2", "--data", data, "--epochs", "1", "--batch", "16", "--threads", "1", "--out", run)
	if code != exitOK {
		t.Fatalf("train: exit %d\n%s\n%s", code, out, stderr)
	}
	return run, data
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("%s: not a PNG: %v", path, err)
	}
}

func TestPlotReportEval(t *testing.T) {
	run, data := trainTiny(t)
	tmp := t.TempDir()

	code, out, stderr := lgm(t, "eval", run, "--json", "--data", data, "--threads", "1")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("eval --json printed %q: %v", out, err)
	}
	num := map[string]float64{}
	for _, k := range []string{"wrong", "n", "error", "img_s", "nll", "ece", "mce", "brier"} {
		v, ok := res[k].(float64)
		if !ok {
			t.Errorf("eval --json: no number %q in %s", k, out)
		}
		num[k] = v
	}
	if res["split"] != "test" {
		t.Errorf("eval --json: split %v, want \"test\"", res["split"])
	}
	if num["ece"] < 0 || num["ece"] > num["mce"] || num["mce"] > 1 || num["brier"] < 0 || num["brier"] > 2 || num["nll"] < 0 {
		t.Errorf("eval --json: got ece %v, mce %v, brier %v, nll %v; want 0 ≤ ece ≤ mce ≤ 1, brier in [0, 2], nll ≥ 0", num["ece"], num["mce"], num["brier"], num["nll"])
	}

	for i, test := range []struct {
		args []string
		file string // written, relative to the run directory when not absolute
	}{
		{[]string{"plot", "features", run}, "features-test.png"},
		{[]string{"plot", "features", run, run, "--split", "train", "--out", filepath.Join(tmp, "f.svg")}, filepath.Join(tmp, "f.svg")},
		{[]string{"plot", "likelihood", run, "--grid", "30"}, "likelihood.png"},
		{[]string{"plot", "curves", run, run, "--out", filepath.Join(tmp, "c.png")}, filepath.Join(tmp, "c.png")},
		{[]string{"plot", "calibration", run}, "calibration.png"},
		{[]string{"plot", "confusion", run}, "confusion.png"},
	} {
		args := append(test.args, "--data", data, "--threads", "1")
		if test.args[1] == "curves" {
			args = test.args
		}
		code, out, stderr := lgm(t, args...)
		if code != exitOK {
			t.Errorf("case %v: lgm %v: exit %d: %s", i, test.args, code, stderr)
			continue
		}
		path := test.file
		if !filepath.IsAbs(path) {
			path = filepath.Join(run, path)
		}
		if !strings.Contains(out, "wrote "+path) {
			t.Errorf("case %v: printed %q, want it to name %s", i, out, path)
		}
		if strings.HasSuffix(path, ".png") {
			checkPNG(t, path)
			continue
		}
		raw, _ := os.ReadFile(path)
		dec := xml.NewDecoder(bytes.NewReader(raw))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Errorf("case %v: %s is not XML: %v", i, path, err)
				break
			}
		}
	}

	// Errors: a format lgm does not write is a usage error; an attack
	// picture of a run without lgm attack says what to run.
	if code, _, stderr := lgm(t, "plot", "curves", run, "--out", filepath.Join(tmp, "c.pdf")); code != exitUsage || !strings.Contains(stderr, ".png or .svg") {
		t.Errorf("--out c.pdf: got exit %d, %q; want %d naming .png or .svg", code, stderr, exitUsage)
	}
	if code, _, stderr := lgm(t, "plot", "attack", run); code != exitFailure || !strings.Contains(stderr, "lgm attack") {
		t.Errorf("plot attack without attack files: got exit %d, %q; want %d saying to run lgm attack", code, stderr, exitFailure)
	}
	if code, _, _ := lgm(t, "plot", "nonsense", run); code != exitUsage {
		t.Errorf("plot nonsense: got exit %d, want %d", code, exitUsage)
	}

	csvPath, pngPath := filepath.Join(tmp, "e.csv"), filepath.Join(tmp, "e.png")
	if code, _, stderr := lgm(t, "embed", run, "--out", csvPath, "--plot", pngPath, "--data", data, "--threads", "1"); code != exitOK {
		t.Fatalf("embed --plot: exit %d: %s", code, stderr)
	}
	checkPNG(t, pngPath)

	// A report of a run with no attack results.
	dir := filepath.Join(tmp, "report")
	code, out, stderr = lgm(t, "report", run, "--out", dir, "--data", data, "--grid", "30", "--threads", "1")
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Runs", "## Calibration", "## Figure 1: 2-D features", "## Training curves", "lgm (α = 1, λ = 0.1)"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if bytes.Contains(md, []byte("Adversarial detection")) {
		t.Error("report.md of a run without attacks has a detection section")
	}
	if n := bytes.Count(page, []byte("data:image/png;base64,")); n < 4 {
		t.Errorf("report.html has %d inline pictures, want at least 4 (features, likelihood, curves, calibration)", n)
	}
	for _, name := range []string{"curves.png", "calibration.png", "features-lgm2d.png", "likelihood-lgm2d.png"} {
		checkPNG(t, filepath.Join(dir, name))
	}
}

func TestPlotReportHelp(t *testing.T) {
	for _, args := range [][]string{{"plot", "--help"}, {"plot", "features", "--help"}, {"plot", "likelihood", "--help"}, {"plot", "curves", "--help"},
		{"plot", "attack", "--help"}, {"plot", "calibration", "--help"}, {"report", "--help"}} {
		code, out, _ := lgm(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("case %v: got exit %d, output %q; want 0 with usage and examples", args, code, out)
		}
	}
}
