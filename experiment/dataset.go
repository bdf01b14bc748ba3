package experiment

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/lgm-dev/lgm/data"
)

// loadData reads the training and test splits cfg names. MNIST without a
// folder comes from the GoMNIST module's data folder.
func loadData(cfg Config) (train, test *data.Set, err error) {
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
	switch ds {
	case "cifar10":
		return data.LoadCIFAR10(dir)
	case "cifar100":
		return data.LoadCIFAR100(dir, cfg.Data.Coarse)
	case "folder":
		return data.LoadImageFolder(dir)
	}
	return data.LoadIDXDir(dir, ds)
}

// normalise applies n to every set, checking it fits their channel count.
func normalise(n data.Norm, sets ...*data.Set) error {
	for _, s := range sets {
		if err := n.Validate(s.C); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		n.Apply(s)
	}
	return nil
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
