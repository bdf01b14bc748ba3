package data

// The CIFAR binary formats, as described on the dataset authors' page
// (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009):
//
//	CIFAR-10   cifar-10-batches-bin/data_batch_1.bin … data_batch_5.bin,
//	           test_batch.bin; each record is 1 label byte (0-9) followed
//	           by 3072 pixel bytes
//	CIFAR-100  cifar-100-binary/train.bin, test.bin; each record is 1 coarse
//	           label byte (0-19), 1 fine label byte (0-99), then 3072 pixel
//	           bytes
//
// The 3072 pixel bytes are the 32×32 red plane, then green, then blue, each
// row-major: exactly a Set's C×H×W order, so a record converts in place.
// The official files hold 10000 records each (CIFAR-100: 50000 and 10000);
// this reader accepts any whole, non-zero number of records, so small test
// files and subsets work the same way.
//
// Sizes are checked with Stat before anything is allocated: a file whose
// size is not a whole number of records is rejected without reading it.
// Records are counted from 0 in messages.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lgm-dev/lgm/internal/fileio"
)

const (
	cifarSide   = 32                        // rows and columns
	cifarPixels = 3 * cifarSide * cifarSide // pixel bytes in one record

	// maxCIFARFileBytes caps the size of one CIFAR file: 2 GiB, more than
	// ten times the largest official file (CIFAR-100's 154 MB train.bin).
	maxCIFARFileBytes = 1 << 31

	// CIFAR10Folder and CIFAR100Folder are the folders the official
	// archives unpack to.
	CIFAR10Folder  = "cifar-10-batches-bin"
	CIFAR100Folder = "cifar-100-binary"
)

// CIFAR10Classes names the CIFAR-10 labels 0..9, as in the release's
// batches.meta.txt.
var CIFAR10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// CIFAR100FineClasses names the CIFAR-100 fine labels 0..99, as in the
// release's fine_label_names.txt (alphabetical order).
var CIFAR100FineClasses = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
	"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
	"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
	"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
	"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
	"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
	"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
	"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
}

// CIFAR100CoarseClasses names the CIFAR-100 coarse labels (superclasses)
// 0..19, as in the release's coarse_label_names.txt.
var CIFAR100CoarseClasses = []string{
	"aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
	"household_electrical_devices", "household_furniture", "insects", "large_carnivores",
	"large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
	"medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
	"vehicles_1", "vehicles_2",
}

// cifarLabel is one label byte of a record.
type cifarLabel struct {
	noun    string // "label", "coarse label", "fine label"
	classes int
}

// cifarFormat is one of the two binary layouts.
type cifarFormat struct {
	dataset string       // "cifar10" or "cifar100": set names, the download hint
	title   string       // "CIFAR-10": messages
	folder  string       // the folder the official archive unpacks to
	labels  []cifarLabel // the label bytes at the start of each record
	train   []string     // training files, in order
	test    []string     // test files
}

var (
	cifar10Format = cifarFormat{
		dataset: "cifar10",
		title:   "CIFAR-10",
		folder:  CIFAR10Folder,
		labels:  []cifarLabel{{"label", 10}},
		train:   []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
		test:    []string{"test_batch.bin"},
	}
	cifar100Format = cifarFormat{
		dataset: "cifar100",
		title:   "CIFAR-100",
		folder:  CIFAR100Folder,
		labels:  []cifarLabel{{"coarse label", 20}, {"fine label", 100}},
		train:   []string{"train.bin"},
		test:    []string{"test.bin"},
	}
)

// recordSize is the number of bytes in one record.
func (f cifarFormat) recordSize() int { return len(f.labels) + cifarPixels }

// LoadCIFAR10 reads the official CIFAR-10 binary release. path is either
// the cifar-10-batches-bin folder or the folder that holds it (what
// `lgm data download cifar10 --dir DIR` makes). The training set is
// data_batch_1.bin … data_batch_5.bin in that order, the test set
// test_batch.bin.
//
// Both sets are named "cifar10/train" and "cifar10/test" and have C = 3,
// H = W = 32, Classes = 10, ClassNames = CIFAR10Classes, and pixels scaled to
// [0,1]. Every error names the file and the problem: a missing file (all
// missing files are listed, with the download command), an empty file, a
// size that is not a whole number of 3073-byte records, or a label >= 10
// (with its record, counted from 0, and value).
func LoadCIFAR10(path string) (train, test *Set, err error) {
	return loadCIFAR(path, cifar10Format, 0, CIFAR10Classes)
}

