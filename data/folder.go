package data

// An image folder is the layout most image datasets are shared in:
//
//	<root>/train/<class>/<image>.png|.jpg|.jpeg
//	<root>/test/<class>/<image>.png|.jpg|.jpeg
//
// either on disk or packed in a tar archive (gzip-compressed or not), which
// is read as a stream without unpacking anything to disk. <root> may be the
// folder or archive itself or any folder inside it: on disk it is the
// shallowest folder holding both train/ and test/ (ties broken by name); in
// an archive, which can only be read in order, it is fixed by the first
// file at <root>/{train,test}/<class>/<file>, taking the shallowest
// train/test component of that file's path.
//
// Files outside <root>/train and <root>/test (a README, say) are ignored, as
// are hidden files and folders (names starting with "."). Inside them every
// file must be an image in a class folder.
//
// Decoding runs on runtime.GOMAXPROCS(0) goroutines while the archive is
// being read; examples are then ordered by path, so the result does not
// depend on the order of the archive or of the decoders.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lgm-dev/lgm/internal/fileio"
)

const (
	// maxImageFileBytes caps the size of one image file read from an
	// archive: a header claiming more is rejected before allocating.
	maxImageFileBytes = 64 << 20
	// maxImagePixels caps the width×height an image header may claim.
	maxImagePixels = 1 << 24
	// maxArchiveBytes caps the size of an image archive file. What it
	// unpacks to is held to the data set's decoded-size budget.
	maxArchiveBytes = 1 << 40
)

var splitNames = [2]string{"train", "test"}

// LoadImageFolder reads an image-folder dataset (see the layout above) from
// path, a folder or a .tar/.tar.gz/.tgz archive (recognised by content, not
// by name). Class names are the sorted names of the class folders, and
// must be the same in train/ and test/. Labels are indices into them, and
// both sets carry them as ClassNames.
//
// Every image must have the same width and height. Channels: grey images
// (PNG or JPEG decoded as grey) give C = 1 when every image of both splits
// is grey; as soon as one image is in colour the set has C = 3 and grey
// images are copied into all three channels. Transparency is dropped by
// compositing onto black. Pixels are 8-bit values scaled to [0,1] (16-bit
// PNGs keep their top 8 bits).
//
// The sets are named "<root>/train" and "<root>/test", with <root> the name
// of the folder holding train/ and test/ (for an archive with them at the
// top, the archive's name without its extension). Errors name the archive
// and the file inside it, or the file on disk, and the problem: an
// undecodable image, a different size, classes that differ between splits
// (listing them), a missing or empty split, a file that is not in a class
// folder.
//
// Before an image is decoded its header is read: its size must be the
// first image's, and the decoded size of all images so far must stay
// within limit bytes (see LoadImageFolderLimit), so that an archive of a
// few KB that unpacks to gigabytes of pixels is refused before they exist.
// An archive that holds the same path twice is refused, naming it. In a
// folder, symlinks (a train/ folder, a class folder, an image) are followed
// when they lead to somewhere inside path, and refused otherwise.
func LoadImageFolder(path string) (train, test *Set, err error) {
	return LoadImageFolderLimit(path, 0)
}

// LoadImageFolderLimit is LoadImageFolder holding the decoded pixels of the
// whole data set (8-bit, C×H×W per image) to at most limit bytes; 0 means no
// limit beyond the per-image caps.
func LoadImageFolderLimit(path string, limit int64) (train, test *Set, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("image folder %s does not exist", path)
	case err != nil:
		return nil, nil, fmt.Errorf("image folder: %w", err)
	}
	l := newFolderLoader(path)
	l.limit = limit
	if fi.IsDir() {
		err = l.readDir(path)
	} else {
		err = l.readArchive(path)
	}
	if err != nil {
		return nil, nil, err
	}
	return l.sets()
}

// imageEntry is one image of the dataset.
type imageEntry struct {
	name  string // slash-separated path inside the folder or archive
	split int    // index into splitNames
	class string
}

