// Package sweep runs grids of lgm trainings: a sweep file names base configs,
// overrides common to all runs, a grid of overrides and seeds, and steps to
// run after training (attack, report). Every point of the grid is one run
// directory trained by its own `lgm train` process, so the runs are
// independent and resumable, and the same whether they run here (Run) or as
// the tasks of a Slurm job array (EmitSlurm).
//
// The package sits beside experiment and imports it; experiment does not
// import sweep.
package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/experiment"
)

// File is a sweep file as written.
//
//	name: mnist-table6                 # default: the file's name; runs go to runs/<name>/
//	set:                               # --set overrides common to every run
//	  train.epochs: 10
//	configs: [mnist-softmax, mnist-lgm] # shipped config names or config files
//	grid:                              # every combination of these values …
//	  head.alpha: [0.5, 1]
//	seeds: [1, 2, 3]                   # … with every seed
//	runs:                              # more groups of runs, each like the above
//	  - configs: [mnist-gm]
//	    seeds: [1]
//	after:
//	  attack: {method: fgsm, eps: [0, 0.1, 0.2, 0.3]}
//	  report: true
type File struct {
	Name    string    `yaml:"name"`
	Set     yaml.Node `yaml:"set"`
	Configs []string  `yaml:"configs"`
	Grid    yaml.Node `yaml:"grid"`
	Seeds   []uint64  `yaml:"seeds"`
	Runs    []Group   `yaml:"runs"`
	After   After     `yaml:"after"`
}

// Group is one block of runs: its configs × its grid × its seeds. Its set
// applies after the file's; its seeds replace the file's.
type Group struct {
	Configs []string  `yaml:"configs"`
	Set     yaml.Node `yaml:"set"`
	Grid    yaml.Node `yaml:"grid"`
	Seeds   []uint64  `yaml:"seeds"`
}

// After holds the steps run once training is over.
type After struct {
	// Attack runs `lgm attack RUN --method M --eps LIST` on each finished run.
	Attack *Attack `yaml:"attack"`
	// Report runs `lgm report RUN_DIRS... --out DIR/report` once all runs finished.
	Report bool `yaml:"report"`
}

// Attack is the after step `lgm attack`.
type Attack struct {
	Method string   `yaml:"method"`
	Eps    []string `yaml:"eps"` // as written: 0.1, 8/255
}

// Sweep is a loaded sweep file: its runs, in the file's order.
type Sweep struct {
	Path  string // the sweep file
	Name  string
	Runs  []*Point
	After After
}

// Point is one run of a sweep.
type Point struct {
	Name   string // the run directory's name: <config>[_<key><value>...]-s<seed>
	Config string // the config as the child is given it (--config)
	Sets   []string
	Seed   uint64
	// Resolved is the config lgm train will run: what the run directory's
	// config.yaml must hold.
	Resolved experiment.Config
}

// Load reads and checks a sweep file and expands it into its runs, each
// resolved as `lgm train --config C --set … --seed S` would resolve it.
// Every problem names the file and its key.
func Load(path string) (*Sweep, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep file: %w", err)
	}
	return parse(raw, path)
}

