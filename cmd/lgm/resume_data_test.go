package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeWithMovedData: lgm train --resume RUN --data NEW continues a
// run whose data folder moved (--data was refused with --resume before),
// and refuses a folder holding another data set, saying what differs; both
// refusals come before any work, so they exit 2.
func TestResumeWithMovedData(t *testing.T) {
	old := mnistDir(t, 100, 37)
	run := filepath.Join(t.TempDir(), "run")
	if code, out, stderr := lgm(t, "train", "--net", "lenet", "--dim", "4", "--data", old, "--epochs", "1", "--batch", "16", "--out", run); code != exitOK {
		t.Fatalf("train: exit %d\n%s\n%s", code, out, stderr)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(old, moved); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := lgm(t, "train", "--resume", run, "--epochs", "2"); code != exitUsage || !strings.Contains(stderr, "does not exist") {
		t.Errorf("resume without --data: exit %d, %q; want the missing folder reported", code, stderr)
	}
	if code, out, stderr := lgm(t, "train", "--resume", run, "--epochs", "2", "--data", moved); code != exitOK || !strings.Contains(out, "resuming at epoch 2") {
		t.Fatalf("resume --data: exit %d\n%s\n%s", code, out, stderr)
	}
	cfg, _ := os.ReadFile(filepath.Join(run, "config.yaml"))
	if !strings.Contains(string(cfg), "dir: "+moved) {
		t.Errorf("config.yaml does not name the new place:\n%s", cfg)
	}
	other := mnistDir(t, 90, 37)
	code, _, stderr := lgm(t, "train", "--resume", run, "--epochs", "3", "--data", other)
	if want := "is not the data " + run + " was trained on: it holds 90 training images, not 100"; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("resume --data of another data set: exit %d, %q; want %q", code, stderr, want)
	}
}
