package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lgm-dev/lgm/experiment"
)

// Options say how a sweep runs.
type Options struct {
	Out     string // run directories go to Out/<run>; "" for runs/<sweep name>
	Jobs    int    // at most this many trainings at a time
	Threads int    // ops threads of each training (lgm train --threads)
	DryRun  bool   // print every run, its status and command; run nothing, write nothing
	Exe     string // the lgm executable the children run
	Stdout  io.Writer
	// Terminal says Stdout is a terminal: progress is one line redrawn in
	// place instead of a line every ProgressEvery.
	Terminal      bool
	ProgressEvery time.Duration // 0: no progress lines (tests)
	// Start starts the children; nil for StartProcess.
	Start Starter
	// Compare prints `lgm compare` of the run directories (the command's own
	// code, in-process); nil for none.
	Compare func(w io.Writer, dirs []string) error
	// Has says whether Exe has a command (attack, report); nil: it has all.
	Has func(command string) bool
}

// OutDir is where the runs of s go.
func (o Options) OutDir(s *Sweep) string {
	if o.Out != "" {
		return o.Out
	}
	return filepath.Join("runs", s.Name)
}

// Plan inspects the run directory of every run of s under out.
func Plan(s *Sweep, out string) []State {
	states := make([]State, len(s.Runs))
	for i, p := range s.Runs {
		states[i] = Inspect(p, filepath.Join(out, p.Name))
	}
	return states
}

