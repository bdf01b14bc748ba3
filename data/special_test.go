//go:build unix

package data

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// special replaces path with a named pipe ("fifo") or a symlink to
// /dev/zero ("zero").
func special(t *testing.T, path, kind string) {
	t.Helper()
	os.Remove(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o644)
	case "zero":
		err = os.Symlink("/dev/zero", path)
	}
	if err != nil {
		t.Skipf("cannot make a %s here: %v", kind, err)
	}
}

// TestSpecialFilesRefused: an IDX file, a CIFAR file, an image in a class
// folder or an image archive that is a named pipe (which a plain open waits
// on for ever) or a symlink to /dev/zero (which never ends) is refused at
// once with one line naming it. Without the checks this test hangs.
func TestSpecialFilesRefused(t *testing.T) {
	png := pngBytes(t, 1, 4, 3, false)
	for _, kind := range []string{"fifo", "zero"} {
		what := map[string]string{"fifo": "is a named pipe (FIFO), not a regular file", "zero": "is a character device, not a regular file"}[kind]
		cases := []struct {
			name string
			load func(dir string) (path string, err error) // makes the bad file in dir and loads it
			want string
		}{
			{"IDX images", func(dir string) (string, error) {
				p := filepath.Join(dir, "train-images-idx3-ubyte")
				special(t, p, kind)
				_, _, _, _, err := ReadIDXImages(p)
				return p, err
			}, what},
			{"IDX labels", func(dir string) (string, error) {
				p := filepath.Join(dir, "train-labels-idx1-ubyte.gz")
				special(t, p, kind)
				_, err := ReadIDXLabels(p, 10)
				return p, err
			}, what},
			{"CIFAR-10 batch", func(dir string) (string, error) {
				writeFiles(t, dir, cifar10Files([6]int{2, 2, 2, 2, 2, 2}))
				p := filepath.Join(dir, "data_batch_3.bin")
				special(t, p, kind)
				_, _, err := LoadCIFAR10(dir)
				return p, err
			}, what},
			{"image in a class folder", func(dir string) (string, error) {
				writeTree(t, dir, map[string][]byte{"train/cat/1.png": png, "test/cat/1.png": png})
				p := filepath.Join(dir, "train", "cat", "2.png")
				special(t, p, kind)
				_, _, err := LoadImageFolder(dir)
				return p, err
			}, map[string]string{"fifo": what, "zero": "is a symlink to /dev/zero, outside the image folder"}[kind]},
			{"image archive", func(dir string) (string, error) {
				p := filepath.Join(dir, "set.tar.gz")
				special(t, p, kind)
				_, _, err := LoadImageFolder(p)
				return p, err
			}, what},
		}
		for _, c := range cases {
			path, err := c.load(t.TempDir())
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("case %s as a %s: got %v, want one line starting with %s and saying %q", c.name, kind, err, path, c.want)
			}
		}
	}
}

// TestSymlinksInImageFolder: a symlinked train/ folder, class folder or
// image is followed when it leads to somewhere inside the folder named,
// and refused with a message saying "symlink" when it leads outside it (or
// back into a folder that holds it); before, a symlinked class folder was
// "not in a class folder".
func TestSymlinksInImageFolder(t *testing.T) {
	png := pngBytes(t, 1, 4, 3, false)
	outside := writeTree(t, t.TempDir(), map[string][]byte{"cat/9.png": png, "9.png": png})
	for _, c := range []struct {
		name  string
		links map[string]string // link (slash path in the folder) → target (relative to the link, or absolute)
		want  string            // "" to load, else part of the error
		train int               // images in train when it loads
	}{
		{"train/ inside", map[string]string{"train": "store/train"}, "", 2},
		{"class folder inside", map[string]string{"train/dog": "../store/train/cat", "test/dog": "../store/train/cat"}, "", 4},
		{"image inside", map[string]string{"train/cat/3.png": "../../store/train/cat/1.png"}, "", 3},
		{"class folder outside", map[string]string{"train/dog": filepath.Join(outside, "cat")}, "train/dog: is a symlink to " + filepath.Join(outside, "cat") + ", outside the image folder", 0},
		{"image outside", map[string]string{"test/cat/9.png": filepath.Join(outside, "9.png")}, "test/cat/9.png: is a symlink to", 0},
		{"loop", map[string]string{"train/cat/again": ".."}, "a folder that holds it (a symlink loop)", 0},
		{"dangling", map[string]string{"train/dog": "nowhere"}, "train/dog: is a symlink to a file or folder that does not exist", 0},
	} {
		dir := t.TempDir()
		writeTree(t, dir, map[string][]byte{"train/cat/1.png": png, "train/cat/2.png": png, "test/cat/1.png": png,
			"store/train/cat/1.png": png, "store/train/cat/2.png": png})
		for link, target := range c.links {
			p := filepath.Join(dir, filepath.FromSlash(link))
			os.RemoveAll(p)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}
		train, _, err := LoadImageFolder(dir)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %s: got %v, want it loaded", c.name, err)
		case c.want == "" && train.N != c.train:
			t.Errorf("case %s: got %d training images, want %d", c.name, train.N, c.train)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "symlink") || strings.Contains(err.Error(), "\n")):
			t.Errorf("case %s: got %v, want one line saying %q", c.name, err, c.want)
		}
	}
}