// decodedImage is an image as 8-bit channel planes (c×h×w).
type decodedImage struct {
	pix     []byte
	c, h, w int
}

// decodeJob asks a worker to decode entry idx from data.
type decodeJob struct {
	idx  int
	data []byte
}

type decodeResult struct {
	idx int
	img decodedImage
	err error
}

// folderLoader collects the entries of one image folder and decodes them on
// worker goroutines.
type folderLoader struct {
	path    string // the folder or archive, for messages
	archive bool
	root    []string // path components of <root>, once known
	found   bool     // root is known
	early   []string // files seen before root was known
	entries []imageEntry
	seen    map[string]bool // entry names, to refuse an archive's duplicates

	// The first image's size, from its header, which every other must have,
	// and the decoded bytes of the images so far, held to limit (if > 0).
	firstName      string
	firstW, firstH int
	channels       int   // the most channels of an image so far
	decoded        int64 // bytes the sets will take for the images so far
	limit          int64
	base           string // a folder's real path (symlinks resolved): symlinks must stay inside it

	jobs    chan decodeJob
	results chan decodeResult
	workers sync.WaitGroup
	collect sync.WaitGroup
	failed  atomic.Bool
	images  []decodedImage // by entry index; owned by the collector until it is done
	errs    map[int]error  // likewise
}

func newFolderLoader(path string) *folderLoader {
	n := runtime.GOMAXPROCS(0)
	l := &folderLoader{
		path:    path,
		jobs:    make(chan decodeJob, 4*n),
		results: make(chan decodeResult, 4*n),
		errs:    make(map[int]error),
		seen:    make(map[string]bool),
	}
	for range n {
		l.workers.Add(1)
		go l.work()
	}
	l.collect.Add(1)
	go func() {
		defer l.collect.Done()
		for r := range l.results {
			if r.err != nil {
				l.errs[r.idx] = r.err
				l.failed.Store(true)
				continue
			}
			if r.idx >= len(l.images) {
				l.images = append(l.images, make([]decodedImage, r.idx+1-len(l.images))...)
			}
			l.images[r.idx] = r.img
		}
	}()
	return l
}

func (l *folderLoader) work() {
	defer l.workers.Done()
	for job := range l.jobs {
		if l.failed.Load() {
			continue // drain: the load has failed already
		}
		img, err := decodeImage(job.data)
		l.results <- decodeResult{idx: job.idx, img: img, err: err}
	}
}

// finish waits for every decode to end and returns the error of the
// earliest entry that failed, if any.
func (l *folderLoader) finish() error {
	close(l.jobs)
	l.workers.Wait()
	close(l.results)
	l.collect.Wait()
	if len(l.errs) == 0 {
		return nil
	}
	first := -1
	for idx := range l.errs {
		if first < 0 || idx < first {
			first = idx
		}
	}
	return fmt.Errorf("%s: %w", l.where(l.entries[first].name), l.errs[first])
}

// abort stops the decoding after a problem found while reading (err) and
// returns err.
func (l *folderLoader) abort(err error) error {
	l.failed.Store(true)
	l.finish()
	return err
}

// where names entry name in messages: "archive: name" or the file's path.
func (l *folderLoader) where(name string) string {
	if l.archive {
		return l.path + ": " + name
	}
	return filepath.Join(l.path, filepath.FromSlash(name))
}

// classify places the file name (slash-separated, cleaned) in the layout:
// ok reports that it is an image of split/class; an error that it is inside
// a split but not a valid image path.
func (l *folderLoader) classify(name string) (split int, class string, ok bool, err error) {
	parts := strings.Split(name, "/")
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return 0, "", false, nil // hidden
		}
	}
	if !l.found {
		k := slices.IndexFunc(parts, func(p string) bool { return p == "train" || p == "test" })
		for k >= 0 && k+3 != len(parts) {
			next := slices.IndexFunc(parts[k+1:], func(p string) bool { return p == "train" || p == "test" })
			if next < 0 {
				k = -1
			} else {
				k += 1 + next
			}
		}
		if k < 0 {
			l.early = append(l.early, name)
			return 0, "", false, nil
		}
		l.root, l.found = slices.Clone(parts[:k]), true
	}
	r := len(l.root)
	if len(parts) <= r || !slices.Equal(parts[:r], l.root) {
		return 0, "", false, nil
	}
	split = slices.Index(splitNames[:], parts[r])
	if split < 0 {
		return 0, "", false, nil
	}
	if len(parts) != r+3 {
		return 0, "", false, fmt.Errorf("%s: not in a class folder (want %s/<class>/<image>)", l.where(name), path.Join(append(slices.Clone(l.root), parts[r])...))
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
	default:
		return 0, "", false, fmt.Errorf("%s: not a .png, .jpg or .jpeg file", l.where(name))
	}
	return split, parts[r+1], true, nil
}