// Refused is the error of a plan with run directories the sweep must not
// touch; nothing has run.
func Refused(states []State) error {
	var msgs []string
	for _, st := range states {
		if st.Status == StatusRefused {
			msgs = append(msgs, fmt.Sprintf("run %s: %v", st.Name, st.Problem))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &experiment.SetupError{Err: fmt.Errorf("%s refused, nothing was started:\n  %s",
		plural(len(msgs), "run directory"), strings.Join(msgs, "\n  "))}
}

// Run runs the sweep s: every run not finished, at most o.Jobs at a time,
// each as its own `lgm train` process; then the after steps; then `lgm
// compare` of all runs. Cancelling ctx forwards SIGINT to the children,
// waits for them to save their checkpoints and returns an error wrapping
// experiment.ErrInterrupted; running the sweep again continues.
func Run(ctx context.Context, s *Sweep, o Options) error {
	if o.Jobs < 1 || o.Threads < 1 {
		return &experiment.SetupError{Err: fmt.Errorf("--jobs and --threads-per-job must be >= 1 (got %d and %d)", o.Jobs, o.Threads)}
	}
	if o.Start == nil {
		o.Start = StartProcess
	}
	if o.Has == nil {
		o.Has = func(string) bool { return true }
	}
	out := o.OutDir(s)
	states := Plan(s, out)
	if o.DryRun {
		printPlan(o.Stdout, s, out, states, o)
		return Refused(states)
	}
	if err := Refused(states); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return &experiment.SetupError{Err: fmt.Errorf("--out %s: %w", out, err)}
	}
	r := &runner{o: o, s: s, out: out, pr: &printer{w: o.Stdout, terminal: o.Terminal}}
	return r.run(ctx, states)
}

// printPlan prints what Run would do.
func printPlan(w io.Writer, s *Sweep, out string, states []State, o Options) {
	fmt.Fprintf(w, "sweep %s (%s): %s in %s, %s; %s at a time, %d thread(s) each\n",
		s.Name, s.Path, plural(len(states), "run"), out, counts(states), plural(o.Jobs, "run"), o.Threads)
	for _, st := range states {
		fmt.Fprintf(w, "%s  %s", st.Name, st.Status)
		if d := st.detail(); d != "" {
			fmt.Fprintf(w, "  (%s)", d)
		}
		fmt.Fprintln(w)
		if args := st.Args(o.Threads); args != nil {
			fmt.Fprintf(w, "    %s\n", shellJoin(append([]string{o.Exe}, args...)))
		}
	}
	if a := s.After.Attack; a != nil {
		fmt.Fprintf(w, "after each finished run: %s", shellJoin(append([]string{o.Exe}, attackArgs(a, "RUN_DIR", o.Threads)...)))
		if !o.Has("attack") {
			fmt.Fprintf(w, "  (not possible: %s has no attack command)", o.Exe)
		}
		fmt.Fprintln(w)
	}
	if s.After.Report {
		fmt.Fprintf(w, "after all runs finished: %s", shellJoin([]string{o.Exe, "report", "RUN_DIR...", "--out", filepath.Join(out, "report")}))
		if !o.Has("report") {
			fmt.Fprintf(w, "  (not possible: %s has no report command)", o.Exe)
		}
		fmt.Fprintln(w)
	}
}

// detail says more about a state, for the plan.
func (st State) detail() string {
	switch st.Status {
	case StatusResume, StatusDone:
		return st.at()
	case StatusRestart:
		return "config.yaml but no checkpoint yet: it starts over"
	case StatusElsewhere:
		who := "another process"
		if st.PID > 0 {
			who = fmt.Sprintf("pid %d", st.PID)
		}
		at := "no checkpoint yet"
		if st.Epoch > 0 || st.Batch > 0 {
			at = st.at()
		}
		return fmt.Sprintf("locked by %s; %s; skipped", who, at)
	case StatusRefused:
		return st.Problem.Error()
	}
	return ""
}

// at says where the run's checkpoint is.
func (st State) at() string {
	if st.Batch > 0 {
		return fmt.Sprintf("checkpoint in epoch %d/%d, after batch %d", st.Epoch+1, st.Resolved.Train.Epochs, st.Batch)
	}
	return fmt.Sprintf("checkpoint after epoch %d/%d", st.Epoch, st.Resolved.Train.Epochs)
}

func counts(states []State) string {
	n := map[Status]int{}
	for _, st := range states {
		n[st.Status]++
	}
	var parts []string
	for _, s := range []Status{StatusNew, StatusRestart, StatusResume, StatusDone, StatusElsewhere, StatusRefused} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "y"):
		return fmt.Sprintf("%d %sies", n, what[:len(what)-1])
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// attackArgs are the arguments of the after step attack on the run dir.
func attackArgs(a *Attack, dir string, threads int) []string {
	return []string{"attack", dir, "--method", a.Method, "--eps", strings.Join(a.Eps, ","), "--threads", fmt.Sprint(threads)}
}

// AttackFile is the file lgm attack writes into the run directory.
func AttackFile(a *Attack) string { return "attack-" + a.Method + ".json" }

// runner is one Run of a sweep.
type runner struct {
	o   Options
	s   *Sweep
	out string
	pr  *printer

	mu       sync.Mutex
	stopping bool               // ctx was cancelled: start nothing more
	running  map[string]Process // by run name
	progress map[string]string  // what each running job does: "training", "attack"
	failed   []string
	stopped  []string
	finished int
}

// job is the work of one run: train it (unless done), then attack it.
type job struct {
	st     State
	train  bool
	attack bool
}

func (r *runner) run(ctx context.Context, states []State) error {
	o, s := r.o, r.s
	r.running, r.progress = map[string]Process{}, map[string]string{}
	r.pr.line(fmt.Sprintf("sweep %s: %s in %s: %s; %s at a time, %d thread(s) each",
		s.Name, plural(len(states), "run"), r.out, counts(states), plural(o.Jobs, "run"), o.Threads))
	attack := s.After.Attack != nil && o.Has("attack")
	if s.After.Attack != nil && !attack {
		r.pr.line(fmt.Sprintf("after: attack skipped: %s has no attack command; run `lgm attack RUN_DIR --method %s --eps %s` on each run with an lgm that has it",
			o.Exe, s.After.Attack.Method, strings.Join(s.After.Attack.Eps, ",")))
	}
	var jobs []job
	for _, st := range states {
		switch st.Status {
		case StatusNew, StatusRestart, StatusResume:
			jobs = append(jobs, job{st: st, train: true, attack: attack})
		case StatusDone:
			r.finished++
			if attack && !r.attacked(st) {
				jobs = append(jobs, job{st: st, attack: true})
			}
		case StatusElsewhere:
			r.pr.line(fmt.Sprintf("skip   %s: running elsewhere (%s)", st.Name, st.detail()))
		}
	}
	// Cancelling ctx stops the children: SIGINT once to each.
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		select {
		case <-ctx.Done():
		case <-quit:
			return
		}
		r.mu.Lock()
		r.stopping = true
		for name, p := range r.running {
			if err := p.Interrupt(); err != nil {
				r.pr.line(fmt.Sprintf("stop   %s: %v", name, err))
			}
		}
		r.mu.Unlock()
		r.pr.line("sweep: stopping: each running training saves its checkpoint; run the same command again to continue")
	}()
	if o.ProgressEvery > 0 {
		go r.showProgress(quit, len(jobs))
	}
	slots := make(chan struct{}, o.Jobs)
	var wg sync.WaitGroup
	for _, j := range jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r.do(j)
		}()
	}
	wg.Wait()
	r.pr.clear()
	r.mu.Lock()
	failed, stopped := r.failed, r.stopped
	r.mu.Unlock()

	var dirs []string
	done := 0
	for _, st := range Plan(s, r.out) {
		if st.Status == StatusDone {
			done++
		}
		if fileExists(filepath.Join(st.Dir, experiment.ConfigFile)) {
			dirs = append(dirs, st.Dir)
		}
	}
	if ctx.Err() == nil && s.After.Report {
		r.report(dirs, done == len(states))
	}
	if o.Compare != nil && len(dirs) > 0 {
		fmt.Fprintln(o.Stdout)
		if err := o.Compare(o.Stdout, dirs); err != nil {
			fmt.Fprintf(o.Stdout, "compare: %v\n", err)
		}
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("sweep %w: %d of %d runs done, %d stopped with their checkpoints saved; run the same command again to continue",
			experiment.ErrInterrupted, done, len(states), len(stopped))
	case len(failed) > 0:
		return fmt.Errorf("%d of %d runs failed: %s (their logs say why); the others are unaffected, and running the sweep again retries the failed ones",
			len(failed), len(states), strings.Join(failed, ", "))
	}
	return nil
}

