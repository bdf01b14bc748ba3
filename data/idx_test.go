package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// idxBytes builds an IDX file: the magic number, the big-endian sizes, body.
func idxBytes(magic uint32, dims []uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, body...)
}

// gzipBytes compresses b as a single gzip member.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes b to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// randomBytes returns n bytes from a seeded generator, below bound.
func randomBytes(seed uint64, n, bound int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(bound))
	}
	return b
}

const (
	imageMagic = 0x00000803
	labelMagic = 0x00000801
)

func TestReadIDXImagesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		n, rows, cols int
		gz            bool
	}{
		{1, 1, 1, false},
		{1, 1, 1, true},
		{3, 2, 5, false},
		{3, 2, 5, true},
		{17, 28, 28, false},
		{17, 28, 28, true},
		{2, 300, 400, true}, // larger than the 64 KiB first buffer of a gzip read
	} {
		body := randomBytes(uint64(tc.n*tc.rows*tc.cols), tc.n*tc.rows*tc.cols, 256)
		file := idxBytes(imageMagic, []uint32{uint32(tc.n), uint32(tc.rows), uint32(tc.cols)}, body)
		name := "images"
		if tc.gz {
			file = gzipBytes(t, file)
			name = "images.gz"
		}
		path := writeFile(t, t.TempDir(), name, file)
		pix, n, rows, cols, err := ReadIDXImages(path)
		if err != nil {
			t.Errorf("case %v: got error %v, want none", tc, err)
			continue
		}
		if n != tc.n || rows != tc.rows || cols != tc.cols {
			t.Errorf("case %v: got dims %d×%d×%d, want %d×%d×%d", tc, n, rows, cols, tc.n, tc.rows, tc.cols)
		}
		if !bytes.Equal(pix, body) {
			t.Errorf("case %v: got pixels that differ from the ones written", tc)
		}
		if cap(pix) != len(pix) {
			t.Errorf("case %v: got cap %d, want %d (no spare capacity)", tc, cap(pix), len(pix))
		}
	}
}

func TestReadIDXLabelsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		n, classes int
		gz         bool
	}{
		{1, 1, false},
		{1, 1, true},
		{100, 10, false},
		{100, 10, true},
		{1000, 256, true},
	} {
		body := randomBytes(uint64(tc.n), tc.n, tc.classes)
		file := idxBytes(labelMagic, []uint32{uint32(tc.n)}, body)
		name := "labels"
		if tc.gz {
			file = gzipBytes(t, file)
			name = "labels.gz" // the name plays no part; the magic bytes do
		}
		path := writeFile(t, t.TempDir(), name, file)
		labels, err := ReadIDXLabels(path, tc.classes)
		if err != nil {
			t.Errorf("case %v: got error %v, want none", tc, err)
			continue
		}
		want := make([]int, len(body))
		for i, b := range body {
			want[i] = int(b)
		}
		if !reflect.DeepEqual(labels, want) {
			t.Errorf("case %v: got labels %v, want %v", tc, labels, want)
		}
	}
}

// TestGzipDetectedByMagic checks that compression is recognised by content,
// not by the ".gz" suffix, in both directions, and that concatenated gzip
// members read as one stream.
func TestGzipDetectedByMagic(t *testing.T) {
	dir := t.TempDir()
	body := []byte{1, 2, 3, 4}
	raw := idxBytes(imageMagic, []uint32{1, 2, 2}, body)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"raw-named.gz", raw},
		{"gzipped-without-suffix", gzipBytes(t, raw)},
		{"two-gzip-members.gz", append(gzipBytes(t, raw[:7]), gzipBytes(t, raw[7:])...)},
		{"three-gzip-members-one-empty.gz", append(append(gzipBytes(t, raw[:7]), gzipBytes(t, nil)...), gzipBytes(t, raw[7:])...)},
	} {
		pix, _, _, _, err := ReadIDXImages(writeFile(t, dir, tc.name, tc.file))
		if err != nil || !bytes.Equal(pix, body) {
			t.Errorf("case %v: got %v, %v, want %v, nil", tc.name, pix, err, body)
		}
	}
}