// add checks an image's header (its size against the first image's, the
// data set's decoded size against the limit), records the entry and queues
// its decoding.
func (l *folderLoader) add(name string, split int, class string, data []byte) error {
	if l.seen[name] {
		return fmt.Errorf("%s: appears twice in the archive (the same path in two entries); keep one of them", l.where(name))
	}
	l.seen[name] = true
	w, h, c, err := imageHeader(data)
	if err != nil {
		return fmt.Errorf("%s: %w", l.where(name), err)
	}
	if l.firstName == "" {
		l.firstName, l.firstW, l.firstH = name, w, h
	} else if w != l.firstW || h != l.firstH {
		ref := l.firstName
		if !l.archive {
			ref = l.where(ref)
		}
		return fmt.Errorf("%s: is %d×%d but %s is %d×%d (width×height); all images must be the same size",
			l.where(name), w, h, ref, l.firstW, l.firstH)
	}
	// The sets hold every image with the most channels any image has.
	l.channels = max(l.channels, c)
	l.decoded = int64(len(l.entries)+1) * int64(l.channels*h*w)
	if l.limit > 0 && l.decoded > l.limit {
		return fmt.Errorf("%s: the %d images up to %s take %s decoded (%d×%d, %d channel%s each), more than the %s this data set may use of the memory available; use fewer or smaller images, or a machine with more memory",
			l.path, len(l.entries)+1, name, byteSize(l.decoded), w, h, l.channels, plural(l.channels), byteSize(l.limit))
	}
	idx := len(l.entries)
	l.entries = append(l.entries, imageEntry{name: name, split: split, class: class})
	l.jobs <- decodeJob{idx: idx, data: data}
	return nil
}

