package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testPixel is the colour of pixel (x, y) of test image seed.
func testPixel(seed, x, y int) color.RGBA {
	return color.RGBA{R: uint8(seed*40 + x), G: uint8(100 + y*3), B: uint8(200 - seed - x*y), A: 255}
}

// pngBytes encodes a w×h test image: colour, or grey (the R of testPixel).
func pngBytes(t testing.TB, seed, w, h int, grey bool) []byte {
	t.Helper()
	var m image.Image
	if grey {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x, y, color.Gray{Y: testPixel(seed, x, y).R})
			}
		}
		m = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c.SetRGBA(x, y, testPixel(seed, x, y))
			}
		}
		m = c
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegBytes encodes a w×h image of one colour (which JPEG keeps almost
// exactly), or grey when grey is set.
func jpegBytes(t testing.TB, c color.RGBA, w, h int, grey bool) []byte {
	t.Helper()
	var m image.Image
	if grey {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = c.R
		}
		m = g
	} else {
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				rgba.SetRGBA(x, y, c)
			}
		}
		m = rgba
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarBytes packs files (slash-separated names, written in sorted order
// after a directory entry for each folder) as a tar archive, gzipped if gz.
func tarBytes(t testing.TB, files map[string][]byte, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	dirs := map[string]bool{}
	for _, name := range names {
		for d := filepath.Dir(name); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := w.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writeTree writes files (slash-separated names) under dir.
func writeTree(t testing.TB, dir string, files map[string][]byte) string {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Dir(p), filepath.Base(p), b)
	}
	return dir
}

// withPrefix returns files with prefix added to every name.
func withPrefix(prefix string, files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for name, b := range files {
		out[prefix+name] = b
	}
	return out
}

// smallTree is a 3-class image folder of 4×3 images, PNGs whose pixels are
// testPixel(seed) and one-colour JPEGs, with hidden files and a file outside
// the splits that the reader must ignore.
func smallTree(t testing.TB) map[string][]byte {
	t.Helper()
	return map[string][]byte{
		"train/cat/b.png":   pngBytes(t, 2, 4, 3, false),
		"train/cat/a.png":   pngBytes(t, 1, 4, 3, false),
		"train/dog/x.JPG":   jpegBytes(t, color.RGBA{200, 40, 90, 255}, 4, 3, false),
		"train/emu/1.png":   pngBytes(t, 3, 4, 3, false),
		"test/dog/y.jpeg":   jpegBytes(t, color.RGBA{10, 250, 130, 255}, 4, 3, false),
		"test/cat/c.png":    pngBytes(t, 4, 4, 3, false),
		"test/emu/2.png":    pngBytes(t, 5, 4, 3, false),
		"test/.DS_Store":    []byte("junk"),
		"test/emu/._2.png":  []byte("junk"),
		"LICENSE":           []byte("free"),
		".hidden/train/x/y": []byte("junk"),
	}
}

// checkSmallTree checks the sets read from smallTree.
func checkSmallTree(t *testing.T, name string, train, test *Set, setName string) {
	t.Helper()
	classes := []string{"cat", "dog", "emu"}
	for _, tc := range []struct {
		set    *Set
		split  string
		labels []int
		pixels []int // test image seed, or -1 for the JPEG
	}{
		{train, "train", []int{0, 0, 1, 2}, []int{1, 2, -1, 3}},
		{test, "test", []int{0, 1, 2}, []int{4, -1, 5}},
	} {
		s := tc.set
		if err := s.Validate(); err != nil {
			t.Errorf("case %v %s: got invalid set: %v", name, tc.split, err)
		}
		got := [6]any{s.Name, s.N, s.C, s.H, s.W, s.Classes}
		want := [6]any{setName + "/" + tc.split, len(tc.labels), 3, 3, 4, 3}
		if got != want {
			t.Errorf("case %v %s: got name, N, C, H, W, classes %v, want %v", name, tc.split, got, want)
			continue
		}
		if !reflect.DeepEqual(s.Labels, tc.labels) || !reflect.DeepEqual(s.ClassNames, classes) {
			t.Errorf("case %v %s: got labels %v classes %v, want %v %v", name, tc.split, s.Labels, s.ClassNames, tc.labels, classes)
		}
		for i, seed := range tc.pixels {
			img := values(s, i)
			for y := 0; y < 3; y++ {
				for x := 0; x < 4; x++ {
					for ch := 0; ch < 3; ch++ {
						v := img[ch*12+y*4+x]
						if seed < 0 {
							if v < 0 || v > 1 {
								t.Errorf("case %v %s: got example %d value %v, want it in [0,1]", name, tc.split, i, v)
							}
							continue
						}
						p := testPixel(seed, x, y)
						if w := float32([3]uint8{p.R, p.G, p.B}[ch]) / 255; v != w {
							t.Errorf("case %v %s: got example %d channel %d (%d,%d) = %v, want %v", name, tc.split, i, ch, x, y, v, w)
						}
					}
				}
			}
		}
	}
	// The first JPEG is one colour: (200, 40, 90) within JPEG's rounding.
	for ch, want := range []float64{200, 40, 90} {
		if got := float64(values(train, 2)[ch*12+5]) * 255; math.Abs(got-want) > 3 {
			t.Errorf("case %v jpeg: got channel %d = %v, want %v ± 3", name, ch, got, want)
		}
	}
}

func TestLoadImageFolder(t *testing.T) {
	files := smallTree(t)
	base := t.TempDir()
	top := writeTree(t, filepath.Join(base, "top"), files)
	nested := writeTree(t, filepath.Join(base, "nested"), withPrefix("a/mini/", files))
	tgz := writeFile(t, base, "mini.tar.gz", tarBytes(t, files, true))
	tgzNested := writeFile(t, base, "nested.tgz", tarBytes(t, withPrefix("./cifar10/", files), true))
	plain := writeFile(t, base, "plain.tar", tarBytes(t, withPrefix("x/y/z/", files), false))

	var ref *Set
	for _, tc := range []struct {
		path, name string
	}{
		{top, "top"},
		{nested, "mini"},
		{tgz, "mini"},
		{tgzNested, "cifar10"},
		{plain, "z"},
	} {
		train, test, err := LoadImageFolder(tc.path)
		if err != nil {
			t.Errorf("case %v: got error %v, want none", tc.path, err)
			continue
		}
		checkSmallTree(t, tc.path, train, test, tc.name)
		if ref == nil {
			ref = train
		} else if !reflect.DeepEqual(train.Pixels, ref.Pixels) {
			t.Errorf("case %v: got pixels that differ from those read from the folder", tc.path)
		}
	}
}

func TestLoadImageFolderGrey(t *testing.T) {
	grey := map[string][]byte{
		"train/a/1.png": pngBytes(t, 1, 2, 2, true),
		"train/b/1.jpg": jpegBytes(t, color.RGBA{R: 77}, 2, 2, true),
		"test/a/1.png":  pngBytes(t, 2, 2, 2, true),
		"test/b/1.png":  pngBytes(t, 3, 2, 2, true),
	}
	train, test, err := LoadImageFolder(writeTree(t, t.TempDir(), grey))
	if err != nil {
		t.Fatalf("case all grey: got error %v, want none", err)
	}
	if train.C != 1 || test.C != 1 {
		t.Errorf("case all grey: got C = %d, %d, want 1", train.C, test.C)
	}
	if got, want := values(train, 0)[3], float32(testPixel(1, 1, 1).R)/255; got != want {
		t.Errorf("case all grey: got pixel %v, want %v", got, want)
	}

	mixed := map[string][]byte{"test/b/2.png": pngBytes(t, 4, 2, 2, false)}
	for k, v := range grey {
		mixed[k] = v
	}
	train, test, err = LoadImageFolder(writeTree(t, t.TempDir(), mixed))
	if err != nil {
		t.Fatalf("case mixed: got error %v, want none", err)
	}
	if train.C != 3 || test.C != 3 {
		t.Errorf("case mixed: got C = %d, %d, want 3", train.C, test.C)
	}
	img := values(train, 0) // grey, copied to all three channels
	for ch := 0; ch < 3; ch++ {
		if got, want := img[ch*4+3], float32(testPixel(1, 1, 1).R)/255; got != want {
			t.Errorf("case mixed: got channel %d = %v, want %v", ch, got, want)
		}
	}
}

func TestLoadImageFolderErrors(t *testing.T) {
	png43 := pngBytes(t, 1, 4, 3, false)
	corruptPNG := append(slices.Clone(png43[:40]), make([]byte, 20)...)
	corruptJPEG := jpegBytes(t, color.RGBA{1, 2, 3, 255}, 4, 3, false)[:30]
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		words []string
	}{
		{"mismatched classes", map[string][]byte{
			"train/cat/1.png": png43, "train/dog/1.png": png43, "train/emu/1.png": png43,
			"test/cat/1.png": png43, "test/fox/1.png": png43,
		}, []string{"train and test have different classes (only in train: dog, emu; only in test: fox)"}},
		{"corrupt png", map[string][]byte{
			"train/cat/1.png": png43, "train/cat/2.png": corruptPNG, "test/cat/1.png": png43,
		}, []string{"train/cat/2.png: corrupt PNG"}},
		{"corrupt jpeg", map[string][]byte{
			"train/cat/1.png": png43, "test/cat/9.jpg": corruptJPEG,
		}, []string{"test/cat/9.jpg: corrupt JPEG"}},
		{"not an image", map[string][]byte{
			"train/cat/1.png": png43, "test/cat/1.png": []byte("hello, world"),
		}, []string{"test/cat/1.png: not a PNG or JPEG image (starts with 68 65 6c 6c)"}},
		{"empty image file", map[string][]byte{
			"train/cat/1.png": png43, "test/cat/1.png": {},
		}, []string{"test/cat/1.png: empty file"}},
		{"different size", map[string][]byte{
			// the odd one out is last in both reading orders (folder: train
			// first; archive: by name)
			"train/cat/1.png": png43, "test/cat/1.png": png43, "train/cat/2.png": pngBytes(t, 1, 3, 4, false),
		}, []string{"train/cat/2.png: is 3×4 but ", "cat/1.png is 4×3"}},
		{"no test", map[string][]byte{"train/cat/1.png": png43}, []string{"test"}},
		{"no class folder", map[string][]byte{
			"train/cat/1.png": png43, "test/1.png": png43,
		}, []string{"test/1.png: not in a class folder"}},
		{"too deep", map[string][]byte{
			"train/cat/1.png": png43, "test/cat/more/1.png": png43,
		}, []string{"test/cat/more/1.png: not in a class folder"}},
		{"not an image name", map[string][]byte{
			"train/cat/1.png": png43, "train/cat/notes.txt": nil, "test/cat/1.png": png43,
		}, []string{"train/cat/notes.txt: not a .png, .jpg or .jpeg file"}},
		{"no layout", map[string][]byte{"cat/1.png": png43}, []string{"train/", "test/"}},
	} {
		for _, form := range []string{"folder", "tar.gz"} {
			var path string
			if form == "folder" {
				path = writeTree(t, t.TempDir(), tc.files)
			} else {
				path = writeFile(t, t.TempDir(), "set.tar.gz", tarBytes(t, withPrefix("ds/", tc.files), true))
			}
			checkLoadError(t, tc.name+" "+form, path, tc.words)
		}
	}
}

