package data

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cifarBytes builds CIFAR records, one per entry of labels (each entry the
// record's label bytes), with pixel byte k of record i equal to
// byte(seed + 7*i + k).
func cifarBytes(seed int, labels ...[]byte) []byte {
	var b []byte
	for i, l := range labels {
		b = append(b, l...)
		for k := 0; k < cifarPixels; k++ {
			b = append(b, byte(seed+7*i+k))
		}
	}
	return b
}

// cifar10Labels returns n single-byte labels (i+start)%10.
func cifar10Labels(n, start int) [][]byte {
	l := make([][]byte, n)
	for i := range l {
		l[i] = []byte{byte((i + start) % 10)}
	}
	return l
}

// cifar100Labels returns n label pairs: coarse (i+start)%20, fine
// (3*i+start)%100.
func cifar100Labels(n, start int) [][]byte {
	l := make([][]byte, n)
	for i := range l {
		l[i] = []byte{byte((i + start) % 20), byte((3*i + start) % 100)}
	}
	return l
}

// cifar10Files returns the files of a small CIFAR-10 release: data batch b
// holds counts[b] records (b = 0..4), test_batch.bin counts[5]. The pixels
// of file b are seeded with 10*b and the labels start at b.
func cifar10Files(counts [6]int) map[string][]byte {
	files := make(map[string][]byte)
	names := append(append([]string(nil), cifar10Format.train...), cifar10Format.test...)
	for b, name := range names {
		files[name] = cifarBytes(10*b, cifar10Labels(counts[b], b)...)
	}
	files["batches.meta.txt"] = []byte(strings.Join(CIFAR10Classes, "\n") + "\n")
	return files
}

// cifar100Files returns the files of a small CIFAR-100 release.
func cifar100Files(nTrain, nTest int) map[string][]byte {
	return map[string][]byte{
		"train.bin":              cifarBytes(0, cifar100Labels(nTrain, 0)...),
		"test.bin":               cifarBytes(10, cifar100Labels(nTest, 1)...),
		"fine_label_names.txt":   []byte(strings.Join(CIFAR100FineClasses, "\n") + "\n"),
		"coarse_label_names.txt": []byte(strings.Join(CIFAR100CoarseClasses, "\n") + "\n"),
	}
}

// writeFiles writes files into dir (made if needed) and returns dir.
func writeFiles(t testing.TB, dir string, files map[string][]byte) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		writeFile(t, dir, name, b)
	}
	return dir
}

// checkCIFARSet checks s against the records it was read from: labels[i]
// is the expected label of example i and pixels the concatenated records.
func checkCIFARSet(t *testing.T, name string, s *Set, wantName string, classes int, records []byte, recSize int, labels []int) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Errorf("case %v: got invalid set: %v", name, err)
	}
	got := [7]any{s.Name, s.N, s.C, s.H, s.W, s.Classes, len(s.ClassNames)}
	want := [7]any{wantName, len(labels), 3, 32, 32, classes, classes}
	if got != want {
		t.Errorf("case %v: got name, N, C, H, W, classes, names %v, want %v", name, got, want)
		return
	}
	if !reflect.DeepEqual(s.Labels, labels) {
		t.Errorf("case %v: got labels %v, want %v", name, s.Labels, labels)
	}
	for i := 0; i < s.N; i++ {
		px := records[i*recSize+recSize-cifarPixels : (i+1)*recSize]
		img := values(s, i)
		for k, b := range px {
			if img[k] != float32(b)/255 {
				t.Errorf("case %v: got example %d pixel %d = %v, want %v", name, i, k, img[k], float32(b)/255)
				return
			}
		}
	}
}

