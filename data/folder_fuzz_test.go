package data

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImageTarball feeds arbitrary bytes to the image-folder reader as a
// .tar (raw tar, so that the fuzzer's changes reach the entries rather than
// only break the gzip checksum): it must load them or refuse them with an
// error naming the archive, never panic. CI runs the seed corpus only.
func FuzzImageTarball(f *testing.F) {
	valid := map[string][]byte{
		"set/train/cat/1.png": pngBytes(f, 4, 4, 1, false),
		"set/train/dog/2.jpg": jpegBytes(f, color.RGBA{200, 10, 10, 255}, 4, 4, false),
		"set/test/cat/3.png":  pngBytes(f, 4, 4, 2, false),
		"set/test/dog/4.jpg":  jpegBytes(f, color.RGBA{10, 200, 10, 255}, 4, 4, false),
	}
	raw := tarBytes(f, valid, false)
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add(raw[:512])
	f.Add([]byte{})
	// One file per fuzzing process.
	path := filepath.Join(f.TempDir(), fmt.Sprintf("fuzz-%d.tar", os.Getpid()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		train, test, err := LoadImageFolder(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the archive: %v", err)
			}
			return
		}
		for _, s := range []*Set{train, test} {
			if err := s.Validate(); err != nil {
				t.Fatalf("loaded an inconsistent set: %v", err)
			}
		}
	})
}
