package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lgm-dev/lgm/experiment"
)

// fakeChild is a child process under the test's control: it exits with
// the code sent on exit, or 130 once interrupted (as lgm train does).
type fakeChild struct {
	c           Command
	exit        chan int
	interrupted chan struct{}
	once        sync.Once
	interrupts  int
	mu          sync.Mutex
}

func (f *fakeChild) Interrupt() error {
	f.mu.Lock()
	f.interrupts++
	f.mu.Unlock()
	f.once.Do(func() { close(f.interrupted) })
	return nil
}

func (f *fakeChild) Wait() (int, error) {
	select {
	case code := <-f.exit:
		return code, nil
	case <-f.interrupted:
		return 130, nil
	}
}

// fakes starts fakeChildren and hands each to the test on started.
type fakes struct {
	started chan *fakeChild
	mu      sync.Mutex
	all     []*fakeChild
	running int
	most    int // the most running at once
}

func newFakes() *fakes { return &fakes{started: make(chan *fakeChild, 100)} }

func (fs *fakes) start(c Command) (Process, error) {
	f := &fakeChild{c: c, exit: make(chan int, 1), interrupted: make(chan struct{})}
	fs.mu.Lock()
	fs.all = append(fs.all, f)
	fs.running++
	fs.most = max(fs.most, fs.running)
	fs.mu.Unlock()
	fs.started <- f
	return &countedChild{f, fs}, nil
}

type countedChild struct {
	*fakeChild
	fs *fakes
}

func (c *countedChild) Wait() (int, error) {
	code, err := c.fakeChild.Wait()
	c.fs.mu.Lock()
	c.fs.running--
	c.fs.mu.Unlock()
	return code, err
}

// finish plays a training of a run of s that succeeds: it writes the run
// directory at its last epoch and exits 0.
func finish(t *testing.T, s *Sweep, f *fakeChild, testError float64) {
	t.Helper()
	dir := filepath.Dir(f.c.Log)
	for _, p := range s.Runs {
		if p.Name == filepath.Base(dir) {
			writeRun(t, dir, p, "", p.Resolved.Train.Epochs)
		}
	}
	line := fmt.Sprintf(`{"epoch":10,"test_error":%g,"test_n":10000}`+"\n", testError)
	if err := os.WriteFile(filepath.Join(dir, experiment.MetricsFile), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	f.exit <- 0
}

func sweepOf(t *testing.T, text string) *Sweep {
	t.Helper()
	s, err := load(t, text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for the runner's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func options(out string, fs *fakes, stdout io.Writer, jobs int) Options {
	return Options{Out: out, Jobs: jobs, Threads: 1, Exe: "/bin/lgm", Stdout: stdout, Start: fs.start,
		Compare: func(w io.Writer, dirs []string) error {
			fmt.Fprintf(w, "compare %d runs\n", len(dirs))
			return nil
		}}
}

// Four new runs, two at a time: never more than two children; one fails
// and the others go on; the error says which; each child got its command.
func TestRunSchedules(t *testing.T) {
	s := sweepOf(t, "configs: [mnist-softmax, mnist-lgm]\nset:\n  train.epochs: 10\nseeds: [1, 2]\n")
	out := t.TempDir()
	fs := newFakes()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), s, options(out, fs, &stdout, 2)) }()
	// Two slots: the first two runs start (in either order), nothing more
	// until one ends.
	play := func(f *fakeChild) string {
		name := filepath.Base(filepath.Dir(f.c.Log))
		if name == "mnist-lgm-s1" {
			f.exit <- 1
		} else {
			finish(t, s, f, 0.0053)
		}
		return name
	}
	a, b := <-fs.started, <-fs.started
	fs.mu.Lock()
	if len(fs.all) != 2 {
		t.Errorf("%d children with two slots busy, want 2", len(fs.all))
	}
	fs.mu.Unlock()
	first := []string{play(a), play(b)}
	slices.Sort(first)
	second := []string{play(<-fs.started), play(<-fs.started)}
	slices.Sort(second)
	if !slices.Equal(first, []string{"mnist-lgm-s1", "mnist-softmax-s1"}) || !slices.Equal(second, []string{"mnist-lgm-s2", "mnist-softmax-s2"}) {
		t.Errorf("started %v then %v, want seed 1's runs then seed 2's", first, second)
	}
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "1 of 4 runs failed: mnist-lgm-s1") {
		t.Errorf("got %v, want 1 of 4 runs failed", err)
	}
	if fs.most > 2 {
		t.Errorf("%d children at once, want at most 2", fs.most)
	}
	want := "/bin/lgm train --config mnist-softmax --set train.epochs=10 --seed 1 --threads 1 --save-every 5m --out " + filepath.Join(out, "mnist-softmax-s1")
	var cmds []string
	for _, f := range fs.all {
		cmds = append(cmds, strings.Join(f.c.Args, " "))
	}
	if !slices.Contains(cmds, want) {
		t.Errorf("commands: got %v, want one %s", cmds, want)
	}
	text := stdout.String()
	for _, w := range []string{"start  mnist-softmax-s1 (new)", "done   mnist-softmax-s2 in", "test error 0.53% after epoch 10/10",
		"failed mnist-lgm-s1 (exit code 1)", "no epoch finished", "compare 3 runs"} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}

