//go:build unix

package sweep

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
)

// A run directory whose lock another process holds is running elsewhere,
// whatever its checkpoint says; finding out takes no lock and writes nothing.
func TestInspectLocked(t *testing.T) {
	s, err := load(t, tableSweep)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Runs[0]
	dir := filepath.Join(t.TempDir(), p.Name)
	writeRun(t, dir, p, "", 4)
	lock := filepath.Join(dir, experiment.LockFile)
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("4242\n")
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(lock)
	st := Inspect(p, dir)
	if st.Status != StatusElsewhere || st.Epoch != 4 || st.PID != os.Getpid() {
		t.Errorf("locked: got %s epoch %d pid %d, want %s epoch 4 pid %d", st.Status, st.Epoch, st.PID, StatusElsewhere, os.Getpid())
	}
	if args := st.Args(1); len(args) < 2 || args[1] != "--resume" {
		t.Errorf("locked with a checkpoint: would run %v, want a resume", args)
	}
	after, _ := os.Stat(lock)
	if !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Errorf("inspecting changed the lock file")
	}
	// Unlocked, the same directory resumes.
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if st := Inspect(p, dir); st.Status != StatusResume {
		t.Errorf("unlocked: got %s, want %s", st.Status, StatusResume)
	}
	// A stale lock file (no process holds it) is nothing.
	if _, held := lockHolder(dir); held {
		t.Errorf("stale lock file taken for a held lock")
	}
}
