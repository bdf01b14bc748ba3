// Package fileio opens the files lgm reads and writes with the checks that
// keep a hostile or mistaken path from hanging it, exhausting its memory or
// replacing what it should not: every input must be a regular file no
// larger than a bound that fits its kind (a named pipe, a device or a
// symlink to /dev/zero is refused with a message naming the path), and an
// output never silently replaces a symlink or a special file.
package fileio
