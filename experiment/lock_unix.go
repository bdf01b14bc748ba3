//go:build unix

package experiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in a run directory that lgm holds an exclusive lock
// on while it trains into the directory.
const LockFile = ".lock"

// lockRunDir takes the run directory's lock for this process, so that a
// second lgm training into the same directory (two --resume of one run, or
// two runs given the same --out) is refused instead of both writing it. The
// lock goes with the process, so a killed run leaves nothing to clean up.
func lockRunDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run directory %s is not writable: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another lgm process"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(owner))); perr == nil {
				who = fmt.Sprintf("another lgm process (pid %d)", pid)
			}
			return nil, fmt.Errorf("run directory %s is in use by %s; wait for it to finish or stop it first", dir, who)
		}
		return nil, fmt.Errorf("cannot lock run directory %s: %w", dir, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}
