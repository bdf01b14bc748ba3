package sweep

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Command is a child process to start: Args[0] is the executable.
type Command struct {
	Args []string
	Log  string // the file its output is appended to
}

// Process is a started child.
type Process interface {
	// Interrupt asks the child to stop at a safe point (SIGINT: lgm train
	// saves its checkpoint and exits 130).
	Interrupt() error
	// Wait waits for the child to exit and returns its exit code; err is a
	// failure to wait, not a nonzero code.
	Wait() (code int, err error)
}

// Starter starts a child process; tests replace StartProcess with a fake.
type Starter func(c Command) (Process, error)

// StartProcess starts c as a real process in its own process group, so
// that a Ctrl-C at the terminal reaches the sweep only and the sweep
// forwards one SIGINT: two would make lgm train quit without saving.
func StartProcess(c Command) (Process, error) {
	if err := os.MkdirAll(filepath.Dir(c.Log), 0o755); err != nil {
		return nil, fmt.Errorf("log of %s: %w", c.Args[0], err)
	}
	log, err := os.OpenFile(c.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	return &process{cmd: cmd, log: log}, nil
}

type process struct {
	cmd *exec.Cmd
	log *os.File
}

func (p *process) Interrupt() error { return interrupt(p.cmd.Process) }

func (p *process) Wait() (int, error) {
	err := p.cmd.Wait()
	p.log.Close()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code >= 0 {
			return code, nil
		}
		return 128 + signalOf(ee), nil // killed by a signal
	}
	return -1, err
}
