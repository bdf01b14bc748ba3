package data

// The IDX format, as described on the MNIST database's page (LeCun, Cortes
// and Burges, "The MNIST database of handwritten digits"):
//
//	bytes 0-1   zero
//	byte  2     element type: 0x08 unsigned byte, 0x09 signed byte,
//	            0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//	byte  3     number of dimensions d
//	then        d sizes, each a big-endian uint32
//	then        the elements, row-major (last dimension varies fastest)
//
// MNIST images are 0x00000803 (unsigned bytes, 3 dimensions: count, rows,
// columns) and labels 0x00000801 (unsigned bytes, 1 dimension: count). Files
// may be gzip-compressed; we recognise gzip by its magic bytes 1f 8b, not by
// the file name.
//
// The reader trusts nothing in the header. Sizes are checked for zero and for
// overflow, the total is capped at maxIDXBytes, and the claimed size is
// compared with what the file actually holds before a buffer of the claimed
// size exists: for a raw file from its size on disk; for a gzip stream, whose
// decompressed size is unknown upfront, by reading at most claimed+1 bytes into
// a buffer that only grows as data arrives (readAtMost).

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lgm-dev/lgm/internal/fileio"
)

// maxIDXBytes caps the data size (product of the dimensions) an IDX header
// may claim: 2 GiB, forty times the largest file this project reads (MNIST's
// 47 MB of training images), and still an int on 32-bit platforms. A header
// claiming more is rejected before anything is read or allocated.
const maxIDXBytes = min(1<<31, math.MaxInt-1)

// maxDeflateRatio bounds how many bytes a deflate stream can expand to per
// compressed byte (1032 in theory; RFC 1951 caps a match at 258 bytes for a
// code of at least 2 bits), with room to spare.
const maxDeflateRatio = 1100

// idxUnsignedByte is the only element type lgm reads.
const idxUnsignedByte = 0x08

// idxTypeNames names the element types the IDX format defines, for messages.
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0b: "int16",
	0x0c: "int32",
	0x0d: "float32",
	0x0e: "float64",
}

// idxKind is what a caller expects a file to hold.
type idxKind struct {
	noun string // "image" or "label", for messages
	dims int    // number of dimensions: 3 for images, 1 for labels
}

var (
	idxImages = idxKind{noun: "image", dims: 3}
	idxLabels = idxKind{noun: "label", dims: 1}
)

// ReadIDXImages reads an IDX file of unsigned-byte images (magic 0x00000803),
// raw or gzip-compressed, and returns its pixels (n*rows*cols bytes, image by
// image, each row-major) with its dimensions.
//
// Every error names path and the problem on one line: a wrong magic number,
// element type or number of dimensions, a zero or oversized dimension, a
// truncated header or body, trailing bytes after the data, a corrupt gzip
// stream, or the error from opening or reading the file.
func ReadIDXImages(path string) (pix []uint8, n, rows, cols int, err error) {
	dims, pix, err := readIDXFile(path, idxImages)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return pix, dims[0], dims[1], dims[2], nil
}

// ReadIDXLabels reads an IDX file of unsigned-byte labels (magic 0x00000801),
// raw or gzip-compressed, and checks that every label is < classes. Errors
// are those of ReadIDXImages, plus a label out of range, which names the
// first offending index and value and how many labels are out of range.
func ReadIDXLabels(path string, classes int) ([]int, error) {
	if classes <= 0 {
		return nil, fmt.Errorf("%s: cannot check labels against %d classes (want at least 1)", path, classes)
	}
	_, raw, err := readIDXFile(path, idxLabels)
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(raw))
	bad, first := 0, -1
	for i, b := range raw {
		labels[i] = int(b)
		if int(b) >= classes {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		return nil, fmt.Errorf("%s: label %d at index %d is out of range [0, %d) (%d of %d labels out of range)",
			path, raw[first], first, classes, bad, len(raw))
	}
	return labels, nil
}

// readIDXFile opens path and decodes it as an IDX file of the given kind.
// Errors from decoding are prefixed with path; errors from opening already
// name it.
func readIDXFile(path string, kind idxKind) (dims []int, data []byte, err error) {
	// A gzip file of maxIDXBytes of data is smaller than that.
	f, fi, err := fileio.Open(path, "an IDX "+kind.noun+" file", maxIDXBytes+int64(4+4*kind.dims))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	dims, data, err = decodeIDX(f, fi.Size(), kind)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return dims, data, nil
}

// gzipError marks an error that came from the gzip decompressor, so that a
// truncated compressed stream (which gzip reports as io.ErrUnexpectedEOF) is
// not mistaken for a short IDX body.
type gzipError struct{ err error }