// do runs one job in its slot.
func (r *runner) do(j job) {
	st := j.st
	if j.train {
		if st.Status == StatusRestart {
			// Train refuses a directory that holds a config: this one
			// stopped before its first checkpoint, so nothing is lost.
			os.Remove(filepath.Join(st.Dir, experiment.ConfigFile))
			os.Remove(filepath.Join(st.Dir, experiment.MetricsFile))
		}
		what := string(st.Status)
		if st.Status == StatusResume {
			what = "resume from its " + st.at()
		}
		log := filepath.Join(st.Dir, "train.log")
		r.pr.line(fmt.Sprintf("start  %s (%s): log %s", st.Name, what, log))
		began := time.Now()
		code, ok := r.child(st.Name, "training", append([]string{r.o.Exe}, st.Args(r.o.Threads)...), log)
		if !ok {
			return
		}
		took := time.Since(began).Round(time.Second)
		last := lastResult(st)
		switch {
		case code == 0:
			r.mu.Lock()
			r.finished++
			r.mu.Unlock()
			r.pr.line(fmt.Sprintf("done   %s in %v: %s", st.Name, took, last))
		case code == 130 && r.isStopping():
			r.mu.Lock()
			r.stopped = append(r.stopped, st.Name)
			r.mu.Unlock()
			if now := Inspect(st.Point, st.Dir); now.Epoch > 0 || now.Batch > 0 {
				last = now.at()
			}
			r.pr.line(fmt.Sprintf("stopped %s after %v: %s", st.Name, took, last))
			return
		default:
			r.fail(st.Name, fmt.Sprintf("failed %s (exit code %d) after %v: %s; log %s: %s", st.Name, code, took, last, log, lastLine(log)))
			return
		}
	}
	if j.attack && !r.isStopping() {
		a := r.s.After.Attack
		log := filepath.Join(st.Dir, "attack-"+a.Method+".log")
		r.pr.line(fmt.Sprintf("attack %s: %s %s: log %s", st.Name, a.Method, strings.Join(a.Eps, ","), log))
		code, ok := r.child(st.Name, "attack", append([]string{r.o.Exe}, attackArgs(a, st.Dir, r.o.Threads)...), log)
		switch {
		case !ok:
		case code == 0:
			r.pr.line(fmt.Sprintf("attack %s: done (%s)", st.Name, filepath.Join(st.Dir, AttackFile(a))))
		case code == 130 && r.isStopping():
			r.pr.line(fmt.Sprintf("attack %s: stopped", st.Name))
		default:
			r.fail(st.Name+" (attack)", fmt.Sprintf("failed attack %s (exit code %d); log %s: %s", st.Name, code, log, lastLine(log)))
		}
	}
}

// child runs one child process to its end; ok is false if it could not be
// started (reported as a failure) or the sweep is stopping.
func (r *runner) child(name, what string, args []string, log string) (code int, ok bool) {
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return 0, false
	}
	p, err := r.o.Start(Command{Args: args, Log: log})
	if err != nil {
		r.mu.Unlock()
		r.fail(name, fmt.Sprintf("failed %s: cannot start %s: %v", name, args[0], err))
		return 0, false
	}
	r.running[name] = p
	r.progress[name] = what
	r.mu.Unlock()
	code, err = p.Wait()
	r.mu.Lock()
	delete(r.running, name)
	delete(r.progress, name)
	r.mu.Unlock()
	if err != nil {
		r.fail(name, fmt.Sprintf("failed %s: %v", name, err))
		return 0, false
	}
	return code, true
}