// Skip, resume and refuse: a finished run starts nothing, an interrupted
// one resumes, one locked elsewhere is skipped; a run directory with
// another config stops the sweep before anything starts.
func TestRunSkipsResumesRefuses(t *testing.T) {
	s := sweepOf(t, "configs: [mnist-softmax, mnist-lgm, mnist-center]\nset:\n  train.epochs: 10\nseeds: [1]\n")
	out := t.TempDir()
	writeRun(t, filepath.Join(out, "mnist-softmax-s1"), s.Runs[0], "", 10)
	writeRun(t, filepath.Join(out, "mnist-lgm-s1"), s.Runs[1], "", 4)
	fs := newFakes()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), s, options(out, fs, &stdout, 1)) }()
	f := <-fs.started
	if got := strings.Join(f.c.Args, " "); got != "/bin/lgm train --resume "+filepath.Join(out, "mnist-lgm-s1")+" --save-every 5m" {
		t.Errorf("first child: %s, want the resume of mnist-lgm-s1", got)
	}
	finish(t, s, f, 0.01)
	f = <-fs.started
	if !slices.Contains(f.c.Args, "mnist-center") {
		t.Errorf("second child: %v, want mnist-center", f.c.Args)
	}
	finish(t, s, f, 0.01)
	if err := <-done; err != nil {
		t.Errorf("got %v", err)
	}
	if len(fs.all) != 2 {
		t.Errorf("%d children, want 2 (the finished run skipped)", len(fs.all))
	}
	if !strings.Contains(stdout.String(), "start  mnist-lgm-s1 (resume from its checkpoint after epoch 4/10)") {
		t.Errorf("output:\n%s", stdout.String())
	}

	// Another config in one run directory: refused, nothing runs.
	out = t.TempDir()
	other := sweepOf(t, "configs: [mnist-lgm]\nseeds: [1]\n") // the shipped 50 epochs
	writeRun(t, filepath.Join(out, "mnist-lgm-s1"), other.Runs[0], "", 2)
	fs = newFakes()
	err := Run(context.Background(), s, options(out, fs, io.Discard, 1))
	var se *experiment.SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "run mnist-lgm-s1: ") || !strings.Contains(err.Error(), "train.epochs is 50 there, 10 in the sweep") {
		t.Errorf("got %v, want a SetupError naming train.epochs", err)
	}
	if len(fs.all) != 0 {
		t.Errorf("%d children started, want none", len(fs.all))
	}
}

// Cancelling the sweep (Ctrl-C) sends one interrupt to each running child,
// waits for them, starts nothing more and returns ErrInterrupted.
func TestRunInterrupt(t *testing.T) {
	s := sweepOf(t, "configs: [mnist-softmax, mnist-lgm, mnist-center]\nseeds: [1]\n")
	out := t.TempDir()
	fs := newFakes()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, s, options(out, fs, &stdout, 2)) }()
	a, b := <-fs.started, <-fs.started
	cancel()
	err := <-done
	if !errors.Is(err, experiment.ErrInterrupted) || !strings.Contains(err.Error(), "2 stopped with their checkpoints saved") {
		t.Errorf("got %v, want ErrInterrupted with 2 stopped", err)
	}
	for _, f := range []*fakeChild{a, b} {
		if f.interrupts != 1 {
			t.Errorf("%s interrupted %d times, want once", f.c.Log, f.interrupts)
		}
	}
	if len(fs.all) != 2 {
		t.Errorf("%d children started, want 2 (none after the interrupt)", len(fs.all))
	}
	if !strings.Contains(stdout.String(), "stopped mnist-softmax-s1") {
		t.Errorf("output:\n%s", stdout.String())
	}
}

