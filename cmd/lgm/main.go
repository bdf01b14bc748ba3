// Command lgm trains image classifiers with the large-margin Gaussian-mixture
// loss and the losses it is compared against, and reproduces the results of
// Wan et al., CVPR 2018.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	// The first Ctrl-C (or SIGTERM) asks the running command to stop at a
	// safe point (training saves a checkpoint); a second one exits at once.
	// Checkpoints are renamed into place whole, so the last good one survives.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "lgm: stopping at the end of this step (press Ctrl-C again to quit at once)")
		cancel()
		<-sig
		fmt.Fprintln(os.Stderr, "lgm: quit")
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