func TestLoadCIFAR10(t *testing.T) {
	counts := [6]int{2, 1, 3, 1, 2, 3}
	files := cifar10Files(counts)
	var trainRecords []byte
	var trainLabels []int
	for b, name := range cifar10Format.train {
		trainRecords = append(trainRecords, files[name]...)
		for i := 0; i < counts[b]; i++ {
			trainLabels = append(trainLabels, (i+b)%10)
		}
	}
	testLabels := []int{5, 6, 7}

	parent := t.TempDir()
	batches := writeFiles(t, filepath.Join(parent, CIFAR10Folder), files)
	for _, path := range []string{parent, batches} {
		train, test, err := LoadCIFAR10(path)
		if err != nil {
			t.Errorf("case %v: got error %v, want none", path, err)
			continue
		}
		checkCIFARSet(t, path+" train", train, "cifar10/train", 10, trainRecords, 3073, trainLabels)
		checkCIFARSet(t, path+" test", test, "cifar10/test", 10, files["test_batch.bin"], 3073, testLabels)
		if !reflect.DeepEqual(train.ClassNames, CIFAR10Classes) || !reflect.DeepEqual(test.ClassNames, CIFAR10Classes) {
			t.Errorf("case %v: got class names %v, want %v", path, train.ClassNames, CIFAR10Classes)
		}
	}
	if err := checkCIFAR(parent, cifar10Format); err != nil {
		t.Errorf("case check: got %v, want no error", err)
	}
}

func TestLoadCIFAR100(t *testing.T) {
	files := cifar100Files(4, 3)
	parent := t.TempDir()
	dir := writeFiles(t, filepath.Join(parent, CIFAR100Folder), files)
	for _, tc := range []struct {
		coarse  bool
		name    string
		classes int
		names   []string
		train   []int
		test    []int
	}{
		{false, "cifar100", 100, CIFAR100FineClasses, []int{0, 3, 6, 9}, []int{1, 4, 7}},
		{true, "cifar100-coarse", 20, CIFAR100CoarseClasses, []int{0, 1, 2, 3}, []int{1, 2, 3}},
	} {
		for _, path := range []string{parent, dir} {
			train, test, err := LoadCIFAR100(path, tc.coarse)
			if err != nil {
				t.Errorf("case %v coarse=%v: got error %v, want none", path, tc.coarse, err)
				continue
			}
			checkCIFARSet(t, tc.name+" train", train, tc.name+"/train", tc.classes, files["train.bin"], 3074, tc.train)
			checkCIFARSet(t, tc.name+" test", test, tc.name+"/test", tc.classes, files["test.bin"], 3074, tc.test)
			if !reflect.DeepEqual(train.ClassNames, tc.names) {
				t.Errorf("case %v: got class names %v, want %v", tc.name, train.ClassNames, tc.names)
			}
		}
	}
}

func TestCIFARClassNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		names  []string
		n      int
		sorted bool
	}{
		{"cifar10", CIFAR10Classes, 10, true},
		{"cifar100 fine", CIFAR100FineClasses, 100, true},
		{"cifar100 coarse", CIFAR100CoarseClasses, 20, true},
	} {
		if len(tc.names) != tc.n || !slices.IsSorted(tc.names) || len(slices.Compact(slices.Clone(tc.names))) != tc.n {
			t.Errorf("case %v: got %d names (sorted %v), want %d distinct sorted names", tc.name, len(tc.names), slices.IsSorted(tc.names), tc.n)
		}
	}
}

