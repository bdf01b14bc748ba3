package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lgm-dev/lgm/experiment"
)

// TestMain lets a test run this binary as the lgm command itself: with
// LGM_TEST_MAIN=1 the process is main() with the given arguments.
func TestMain(m *testing.M) {
	if os.Getenv("LGM_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// epochEnded reports whether line is the line lgm train prints once an
// epoch has been evaluated and saved ("epoch 1/3  lr …"), of epoch at ("1/3")
// or of any epoch (""). Progress lines ("epoch 1/3  batch …", a minute apart
// off a terminal, so they appear only on a slow machine) do not count.
func epochEnded(line, at string) bool {
	rest, ok := strings.CutPrefix(line, "epoch "+at)
	if !ok {
		return false
	}
	if at == "" {
		_, rest, _ = strings.Cut(rest, " ")
		rest = " " + rest
	}
	return strings.HasPrefix(rest, "  lr ")
}

// lgmProcess starts this test binary as `lgm args...`.
func lgmProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LGM_TEST_MAIN=1")
	return cmd
}

// TestSignalStopsSavesAndResumes sends SIGINT to a real lgm process during
// training: it must stop with exit code 130, a checkpoint and the command
// that resumes it; resuming must end where an unbroken run ends. A second
// signal must quit at once.
func TestSignalStopsSavesAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts lgm processes")
	}
	dataDir := mnistDir(t, 400, 50)
	base := t.TempDir()
	args := func(out string) []string {
		return []string{"train", "--net", "lenet", "--dim", "10", "--data", dataDir, "--epochs", "3", "--batch", "8", "--out", out}
	}
	// The unbroken run.
	whole := filepath.Join(base, "whole")
	if out, err := lgmProcess(t, args(whole)...).CombinedOutput(); err != nil {
		t.Fatalf("unbroken run: %v\n%s", err, out)
	}
	// The interrupted one: signal once the first epoch has finished.
	broken := filepath.Join(base, "broken")
	cmd := lgmProcess(t, args(broken)...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if epochEnded(sc.Text(), "1/3") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("interrupted run: exit %d (%v), want %d; stderr:\n%s", code, err, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "lgm train --resume "+broken) {
		t.Errorf("stderr %q does not give the resume command", stderr.String())
	}
	if out, err := lgmProcess(t, "train", "--resume", broken).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	a, _ := experiment.ReadMetrics(filepath.Join(whole, experiment.MetricsFile))
	b, _ := experiment.ReadMetrics(filepath.Join(broken, experiment.MetricsFile))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("metrics lines: unbroken %d, resumed %d; want 3", len(a), len(b))
	}
	for i := range a {
		if a[i].TrainLoss != b[i].TrainLoss || a[i].TestError != b[i].TestError {
			t.Errorf("epoch %d: resumed run has loss %v, test error %v; unbroken %v, %v",
				i+1, b[i].TrainLoss, b[i].TestError, a[i].TrainLoss, a[i].TestError)
		}
	}
	// Identical features of every test image means identical weights.
	fa, fb := filepath.Join(base, "a.csv"), filepath.Join(base, "b.csv")
	for _, p := range [][2]string{{whole, fa}, {broken, fb}} {
		if out, err := lgmProcess(t, "embed", p[0], "--out", p[1]).CombinedOutput(); err != nil {
			t.Fatalf("embed %s: %v\n%s", p[0], err, out)
		}
	}
	ra, _ := os.ReadFile(fa)
	rb, _ := os.ReadFile(fb)
	if !bytes.Equal(ra, rb) {
		t.Errorf("the resumed run's features differ from the unbroken run's")
	}

	// Two signals: the process quits at once, and the checkpoint of the
	// finished epoch stays loadable.
	twice := filepath.Join(base, "twice")
	cmd = lgmProcess(t, append(args(twice), "--epochs", "50")...)
	stdout, _ = cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc = bufio.NewScanner(stdout)
	for sc.Scan() {
		if epochEnded(sc.Text(), "1/50") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(5 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("twice interrupted: exit %d, want %d", code, exitInterrupted)
	}
	if _, err := experiment.OpenCheckpoint(twice); err != nil {
		t.Errorf("checkpoint after two signals: %v", err)
	}
}

// TestSIGKILLLeavesLoadableCheckpoint kills a training process without
// warning at several moments — some of them while it writes a checkpoint —
// and checks each time that the run's checkpoint loads and the run resumes.
func TestSIGKILLLeavesLoadableCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts lgm processes")
	}
	dataDir := mnistDir(t, 200, 20)
	run := filepath.Join(t.TempDir(), "run")
	first := []string{"train", "--net", "lenet", "--dim", "10", "--data", dataDir, "--epochs", "1000", "--batch", "8", "--out", run}
	for i, delay := range []time.Duration{0, 1, 3, 7, 15, 30} {
		args := first
		if i > 0 {
			args = []string{"train", "--resume", run}
		}
		cmd := lgmProcess(t, args...)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		epochs := 0
		for sc.Scan() && epochs < 2 {
			if epochEnded(sc.Text(), "") {
				epochs++
			}
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		go func() {
			for sc.Scan() {
			}
		}()
		cmd.Wait()
		ck, err := experiment.OpenCheckpoint(run)
		if err != nil {
			t.Fatalf("kill %d (after %v): checkpoint does not load: %v", i+1, delay, err)
		}
		if ck.Epoch < 2*(i+1) {
			t.Errorf("kill %d: checkpoint at epoch %d, want at least %d", i+1, ck.Epoch, 2*(i+1))
		}
	}
}