func (e *gzipError) Error() string {
	if errors.Is(e.err, io.ErrUnexpectedEOF) {
		return "corrupt gzip stream: compressed data ends early (truncated file)"
	}
	return "corrupt gzip stream: " + strings.TrimPrefix(e.err.Error(), "gzip: ")
}
func (e *gzipError) Unwrap() error { return e.err }

// errGzipTrailing is the gzipError for bytes after the last gzip member
// that do not start another member.
var errGzipTrailing = errors.New("trailing bytes after the end of the gzip data")

// gzipReader decompresses a gzip file of one or more members (RFC 1952
// allows concatenated members, as `cat a.gz b.gz` makes) and tags every
// error other than io.EOF as a *gzipError. It handles the members itself,
// rather than with gzip.Reader's multistream mode, so that garbage after the
// last member is reported as such instead of as a truncated member header.
type gzipReader struct {
	br *bufio.Reader // the compressed file
	zr *gzip.Reader  // the current member, in single-member mode
}

func newGzipReader(br *bufio.Reader) (*gzipReader, error) {
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, &gzipError{err}
	}
	zr.Multistream(false)
	return &gzipReader{br: br, zr: zr}, nil
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err == nil {
		return n, nil
	}
	if err != io.EOF {
		return n, &gzipError{err}
	}
	// The member is complete and its checksum verified. What follows?
	next, perr := g.br.Peek(2)
	switch {
	case len(next) == 0 && perr == io.EOF:
		return n, io.EOF
	case len(next) == 2 && next[0] == 0x1f && next[1] == 0x8b:
		if err := g.zr.Reset(g.br); err != nil {
			return n, &gzipError{err}
		}
		g.zr.Multistream(false)
		return n, nil
	case perr != nil && perr != io.EOF:
		return n, perr
	}
	return n, &gzipError{errGzipTrailing}
}

// decodeIDX reads one IDX file of the given kind from r, which holds the
// whole file (raw or gzip). size is the file's length in bytes when known
// (a regular file), else -1. It returns the dimensions and the data bytes.
// Errors do not name the file; the caller adds that.
func decodeIDX(r io.Reader, size int64, kind idxKind) (dims []int, data []byte, err error) {
	br := bufio.NewReader(r)
	src := io.Reader(br)
	gz := false
	compressed := int64(-1)
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := newGzipReader(br)
		if err != nil {
			return nil, nil, err
		}
		src, gz, compressed, size = zr, true, size, -1 // decompressed size unknown
	}
	unzipped := "" // said of sizes, which are those of the decompressed data
	if gz {
		unzipped = " when decompressed"
	}

	// Magic number.
	var magic [4]byte
	if n, err := io.ReadFull(src, magic[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, nil, fmt.Errorf("empty file%s (want an IDX %s file)", unzipped, kind.noun)
		}
		return nil, nil, headerError(err, n, 4+4*kind.dims, unzipped)
	}
	if err := checkMagic(magic, kind); err != nil {
		return nil, nil, err
	}

	// Dimensions.
	header := 4 + 4*kind.dims
	sizes := make([]byte, 4*kind.dims)
	if n, err := io.ReadFull(src, sizes); err != nil {
		return nil, nil, headerError(err, 4+n, header, unzipped)
	}
	dims = make([]int, kind.dims)
	claimed := 1
	for i := range dims {
		d := binary.BigEndian.Uint32(sizes[4*i:])
		if d == 0 {
			return nil, nil, fmt.Errorf("dimension %d of %d is zero (header says %s): no data", i+1, kind.dims, describeRaw(sizes, kind))
		}
		if uint64(d) > uint64(maxIDXBytes/claimed) {
			return nil, nil, fmt.Errorf("header claims %s, more than the %d-byte limit of this reader: corrupt header or not an IDX %s file",
				describeRaw(sizes, kind), maxIDXBytes, kind.noun)
		}
		dims[i] = int(d)
		claimed *= int(d)
	}

	// Data: compare the claim with the bytes available before allocating it.
	if size >= 0 {
		if avail := size - int64(header); avail != int64(claimed) {
			return nil, nil, sizeError(dims, kind, claimed, avail, "")
		}
	}
	// The buffer is sized from the header (already validated), so memory is
	// the data's size, not the up-to-twice of a growing buffer. A gzip file
	// can hold a claim only up to deflate's ratio (at most 1032:1): a
	// header claiming more of a known file is read into a growing buffer,
	// which then finds it short without holding the claimed size.
	hint := claimed + 1 // room to notice one trailing byte
	if size < 0 && (compressed < 0 || int64(claimed) > maxDeflateRatio*compressed+(64<<10)) {
		hint = 0
	}
	data, err = readAtMost(src, claimed+1, hint)
	if err != nil {
		var ge *gzipError
		if errors.As(err, &ge) {
			return nil, nil, ge
		}
		return nil, nil, fmt.Errorf("reading data: %w", err)
	}
	switch {
	case len(data) < claimed:
		return nil, nil, sizeError(dims, kind, claimed, int64(len(data)), unzipped)
	case len(data) > claimed:
		return nil, nil, sizeError(dims, kind, claimed, -1, unzipped)
	}
	// Give back the spare byte of capacity.
	return dims, data[:claimed:claimed], nil
}