// gzipCorruptBody returns a gzip file of a valid IDX image file whose
// compressed data has one byte flipped: inflate or the CRC must fail.
func gzipCorruptBody(t testing.TB) []byte {
	z := gzipBytes(t, idxBytes(imageMagic, []uint32{4, 10, 10}, randomBytes(7, 400, 256)))
	z = bytes.Clone(z)
	z[len(z)/2] ^= 0xff
	return z
}

// malformedImageCases are broken image files, each with a word its error must
// contain. Unless gzOnly, each is also tried gzip-compressed (with the same
// word, or gzWord if set).
var malformedImageCases = []struct {
	name   string
	file   func(t testing.TB) []byte
	word   string
	gzWord string
	gzOnly bool
}{
	{name: "empty file", file: func(testing.TB) []byte { return nil }, word: "empty file"}, // gzipped: "empty file when decompressed",
	{name: "one byte", file: func(testing.TB) []byte { return []byte{0} }, word: "truncated header"},
	{name: "magic only", file: func(testing.TB) []byte { return idxBytes(imageMagic, nil, nil) }, word: "truncated header"},
	{name: "header cut in the sizes", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{1, 2}, nil)[:10] }, word: "truncated header"},
	{name: "wrong magic", file: func(testing.TB) []byte { return idxBytes(0x12340803, []uint32{1, 1, 1}, []byte{0}) }, word: "wrong magic number 0x12340803"},
	{name: "text file", file: func(testing.TB) []byte { return []byte("hello, this is not an IDX file\n") }, word: "not an IDX image file"},
	{name: "float elements", file: func(testing.TB) []byte { return idxBytes(0x00000d03, []uint32{1, 1, 1}, make([]byte, 4)) }, word: "element type 0x0d (float32)"},
	{name: "unknown element type", file: func(testing.TB) []byte { return idxBytes(0x00000703, []uint32{1, 1, 1}, []byte{0}) }, word: "element type 0x07"},
	{name: "two dimensions", file: func(testing.TB) []byte { return idxBytes(0x00000802, []uint32{1, 1}, []byte{0}) }, word: "wrong number of dimensions 2"},
	{name: "label file", file: func(testing.TB) []byte { return idxBytes(labelMagic, []uint32{3}, []byte{1, 2, 3}) }, word: "looks like an IDX label file"},
	{name: "zero images", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{0, 28, 28}, nil) }, word: "dimension 1 of 3 is zero"},
	{name: "zero columns", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{5, 28, 0}, nil) }, word: "dimension 3 of 3 is zero"},
	{name: "product overflows", file: func(testing.TB) []byte {
		return idxBytes(imageMagic, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, []byte{1})
	}, word: "byte limit"},
	{name: "just over the limit", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{32769, 256, 256}, []byte{1}) }, word: "byte limit"},
	{name: "huge claim, tiny file", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{32768, 256, 256}, make([]byte, 100)) },
		word: "truncated: header claims 32768 images of 256×256 (2147483648 bytes) but only 100 bytes follow"},
	{name: "truncated data", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{3, 2, 2}, make([]byte, 11)) },
		word: "truncated: header claims 3 images of 2×2 (12 bytes) but only 11 bytes follow"},
	{name: "no data", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{3, 2, 2}, nil) }, word: "only 0 bytes follow"},
	{name: "trailing bytes", file: func(testing.TB) []byte { return idxBytes(imageMagic, []uint32{3, 2, 2}, make([]byte, 13)) },
		word:   "trailing data: header claims 3 images of 2×2 (12 bytes) but 13 bytes follow (1 extra)",
		gzWord: "trailing data: header claims 3 images of 2×2 (12 bytes) but more bytes follow"},
	{name: "gzip magic only", file: func(testing.TB) []byte { return []byte{0x1f, 0x8b} }, word: "corrupt gzip stream", gzOnly: true},
	{name: "gzip bad header", file: func(testing.TB) []byte { return []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0} }, word: "corrupt gzip stream", gzOnly: true},
	{name: "gzip corrupt data", file: gzipCorruptBody, word: "corrupt gzip stream", gzOnly: true},
	{name: "gzip truncated", file: func(t testing.TB) []byte {
		z := gzipBytes(t, idxBytes(imageMagic, []uint32{4, 10, 10}, randomBytes(7, 400, 256)))
		return z[:len(z)-6]
	}, word: "corrupt gzip stream: compressed data ends early", gzOnly: true},
	{name: "gzip with garbage after it", file: func(t testing.TB) []byte {
		return append(gzipBytes(t, idxBytes(imageMagic, []uint32{1, 2, 2}, make([]byte, 4))), "junk"...)
	}, word: "corrupt gzip stream: trailing bytes after the end of the gzip data", gzOnly: true},
	{name: "gzip with a zero byte after it", file: func(t testing.TB) []byte {
		return append(gzipBytes(t, idxBytes(imageMagic, []uint32{1, 2, 2}, make([]byte, 4))), 0)
	}, word: "corrupt gzip stream: trailing bytes", gzOnly: true},
	{name: "gzip with a broken second member", file: func(t testing.TB) []byte {
		return append(gzipBytes(t, idxBytes(imageMagic, []uint32{1, 2, 2}, make([]byte, 4))), 0x1f, 0x8b, 8)
	}, word: "corrupt gzip stream: compressed data ends early", gzOnly: true},
}

func TestReadIDXImagesMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range malformedImageCases {
		for _, gz := range []bool{false, true} {
			if gz && tc.gzOnly {
				continue
			}
			file := tc.file(t)
			name, word := strings.ReplaceAll(tc.name, " ", "-"), tc.word
			if gz {
				file = gzipBytes(t, file)
				name += ".gz"
				if tc.gzWord != "" {
					word = tc.gzWord
				}
			}
			path := writeFile(t, dir, name, file)
			pix, _, _, _, err := ReadIDXImages(path)
			checkError(t, name, err, path, word)
			if pix != nil {
				t.Errorf("case %v: got %d pixels with the error, want nil", name, len(pix))
			}
		}
	}
}

// checkError checks that err is a one-line error naming path and containing
// word.
func checkError(t *testing.T, name string, err error, path, word string) {
	t.Helper()
	if err == nil {
		t.Errorf("case %v: got no error, want one containing %q", name, word)
		return
	}
	msg := err.Error()
	t.Logf("case %v: %s", name, msg)
	if !strings.Contains(msg, path) {
		t.Errorf("case %v: got %q, want it to name %s", name, msg, path)
	}
	if !strings.Contains(msg, word) {
		t.Errorf("case %v: got %q, want it to contain %q", name, msg, word)
	}
	if strings.Contains(msg, "\n") || strings.HasSuffix(msg, ".") {
		t.Errorf("case %v: got %q, want one line without a trailing period", name, msg)
	}
}

func TestReadIDXLabelsMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		file    []byte
		classes int
		word    string
	}{
		{"out of range", idxBytes(labelMagic, []uint32{5}, []byte{0, 9, 10, 3, 200}), 10,
			"label 10 at index 2 is out of range [0, 10) (2 of 5 labels out of range)"},
		{"all out of range", idxBytes(labelMagic, []uint32{2}, []byte{1, 1}), 1, "label 1 at index 0 is out of range [0, 1)"},
		{"no classes", idxBytes(labelMagic, []uint32{1}, []byte{0}), 0, "0 classes"},
		{"image file", idxBytes(imageMagic, []uint32{1, 1, 1}, []byte{0}), 10, "looks like an IDX image file"},
		{"signed bytes", idxBytes(0x00000901, []uint32{1}, []byte{0}), 10, "element type 0x09 (signed byte)"},
		{"wrong magic", idxBytes(0x01000801, []uint32{1}, []byte{0}), 10,
			"wrong magic number 0x01000801 (want 0x00000801 for unsigned-byte labels with 1 dimension): not an IDX label file"},
		{"zero labels", idxBytes(labelMagic, []uint32{0}, nil), 10, "zero"},
		{"truncated", idxBytes(labelMagic, []uint32{10}, make([]byte, 9)), 10, "truncated: header claims 10 labels (10 bytes) but only 9 bytes follow"},
		{"trailing", idxBytes(labelMagic, []uint32{10}, make([]byte, 12)), 10, "trailing data"},
		{"huge", idxBytes(labelMagic, []uint32{0xffffffff}, make([]byte, 12)), 10, "byte limit"},
		{"empty", nil, 10, "empty file (want an IDX label file)"},
	} {
		path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.file)
		labels, err := ReadIDXLabels(path, tc.classes)
		checkError(t, tc.name, err, path, tc.word)
		if labels != nil {
			t.Errorf("case %v: got %d labels with the error, want nil", tc.name, len(labels))
		}
	}
}

