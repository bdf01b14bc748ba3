//go:build unix && !linux

package sweep

import (
	"path/filepath"

	"github.com/lgm-dev/lgm/experiment"
)

// lockHolder says whether another process holds the lock of the run
// directory dir. Without /proc/locks it tries a shared lock for an instant.
func lockHolder(dir string) (pid int, held bool) {
	return probeLock(filepath.Join(dir, experiment.LockFile))
}
