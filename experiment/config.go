// Package experiment joins data, model and loss: it resolves and validates
// configs, trains, evaluates, and reads and writes run directories.
package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/internal/fileio"
	"github.com/lgm-dev/lgm/internal/gemm"

	"github.com/lgm-dev/lgm/loss"
	"github.com/lgm-dev/lgm/model"
	"github.com/lgm-dev/lgm/nnops"
)

// Config is everything that decides what a run computes. The resolved config
// of a run is saved in its run directory and in its checkpoint.
type Config struct {
	Name  string      `yaml:"name"` // names the default run directory runs/<name>-<time>
	Seed  uint64      `yaml:"seed"` // one seed for initialisation and data order
	Data  DataConfig  `yaml:"data"`
	Model ModelConfig `yaml:"model"`
	Head  HeadConfig  `yaml:"head"`
	Train TrainConfig `yaml:"train"`
}

// DataConfig selects the data set.
type DataConfig struct {
	Dataset string `yaml:"dataset"` // mnist | fashion-mnist | cifar10 | cifar100 | folder
	// Dir is where the data set is: a folder of IDX files (mnist,
	// fashion-mnist; empty: MNIST from the GoMNIST module), the folder
	// `lgm data download` filled or the batches folder itself (cifar10,
	// cifar100), or a folder or .tar.gz with train/ and test/ class folders
	// of PNG or JPEG images (folder).
	Dir string `yaml:"dir"`
	// Coarse uses CIFAR-100's 20 coarse labels instead of its 100 fine ones.
	Coarse bool `yaml:"coarse"`
	// Augment is the "+" setting of the CIFAR tables: pad 4, random crop,
	// random horizontal flip, drawn from the run's seed.
	Augment bool `yaml:"augment"`
	// Val holds this many training images out as a validation set, chosen
	// by the seed and stratified by class: never trained on, evaluated after
	// every epoch (val_loss, val_error), and what train.keep: best-val
	// chooses by. 0: none (the test set is reported, never chosen by).
	Val int `yaml:"val,omitempty"`
	// Name, with dataset folder only, says which data set the folder holds
	// (cifar10, cifar100, mnist, fashion-mnist; e.g. a JPEG copy of
	// CIFAR-10): the report then sets the run beside that data set's
	// published numbers. Training checks the folder against it (image
	// shape, classes, numbers of images). It is a label, not a setting: it
	// changes nothing in training, so it may be added to the config.yaml of
	// a run trained without it, and sweeps and resumes do not compare it.
	Name string `yaml:"name,omitempty"`
}

// ModelConfig selects the network.
type ModelConfig struct {
	Net   string  `yaml:"net"`   // lenetpp | lenet | vgg | resnet20
	Dim   int     `yaml:"dim"`   // D, the feature size: 2 for pictures, larger for accuracy
	Width float64 `yaml:"width"` // vgg's and resnet20's width multiplier (1 = the papers' 96/192/384 and 16/32/64 channels)
}

// TrainConfig holds the solver and the schedule.
type TrainConfig struct {
	Epochs  int     `yaml:"epochs"`
	Batch   int     `yaml:"batch"`    // also the evaluation batch
	LR      float64 `yaml:"lr"`       // base learning rate
	LRStep  int     `yaml:"lr_step"`  // multiply the rate by lr_gamma every lr_step epochs; 0: constant
	LRGamma float64 `yaml:"lr_gamma"` // factor of the step decay
	// LRMilestones multiply the rate by lr_gamma at each of these epochs
	// instead of every lr_step epochs (e.g. [150, 225] for CIFAR).
	LRMilestones []int   `yaml:"lr_milestones,flow,omitempty"`
	Momentum     float64 `yaml:"momentum"`     // SGD momentum μ
	Nesterov     bool    `yaml:"nesterov"`     // Nesterov momentum
	WeightDecay  float64 `yaml:"weight_decay"` // L2 weight decay on network and head weights
	Limit        int     `yaml:"limit"`        // at most this many batches per epoch (smoke runs); 0: all
	// Keep is which checkpoints a run keeps: last (the default, also
	// written as "") or best-val, which also keeps checkpoint-best.safetensors,
	// the epoch of lowest validation error (data.val must be > 0).
	Keep string `yaml:"keep,omitempty"`
	// Precision is the arithmetic of the network's products (convolutions
	// and FC layers, forward and backward): fp32 (the default, also written
	// as "") or bf16, bfloat16 operands with float32 accumulation
	// (AVX512_BF16 CPUs only). Weights, activations, solver state, heads and
	// losses stay float32 either way.
	Precision string `yaml:"precision,omitempty"`
}

