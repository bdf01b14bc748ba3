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
// error naming the archive, never panic, and never decode more than the
// budget it is given (256 KB). The seeds include size bombs: a small image
// followed by a 4096×4096 one, and many large images of one size. CI runs
// the seed corpus and testdata/fuzz/FuzzImageTarball.
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
	// Bombs: a few KB that would decode to many MB.
	huge := flatPNG(f, 4096, 4096, true) // 22 KB, 16 MB decoded
	big := flatPNG(f, 128, 128, true)    // 154 bytes, 16 KB decoded
	f.Add(tarBytes(f, map[string][]byte{"test/a/1.png": pngBytes(f, 1, 8, 8, false), "train/a/1.png": huge}, false))
	f.Add(tarBytes(f, map[string][]byte{"test/a/1.png": huge, "train/a/1.png": huge}, false))
	bombs := map[string][]byte{"test/a/1.png": big}
	for i := range 24 {
		bombs[fmt.Sprintf("train/a/%02d.png", i)] = big
	}
	f.Add(tarBytes(f, bombs, false))
	f.Add(tarBytes(f, map[string][]byte{"train/a/1.png": big, "test/a/1.png": big, "train/a/./1.png": big}, false))
	// One file per fuzzing process.
	path := filepath.Join(f.TempDir(), fmt.Sprintf("fuzz-%d.tar", os.Getpid()))
	const budget = 256 << 10
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		train, test, err := LoadImageFolderLimit(path, budget)
		if err != nil {
			if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line naming the archive: %v", err)
			}
			return
		}
		for _, s := range []*Set{train, test} {
			if err := s.Validate(); err != nil {
				t.Fatalf("loaded an inconsistent set: %v", err)
			}
		}
		if n := len(train.Pixels) + len(test.Pixels); n > budget {
			t.Fatalf("loaded %d bytes of pixels with a budget of %d", n, budget)
		}
	})
}
