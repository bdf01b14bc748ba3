package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lgm-dev/lgm/configs"
	"github.com/lgm-dev/lgm/experiment"
	"github.com/lgm-dev/lgm/loss"
	"github.com/lgm-dev/lgm/model"
)

// flagValues are the values shell completion offers for a flag, whatever
// command has it (so a new command's --method completes without more code).
var flagValues = map[string]func() []string{
	"head":      loss.Names,
	"net":       func() []string { return model.Names },
	"dataset":   func() []string { return experiment.Datasets },
	"split":     func() []string { return []string{"test", "train", "val"} },
	"method":    func() []string { return []string{"fgsm", "bim", "pgd"} },
	"keep":      func() []string { return []string{"last", "best-val"} },
	"precision": func() []string { return experiment.Precisions },
	"to":        func() []string { return []string{"pytorch"} },
	"emit":      func() []string { return []string{"slurm"} },
}

// registerCompletions gives every flag of the command tree under root that
// has known values a completion of them: the names above, the built-in
// config names (and YAML files) for --config, the config keys for --set.
func registerCompletions(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch {
			case flagValues[f.Name] != nil:
				values := flagValues[f.Name]
				fn = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
					return values(), cobra.ShellCompDirectiveNoFileComp
				}
			case f.Name == "config":
				fn = func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
					var out []string
					for _, e := range configs.List() {
						if strings.HasPrefix(e.Name, prefix) {
							out = append(out, e.Name+"\t"+e.Description)
						}
					}
					return out, cobra.ShellCompDirectiveDefault // and files
				}
			case f.Name == "set":
				fn = func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
					var out []string
					for _, k := range experiment.Keys() {
						if strings.HasPrefix(k, prefix) {
							out = append(out, k+"=")
						}
					}
					return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
				}
			default:
				return
			}
			c.RegisterFlagCompletionFunc(f.Name, fn)
		})
	})
}

// walk calls fn on c and every command under it.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// flagError is the usage error for a bad flag; for an unknown one it
// suggests the command's flag nearest to it: "did you mean --epochs?".
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return usageError{err, true}
	}
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		d := experiment.EditDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return usageError{err, true}
	}
	return usageError{fmt.Errorf("%s; did you mean --%s?", msg, best), true}
}

// unknownCommand is the usage error for an unknown subcommand of c, with
// cobra's suggestions ("did you mean train?").
func unknownCommand(c *cobra.Command, arg string) error {
	msg := fmt.Sprintf("unknown command %q for %q", arg, c.CommandPath())
	if s := c.SuggestionsFor(arg); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{fmt.Errorf("%s", msg), true}
}