// byteSize writes n bytes for people: "3.2 GB", "12.0 MB", "512 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readArchive streams the tar archive (gzip-compressed or not) at path and
// queues every image for decoding.
func (l *folderLoader) readArchive(file string) error {
	l.archive = true
	f, _, err := fileio.Open(file, "an image archive", maxArchiveBytes)
	if err != nil {
		return l.abort(err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var src io.Reader = br
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := newGzipReader(br)
		if err != nil {
			l.finish()
			return fmt.Errorf("%s: %w", file, err)
		}
		src = zr
	}
	tr := tar.NewReader(src)
	last := ""
	for !l.failed.Load() {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			l.finish()
			return archiveError(file, last, err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		last = name
		if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		split, class, ok, err := l.classify(name)
		switch {
		case err != nil:
			l.finish()
			return err
		case !ok:
			continue
		case hdr.Typeflag != tar.TypeReg:
			l.finish()
			return fmt.Errorf("%s: is not a regular file (tar type %q); images must be regular files", l.where(name), hdr.Typeflag)
		case hdr.Size > maxImageFileBytes:
			l.finish()
			return fmt.Errorf("%s: %d bytes is more than the %d-byte limit for one image", l.where(name), hdr.Size, maxImageFileBytes)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			l.finish()
			return archiveError(file, name, err)
		}
		if err := l.add(name, split, class, data); err != nil {
			return l.abort(err)
		}
	}
	return l.finish()
}

// archiveError reports an error reading the archive after entry last.
func archiveError(file, last string, err error) error {
	var ge *gzipError
	switch {
	case errors.As(err, &ge):
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("archive ends early (truncated file)")
	}
	if last == "" {
		return fmt.Errorf("%s: not a readable tar archive: %w", file, err)
	}
	return fmt.Errorf("%s: reading %s: %w", file, last, err)
}

// readDir finds <root> under dir (the shallowest folder with both train/
// and test/ sub-folders) and queues every image in its splits.
func (l *folderLoader) readDir(dir string) error {
	root, err := findSplitRoot(dir)
	if err != nil {
		l.finish()
		return err
	}
	if root == "" {
		l.finish()
		return fmt.Errorf("%s: no folder holding both train/ and test/ (want <root>/train/<class>/<image> and <root>/test/<class>/<image>, PNG or JPEG)", dir)
	}
	if root != "." {
		l.root = strings.Split(root, "/")
	}
	l.found = true
	if l.base, err = filepath.EvalSymlinks(dir); err != nil {
		return l.abort(fmt.Errorf("image folder: %w", err))
	}
	if l.base, err = filepath.Abs(l.base); err != nil {
		return l.abort(fmt.Errorf("image folder: %w", err))
	}
	for _, split := range splitNames {
		name := path.Join(root, split)
		if err := l.walk(filepath.Join(dir, filepath.FromSlash(name)), name, nil); err != nil {
			return l.abort(err)
		}
	}
	return l.finish()
}

// walk queues the images under p, a file or folder on disk whose
// slash-separated name relative to the image folder is name, in name order.
// A symlink is followed if what it points to is inside the image folder
// (l.base), and refused otherwise. up holds the real paths of the folders
// being walked, to refuse a symlink that leads back into one of them.
func (l *folderLoader) walk(p, name string, up []string) error {
	if l.failed.Load() {
		return nil // a decode failed: finish reports it
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%s: is a symlink to a file or folder that does not exist; fix or remove the symlink", p)
		}
		if real, err = filepath.Abs(real); err != nil {
			return err
		}
		if rel, err := filepath.Rel(l.base, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: is a symlink to %s, outside the image folder %s; lgm follows symlinks only within the folder it is given: copy the files in, or pass the folder that holds them all", p, real, l.path)
		}
		if fi, err = os.Stat(real); err != nil {
			return err
		}
		if fi.IsDir() && slices.Contains(up, real) {
			return fmt.Errorf("%s: is a symlink to %s, a folder that holds it (a symlink loop); remove the symlink", p, real)
		}
		if fi.IsDir() {
			up = append(up, real)
		}
	} else if fi.IsDir() {
		real, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if r, err := filepath.EvalSymlinks(real); err == nil {
			real = r
		}
		up = append(up, real)
	}
	if !fi.IsDir() {
		split, class, ok, err := l.classify(name)
		if err != nil || !ok {
			return err
		}
		data, err := fileio.ReadFile(p, "an image", maxImageFileBytes)
		if err != nil {
			return err
		}
		return l.add(name, split, class, data)
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue // hidden
		}
		if err := l.walk(filepath.Join(p, e.Name()), name+"/"+e.Name(), up); err != nil {
			return err
		}
	}
	return nil
}

// findSplitRoot returns the slash-separated path, relative to dir, of the
// shallowest folder under dir with both train/ and test/ sub-folders ("."
// for dir itself), searching breadth-first in name order and skipping
// hidden folders, or "" if there is none.
func findSplitRoot(dir string) (string, error) {
	level := []string{"."}
	for len(level) > 0 {
		var next []string
		for _, rel := range level {
			abs := filepath.Join(dir, filepath.FromSlash(rel))
			if isDir(filepath.Join(abs, "train")) && isDir(filepath.Join(abs, "test")) {
				return rel, nil
			}
			ents, err := os.ReadDir(abs)
			if err != nil {
				return "", err
			}
			for _, e := range ents {
				if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					next = append(next, path.Join(rel, e.Name()))
				}
			}
		}
		level = next
	}
	return "", nil
}

