package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/data"
)

func newDataCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Fetch data sets",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDownloadCmd(s))
	return cmd
}

func newDownloadCmd(s streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "download cifar10|cifar100 [--dir DIR]",
		Short: "Download, check and unpack CIFAR-10 or CIFAR-100 (binary version)",
		Long: `Download the official binary archive of CIFAR-10 or CIFAR-100, check its size and
MD5, and unpack it into DIR. An interrupted download resumes where it stopped
the next time; nothing that looks like a valid data set is left behind by a
failed or interrupted one. Train on it with --dataset NAME --data DIR.`,
		Example: `  lgm data download cifar10 --dir ~/data
  lgm train --config configs/cifar10-softmax.yaml --data ~/data`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(data.DownloadNames(), args[0]) {
				return fmt.Errorf("name one data set: %s", strings.Join(data.DownloadNames(), " or "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageError{errors.New("--dir DIR is required (where to put the data set)"), true}
			}
			path, err := data.Download(cmd.Context(), args[0], dir, data.DownloadOptions{Progress: s.err})
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s is ready in %s (train with: lgm train --dataset %s --data %s)\n", args[0], path, args[0], dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "`folder` to put the data set in")
	return cmd
}
