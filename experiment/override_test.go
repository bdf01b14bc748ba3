package experiment

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func mustOverrides(t *testing.T, args ...string) []Override {
	t.Helper()
	var out []Override
	for _, a := range args {
		o, err := ParseOverride(a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		out = append(out, o)
	}
	return out
}

// TestResolveWithOverrides: --set applies after the file, on the file's
// tree, in order; schedules can be set whole or field by field.
func TestResolveWithOverrides(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		head  string
		sets  []string
		check func(c Config) bool
	}{
		{"constant alpha over a ramp", "mnist2d-lgm", "", []string{"head.alpha=0.5"},
			func(c Config) bool {
				return c.Head.Alpha == Schedule{Kind: "constant", Value: 0.5} && c.Head.Lambda.Kind == "linear"
			}},
		{"one field of a schedule keeps the others", "mnist2d-lgm", "", []string{"head.lambda.value=0.2"},
			func(c Config) bool {
				return c.Head.Lambda == Schedule{Kind: "linear", Value: 0.2, Start: 0.01, Epochs: 5}
			}},
		{"a number becomes a schedule's value", "", "lgm", []string{"head.alpha=0.3", "head.alpha.kind=linear", "head.alpha.epochs=2"},
			func(c Config) bool { return c.Head.Alpha == Schedule{Kind: "linear", Value: 0.3, Epochs: 2} }},
		{"a whole schedule as a flow mapping", "", "lgm", []string{"head.lambda={kind: step, value: 0.1, every: 3, factor: 2}"},
			func(c Config) bool { return c.Head.Lambda == Schedule{Kind: "step", Value: 0.1, Every: 3, Factor: 2} }},
		{"flow sequence", "mnist2d-lgm", "", []string{"train.lr_step=0", "train.lr_milestones=[10,20]"},
			func(c Config) bool {
				return reflect.DeepEqual(c.Train.LRMilestones, []int{10, 20}) && c.Train.LRStep == 0
			}},
		{"the last override wins", "", "", []string{"train.epochs=3", "train.epochs=4"},
			func(c Config) bool { return c.Train.Epochs == 4 }},
		{"head.name resets the head's settings like --head", "mnist2d-softmax", "", []string{"head.name=lgm"},
			func(c Config) bool { return reflect.DeepEqual(c.Head, HeadDefaults("lgm")) && c.Model.Dim == 2 }},
		{"an empty value is an empty string", "", "", []string{"data.dir=somewhere", "data.dir="},
			func(c Config) bool { return c.Data.Dir == "" }},
		{"the file's name names the run", "configs/mnist2d-lgm.yaml", "", nil,
			func(c Config) bool { return c.Name == "mnist2d-lgm" && c.Head.Name == "lgm" }},
		{"name and seed", "", "", []string{"name=sweep-1", "seed=7"},
			func(c Config) bool { return c.Name == "sweep-1" && c.Seed == 7 }},
	}
	for _, c := range cases {
		cfg, err := Resolve(c.file, c.head, mustOverrides(t, c.sets...))
		if err != nil {
			t.Errorf("case %v: %v", c.name, err)
			continue
		}
		if !c.check(cfg) {
			t.Errorf("case %v: got %+v", c.name, cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("case %v: %v", c.name, err)
		}
	}
}

// TestEveryKeyCanBeSet sets each key Keys lists, by reflection of the
// Config struct, to a value of its type and reads it back from the
// resolved config's YAML: no key needs code of its own.
func TestEveryKeyCanBeSet(t *testing.T) {
	keys := Keys()
	for _, want := range []string{"seed", "data.dir", "model.width", "head.lambda", "head.lambda.kind", "head.beta.power", "train.lr_milestones", "train.limit"} {
		if !strings.Contains(","+strings.Join(keys, ",")+",", ","+want+",") {
			t.Errorf("Keys lacks %s", want)
		}
	}
	for _, key := range keys {
		value := valueFor(t, key)
		cfg, err := Resolve("", "", mustOverrides(t, key+"="+value))
		if err != nil {
			t.Errorf("case %v=%v: %v", key, value, err)
			continue
		}
		var doc yaml.Node
		yaml.Unmarshal(cfg.Marshal(), &doc)
		got := lookup(doc.Content[0], strings.Split(key, "."))
		var g, w any
		if got != nil {
			got.Decode(&g)
		}
		yaml.Unmarshal([]byte(value), &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("case %v: the resolved config holds %v, want %v", key, g, w)
		}
	}
}

// valueFor returns a YAML value of the type the config has at key, other
// than the default.
func valueFor(t *testing.T, key string) string {
	switch {
	case strings.HasSuffix(key, ".kind"):
		return "linear"
	case strings.HasSuffix(key, ".every"):
		return "3"
	case strings.Count(key, ".") == 2: // a schedule's float field
		return "0.25"
	}
	v := reflect.ValueOf(Default())
	for _, part := range strings.Split(key, ".") {
		found := false
		for i := 0; i < v.NumField(); i++ {
			if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			t.Fatalf("key %s: no field %s", key, part)
		}
	}
	switch v.Interface().(type) {
	case Schedule, float64:
		return "0.375"
	case int, uint64:
		return "5"
	case bool:
		return "true"
	case string:
		return "x-y"
	case []int:
		return "[2, 4]"
	}
	t.Fatalf("key %s: no value for type %T", key, v.Interface())
	return ""
}

func lookup(m *yaml.Node, path []string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == path[0] {
			if len(path) == 1 {
				return m.Content[i+1]
			}
			return lookup(m.Content[i+1], path[1:])
		}
	}
	return nil
}

func TestOverrideErrors(t *testing.T) {
	cases := []struct {
		arg  string
		want []string
	}{
		{"head.alhpa=1", []string{"unknown key head.alhpa", "nearest valid keys: head.alpha"}},
		{"alpha=1", []string{"unknown key alpha", "head.alpha"}},
		{"epochs=3", []string{"unknown key epochs", "train.epochs"}},
		{"model=3", []string{"model", "a section", "model.net"}},
		{"head.alpha", []string{"KEY=VALUE"}},
		{"=3", []string{"KEY=VALUE"}},
		{"train.epochs=[1", []string{"train.epochs=[1", "not YAML"}},
	}
	for _, c := range cases {
		_, err := ParseOverride(c.arg)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("case %v: got %v, want it to mention %q", c.arg, err, w)
			}
		}
	}
	// Values of the wrong type fail like a file's, naming the override.
	for _, c := range []struct{ arg, want string }{
		{"train.epochs=abc", "--set train.epochs=abc: cannot unmarshal"},
		{"train.lr_milestones=5", "--set train.lr_milestones=5: cannot unmarshal"},
		{"head.lambda.every=0.5", "--set head.lambda.every=0.5: head.lambda.every must be a whole number"},
		{"train.epochs=2.5", "--set train.epochs=2.5: train.epochs must be a whole number"},
		{"train.lr_milestones=[1.5]", "must be whole numbers"},
		{"data.augment=maybe", "--set data.augment=maybe"},
	} {
		_, err := Resolve("", "", mustOverrides(t, c.arg))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "line ") {
			t.Errorf("case %v: got %v, want %q without a line number", c.arg, err, c.want)
		}
	}
	if _, err := Resolve("mnist2d-lgmm", "", nil); err == nil || !strings.Contains(err.Error(), "mnist2d-lgm") || !strings.Contains(err.Error(), "lgm configs") {
		t.Errorf("unknown config name: got %v, want the nearest names and `lgm configs`", err)
	}
}
