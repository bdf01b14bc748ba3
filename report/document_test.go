package report

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	for i, test := range []struct {
		xs        []float64
		mean, std float64
		text      string
	}{
		{[]float64{0.01, 0.02, 0.03}, 0.02, 0.01, "2.00 ± 1.00"},
		{[]float64{0.0071}, 0.0071, math.NaN(), "0.71"},
		{nil, math.NaN(), math.NaN(), "–"},
		{[]float64{0.005, 0.007}, 0.006, math.Sqrt(2e-6), "0.60 ± 0.14"},
	} {
		m := Summarize(test.xs)
		same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12 }
		if !same(m.Mean, test.mean) || !same(m.Std, test.std) || m.N != len(test.xs) {
			t.Errorf("case %v: got %v ± %v (n %d), want %v ± %v (n %d)", i, m.Mean, m.Std, m.N, test.mean, test.std, len(test.xs))
		}
		if got := m.Format(100, 2); got != test.text {
			t.Errorf("case %v: got %q, want %q", i, got, test.text)
		}
	}
}

func TestGroupRuns(t *testing.T) {
	runs := []*Run{
		{Name: "lgm-s2", Key: "lgm", Seed: 2, Epochs: 3, TestError: 0.006},
		{Name: "sm-s1", Key: "softmax", Seed: 1, Epochs: 3, TestError: 0.01},
		{Name: "lgm-s1", Key: "lgm", Seed: 1, Epochs: 3, TestError: 0.004},
		{Name: "lgm-s3", Key: "lgm", Seed: 3, Epochs: 2, TestError: 0.008},
		{Name: "empty", Key: "lgm", Seed: 4, Epochs: 0, TestError: 0.9}, // no epoch yet: left out
	}
	groups := GroupRuns(runs)
	if len(groups) != 2 {
		t.Fatalf("got %d groups, want 2", len(groups))
	}
	var names []string
	for _, r := range groups[0].Runs {
		names = append(names, r.Name)
	}
	if got, want := strings.Join(names, " "), "lgm-s1 lgm-s2 lgm-s3"; got != want {
		t.Errorf("case 0: got runs %v, want %v (by seed)", got, want)
	}
	if m := groups[0].Error; math.Abs(m.Mean-0.006) > 1e-12 || math.Abs(m.Std-0.002) > 1e-12 || m.N != 3 {
		t.Errorf("case 0: got %v ± %v over %d, want 0.006 ± 0.002 over 3", m.Mean, m.Std, m.N)
	}
	if got := groups[0].Epochs(); got != "2–3" {
		t.Errorf("case 0: got epochs %q, want 2–3", got)
	}
	if m := groups[1].Error; m.N != 1 || m.Mean != 0.01 || !math.IsNaN(m.Std) {
		t.Errorf("case 1: got %+v, want 0.01 over 1 seed, no std", m)
	}
}

