package sweep

import (
	"path/filepath"
	"testing"
)

// TestShippedSweepsLoad loads every file in sweeps/ as lgm sweep does:
// each names shipped configs, and every run resolves to a valid config.
func TestShippedSweepsLoad(t *testing.T) {
	files, err := filepath.Glob("../sweeps/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sweep files found (%v)", err)
	}
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Errorf("case %s: %v", f, err)
			continue
		}
		if len(s.Runs) == 0 {
			t.Errorf("case %s: no runs", f)
		}
		for _, p := range s.Runs {
			if err := p.Resolved.Validate(); err != nil {
				t.Errorf("case %s, run %s: %v", f, p.Name, err)
			}
		}
	}
}
