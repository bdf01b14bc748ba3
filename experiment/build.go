package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// Build identifies the lgm binary that is running, for the record of which
// build trained each epoch (Metrics.Build): "sha256:" and the first 12 hex
// digits of the executable's SHA-256, then " rev " and the VCS revision's
// first 12 digits where the build recorded one (not with -buildvcs=false),
// marked "+dirty" for a build with local changes. "" when the executable
// cannot be read. Computed once per process.
func Build() string {
	buildOnce.Do(func() { build = describeBuild(ExecutableHash()) })
	return build
}

var (
	buildOnce sync.Once
	build     string
)

func describeBuild(hash string) string {
	if hash == "" {
		return ""
	}
	s := "sha256:" + hash
	if bi, ok := debug.ReadBuildInfo(); ok {
		if rev, _, modified := VCS(bi); rev != "" {
			s += " rev " + rev
			if modified {
				s += "+dirty"
			}
		}
	}
	return s
}

// VCS reads the build's VCS settings: the revision (its first 12 digits;
// "" when the build recorded none, as with -buildvcs=false), the commit time
// and whether the tree had local changes.
func VCS(bi *debug.BuildInfo) (rev, time string, modified bool) {
	if bi == nil {
		return "", "", false
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value[:min(12, len(kv.Value))]
		case "vcs.time":
			time = kv.Value
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	return rev, time, modified
}

// ExecutableHash is the first 12 hex digits of the SHA-256 of the running
// executable, or "" when it cannot be read.
func ExecutableHash() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
