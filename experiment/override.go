package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/lgm-dev/lgm/configs"
	"github.com/lgm-dev/lgm/loss"
)

// Override is one --set KEY=VALUE: a dotted key of the config file and a
// YAML value (a scalar, or a flow sequence or mapping such as [10, 20]).
type Override struct {
	Key   string
	Value *yaml.Node
	Arg   string // as given, for messages: "head.alpha=0.5"
}

// ParseOverride parses "KEY=VALUE". The key must be one the config file
// accepts (Keys); an unknown one is an error naming the nearest valid keys.
func ParseOverride(arg string) (Override, error) {
	key, value, ok := strings.Cut(arg, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return Override{}, fmt.Errorf("--set %q: want KEY=VALUE with a dotted config key, e.g. --set head.alpha=0.5", arg)
	}
	if !slices.Contains(Keys(), key) {
		return Override{}, fmt.Errorf("--set %s: unknown key %s%s", arg, key, nearestKeys(key))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		return Override{}, fmt.Errorf("--set %s: the value is not YAML: %s", arg, oneLine(err.Error()))
	}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""} // KEY= sets an empty string
	if len(doc.Content) == 1 {
		v = doc.Content[0]
	}
	return Override{Key: key, Value: v, Arg: arg}, nil
}

// Resolve builds the config of a run from the defaults in code, then the
// config file (a file on disk or, if there is none of that name, a config
// built into lgm; "" for none), then the overrides in order. head, if not
// empty, is the --head flag: the head's settings start from its defaults and
// it wins over the file; a head.name override does the same. The result is
// not validated: the caller applies its flags first.
func Resolve(file, head string, sets []Override) (Config, error) {
	c := Default()
	if head == "" {
		for _, s := range sets {
			if s.Key == "head.name" && s.Value.Kind == yaml.ScalarNode {
				head = s.Value.Value
			}
		}
	}
	if file != "" {
		raw, path, shown, err := ReadConfig(file)
		if err != nil {
			return c, err
		}
		if err := loadConfig(raw, path, shown, &c, head); err != nil {
			return c, err
		}
	} else if head != "" {
		c.Head = HeadDefaults(head)
	}
	return c, c.Apply(sets)
}

