//go:build unix

package fileio

import "syscall"

// openFlags are added to every open for reading: a named pipe opens at once
// instead of waiting for a writer (it is then refused).
const openFlags = syscall.O_NONBLOCK