// A dry run prints every run with its status and command, and writes nothing.
func TestDryRun(t *testing.T) {
	s := sweepOf(t, "configs: [mnist-softmax, mnist-lgm]\nset:\n  train.epochs: 10\nseeds: [1]\nafter:\n  attack: {method: fgsm, eps: [0, 0.1]}\n  report: true\n")
	out := filepath.Join(t.TempDir(), "runs")
	os.MkdirAll(out, 0o755)
	writeRun(t, filepath.Join(out, "mnist-lgm-s1"), s.Runs[1], "", 3)
	before, _ := os.ReadDir(filepath.Join(out, "mnist-lgm-s1"))
	fs := newFakes()
	var stdout bytes.Buffer
	o := options(out, fs, &stdout, 1)
	o.DryRun = true
	o.Has = func(c string) bool { return c == "attack" }
	if err := Run(context.Background(), s, o); err != nil {
		t.Fatal(err)
	}
	text := stdout.String()
	for _, w := range []string{
		"2 runs in " + out + ", 1 new, 1 resume",
		"mnist-softmax-s1  new\n    /bin/lgm train --config mnist-softmax --set train.epochs=10 --seed 1 --threads 1 --save-every 5m --out " + filepath.Join(out, "mnist-softmax-s1") + "\n",
		"mnist-lgm-s1  resume  (checkpoint after epoch 3/10)\n    /bin/lgm train --resume " + filepath.Join(out, "mnist-lgm-s1") + " --save-every 5m\n",
		"after each finished run: /bin/lgm attack RUN_DIR --method fgsm --eps 0,0.1 --threads 1\n",
		"report RUN_DIR... --out " + filepath.Join(out, "report") + "  (not possible: /bin/lgm has no report command)",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("dry run lacks %q:\n%s", w, text)
		}
	}
	if len(fs.all) != 0 {
		t.Errorf("a dry run started %d children", len(fs.all))
	}
	if after, _ := os.ReadDir(filepath.Join(out, "mnist-lgm-s1")); len(after) != len(before) {
		t.Errorf("a dry run wrote into a run directory")
	}
	if _, err := os.Stat(filepath.Join(out, "mnist-softmax-s1")); err == nil {
		t.Errorf("a dry run created a run directory")
	}
}

// The after steps: attack after each training, in its slot; report once
// every run has finished; and a clear message where lgm lacks them.
func TestRunAfter(t *testing.T) {
	s := sweepOf(t, "configs: [mnist-softmax]\nset:\n  train.epochs: 10\nseeds: [1, 2]\nafter:\n  attack: {method: fgsm, eps: [0, 0.1]}\n  report: true\n")
	out := t.TempDir()
	writeRun(t, filepath.Join(out, "mnist-softmax-s1"), s.Runs[0], "", 10) // done: only its attack runs
	fs := newFakes()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), s, options(out, fs, &stdout, 1)) }()
	var cmds []string
	for i := 0; i < 4; i++ {
		f := <-fs.started
		cmds = append(cmds, strings.Join(f.c.Args[1:3], " "))
		if f.c.Args[1] == "train" {
			finish(t, s, f, 0.01)
		} else {
			f.exit <- 0
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("got %v\n%s", err, stdout.String())
	}
	s1, s2 := filepath.Join(out, "mnist-softmax-s1"), filepath.Join(out, "mnist-softmax-s2")
	want := []string{"attack " + s1, "train --config", "attack " + s2, "report " + s1}
	if !slices.Equal(cmds, want) {
		t.Errorf("children: got %v, want %v", cmds, want)
	}
	if got := strings.Join(fs.all[3].c.Args, " "); got != "/bin/lgm report "+s1+" "+s2+" --out "+filepath.Join(out, "report") {
		t.Errorf("report: %s", got)
	}

	// Without attack and report commands: said, and not a failure.
	fs = newFakes()
	var text syncBuffer
	o := options(out, fs, &text, 1)
	o.Has = func(string) bool { return false }
	if err := Run(context.Background(), s, o); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"after: attack skipped: /bin/lgm has no attack command", "report: skipped: /bin/lgm has no report command"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, text.String())
		}
	}
	if len(fs.all) != 0 {
		t.Errorf("%d children, want none", len(fs.all))
	}
}
