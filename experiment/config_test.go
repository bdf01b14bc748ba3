package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestLoadFileOverridesOnlyGivenKeys(t *testing.T) {
	p := writeFile(t, "exp.yaml", "model:\n  dim: 64\ntrain:\n  lr: 0.05\n")
	c := Default()
	if err := LoadFile(p, &c, ""); err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Name = "exp" // from the file name
	want.Model.Dim = 64
	want.Train.LR = 0.05
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

func TestLoadFileErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // parts of the message
	}{
		{"unknown key", "train:\n  lr: 0.1\n  learning_rate: 0.1\n", []string{"unknown key train.learning_rate", "line 3", "exp.yaml"}},
		{"unknown top key", "optimizer: adam\n", []string{"unknown key optimizer"}},
		{"wrong type", "train:\n  epochs: many\n", []string{"line 2", "many"}},
		{"not yaml", "train: [\n", []string{"exp.yaml"}},
	}
	for _, c := range cases {
		p := writeFile(t, "exp.yaml", c.text)
		cfg := Default()
		err := LoadFile(p, &cfg, "")
		if err == nil {
			t.Errorf("case %v: got no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %v: got %q, want it to mention %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("case %v: message has several lines: %q", c.name, err)
		}
	}
	cfg := Default()
	if err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml"), &cfg, ""); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: got %v, want an error naming it", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Train.LR = -1
	c.Train.Batch = 0
	c.Model.Net = "resnet"
	c.Head.Name = "lgmm"
	c.Train.Momentum = 1.5
	err := c.Validate()
	if err == nil {
		t.Fatal("got no error")
	}
	for _, w := range []string{"train.lr must be > 0", "(got -1)", "train.batch", "model.net", "resnet", "head.name", "lgmm", "train.momentum"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %q, want it to mention %q", err, w)
		}
	}
	// Each problem names its field as data, for callers that report it
	// under another name (lgm names the flag that set it).
	var fields []string
	for _, e := range err.(*ConfigError).Errs {
		var fe *FieldError
		if !errors.As(e, &fe) || !strings.HasPrefix(e.Error(), fe.Field) {
			t.Errorf("problem %q: not a FieldError that starts with its field", e)
			continue
		}
		fields = append(fields, fe.Field)
	}
	if want := []string{"model.net", "head.name", "train.batch", "train.lr", "train.momentum"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("got fields %v, want %v", fields, want)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	c := smallConfig()
	c.Data.Dir = "/some/where"
	got, err := ParseConfig(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("got %+v, want %+v", got, c)
	}
}
