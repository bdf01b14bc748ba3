package main

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lgm-dev/lgm/experiment"
)

// configOptions are the flags that decide a run's config: those of lgm
// train and lgm config show.
type configOptions struct {
	config string
	sets   []string
	// Flags that override the config where the user set them.
	net, head, data    string
	dataset            string
	augment            bool
	dim, epochs, batch int
	limit              int
	lr                 float64
	seed               uint64
	val                int
	keep               string
	precision          string
}

// addFlags adds the config flags to f.
func (o *configOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.config, "config", "c", "", "YAML config `file`, or the name of a config built into lgm (see lgm configs); keys absent from it keep their defaults")
	f.StringArrayVar(&o.sets, "set", nil, "set a config key: `KEY=VALUE` with a dotted key of the config file (head.alpha=0.5, train.lr_milestones=[10,20]); repeatable, applied after --config and before the other flags")
	f.StringVar(&o.net, "net", "", "network: lenetpp | lenet | vgg | resnet20 (config model.net; vgg and resnet20 are the CIFAR networks, their width is config model.width)")
	f.StringVar(&o.head, "head", "", "loss head: softmax | center | lsoftmax | gm | lgm (config head.name; the head's other settings start from its defaults)")
	f.StringVar(&o.dataset, "dataset", "", "data set: mnist | fashion-mnist | cifar10 | cifar100 | folder (config data.dataset)")
	f.BoolVar(&o.augment, "augment", false, "pad 4, random crop and flip: the CIFAR \"+\" setting (config data.augment)")
	f.StringVar(&o.data, "data", "", "data `PATH`: IDX folder (mnist, fashion-mnist; default MNIST from the GoMNIST module), the folder of `lgm data download` (cifar10, cifar100), or a folder or .tar.gz of train/ and test/ class folders (folder) (config data.dir)")
	f.IntVar(&o.dim, "dim", 0, "feature size D (config model.dim)")
	f.IntVar(&o.epochs, "epochs", 0, "epochs (config train.epochs)")
	f.IntVar(&o.batch, "batch", 0, "batch size (config train.batch)")
	f.Float64Var(&o.lr, "lr", 0, "base learning rate (config train.lr)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of initialisation and data order (config seed)")
	f.IntVar(&o.limit, "limit", 0, "at most `N` batches per epoch, for smoke runs (config train.limit)")
	f.IntVar(&o.val, "val", 0, "hold `N` training images out as a validation set, chosen by the seed and stratified by class (config data.val)")
	precisionFlag(f, &o.precision)
	f.StringVar(&o.keep, "keep", "", "checkpoints to keep: last | best-val (also checkpoint-best.safetensors, the lowest validation error) (config train.keep)")
}

// resolve applies the defaults, then the config file, then the --set
// overrides, then the flags the user set, and validates the result.
func (o *configOptions) resolve(fs *pflag.FlagSet) (experiment.Config, error) {
	head := ""
	if fs.Changed("head") {
		head = o.head
	}
	var sets []experiment.Override
	for _, arg := range o.sets {
		s, err := experiment.ParseOverride(arg)
		if err != nil {
			return experiment.Config{}, usageError{err: err}
		}
		sets = append(sets, s)
	}
	cfg, err := experiment.Resolve(o.config, head, sets)
	if err != nil {
		return cfg, usageError{err: err}
	}
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("head", func() { cfg.Head.Name = o.head }) // over a head.name override too
	set("net", func() { cfg.Model.Net = o.net })
	set("data", func() { cfg.Data.Dir = o.data })
	set("dataset", func() { cfg.Data.Dataset = o.dataset })
	set("augment", func() { cfg.Data.Augment = o.augment })
	set("dim", func() { cfg.Model.Dim = o.dim })
	set("epochs", func() { cfg.Train.Epochs = o.epochs })
	set("batch", func() { cfg.Train.Batch = o.batch })
	set("lr", func() { cfg.Train.LR = o.lr })
	set("seed", func() { cfg.Seed = o.seed })
	set("limit", func() { cfg.Train.Limit = o.limit })
	set("val", func() { cfg.Data.Val = o.val })
	set("keep", func() { cfg.Train.Keep = o.keep })
	set("precision", func() { cfg.Train.Precision = o.precision })
	if err := cfg.Validate(); err != nil {
		return cfg, nameSources(err, fs.Changed, o.config, sets)
	}
	return cfg, nil
}

// nameSources is nameFlags that also names the --set override behind a
// field's problem, where no flag set it.
func nameSources(err error, given func(flag string) bool, file string, sets []experiment.Override) error {
	var ce *experiment.ConfigError
	if !errors.As(err, &ce) || len(sets) == 0 {
		return nameFlags(err, given, file)
	}
	renamed := &experiment.ConfigError{}
	for _, e := range ce.Errs {
		var fe *experiment.FieldError
		if errors.As(e, &fe) {
			if flag, ok := configFlags[fe.Field]; !ok || !given(strings.TrimPrefix(flag, "--")) {
				for i := len(sets) - 1; i >= 0; i-- { // the last override of a key is the one that counts
					if keyRoot(sets[i].Key) == keyRoot(fe.Field) {
						e = &experiment.FieldError{Field: "--set " + sets[i].Arg, Rest: ":" + " " + fe.Field + fe.Rest}
						break
					}
				}
			}
		}
		renamed.Errs = append(renamed.Errs, e)
	}
	return nameFlags(renamed, given, file)
}

// keyRoot is a config key without a schedule's field: head.lambda.kind and
// head.lambda.epochs are both head.lambda, whose problems they may cause.
func keyRoot(key string) string {
	if parts := strings.SplitN(key, ".", 3); len(parts) == 3 {
		return parts[0] + "." + parts[1]
	}
	return key
}