// Default returns the defaults in code: the authors' later MNIST recipe
// (jschenthu/GM-Loss, docs/references.md "Settings") with a
// 2-D LeNet++ feature and the softmax head.
func Default() Config {
	return Config{
		Name: "run",
		Seed: 1,
		Data: DataConfig{Dataset: "mnist"},
		Model: ModelConfig{
			Net:   "lenetpp",
			Dim:   2, // the 2-D feature of the paper's Figure 1
			Width: 1,
		},
		Head: HeadDefaults("softmax"),
		Train: TrainConfig{
			Epochs:      50,
			Batch:       64,
			LR:          0.01, // 0.02 for the 100-D feature
			LRStep:      5,    // ×0.7 every 5 epochs
			LRGamma:     0.7,
			Momentum:    0.9,
			Nesterov:    true,
			WeightDecay: 1e-3,
		},
	}
}

// Values of train.keep.
const (
	KeepLast    = "last"
	KeepBestVal = "best-val"
)

// folderNames are the data sets a folder may be labelled as (data.name).
var folderNames = []string{"cifar10", "cifar100", "fashion-mnist", "mnist"}

// Datasets lists the data sets a config may name.
var Datasets = []string{"cifar10", "cifar100", "fashion-mnist", "folder", "mnist"}

// LoadFile reads a YAML config over c: keys the file gives replace c's
// values, and an unknown key is an error that names it. The head's settings
// start from the defaults of the head the file names — or of head, if not
// empty (a --head flag), which then wins over the file's head.name.
func LoadFile(path string, c *Config, head string) error {
	raw, err := fileio.ReadFile(path, "a config file", fileio.MaxConfigBytes)
	if err != nil {
		return fmt.Errorf("config %w", err)
	}
	return loadConfig(raw, path, path, c, head)
}

// loadConfig is LoadFile on the bytes raw of the config file path; messages
// name it shown.
func loadConfig(raw []byte, path, shown string, c *Config, head string) error {
	var peek struct {
		Head struct {
			Name string `yaml:"name"`
		} `yaml:"head"`
	}
	yaml.Unmarshal(raw, &peek) // errors are reported by the strict decode below
	if head == "" {
		head = peek.Head.Name
	}
	if head != "" && head != c.Head.Name {
		c.Head = HeadDefaults(head)
	}
	defer func() {
		if head != "" {
			c.Head.Name = head
		}
	}()
	if err := syntaxError(raw); err != nil {
		return fmt.Errorf("config %s: %w", shown, err)
	}
	var tree yaml.Node
	if yaml.Unmarshal(raw, &tree) == nil && len(tree.Content) == 1 {
		if err := wholeNumbers(tree.Content[0], reflect.TypeFor[Config](), ""); err != nil {
			return fmt.Errorf("config %s: %w", shown, err)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %s", shown, oneLine(err.Error()))
	}
	if err := oneDocument(dec); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if c.Name == "run" || c.Name == "" {
		c.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return nil
}

// unknownField matches yaml's message for a key KnownFields rejects.
var unknownField = regexp.MustCompile(`field (\S+) not found in type experiment\.(\w*)Config`)

// sections names the config section each Go type decodes.
var sections = map[string]string{"": "", "Data": "data.", "Model": "model.", "Head": "head.", "Train": "train."}

// oneLine folds yaml's multi-line errors ("yaml: unmarshal errors:\n  line 3: …")
// and names unknown keys by their path in the config.
func oneLine(s string) string {
	s = unknownField.ReplaceAllStringFunc(s, func(m string) string {
		sub := unknownField.FindStringSubmatch(m)
		key := sections[sub[2]] + sub[1]
		return "unknown key " + key + nearestKeys(key)
	})
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n")
	fields := strings.Fields(strings.ReplaceAll(s, "\n", "; "))
	return strings.ReplaceAll(strings.Join(fields, " "), "; ;", ";")
}

// Marshal returns c as YAML.
func (c Config) Marshal() []byte {
	out, err := yaml.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("config does not marshal: %v", err)) // a programmer's bug: plain fields only
	}
	return out
}

// Unlabelled is c without its labels (data.name): what decides how a run
// trains, for comparing a run's config with another.
func (c Config) Unlabelled() Config {
	c.Data.Name = ""
	return c
}

// ParseConfig decodes a resolved config (as saved in a run) strictly.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, errors.New(oneLine(err.Error()))
	}
	if err := oneDocument(dec); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// oneDocument checks that dec, having decoded a config, holds no further
// YAML document (which would otherwise be ignored without a word).
func oneDocument(dec *yaml.Decoder) error {
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("after the first YAML document: %s", oneLine(err.Error()))
	}
	if len(next.Content) == 0 || next.Content[0].Tag == "!!null" {
		return nil // an empty document: a trailing --- or comments
	}
	return fmt.Errorf("holds more than one YAML document (the second starts at line %d); a config is one document: merge them or remove the --- line", next.Content[0].Line)
}