func TestPaperFor(t *testing.T) {
	for i, test := range []struct {
		s    PaperSetting
		eps  float64
		want string // "source=error[:proxy]" joined by spaces
	}{
		{PaperSetting{Dataset: "mnist", Net: "lenetpp", Head: "lgm", Dim: 100, Alpha: 1}, 0, "Table 6=0.39 authors' code, 100-D=0.3"},
		{PaperSetting{Dataset: "mnist", Net: "lenetpp", Head: "lgm", Dim: 100, Alpha: 1}, 0.2, "Table 6=64.4"},
		{PaperSetting{Dataset: "mnist", Net: "lenetpp", Head: "lgm", Dim: 100, Alpha: 0.5}, 0, ""},
		{PaperSetting{Dataset: "mnist", Net: "lenetpp", Head: "softmax", Dim: 2}, 0, "authors' code, 2-D=0.98"},
		{PaperSetting{Dataset: "mnist", Net: "lenetpp", Head: "center", Dim: 2}, 0, "center-loss port, 2-D=1.5"},
		{PaperSetting{Dataset: "mnist", Net: "lenet", Head: "center", Dim: 100}, 0.1, "Table 6=43.13"},
		{PaperSetting{Dataset: "cifar10", Net: "vgg", Head: "softmax", Dim: 96, Augment: true}, 0, "Table 3 C100+=21.6:paper: CIFAR-100"},
		{PaperSetting{Dataset: "cifar100", Net: "vgg", Head: "lgm", Dim: 384, Alpha: 0.2}, 0, "Table 3 C100=23.04"},
		{PaperSetting{Dataset: "cifar100", Net: "lenet", Head: "lgm", Dim: 384, Alpha: 0.2}, 0, ""},
		{PaperSetting{Dataset: "fashion-mnist", Net: "lenetpp", Head: "softmax", Dim: 100}, 0, ""},
		// The shipped cifar10-resnet20-lgm config (augmented, α = 0.3, the
		// pooled 64-D feature) meets the authors' figure; without
		// augmentation it is another setting.
		{PaperSetting{Dataset: "cifar10", Net: "resnet20", Head: "lgm", Dim: 64, Alpha: 0.3, Augment: true}, 0, "authors' code, ResNet-20=7.2"},
		{PaperSetting{Dataset: "cifar10", Net: "resnet20", Head: "lgm", Dim: 64, Alpha: 0.3}, 0, ""},
	} {
		var got []string
		for _, m := range PaperFor(test.s, test.eps) {
			s := fmt.Sprintf("%s=%g", m.Source, m.Error)
			if m.Proxy != "" {
				s += ":" + m.Proxy
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != test.want {
			t.Errorf("case %v: got %q, want %q", i, strings.Join(got, " "), test.want)
		}
	}
}

func pf(v float64) *float64 { return &v }

// reportRuns are two seeds of an L-GM MNIST run and one softmax, with or
// without attack results.
func reportRuns(withAttacks bool) []*Run {
	mk := func(name, head, setting string, alpha float64, seed uint64, e float64) *Run {
		r := &Run{Name: name, Dataset: "mnist", Net: "lenetpp", Dim: 100, Head: head, Setting: setting, Alpha: alpha,
			Key: head + setting, Seed: seed, Epochs: 3, EpochsTotal: 3, TestError: e, TestN: 10000,
			Curve: Curve{Epochs: []Epoch{{Epoch: 1, LR: 0.02, TrainLoss: 1, TestError: e}, {Epoch: 2, LR: 0.02, TrainLoss: 0.5, TestError: e}}}}
		cal, _ := Calibrate([][]float64{{0.9, 0.1}, {0.2, 0.8}}, []int{0, 1}, 0)
		r.Calibration = &cal
		if withAttacks {
			r.Attacks = []Attack{{Method: "fgsm", N: 10000, Results: []AttackEps{
				{Eps: 0, Error: e, N: 10000},
				{Eps: 0.1, Error: 0.2 + e, N: 10000, AUROC: pf(0.9), AUROCPosterior: pf(0.8)},
			}}}
			r.Scores = synthScores()
		}
		return r
	}
	return []*Run{
		mk("lgm-1", "lgm", "α = 1", 1, 1, 0.0050),
		mk("lgm-2", "lgm", "α = 1", 1, 2, 0.0070),
		mk("softmax-1", "softmax", "", 0, 1, 0.0080),
	}
}

// mdRow returns the cells of the first Markdown table row that starts
// with the given cells.
func mdRow(md string, prefix ...string) []string {
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) >= len(prefix) && strings.Join(cells[:len(prefix)], "|") == strings.Join(prefix, "|") {
			return cells
		}
	}
	return nil
}