// parse is Load on the bytes of the file path.
func parse(raw []byte, path string) (*Sweep, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("sweep file %s: %s", path, fmt.Sprintf(format, a...))
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad("empty: give configs (and seeds), see lgm sweep --help")
		}
		return nil, bad("%s", yamlError(err))
	}
	s := &Sweep{Path: path, Name: f.Name, After: f.After}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if !safeName.MatchString(s.Name) {
		return nil, bad("name %q must be letters, digits, '.', '_' or '-' (it names the folder runs/<name>)", s.Name)
	}
	if a := f.After.Attack; a != nil {
		if a.Method == "" {
			return nil, bad("after.attack.method is missing (e.g. method: fgsm)")
		}
		if len(a.Eps) == 0 {
			return nil, bad("after.attack.eps is empty (e.g. eps: [0, 0.1, 0.2, 0.3])")
		}
	}
	common, err := overrides(&f.Set, "set")
	if err != nil {
		return nil, bad("%v", err)
	}
	type group struct {
		Group
		at string // how messages name the group's keys: "" or "runs[1]."
	}
	var groups []group
	if len(f.Configs) > 0 || f.Grid.Kind != 0 {
		groups = append(groups, group{Group{Configs: f.Configs, Grid: f.Grid}, ""})
	}
	for i, g := range f.Runs {
		groups = append(groups, group{g, fmt.Sprintf("runs[%d].", i)})
	}
	if len(groups) == 0 {
		return nil, bad("no runs: give configs (and seeds), or a runs list")
	}
	dir := filepath.Dir(path)
	seen := map[string]string{}
	for _, g := range groups {
		at := g.at
		if len(g.Configs) == 0 {
			return nil, bad("%sconfigs is empty: name at least one config (a shipped name such as mnist-lgm, or a file)", at)
		}
		sets, err := overrides(&g.Set, at+"set")
		if err != nil {
			return nil, bad("%v", err)
		}
		axes, err := grid(&g.Grid, at+"grid")
		if err != nil {
			return nil, bad("%v", err)
		}
		seeds := g.Seeds
		if seeds == nil {
			seeds = f.Seeds
		}
		for i, sd := range seeds {
			if slices.Contains(seeds[:i], sd) {
				return nil, bad("%sseeds lists %d twice", seedsKey(at, g.Seeds != nil), sd)
			}
		}
		short := shortKeys(axes)
		// Seeds outermost: every config and setting of seed 1 first, so
		// that a sweep stopped early has whole rows of the table.
		own := len(seeds) == 0 // no seeds: each config's own, as a run without --seed
		if own {
			seeds = []uint64{0}
		}
		for _, sd := range seeds {
			for _, ref := range g.Configs {
				conf := configPath(ref, dir)
				for _, combo := range combos(axes) {
					args := slices.Clone(common)
					args = append(args, sets...)
					suffix := ""
					for i, v := range combo {
						args = append(args, axes[i].key+"="+v)
						if len(axes[i].values) > 1 {
							suffix += "_" + short[i] + nameValue(v)
						}
					}
					p, err := resolve(ref, conf, args, sd, own, suffix)
					if err != nil {
						return nil, bad("%v", err)
					}
					if other, dup := seen[p.Name]; dup {
						return nil, bad("two runs are named %s (%s and %s): vary a grid key's value or the config, not the same run twice", p.Name, other, describe(p))
					}
					seen[p.Name] = describe(p)
					s.Runs = append(s.Runs, p)
				}
			}
		}
	}
	return s, nil
}

func seedsKey(at string, own bool) string {
	if own {
		return at + "seeds"
	}
	return "seeds"
}

// safeName is what a sweep's or run's name may hold: it names a folder.
var safeName = regexp.MustCompile(`^[A-Za-z0-9._+=,-]+$`)

// resolve builds one run: the config ref (conf as the child is given it)
// with the overrides args and the seed (own: the config's own instead).
func resolve(ref, conf string, args []string, seed uint64, own bool, suffix string) (*Point, error) {
	sets := make([]experiment.Override, len(args))
	for i, a := range args {
		o, err := experiment.ParseOverride(a)
		if err != nil {
			return nil, err
		}
		sets[i] = o
	}
	cfg, err := experiment.Resolve(conf, "", sets)
	if err != nil {
		return nil, err
	}
	if !own {
		cfg.Seed = seed
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s with %s: %w", ref, strings.Join(args, " "), err)
	}
	base := strings.TrimSuffix(filepath.Base(ref), ".yaml")
	p := &Point{
		Name:     fmt.Sprintf("%s%s-s%d", base, suffix, cfg.Seed),
		Config:   conf,
		Sets:     args,
		Seed:     cfg.Seed,
		Resolved: cfg,
	}
	if !safeName.MatchString(p.Name) {
		return nil, fmt.Errorf("run name %q is not a usable folder name: rename the config or the grid's values", p.Name)
	}
	return p, nil
}

// describe names a run by its settings, for messages.
func describe(p *Point) string {
	return strings.TrimSpace(fmt.Sprintf("config %s %s seed %d", p.Config, strings.Join(p.Sets, " "), p.Seed))
}