// checkMagic checks the four magic bytes against kind, reporting the first
// thing that is wrong: the zero prefix, the element type, or the number of
// dimensions.
func checkMagic(m [4]byte, kind idxKind) error {
	got := binary.BigEndian.Uint32(m[:])
	want := uint32(idxUnsignedByte)<<8 | uint32(kind.dims)
	wantText := fmt.Sprintf("0x%08x for unsigned-byte %ss with %d dimension%s", want, kind.noun, kind.dims, plural(kind.dims))
	switch {
	case m[0] != 0 || m[1] != 0:
		return fmt.Errorf("wrong magic number 0x%08x (want %s): not an IDX %s file", got, wantText, kind.noun)
	case m[2] != idxUnsignedByte:
		name, ok := idxTypeNames[m[2]]
		if !ok {
			name = "not an IDX type"
		}
		return fmt.Errorf("unsupported element type 0x%02x (%s) in magic number 0x%08x (want %s)", m[2], name, got, wantText)
	case int(m[3]) != kind.dims:
		hint := ""
		if other := otherKind(kind); int(m[3]) == other.dims {
			hint = fmt.Sprintf(": this looks like an IDX %s file", other.noun)
		}
		return fmt.Errorf("wrong number of dimensions %d in magic number 0x%08x (want %s)%s", m[3], got, wantText, hint)
	}
	return nil
}

// headerError reports a read error inside the header, after got of want
// header bytes.
func headerError(err error, got, want int, unzipped string) error {
	var ge *gzipError
	if errors.As(err, &ge) {
		return ge
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("truncated header: file ends after %d of %d header bytes%s", got, want, unzipped)
	}
	return fmt.Errorf("reading header: %w", err)
}

// sizeError reports a data size that differs from the claimed one. avail is
// the number of data bytes that follow the header, or -1 when we only know
// that there are more than claimed (a gzip stream, read no further than
// claimed+1 bytes).
func sizeError(dims []int, kind idxKind, claimed int, avail int64, unzipped string) error {
	what := fmt.Sprintf("header claims %s (%d bytes)", describe(dims, kind), claimed)
	switch {
	case avail >= 0 && avail < int64(claimed):
		return fmt.Errorf("truncated: %s but only %d bytes follow%s", what, max(avail, 0), unzipped)
	case avail > int64(claimed):
		return fmt.Errorf("trailing data: %s but %d bytes follow (%d extra)", what, avail, avail-int64(claimed))
	}
	return fmt.Errorf("trailing data: %s but more bytes follow%s", what, unzipped)
}

// describe says what dims mean for kind, e.g. "60000 images of 28×28" or
// "60000 labels".
func describe(dims []int, kind idxKind) string {
	s := fmt.Sprintf("%d %s%s", dims[0], kind.noun, plural(dims[0]))
	if len(dims) > 1 {
		parts := make([]string, len(dims)-1)
		for i, d := range dims[1:] {
			parts[i] = strconv.Itoa(d)
		}
		s += " of " + strings.Join(parts, "×")
	}
	return s
}

// describeRaw is describe for header sizes not yet validated (big-endian
// uint32s, possibly zero or huge).
func describeRaw(sizes []byte, kind idxKind) string {
	dims := make([]int, len(sizes)/4)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(sizes[4*i:]))
	}
	return describe(dims, kind)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func otherKind(k idxKind) idxKind {
	if k == idxImages {
		return idxLabels
	}
	return idxImages
}

// readAtMost reads r until io.EOF or until it has limit bytes, whichever
// comes first, and returns what it read. The buffer starts at hint bytes (or
// 64 KiB when hint is 0), never exceeds limit, and otherwise doubles only
// when full, so memory stays within about twice the bytes actually present
// however large limit is. With an exact hint it allocates once.
func readAtMost(r io.Reader, limit, hint int) ([]byte, error) {
	if hint <= 0 {
		hint = 64 << 10
	}
	buf := make([]byte, 0, min(hint, limit))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
