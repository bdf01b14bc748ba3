//go:build !unix

package fileio

// NoFollow, added to the flags of an open, makes it fail on a symlink
// (where the system can; here it is 0).
const NoFollow = 0
