package data

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadIDX feeds arbitrary bytes to the IDX reader, as an image file and
// as a label file, raw from a file on disk and through a reader of unknown
// size. It checks that nothing panics, that a success has consistent
// dimensions, and that a failure is a one-line message naming the file.
// CI runs only the seed corpus; run `go test -fuzz FuzzReadIDX ./data` to
// explore.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(imageMagic, []uint32{2, 3, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}))
	f.Add(idxBytes(labelMagic, []uint32{4}, []byte{0, 9, 3, 1}))
	f.Add(gzipBytes(f, idxBytes(imageMagic, []uint32{1, 2, 2}, []byte{1, 2, 3, 4})))
	f.Add(gzipBytes(f, idxBytes(labelMagic, []uint32{2}, []byte{7, 8})))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Add(idxBytes(imageMagic, []uint32{3, 2, 2}, make([]byte, 11)))            // truncated
	f.Add(idxBytes(imageMagic, []uint32{3, 2, 2}, make([]byte, 13)))            // trailing
	f.Add(idxBytes(0x00000d03, []uint32{1, 1, 1}, make([]byte, 4)))             // float
	f.Add(idxBytes(imageMagic, []uint32{0xffffffff, 0xffffffff, 2}, []byte{1})) // overflow
	f.Add(idxBytes(imageMagic, []uint32{32768, 256, 256}, []byte{1}))           // 2 GiB claimed
	f.Add(idxBytes(labelMagic, []uint32{3}, []byte{1, 10, 200}))                // out of range
	f.Add(gzipCorruptBody(f))

	// One file per fuzzing process, rewritten for each input: much faster
	// than a fresh folder per input.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		path := writeFile(t, dir, "fuzz-idx", file)

		pix, n, rows, cols, err := ReadIDXImages(path)
		if err == nil {
			if n <= 0 || rows <= 0 || cols <= 0 || len(pix) != n*rows*cols {
				t.Errorf("case images: got %d pixels for %d×%d×%d, want n*rows*cols > 0", len(pix), n, rows, cols)
			}
			if len(file) >= 16 && file[0] != 0x1f && !bytes.Equal(pix, file[16:]) {
				t.Errorf("case images: got pixels that differ from the file body")
			}
		} else {
			checkFuzzError(t, "images", err, path)
		}

		labels, err := ReadIDXLabels(path, 10)
		if err == nil {
			if len(labels) == 0 {
				t.Errorf("case labels: got 0 labels without an error, want at least 1")
			}
			for i, l := range labels {
				if l < 0 || l >= 10 {
					t.Errorf("case labels: got label %d = %d, want it in [0, 10)", i, l)
				}
			}
		} else {
			checkFuzzError(t, "labels", err, path)
		}

		// Size unknown (a pipe): the same verdict as from the file.
		for _, kind := range []idxKind{idxImages, idxLabels} {
			_, fileData, fileErr := readIDXFile(path, kind)
			dims, data, err := decodeIDX(bytes.NewReader(file), -1, kind)
			if (err == nil) != (fileErr == nil) || !bytes.Equal(data, fileData) {
				t.Errorf("case %s of unknown size: got %v, %v, want the file's verdict %v", kind.noun, dims, err, fileErr)
			}
		}
	})
}

func checkFuzzError(t *testing.T, name string, err error, path string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
		t.Errorf("case %s: got %q, want one line naming %s", name, msg, path)
	}
}
