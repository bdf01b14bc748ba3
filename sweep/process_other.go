//go:build !unix

package sweep

import (
	"os"
	"os/exec"
)

func ownGroup(*exec.Cmd) {}

// interrupt: without SIGINT the child is killed; it loses what it did since
// its last checkpoint (--save-every).
func interrupt(p *os.Process) error { return p.Kill() }

func signalOf(*exec.ExitError) int { return 0 }