func TestLoadImageFolderArchiveErrors(t *testing.T) {
	png43 := pngBytes(t, 1, 4, 3, false)
	good := tarBytes(t, map[string][]byte{"train/cat/1.png": png43, "test/cat/1.png": png43, "test/cat/2.png": png43}, true)

	var link bytes.Buffer
	w := tar.NewWriter(&link)
	w.WriteHeader(&tar.Header{Name: "train/cat/1.png", Typeflag: tar.TypeReg, Size: int64(len(png43)), Mode: 0o644})
	w.Write(png43)
	w.WriteHeader(&tar.Header{Name: "test/cat/1.png", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	w.Close()

	var huge bytes.Buffer
	w = tar.NewWriter(&huge)
	w.WriteHeader(&tar.Header{Name: "train/cat/1.png", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
	hugeBytes := huge.Bytes() // header only: the claim must be refused before reading

	for _, tc := range []struct {
		name  string
		file  []byte
		words []string
	}{
		{"truncated", good[:len(good)/2], []string{"ends early (truncated file)"}},
		{"not an archive", []byte("just some text, long enough to be read as a header or not"), []string{"not a readable tar archive"}},
		{"symlink", link.Bytes(), []string{"test/cat/1.png: is not a regular file"}},
		{"huge entry", hugeBytes, []string{"train/cat/1.png: 1099511627776 bytes is more than"}},
	} {
		path := writeFile(t, t.TempDir(), "set.tar.gz", tc.file)
		checkLoadError(t, tc.name, path, tc.words)
	}
	checkLoadError(t, "missing", filepath.Join(t.TempDir(), "absent.tar.gz"), []string{"does not exist"})
}

// checkLoadError checks that LoadImageFolder(path) fails with a one-line
// message that names path and contains words.
func checkLoadError(t *testing.T, name, path string, words []string) {
	t.Helper()
	train, test, err := LoadImageFolder(path)
	if err == nil {
		t.Errorf("case %v: got no error, want one", name)
		return
	}
	msg := err.Error()
	t.Logf("case %v: %s", name, msg)
	for _, w := range append([]string{path}, words...) {
		if !strings.Contains(msg, w) {
			t.Errorf("case %v: got %q, want it to contain %q", name, msg, w)
		}
	}
	if strings.Contains(msg, "\n") || strings.HasSuffix(msg, ".") {
		t.Errorf("case %v: got %q, want one line without a trailing period", name, msg)
	}
	if train != nil || test != nil {
		t.Errorf("case %v: got sets with the error, want nil", name)
	}
}

// moduleRoot returns the folder holding go.mod, walking up from the test's
// working folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// TestSharedCIFAR10JPEG reads the shared CIFAR-10 JPEG tarball (50000 + 10000
// images), which lives outside the repository. It takes about 3-9 s on two
// busy cores, short enough to run under -short too.
func TestSharedCIFAR10JPEG(t *testing.T) {
	path := filepath.Join(moduleRoot(t), "..", "shared", "data", "cifar10-jpg.tar.gz")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		t.Skipf("CIFAR-10 JPEG tarball not on this machine (looked for %s)", path)
	}
	start := time.Now()
	train, test, err := LoadImageFolder(path)
	if err != nil {
		t.Fatalf("case load: got error %v, want none", err)
	}
	t.Logf("read %s in %v", path, time.Since(start).Round(time.Millisecond))
	for _, tc := range []struct {
		set  *Set
		name string
		n    int
	}{{train, "cifar10/train", 50000}, {test, "cifar10/test", 10000}} {
		s := tc.set
		if err := s.Validate(); err != nil {
			t.Errorf("case %v: got invalid set: %v", tc.name, err)
		}
		got := [6]any{s.Name, s.N, s.C, s.H, s.W, s.Classes}
		want := [6]any{tc.name, tc.n, 3, 32, 32, 10}
		if got != want {
			t.Errorf("case %v: got name, N, C, H, W, classes %v, want %v", tc.name, got, want)
		}
		if !reflect.DeepEqual(s.ClassNames, CIFAR10Classes) {
			t.Errorf("case %v: got classes %v, want %v", tc.name, s.ClassNames, CIFAR10Classes)
		}
		var counts [10]int
		for _, l := range s.Labels {
			counts[l]++
		}
		for c, k := range counts {
			if k != tc.n/10 {
				t.Errorf("case %v: got %d examples of class %s, want %d", tc.name, k, CIFAR10Classes[c], tc.n/10)
			}
		}
	}
	// The widely quoted CIFAR-10 training means (0.4914, 0.4822, 0.4465),
	// loosely: these are JPEG re-encodings.
	norm := ComputeNorm(train)
	for c, want := range []float64{0.4914, 0.4822, 0.4465} {
		if math.Abs(float64(norm.Mean[c])-want) > 0.01 {
			t.Errorf("case mean of channel %d: got %v, want %v ± 0.01", c, norm.Mean[c], want)
		}
	}
}