func TestReadIDXMissingAndFolder(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	_, _, _, _, err := ReadIDXImages(missing)
	checkError(t, "missing images", err, missing, "no such file")
	_, err = ReadIDXLabels(missing, 10)
	checkError(t, "missing labels", err, missing, "no such file")
	_, _, _, _, err = ReadIDXImages(dir)
	checkError(t, "folder", err, dir, "is a folder")
}

// TestReadIDXHugeClaimDoesNotAllocate checks that a header claiming 2 GiB on
// a 100-byte file fails without allocating anything near the claim, raw
// (checked against the file size) and gzipped (read through a growing
// buffer).
func TestReadIDXHugeClaimDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	raw := idxBytes(imageMagic, []uint32{32768, 256, 256}, make([]byte, 100)) // claims 2^31 bytes
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"raw", raw},
		{"gzip", gzipBytes(t, raw)},
		{"gzip of 1 MB", gzipBytes(t, idxBytes(imageMagic, []uint32{32768, 256, 256}, make([]byte, 1<<20)))},
	} {
		path := writeFile(t, dir, tc.name, tc.file)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, _, _, err := ReadIDXImages(path)
		runtime.ReadMemStats(&after)
		checkError(t, tc.name, err, path, "truncated")
		const limit = 4 << 20
		if got := after.TotalAlloc - before.TotalAlloc; got > limit {
			t.Errorf("case %v: got %d bytes allocated, want at most %d", tc.name, got, limit)
		}
	}
}

func TestReadAtMost(t *testing.T) {
	data := randomBytes(3, 200_000, 256)
	for _, tc := range []struct {
		n, limit, hint int
		want           int
	}{
		{0, 1, 0, 0},
		{10, 11, 0, 10},
		{10, 11, 11, 10},
		{10, 10, 0, 10},
		{10, 5, 0, 5},
		{200_000, 200_001, 0, 200_000},       // grows past the first 64 KiB
		{200_000, 100_001, 0, 100_001},       // stops at the limit
		{200_000, 200_001, 200_001, 200_000}, // exact hint
		{200_000, 1 << 31, 3, 200_000},       // tiny hint, huge limit
	} {
		// OneByteReader makes every Read short, as a slow pipe would.
		for _, r := range []io.Reader{bytes.NewReader(data[:tc.n]), iotest.OneByteReader(bytes.NewReader(data[:tc.n]))} {
			got, err := readAtMost(r, tc.limit, tc.hint)
			if err != nil || !bytes.Equal(got, data[:tc.want]) {
				t.Errorf("case %v: got %d bytes, %v, want the first %d, nil", tc, len(got), err, tc.want)
			}
			if cap(got) > max(2*len(got), 64<<10, tc.hint) {
				t.Errorf("case %v: got capacity %d for %d bytes, want at most max(2×len, 64 KiB, hint)", tc, cap(got), len(got))
			}
		}
	}
	// A reader error comes back with the bytes read before it.
	got, err := readAtMost(iotest.TimeoutReader(bytes.NewReader(data[:10])), 100, 0)
	if err != iotest.ErrTimeout || len(got) != 10 {
		t.Errorf("case reader error: got %d bytes, %v, want 10, %v", len(got), err, iotest.ErrTimeout)
	}
}

// TestDecodeIDXFromPipe checks the path where the file size is unknown (a
// pipe rather than a regular file): the body is then read and compared.
func TestDecodeIDXFromPipe(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		word string
	}{
		{make([]byte, 12), ""},
		{make([]byte, 11), "truncated: header claims 3 images of 2×2 (12 bytes) but only 11 bytes follow"},
		{make([]byte, 13), "trailing data: header claims 3 images of 2×2 (12 bytes) but more bytes follow"},
	} {
		file := idxBytes(imageMagic, []uint32{3, 2, 2}, tc.body)
		dims, data, err := decodeIDX(iotest.HalfReader(bytes.NewReader(file)), -1, idxImages)
		if tc.word == "" {
			if err != nil || !reflect.DeepEqual(dims, []int{3, 2, 2}) || len(data) != 12 {
				t.Errorf("case %d: got %v, %d bytes, %v, want [3 2 2], 12 bytes, nil", len(tc.body), dims, len(data), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("case %d: got %v, want an error containing %q", len(tc.body), err, tc.word)
		}
	}
}
