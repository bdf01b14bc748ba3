package experiment

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestShippedConfigsAreValid loads every file in configs/ as lgm train does
// and validates it, so that a shipped config never breaks silently.
func TestShippedConfigsAreValid(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs found (%v)", err)
	}
	for _, f := range files {
		c := Default()
		if err := LoadFile(f, &c, ""); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		// What a run directory saves must load back to the same config.
		got, err := ParseConfig(c.Marshal())
		if err != nil {
			t.Errorf("%s: saved config does not load: %v\n%s", f, err, c.Marshal())
		} else if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: saved config loads as\n%+v\nwant\n%+v", f, got, c)
		}
	}
}
