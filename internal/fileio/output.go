package fileio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Output is a file being written atomically: the bytes go to a temporary
// file beside the target, which Commit renames over it, so a failed or
// interrupted command never leaves a partial file under the name.
type Output struct {
	*os.File
	Target string // the file that Commit replaces: the path, or the regular file a symlink names
	path   string
	mode   fs.FileMode
}

// Create starts writing the output file path (a command's --out, outside
// any run directory). It never silently replaces something that is not a
// regular file:
//
//   - a path that does not exist becomes a new file (mode 0644);
//   - a regular file is replaced, keeping its permissions;
//   - a symlink to a regular file is written through: its target is
//     replaced and the link stays;
//   - anything else (a folder, a named pipe, a device, a dangling symlink,
//     a symlink to one of those) is refused with an error naming path.
//
// The caller writes to the Output, then calls Commit, or Abort on failure.
func Create(path string) (*Output, error) {
	target, mode, err := outputTarget(path)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return &Output{File: tmp, Target: target, path: path, mode: mode}, nil
}

// outputTarget resolves the file an output to path replaces, and its mode.
func outputTarget(path string) (string, fs.FileMode, error) {
	refuse := func(what string) error {
		return fmt.Errorf("%s: is %s; refusing to replace it with the output: name a regular file (or - for standard output)", path, what)
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, 0o644, nil
	case err != nil:
		return "", 0, fmt.Errorf("cannot write %s: %w", path, err)
	case fi.Mode().IsRegular():
		return path, fi.Mode().Perm(), nil
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", 0, refuse(Kind(fi.Mode()))
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", 0, refuse("a symlink to a file that does not exist")
	}
	tfi, err := os.Stat(target)
	if err != nil {
		return "", 0, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if !tfi.Mode().IsRegular() {
		return "", 0, refuse(fmt.Sprintf("a symlink to %s (%s)", target, Kind(tfi.Mode())))
	}
	return target, tfi.Mode().Perm(), nil
}

// Commit makes the written bytes durable and puts them in place of the
// target.
func (o *Output) Commit() error {
	err := o.File.Chmod(o.mode)
	if err == nil {
		err = o.File.Sync()
	}
	if cerr := o.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.File.Name(), o.Target)
	}
	if err != nil {
		os.Remove(o.File.Name())
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	return nil
}

// Abort discards what was written; the target is left as it was. It may be
// called after Commit (it then does nothing).
func (o *Output) Abort() {
	o.File.Close()
	os.Remove(o.File.Name())
}
