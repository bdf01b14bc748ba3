//go:build unix

package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLockFileMustBeARegularFile: a run directory whose .lock is a symlink
// (to a file lgm must not write), a named pipe or a folder is refused, by a
// new run into it and by a resume, and the file the symlink names keeps its
// bytes. Before, --resume truncated the symlink's target and wrote its pid
// into it.
func TestLockFileMustBeARegularFile(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(lock, victim string) error
		want string
	}{
		{"symlink", func(lock, victim string) error { return os.Symlink(victim, lock) }, ".lock is a symlink; lgm keeps its lock in a regular file there"},
		{"named pipe", func(lock, _ string) error { return syscall.Mkfifo(lock, 0o644) }, ".lock is a named pipe (FIFO), not a regular file"},
		{"folder", func(lock, _ string) error { return os.Mkdir(lock, 0o755) }, ".lock is a folder, not a regular file"},
	} {
		for _, resume := range []bool{false, true} {
			dir := filepath.Join(t.TempDir(), "run")
			opts := TrainOptions{Out: dir, Train: synthetic("synth/train", 200, 4, 1), Test: synthetic("synth/test", 70, 4, 2)}
			cfg := smallConfig()
			cfg.Train.Epochs = 1
			if resume {
				if err := Train(context.Background(), cfg, opts); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			lock := filepath.Join(dir, LockFile)
			os.Remove(lock)
			victim := filepath.Join(t.TempDir(), "precious.txt")
			if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.make(lock, victim); err != nil {
				t.Skipf("cannot make a %s here: %v", c.name, err)
			}
			var err error
			if resume {
				err = Resume(context.Background(), 2, opts)
			} else {
				err = Train(context.Background(), cfg, opts)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("case %s (resume %v): got %v, want an error saying %q", c.name, resume, err, c.want)
			}
			if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
				t.Errorf("case %s (resume %v): the symlink's target now holds %q", c.name, resume, b)
			}
		}
	}
}

// TestRefusedRunRemovesNothingItDoesNotOwn: a second lgm train whose run
// directory did not exist when it started, but which another lgm created
// and locked before it could (the race of issue 11), is refused and leaves
// the other's lock and directory alone: the directory stays locked. A run
// that fails after taking the lock removes exactly what it made.
func TestRefusedRunRemovesNothingItDoesNotOwn(t *testing.T) {
	data := func(o TrainOptions) TrainOptions {
		o.Train, o.Test = synthetic("synth/train", 200, 4, 1), synthetic("synth/test", 70, 4, 2)
		return o
	}
	// The race: the directory appears, locked by another, between this
	// run's look at it and its lock.
	dir := filepath.Join(t.TempDir(), "run")
	var holder func()
	opts := data(TrainOptions{Out: dir, beforeLock: func() {
		os.RemoveAll(dir) // the other lgm made it first
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if holder, err = lockRunDir(dir); err != nil {
			t.Fatal(err)
		}
	}})
	err := Train(context.Background(), smallConfig(), opts)
	want := fmt.Sprintf("in use by another lgm process (pid %d)", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("race: got %v, want a refusal saying %q", err, want)
	}
	if _, err := os.Lstat(filepath.Join(dir, LockFile)); err != nil {
		t.Errorf("race: the holder's lock file is gone: %v", err)
	}
	if unlock, err := lockRunDir(dir); err == nil || !strings.Contains(err.Error(), "in use by") {
		t.Errorf("race: a third lgm while the holder runs got %v, want it refused as in use", err)
		if err == nil {
			unlock()
		}
	}
	holder()

	// Failures after the lock: a directory this run made goes entirely; a
	// directory that was there keeps everything but the lock file it made,
	// and a lock file that was there stays.
	mismatch := func(o TrainOptions) TrainOptions {
		o.Train, o.Test = syntheticC("synth/train", 200, 4, 1, 1), syntheticC("synth/test", 70, 4, 3, 2)
		return o
	}
	for _, c := range []struct {
		name      string
		setup     func(dir string)
		wantDir   bool
		wantLock  bool
		wantFiles []string
	}{
		{"made by the run", func(string) {}, false, false, nil},
		{"there before", func(dir string) { os.Mkdir(dir, 0o755) }, true, false, nil},
		{"there before with a lock file", func(dir string) {
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, LockFile), nil, 0o644)
		}, true, true, nil},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		c.setup(dir)
		err := Train(context.Background(), smallConfig(), mismatch(TrainOptions{Out: dir}))
		if err == nil {
			t.Fatalf("case %s: train on mismatched data succeeded", c.name)
		}
		_, derr := os.Stat(dir)
		_, lerr := os.Lstat(filepath.Join(dir, LockFile))
		if (derr == nil) != c.wantDir || (lerr == nil) != c.wantLock {
			t.Errorf("case %s: after the failure the directory exists: %v, the lock file: %v; want %v, %v", c.name, derr == nil, lerr == nil, c.wantDir, c.wantLock)
		}
	}
}
