//go:build unix

package fileio

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// specials makes, in dir, one of each kind of path lgm must refuse to read
// and returns them by name.
func specials(t *testing.T, dir string) map[string]string {
	t.Helper()
	p := map[string]string{
		"fifo":         filepath.Join(dir, "fifo"),
		"dev-zero":     filepath.Join(dir, "zero"),
		"folder":       filepath.Join(dir, "folder"),
		"dangling":     filepath.Join(dir, "dangling"),
		"link-to-fifo": filepath.Join(dir, "link-to-fifo"),
	}
	if err := syscall.Mkfifo(p["fifo"], 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	must(t, os.Symlink("/dev/zero", p["dev-zero"]))
	must(t, os.Mkdir(p["folder"], 0o755))
	must(t, os.Symlink(filepath.Join(dir, "nothing"), p["dangling"]))
	must(t, os.Symlink(p["fifo"], p["link-to-fifo"]))
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadFileRefusesWhatIsNotARegularFile: a named pipe (which would hang
// a plain open), /dev/zero through a symlink (which never ends), a folder
// and a file over the bound are each refused at once, in one line naming
// the path; a regular file and a symlink to one are read.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	p := specials(t, dir)
	small := filepath.Join(dir, "small.yaml")
	must(t, os.WriteFile(small, []byte("seed: 2\n"), 0o644))
	link := filepath.Join(dir, "link.yaml")
	must(t, os.Symlink(small, link))
	big := filepath.Join(dir, "big.yaml")
	must(t, os.WriteFile(big, make([]byte, 101), 0o644))
	cases := []struct {
		path, want string // want: "" to read it, else a part of the error
	}{
		{small, ""},
		{link, ""},
		{p["fifo"], "is a named pipe (FIFO), not a regular file; a config file must be a regular file"},
		{p["link-to-fifo"], "is a named pipe (FIFO)"},
		{p["dev-zero"], "is a character device, not a regular file"},
		{p["folder"], "is a folder, not a regular file"},
		{big, "101 bytes is more than the 100-byte limit for a config file"},
		{filepath.Join(dir, "missing.yaml"), "no such file"},
	}
	for _, c := range cases {
		got, err := ReadFile(c.path, "a config file", 100)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %s: got %v, want the file", c.path, err)
		case c.want == "" && string(got) != "seed: 2\n":
			t.Errorf("case %s: got %q, want %q", c.path, got, "seed: 2\n")
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) ||
			!strings.HasPrefix(err.Error(), c.path+": ") || strings.Contains(err.Error(), "\n")):
			t.Errorf("case %s: got %v, want one line naming the path and saying %q", c.path, err, c.want)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.yaml"), "a config file", 100); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want an error that is fs.ErrNotExist", err)
	}
}

// TestCreateNeverReplacesASymlinkOrSpecialFile: an output goes to a new
// file (0644), replaces a regular file keeping its mode, writes through a
// symlink to a regular file (the link stays), and refuses a named pipe, a
// device, a folder and a dangling symlink, leaving them as they were.
func TestCreateNeverReplacesASymlinkOrSpecialFile(t *testing.T) {
	dir := t.TempDir()
	p := specials(t, dir)
	existing := filepath.Join(dir, "existing.csv")
	must(t, os.WriteFile(existing, []byte("old"), 0o600))
	target := filepath.Join(dir, "target.csv")
	must(t, os.WriteFile(target, []byte("old"), 0o640))
	link := filepath.Join(dir, "link.csv")
	must(t, os.Symlink("target.csv", link))
	devNull := filepath.Join(dir, "null")
	must(t, os.Symlink("/dev/null", devNull))
	cases := []struct {
		path    string
		written string      // the file that must then hold the output ("" when refused)
		mode    fs.FileMode // its mode
		want    string      // part of the refusal
	}{
		{filepath.Join(dir, "new.csv"), filepath.Join(dir, "new.csv"), 0o644, ""},
		{existing, existing, 0o600, ""},
		{link, target, 0o640, ""},
		{p["fifo"], "", 0, "is a named pipe (FIFO); refusing to replace it"},
		{devNull, "", 0, "is a symlink to /dev/null (a character device)"},
		{p["folder"], "", 0, "is a folder"},
		{p["dangling"], "", 0, "is a symlink to a file that does not exist"},
	}
	for _, c := range cases {
		before, _ := os.Lstat(c.path)
		o, err := Create(c.path)
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.path+": ") {
				t.Errorf("case %s: got %v, want a refusal naming it and saying %q", c.path, err, c.want)
			}
			if after, _ := os.Lstat(c.path); before == nil || after == nil || after.Mode() != before.Mode() {
				t.Errorf("case %s: the refused path changed", c.path)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %s: got %v, want it written", c.path, err)
			continue
		}
		o.WriteString("new\n")
		must(t, o.Commit())
		o.Abort() // harmless after Commit
		got, err := os.ReadFile(c.written)
		if err != nil || !bytes.Equal(got, []byte("new\n")) {
			t.Errorf("case %s: %s holds %q (%v), want %q", c.path, c.written, got, err, "new\n")
		}
		if fi, err := os.Stat(c.written); err != nil || fi.Mode().Perm() != c.mode {
			t.Errorf("case %s: %s has mode %v, want %v", c.path, c.written, fi.Mode().Perm(), c.mode)
		}
		if fi, _ := os.Lstat(c.path); before != nil && fi.Mode().Type() != before.Mode().Type() {
			t.Errorf("case %s: changed from %v to %v", c.path, before.Mode().Type(), fi.Mode().Type())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
