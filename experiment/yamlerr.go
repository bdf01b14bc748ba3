package experiment

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// syntaxError returns nil if raw parses as YAML, else an error naming the
// line at fault — yaml reports the line where the enclosing mapping starts
// for parser errors, often one before the real one — and, where that line is
// indented with a tab, saying to indent with spaces. The line is the first
// one at which the text read so far stops parsing.
func syntaxError(raw []byte) error {
	var n yaml.Node
	err := yaml.Unmarshal(raw, &n)
	if err == nil {
		return nil
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	bad := 0
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		if yaml.Unmarshal(prefix, &n) != nil {
			bad = i + 1
			break
		}
	}
	msg := yamlLine.ReplaceAllString(oneLine(err.Error()), "")
	if bad == 0 {
		return fmt.Errorf("%s", oneLine(err.Error()))
	}
	line := string(lines[bad-1])
	if indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]; strings.Contains(indent, "\t") {
		return fmt.Errorf("line %d: indent with spaces, not tabs (YAML does not allow tabs in indentation)", bad)
	}
	for i := 0; i < bad-1; i++ { // a tab earlier can be what broke this line
		if l := string(lines[i]); strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t") {
			return fmt.Errorf("line %d: indent with spaces, not tabs (YAML does not allow tabs in indentation)", i+1)
		}
	}
	return fmt.Errorf("line %d: %s", bad, msg)
}

var yamlLine = regexp.MustCompile(`^line \d+: `)
