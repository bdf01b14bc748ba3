package nnops

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads bounds the workers one op call uses.
var threads atomic.Int32

func init() { SetThreads(runtime.GOMAXPROCS(0)) }

// MaxThreads is the most workers an op call uses.
const MaxThreads = 256

// SetThreads bounds the goroutines each op call uses (default
// runtime.GOMAXPROCS(0) at start-up). n < 1 means 1, n > MaxThreads MaxThreads.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	if n > MaxThreads {
		n = MaxThreads
	}
	threads.Store(int32(n))
}

// Threads reports the bound set by SetThreads.
func Threads() int { return int(threads.Load()) }

// slotsFor is the number of workers a loop over n items uses.
func slotsFor(n int) int {
	t := Threads()
	if t > n {
		t = n
	}
	if t < 1 {
		t = 1
	}
	return t
}

// body is the work of a parallel loop: item(slot, i) processes item i on
// worker slot. A slot is used by one goroutine at a time, so per-slot
// buffers need no locking.
type body interface {
	item(slot, i int)
}

// loop runs a body over items 0..n-1: slot s takes items s, s+slots,
// s+2·slots, … — a fixed assignment, so that the per-slot partial sums of the
// backward ops (dw, db, da), added in slot order at the end, are the same
// from run to run: training with a given seed and thread count is
// reproducible bit for bit, which resuming a run relies on. (Taking items
// dynamically would balance load on a noisy host better but makes every sum
// depend on timing.) An op keeps its loops in its struct so that running one
// allocates nothing.
type loop struct {
	body  body
	n     int
	slots int
	wg    sync.WaitGroup
}

type job struct {
	l    *loop
	slot int
}

var (
	jobs     = make(chan job, 256)
	poolMu   sync.Mutex
	poolSize atomic.Int32
)

// grow starts pool goroutines until there are at least n.
func grow(n int) {
	if int(poolSize.Load()) >= n {
		return
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	for int(poolSize.Load()) < n {
		go serve()
		poolSize.Add(1)
	}
}

func serve() {
	for j := range jobs {
		j.l.drain(j.slot)
		j.l.wg.Done()
	}
}

func (l *loop) drain(slot int) {
	for i := slot; i < l.n; i += l.slots {
		l.body.item(slot, i)
	}
}

// run calls b.item(slot, i) once for each i in [0, n) on slots 0..slots-1
// (the caller is slot 0) and returns when all are done.
func (l *loop) run(b body, n, slots int) {
	l.body, l.n, l.slots = b, n, slots
	if slots > 1 {
		grow(slots - 1)
		l.wg.Add(slots - 1)
		for s := 1; s < slots; s++ {
			jobs <- job{l, s}
		}
	}
	l.drain(0)
	l.wg.Wait()
	l.body = nil
}
