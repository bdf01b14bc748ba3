//go:build unix

package fileio

import "syscall"

// NoFollow, added to the flags of an open, makes it fail on a symlink
// (where the system can; elsewhere it is 0).
const NoFollow = syscall.O_NOFOLLOW