// ReadConfig reads the config name: the file of that path if it exists,
// else the shipped config of that name built into lgm ("mnist2d-lgm",
// "mnist2d-lgm.yaml" or "configs/mnist2d-lgm.yaml"). path is the file's
// path (its base names the run) and shown how messages name it.
func ReadConfig(name string) (raw []byte, path, shown string, err error) {
	raw, err = os.ReadFile(name)
	if err == nil {
		return raw, name, name, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", "", fmt.Errorf("config: %w", err)
	}
	if raw, ok := configs.Read(name); ok {
		base := strings.TrimSuffix(name[strings.LastIndexAny(name, `/\`)+1:], ".yaml")
		p := "configs/" + base + ".yaml"
		return raw, p, p + " (built into lgm)", nil
	}
	return nil, "", "", fmt.Errorf("config %s: no such file, and lgm has no built-in config of that name%s (`lgm configs` lists them)",
		name, nearest(strings.TrimSuffix(name[strings.LastIndexAny(name, `/\`)+1:], ".yaml"), configs.Names(), ""))
}

// Apply sets each override's key in c to its value, in order, working on
// c's YAML tree so that every key the file accepts can be set, and decoding
// the result as strictly as a file. A schedule given as a number (head.lambda:
// 0.1) becomes {value: 0.1} when one of its fields is set.
func (c *Config) Apply(sets []Override) error {
	if len(sets) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(c.Marshal(), &doc); err != nil {
		return fmt.Errorf("config tree: %w", err) // a programmer's bug: Marshal's output must parse
	}
	root := doc.Content[0]
	for _, s := range sets {
		if !slices.Contains(Keys(), s.Key) {
			return fmt.Errorf("--set %s: unknown key %s%s", s.Arg, s.Key, nearestKeys(s.Key))
		}
		if err := setNode(root, strings.Split(s.Key, "."), s.Value, ""); err != nil {
			return fmt.Errorf("--set %s: %w", s.Arg, err)
		}
		if err := wholeNumbers(root, reflect.TypeFor[Config](), ""); err != nil {
			return &FieldError{Field: "--set " + s.Arg, Rest: ": " + lineless.ReplaceAllString(err.Error(), "")}
		}
		raw, err := yaml.Marshal(&doc)
		if err != nil {
			return fmt.Errorf("--set %s: %w", s.Arg, err)
		}
		next := *c
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&next); err != nil && !errors.Is(err, io.EOF) {
			return &FieldError{Field: "--set " + s.Arg, Rest: ": " + lineless.ReplaceAllString(oneLine(err.Error()), "")}
		}
		*c = next
	}
	return nil
}

// lineless removes yaml's "line N: " from messages about a tree that has no
// file behind it.
var lineless = regexp.MustCompile(`line \d+: `)

// setNode sets the key path under the mapping m to v, creating the mappings
// on the way; at names the path so far.
func setNode(m *yaml.Node, path []string, v *yaml.Node, at string) error {
	key := path[0]
	if at != "" {
		key = at + "." + path[0]
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = v
			return nil
		}
		child := m.Content[i+1]
		if child.Kind == yaml.ScalarNode && slices.Contains(Keys(), key+".value") {
			// A number is the shorthand of a schedule {value: N}.
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "value"}, child}}
			m.Content[i+1] = child
		}
		if child.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a section (it holds a value)", key)
		}
		return setNode(child, path[1:], v, key)
	}
	if len(path) == 1 {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[0]}, v)
		return nil
	}
	child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[0]}, child)
	return setNode(child, path[1:], v, key)
}

// Keys returns every dotted key a config file accepts, in the order of the
// Config struct: "name", "seed", "data.dataset", …, "head.lambda",
// "head.lambda.kind", … (a schedule is a key itself, for a constant, and
// has its fields).
func Keys() []string { return allKeys() }

var allKeys = sync.OnceValue(func() []string { return structKeys(reflect.TypeFor[Config](), "") })

func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		keys = append(keys, key)
		switch {
		case f.Type == reflect.TypeFor[Schedule]():
			for sf := range reflect.TypeFor[loss.Schedule]().Fields() {
				keys = append(keys, key+"."+strings.ToLower(sf.Name))
			}
		case f.Type.Kind() == reflect.Struct:
			keys = keys[:len(keys)-1] // a section is not a key of its own
			keys = append(keys, structKeys(f.Type, key+".")...)
		}
	}
	return keys
}

// nearestKeys is " (nearest valid keys: …)" for an unknown key, or what a
// section holds for a section's name.
func nearestKeys(key string) string {
	var inside []string
	for _, k := range Keys() {
		if strings.HasPrefix(k, key+".") && !strings.Contains(k[len(key)+1:], ".") {
			inside = append(inside, k)
		}
	}
	if len(inside) > 0 {
		return fmt.Sprintf(" (a section: set one of its keys, %s)", strings.Join(inside, ", "))
	}
	return nearest(key, Keys(), "valid keys")
}

// nearest returns " (nearest WHAT: a, b, c)" with the up to three candidates
// closest to s: by edit distance of the whole string or of its last dotted
// part, so that "alpha" finds head.alpha and "head.alhpa" finds it too.
func nearest(s string, candidates []string, what string) string {
	if len(candidates) == 0 {
		return ""
	}
	last := func(k string) string { return k[strings.LastIndex(k, ".")+1:] }
	type scored struct {
		k string
		d int
	}
	var all []scored
	for _, k := range candidates {
		d := min(editDistance(s, k), editDistance(last(s), last(k))+1)
		all = append(all, scored{k, d})
	}
	slices.SortStableFunc(all, func(a, b scored) int { // then the shorter key: train.epochs before head.alpha.epochs
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Count(a.k, ".") - strings.Count(b.k, ".")
	})
	var best []string
	for _, c := range all[:min(3, len(all))] {
		if c.d > max(3, len(s)/2) {
			break
		}
		best = append(best, c.k)
	}
	if len(best) == 0 {
		return ""
	}
	if what == "" {
		what = "names"
	}
	return fmt.Sprintf(" (nearest %s: %s)", what, strings.Join(best, ", "))
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// EditDistance is the Levenshtein distance between a and b, for the command
// line's "did you mean" suggestions.
func EditDistance(a, b string) int { return editDistance(a, b) }

// wholeNumbers checks that the integer keys of the config tree m (of type
// t) hold whole numbers: yaml would truncate epochs: 2.5 to 2 silently.
func wholeNumbers(m *yaml.Node, t reflect.Type, prefix string) error {
	if m.Kind != yaml.MappingNode {
		return nil // the decoder reports a section that is not a mapping
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != k {
				continue
			}
			ft := f.Type
			switch {
			case ft == reflect.TypeFor[Schedule]():
				ft = reflect.TypeFor[scheduleFields]()
			case ft.Kind() == reflect.Slice && v.Kind == yaml.SequenceNode:
				for _, e := range v.Content {
					if e.Kind == yaml.ScalarNode && e.ShortTag() == "!!float" {
						return fmt.Errorf("line %d: %s%s must be whole numbers (got %s)", e.Line, prefix, k, e.Value)
					}
				}
				continue
			}
			switch ft.Kind() {
			case reflect.Struct:
				if err := wholeNumbers(v, ft, prefix+k+"."); err != nil {
					return err
				}
			case reflect.Int, reflect.Int64, reflect.Uint64:
				if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!float" {
					return fmt.Errorf("line %d: %s%s must be a whole number (got %s)", v.Line, prefix, k, v.Value)
				}
			}
		}
	}
	return nil
}

// scheduleFields are a schedule's keys with their types, for wholeNumbers.
type scheduleFields struct {
	Every int `yaml:"every"`
}