// sets checks what was read and assembles the two sets.
func (l *folderLoader) sets() (train, test *Set, err error) {
	layout := "want <root>/train/<class>/<image> and <root>/test/<class>/<image>, PNG or JPEG"
	if !l.found {
		return nil, nil, fmt.Errorf("%s: no images in train/<class>/ or test/<class>/ folders (%s)", l.path, layout)
	}
	rootName := path.Join(l.root...)
	for _, name := range l.early {
		if strings.HasPrefix(name, path.Join(rootName, "train")+"/") || strings.HasPrefix(name, path.Join(rootName, "test")+"/") {
			return nil, nil, fmt.Errorf("%s: not in a class folder (%s)", l.where(name), layout)
		}
	}

	// Examples of each split ordered by path; class names per split.
	var order [2][]int
	var classes [2][]string
	for i, e := range l.entries {
		order[e.split] = append(order[e.split], i)
		classes[e.split] = append(classes[e.split], e.class)
	}
	for s := range splitNames {
		if len(order[s]) == 0 {
			return nil, nil, fmt.Errorf("%s: no images in %s (%s)", l.path, path.Join(rootName, splitNames[s])+"/", layout)
		}
		slices.SortFunc(order[s], func(a, b int) int { return strings.Compare(l.entries[a].name, l.entries[b].name) })
		slices.Sort(classes[s])
		classes[s] = slices.Compact(classes[s])
	}
	if !slices.Equal(classes[0], classes[1]) {
		return nil, nil, fmt.Errorf("%s: train and test have different classes (only in train: %s; only in test: %s); every class needs a folder in both",
			l.path, listOrNone(without(classes[0], classes[1])), listOrNone(without(classes[1], classes[0])))
	}
	names := classes[0]

	// One size for all; colour if any image is in colour.
	ref := l.entries[order[0][0]].name
	if !l.archive {
		ref = l.where(ref)
	}
	h, w := l.images[order[0][0]].h, l.images[order[0][0]].w
	c := 1
	for s := range splitNames {
		for _, i := range order[s] {
			img := l.images[i]
			if img.h != h || img.w != w {
				return nil, nil, fmt.Errorf("%s: is %d×%d but %s is %d×%d (width×height); all images must be the same size",
					l.where(l.entries[i].name), img.w, img.h, ref, w, h)
			}
			c = max(c, img.c)
		}
	}

	base := path.Base(rootName)
	if rootName == "" {
		base = filepath.Base(l.path)
		for _, ext := range []string{".tar.gz", ".tgz", ".tar"} {
			base = strings.TrimSuffix(base, ext)
		}
	}
	var out [2]*Set
	for s := range splitNames {
		n := len(order[s])
		set := &Set{
			Name:       base + "/" + splitNames[s],
			Pixels:     make([]uint8, n*c*h*w),
			Labels:     make([]int, n),
			N:          n,
			C:          c,
			H:          h,
			W:          w,
			Classes:    len(names),
			ClassNames: names,
		}
		// Copying is mostly the first touch of the set's memory, which is
		// slow enough on some machines to be worth spreading out.
		size := c * h * w
		parallelFor(n, func(lo, hi int) {
			for k := lo; k < hi; k++ {
				i := order[s][k]
				set.Labels[k], _ = slices.BinarySearch(names, l.entries[i].class)
				img := &l.images[i]
				dst := set.Pixels[k*size : (k+1)*size]
				for ch := 0; ch < c; ch++ {
					plane := img.pix // grey: the one plane for every channel
					if img.c == 3 {
						plane = img.pix[ch*h*w : (ch+1)*h*w]
					}
					copy(dst[ch*h*w:(ch+1)*h*w], plane[:h*w])
				}
				img.pix = nil // let it go as we go
			}
		})
		out[s] = set
	}
	return out[0], out[1], nil
}

// parallelFor calls f on runtime.GOMAXPROCS(0) consecutive parts
// [lo, hi) of [0, n) at once and waits for them all.
func parallelFor(n int, f func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(p*n/parts, (p+1)*n/parts)
		}()
	}
	wg.Wait()
}