// Validate reports every problem of c at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Rest: fmt.Sprintf(format, a...)})
	}
	oneOf := func(field, v string, valid []string) {
		if !slices.Contains(valid, v) {
			bad(field, " must be one of %s (got %q)", strings.Join(valid, ", "), v)
		}
	}
	if strings.ContainsAny(c.Name, `/\`) || strings.Contains(c.Name, "..") {
		bad("name", ` must be a plain name, without path separators or ".." (got %q): it names the run directory runs/<name>-<time>; to choose where the run goes, use --out`, c.Name)
	}
	oneOf("data.dataset", c.Data.Dataset, Datasets)
	if c.Data.Coarse && c.Data.Dataset != "cifar100" {
		bad("data.coarse", " applies to cifar100 only (data.dataset is %q)", c.Data.Dataset)
	}
	if c.Data.Name != "" {
		if c.Data.Dataset != "folder" {
			bad("data.name", " labels a folder data set (data.dataset folder); data.dataset %s names its data itself: remove data.name", c.Data.Dataset)
		} else {
			oneOf("data.name", c.Data.Name, folderNames)
		}
	}
	oneOf("model.net", c.Model.Net, model.Names)
	for _, err := range c.Head.lossConfig(10, max(c.Model.Dim, 1)).Validate() {
		if errors.Is(err, loss.ErrUnknownHead) {
			err = &FieldError{Field: "head.name", Rest: ": " + err.Error()}
		} else if key, _, _ := strings.Cut(err.Error(), " "); slices.Contains(Keys(), key) {
			err = &FieldError{Field: key, Rest: strings.TrimPrefix(err.Error(), key)} // loss names the key first
		}
		errs = append(errs, err)
	}
	if !(c.Model.Width > 0 && c.Model.Width <= 16) {
		bad("model.width", " must be in (0, 16] (got %g)", c.Model.Width)
	}
	if c.Model.Dim < 1 || c.Model.Dim > 4096 {
		bad("model.dim", " must be in [1, 4096] (got %d)", c.Model.Dim)
	}
	t := c.Train
	if t.Epochs < 1 {
		bad("train.epochs", " must be >= 1 (got %d)", t.Epochs)
	}
	if t.Batch < 1 || t.Batch > 65536 {
		bad("train.batch", " must be in [1, 65536] (got %d)", t.Batch)
	}
	if !(t.LR > 0) || t.LR > 100 {
		bad("train.lr", " must be > 0 and <= 100 (got %g)", t.LR)
	}
	if t.LRStep < 0 {
		bad("train.lr_step", " must be >= 0 (got %d)", t.LRStep)
	}
	for i, m := range t.LRMilestones {
		if m < 1 || (i > 0 && m <= t.LRMilestones[i-1]) {
			bad("train.lr_milestones", " must be increasing epochs >= 1 (got %v)", t.LRMilestones)
			break
		}
	}
	if len(t.LRMilestones) > 0 && t.LRStep > 0 {
		bad("train.lr_step", " and train.lr_milestones exclude each other: set lr_step: 0 to use milestones")
	}
	if !(t.LRGamma > 0 && t.LRGamma <= 1) {
		bad("train.lr_gamma", " must be in (0, 1] (got %g)", t.LRGamma)
	}
	if !(t.Momentum >= 0 && t.Momentum < 1) {
		bad("train.momentum", " must be in [0, 1) (got %g)", t.Momentum)
	}
	if t.Nesterov && t.Momentum == 0 {
		bad("train.nesterov", " needs train.momentum > 0")
	}
	if !(t.WeightDecay >= 0 && t.WeightDecay < 1) {
		bad("train.weight_decay", " must be in [0, 1) (got %g)", t.WeightDecay)
	}
	if t.Limit < 0 {
		bad("train.limit", " must be >= 0 (got %d)", t.Limit)
	}
	if c.Data.Val < 0 {
		bad("data.val", " must be >= 0 (got %d)", c.Data.Val)
	}
	switch t.Precision {
	case "", "fp32":
	case "bf16":
		if !hasBF16() {
			bad("train.precision", " bf16: %v (this CPU: %s)", nnops.ErrNoBF16, HostCPU().Model)
		}
	default:
		bad("train.precision", " must be one of %s (got %q)", strings.Join(Precisions, ", "), t.Precision)
	}
	switch t.Keep {
	case "", KeepLast:
	case KeepBestVal:
		if c.Data.Val == 0 {
			bad("train.keep", " best-val needs a validation set: set data.val (--val N) to the images to hold out")
		}
	default:
		bad("train.keep", " must be one of last, best-val (got %q)", t.Keep)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Errs: errs}
}

// FieldError is a problem with one field of a config: its message is the
// field's key followed by Rest ("train.lr" + " must be > 0 …").
type FieldError struct {
	Field string // the config key, e.g. "train.lr"
	Rest  string // the rest of the message, from the character after the key
}

func (e *FieldError) Error() string { return e.Field + e.Rest }

// ConfigError lists every problem of a config.
type ConfigError struct{ Errs []error }

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "invalid config: " + strings.Join(msgs, "; ")
}

// Precisions lists the values of train.precision ("" means fp32).
var Precisions = []string{"fp32", "bf16"}

// hasBF16 reports whether the CPU runs bfloat16 products (a variable for
// tests of the refusal on CPUs without them).
var hasBF16 = gemm.HasBF16

// precisionName is the name of cfg's train.precision: "fp32" or "bf16".
func precisionName(t TrainConfig) string {
	if t.Precision == "" {
		return "fp32"
	}
	return t.Precision
}
