package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestBuild checks that Build names this test binary by the SHA-256 of its
// file, computed here independently.
func TestBuild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Skip("executable unreadable:", err)
	}
	sum := sha256.Sum256(b)
	want := "sha256:" + hex.EncodeToString(sum[:])[:12]
	if got := Build(); !strings.HasPrefix(got, want) {
		t.Errorf("Build() = %q, want it to start with %q", got, want)
	}
	if Build() != Build() {
		t.Error("Build changes between calls")
	}
	if describeBuild("") != "" {
		t.Error(`describeBuild("") is not ""`)
	}
}