func TestReportPaperCells(t *testing.T) {
	doc, err := Build(reportRuns(true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, page, files, err := doc.Render()
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for i, test := range []struct {
		prefix []string
		want   []string
	}{
		// The main table: the group's mean ± std over 2 seeds, each paper number with Δ and its source.
		{[]string{"mnist", "lenetpp", "100", "lgm (α = 1)", "2", "3", "0.60 ± 0.14", "0.39"}, []string{"+0.21", "Table 6"}},
		{[]string{"mnist", "lenetpp", "100", "lgm (α = 1)", "2", "3", "0.60 ± 0.14", "0.30"}, []string{"+0.30", "authors' code, 100-D"}},
		{[]string{"mnist", "lenetpp", "100", "softmax", "1", "3", "0.80", "0.68"}, []string{"+0.12", "Table 6"}},
		// Table 6 layout: ours, paper, Δ rows under ε columns.
		{[]string{"lgm (α = 1)", "ours (2 seeds)"}, []string{"0.60 ± 0.14", "20.60 ± 0.14", "–", "–"}},
		{[]string{"", "paper (Table 6)"}, []string{"0.68", "24.08", "75.56", "84.87"}}, // softmax's row comes first, as in the paper
		{[]string{"softmax", "ours (1 seed)"}, []string{"0.80", "20.80", "–", "–"}},
	} {
		row := mdRow(s, test.prefix...)
		if row == nil {
			t.Errorf("case %v: no row starting %q in\n%s", i, test.prefix, s)
			continue
		}
		if got := strings.Join(row[len(test.prefix):], "|"); got != strings.Join(test.want, "|") {
			t.Errorf("case %v: got %q, want %q", i, got, strings.Join(test.want, "|"))
		}
	}
	for _, want := range []string{"## Adversarial detection", "## Calibration", "## Training curves", "attack.png", "calibration.png"} {
		if !strings.Contains(s, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for name := range files {
		if !strings.Contains(s, "]("+name+")") {
			t.Errorf("report.md does not link %s", name)
		}
	}
	if n := bytes.Count(page, []byte(`<img src="data:image/png;base64,`)); n != len(files) {
		t.Errorf("report.html: got %d inline pictures, want %d", n, len(files))
	}
}

func TestReportWithoutAttacks(t *testing.T) {
	runs := reportRuns(false)
	f := synthFeatures(3, 10, 2)
	runs[0].Features, runs[0].Dim = &f, 2
	doc, err := Build(runs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, page, files, err := doc.Render()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(md, []byte("Adversarial detection")) || bytes.Contains(md, []byte("attack.png")) {
		t.Error("a report without attack results has a detection section")
	}
	if !bytes.Contains(page, []byte("</html>")) || len(files) == 0 {
		t.Errorf("got %d pictures and a page of %d bytes, want a whole page with pictures", len(files), len(page))
	}
	// Rendering twice gives the same bytes.
	md2, page2, _, _ := doc.Render()
	if !bytes.Equal(md, md2) || !bytes.Equal(page, page2) {
		t.Error("two renderings of one report differ")
	}
}

func TestLegendNames(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"cifar10-resnet20-softmax-s1", "cifar10-resnet20-lgm-s1", "cifar10-resnet20-softmax-s2"}, []string{"softmax-s1", "lgm-s1", "softmax-s2"}},
		{[]string{"mnist-lgm-s1", "mnist-lgm-s2"}, []string{"s1", "s2"}}, // the shared "mnist-lgm-s" is cut at its last "-"
		{[]string{"run-", "run-b"}, []string{"run-", "run-b"}},           // nothing would be left
		{[]string{"softmax", "lgm"}, []string{"softmax", "lgm"}},         // no shared prefix
		{[]string{"only-one-run"}, []string{"only-one-run"}},             // a single run keeps its name
	} {
		if got := legendNames(c.in); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("legendNames(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCalibrationFromEvalFiles checks the calibration rows of runs whose
// figures came from eval.json (no bins, MCE NaN where the file had none):
// the table shows their ECE, NLL and Brier and – for the missing MCE, and
// the reliability diagram leaves them out (none at all when every run is one).
func TestCalibrationFromEvalFiles(t *testing.T) {
	fromFile := func(runs []*Run, i int, mce float64) {
		runs[i].Calibration = &Calibration{N: 10000, ECE: 0.0412, MCE: mce, NLL: 0.5227, Brier: 0.2327}
	}
	render := func(runs []*Run) (string, map[string][]byte) {
		t.Helper()
		doc, err := Build(runs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		md, _, files, err := doc.Render()
		if err != nil {
			t.Fatal(err)
		}
		return string(md), files
	}
	// section is the calibration section of md.
	section := func(md string) string {
		_, s, _ := strings.Cut(md, "## Calibration")
		s, _, _ = strings.Cut(s, "\n## ")
		return s
	}

	runs := reportRuns(false)
	fromFile(runs, 2, math.NaN()) // softmax: an old eval.json
	md, _ := render(runs)
	if got := strings.Join(mdRow(section(md), "mnist", "lenetpp", "100", "softmax"), "|"); got != "mnist|lenetpp|100|softmax|1|0.80|4.12|–|0.5227|0.2327" {
		t.Errorf("softmax's calibration row from eval.json: got %q", got)
	}
	if !strings.Contains(section(md), "eval.json") || !strings.Contains(md, "calibration.png") {
		t.Errorf("report.md should say where the softmax row came from and keep the lgm runs' diagram:\n%s", md)
	}
	// One lgm seed from a file with MCE, the other from its checkpoint: the
	// group's MCE is the mean of both.
	runs = reportRuns(false)
	fromFile(runs, 1, 0.2)
	md, _ = render(runs)
	c := runs[0].Calibration
	if got, want := mdRow(section(md), "mnist", "lenetpp", "100", "lgm (α = 1)")[7], Summarize([]float64{c.MCE, 0.2}).Format(100, 2); got != want {
		t.Errorf("lgm's MCE over a checkpoint and an eval.json with MCE: got %q, want %q", got, want)
	}

	// The group's first seed from a file, its second with bins, softmax from
	// a file: the diagram draws the lgm group from its second seed.
	runs = reportRuns(false)
	fromFile(runs, 0, math.NaN())
	fromFile(runs, 2, math.NaN())
	if _, files := render(runs); files["calibration.png"] == nil {
		t.Errorf("a group whose second seed has bins: want a reliability diagram, got files %v", keys(files))
	}

	runs = reportRuns(false)
	for i := range runs {
		fromFile(runs, i, math.NaN())
	}
	md, files := render(runs)
	if _, ok := files["calibration.png"]; ok || strings.Contains(md, "calibration.png") || !strings.Contains(md, "## Calibration") {
		t.Errorf("runs with eval.json figures only: want the calibration table and no reliability diagram, got files %v", keys(files))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