func (r *runner) fail(name, msg string) {
	r.mu.Lock()
	r.failed = append(r.failed, name)
	r.mu.Unlock()
	r.pr.line(msg)
}

func (r *runner) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

// attacked says whether the run's attack file is newer than its checkpoint.
func (r *runner) attacked(st State) bool {
	a, err := os.Stat(filepath.Join(st.Dir, AttackFile(r.s.After.Attack)))
	if err != nil {
		return false
	}
	ck, err := os.Stat(filepath.Join(st.Dir, experiment.CheckpointFile))
	return err == nil && !a.ModTime().Before(ck.ModTime())
}

// report runs the after step report once every run has finished.
func (r *runner) report(dirs []string, allDone bool) {
	dest := filepath.Join(r.out, "report")
	switch {
	case !allDone:
		r.pr.line("report: not yet: it waits for every run to finish; run the sweep again then")
		return
	case !r.o.Has("report"):
		r.pr.line(fmt.Sprintf("report: skipped: %s has no report command; run `lgm report RUN_DIR... --out %s` with an lgm that has it", r.o.Exe, dest))
		return
	}
	log := filepath.Join(r.out, "report.log")
	r.pr.line(fmt.Sprintf("report %s: log %s", dest, log))
	args := append([]string{r.o.Exe, "report"}, dirs...)
	code, ok := r.child("report", "report", append(args, "--out", dest), log)
	switch {
	case !ok:
	case code == 0:
		r.pr.line("report: done: " + dest)
	default:
		r.fail("report", fmt.Sprintf("failed report (exit code %d); log %s: %s", code, log, lastLine(log)))
	}
}

// lastResult is the run's last test error, read from its metrics.
func lastResult(st State) string {
	ms, err := experiment.ReadMetrics(filepath.Join(st.Dir, experiment.MetricsFile))
	if err != nil || len(ms) == 0 {
		return "no epoch finished"
	}
	m := ms[len(ms)-1]
	return fmt.Sprintf("test error %.2f%% after epoch %d/%d", 100*m.TestError, m.Epoch, st.Resolved.Train.Epochs)
}

// tail returns up to the last n bytes of the file path.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	raw, _ := io.ReadAll(f)
	return string(raw)
}

// lastLine is the last non-empty line of a log, where the reason of a
// failure is.
func lastLine(path string) string {
	lines := strings.Split(strings.TrimSpace(tail(path, 4096)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return "(empty)"
}

// trainLine matches lgm train's progress lines, "epoch 3/10  batch 400/938 …"
// and "epoch 3/10  lr …" at an epoch's end.
var trainLine = regexp.MustCompile(`(?m)^epoch (\d+)/(\d+)\s+(batch (\d+)/(\d+))?`)

// where says where a running training is, from its log.
func where(log string) string {
	m := trainLine.FindAllStringSubmatch(tail(log, 16384), -1)
	if len(m) == 0 {
		return "running"
	}
	last := m[len(m)-1]
	if last[3] != "" {
		return fmt.Sprintf("epoch %s/%s batch %s/%s", last[1], last[2], last[4], last[5])
	}
	return fmt.Sprintf("epoch %s/%s done", last[1], last[2])
}

// showProgress prints where the sweep is every o.ProgressEvery until quit.
func (r *runner) showProgress(quit <-chan struct{}, jobs int) {
	every := r.o.ProgressEvery
	if r.o.Terminal {
		every = min(every, 5*time.Second)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		r.mu.Lock()
		var running []string
		for name, what := range r.progress {
			if what == "training" {
				what = where(filepath.Join(r.out, name, "train.log"))
			}
			running = append(running, name+" "+what)
		}
		line := fmt.Sprintf("progress: %d of %d runs finished, %d running%s, %d failed",
			r.finished, len(r.s.Runs), len(running), listIn(running), len(r.failed))
		r.mu.Unlock()
		r.pr.status(line)
	}
}

func listIn(items []string) string {
	if len(items) == 0 {
		return ""
	}
	slices.Sort(items)
	return " (" + strings.Join(items, "; ") + ")"
}

// printer writes the sweep's lines; on a terminal it keeps one status line
// at the bottom, redrawn in place.
type printer struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	shown    string // the status line on screen
}

func (p *printer) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, s)
	if p.shown != "" {
		fmt.Fprint(p.w, p.shown)
	}
}

func (p *printer) status(s string) {
	if !p.terminal {
		p.line(s)
		return
	}
	if r := []rune(s); len(r) > 100 { // a wrapped line would not be redrawn in place
		s = string(r[:99]) + "…"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K"+s)
	p.shown = s
}

func (p *printer) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = ""
	}
}
