package experiment

// SetupError is a problem found before any work started: the config, the
// data it names (missing, unreadable, in the wrong format), the run
// directory (taken, not writable), the checkpoint to resume or evaluate.
// Failures once training or evaluation has begun are not SetupErrors. lgm
// exits with code 2 on one, as for a wrong command line.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// setup marks err, if not nil, as found before any work started.
func setup(err error) error {
	if err == nil {
		return nil
	}
	return &SetupError{Err: err}
}