// without returns the strings of a that are not in b (both sorted).
func without(a, b []string) []string {
	var d []string
	for _, s := range a {
		if _, ok := slices.BinarySearch(b, s); !ok {
			d = append(d, s)
		}
	}
	return d
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageFormat recognises a PNG or JPEG file by its first bytes.
func imageFormat(data []byte) (decode func(io.Reader) (image.Image, error), config func(io.Reader) (image.Config, error), format string, err error) {
	switch {
	case bytes.HasPrefix(data, pngMagic):
		return png.Decode, png.DecodeConfig, "PNG", nil
	case len(data) >= 2 && data[0] == 0xff && data[1] == 0xd8:
		return jpeg.Decode, jpeg.DecodeConfig, "JPEG", nil
	case len(data) == 0:
		return nil, nil, "", errors.New("empty file (want a PNG or JPEG image)")
	}
	return nil, nil, "", fmt.Errorf("not a PNG or JPEG image (starts with % x)", data[:min(len(data), 4)])
}

// imageHeader reads the width, height and channel count (1 for grey, else
// 3, as decodeImage gives them) from the header of a PNG or JPEG file,
// without decoding its pixels, and checks them against maxImagePixels.
func imageHeader(data []byte) (w, h, c int, err error) {
	_, config, format, err := imageFormat(data)
	if err != nil {
		return 0, 0, 0, err
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("corrupt %s: %v", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/max(cfg.Height, 1) {
		return 0, 0, 0, fmt.Errorf("%s header claims %d×%d pixels (want at least 1×1 and at most %d pixels)", format, cfg.Width, cfg.Height, maxImagePixels)
	}
	c = 3
	if cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model {
		c = 1
	}
	return cfg.Width, cfg.Height, c, nil
}

// decodeImage decodes a PNG or JPEG file (recognised by its first bytes)
// into 8-bit planes: one for a grey image, three (R, G, B) otherwise. The
// size in the header is checked against maxImagePixels before decoding.
func decodeImage(data []byte) (decodedImage, error) {
	decode, config, format, err := imageFormat(data)
	if err != nil {
		return decodedImage{}, err
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return decodedImage{}, fmt.Errorf("corrupt %s: %v", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/max(cfg.Height, 1) {
		return decodedImage{}, fmt.Errorf("%s header claims %d×%d pixels (want at least 1×1 and at most %d pixels)", format, cfg.Width, cfg.Height, maxImagePixels)
	}
	m, err := decode(bytes.NewReader(data))
	if err != nil {
		return decodedImage{}, fmt.Errorf("corrupt %s: %v", format, err)
	}
	return toPlanes(m), nil
}

// toPlanes converts m to 8-bit planes, with fast paths for what the PNG and
// JPEG decoders usually return.
func toPlanes(m image.Image) decodedImage {
	b := m.Bounds()
	h, w := b.Dy(), b.Dx()
	plane := h * w
	switch m := m.(type) {
	case *image.Gray:
		pix := make([]byte, plane)
		for y := 0; y < h; y++ {
			copy(pix[y*w:(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return decodedImage{pix: pix, c: 1, h: h, w: w}
	case *image.Gray16:
		pix := make([]byte, plane)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				pix[y*w+x] = byte(m.Gray16At(b.Min.X+x, b.Min.Y+y).Y >> 8)
			}
		}
		return decodedImage{pix: pix, c: 1, h: h, w: w}
	case *image.YCbCr:
		pix := make([]byte, 3*plane)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				pix[y*w+x], pix[plane+y*w+x], pix[2*plane+y*w+x] = r, g, bl
			}
		}
		return decodedImage{pix: pix, c: 3, h: h, w: w}
	}
	// Anything else: through the colour model, alpha-premultiplied (that
	// is, composited onto black).
	pix := make([]byte, 3*plane)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			pix[y*w+x], pix[plane+y*w+x], pix[2*plane+y*w+x] = byte(r>>8), byte(g>>8), byte(bl>>8)
		}
	}
	return decodedImage{pix: pix, c: 3, h: h, w: w}
}
