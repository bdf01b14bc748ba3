//go:build !unix

package experiment

// LockFile is the file in a run directory that lgm holds an exclusive lock
// on while it trains into the directory (on Unix systems).
const LockFile = ".lock"

// lockRunDir does nothing here: run directories are not locked on this
// system.
func lockRunDir(string) (func(), error) { return func() {}, nil }