func TestLoadCIFARErrors(t *testing.T) {
	ok10 := cifar10Files([6]int{1, 1, 1, 1, 1, 1})
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (path string)
		load  func(path string) (*Set, *Set, error)
		words []string // the path is checked by the test too
	}{
		{"short record", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), ok10)
			writeFile(t, dir, "data_batch_3.bin", append(cifarBytes(0, cifar10Labels(2, 0)...), 1))
			return dir
		}, LoadCIFAR10, []string{"data_batch_3.bin: 6147 bytes is not a whole number of 3073-byte records: record 2 is cut short"}},
		{"one byte short", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), ok10)
			b := cifarBytes(0, cifar10Labels(3, 0)...)
			writeFile(t, dir, "test_batch.bin", b[:len(b)-1])
			return dir
		}, LoadCIFAR10, []string{"test_batch.bin: 9218 bytes is not a whole number of 3073-byte records: record 2 is cut short"}},
		{"label 10", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), ok10)
			writeFile(t, dir, "data_batch_5.bin", cifarBytes(0, []byte{9}, []byte{3}, []byte{10}))
			return dir
		}, LoadCIFAR10, []string{"data_batch_5.bin: record 2 has label 10, want 0..9"}},
		{"label 255 in test", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), ok10)
			writeFile(t, dir, "test_batch.bin", cifarBytes(0, []byte{255}))
			return dir
		}, LoadCIFAR10, []string{"test_batch.bin: record 0 has label 255, want 0..9"}},
		{"empty file", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), ok10)
			writeFile(t, dir, "data_batch_2.bin", nil)
			return dir
		}, LoadCIFAR10, []string{"data_batch_2.bin: empty file (want 3073-byte CIFAR-10 records)"}},
		{"missing files", func(t *testing.T) string {
			dir := writeFiles(t, filepath.Join(t.TempDir(), "data", CIFAR10Folder), ok10)
			os.Remove(filepath.Join(dir, "data_batch_4.bin"))
			os.Remove(filepath.Join(dir, "test_batch.bin"))
			return dir
		}, LoadCIFAR10, []string{"missing data_batch_4.bin, test_batch.bin", "lgm data download cifar10 --dir ", string(filepath.Separator) + "data`"}},
		{"empty folder", func(t *testing.T) string { return t.TempDir() }, LoadCIFAR10,
			[]string{"missing data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin", CIFAR10Folder, "lgm data download cifar10 --dir "}},
		{"no folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") }, LoadCIFAR10,
			[]string{"does not exist", "lgm data download cifar10 --dir "}},
		{"a file", func(t *testing.T) string {
			return writeFile(t, t.TempDir(), "data_batch_1.bin", ok10["data_batch_1.bin"])
		}, LoadCIFAR10,
			[]string{"is not a folder"}},
		{"fine label 100", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), cifar100Files(2, 2))
			writeFile(t, dir, "train.bin", cifarBytes(0, []byte{1, 99}, []byte{19, 100}))
			return dir
		}, func(p string) (*Set, *Set, error) { return LoadCIFAR100(p, false) },
			[]string{"train.bin: record 1 has fine label 100, want 0..99"}},
		{"coarse label 20 while reading fine", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), cifar100Files(2, 2))
			writeFile(t, dir, "test.bin", cifarBytes(0, []byte{20, 5}))
			return dir
		}, func(p string) (*Set, *Set, error) { return LoadCIFAR100(p, false) },
			[]string{"test.bin: record 0 has coarse label 20, want 0..19"}},
		{"cifar100 short record", func(t *testing.T) string {
			dir := writeFiles(t, t.TempDir(), cifar100Files(2, 2))
			writeFile(t, dir, "train.bin", cifarBytes(0, cifar10Labels(3, 0)...)) // 3073-byte records
			return dir
		}, func(p string) (*Set, *Set, error) { return LoadCIFAR100(p, true) },
			[]string{"train.bin: 9219 bytes is not a whole number of 3074-byte records: record 2 is cut short"}},
		{"cifar100 missing", func(t *testing.T) string { return t.TempDir() },
			func(p string) (*Set, *Set, error) { return LoadCIFAR100(p, false) },
			[]string{"missing train.bin, test.bin", CIFAR100Folder, "lgm data download cifar100 --dir "}},
	} {
		path := tc.setup(t)
		train, test, err := tc.load(path)
		if err == nil {
			t.Errorf("case %v: got no error, want one", tc.name)
			continue
		}
		msg := err.Error()
		t.Logf("case %v: %s", tc.name, msg)
		for _, w := range append([]string{path}, tc.words...) {
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

// TestCIFARRecordCount checks the size checks, including sizes no test writes.
func TestCIFARRecordCount(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want int
		word string
	}{
		{3073, 1, ""},
		{30730000, 10000, ""},
		{30730001, 0, "f: 30730001 bytes is not a whole number of 3073-byte records: record 10000 is cut short"},
		{3072, 0, "record 0 is cut short"},
		{0, 0, "empty file"},
		{3073 << 30, 0, "limit"},
	} {
		n, err := cifarRecordCount("f", tc.size, cifar10Format)
		if tc.word == "" && (err != nil || n != tc.want) || tc.word != "" && (err == nil || !strings.Contains(err.Error(), tc.word)) {
			t.Errorf("case %v: got %d, %v, want %d, %q", tc.size, n, err, tc.want, tc.word)
		}
	}
}