// configPath is how the child names the config ref of a sweep file in dir:
// a relative path that exists beside the sweep file is taken from there;
// anything else (a shipped name, a path from the current folder) as written.
func configPath(ref, dir string) string {
	if filepath.IsAbs(ref) || !strings.ContainsAny(ref, `/\`) {
		return ref
	}
	beside := filepath.Join(dir, ref)
	if _, err := os.Stat(beside); err == nil {
		return beside
	}
	return ref
}

// overrides turns a mapping of dotted keys to values (set:) into --set
// arguments, checking each key.
func overrides(n *yaml.Node, at string) ([]string, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s must be a mapping of config keys to values (train.epochs: 10)", at)
	}
	var args []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if err := checkKey(key, at); err != nil {
			return nil, err
		}
		args = append(args, key+"="+valueText(v))
	}
	return args, nil
}

// axis is one key of a grid with its values as --set value texts.
type axis struct {
	key    string
	values []string
}

// grid reads a mapping of dotted keys to lists of values.
func grid(n *yaml.Node, at string) ([]axis, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s must be a mapping of config keys to lists of values (head.alpha: [0.5, 1])", at)
	}
	if len(n.Content) == 0 {
		return nil, fmt.Errorf("%s is empty: give at least one key and its values, or drop grid", at)
	}
	var axes []axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if err := checkKey(key, at); err != nil {
			return nil, err
		}
		if v.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("%s.%s must be a list of values (got %s); a single value belongs in set", at, key, valueText(v))
		}
		if len(v.Content) == 0 {
			return nil, fmt.Errorf("%s.%s is empty: give at least one value", at, key)
		}
		a := axis{key: key}
		for _, e := range v.Content {
			text := valueText(e)
			if slices.Contains(a.values, text) {
				return nil, fmt.Errorf("%s.%s lists %s twice", at, key, text)
			}
			a.values = append(a.values, text)
		}
		axes = append(axes, a)
	}
	return axes, nil
}

// checkKey checks a key of set or grid: a config key other than seed.
func checkKey(key, at string) error {
	if key == "seed" {
		return fmt.Errorf("%s.seed: give the seeds as seeds: [1, 2, 3] (they name the runs)", at)
	}
	if _, err := experiment.ParseOverride(key + "=0"); err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return fmt.Errorf("%s.%s: %s", at, key, msg)
	}
	return nil
}

// valueText is the YAML of a value as one line, as --set takes it: scalars
// as written (quoted ones keep their quotes), lists and mappings in flow style.
func valueText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return n.Value
	}
	c := *n
	setFlow(&c)
	out, err := yaml.Marshal(&c)
	if err != nil {
		return n.Value
	}
	return strings.TrimSpace(string(out))
}

func setFlow(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = yaml.FlowStyle
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
}

// combos returns every combination of the axes' values, the last axis
// varying fastest; one empty combination for no axes.
func combos(axes []axis) [][]string {
	out := [][]string{nil}
	for _, a := range axes {
		var next [][]string
		for _, c := range out {
			for _, v := range a.values {
				next = append(next, append(slices.Clone(c), v))
			}
		}
		out = next
	}
	return out
}

// shortKeys names the grid's keys in run names: the key without its
// section and without a schedule's ".value" (head.alpha → alpha,
// head.lambda.value → lambda, head.lambda.start → lambda.start), or the
// whole key where two short names would coincide.
func shortKeys(axes []axis) []string {
	out := make([]string, len(axes))
	count := map[string]int{}
	for i, a := range axes {
		k := a.key
		for _, section := range []string{"data.", "model.", "head.", "train."} {
			k = strings.TrimPrefix(k, section)
		}
		out[i] = strings.TrimSuffix(k, ".value")
		count[out[i]]++
	}
	for i, a := range axes {
		if count[out[i]] > 1 {
			out[i] = a.key
		}
	}
	return out
}

// nameValue is a value's text as part of a folder name: quotes, brackets
// and spaces dropped ([10, 20] → 10,20), path separators and ':' as '_'.
func nameValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '/' || r == '\\' || r == ':':
			b.WriteByte('_')
		case strings.ContainsRune(`"'[]{} `, r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// yamlError folds yaml's multi-line errors into one line and names unknown
// keys by where they are in the sweep file, with the keys valid there.
func yamlError(err error) string {
	s := unknownKey.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := unknownKey.FindStringSubmatch(m)
		part := parts[sub[2]]
		return fmt.Sprintf("unknown key %s%s (valid keys there: %s)", part.prefix, sub[1], part.keys)
	})
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// unknownKey matches yaml's message for a key KnownFields rejects.
var unknownKey = regexp.MustCompile(`field (\S+) not found in type sweep\.(\w+)`)

// parts names each part of a sweep file for unknownKey's message.
var parts = map[string]struct{ prefix, keys string }{
	"File":   {"", "name, set, configs, grid, seeds, runs, after"},
	"Group":  {"runs[].", "configs, set, grid, seeds"},
	"After":  {"after.", "attack, report"},
	"Attack": {"after.attack.", "method, eps"},
}
