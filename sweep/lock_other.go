//go:build !unix

package sweep

// lockHolder: run directories are not locked on this system.
func lockHolder(string) (pid int, held bool) { return 0, false }
