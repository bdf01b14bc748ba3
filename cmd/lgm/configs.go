package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/configs"
)

func newConfigsCmd(io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "configs",
		Short: "List the configs built into lgm, with what each one trains",
		Long: `List the experiment configs shipped with lgm. They are built into the binary:
--config NAME uses one from any folder (a file of that name on disk wins).
Print one resolved with: lgm config show --config NAME.`,
		Example: `  lgm configs
  lgm config show --config mnist2d-lgm
  lgm train --config mnist2d-lgm --epochs 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(io.out, 0, 0, 2, ' ', 0)
			for _, e := range configs.List() {
				fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
			}
			return tw.Flush()
		},
	}
}

func newConfigCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the config a training would run",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConfigShowCmd(io))
	return cmd
}

func newConfigShowCmd(io streams) *cobra.Command {
	o := &configOptions{}
	cmd := &cobra.Command{
		Use:   "show [--config FILE|NAME] [--set KEY=VALUE]... [flags]",
		Short: "Print the resolved config (exactly what lgm train would run) without running",
		Long: `Resolve a config as lgm train does — the defaults in code, then --config, then
the --set overrides, then the other flags — validate it, and print it as YAML
(the config.yaml the run directory would receive). Nothing is trained.`,
		Example: `  lgm config show                                   # the defaults in code
  lgm config show --config mnist2d-lgm --set head.alpha=0.5
  lgm config show --config configs/cifar10-softmax.yaml --epochs 3 > mine.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.resolve(cmd.Flags())
			if err != nil {
				return err
			}
			_, err = io.out.Write(cfg.Marshal())
			return err
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}
