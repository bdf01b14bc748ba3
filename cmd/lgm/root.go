package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2 // a mistake found before any work started: the command line, the config, the data or run directory; nothing ran
	exitInterrupted = 130
)

// usageError marks an error in what the user asked for, as opposed to a
// failure while doing it. hint adds a pointer to --help (for flags and
// arguments; a config file's own message says enough).
type usageError struct {
	err  error
	hint bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// streams are where a command writes.
type streams struct {
	out, err io.Writer
	// terminal says stdout is a terminal (progress bars instead of lines).
	terminal bool
}

// run executes lgm with args and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	io := streams{out: stdout, err: stderr, terminal: isTerminal(stdout)}
	root := newRootCmd(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "lgm: %v\n", err)
	var ue usageError
	var ce *experiment.ConfigError
	var se *experiment.SetupError
	switch {
	case errors.Is(err, experiment.ErrInterrupted):
		return exitInterrupted
	case errors.As(err, &ce), errors.As(err, &se): // nothing ran
		return exitUsage
	case errors.As(err, &ue):
		if ue.hint {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return exitUsage
	}
	return exitFailure
}

func newRootCmd(io streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "lgm",
		Short: "Train and compare large-margin Gaussian-mixture loss classifiers",
		Long: `lgm trains image classifiers with the large-margin Gaussian-mixture (L-GM) loss
and the losses it is compared against, and reproduces the results of Wan et al.,
"Rethinking Feature Distribution for Loss Functions in Image Classification", CVPR 2018.`,
		Example: `  lgm train --config configs/mnist-softmax.yaml --out runs/softmax
  lgm eval runs/softmax
  lgm embed runs/softmax --out features.csv`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(io.out)
	root.SetErr(io.err)
	root.SetFlagErrorFunc(flagError)
	root.Version = version()
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newTrainCmd(io, nil), newEvalCmd(io), newEmbedCmd(io), newBenchCmd(io), newDataCmd(io), newCompareCmd(io),
		newAttackCmd(io), newPlotCmd(io), newReportCmd(io), newConfigsCmd(io), newConfigCmd(io), newVersionCmd(io), newExportCmd(io),
		newSweepCmd(io, nil))
	// Arguments and unknown commands are usage errors too; an unknown
	// command gets cobra's suggestions.
	walk(root, func(c *cobra.Command) {
		switch {
		case c.HasSubCommands():
			c.SuggestionsMinimumDistance = 2
			c.Args = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return unknownCommand(cmd, args[0])
				}
				return nil
			}
		case c.Args != nil:
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError{err, true}
				}
				return nil
			}
		}
	})
	registerCompletions(root)
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return root
}
