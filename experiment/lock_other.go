//go:build !unix

package experiment

// LockFile is the file in a run directory that lgm holds an exclusive lock
// on while it trains into the directory (on Unix systems).
const LockFile = ".lock"

// dirLock stands for a run directory's lock; there is none on this system.
type dirLock struct{}

// lockRunDir does nothing here: run directories are not locked on this
// system.
func lockRunDir(string) (func(), error) { return func() {}, nil }

func takeLock(string) (*dirLock, error) { return &dirLock{}, nil }
func (*dirLock) unlock()                {}
func (*dirLock) release()               {}
