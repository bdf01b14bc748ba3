//go:build unix

package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lgm-dev/lgm/internal/fileio"
)

// LockFile is the file in a run directory that lgm holds an exclusive lock
// on while it trains into the directory.
const LockFile = ".lock"

// dirLock is a held lock on a run directory.
type dirLock struct {
	f       *os.File
	path    string
	created bool // this process created the lock file (O_EXCL), so it may remove it
}

// lockRunDir takes the run directory's lock for this process, so that a
// second lgm training into the same directory (two --resume of one run, or
// two runs given the same --out) is refused instead of both writing it. The
// lock goes with the process, so a killed run leaves nothing to clean up.
func lockRunDir(dir string) (unlock func(), err error) {
	l, err := takeLock(dir)
	if err != nil {
		return nil, err
	}
	return l.unlock, nil
}

// takeLock takes the lock of dir. The lock file is opened without following
// a symlink and must be a regular file: a .lock that is a symlink is
// refused, never truncated through. Whether this process may remove the
// file later is decided here, from its own exclusive creation of it, never
// from an earlier look at the directory.
func takeLock(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	const flags = os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	for attempt := 0; ; attempt++ {
		created := true
		f, err := os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			created = false
			f, err = os.OpenFile(path, flags, 0)
			if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
				continue // removed between the two opens: start again
			}
		}
		if err != nil {
			if errors.Is(err, syscall.EISDIR) {
				return nil, fmt.Errorf("run directory %s: %s is a folder, not a regular file; remove it and try again", dir, LockFile)
			}
			if errors.Is(err, syscall.ELOOP) {
				return nil, fmt.Errorf("run directory %s: %s is a symlink; lgm keeps its lock in a regular file there and never writes through a symlink: remove %s and try again", dir, LockFile, path)
			}
			return nil, fmt.Errorf("run directory %s is not writable: %w", dir, err)
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("run directory %s: %s is %s, not a regular file; remove it and try again", dir, LockFile, fileio.Kind(fi.Mode()))
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			owner := make([]byte, 32)
			n, _ := f.ReadAt(owner, 0)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				who := "another lgm process"
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(owner[:n]))); perr == nil {
					who = fmt.Sprintf("another lgm process (pid %d)", pid)
				}
				return nil, fmt.Errorf("run directory %s is in use by %s; wait for it to finish or stop it first", dir, who)
			}
			return nil, fmt.Errorf("cannot lock run directory %s: %w", dir, err)
		}
		// The lock is on the file opened; it counts only if that is still
		// the file at path (one removed meanwhile is a lock no one sees).
		if now, err := os.Lstat(path); err != nil || !os.SameFile(fi, now) {
			f.Close()
			if attempt < 3 {
				continue
			}
			return nil, fmt.Errorf("cannot lock run directory %s: %s keeps being replaced; is another program removing it?", dir, path)
		}
		f.Truncate(0)
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		return &dirLock{f: f, path: path, created: created}, nil
	}
}

// unlock releases the lock, leaving the lock file.
func (l *dirLock) unlock() { l.f.Close() }

// release releases the lock and, if this process created the lock file,
// removes it first, while the lock still keeps other lgm processes out.
func (l *dirLock) release() {
	if l.created {
		os.Remove(l.path)
	}
	l.f.Close()
}
