//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestEmbedOutput: embed --out - writes the CSV to stdout and its summary
// to stderr; --out through a symlink to a regular file replaces the target
// and keeps the link; a named pipe, a symlink to a device or a folder is
// refused and left as it was (before, each was replaced by a new 0600
// file).
func TestEmbedOutput(t *testing.T) {
	dataDir := mnistDir(t, 100, 37)
	run := filepath.Join(t.TempDir(), "run")
	if code, out, stderr := lgm(t, "train", "--net", "lenet", "--dim", "4", "--data", dataDir, "--epochs", "1", "--batch", "16", "--out", run); code != exitOK {
		t.Fatalf("train: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr := lgm(t, "embed", run, "--out", "-")
	if code != exitOK || strings.Count(out, "\n") != 38 || !strings.HasPrefix(out, "label,prediction,f1,") ||
		!strings.Contains(stderr, "wrote 37 rows to standard output") {
		t.Errorf("--out -: exit %d, %d lines on stdout, stderr %q; want the 38 CSV lines on stdout, the summary on stderr", code, strings.Count(out, "\n"), stderr)
	}

	dir := t.TempDir()
	target := filepath.Join(dir, "target.csv")
	os.WriteFile(target, []byte("old\n"), 0o644)
	link := filepath.Join(dir, "link.csv")
	os.Symlink(target, link)
	if code, _, stderr := lgm(t, "embed", run, "--out", link); code != exitOK {
		t.Fatalf("--out symlink: exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--out symlink: the link was replaced (%v)", err)
	}
	if b, _ := os.ReadFile(target); strings.Count(string(b), "\n") != 38 {
		t.Errorf("--out symlink: the target holds %d lines, want 38", strings.Count(string(b), "\n"))
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	null := filepath.Join(dir, "null")
	os.Symlink("/dev/null", null)
	for _, c := range []struct{ path, want string }{
		{fifo, "is a named pipe (FIFO); refusing to replace it"},
		{null, "is a symlink to /dev/null (a character device); refusing to replace it"},
		{dir, "is a folder; refusing to replace it"},
	} {
		before, _ := os.Lstat(c.path)
		code, _, stderr := lgm(t, "embed", run, "--out", c.path)
		if code != exitUsage || !strings.Contains(stderr, c.path+": "+c.want) { // refused before any work
			t.Errorf("--out %s: exit %d, %q; want %d and %q", c.path, code, stderr, exitUsage, c.want)
		}
		if after, err := os.Lstat(c.path); err != nil || after.Mode() != before.Mode() {
			t.Errorf("--out %s: changed from %v", c.path, before.Mode())
		}
	}
}

// TestConfigNameStaysInRuns: a config whose name would lead the default run
// directory out of runs/ is a usage error naming the key, and nothing is
// created.
func TestConfigNameStaysInRuns(t *testing.T) {
	data := mnistDir(t, 20, 10)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"../../x", "a/b", `a\b`, ".."} {
		os.WriteFile("c.yaml", []byte("name: '"+name+"'\n"), 0o644)
		code, _, stderr := lgm(t, "train", "--config", "c.yaml", "--data", data, "--net", "lenet", "--epochs", "1", "--batch", "16", "--limit", "1")
		if code != exitUsage || !strings.Contains(stderr, "name must be a plain name, without path separators") {
			t.Errorf("name %q: exit %d, %q; want %d naming the key", name, code, stderr, exitUsage)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "x-*")); len(left) > 0 {
		t.Errorf("a run directory was created outside runs/: %v", left)
	}
	if _, err := os.Stat("runs"); err == nil {
		t.Errorf("a runs folder was created")
	}
}
