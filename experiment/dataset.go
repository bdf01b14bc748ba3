package experiment

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/lgm-dev/lgm/data"
)

// loadData reads the training and test splits cfg names, saying on out (if
// not nil) what it reads from where. MNIST without a folder comes from the
// GoMNIST module's data folder. A folder that holds another data set than
// the one asked for is named as such.
func loadData(cfg Config, out io.Writer) (train, test *data.Set, err error) {
	dir, ds := cfg.Data.Dir, cfg.Data.Dataset
	if dir == "" {
		switch ds {
		case "mnist":
			if dir, err = data.MNISTDir(); err != nil {
				return nil, nil, err
			}
		case "cifar10", "cifar100":
			return nil, nil, fmt.Errorf("data.dataset %s needs its folder: run `lgm data download %s --dir DIR`, then pass --data DIR", ds, ds)
		case "folder":
			return nil, nil, errors.New("data.dataset folder needs --data PATH: a folder or .tar.gz with train/ and test/ folders of class folders of images")
		default:
			return nil, nil, fmt.Errorf("data.dataset %s needs a folder: pass --data DIR (a folder with its four IDX files)", ds)
		}
	}
	if err := checkDataFits(ds, dir); err != nil {
		return nil, nil, err
	}
	if out != nil {
		// Decoding an image archive takes seconds: say what is going on.
		from := dir
		if cfg.Data.Dir == "" {
			from = "the GoMNIST module (" + dir + ")"
		}
		fmt.Fprintf(out, "reading %s from %s\n", ds, from)
	}
	switch ds {
	case "cifar10":
		train, test, err = data.LoadCIFAR10(dir)
	case "cifar100":
		train, test, err = data.LoadCIFAR100(dir, cfg.Data.Coarse)
	case "folder":
		train, test, err = data.LoadImageFolderLimit(dir, imageBudget())
		if err == nil && cfg.Data.Name != "" {
			err = checkFolderIs(cfg.Data.Name, dir, train, test)
		}
	default:
		train, test, err = data.LoadIDXDir(dir, ds)
	}
	if err != nil {
		if other := sniffDataset(dir); other != "" && !sameKind(other, ds) {
			return nil, nil, fmt.Errorf("--data %s holds %s, not %s (data.dataset): pass --dataset %s to train on it, or give --data %s",
				dir, describeKind[other], ds, kindFlag[other], wantedData[ds])
		}
	}
	return train, test, err
}

// sniffDataset says which kind of data set the folder or file dir looks
// like, by its file names: "idx" (mnist, fashion-mnist), "cifar10",
// "cifar100", "folder", or "" when it cannot tell.
func sniffDataset(dir string) string {
	exists := func(parts ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{dir}, parts...)...))
		return err == nil
	}
	switch {
	case strings.HasSuffix(dir, ".tar.gz") || strings.HasSuffix(dir, ".tgz"):
		return "folder"
	case exists("train-images-idx3-ubyte") || exists("train-images-idx3-ubyte.gz"):
		return "idx"
	case exists("data_batch_1.bin") || exists("cifar-10-batches-bin"):
		return "cifar10"
	case exists("train.bin") && exists("test.bin") || exists("cifar-100-binary"):
		return "cifar100"
	case exists("train") && exists("test"):
		return "folder"
	}
	return ""
}

func sameKind(kind, dataset string) bool {
	return kind == dataset || kind == "idx" && (dataset == "mnist" || dataset == "fashion-mnist")
}

var (
	describeKind = map[string]string{
		"idx":      "IDX files (train-images-idx3-ubyte, …: MNIST or Fashion-MNIST)",
		"cifar10":  "CIFAR-10's binary batches",
		"cifar100": "CIFAR-100's binary files",
		"folder":   "train/ and test/ image folders",
	}
	kindFlag = map[string]string{"idx": "mnist (or fashion-mnist)", "cifar10": "cifar10", "cifar100": "cifar100", "folder": "folder"}
	// wantedData is what --data must be for each data set.
	wantedData = map[string]string{
		"mnist":         "a folder with MNIST's four IDX files (or leave it unset: MNIST comes from the GoMNIST module)",
		"fashion-mnist": "a folder with Fashion-MNIST's four IDX files",
		"cifar10":       "the folder `lgm data download cifar10 --dir DIR` fills",
		"cifar100":      "the folder `lgm data download cifar100 --dir DIR` fills",
		"folder":        "a folder or .tar.gz with train/ and test/ folders of class folders of images",
	}
)

// normalised is s normalised by n (data.Norm.Normalised: s itself is left as
// it was), after checking that n fits its channel count.
func normalised(n data.Norm, s *data.Set) (*data.Set, error) {
	if err := n.Validate(s.C); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	return n.Normalised(s), nil
}

// holdOut splits the validation images cfg names (data.val) off the
// training split train: the same images for a given seed, every time.
func holdOut(cfg Config, train *data.Set) (rest, val *data.Set, err error) {
	rest, val, err = data.HoldOut(train, cfg.Data.Val, rand.New(rand.NewPCG(cfg.Seed, streamVal)))
	if err != nil {
		return nil, nil, fmt.Errorf("data.val: %w", err)
	}
	return rest, val, nil
}

// namedShapes are the data sets a folder may be labelled as (data.name),
// as their official releases hold them.
var namedShapes = map[string]struct {
	title                    string
	c, h, w, classes, nTrain int
	nTest                    int
}{
	"cifar10":       {"CIFAR-10", 3, 32, 32, 10, 50000, 10000},
	"cifar100":      {"CIFAR-100", 3, 32, 32, 100, 50000, 10000},
	"mnist":         {"MNIST", 1, 28, 28, 10, 60000, 10000},
	"fashion-mnist": {"Fashion-MNIST", 1, 28, 28, 10, 60000, 10000},
}

// checkFolderIs refuses a folder labelled as the data set name (data.name)
// that does not hold what that data set holds, so that the report never
// sets a run on other data beside that data set's published numbers.
func checkFolderIs(name, dir string, train, test *data.Set) error {
	want, ok := namedShapes[name]
	if !ok {
		return fmt.Errorf("data.name %q is not a data set lgm knows the shape of", name)
	}
	var diffs []string
	if train.C != want.c || train.H != want.h || train.W != want.w {
		diffs = append(diffs, fmt.Sprintf("%d×%d×%d images, not %d×%d×%d", train.C, train.H, train.W, want.c, want.h, want.w))
	}
	if train.Classes != want.classes {
		diffs = append(diffs, fmt.Sprintf("%d classes, not %d", train.Classes, want.classes))
	}
	if train.N != want.nTrain || test.N != want.nTest {
		diffs = append(diffs, fmt.Sprintf("%d training and %d test images, not %d and %d", train.N, test.N, want.nTrain, want.nTest))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("data.name says %s holds %s, but it has %s: remove data.name (the run is then reported as a folder of its own), or point --data at a full copy of %s",
		dir, want.title, strings.Join(diffs, " and "), want.title)
}
