//go:build unix

package sweep

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// probeLock tries a shared lock on the lock file path (opened read-only, so
// nothing is created) and releases it at once: it fails while lgm train
// holds its exclusive lock. The pid is the one lgm train wrote into the file.
func probeLock(path string) (pid int, held bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			raw, _ := os.ReadFile(path)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
			return pid, true
		}
		return 0, false
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return 0, false
}
