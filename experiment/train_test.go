package experiment

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// trainSmall trains smallConfig on the synthetic problem into a new run directory.
func trainSmall(t *testing.T, cfg Config) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	err := Train(context.Background(), cfg, TrainOptions{
		Out: dir, Stdout: &out,
		Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2),
	})
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out.String())
	}
	return dir
}

func readMetrics(t *testing.T, dir string) []Metrics {
	t.Helper()
	ms, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestTrainLossFalls is the smoke test: a few epochs of LeNet on a tiny
// separable problem must lower the loss and learn it.
func TestTrainLossFalls(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	ms := readMetrics(t, dir)
	if len(ms) != 3 {
		t.Fatalf("got %d metrics lines, want 3", len(ms))
	}
	if !(ms[2].TrainLoss < 0.5*ms[0].TrainLoss) {
		t.Errorf("train loss went %v → %v, want it at least halved", ms[0].TrainLoss, ms[2].TrainLoss)
	}
	if ms[2].TestError > 0.1 {
		t.Errorf("test error after 3 epochs got %v, want <= 0.1", ms[2].TestError)
	}
	for i, m := range ms {
		if m.Epoch != i+1 || m.TestN != 70 || m.Batches != 7 {
			t.Errorf("line %d: got epoch %d, test_n %d, batches %d; want %d, 70, 7", i, m.Epoch, m.TestN, m.Batches, i+1)
		}
		if m.Terms["xent"] != m.TrainLoss {
			t.Errorf("line %d: xent term %v, want the loss %v", i, m.Terms["xent"], m.TrainLoss)
		}
		if m.Build == "" || m.Build != Build() {
			t.Errorf("line %d: build %q, want this binary's %q", i, m.Build, Build())
		}
		if want := HostCPU().String(); m.CPU != want {
			t.Errorf("line %d: cpu %q, want this machine's %q", i, m.CPU, want)
		}
	}
	// The step decay: lr 0.01 for epochs 1-2, 0.007 for epoch 3.
	if ms[0].LR != 0.01 || ms[1].LR != 0.01 || math.Abs(ms[2].LR-0.007) > 1e-12 {
		t.Errorf("lr schedule got %v %v %v, want 0.01 0.01 0.007", ms[0].LR, ms[1].LR, ms[2].LR)
	}
}

// withoutTiming zeroes the fields that differ between identical runs.
func withoutTiming(ms []Metrics) []Metrics {
	out := append([]Metrics(nil), ms...)
	for i := range out {
		out[i].ImgS, out[i].EvalImgS, out[i].Seconds = 0, 0, 0
	}
	return out
}

func TestSameSeedSameMetrics(t *testing.T) {
	cfg := smallConfig()
	cfg.Train.Epochs = 2
	a := withoutTiming(readMetrics(t, trainSmall(t, cfg)))
	b := withoutTiming(readMetrics(t, trainSmall(t, cfg)))
	cfg.Seed = 2
	c := withoutTiming(readMetrics(t, trainSmall(t, cfg)))
	for i := range a {
		if !equalMetrics(a[i], b[i]) {
			t.Errorf("epoch %d: same seed gave %+v and %+v", i+1, a[i], b[i])
		}
	}
	if equalMetrics(a[0], c[0]) {
		t.Errorf("seeds 1 and 2 gave identical metrics %+v: is the seed used?", a[0])
	}
}

func equalMetrics(a, b Metrics) bool {
	if len(a.Terms) != len(b.Terms) {
		return false
	}
	for k, v := range a.Terms {
		if b.Terms[k] != v {
			return false
		}
	}
	return reflect.DeepEqual(a, b)
}

// TestEvalMatchesTraining checks that evaluating the saved checkpoint gives
// exactly the test error of the last metrics line, over every test image.
func TestEvalMatchesTraining(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	ms := readMetrics(t, dir)
	last := ms[len(ms)-1]
	opts := RunOptions{Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	res, err := Evaluate(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != last.TestError || res.N != 70 {
		t.Errorf("eval got error %v over %d, want %v over 70", res.Error, res.N, last.TestError)
	}
}

func TestEmbedWritesEveryExample(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	var buf bytes.Buffer
	opts := RunOptions{Split: "train", Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	res, err := Embed(context.Background(), dir, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 201 {
		t.Fatalf("got %d rows, want a header and 200", len(rows))
	}
	if got := strings.Join(rows[0], ","); got != "label,prediction,f1,f2,f3,f4,f5,f6,f7,f8" {
		t.Errorf("header got %q", got)
	}
	wrong := 0
	for i, r := range rows[1:] {
		if len(r) != 10 {
			t.Fatalf("row %d has %d fields, want 10", i+1, len(r))
		}
		if r[0] != string(rune('0'+i%4)) {
			t.Errorf("row %d: label %s, want %d (rows in data order)", i+1, r[0], i%4)
		}
		if r[0] != r[1] {
			wrong++
		}
	}
	if float64(wrong)/200 != res.Error {
		t.Errorf("CSV has %d wrong predictions, eval result says error %v", wrong, res.Error)
	}
}

func TestCheckpointRoundTripAndRefusals(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	path := filepath.Join(dir, CheckpointFile)
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 3 || !reflect.DeepEqual(ck.Config, smallConfig()) || len(ck.RNG) == 0 || len(ck.Norm.Mean) != 1 {
		t.Errorf("checkpoint got epoch %d, config %+v, rng %d bytes, norm %+v", ck.Epoch, ck.Config, len(ck.RNG), ck.Norm)
	}
	if _, ok := ck.Tensors["opt.velocity.net.conv1.W"]; !ok {
		t.Errorf("checkpoint has no solver state")
	}
	raw, _ := os.ReadFile(path)
	broken := filepath.Join(t.TempDir(), "broken.safetensors")
	os.WriteFile(broken, raw[:len(raw)/2], 0o644)
	if _, err := LoadCheckpoint(broken); err == nil || !strings.Contains(err.Error(), broken) {
		t.Errorf("truncated checkpoint: got %v, want an error naming the file", err)
	}
	if _, err := OpenCheckpoint(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing run: got %v", err)
	}
}

func TestRunDirectoryRefusesExistingRun(t *testing.T) {
	dir := trainSmall(t, smallConfig())
	err := Train(context.Background(), smallConfig(), TrainOptions{Out: dir,
		Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)})
	if err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("got %v, want a refusal", err)
	}
}

func TestInterruptStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Train(ctx, smallConfig(), TrainOptions{Out: filepath.Join(t.TempDir(), "run"),
		Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("got %v, want ErrInterrupted", err)
	}
}

// TestProgressLines: without a terminal, long epochs print plain progress
// lines at most every LineEvery, and none when it is zero.
func TestProgressLines(t *testing.T) {
	for _, every := range []time.Duration{0, time.Nanosecond} {
		var out bytes.Buffer
		err := Train(context.Background(), smallConfig(), TrainOptions{
			Out: filepath.Join(t.TempDir(), "run"), Stdout: &out, LineEvery: every,
			Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2),
		})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Count(out.String(), "  batch ")
		want := 0
		if every > 0 {
			want = 3 // batch 0 of each of the 3 epochs (lines are considered every 10 batches)
		}
		if got != want || (want > 0 && !strings.Contains(out.String(), "epoch 2/3  batch 1/7  loss ")) {
			t.Errorf("LineEvery %v: %d progress lines, want %d:\n%s", every, got, want, out.String())
		}
	}
}

// TestRunDirectoryLock: while one lgm trains into a directory, a second
// training into it (a new run or a resume) is refused, naming the holder.
func TestRunDirectoryLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("run directories are locked on Unix systems only")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := TrainOptions{Out: dir, Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
	want := fmt.Sprintf("in use by another lgm process (pid %d)", os.Getpid())
	if err := Train(context.Background(), smallConfig(), opts); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("train into a locked directory: got %v, want an error saying %q", err, want)
	}
	unlock()
	if err := Train(context.Background(), smallConfig(), opts); err != nil {
		t.Fatalf("train after the lock was released: %v", err)
	}
	if unlock, err = lockRunDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := Resume(context.Background(), 4, opts); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("resume in a locked directory: got %v, want an error saying %q", err, want)
	}
	unlock()
	if err := Resume(context.Background(), 4, opts); err != nil {
		t.Fatalf("resume after the lock was released: %v", err)
	}
	if ms := readMetrics(t, dir); len(ms) != 4 {
		t.Errorf("got %d epochs after the resume, want 4", len(ms))
	}
}
