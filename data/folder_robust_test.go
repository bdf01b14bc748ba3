package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"
)

// tarEntries writes a gzip-compressed tar of the entries in order,
// duplicates and all.
func tarEntries(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	w := tar.NewWriter(zw)
	for _, e := range entries {
		if err := w.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	name string
	data []byte
}

// TestArchiveDuplicatePathsRefused: an archive holding the same image path
// twice (also once as "./path") is refused naming the path; before, both
// copies were trained on.
func TestArchiveDuplicatePathsRefused(t *testing.T) {
	a, b := pngBytes(t, 1, 4, 3, false), pngBytes(t, 2, 4, 3, false)
	for _, c := range []struct {
		name    string
		entries []tarEntry
	}{
		{"same bytes", []tarEntry{{"train/cat/1.png", a}, {"test/cat/1.png", a}, {"train/cat/1.png", a}}},
		{"other bytes", []tarEntry{{"train/cat/1.png", a}, {"train/cat/1.png", b}, {"test/cat/1.png", a}}},
		{"spelt another way", []tarEntry{{"train/cat/1.png", a}, {"./train/cat/1.png", b}, {"test/cat/1.png", a}}},
	} {
		path := writeFile(t, t.TempDir(), "set.tar.gz", tarEntries(t, c.entries...))
		checkLoadError(t, c.name, path, []string{path + ": train/cat/1.png: appears twice in the archive"})
	}
}
