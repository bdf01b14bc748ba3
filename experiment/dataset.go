package experiment

import (
	"fmt"

	"github.com/lgm-dev/lgm/data"
)

// loadData reads the training and test splits cfg names. MNIST without a
// folder comes from the GoMNIST module's data folder.
func loadData(cfg Config) (train, test *data.Set, err error) {
	dir := cfg.Data.Dir
	if dir == "" {
		if cfg.Data.Dataset != "mnist" {
			return nil, nil, fmt.Errorf("data.dataset %s needs a folder: pass --data DIR (a folder with its four IDX files)", cfg.Data.Dataset)
		}
		if dir, err = data.MNISTDir(); err != nil {
			return nil, nil, err
		}
	}
	return data.LoadIDXDir(dir, cfg.Data.Dataset)
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
