//go:build !unix

package fileio

// openFlags are added to every open for reading (none here).
const openFlags = 0