// LoadCIFAR100 reads the official CIFAR-100 binary release. path is either
// the cifar-100-binary folder or the folder that holds it. The sets come
// from train.bin and test.bin.
//
// Labels are the 100 fine classes (ClassNames = CIFAR100FineClasses), or the
// 20 coarse superclasses when coarse is true (CIFAR100CoarseClasses). The
// sets are named "cifar100/train" and "cifar100/test" (with a "-coarse"
// suffix on the dataset for coarse labels) and have C = 3, H = W = 32. Both
// label bytes of every record are range-checked whichever is used; errors
// are those of LoadCIFAR10 with 3074-byte records.
func LoadCIFAR100(path string, coarse bool) (train, test *Set, err error) {
	if coarse {
		return loadCIFAR(path, cifar100Format, 0, CIFAR100CoarseClasses)
	}
	return loadCIFAR(path, cifar100Format, 1, CIFAR100FineClasses)
}

// loadCIFAR reads both splits of format f from path, keeping label byte
// which of each record.
func loadCIFAR(path string, f cifarFormat, which int, names []string) (train, test *Set, err error) {
	dir, err := cifarDir(path, f, true)
	if err != nil {
		return nil, nil, err
	}
	name := f.dataset
	if len(f.labels) > 1 && which == 0 {
		name += "-coarse"
	}
	train, err = readCIFARSplit(dir, f.train, f, which, name+"/train", false)
	if err != nil {
		return nil, nil, err
	}
	test, err = readCIFARSplit(dir, f.test, f, which, name+"/test", false)
	if err != nil {
		return nil, nil, err
	}
	train.ClassNames, test.ClassNames = names, names
	return train, test, nil
}

// checkCIFAR validates the CIFAR folder at path the way loadCIFAR reads it
// (presence, sizes and every label) without keeping any pixels. Its errors
// do not suggest downloading: Download calls it.
func checkCIFAR(path string, f cifarFormat) error {
	dir, err := cifarDir(path, f, false)
	if err != nil {
		return err
	}
	for _, files := range [][]string{f.train, f.test} {
		if _, err := readCIFARSplit(dir, files, f, 0, f.dataset, true); err != nil {
			return err
		}
	}
	return nil
}

// cifarDir finds the folder holding the files of f: path/<f.folder> if that
// is a folder, else path itself. If files are missing it lists them all and,
// if suggest is set, says how to get them.
func cifarDir(path string, f cifarFormat, suggest bool) (string, error) {
	// The --dir a download into would produce the layout we look for.
	downloadDir := path
	if filepath.Base(filepath.Clean(path)) == f.folder {
		downloadDir = filepath.Dir(filepath.Clean(path))
	}
	fix := ""
	if suggest {
		fix = fmt.Sprintf("; run `lgm data download %s --dir %s`", f.dataset, downloadDir)
	}

	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s data folder %s does not exist%s", f.title, path, fix)
	case err != nil:
		return "", fmt.Errorf("%s data folder: %w", f.title, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s data folder %s is not a folder; pass the %s folder or the folder holding it", f.title, path, f.folder)
	}
	dir := path
	if isDir(filepath.Join(path, f.folder)) {
		dir = filepath.Join(path, f.folder)
	}
	var missing []string
	for _, name := range append(append([]string(nil), f.train...), f.test...) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s data folder %s: missing %s (want the official binary release's %s folder or the folder holding it)%s",
			f.title, dir, strings.Join(missing, ", "), f.folder, fix)
	}
	return dir, nil
}

