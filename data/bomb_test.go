package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// gzipIDXImages is a gzip IDX image file of n images of rows×cols zero
// pixels (which compress about 1000:1), claiming claimedN images.
func gzipIDXImages(t *testing.T, claimedN, n, rows, cols int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	var hdr [16]byte
	binary.BigEndian.PutUint32(hdr[0:], imageMagic)
	binary.BigEndian.PutUint32(hdr[4:], uint32(claimedN))
	binary.BigEndian.PutUint32(hdr[8:], uint32(rows))
	binary.BigEndian.PutUint32(hdr[12:], uint32(cols))
	zw.Write(hdr[:])
	zero := make([]byte, rows*cols)
	for range n {
		zw.Write(zero)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIDXGzipReadsIntoOneBuffer: a gzip IDX file is read into one buffer
// sized from its header, so reading 64 MB of images allocates at most 1.2×
// that (a growing buffer allocated about twice); and a small file whose
// header claims far more than deflate can expand it to is refused as
// truncated without allocating the claim.
func TestIDXGzipReadsIntoOneBuffer(t *testing.T) {
	const n, side = 1 << 16, 32 // 64 MiB of pixels
	dir := t.TempDir()
	path := writeFile(t, dir, "train-images-idx3-ubyte.gz", gzipIDXImages(t, n, n, side, side))
	var err error
	var pix []uint8
	got := allocated(func() { pix, _, _, _, err = ReadIDXImages(path) })
	if err != nil || len(pix) != n*side*side {
		t.Fatalf("got %d pixels, %v; want %d", len(pix), err, n*side*side)
	}
	if limit := uint64(n*side*side) * 6 / 5; got > limit {
		t.Errorf("reading %d bytes of pixels allocated %d bytes, want at most 1.2× (%d)", n*side*side, got, limit)
	}

	// 1 GiB claimed, 1 KiB present.
	liar := writeFile(t, dir, "liar.gz", gzipIDXImages(t, 1<<20, 1, side, side))
	got = allocated(func() { _, _, _, _, err = ReadIDXImages(liar) })
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a header claiming 1 GiB in %s: got %v, want it refused as truncated", liar, err)
	}
	if got > 16<<20 {
		t.Errorf("refusing a 1 GiB claim in a small file allocated %d bytes, want at most 16 MiB", got)
	}
}

// flatPNG is a w×h PNG of one colour (a few KB however large: a pixel bomb).
func flatPNG(t testing.TB, w, h int, grey bool) []byte {
	t.Helper()
	var m image.Image
	if grey {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = 90
		}
		m = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < len(c.Pix); i += 4 {
			c.Pix[i], c.Pix[i+1], c.Pix[i+2], c.Pix[i+3] = 200, 30, 30, 255
		}
		m = c
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImageBombsRefusedBeforeDecoding: every image's header is read before
// it is decoded. An image larger than the first one is refused from its
// header alone (before, a 4096×4096 PNG of a few KB was decoded first, and
// the size difference found after all images were in memory); and the
// decoded size of the whole set is held to the budget, so an archive of
// many large images, all of one size, stops at the image that would pass
// it.
func TestImageBombsRefusedBeforeDecoding(t *testing.T) {
	small, huge := flatPNG(t, 8, 8, false), flatPNG(t, 4096, 4096, false)
	big := flatPNG(t, 1024, 1024, false) // 3 MB decoded
	many := []tarEntry{{"test/a/1.png", big}}
	for i := range 40 {
		many = append(many, tarEntry{fmt.Sprintf("train/a/%02d.png", i), big})
	}
	for _, c := range []struct {
		name    string
		entries []tarEntry
		limit   int64
		want    []string
		most    uint64 // bytes the load may allocate
	}{
		{"huge after small", []tarEntry{{"test/a/1.png", small}, {"train/a/1.png", huge}, {"train/a/2.png", huge}},
			0, []string{"train/a/1.png: is 4096×4096 but test/a/1.png is 8×8 (width×height)"}, 8 << 20},
		{"over the budget", many, 16 << 20,
			[]string{"the 6 images up to train/a/04.png take 18.9 MB decoded (1024×1024, 3 channels each), more than the 16.8 MB this data set may use"}, 96 << 20},
	} {
		path := writeFile(t, t.TempDir(), "bomb.tar.gz", tarEntries(t, c.entries...))
		var err error
		got := allocated(func() { _, _, err = LoadImageFolderLimit(path, c.limit) })
		for _, w := range append([]string{path}, c.want...) {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("case %s: got %v, want it to say %q", c.name, err, w)
			}
		}
		if got > c.most {
			t.Errorf("case %s: loading allocated %d MB before refusing, want at most %d MB", c.name, got>>20, c.most>>20)
		}
	}
}
