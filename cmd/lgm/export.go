package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lgm-dev/lgm/experiment"
)

type exportOptions struct {
	to string
}

func newExportCmd(io streams) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export RUN_DIR --to pytorch DIR",
		Short: "Write a trained network and head as a PyTorch model",
		Long: `Write the network and head of a run (its directory or a checkpoint file) into DIR:
  model.py           a self-contained PyTorch module (only torch needed): class Model,
                     built without arguments; forward(x) takes normalised images
                     (B, C, H, W) and returns (logits, features), the logits margin-free;
                     MEAN and STD are the run's input normalisation
  model.safetensors  exactly the keys and shapes of Model().state_dict()
  load.py            reads them with the standard library and torch: load_model(DIR)`,
		Example: `  lgm export runs/mnist2d-lgm --to pytorch export/
  python3 export/load.py export/
  lgm export runs/cifar10-lgm/checkpoint-best.safetensors --to pytorch best/`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.to != "pytorch" {
				return usageError{fmt.Errorf("--to must be pytorch (got %q)", o.to), true}
			}
			res, err := experiment.ExportPyTorch(args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "wrote %s: %s, %s (%d tensors, %d values), %s (try: python3 %s/load.py %s)\n", res.Dir,
				experiment.ExportModelPy, experiment.ExportSafetensors, res.Tensors, res.Params, experiment.ExportLoadPy, res.Dir, res.Dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.to, "to", "pytorch", "format: pytorch")
	return cmd
}