// readCIFARSplit reads files (in dir) of format f into one Set named name,
// with label byte which as the label. With checkOnly it validates the files
// but allocates no pixels and returns a nil Set.
func readCIFARSplit(dir string, files []string, f cifarFormat, which int, name string, checkOnly bool) (*Set, error) {
	rec := f.recordSize()
	paths := make([]string, len(files))
	counts := make([]int, len(files))
	total := 0
	opened := make([]*os.File, len(files))
	defer func() {
		for _, file := range opened {
			if file != nil {
				file.Close()
			}
		}
	}()
	for i, file := range files {
		paths[i] = filepath.Join(dir, file)
		fh, n, err := openCIFAR(paths[i], f)
		if err != nil {
			return nil, err
		}
		opened[i], counts[i] = fh, n
		total += n
	}

	var s *Set
	if !checkOnly {
		s = &Set{
			Name:    name,
			Pixels:  make([]uint8, total*cifarPixels),
			Labels:  make([]int, total),
			N:       total,
			C:       3,
			H:       cifarSide,
			W:       cifarSide,
			Classes: f.labels[which].classes,
		}
	}
	buf := make([]byte, rec)
	first := 0 // index in the set of the file's first record
	for i, path := range paths {
		var images []uint8
		var labels []int
		if s != nil {
			images = s.Pixels[first*cifarPixels : (first+counts[i])*cifarPixels]
			labels = s.Labels[first : first+counts[i]]
		}
		if err := decodeCIFAR(bufio.NewReaderSize(opened[i], 1<<20), counts[i], f, which, buf, images, labels); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		first += counts[i]
	}
	return s, nil
}

// openCIFAR opens the file at path and returns it with its number of
// records, from its size, or an error if it is not a regular file holding a
// non-empty whole number of records.
func openCIFAR(path string, f cifarFormat) (*os.File, int, error) {
	fh, fi, err := fileio.Open(path, "a "+f.title+" file", maxCIFARFileBytes)
	if err != nil {
		return nil, 0, err
	}
	n, err := cifarRecordCount(path, fi.Size(), f)
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	return fh, n, nil
}

// cifarRecordCount checks that size bytes of file path are a non-empty whole
// number of records of f, within the size limit, and returns the count.
func cifarRecordCount(path string, size int64, f cifarFormat) (int, error) {
	rec := int64(f.recordSize())
	switch {
	case size == 0:
		return 0, fmt.Errorf("%s: empty file (want %d-byte %s records)", path, rec, f.title)
	case size > maxCIFARFileBytes:
		return 0, fmt.Errorf("%s: %d bytes is more than the %d-byte limit of this reader: not a %s file", path, size, int64(maxCIFARFileBytes), f.title)
	case size%rec != 0:
		return 0, fmt.Errorf("%s: %d bytes is not a whole number of %d-byte records: record %d is cut short", path, size, rec, size/rec)
	}
	return int(size / rec), nil
}

// cifarRecords returns the number of records in the file at path (see
// openCIFAR).
func cifarRecords(path string, f cifarFormat) (int, error) {
	fh, n, err := openCIFAR(path, f)
	if err != nil {
		return 0, err
	}
	fh.Close()
	return n, nil
}

// readCIFARFile reads the n records of the file at path, checking every
// label byte. If images is non-nil (len n*3072) it receives the pixel bytes
// and labels (len n) label byte which. buf holds one record.
func readCIFARFile(path string, n int, f cifarFormat, which int, buf []byte, images []uint8, labels []int) error {
	file, _, err := fileio.Open(path, "a "+f.title+" file", maxCIFARFileBytes)
	if err != nil {
		return err
	}
	defer file.Close()
	if err := decodeCIFAR(bufio.NewReaderSize(file, 1<<20), n, f, which, buf, images, labels); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// decodeCIFAR reads exactly n records of f from r (and checks that nothing
// follows), as readCIFARFile describes. Errors do not name the file.
func decodeCIFAR(r io.Reader, n int, f cifarFormat, which int, buf []byte, images []uint8, labels []int) error {
	nl := len(f.labels)
	for i := 0; i < n; i++ {
		if k, err := io.ReadFull(r, buf); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("file ends in record %d after %d of its %d bytes (it changed while being read?)", i, k, len(buf))
			}
			return fmt.Errorf("reading record %d: %w", i, err)
		}
		for j, l := range f.labels {
			if v := int(buf[j]); v >= l.classes {
				return fmt.Errorf("record %d has %s %d, want 0..%d", i, l.noun, v, l.classes-1)
			}
		}
		if images == nil {
			continue
		}
		labels[i] = int(buf[which])
		copy(images[i*cifarPixels:(i+1)*cifarPixels], buf[nl:])
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		return fmt.Errorf("file has bytes after record %d (it changed while being read?)", n-1)
	}
	return nil
}
