// Command lgm trains image classifiers with the large-margin Gaussian-mixture
// loss and the losses it is compared against, and reproduces the results of
// Wan et al., CVPR 2018.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
