package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
)

// writeRun writes a run directory as lgm train leaves it: its config and one
// metrics line per test error given.
func writeRun(t *testing.T, dir, head string, epochs int, testErrors []float64, seconds float64) {
	t.Helper()
	cfg := experiment.Default()
	cfg.Head, cfg.Train.Epochs, cfg.Seed = experiment.HeadDefaults(head), epochs, 7
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, experiment.ConfigFile), cfg.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, e := range testErrors {
		m := experiment.Metrics{Epoch: i + 1, TestError: e, TestN: 10000, ImgS: 100 * float64(i+1), Seconds: seconds}
		raw, _ := json.Marshal(m)
		lines = append(lines, string(raw))
	}
	if err := os.WriteFile(filepath.Join(dir, experiment.MetricsFile), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	tmp := t.TempDir()
	sm, lg, fresh := filepath.Join(tmp, "sm"), filepath.Join(tmp, "lg"), filepath.Join(tmp, "fresh")
	writeRun(t, sm, "softmax", 3, []float64{0.05, 0.0071, 0.0069}, 60)
	writeRun(t, lg, "lgm", 3, []float64{0.04, 0.0053}, 90) // still training: 2 of 3 epochs
	writeRun(t, fresh, "center", 5, nil, 0)                // no epoch finished yet

	code, out, stderr := lgm(t, "compare", sm, lg, fresh)
	if code != exitOK {
		t.Fatalf("compare: exit %d, %s", code, stderr)
	}
	for _, want := range []string{
		"0.69% (69/10000)", // the last epoch's error, not the best one
		"3/3", "0.53% (53/10000)", "2/3", "150", "90", "0/5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.71%") {
		t.Errorf("summary shows an earlier epoch's error:\n%s", out)
	}

	_, out, _ = lgm(t, "compare", sm, lg, "--per-epoch", "--markdown")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "| epoch | sm test error | s | lg test error | s |") ||
		lines[4] != "| 3 | 0.69% | 60 |  |  |" {
		t.Errorf("per-epoch Markdown table:\n%s", out)
	}

	_, out, _ = lgm(t, "compare", sm, lg, "--json")
	var rs []runSummary
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r runSummary
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("JSON line %q: %v", l, err)
		}
		rs = append(rs, r)
	}
	if len(rs) != 2 || rs[0].Wrong != 69 || rs[1].Epochs != 2 || rs[1].Of != 3 || rs[1].Head != "lgm" || rs[0].Seed != 7 {
		t.Errorf("JSON summaries %+v", rs)
	}

	notRun := filepath.Join(tmp, "notrun")
	os.Mkdir(notRun, 0o755)
	file := filepath.Join(tmp, "sm.log")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare", filepath.Join(tmp, "missing")}, exitUsage, "missing: no such run directory"},
		{[]string{"compare", notRun}, exitUsage, "notrun: no config.yaml"},
		{[]string{"compare", sm, file}, exitUsage, "sm.log is a file"},
		{[]string{"compare"}, exitUsage, "arg"},
		{[]string{"compare", sm, "--json", "--per-epoch"}, exitUsage, "--json"},
	} {
		code, _, stderr := lgm(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestCompareNamesAFolderLabel: a folder run labelled data.name shows
// "folder (cifar10)" in the table and data_name in its JSON.
func TestCompareNamesAFolderLabel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jpg")
	writeRun(t, dir, "softmax", 1, []float64{0.16}, 60)
	cfg := experiment.Default()
	cfg.Seed, cfg.Train.Epochs = 7, 1
	cfg.Data.Dataset, cfg.Data.Name = "folder", "cifar10"
	if err := os.WriteFile(filepath.Join(dir, experiment.ConfigFile), cfg.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, stderr := lgm(t, "compare", dir); !strings.Contains(out, " folder (cifar10) ") {
		t.Errorf("table lacks the label: %s%s", out, stderr)
	}
	_, out, _ := lgm(t, "compare", dir, "--json")
	var r runSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil || r.Dataset != "folder" || r.DataName != "cifar10" {
		t.Errorf("JSON %q (%v): want dataset folder, data_name cifar10", out, err)
	}
}
