//go:build unix

package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSpecialFilesRefused: a config or a checkpoint that is a named pipe
// (a plain open waits for a writer for ever), a symlink to /dev/zero (never
// ends) or a file past its kind's bound is refused at once, in one line
// naming it. Without the checks this test hangs or runs out of memory.
func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("seed: 1\n"+strings.Repeat("#", 5<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A run directory whose checkpoint is a named pipe.
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(run, CheckpointFile), 0o644); err != nil {
		t.Fatal(err)
	}
	config := func(p string) error { c := Default(); return LoadFile(p, &c, "") }
	checkpoint := func(p string) error { _, err := OpenCheckpoint(p); return err }
	for _, c := range []struct {
		name string
		load func(string) error
		path string
		want string
	}{
		{"config fifo", config, fifo, "is a named pipe (FIFO), not a regular file; a config file must be a regular file"},
		{"config /dev/zero", config, zero, "is a character device, not a regular file"},
		{"config too big", config, big, "bytes is more than the 4194304-byte limit for a config file"},
		{"checkpoint fifo", checkpoint, fifo, "is a named pipe (FIFO), not a regular file; a checkpoint must be a regular file"},
		{"checkpoint /dev/zero", checkpoint, zero, "is a character device"},
		{"run whose checkpoint is a fifo", checkpoint, run, "is a named pipe (FIFO)"},
	} {
		err := c.load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("case %s: got %v, want one line naming %s and saying %q", c.name, err, c.path, c.want)
		}
	}
}
