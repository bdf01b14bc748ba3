package fileio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Bounds on the inputs lgm reads, each well above the largest real file of
// its kind.
const (
	MaxConfigBytes     = 4 << 20  // a YAML config: the shipped ones are a few KB
	MaxMetricsBytes    = 1 << 30  // metrics.jsonl: about 500 bytes an epoch
	MaxCheckpointBytes = 16 << 30 // a checkpoint: the paper's full-width VGG with solver state is ~100 MB
)

// Open opens path for reading and checks that it is a regular file (a
// symlink is followed to its target) of at most limit bytes. what names the
// kind of file in messages, with its article ("a config file", "an image"). Errors are one
// line naming path; a missing file's error wraps fs.ErrNotExist.
//
// A named pipe is opened without blocking (so that a FIFO nobody writes
// cannot hang lgm) and then refused, as are devices, sockets and folders.
func Open(path, what string, limit int64) (*os.File, fs.FileInfo, error) {
	// Refuse what can be refused without opening it: opening some devices
	// has effects of its own.
	if fi, err := os.Stat(path); err != nil {
		return nil, nil, openError(path, what, err)
	} else if err := checkRegular(path, what, fi, limit); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, nil, openError(path, what, err)
	}
	// The path may have been replaced since the Stat: what counts is what
	// was opened.
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(path, what, fi, limit)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadFile reads the whole regular file path, of at most limit bytes (see
// Open). The buffer is sized from the file's size, so memory is the file's
// size, and a file that grows past limit while being read is refused.
func ReadFile(path, what string, limit int64) ([]byte, error) {
	f, fi, err := Open(path, what, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := io.LimitReader(f, limit+1)
	buf := make([]byte, 0, fi.Size()+1) // +1: room to see EOF without growing
	for {
		if len(buf) == cap(buf) { // the file grew since the Stat
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading %s: %w", path, what, err)
		}
	}
	if int64(len(buf)) > limit {
		return nil, fmt.Errorf("%s: grew past the %d-byte limit for %s while being read", path, limit, what)
	}
	return buf, nil
}

// checkRegular refuses fi (the file at path) unless it is a regular file of
// at most limit bytes.
func checkRegular(path, what string, fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: is %s, not a regular file; %s must be a regular file", path, Kind(fi.Mode()), what)
	}
	if fi.Size() > limit {
		return tooLarge(path, what, fi.Size(), limit)
	}
	return nil
}

func tooLarge(path, what string, size, limit int64) error {
	return fmt.Errorf("%s: %d bytes is more than the %d-byte limit for %s", path, size, limit, what)
}

// openError names path in err once.
func openError(path, what string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, err) // "no such file or directory", which is fs.ErrNotExist
	}
	return fmt.Errorf("%s: cannot open %s: %w", path, what, err)
}

// Kind says what a file of mode m is, for messages: "a named pipe (FIFO)",
// "a character device", "a folder", ….
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}
