package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/lgm-dev/lgm/experiment"
	"github.com/spf13/cobra"
)

// version describes this binary from its build information: the module's
// version (a tag, a pseudo-version, or "(devel)" for a build inside the
// repository), the VCS revision it was built from, where recorded, and the
// SHA-256 of the executable (as a run's metrics.jsonl records it per epoch).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	v := formatVersion(bi, ok)
	if h := experiment.ExecutableHash(); h != "" {
		v += "; executable sha256:" + h
	}
	return v
}

func formatVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "lgm (no build information: built without module support)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var parts []string
	if rev, t, modified := experiment.VCS(bi); rev != "" {
		if modified {
			rev += " with local changes"
		}
		if t != "" {
			rev += " of " + t
		}
		parts = append(parts, "revision "+rev)
	} else {
		parts = append(parts, "no VCS revision recorded (built with -buildvcs=false or outside a repository)")
	}
	if bi.GoVersion != "" {
		parts = append(parts, bi.GoVersion)
	}
	return fmt.Sprintf("lgm %s; %s", v, strings.Join(parts, "; "))
}

func newVersionCmd(io streams) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print lgm's version and the revision it was built from",
		Example: "  lgm version\n  lgm --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(io.out, version())
			return err
		},
	}
}
