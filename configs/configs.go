// Package configs holds the experiment configs shipped with lgm, built into
// the binary so that an installed lgm can run them from any folder:
// `lgm train --config mnist2d-lgm` reads configs/mnist2d-lgm.yaml from here
// when no file of that name exists on disk.
package configs

import (
	"embed"
	"path"
	"slices"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Entry is one shipped config.
type Entry struct {
	Name        string // the file name without .yaml, e.g. "mnist2d-lgm"
	Description string // the first comment line of the file, without "# "
}

// List returns every shipped config in name order.
func List() []Entry {
	dir, _ := files.ReadDir(".") // the embedded root always exists
	var out []Entry
	for _, d := range dir {
		raw, err := files.ReadFile(d.Name())
		if err != nil {
			continue
		}
		out = append(out, Entry{Name: strings.TrimSuffix(d.Name(), ".yaml"), Description: Description(raw)})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the names of the shipped configs in order.
func Names() []string {
	var names []string
	for _, e := range List() {
		names = append(names, e.Name)
	}
	return names
}

// Read returns the shipped config name ("mnist2d-lgm" or "mnist2d-lgm.yaml",
// optionally as "configs/mnist2d-lgm.yaml") and whether there is one.
func Read(name string) ([]byte, bool) {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if dir := path.Dir(strings.ReplaceAll(name, `\`, "/")); dir != "." && dir != "configs" {
		return nil, false // another folder: only a file on disk can be meant
	}
	if !strings.HasSuffix(base, ".yaml") {
		base += ".yaml"
	}
	raw, err := files.ReadFile(base)
	return raw, err == nil
}

// Description returns the first comment line of a config file, without its
// "#" and surrounding spaces, or "" if the file does not start with a comment.
func Description(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			return ""
		}
		return strings.TrimSpace(strings.TrimLeft(line, "#"))
	}
	return ""
}
